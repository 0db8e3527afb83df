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
const TLS_NOISE = /certificate/i;

/** How long repeats of one access problem (a refused login, an untrusted certificate) stay at debug. */
export const ACCESS_REPEAT_WINDOW_MS = 60_000;

let accessChecksRunning = 0;

/**
 * While the startup access check (broker-access.ts) runs, it reports a refused login or an untrusted
 * certificate itself, once, with its backoff: kafkajs's lines about the same failure are demoted to debug.
 * Returns the function that ends the suppression.
 */
export function suppressAccessNoise(): () => void {
  accessChecksRunning += 1;
  let ended = false;
  return () => {
    if (ended) return;
    ended = true;
    accessChecksRunning -= 1;
  };
}

/**
 * Outside the startup check (a password rotated or a certificate replaced while the process runs), such a
 * failure is logged at error with its code the first time, then repeats of it are at debug for
 * ACCESS_REPEAT_WINDOW_MS; the next one after that is an error again, with the number of repeats in between.
 */
function accessNoiseFilter(now: () => number = Date.now) {
  const last = new Map<string, { at: number; repeats: number }>();
  return (text: string): { code: string; repeats: number } | 'repeat' | undefined => {
    if (!ACCESS_NOISE.test(text)) return undefined;
    if (accessChecksRunning > 0) return 'repeat';
    const code = TLS_NOISE.test(text) ? 'KOS_BROKER_TLS' : 'KOS_BROKER_AUTH';
    const seen = last.get(code);
    const at = now();
    if (seen && at - seen.at < ACCESS_REPEAT_WINDOW_MS) {
      seen.repeats += 1;
      return 'repeat';
    }
    last.set(code, { at, repeats: 0 });
    return { code, repeats: seen?.repeats ?? 0 };
  };
}

/** kafkajs logs through our pino logger, so every line is structured the same way. */
export function pinoLogCreator(logger: Logger, now?: () => number) {
  const kafkaLogger = logger.child({ component: 'kafkajs' });
  const access = accessNoiseFilter(now);
  return () =>
    ({ level, log }: LogEntry) => {
      const { message, timestamp: _timestamp, logger: _name, ...rest } = log;
      // Our producers never resend after a failed send (a failure is reported, not retried by us), so
      // kafkajs's caveat about bounded retries and idempotence does not apply: keep startup logs clean.
      if (message.startsWith('Limiting retries for the idempotent producer')) return;
      if (level <= logLevel.WARN) {
        const verdict = access(`${message} ${String(rest['error'] ?? '')}`);
        if (verdict === 'repeat') {
          kafkaLogger.debug(rest, message);
          return;
        }
        if (verdict) {
          kafkaLogger.error(
            {
              ...rest,
              code: verdict.code,
              ...(verdict.repeats > 0 ? { repeatsSinceLast: verdict.repeats } : {}),
            },
            message,
          );
          return;
        }
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
