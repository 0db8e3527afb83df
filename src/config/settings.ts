import { z } from 'zod';

/**
 * Every setting the processes read, with its env var, default and description.
 * The configuration table of docs/reference.md is generated from this list
 * (`npm run docs:config`) and a unit test keeps the two in step.
 */
export interface Setting<T extends z.ZodType = z.ZodType> {
  readonly env: string;
  readonly schema: T;
  /** Shown in docs/reference.md; undefined means "required" or "unset". */
  readonly defaultText: string;
  readonly description: string;
  readonly appliesTo: readonly ('consumer' | 'producer')[];
  readonly secret?: boolean;
}

const BOTH = ['consumer', 'producer'] as const;
const CONSUMER = ['consumer'] as const;
const PRODUCER = ['producer'] as const;

const intIn = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const ratio = z.coerce.number().min(0).max(1);
const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
const brokerList = z
  .string()
  .transform((s) =>
    s
      .split(',')
      .map((b) => b.trim())
      .filter(Boolean),
  )
  .pipe(
    z
      .array(z.string().regex(/^[^:\s]+:\d{1,5}$/, 'each broker must be host:port'))
      .min(1, 'at least one broker is required'),
  );
/** An http(s) URL as it is given (no trailing slash removed), without credentials. */
const httpUrlAsGiven = z
  .url({ protocol: /^https?$/ })
  // Credentials in a URL travel into every log line and error that shows the URL: they have their own settings.
  .refine(
    (u) => !/^[a-z]+:\/\/[^/?#]*@/i.test(u),
    'must not hold credentials (user:password@): use the matching _USERNAME and _PASSWORD settings',
  );
const httpUrl = httpUrlAsGiven.transform((u) => u.replace(/\/+$/, ''));

function setting<T extends z.ZodType>(
  env: string,
  schema: T,
  defaultText: string,
  description: string,
  appliesTo: Setting['appliesTo'] = BOTH,
  secret = false,
): Setting<T> {
  return { env, schema, defaultText, description, appliesTo, secret };
}

/** A text setting that is unset unless given (a user name, a password: `secret`, never shown). */
function optionalText(env: string, description: string, secret = false): Setting<z.ZodOptional<z.ZodString>> {
  return setting(env, z.string().min(1).optional(), '(unset)', description, BOTH, secret);
}

export const SETTINGS = {
  brokers: setting(
    'KAFKA_BROKERS',
    brokerList.default(['127.0.0.1:9092']),
    '127.0.0.1:9092',
    'Comma-separated bootstrap brokers (host:port).',
  ),
  clientId: setting(
    'KAFKA_CLIENT_ID',
    z.string().min(1).default('kafka-order-system'),
    'kafka-order-system',
    'Kafka client id prefix.',
  ),
  schemaRegistryUrl: setting(
    'SCHEMA_REGISTRY_URL',
    httpUrl.default('http://127.0.0.1:8081/apis/ccompat/v7'),
    'http://127.0.0.1:8081/apis/ccompat/v7',
    'Base URL of a Confluent-compatible schema registry (Confluent: http://host:8081; Apicurio: http://host:8081/apis/ccompat/v7).',
  ),
  schemaRegistryUsername: optionalText('SCHEMA_REGISTRY_USERNAME', 'Registry basic-auth user.'),
  schemaRegistryPassword: optionalText('SCHEMA_REGISTRY_PASSWORD', 'Registry basic-auth password.', true),
  schemaRegistryAllowPlaintextAuth: setting(
    'SCHEMA_REGISTRY_ALLOW_PLAINTEXT_AUTH',
    bool.default(false),
    'false',
    'Allow registry basic auth over a plain http:// SCHEMA_REGISTRY_URL (the password crosses the network readable by anyone on the path). For a development registry only; refused otherwise.',
  ),
  schemaRegistryCaFile: optionalText(
    'SCHEMA_REGISTRY_CA_FILE',
    'PEM file of the CA(s) that signed the registry’s HTTPS certificate (system CAs when unset).',
  ),
  schemaRegistryCertFile: optionalText(
    'SCHEMA_REGISTRY_CERT_FILE',
    'PEM client certificate for a registry that asks for mutual TLS (with SCHEMA_REGISTRY_KEY_FILE).',
  ),
  schemaRegistryKeyFile: optionalText(
    'SCHEMA_REGISTRY_KEY_FILE',
    'PEM private key of SCHEMA_REGISTRY_CERT_FILE.',
  ),
  registryTimeoutMs: setting(
    'SCHEMA_REGISTRY_TIMEOUT_MS',
    intIn(100, 60_000).default(5000),
    '5000',
    "Timeout of one registry HTTP call. A lookup with the client's one retry may take 2 × this + 1 s; with a downstream step and a dead letter it must fit the session timeout.",
  ),
  schemaAutoRegister: setting(
    'SCHEMA_REGISTRY_AUTO_REGISTER',
    bool.default(true),
    'true',
    'Whether the producer may register the order schema when the subject lacks it. `false`: it only looks the schema up, for registries where only CI registers.',
    PRODUCER,
  ),
  schemaCompatibility: setting(
    'SCHEMA_REGISTRY_COMPATIBILITY',
    z
      .enum([
        'BACKWARD',
        'BACKWARD_TRANSITIVE',
        'FORWARD',
        'FORWARD_TRANSITIVE',
        'FULL',
        'FULL_TRANSITIVE',
        'NONE',
      ])
      .optional(),
    '(unset)',
    "Compatibility level the producer sets on the subject when it differs. Unset: the subject's own level (or the registry's default) is left alone.",
    PRODUCER,
  ),
  ordersTopic: setting(
    'ORDERS_TOPIC',
    z.string().min(1).default('orders'),
    'orders',
    'Topic the orders are produced to and consumed from.',
  ),
  dlqTopic: setting('DLQ_TOPIC', z.string().min(1).default('orders-dlq'), 'orders-dlq', 'Dead-letter topic.'),
  statsTopic: setting(
    'STATS_TOPIC',
    z.string().min(1).default('order-stats'),
    'order-stats',
    'Compacted changelog of the per-partition aggregates (exactly-once mode).',
  ),
  dlqRedriveTopic: setting(
    'DLQ_REDRIVE_TOPIC',
    z.string().min(1).optional(),
    '<DLQ_TOPIC>-redrive',
    'Compacted ledger of the dead letters `npm run dlq -- replay` sent back (key `<DLQ partition>/<offset>`), written in the same transaction as the replayed records, so no dead letter is replayed twice.',
  ),
  processingMode: setting(
    'PROCESSING_MODE',
    z.enum(['exactly-once', 'at-least-once']).default('exactly-once'),
    'exactly-once',
    '`exactly-once`: aggregates, DLQ records and offsets commit in one Kafka transaction per partition batch; `at-least-once`: plain commits, for brokers without transactions.',
    CONSUMER,
  ),
  transactionMaxRecords: setting(
    'TRANSACTION_MAX_RECORDS',
    intIn(1, 100_000).default(50_000),
    '50000',
    'Most records committed in one transaction (exactly-once mode); a fetched batch is split into transactions of this size. The default is above what one fetch of a partition holds (1 MB, about 25,000 orders), so each fetched batch is one transaction. Smaller means more commits, which cost round trips; a crash redoes at most this many records.',
    CONSUMER,
  ),
  transactionTimeoutMs: setting(
    'TRANSACTION_TIMEOUT_MS',
    intIn(1000, 900_000).default(30_000),
    '30000',
    "Broker-side transaction timeout, at most the session timeout. A transaction stops taking records once open for this minus one record's longest time (a registry lookup, a downstream step and a dead letter) minus 2 s to commit; startup rejects a value that leaves under 1 s.",
    CONSUMER,
  ),
  groupId: setting(
    'KAFKA_GROUP_ID',
    z.string().min(1).default('order-consumer-group'),
    'order-consumer-group',
    'Consumer group id.',
    CONSUMER,
  ),
  sessionTimeoutMs: setting(
    'KAFKA_SESSION_TIMEOUT_MS',
    intIn(6000, 300_000).default(30_000),
    '30000',
    'How long the group waits for a silent consumer before moving its partitions (heartbeats every third of it, at most 3 s, during long work too). Neither one record (a registry lookup, a downstream step, a dead letter) nor a transaction may outlast it: startup says which does.',
    CONSUMER,
  ),
  kafkaRequestTimeoutMs: setting(
    'KAFKA_REQUEST_TIMEOUT_MS',
    intIn(1000, 300_000).default(5000),
    '5000',
    'Longest wait for one Kafka request. In the consumer it also bounds one write (a dead letter, an aggregate, offsets, a commit) with its client retries, and one downstream step; a write that fails or runs out of time makes the partition wait, never skips the record.',
  ),
  maxRetries: setting(
    'MAX_RETRIES',
    intIn(0, 100).default(3),
    '3',
    'Retries of a transient failure before the order is dead-lettered (attempts = 1 + MAX_RETRIES).',
    CONSUMER,
  ),
  retryBackoffMs: setting(
    'RETRY_BACKOFF_MS',
    intIn(0, 600_000).default(2000),
    '2000',
    'Delay before the first retry.',
    CONSUMER,
  ),
  retryBackoffStrategy: setting(
    'RETRY_BACKOFF_STRATEGY',
    z.enum(['fixed', 'exponential']).default('fixed'),
    'fixed',
    '`fixed` waits RETRY_BACKOFF_MS each time; `exponential` doubles it per attempt, capped at RETRY_BACKOFF_MAX_MS.',
    CONSUMER,
  ),
  retryBackoffMaxMs: setting(
    'RETRY_BACKOFF_MAX_MS',
    intIn(0, 3_600_000).default(30_000),
    '30000',
    'Upper bound of one backoff delay.',
    CONSUMER,
  ),
  retryJitter: setting(
    'RETRY_JITTER',
    ratio.default(0),
    '0',
    'Random spread of each retry and wait delay, as a fraction (0.2 = ±20%).',
    CONSUMER,
  ),
  dependencyBackoffMs: setting(
    'DEPENDENCY_BACKOFF_MS',
    intIn(10, 600_000).default(1000),
    '1000',
    'First wait of a partition whose record needs a dependency that is down (registry, broker, DLQ); each further wait doubles, up to DEPENDENCY_BACKOFF_MAX_MS. Waiting uses none of the record’s retries.',
    CONSUMER,
  ),
  dependencyBackoffMaxMs: setting(
    'DEPENDENCY_BACKOFF_MAX_MS',
    intIn(10, 3_600_000).default(30_000),
    '30000',
    'Longest single wait for a dependency; the partition keeps trying at this pace until it is back.',
    CONSUMER,
  ),
  simulatedFailureRate: setting(
    'SIMULATED_FAILURE_RATE',
    ratio.default(0),
    '0',
    'Probability that the simulated downstream call fails transiently (0 = off; the demo uses 0.2).',
    CONSUMER,
  ),
  partitionsConsumedConcurrently: setting(
    'PARTITIONS_CONSUMED_CONCURRENTLY',
    intIn(1, 1000).default(3),
    '3',
    'Partitions processed in parallel by one consumer; a retrying order pauses only its own partition.',
    CONSUMER,
  ),
  fetchMaxBytesPerPartition: setting(
    'FETCH_MAX_BYTES_PER_PARTITION',
    // A quarter of kafkajs's 1 MiB: the decoded records of a fetch are most of the consumer's heap
    // (small records cost ~570 B each as kafkajs objects), and 256 KiB keeps the peak RSS under 150 MB
    // (docs/performance.md, Memory).
    intIn(16_384, 104_857_600).default(262_144),
    '262144',
    "Most bytes one fetch brings of one partition (kafkajs's `maxBytesPerPartition`). The consumer holds the decoded records of a whole fetch, every partition's, until they are done: smaller lowers that part of the peak memory, larger saves fetch round trips (and, in exactly-once mode, transactions).",
    CONSUMER,
  ),
  lagPollIntervalMs: setting(
    'LAG_POLL_INTERVAL_MS',
    intIn(500, 600_000).default(10_000),
    '10000',
    "How often the consumer asks the broker for its partitions' lag (end offset minus committed offset), besides the lag it reports after each batch; a stuck or paused partition still shows a growing lag.",
    CONSUMER,
  ),
  httpPort: setting(
    'HTTP_PORT',
    intIn(0, 65_535).optional(),
    '9464 (consumer), 9465 (producer)',
    'Port of /metrics, /healthz and /readyz (0 = any free port).',
  ),
  httpHost: setting(
    'HTTP_HOST',
    z.string().min(1).default('0.0.0.0'),
    '0.0.0.0',
    'Address the HTTP server binds to.',
  ),
  shutdownTimeoutMs: setting(
    'SHUTDOWN_TIMEOUT_MS',
    intIn(100, 120_000).default(8000),
    '8000',
    'Longest graceful shutdown before the process exits anyway.',
  ),
  logLevel: setting(
    'LOG_LEVEL',
    z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    'info',
    'Log level.',
  ),
  logFormat: setting(
    'LOG_FORMAT',
    z.enum(['auto', 'json', 'pretty']).default('auto'),
    'auto',
    '`auto` is human-readable on a TTY and JSON otherwise.',
  ),
  saslMechanism: setting(
    'KAFKA_SASL_MECHANISM',
    z.enum(['none', 'plain', 'scram-sha-256', 'scram-sha-512']).default('none'),
    'none',
    'SASL mechanism for the brokers.',
  ),
  saslUsername: optionalText('KAFKA_SASL_USERNAME', 'SASL user (required when a mechanism is set).'),
  saslPassword: optionalText(
    'KAFKA_SASL_PASSWORD',
    'SASL password (required when a mechanism is set).',
    true,
  ),
  saslAllowPlaintext: setting(
    'KAFKA_SASL_ALLOW_PLAINTEXT',
    bool.default(false),
    'false',
    'Allow SASL without KAFKA_TLS (the password, or with SCRAM a replayable exchange, crosses the network unencrypted). For a development cluster only; refused otherwise.',
  ),
  tls: setting('KAFKA_TLS', bool.default(false), 'false', 'Connect to the brokers over TLS.'),
  tlsCaFile: optionalText(
    'KAFKA_TLS_CA_FILE',
    'PEM file of the CA that signed the brokers’ certificates (system CAs when unset).',
  ),
  orderCount: setting(
    'ORDER_COUNT',
    intIn(0, 100_000_000).default(20),
    '20',
    'Orders the producer sends (`--count`).',
    PRODUCER,
  ),
  orderRate: setting(
    'ORDER_RATE',
    z.coerce.number().min(0).max(1_000_000).default(0),
    '0',
    'Orders per second (`--rate`); 0 = as fast as possible.',
    PRODUCER,
  ),
  invalidRatio: setting(
    'INVALID_RATIO',
    ratio.default(0),
    '0',
    'Fraction of deliberately invalid orders, to exercise the DLQ (`--invalid-ratio`).',
    PRODUCER,
  ),
  startOrderId: setting(
    'START_ORDER_ID',
    intIn(0, Number.MAX_SAFE_INTEGER).default(1001),
    '1001',
    'First order id (`--start-id`).',
    PRODUCER,
  ),
  producerSeed: setting(
    'PRODUCER_SEED',
    intIn(0, 2 ** 31 - 1).optional(),
    '(random)',
    'Seed of the random order generator, for reproducible runs (`--seed`).',
    PRODUCER,
  ),
  pushgatewayUrl: setting(
    'PUSHGATEWAY_URL',
    httpUrl.optional(),
    '(unset)',
    'When set, the producer pushes its final metric totals to this Prometheus Pushgateway on exit.',
    PRODUCER,
  ),
  // OpenTelemetry's own variables (its SDK environment specification), so any collector setup works as is.
  // A bad value among them stops startup only when tracing is on; otherwise it is a warning (load.ts).
  otelSdkDisabled: setting(
    'OTEL_SDK_DISABLED',
    bool.default(false),
    'false',
    '`true` turns tracing off, whatever else is set.',
  ),
  otelTracesExporter: setting(
    'OTEL_TRACES_EXPORTER',
    z
      .string()
      .transform((list) =>
        list
          .split(',')
          .map((name) => name.trim().toLowerCase())
          .filter(Boolean),
      )
      .optional(),
    '(unset)',
    'Where spans go, a comma-separated list (the specification’s form): tracing is on when it names `otlp` (OTLP/HTTP, protobuf), off for `none`; any other exporter is ignored, with a warning. Unset: `otlp` when an OTLP endpoint is set, else tracing is off and costs nothing.',
  ),
  otelEndpoint: setting(
    'OTEL_EXPORTER_OTLP_ENDPOINT',
    httpUrl.optional(),
    '(unset)',
    'Base URL of an OTLP/HTTP receiver (a collector, Jaeger, Tempo: `http://host:4318`); spans go to `<it>/v1/traces`. Setting it turns tracing on.',
  ),
  otelTracesEndpoint: setting(
    'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT',
    httpUrlAsGiven.optional(),
    '(unset)',
    'Full URL spans are posted to, used as it is; wins over OTEL_EXPORTER_OTLP_ENDPOINT. Setting it turns tracing on. With `OTEL_TRACES_EXPORTER=otlp` and neither set: `http://localhost:4318/v1/traces`.',
  ),
  otelProtocol: setting(
    'OTEL_EXPORTER_OTLP_PROTOCOL',
    z.enum(['http/protobuf']).default('http/protobuf'),
    'http/protobuf',
    'OTLP transport; `http/protobuf` is the one supported (every OTLP receiver takes it on port 4318).',
  ),
  otelServiceName: setting(
    'OTEL_SERVICE_NAME',
    z.string().min(1).optional(),
    'order-consumer, order-producer, dlq-reader',
    "The spans' `service.name`; wins over one in OTEL_RESOURCE_ATTRIBUTES.",
  ),
  otelSampler: setting(
    'OTEL_TRACES_SAMPLER',
    z
      .enum([
        'always_on',
        'always_off',
        'traceidratio',
        'parentbased_always_on',
        'parentbased_always_off',
        'parentbased_traceidratio',
      ])
      .default('parentbased_always_on'),
    'parentbased_always_on',
    "Which traces are recorded. `parentbased_*` follows the producer's decision, carried in each order's `traceparent`: a record's spans, its dead letter and redrive follow its order, and a run of orders is recorded when one of them is sampled, linked to the sampled ones only; `parentbased_traceidratio` with OTEL_TRACES_SAMPLER_ARG samples new traces (the producer's orders, runs of orders without a trace context). The others decide every span on its own.",
  ),
  otelSamplerArg: setting(
    'OTEL_TRACES_SAMPLER_ARG',
    ratio.optional(),
    '1',
    'The ratio of the `traceidratio` samplers (0 to 1); ignored by the others.',
  ),
} as const;

export type SettingKey = keyof typeof SETTINGS;
export type SettingValues = { [K in SettingKey]: z.output<(typeof SETTINGS)[K]['schema']> };
