/**
 * Every error the application raises on purpose, with a stable code.
 * The retry/DLQ decision reads `retriable` and nothing else, and the README's
 * error table is checked against ERROR_DOCS by a unit test.
 */
export const ERROR_DOCS = {
  KOS_CONFIG_INVALID: 'One or more environment variables or flags are invalid; the message lists each one.',
  KOS_WIRE_FORMAT:
    'The record value is not Confluent-framed Avro (missing magic byte 0 or shorter than 5 bytes).',
  KOS_SCHEMA_UNKNOWN: 'The record names a schema id the registry does not know.',
  KOS_DECODE_FAILED:
    'The bytes do not decode with the writer schema they name, or do not resolve to the order schema.',
  KOS_ORDER_INVALID:
    'The order decoded but breaks a business rule (empty orderId or product, price not above zero).',
  KOS_REGISTRY_UNAVAILABLE: 'The schema registry could not be reached or answered 5xx/timeout; retried.',
  KOS_DOWNSTREAM_TRANSIENT: 'The downstream processing step failed in a way that may succeed on retry.',
  KOS_DOWNSTREAM_PERMANENT: 'The downstream processing step rejected the order for good.',
  KOS_UNEXPECTED: 'An error nobody classified; treated as transient so it is retried, then dead-lettered.',
  KOS_CLIENT_UNPATCHED:
    'The installed kafkajs lacks our read_committed fix (patches/); exactly-once mode refuses to start.',
} as const;

export type ErrorCode = keyof typeof ERROR_DOCS;

export abstract class OrderSystemError extends Error {
  abstract readonly code: ErrorCode;
  abstract readonly retriable: boolean;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

export class ConfigError extends OrderSystemError {
  readonly code = 'KOS_CONFIG_INVALID';
  readonly retriable = false;
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
  }
}

/** The Kafka client would show records of aborted transactions; exactly-once cannot be kept with it. */
export class UnpatchedClientError extends OrderSystemError {
  readonly code = 'KOS_CLIENT_UNPATCHED';
  readonly retriable = false;
}

export class WireFormatError extends OrderSystemError {
  readonly code = 'KOS_WIRE_FORMAT';
  readonly retriable = false;
}

export class UnknownSchemaError extends OrderSystemError {
  readonly code = 'KOS_SCHEMA_UNKNOWN';
  readonly retriable = false;
}

export class DecodeError extends OrderSystemError {
  readonly code = 'KOS_DECODE_FAILED';
  readonly retriable = false;
}

export class InvalidOrderError extends OrderSystemError {
  readonly code = 'KOS_ORDER_INVALID';
  readonly retriable = false;
}

export class RegistryUnavailableError extends OrderSystemError {
  readonly code = 'KOS_REGISTRY_UNAVAILABLE';
  readonly retriable = true;
}

export class TransientDownstreamError extends OrderSystemError {
  readonly code = 'KOS_DOWNSTREAM_TRANSIENT';
  readonly retriable = true;
}

export class PermanentDownstreamError extends OrderSystemError {
  readonly code = 'KOS_DOWNSTREAM_PERMANENT';
  readonly retriable = false;
}

export interface ErrorClassification {
  readonly code: ErrorCode;
  readonly retriable: boolean;
  readonly errorClass: string;
  readonly message: string;
  readonly stack: string;
}

/** Anything thrown, reduced to what the retry policy and the DLQ headers need. */
export function classifyError(error: unknown): ErrorClassification {
  if (error instanceof OrderSystemError) {
    return {
      code: error.code,
      retriable: error.retriable,
      errorClass: error.name,
      message: error.message,
      stack: error.stack ?? '',
    };
  }
  const asError = error instanceof Error ? error : new Error(String(error));
  return {
    code: 'KOS_UNEXPECTED',
    retriable: true,
    errorClass: asError.name,
    message: asError.message,
    stack: asError.stack ?? '',
  };
}
