import { readFileSync } from 'node:fs';
import tls from 'node:tls';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Kafka } from 'kafkajs';
import { BrokerAuthError, BrokerTlsError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import { suppressAccessNoise, type KafkaClientSettings } from './client.js';

/**
 * Before a process starts its clients, it proves it may talk to the brokers at all: TLS trusts them and
 * SASL accepts us. Both failures need an operator, so retrying them at kafkajs's pace (every few hundred
 * milliseconds, each retry a new connection and a new failed login on the broker) would only flood the
 * broker's log and our own. Instead: one clear error naming the mechanism, the user or the broker
 * (never the secret), then attempts with a capped exponential backoff, until the operator fixes it.
 */
export interface AccessBackoff {
  readonly initialMs: number;
  readonly maxMs: number;
}

/** 2 s doubling to 60 s: about 6 attempts in the first minute, then 1 a minute. */
export const ACCESS_BACKOFF: AccessBackoff = { initialMs: 2000, maxMs: 60_000 };

const TLS_CODE = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS|ERR_SSL|HOSTNAME|ALTNAME/;

type AccessSettings = Pick<
  KafkaClientSettings,
  'brokers' | 'tls' | 'tlsCaFile' | 'saslMechanism' | 'saslUsername'
>;

function chain(error: unknown): { name?: string; code?: string; message: string }[] {
  const out: { name?: string; code?: string; message: string }[] = [];
  for (let current: unknown = error, depth = 0; current && depth < 6; depth += 1) {
    if (typeof current !== 'object') break;
    const e = current as {
      name?: unknown;
      code?: unknown;
      message?: unknown;
      originalError?: unknown;
      cause?: unknown;
    };
    out.push({
      ...(typeof e.name === 'string' ? { name: e.name } : {}),
      ...(typeof e.code === 'string' ? { code: e.code } : {}),
      message: typeof e.message === 'string' ? e.message : '',
    });
    current = e.originalError ?? e.cause;
  }
  return out;
}

/** A refused login or an untrusted broker, as our coded error; undefined for anything else. */
export function classifyAccessError(
  error: unknown,
  settings: AccessSettings,
): BrokerAuthError | BrokerTlsError | undefined {
  if (error instanceof BrokerAuthError || error instanceof BrokerTlsError) return error;
  const links = chain(error);
  if (links.some((l) => l.name === 'KafkaJSSASLAuthenticationError')) {
    const mechanism = settings.saslMechanism.toUpperCase();
    return new BrokerAuthError(
      `SASL ${mechanism} authentication as user "${settings.saslUsername ?? ''}" was refused by the brokers (${settings.brokers.join(',')}): check KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD`,
      { cause: error },
    );
  }
  const tlsLink = links.find(
    (l) => (l.code !== undefined && TLS_CODE.test(l.code)) || /certificate/i.test(l.message),
  );
  if (tlsLink) {
    return tlsError(settings.brokers.join(','), tlsLink.code, tlsLink.message, error);
  }
  return undefined;
}

function tlsError(broker: string, code: string | undefined, detail: string, cause: unknown): BrokerTlsError {
  return new BrokerTlsError(
    `TLS handshake with broker ${broker} failed: ${detail}${code && !detail.includes(code) ? ` (${code})` : ''}: its certificate is not trusted or does not name ${broker.split(':')[0] ?? broker}; set KAFKA_TLS_CA_FILE to the CA that signed it`,
    { cause },
  );
}

/**
 * One TLS handshake with the first broker, verifying its certificate as kafkajs will. kafkajs reports
 * an untrusted certificate as a retriable connection error and retries it for minutes; this says what
 * is wrong at once. Anything but a certificate problem (refused, timeout) is left to kafkajs.
 */
export function tlsPreflight(
  settings: AccessSettings,
  timeoutMs = 5000,
): Promise<BrokerTlsError | undefined> {
  const broker = settings.brokers[0];
  if (!settings.tls || broker === undefined) return Promise.resolve(undefined);
  const [host = '', port = ''] = broker.split(/:(?=\d+$)/);
  const ca = settings.tlsCaFile ? readFileSync(settings.tlsCaFile, 'utf8') : undefined;
  return new Promise((resolve) => {
    const socket = tls.connect({
      host,
      port: Number(port),
      ...(ca ? { ca } : {}),
      ...(!net.isIP(host) ? { servername: host } : {}),
    });
    const done = (result: BrokerTlsError | undefined) => {
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(timeoutMs, () => done(undefined));
    socket.once('secureConnect', () => done(undefined));
    socket.once('error', (error: NodeJS.ErrnoException) => {
      const isTls =
        (error.code !== undefined && TLS_CODE.test(error.code)) || /certificate/i.test(error.message);
      done(isTls ? tlsError(broker, error.code, error.message, error) : undefined);
    });
  });
}

export interface AccessOptions {
  readonly logger: Logger;
  readonly signal?: AbortSignal;
  readonly backoff?: AccessBackoff;
  /** Called with each failure (for /readyz and tests). */
  readonly onRefused?: (error: BrokerAuthError | BrokerTlsError, attempt: number) => void;
}

/**
 * Connects an admin client (and disconnects it) until TLS and SASL both succeed. Other failures (a
 * broker that is down) are not ours to handle here: kafkajs retries them and the caller's own connect
 * reports them as before.
 */
export async function waitForBrokerAccess(
  kafka: Kafka,
  settings: AccessSettings,
  options: AccessOptions,
): Promise<void> {
  // Without TLS and SASL there is nothing to be refused: no extra connection, startup exactly as before.
  if (!settings.tls && settings.saslMechanism === 'none') return;
  // This loop reports a refusal itself, once: kafkajs's own lines about it stay at debug meanwhile.
  const endSuppression = suppressAccessNoise();
  try {
    await accessLoop(kafka, settings, options);
  } finally {
    endSuppression();
  }
}

async function accessLoop(kafka: Kafka, settings: AccessSettings, options: AccessOptions): Promise<void> {
  const backoff = options.backoff ?? ACCESS_BACKOFF;
  let failures = 0;
  let lastMessage = '';
  for (;;) {
    let refusal: BrokerAuthError | BrokerTlsError | undefined = await tlsPreflight(settings);
    if (!refusal) {
      const admin = kafka.admin({ retry: { retries: 0 } });
      try {
        await admin.connect();
      } catch (error) {
        refusal = classifyAccessError(error, settings);
        // Down or unreachable: kafkajs's own retries in the caller's connect handle that, as before.
        if (!refusal) {
          options.logger.debug({ err: error }, 'Broker access check inconclusive; connecting anyway');
          return;
        }
      } finally {
        await admin.disconnect().catch(() => undefined);
      }
    }
    if (!refusal) {
      if (failures > 0) options.logger.info({ attempts: failures + 1 }, 'Connected to the brokers');
      return;
    }
    failures += 1;
    options.onRefused?.(refusal, failures);
    const delayMs = Math.min(backoff.maxMs, backoff.initialMs * 2 ** Math.min(failures - 1, 20));
    // One error per distinct problem; afterwards a reminder every 10th attempt, so the log says it is
    // still going on without repeating it every few seconds.
    if (refusal.message !== lastMessage) {
      options.logger.error({ code: refusal.code, err: refusal, nextAttemptInMs: delayMs }, refusal.message);
      lastMessage = refusal.message;
    } else if (failures % 10 === 0) {
      options.logger.warn(
        { code: refusal.code, attempts: failures, nextAttemptInMs: delayMs },
        `Still refused by the brokers after ${failures} attempts (${refusal.code})`,
      );
    }
    // Stopped while refused: the refusal is why nothing was done, so that is what the caller reports.
    const refused = refusal;
    await sleep(delayMs, undefined, options.signal ? { signal: options.signal } : {}).catch(() => {
      throw refused;
    });
  }
}
