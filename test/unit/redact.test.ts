import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { loadConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/logger.js';
import {
  clearSecrets,
  REDACTED,
  redactError,
  redactText,
  redactValue,
  registerSecret,
  safeUrl,
} from '../../src/redact.js';

afterEach(() => clearSecrets());

describe('redaction', () => {
  it('when a URL holds user-info, then it is removed wherever the URL appears in a text', () => {
    assert.equal(
      safeUrl('https://alice:s3cret@registry:8081/apis'),
      `https://${REDACTED}@registry:8081/apis`,
    );
    assert.equal(
      redactText('GET http://bob@host/x failed; see https://u:p@a.b/c?d=e@f'),
      `GET http://${REDACTED}@host/x failed; see https://${REDACTED}@a.b/c?d=e@f`,
    );
    assert.equal(
      redactText('mail me at a@b.c, http://host/path@v1'),
      'mail me at a@b.c, http://host/path@v1',
    );
    // A JSON log line: a URL without a path must not run on into the next fields up to a record position.
    const line = '{"url":"http://127.0.0.1:8081","record":"orders[0]@5","code":"KOS_REGISTRY_UNAVAILABLE"}';
    assert.equal(redactText(line), line);
    assert.equal(
      redactText('{"url":"http://u:p@h:1","record":"orders[0]@5"}'),
      `{"url":"http://${REDACTED}@h:1","record":"orders[0]@5"}`,
    );
  });

  it('when a secret is registered, then it is replaced in any text, JSON-escaped too', () => {
    registerSecret('pa"ss\\word');
    registerSecret('xy');
    assert.equal(redactText('login with pa"ss\\word'), `login with ${REDACTED}`);
    assert.equal(redactText(JSON.stringify({ p: 'pa"ss\\word' })), `{"p":"${REDACTED}"}`);
    assert.equal(
      redactText('xy stays: too short to be a secret worth garbling lines for'),
      'xy stays: too short to be a secret worth garbling lines for',
    );
  });

  it('when a value holds secrets in fields, arrays and errors, then a redacted copy comes back', () => {
    registerSecret('hunter22');
    const cause = new Error('inner hunter22');
    const value = redactValue({
      password: 'anything',
      nested: { list: ['ok', 'token hunter22'], url: 'http://u:hunter22@h/' },
      err: new Error('outer', { cause }),
      count: 3,
    }) as Record<string, unknown>;
    assert.equal(value['password'], REDACTED);
    assert.deepEqual((value['nested'] as Record<string, unknown>)['list'], ['ok', `token ${REDACTED}`]);
    assert.equal((value['nested'] as Record<string, unknown>)['url'], `http://${REDACTED}@h/`);
    assert.equal(cause.message, `inner ${REDACTED}`);
    assert.equal(value['count'], 3);
    const error = redactError(new Error('connect to https://a:b@c failed'));
    assert.equal(error.message, `connect to https://${REDACTED}@c failed`);
    assert.ok(!String(error.stack).includes('a:b@'));
  });

  it('when the configuration is loaded, then its secrets never reach a log line, whatever field or error carries them', () => {
    const config = loadConfig('producer', {
      KAFKA_SASL_MECHANISM: 'scram-sha-512',
      KAFKA_SASL_USERNAME: 'kos-producer',
      KAFKA_SASL_PASSWORD: 'sasl-pass-123',
      KAFKA_TLS: 'true',
      SCHEMA_REGISTRY_URL: 'https://registry:8081',
      SCHEMA_REGISTRY_USERNAME: 'reg',
      SCHEMA_REGISTRY_PASSWORD: 'reg-pass-456',
    });
    const lines: string[] = [];
    const logger = createLogger({
      level: 'info',
      format: 'json',
      name: 'redact-test',
      stream: { write: (line: string) => lines.push(line) },
    });
    logger.info(
      { config, err: new Error(`auth failed for ${config.saslPassword ?? ''}`) },
      `password ${config.schemaRegistryPassword ?? ''}`,
    );
    logger
      .child({ component: 'kafkajs' })
      .error({ url: 'https://x:y@registry/' }, 'reached https://x:y@registry/');
    const text = lines.join('');
    assert.equal(lines.length, 2);
    for (const secret of ['sasl-pass-123', 'reg-pass-456', 'x:y@']) {
      assert.ok(!text.includes(secret), `${secret} leaked: ${text}`);
    }
    assert.ok(text.includes(REDACTED));
  });
});
