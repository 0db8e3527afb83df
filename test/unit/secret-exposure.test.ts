import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { evaluateReadiness } from '../../src/adapters/http/readiness.js';
import { startLivenessMonitor } from '../../src/adapters/http/liveness.js';
import { loadConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';
import { createLogger, warnAboutUnredactedSecrets } from '../../src/logger.js';
import { clearSecrets, REDACTED, redactText, unredactedSecrets } from '../../src/redact.js';

afterEach(() => clearSecrets());

const SECURED = {
  KAFKA_SASL_MECHANISM: 'scram-sha-512',
  KAFKA_SASL_USERNAME: 'kos-producer',
  KAFKA_SASL_PASSWORD: 'sasl-pass-123',
  KAFKA_TLS: 'true',
} as const;

describe('secrets leaving the process', () => {
  it('when a readiness check throws a text holding a password, then /readyz shows it redacted', async () => {
    loadConfig('producer', SECURED);
    const report = await evaluateReadiness(
      [
        {
          name: 'registry',
          check: () => {
            throw new Error('GET https://u:p@registry/subjects failed with sasl-pass-123');
          },
        },
      ],
      1000,
    );
    const error = report.checks[0]?.error ?? '';
    assert.ok(!error.includes('sasl-pass-123') && !error.includes('u:p@'), error);
    assert.ok(error.includes(REDACTED));
  });

  it('when the process is marked fatal with a password in the error, then /healthz shows it redacted', () => {
    loadConfig('producer', SECURED);
    const monitor = startLivenessMonitor();
    try {
      monitor.markFatal(new Error('login with sasl-pass-123 refused'));
      const fatal = monitor.report().fatal ?? '';
      assert.equal(fatal, `Error: login with ${REDACTED} refused`);
    } finally {
      monitor.stop();
    }
  });

  it('when registry basic auth and OTLP headers are set, then the Basic token and each header value are secrets', () => {
    loadConfig('producer', {
      SCHEMA_REGISTRY_URL: 'https://registry:8081',
      SCHEMA_REGISTRY_USERNAME: 'registry-user',
      SCHEMA_REGISTRY_PASSWORD: 'registry-pass',
      OTEL_EXPORTER_OTLP_HEADERS: 'x-api-key=abcdef123456,authorization=Bearer%20tok-0123456789',
    });
    const token = Buffer.from('registry-user:registry-pass').toString('base64');
    const text = redactText(
      `Authorization: Basic ${token}; x-api-key: abcdef123456; authorization=Bearer%20tok-0123456789; Bearer tok-0123456789`,
    );
    for (const secret of [token, 'abcdef123456', 'tok-0123456789']) {
      assert.ok(!text.includes(secret), `${secret} in ${text}`);
    }
  });
});

describe('registry basic auth over plain HTTP', () => {
  const auth = { SCHEMA_REGISTRY_USERNAME: 'registry-user', SCHEMA_REGISTRY_PASSWORD: 'registry-pass' };

  it('when basic auth is set with an http:// registry, then the configuration is refused naming the opt-in', () => {
    assert.throws(
      () => loadConfig('producer', { ...auth, SCHEMA_REGISTRY_URL: 'http://registry:8081' }),
      (error: unknown) =>
        error instanceof ConfigError &&
        /plain HTTP/.test(error.message) &&
        /SCHEMA_REGISTRY_ALLOW_PLAINTEXT_AUTH=true/.test(error.message) &&
        !error.message.includes('registry-pass'),
    );
  });

  it('when the opt-in is set, or the registry is https://, or there is no auth, then it is accepted', () => {
    assert.equal(
      loadConfig('producer', {
        ...auth,
        SCHEMA_REGISTRY_URL: 'http://registry:8081',
        SCHEMA_REGISTRY_ALLOW_PLAINTEXT_AUTH: 'true',
      }).schemaRegistryAllowPlaintextAuth,
      true,
    );
    loadConfig('producer', { ...auth, SCHEMA_REGISTRY_URL: 'https://registry:8081' });
    loadConfig('producer', { SCHEMA_REGISTRY_URL: 'http://registry:8081' });
  });
});

describe('short secrets', () => {
  it('when a password is shorter than 8 characters, then it is not redacted and the process warns naming the setting, not the value', () => {
    loadConfig('producer', { ...SECURED, KAFKA_SASL_PASSWORD: 'short1!' });
    assert.deepEqual(unredactedSecrets(), ['KAFKA_SASL_PASSWORD']);
    assert.equal(redactText('short1!'), 'short1!');
    const lines: string[] = [];
    const logger = createLogger({
      level: 'info',
      format: 'json',
      name: 't',
      stream: { write: (line: string) => lines.push(line) },
    });
    warnAboutUnredactedSecrets(logger);
    assert.equal(lines.length, 1);
    const line = JSON.parse(lines[0]!) as { level: number; setting: string; msg: string };
    assert.equal(line.level, 40);
    assert.equal(line.setting, 'KAFKA_SASL_PASSWORD');
    assert.match(line.msg, /shorter than 8 characters/);
    assert.ok(!lines[0]!.includes('short1!'));
  });
});
