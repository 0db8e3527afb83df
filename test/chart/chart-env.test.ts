import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SETTINGS } from '../../src/config/settings.js';
import { loadConfig, type Role } from '../../src/config/load.js';
import { findObject, renderChart, type RenderOptions } from '../helpers/helm.js';
import type { Manifest } from '../../tools/validate-manifests.js';
import { knownEnvNames, requiredDeploymentEnvNames } from '../helpers/required-env.js';

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string } };
}
interface Container {
  name: string;
  env?: EnvVar[];
}

/**
 * Settings the chart may leave to the app's default, with the reason. Everything else that
 * applies to a role must be set explicitly, so a new setting in src/config/settings.ts fails
 * this test until the chart (or this list) takes a position on it.
 */
const LEFT_TO_DEFAULT: Readonly<Record<string, string>> = {
  SCHEMA_REGISTRY_USERNAME:
    'the chart’s registry has no auth; set it through app.extraEnv for another registry',
  SCHEMA_REGISTRY_PASSWORD: 'as SCHEMA_REGISTRY_USERNAME',
  SCHEMA_REGISTRY_ALLOW_PLAINTEXT_AUTH:
    'false: the chart’s registry has no auth; basic auth needs an https:// registry',
  SCHEMA_REGISTRY_CA_FILE:
    'the chart’s registry is reached inside the cluster over HTTP; set it through app.extraEnv for an HTTPS registry',
  SCHEMA_REGISTRY_CERT_FILE: 'as SCHEMA_REGISTRY_CA_FILE, for a registry that asks for mutual TLS',
  SCHEMA_REGISTRY_KEY_FILE: 'as SCHEMA_REGISTRY_CERT_FILE',
  KAFKA_SASL_ALLOW_PLAINTEXT: 'false (SASL requires TLS) unless app.allowPlaintextSasl is set',
  PRODUCER_SEED: 'random unless producer.seed is set',
  PUSHGATEWAY_URL: 'off unless producer.pushgatewayUrl is set',
  SCHEMA_REGISTRY_COMPATIBILITY:
    'unset (the subject’s own level is left alone) unless producer.schemaCompatibility is set',
  OTEL_EXPORTER_OTLP_ENDPOINT: 'tracing is off unless app.otlp.endpoint is set',
  OTEL_TRACES_EXPORTER: 'follows app.otlp.endpoint: otlp when it is set, off otherwise',
  OTEL_SDK_DISABLED: 'tracing is turned off by leaving app.otlp.endpoint empty',
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT:
    'app.otlp.endpoint is the base URL; a full traces URL goes in app.extraEnv',
  OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf, the one the app supports',
  OTEL_SERVICE_NAME: 'each process’s own name (order-consumer, order-producer, dlq-reader)',
  FETCH_MAX_BYTES_PER_PARTITION:
    'the app’s default (256 KiB); another one goes in app.extraEnv (docs/performance.md, Memory)',
};
/** Set only when Kafka auth or TLS is on; the auth test below requires them then. */
const AUTH_ONLY = ['KAFKA_SASL_USERNAME', 'KAFKA_SASL_PASSWORD', 'KAFKA_TLS_CA_FILE'];

function requiredEnv(role: Role, auth: boolean): string[] {
  return Object.values(SETTINGS)
    .filter((s) => s.appliesTo.includes(role))
    .map((s) => s.env)
    .filter((env) => !(env in LEFT_TO_DEFAULT) && (auth || !AUTH_ONLY.includes(env)));
}

function containerOf(
  manifests: readonly Manifest[],
  kind: string,
  nameSuffix: string,
  container: string,
): Container {
  const object = findObject(manifests, kind, nameSuffix);
  const spec = object.body.spec as { template: { spec: { containers: Container[] } } };
  const found = spec.template.spec.containers.find((c) => c.name === container);
  if (!found) throw new Error(`${kind}/${object.name} has no container ${container}`);
  return found;
}

const APP_CONTAINERS = [
  { role: 'consumer', kind: 'Deployment', suffix: '-consumer', container: 'consumer' },
  { role: 'producer', kind: 'Job', suffix: '-producer-1', container: 'producer' },
] as const;

function envNames(c: Container): string[] {
  return (c.env ?? []).map((e) => e.name);
}

/** The env as the app would see it, with Secret references replaced by a stand-in value. */
function envValues(c: Container): Record<string, string> {
  return Object.fromEntries(
    (c.env ?? []).map((e) => [e.name, e.value ?? `secret-from-${e.valueFrom?.secretKeyRef?.name}`]),
  );
}

