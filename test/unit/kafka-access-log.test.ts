import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { logLevel } from 'kafkajs';
import {
  ACCESS_REPEAT_WINDOW_MS,
  pinoLogCreator,
  suppressAccessNoise,
} from '../../src/adapters/kafka/client.js';
import { createLogger } from '../../src/logger.js';

interface Line {
  level: number;
  msg: string;
  code?: string;
  repeatsSinceLast?: number;
}

/** A kafkajs log function writing into `lines`, on a clock the test moves. */
function kafkajsLog() {
  const lines: Line[] = [];
  const clock = { now: 1_000_000 };
  const logger = createLogger({
    level: 'debug',
    format: 'json',
    name: 'test',
    stream: { write: (line: string) => lines.push(JSON.parse(line) as Line) },
  });
  const log = pinoLogCreator(logger, () => clock.now)();
  const refused = () =>
    log({
      namespace: 'Connection',
      level: logLevel.ERROR,
      label: 'ERROR',
      log: {
        timestamp: new Date().toISOString(),
        logger: 'kafkajs',
        message: 'Crash: KafkaJSSASLAuthenticationError: SASL SCRAM-SHA-512 authentication failed',
        error: 'SASL SCRAM-SHA-512 authentication failed: invalid credentials',
      },
    });
  const errors = () => lines.filter((l) => l.level >= 50);
  return { lines, clock, refused, errors };
}

describe('kafkajs log lines about broker access', () => {
  it('when a login is refused while the process runs, then the first line is an error with KOS_BROKER_AUTH and repeats are rate-limited', () => {
    const { clock, refused, errors, lines } = kafkajsLog();
    refused();
    refused();
    refused();
    assert.equal(errors().length, 1);
    assert.equal(errors()[0]?.code, 'KOS_BROKER_AUTH');
    assert.equal(lines.filter((l) => l.level === 20).length, 2, 'repeats at debug');
    clock.now += ACCESS_REPEAT_WINDOW_MS;
    refused();
    assert.equal(errors().length, 2);
    assert.equal(errors()[1]?.repeatsSinceLast, 2);
  });

  it('when the startup access check runs, then kafkajs lines about it are debug only; after it, they are errors again', () => {
    const { refused, errors } = kafkajsLog();
    const end = suppressAccessNoise();
    refused();
    refused();
    assert.equal(errors().length, 0);
    end();
    end(); // idempotent
    refused();
    assert.equal(errors().length, 1);
    assert.equal(errors()[0]?.code, 'KOS_BROKER_AUTH');
  });
});
