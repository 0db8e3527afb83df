/**
 * Every error the application raises on purpose, with a stable code and what the consumer does about
 * it. The retry/DLQ decision reads `handling` and nothing else; the error table of docs/reference.md is generated
 * from ERROR_DOCS (`npm run docs:config`) and a unit test keeps the two equal.
 */

/**
 * How a failure is handled:
 * - `dead-letter`: the record itself is wrong, so it goes to the DLQ at once;
 * - `retry`: the processing step may succeed later: retried up to MAX_RETRIES, then dead-lettered;
 * - `wait`: something the record needs is down (registry, broker, DLQ). It is not the record's fault,
 *   so no attempt is used and nothing is dead-lettered: the partition waits with a capped backoff and
 *   goes on by itself once the dependency is back;
 * - `startup`: a process cannot start (or a producer cannot go on) until the operator fixes it;
 * - `alert`: logged, counted and alerted on; processing goes on safely.
 */
export type Handling = 'dead-letter' | 'retry' | 'wait' | 'startup' | 'alert';

/** What a `wait` waits for; the label of the waiting metrics. */
export type Dependency = 'registry' | 'broker' | 'dlq';

export const DEPENDENCIES: readonly Dependency[] = ['registry', 'broker', 'dlq'];

interface ErrorDoc {
  readonly handling: Handling;
  readonly meaning: string;
}

export const ERROR_DOCS = {
  KOS_CONFIG_INVALID: {
    handling: 'startup',
    meaning: 'One or more environment variables or flags are invalid; the message lists each one.',
  },
  KOS_CLIENT_UNPATCHED: {
    handling: 'startup',
    meaning:
      'A dependency lacks one of our fixes (patches/, applied by `npm ci`): kafkajs’s read_committed filter or avsc’s bounded decoding. The consumer refuses to start.',
  },
  KOS_WIRE_FORMAT: {
    handling: 'dead-letter',
    meaning: 'The record value is not Confluent-framed Avro (missing magic byte 0 or shorter than 5 bytes).',
  },
  KOS_SCHEMA_UNKNOWN: {
    handling: 'dead-letter',
    meaning:
      'The record names a schema id the registry does not know, still after a short wait (KOS_SCHEMA_PENDING); an unknown id is then remembered for 10 s.',
  },
  KOS_SCHEMA_PENDING: {
    handling: 'wait',
    meaning:
      'The record names a schema id the registry does not know yet: its partition waits up to 3 s and asks again (a registry replica may lag its leader) before the record is dead-lettered as KOS_SCHEMA_UNKNOWN. At most 3 new ids a minute get this wait.',
  },
  KOS_DECODE_FAILED: {
    handling: 'dead-letter',
    meaning:
      'The bytes do not decode with the writer schema they name (malformed, oversized or too deeply nested), or that schema cannot be read as an order.',
  },
  KOS_BATCH_UNREADABLE: {
    handling: 'dead-letter',
    meaning:
      'A whole record batch could not be read (it decompresses past 32 MiB, or does not inflate): dead-lettered as one record, its compressed bytes as the value, so the partition moves past the batch.',
  },
  KOS_ORDER_INVALID: {
    handling: 'dead-letter',
    meaning:
      'The order decoded but breaks a business rule: empty or over-long orderId (64 bytes) or product (256 bytes), price not in (0, 9,999,999,999.99], invalid createdAt.',
  },
  KOS_DOWNSTREAM_TRANSIENT: {
    handling: 'retry',
    meaning: 'The downstream processing step failed in a way that may succeed on retry.',
  },
  KOS_DOWNSTREAM_PERMANENT: {
    handling: 'dead-letter',
    meaning: 'The downstream processing step rejected the order for good.',
  },
  KOS_UNEXPECTED: {
    handling: 'retry',
    meaning: 'An error nobody classified; retried, then dead-lettered.',
  },
  KOS_REGISTRY_UNAVAILABLE: {
    handling: 'wait',
    meaning: 'The schema registry could not be reached, timed out or answered 5xx.',
  },
  KOS_REGISTRY_AUTH: {
    handling: 'wait',
    meaning:
      'The schema registry refused our credentials (HTTP 401 or 403). The consumer waits; the producer stops.',
  },
  KOS_BROKER_UNAVAILABLE: {
    handling: 'wait',
    meaning:
      'A write or commit to Kafka failed for a reason outside the record (broker unreachable, timeout, leader change).',
  },
  KOS_BROKER_AUTH: {
    handling: 'wait',
    meaning:
      'The brokers refused our SASL credentials (wrong user or password, or a mechanism they do not offer). At startup the process logs it once, naming the mechanism and the user, and tries again with a capped backoff (2 s doubling to 60 s); /readyz fails meanwhile. Refused while running (a password rotated under it), kafkajs stops the consumer or fails the send: it is logged at error with this code (repeats at most once a minute), the consumer marks itself fatal (/healthz fails) and the backoff applies after its restart.',
  },
  KOS_BROKER_TLS: {
    handling: 'wait',
    meaning:
      'The TLS handshake with a broker failed: its certificate is not trusted (set KAFKA_TLS_CA_FILE) or does not name the host. At startup logged once naming the broker, then retried with the same capped backoff; while running, logged at error with this code at most once a minute.',
  },
  KOS_DLQ_UNWRITABLE: {
    handling: 'wait',
    meaning:
      'The dead letter could not be written (topic missing, not authorised, refused by the broker). Its offset is not committed; /readyz fails and OrdersDeadLetterQueueUnwritable fires.',
  },
  KOS_SCHEMA_NOT_REGISTERED: {
    handling: 'startup',
    meaning:
      'SCHEMA_REGISTRY_AUTO_REGISTER=false and the order schema is not registered under the subject: register it first (CI, platform team).',
  },
  KOS_SCHEMA_INCOMPATIBLE: {
    handling: 'startup',
    meaning:
      'The registry refused to register the order schema: it breaks the compatibility level of the subject. The message quotes the registry.',
  },
  KOS_SCHEMA_COMPATIBILITY_MISMATCH: {
    handling: 'startup',
    meaning:
      'SCHEMA_REGISTRY_COMPATIBILITY asks for a level the subject does not have, and the registry refused to set it.',
  },
  KOS_CHANGELOG_REJECTED: {
    handling: 'alert',
    meaning:
      'A changelog aggregate was implausible (unreadable, or offsets past the partition end or the committed offset) and was not restored; OrdersChangelogRejected fires.',
  },
} as const satisfies Record<string, ErrorDoc>;