const SCENARIOS: readonly { name: string; auth: boolean; render: RenderOptions }[] = [
  { name: 'the default values', auth: false, render: {} },
  {
    name: 'ci/auth-values.yaml (SCRAM-SHA-512 over TLS)',
    auth: true,
    render: { valuesFiles: ['ci/auth-values.yaml'] },
  },
  {
    name: 'ci/external-kafka-values.yaml',
    auth: true,
    render: { valuesFiles: ['ci/external-kafka-values.yaml'] },
  },
];

describe('chart environment of the app containers', () => {
  for (const scenario of SCENARIOS) {
    for (const app of APP_CONTAINERS) {
      test(`when rendered with ${scenario.name}, then the ${app.role} sets every env var its config needs`, () => {
        const container = containerOf(renderChart(scenario.render), app.kind, app.suffix, app.container);
        const names = envNames(container);
        const missing = requiredEnv(app.role, scenario.auth).filter((env) => !names.includes(env));
        assert.deepEqual(missing, [], `${app.role} lacks ${missing.join(', ')}`);
        assert.equal(new Set(names).size, names.length, `duplicate env names in ${names.join(', ')}`);
      });

      test(`when rendered with ${scenario.name}, then the ${app.role} sets every variable a deployment must set`, () => {
        // The shared contract with compose (test/helpers/required-env.ts): no default, or a loopback default.
        const names = envNames(
          containerOf(renderChart(scenario.render), app.kind, app.suffix, app.container),
        );
        const missing = requiredDeploymentEnvNames(app.role).filter((env) => !names.includes(env));
        assert.deepEqual(missing, []);
      });

      test(`when rendered with ${scenario.name}, then the ${app.role}'s env is accepted by loadConfig`, () => {
        const container = containerOf(renderChart(scenario.render), app.kind, app.suffix, app.container);
        const known = knownEnvNames(app.role);
        const unknown = envNames(container).filter((n) => !known.has(n));
        assert.deepEqual(unknown, [], 'the chart sets variables the app does not read');
        const config = loadConfig(app.role, envValues(container));
        assert.equal(config.logFormat, 'json');
        assert.equal(config.httpPort, app.role === 'consumer' ? 9464 : 9465);
      });
    }
  }

  test('when rendered with defaults, then the app reaches the Strimzi TLS listener as its own SCRAM user, and the chart’s registry', () => {
    const config = loadConfig(
      'consumer',
      envValues(containerOf(renderChart(), 'Deployment', '-consumer', 'consumer')),
    );
    assert.deepEqual(config.brokers, ['test-kafka-kafka-bootstrap:9093']);
    assert.equal(config.schemaRegistryUrl, 'http://test-kafka-order-system-schema-registry:8081');
    assert.equal(config.saslMechanism, 'scram-sha-512');
    assert.equal(config.saslUsername, 'test-kafka-order-system-consumer');
    assert.equal(config.tls, true);
    assert.equal(config.saslAllowPlaintext, false);
  });

  test('when development.plaintext is set, then the app uses the plain listener without SASL', () => {
    const config = loadConfig(
      'consumer',
      envValues(
        containerOf(
          renderChart({ set: { 'development.plaintext': true } }),
          'Deployment',
          '-consumer',
          'consumer',
        ),
      ),
    );
    assert.deepEqual(config.brokers, ['test-kafka-kafka-bootstrap:9092']);
    assert.equal(config.saslMechanism, 'none');
    assert.equal(config.tls, false);
  });

  test('when auth is on, then the SASL password comes from the KafkaUser secret that Strimzi writes', () => {
    const manifests = renderChart({ valuesFiles: ['ci/auth-values.yaml'] });
    for (const app of APP_CONTAINERS) {
      const env = containerOf(manifests, app.kind, app.suffix, app.container).env ?? [];
      const user = findObject(manifests, 'KafkaUser', `-${app.role}`);
      assert.equal(env.find((e) => e.name === 'KAFKA_SASL_MECHANISM')?.value, 'scram-sha-512');
      assert.equal(env.find((e) => e.name === 'KAFKA_SASL_USERNAME')?.value, user.name);
      assert.deepEqual(env.find((e) => e.name === 'KAFKA_SASL_PASSWORD')?.valueFrom, {
        secretKeyRef: { name: user.name, key: 'password' },
      });
    }
    const registry = containerOf(manifests, 'Deployment', '-schema-registry', 'schema-registry').env ?? [];
    assert.deepEqual(
      registry.find((e) => e.name === 'SCHEMA_REGISTRY_KAFKASTORE_SASL_JAAS_CONFIG')?.valueFrom,
      {
        secretKeyRef: {
          name: findObject(manifests, 'KafkaUser', '-schema-registry').name,
          key: 'sasl.jaas.config',
        },
      },
    );
  });
});
