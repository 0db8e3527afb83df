import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classifyAccessError } from '../../src/adapters/kafka/broker-access.js';
import { loadConfig } from '../../src/config/load.js';
import { BrokerAuthError, BrokerTlsError, ConfigError } from '../../src/errors.js';

const SCRAM = {
  KAFKA_SASL_MECHANISM: 'scram-sha-512',
  KAFKA_SASL_USERNAME: 'kos-consumer',
  KAFKA_SASL_PASSWORD: 'not-shown-anywhere',
};

function problems(env: Record<string, string>): string {
  try {
    loadConfig('consumer', env);
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    return error.message;
  }
  assert.fail('the configuration was accepted');
}

describe('security settings', () => {
  it('when SASL is set without TLS, then it is refused, naming the opt-in, never the password', () => {
    const message = problems(SCRAM);
    assert.match(message, /KAFKA_SASL_MECHANISM=scram-sha-512 without KAFKA_TLS=true/);
    assert.match(message, /KAFKA_SASL_ALLOW_PLAINTEXT=true/);
    assert.ok(!message.includes('not-shown-anywhere'));
  });

  it('when SASL without TLS is opted into, or TLS is on, then it is accepted', () => {
    assert.equal(
      loadConfig('consumer', { ...SCRAM, KAFKA_SASL_ALLOW_PLAINTEXT: 'true' }).saslAllowPlaintext,
      true,
    );
    assert.equal(loadConfig('consumer', { ...SCRAM, KAFKA_TLS: 'true' }).tls, true);
  });

  it('when URLs hold credentials, then each is refused in one message and shown without them', () => {
    const message = problems({
      SCHEMA_REGISTRY_URL: 'https://alice:pw-in-url@registry:8081',
      PUSHGATEWAY_URL: 'http://bob:pw2-in-url@pushgateway:9091',
    });
    assert.ok(!message.includes('pw-in-url') && !message.includes('pw2-in-url'), message);
    assert.match(
      message,
      /SCHEMA_REGISTRY_URL="https:\/\/\[REDACTED\]@registry:8081": must not hold credentials/,
    );
    assert.match(message, /PUSHGATEWAY_URL=.*must not hold credentials/);
    assert.match(
      problems({ SCHEMA_REGISTRY_CERT_FILE: '/tls/client.pem' }),
      /SCHEMA_REGISTRY_CERT_FILE and SCHEMA_REGISTRY_KEY_FILE: set both or neither/,
    );
  });

  it('when the registry TLS files are set, then they are read into the configuration', () => {
    const config = loadConfig('producer', {
      SCHEMA_REGISTRY_URL: 'https://registry:8443',
      SCHEMA_REGISTRY_CA_FILE: '/tls/ca.pem',
      SCHEMA_REGISTRY_CERT_FILE: '/tls/client.pem',
      SCHEMA_REGISTRY_KEY_FILE: '/tls/client.key',
    });
    assert.deepEqual(
      [config.schemaRegistryCaFile, config.schemaRegistryCertFile, config.schemaRegistryKeyFile],
      ['/tls/ca.pem', '/tls/client.pem', '/tls/client.key'],
    );
  });
});

describe('broker access errors', () => {
  const settings = {
    brokers: ['kafka:9094'],
    tls: true,
    tlsCaFile: undefined,
    saslMechanism: 'scram-sha-512' as const,
    saslUsername: 'kos-consumer',
  };

  it('when kafkajs reports a refused SASL login, then it becomes KOS_BROKER_AUTH naming the mechanism and the user', () => {
    const sasl = Object.assign(new Error('SASL SCRAM SHA512 authentication failed: invalid credentials'), {
      name: 'KafkaJSSASLAuthenticationError',
    });
    const error = classifyAccessError(Object.assign(new Error('wrapped'), { originalError: sasl }), settings);
    assert.ok(error instanceof BrokerAuthError);
    assert.equal(error.code, 'KOS_BROKER_AUTH');
    assert.equal(error.handling, 'wait');
    assert.match(
      error.message,
      /SASL SCRAM-SHA-512 authentication as user "kos-consumer" was refused by the brokers \(kafka:9094\)/,
    );
  });

  it('when the certificate is not trusted, then it becomes KOS_BROKER_TLS naming the broker and KAFKA_TLS_CA_FILE', () => {
    const tls = Object.assign(new Error('self-signed certificate in certificate chain'), {
      code: 'SELF_SIGNED_CERT_IN_CHAIN',
    });
    const error = classifyAccessError(Object.assign(new Error('Connection error'), { cause: tls }), settings);
    assert.ok(error instanceof BrokerTlsError);
    assert.match(error.message, /kafka:9094/);
    assert.match(error.message, /KAFKA_TLS_CA_FILE/);
  });

  it('when a broker is merely down, then it is not an access error (kafkajs retries it as before)', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    assert.equal(classifyAccessError(refused, settings), undefined);
  });
});

describe('the local registry proxy', () => {
  it('when a basic-auth header is checked, then only the exact user and password pass', async () => {
    const { basicAuthMatches } = await import('../../tools/stack/registry-proxy.js');
    const header = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;
    assert.equal(basicAuthMatches(header('kos', 'secret-1'), 'kos', 'secret-1'), true);
    assert.equal(basicAuthMatches(header('kos', 'secret-2'), 'kos', 'secret-1'), false);
    assert.equal(basicAuthMatches(header('other', 'secret-1'), 'kos', 'secret-1'), false);
    assert.equal(basicAuthMatches(undefined, 'kos', 'secret-1'), false);
    assert.equal(basicAuthMatches('Bearer x', 'kos', 'secret-1'), false);
  });
});
