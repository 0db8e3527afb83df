import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { loadConfig } from '../../src/config/load.js';
import {
  interpolate,
  loadComposeFile,
  serviceEnvironment,
  type ComposeService,
} from '../../scripts/image/compose-file.js';
import {
  knownEnvNames,
  pointsAtLoopback,
  requiredDeploymentEnv,
  requiredDeploymentEnvNames,
  type Role,
} from '../helpers/required-env.js';

const compose = loadComposeFile('docker-compose.yml');
const service = (name: string): ComposeService => {
  const s = compose.services[name];
  assert.ok(s, `docker-compose.yml has no service '${name}'`);
  return s;
};
/** Our containers and the config role each one loads. */
const APP_SERVICES: readonly [string, Role][] = [
  ['consumer', 'consumer'],
  ['producer', 'producer'],
  ['topic-init', 'producer'],
];
const asList = (v: string | readonly string[] | undefined): string[] =>
  v === undefined ? [] : typeof v === 'string' ? [v] : [...v];
const hostPort = (url: string): string => new URL(url).host;

describe('required deployment env (derived from src/config/settings.ts)', () => {
  it('when the settings are read, then the broker list and the registry URL must be set by every deployment', () => {
    for (const role of ['consumer', 'producer'] as const) {
      const names = requiredDeploymentEnvNames(role);
      assert.ok(names.includes('KAFKA_BROKERS'), `${role}: ${names.join(', ')}`);
      assert.ok(names.includes('SCHEMA_REGISTRY_URL'), `${role}: ${names.join(', ')}`);
    }
    assert.ok(requiredDeploymentEnv('consumer').every((r) => r.reason === 'loopback-default'));
  });

  it('when a default names a loopback host, then it counts as one a deployment must override', () => {
    assert.equal(pointsAtLoopback(['127.0.0.1:9092']), true);
    assert.equal(pointsAtLoopback('http://localhost:8081'), true);
    assert.equal(pointsAtLoopback('http://[::1]:8081/apis'), true);
    assert.equal(pointsAtLoopback(['kafka:29092']), false);
    assert.equal(pointsAtLoopback('http://schema-registry:8081'), false);
    assert.equal(pointsAtLoopback('0.0.0.0'), false);
    assert.equal(pointsAtLoopback(3), false);
  });
});

