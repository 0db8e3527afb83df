import { readFileSync } from 'node:fs';
import { Kafka, logLevel, type KafkaConfig, type LogEntry, type SASLOptions } from 'kafkajs';
import type { AppConfig } from '../../config/load.js';
import type { Logger } from '../../logger.js';
import { registerBoundedCodecs } from './codecs.js';

const LEVEL_NAMES: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

const ACCESS_NOISE = /authentication failed|invalid credentials|SaslAuthenticate|certificate/i;

/** kafkajs logs through our pino logger, so every line is structured the same way. */
function pinoLogCreator(logger: Logger) {
  const kafkaLogger = logger.child({ component: 'kafkajs' });
  return () =>
    ({ level, log }: LogEntry) => {
      const { message, timestamp: _timestamp, logger: _name, ...rest } = log;
      // Our producers never resend after a failed send (a failure is reported, not retried by us), so
      // kafkajs's caveat about bounded retries and idempotence does not apply: keep startup logs clean.
      if (message.startsWith('Limiting retries for the idempotent producer')) return;
      // A refused login or an untrusted certificate is reported once, clearly, by broker-access.ts;
      // kafkajs would log it again for each connection it tries.
      if (level <= logLevel.WARN && ACCESS_NOISE.test(`${message} ${String(rest['error'] ?? '')}`)) {
        kafkaLogger.debug(rest, message);
        return;
      }
      kafkaLogger[LEVEL_NAMES[level] ?? 'info'](rest, message);
    };
}

function kafkaLogLevel(level: string): logLevel {
  // kafkajs INFO is chatty about every group join; our info level maps to its WARN.
  switch (level) {
    case 'trace':
    case 'debug':
      return logLevel.DEBUG;
    case 'silent':
      return logLevel.NOTHING;
    case 'fatal':
    case 'error':
      return logLevel.ERROR;
    default:
      return logLevel.WARN;
  }
}

/** What the Kafka client needs of the configuration. */
export type KafkaClientSettings = Pick<
  AppConfig,
  | 'clientId'
  | 'brokers'
  | 'tls'
  | 'tlsCaFile'
  | 'saslMechanism'
  | 'saslUsername'
  | 'saslPassword'
  | 'kafkaRequestTimeoutMs'
  | 'logLevel'
>;

function sasl(config: KafkaClientSettings): SASLOptions | undefined {
  if (config.saslMechanism === 'none' || !config.saslUsername || !config.saslPassword) return undefined;
  return { mechanism: config.saslMechanism, username: config.saslUsername, password: config.saslPassword };
}

export function kafkaClientConfig(
  config: KafkaClientSettings,
  logger: Logger,
  clientSuffix: string,
): KafkaConfig {
  const ssl = config.tls
    ? config.tlsCaFile
      ? { ca: [readFileSync(config.tlsCaFile, 'utf8')] }
      : true
    : undefined;
  const saslOptions = sasl(config);
  return {
    clientId: `${config.clientId}-${clientSuffix}`,
    brokers: [...config.brokers],
    ...(ssl !== undefined ? { ssl } : {}),
    ...(saslOptions ? { sasl: saslOptions } : {}),
    connectionTimeout: 3000,
    requestTimeout: config.kafkaRequestTimeoutMs,
    logLevel: kafkaLogLevel(config.logLevel),
    logCreator: pinoLogCreator(logger),
    // Keep reconnecting through broker restarts instead of giving up after kafkajs's default ~5 tries.
    retry: { initialRetryTime: 300, maxRetryTime: 10_000, retries: 15 },
  };
}

export function createKafka(config: KafkaClientSettings, logger: Logger, clientSuffix: string): Kafka {
  // Every codec Kafka has, each bounded: a batch another client compressed must never crash us.
  registerBoundedCodecs();
  return new Kafka(kafkaClientConfig(config, logger, clientSuffix));
}