export type ErrorCode = keyof typeof ERROR_DOCS;

export abstract class OrderSystemError extends Error {
  abstract readonly code: ErrorCode;
  /** What a `wait` waits for; undefined for every other handling. */
  abstract get dependency(): Dependency | undefined;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }

  get handling(): Handling {
    return ERROR_DOCS[this.code].handling;
  }
}

/**
 * The base class of the errors of `code` (ERROR_DOCS says how they are handled), waiting for
 * `dependency` when they are handled as `wait`.
 */
function codedError<C extends ErrorCode>(code: C, dependency?: Dependency) {
  abstract class CodedError extends OrderSystemError {
    readonly code: C = code;
    get dependency(): Dependency | undefined {
      return dependency;
    }
  }
  return CodedError;
}

/** A dependency lacks a fix of patches/: exactly-once or bounded decoding cannot be kept with it. */
export class UnpatchedClientError extends codedError('KOS_CLIENT_UNPATCHED') {}
export class SchemaNotRegisteredError extends codedError('KOS_SCHEMA_NOT_REGISTERED') {}
export class SchemaIncompatibleError extends codedError('KOS_SCHEMA_INCOMPATIBLE') {}
export class CompatibilityMismatchError extends codedError('KOS_SCHEMA_COMPATIBILITY_MISMATCH') {}

export class ConfigError extends codedError('KOS_CONFIG_INVALID') {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
  }
}

// The record itself is wrong: dead-lettered at once.
export class WireFormatError extends codedError('KOS_WIRE_FORMAT') {}
export class UnknownSchemaError extends codedError('KOS_SCHEMA_UNKNOWN') {}
export class DecodeError extends codedError('KOS_DECODE_FAILED') {}
export class BatchUnreadableError extends codedError('KOS_BATCH_UNREADABLE') {}
export class InvalidOrderError extends codedError('KOS_ORDER_INVALID') {}

// Something the record needs is down: its partition waits.
export class SchemaPendingError extends codedError('KOS_SCHEMA_PENDING', 'registry') {}
export class RegistryUnavailableError extends codedError('KOS_REGISTRY_UNAVAILABLE', 'registry') {}
export class RegistryAuthError extends codedError('KOS_REGISTRY_AUTH', 'registry') {}
export class BrokerUnavailableError extends codedError('KOS_BROKER_UNAVAILABLE', 'broker') {}
export class BrokerAuthError extends codedError('KOS_BROKER_AUTH', 'broker') {}
export class BrokerTlsError extends codedError('KOS_BROKER_TLS', 'broker') {}

export class DeadLetterUnwritableError extends codedError('KOS_DLQ_UNWRITABLE', 'dlq') {
  /**
   * The write got no answer, or failed in a way that does not say it was refused: it may still land
   * (kafkajs may still be sending it). A refusal, or a failure before anything was sent, is not in doubt.
   */
  readonly inDoubt: boolean;

  constructor(message: string, options?: { cause?: unknown; inDoubt?: boolean }) {
    super(message, options);
    this.inDoubt = options?.inDoubt ?? false;
  }
}

// The downstream step failed.
export class TransientDownstreamError extends codedError('KOS_DOWNSTREAM_TRANSIENT') {}
export class PermanentDownstreamError extends codedError('KOS_DOWNSTREAM_PERMANENT') {}

/** The longest error message a dead letter or a log line carries. */
export const MAX_ERROR_MESSAGE_CHARS = 1000;

export interface ErrorClassification {
  readonly code: ErrorCode;
  readonly handling: Handling;
  /** Set when handling is `wait`. */
  readonly dependency: Dependency | undefined;
  readonly errorClass: string;
  /** At most MAX_ERROR_MESSAGE_CHARS. */
  readonly message: string;
  readonly stack: string;
}

/** Anything thrown, reduced to what the retry policy, the DLQ headers and the logs need. */
export function classifyError(error: unknown): ErrorClassification {
  if (error instanceof OrderSystemError) {
    return {
      code: error.code,
      handling: error.handling,
      dependency: error.dependency,
      errorClass: error.name,
      message: boundMessage(error.message),
      stack: error.stack ?? '',
    };
  }
  const asError = error instanceof Error ? error : new Error(String(error));
  return {
    code: 'KOS_UNEXPECTED',
    handling: 'retry',
    dependency: undefined,
    errorClass: asError.name,
    message: boundMessage(asError.message),
    stack: asError.stack ?? '',
  };
}

/** A message cut to MAX_ERROR_MESSAGE_CHARS, saying that it was cut. */
export function boundMessage(message: string, max = MAX_ERROR_MESSAGE_CHARS): string {
  return message.length <= max ? message : `${message.slice(0, max - 16)}…[${message.length} chars]`;
}