describe('docker-compose.yml environment', () => {
  for (const [name, role] of APP_SERVICES) {
    it(`when compose starts ${name}, then every required variable is set to a non-loopback value`, () => {
      const env = serviceEnvironment(service(name));
      for (const required of requiredDeploymentEnvNames(role)) {
        const value = env[required];
        assert.ok(value, `${name}: ${required} is not set`);
        assert.equal(
          pointsAtLoopback(value),
          false,
          `${name}: ${required}=${value} points at the container itself`,
        );
      }
    });

    it(`when the app loads ${name}'s environment, then the config is valid`, () => {
      assert.doesNotThrow(() => loadConfig(role, serviceEnvironment(service(name))));
    });

    it(`when ${name} sets a variable, then it is one the app reads (no typos)`, () => {
      const known = knownEnvNames();
      for (const key of Object.keys(serviceEnvironment(service(name)))) {
        assert.ok(known.has(key), `${name}: ${key} is not in src/config/settings.ts`);
      }
    });
  }

  it('when a shell exports an override, then compose interpolation applies it, else the default', () => {
    assert.equal(interpolate('${LOG_LEVEL:-info}'), 'info');
    assert.equal(interpolate('${LOG_LEVEL:-info}', { LOG_LEVEL: 'debug' }), 'debug');
    assert.equal(interpolate('${LOG_LEVEL:-info}', { LOG_LEVEL: '' }), 'info');
    assert.equal(interpolate('${LOG_LEVEL-info}', { LOG_LEVEL: '' }), '');
    assert.equal(interpolate('a$$b'), 'a$b');
    assert.throws(() => interpolate('${TOKEN:?set TOKEN}'), /set TOKEN/);
    const consumerWithOverride = serviceEnvironment(service('consumer'), { SIMULATED_FAILURE_RATE: '0' });
    assert.equal(loadConfig('consumer', consumerWithOverride).simulatedFailureRate, 0);
  });

  it('when the app containers resolve the brokers, then they use the internal listener of the kafka service', () => {
    const advertised = serviceEnvironment(service('kafka')).KAFKA_ADVERTISED_LISTENERS ?? '';
    const internal = advertised
      .split(',')
      .map((l) => l.replace(/^[A-Z_]+:\/\//, ''))
      .filter((hp) => hp.startsWith('kafka:'));
    assert.ok(internal.length > 0, `no kafka:PORT listener in ${advertised}`);
    for (const [name, role] of APP_SERVICES) {
      const { brokers } = loadConfig(role, serviceEnvironment(service(name)));
      for (const broker of brokers)
        assert.ok(internal.includes(broker), `${name}: ${broker} is not in ${advertised}`);
    }
  });

  it('when the app containers resolve the registry, then they reach the schema-registry service on its listener', () => {
    const registry = serviceEnvironment(service('schema-registry'));
    const listenerPort = new URL(registry.SCHEMA_REGISTRY_LISTENERS ?? '').port;
    for (const [name, role] of APP_SERVICES) {
      const { schemaRegistryUrl } = loadConfig(role, serviceEnvironment(service(name)));
      assert.equal(hostPort(schemaRegistryUrl), `schema-registry:${listenerPort}`, name);
    }
  });

  it('when topic-init runs, then it uses the same topic names as the consumer and the producer', () => {
    const topicsOf = (name: string, role: Role) => {
      const c = loadConfig(role, serviceEnvironment(service(name)));
      return [c.ordersTopic, c.dlqTopic];
    };
    assert.deepEqual(topicsOf('topic-init', 'producer'), topicsOf('consumer', 'consumer'));
    assert.deepEqual(topicsOf('producer', 'producer'), topicsOf('consumer', 'consumer'));
  });
});

describe('docker-compose.yml services', () => {
  it('when the consumer is scaled to 3, then nothing pins it to one container', () => {
    const consumer = service('consumer');
    assert.equal(consumer.container_name, undefined);
    assert.equal(consumer.ports, undefined, 'a fixed host port would stop --scale consumer=3');
  });

  it('when compose probes the consumer, then it asks /readyz on the port the consumer listens on', () => {
    const consumer = service('consumer');
    const { httpPort } = loadConfig('consumer', serviceEnvironment(consumer));
    const probe = asList(consumer.healthcheck?.test).join(' ');
    assert.match(probe, new RegExp(`:${httpPort}/readyz`));
    assert.ok((consumer.expose ?? []).map(String).includes(String(httpPort)));
  });

  for (const role of ['consumer', 'producer'] as const) {
    it(`when Prometheus discovers ${role}s, then its ${role} job resolves the service name on the metrics port`, () => {
      const s = service(role);
      const { httpPort } = loadConfig(role, serviceEnvironment(s));
      assert.ok(
        httpPort && httpPort > 0,
        `${role}: HTTP_PORT must be fixed for Prometheus, got ${String(httpPort)}`,
      );
      assert.ok(
        (s.expose ?? []).map(String).includes(String(httpPort)),
        `${role} does not expose ${httpPort}`,
      );
      const config = parse(readFileSync('compose/prometheus/prometheus.yml', 'utf8')) as {
        scrape_configs: {
          job_name: string;
          dns_sd_configs?: { names: string[]; type: string; port: number }[];
        }[];
      };
      const dns = config.scrape_configs
        .filter((c) => c.job_name === role)
        .flatMap((c) => c.dns_sd_configs ?? []);
      assert.ok(
        dns.some((d) => d.names.includes(role) && d.type === 'A' && d.port === httpPort),
        JSON.stringify(dns),
      );
    });
  }

  it('when our containers run, then they are non-root with a read-only root filesystem and a tmpfs /tmp', () => {
    for (const [name] of APP_SERVICES) {
      const s = service(name);
      assert.equal(s.user, '10001:10001', name);
      assert.equal(s.read_only, true, name);
      assert.ok(asList(s.tmpfs).includes('/tmp'), name);
    }
  });

  it('when the producer is run with flags, then they replace only the default command', () => {
    const producer = service('producer');
    assert.equal(producer.entrypoint, undefined, 'the image ENTRYPOINT must take the flags');
    assert.deepEqual(asList(producer.command).slice(0, 2), ['--count', '20']);
  });

  it('when a service waits for another, then it waits for a health or completion condition', () => {
    for (const [name, s] of Object.entries(compose.services)) {
      const deps = s.depends_on;
      if (deps === undefined) continue;
      assert.ok(!Array.isArray(deps), `${name}: depends_on must name a condition for each dependency`);
      for (const [dep, spec] of Object.entries(deps as Record<string, { condition?: string }>)) {
        assert.ok(
          spec.condition === 'service_healthy' || spec.condition === 'service_completed_successfully',
          `${name} -> ${dep}: ${String(spec.condition)}`,
        );
        if (spec.condition === 'service_healthy')
          assert.ok(service(dep).healthcheck, `${dep} has no healthcheck`);
      }
    }
  });

  it('when Prometheus and Grafana start, then they mount the single-source rules and dashboard files', () => {
    const mounts = (name: string) =>
      (service(name).volumes ?? [])
        .filter((v): v is string => typeof v === 'string')
        .map((v) => v.split(':'));
    const mounted = [...mounts('prometheus'), ...mounts('grafana')];
    for (const [source, target] of mounted) {
      if (!source?.startsWith('./')) continue;
      assert.ok(existsSync(source), `${source} (mounted at ${String(target)}) does not exist`);
    }
    const sources = mounted.map(([s]) => s);
    assert.ok(sources.includes('./charts/kafka-order-system/files/prometheus-rules.yaml'));
    assert.ok(sources.includes('./charts/kafka-order-system/files/grafana-dashboard.json'));
    const home = serviceEnvironment(service('grafana')).GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH;
    assert.ok(
      mounted.some(
        ([s, t]) => t === home && s === './charts/kafka-order-system/files/grafana-dashboard.json',
      ),
      `home dashboard ${String(home)} is not the mounted single-source dashboard`,
    );
  });

  it('when compose and the Helm chart deploy the schema registry, then they pin the same image', () => {
    const values = parse(readFileSync('charts/kafka-order-system/values.yaml', 'utf8')) as {
      schemaRegistry: { image: { repository: string; tag: string } };
    };
    const { repository, tag } = values.schemaRegistry.image;
    assert.equal(service('schema-registry').image, `${repository}:${tag}`);
  });

  it('when data is kept, then it is in named volumes declared at the top level', () => {
    const declared = new Set(Object.keys(compose.volumes ?? {}));
    for (const [name, s] of Object.entries(compose.services)) {
      for (const v of s.volumes ?? []) {
        const source = typeof v === 'string' ? v.split(':')[0] : v.source;
        if (source === undefined || source.startsWith('.') || source.startsWith('/')) continue;
        assert.ok(declared.has(source), `${name}: volume ${source} is not declared`);
      }
    }
    assert.ok(declared.size >= 3);
  });
});
