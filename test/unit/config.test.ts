import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/config/load.js';
import { renderConfigTable, renderErrorTable } from '../../src/config/config-table.js';
import { ConfigError } from '../../src/errors.js';

describe('configuration', () => {
  it('when nothing is set, then the defaults target the local stack', () => {
    const config = loadConfig('consumer', {});
    assert.deepEqual(config.brokers, ['127.0.0.1:9092']);
    assert.equal(config.schemaRegistryUrl, 'http://127.0.0.1:8081/apis/ccompat/v7');
    assert.equal(config.groupId, 'order-consumer-group');
    assert.equal(config.ordersTopic, 'orders');
    assert.equal(config.dlqTopic, 'orders-dlq');
    assert.equal(config.maxRetries, 3);
    assert.equal(config.retryBackoffMs, 2000);
    assert.equal(config.httpPort, 9464);
    assert.equal(loadConfig('producer', {}).httpPort, 9465);
    assert.ok(Object.isFrozen(config));
  });

  it('when variables are set, then they are parsed and typed', () => {
    const config = loadConfig('producer', {
      KAFKA_BROKERS: 'a:1, b:2',
      SCHEMA_REGISTRY_URL: 'http://registry:8081/',
      ORDER_COUNT: '1000',
      INVALID_RATIO: '0.25',
      KAFKA_TLS: 'true',
    });
    assert.deepEqual(config.brokers, ['a:1', 'b:2']);
    assert.equal(config.schemaRegistryUrl, 'http://registry:8081');
    assert.equal(config.orderCount, 1000);
    assert.equal(config.invalidRatio, 0.25);
    assert.equal(config.tls, true);
  });

  it('when several variables are bad, then one error lists every one of them', () => {
    try {
      loadConfig('consumer', {
        KAFKA_BROKERS: 'no-port',
        MAX_RETRIES: '-1',
        RETRY_BACKOFF_MS: 'soon',
        SCHEMA_REGISTRY_URL: 'ftp://x',
        LOG_LEVEL: 'loud',
      });
      assert.fail('expected a ConfigError');
    } catch (error) {
      assert.ok(error instanceof ConfigError);
      const names = error.problems.map((p) => p.split('=')[0]);
      assert.deepEqual(names.sort(), [
        'KAFKA_BROKERS',
        'LOG_LEVEL',
        'MAX_RETRIES',
        'RETRY_BACKOFF_MS',
        'SCHEMA_REGISTRY_URL',
      ]);
    }
  });

  it('when SASL is on without credentials, then the error says both are required', () => {
    assert.throws(
      () => loadConfig('consumer', { KAFKA_SASL_MECHANISM: 'scram-sha-512' }),
      /KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD/,
    );
  });

  it('when the transaction timeout is shorter than one record can take, then exactly-once startup is refused and says how long it must be', () => {
    const env = { TRANSACTION_TIMEOUT_MS: '20000', SCHEMA_REGISTRY_TIMEOUT_MS: '5000' };
    // One record may wait 2 × 5 s for the registry (the client retries once) + 1 s between, 5 s for a
    // downstream step and 5 s for a dead letter; + 2 s to commit + 1 s of processing.
    assert.throws(() => loadConfig('consumer', env), /TRANSACTION_TIMEOUT_MS=20000: must be at least 24000/);
    assert.doesNotThrow(() => loadConfig('consumer', { ...env, PROCESSING_MODE: 'at-least-once' }));
    assert.doesNotThrow(() => loadConfig('producer', env));
    assert.doesNotThrow(() => loadConfig('consumer', { ...env, TRANSACTION_TIMEOUT_MS: '24000' }));
    // Backoffs are spent outside transactions and batches, so long ones need no longer timeouts.
    assert.doesNotThrow(() =>
      loadConfig('consumer', {
        MAX_RETRIES: '10',
        RETRY_BACKOFF_MS: '60000',
        RETRY_BACKOFF_MAX_MS: '600000',
      }),
    );
  });

  it('when one record or a transaction could outlast the session, then startup is refused, naming the numbers', () => {
    const problems = (env: Record<string, string>) => {
      try {
        loadConfig('consumer', env);
        return [];
      } catch (error) {
        return (error as ConfigError).problems;
      }
    };
    assert.deepEqual(problems({}), [], 'the defaults fit together');
    const session = { KAFKA_SESSION_TIMEOUT_MS: '10000' };
    assert.match(
      problems({
        ...session,
        SCHEMA_REGISTRY_TIMEOUT_MS: '2000',
        KAFKA_REQUEST_TIMEOUT_MS: '2000',
        TRANSACTION_TIMEOUT_MS: '10000',
      }).join('\n'),
      /one record may take 9000 ms: a registry lookup .* = 5000 ms\), a downstream step and a dead letter \(KAFKA_REQUEST_TIMEOUT_MS=2000 each\), and with 2000 ms to commit that outlasts KAFKA_SESSION_TIMEOUT_MS=10000/,
    );
    assert.match(
      problems({
        ...session,
        SCHEMA_REGISTRY_TIMEOUT_MS: '1000',
        KAFKA_REQUEST_TIMEOUT_MS: '2000',
        TRANSACTION_TIMEOUT_MS: '12000',
      }).join('\n'),
      /TRANSACTION_TIMEOUT_MS=12000: a transaction may stay open that long, longer than KAFKA_SESSION_TIMEOUT_MS=10000/,
    );
    // Every problem at once, in one error: the record and the transaction.
    assert.equal(
      problems({
        ...session,
        SCHEMA_REGISTRY_TIMEOUT_MS: '5000',
        KAFKA_REQUEST_TIMEOUT_MS: '9000',
        TRANSACTION_TIMEOUT_MS: '60000',
      }).length,
      2,
    );
    // Only exactly-once has transactions.
    assert.deepEqual(
      problems({
        ...session,
        SCHEMA_REGISTRY_TIMEOUT_MS: '1000',
        KAFKA_REQUEST_TIMEOUT_MS: '2000',
        TRANSACTION_TIMEOUT_MS: '60000',
        PROCESSING_MODE: 'at-least-once',
      }),
      [],
    );
    assert.deepEqual(
      problems({
        ...session,
        SCHEMA_REGISTRY_TIMEOUT_MS: '1000',
        KAFKA_REQUEST_TIMEOUT_MS: '2000',
        TRANSACTION_TIMEOUT_MS: '10000',
      }),
      [],
    );
  });

  it('when a secret is invalid, then its value is not echoed', () => {
    assert.throws(
      () => loadConfig('consumer', { KAFKA_SASL_PASSWORD: '', SCHEMA_REGISTRY_PASSWORD: 'x' }),
      (error: unknown) => error instanceof ConfigError && !error.message.includes('"x"'),
    );
  });

  it('when docs/reference.md is read, then its configuration and error-code tables are the generated ones', () => {
    const reference = readFileSync(new URL('../../docs/reference.md', import.meta.url), 'utf8');
    assert.ok(
      reference.includes(renderConfigTable()),
      'docs/reference.md config table is stale: run npm run docs:config',
    );
    assert.ok(
      reference.includes(renderErrorTable()),
      'docs/reference.md error table is stale: run npm run docs:config',
    );
  });
});
