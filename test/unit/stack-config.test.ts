import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import {
  NODE_ID,
  inspectStorage,
  newClusterId,
  parseProperties,
  renderLog4j2Properties,
  renderProperties,
  renderServerProperties,
} from '../../tools/stack/broker.js';
import { normalizePom, parsePomVersions, resolveStackConfig, stackPaths } from '../../tools/stack/config.js';
import { isCacheComplete } from '../../tools/stack/download.js';
import { externalParts } from '../../tools/stack/ensure.js';
import { StackError } from '../../tools/stack/errors.js';
import { createContext } from '../../tools/stack/lifecycle.js';
import { registryJvmArgs, registryUrl } from '../../tools/stack/registry.js';
import { aclEntries, consumerGrants, producerGrants } from '../../tools/stack/acls.js';

const REPO = '/repo';

describe('stack config', () => {
  it('when nothing is set, then the documented defaults apply under the repo root', () => {
    const config = resolveStackConfig({}, REPO);
    assert.equal(config.stateDir, '/repo/.stack');
    assert.equal(config.cacheDir, '/repo/.cache/stack');
    assert.deepEqual([config.kafkaPort, config.controllerPort, config.registryPort], [9092, 9093, 8081]);
    assert.equal(config.host, '127.0.0.1');
  });

  it('when the env sets a port and a relative state folder, then they apply, the folder under the repo root', () => {
    const config = resolveStackConfig({ STACK_KAFKA_PORT: '19092', STACK_DIR: 'a' }, REPO);
    assert.equal(config.kafkaPort, 19092);
    assert.equal(config.stateDir, '/repo/a');
  });

  it('when a port is not a number, then the error names the variable', () => {
    assert.throws(
      () => resolveStackConfig({ STACK_REGISTRY_PORT: '80a' }, REPO),
      (e: unknown) => e instanceof StackError && e.message.includes('STACK_REGISTRY_PORT'),
    );
  });

  it('when two ports are equal, then the config is rejected', () => {
    assert.throws(() => resolveStackConfig({ STACK_CONTROLLER_PORT: '9092' }, REPO), StackError);
  });

  it('when extra JVM options are given, then they are split on whitespace', () => {
    const config = resolveStackConfig({ STACK_REGISTRY_JAVA_OPTS: ' -Da=1   -Db=2 ' }, REPO);
    assert.deepEqual(config.registryJavaOpts, ['-Da=1', '-Db=2']);
  });
});

describe('pom versions', () => {
  it('when the pom pins versions as properties, then both are read', () => {
    const xml =
      '<properties><kafka.version>4.3.1</kafka.version>\n<apicurio.version> 3.3.3 </apicurio.version></properties>';
    assert.deepEqual(parsePomVersions(xml), { kafka: '4.3.1', apicurio: '3.3.3' });
  });

  it('when a version property is missing, then it says which', () => {
    assert.throws(() => parsePomVersions('<kafka.version>4</kafka.version>'), /apicurio\.version/);
  });
});

describe('broker properties', () => {
  const props = parseProperties(
    renderServerProperties({
      host: '127.0.0.1',
      kafkaPort: 19092,
      controllerPort: 19093,
      dataDir: '/s/kafka/data',
    }),
  );

  it('when rendered, then it is a combined broker and controller on loopback', () => {
    assert.equal(props.get('process.roles'), 'broker,controller');
    assert.equal(props.get('node.id'), String(NODE_ID));
    assert.equal(props.get('controller.quorum.voters'), '1@127.0.0.1:19093');
    assert.equal(props.get('listeners'), 'PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093');
    assert.equal(props.get('advertised.listeners'), 'PLAINTEXT://127.0.0.1:19092');
    assert.equal(props.get('log.dirs'), '/s/kafka/data');
  });

  it('when rendered, then the single-node settings the issue lists are there', () => {
    assert.equal(props.get('offsets.topic.replication.factor'), '1');
    assert.equal(props.get('transaction.state.log.replication.factor'), '1');
    assert.equal(props.get('transaction.state.log.min.isr'), '1');
    assert.equal(props.get('auto.create.topics.enable'), 'false');
    assert.equal(props.get('group.initial.rebalance.delay.ms'), '0');
  });

  it('when the log4j config is rendered, then the root logger writes only to the rolling file', () => {
    const log4j = parseProperties(renderLog4j2Properties('/s/logs/broker.log'));
    assert.equal(log4j.get('appender.file.fileName'), '/s/logs/broker.log');
    assert.equal(log4j.get('rootLogger.appenderRef.file.ref'), 'file');
    assert.ok(![...log4j.keys()].some((k) => k.includes('console') || k.includes('stdout')));
  });

  it('when a value holds a backslash, then it survives a render and parse round trip as Java reads it', () => {
    assert.equal(renderProperties({ a: 'C:\\x' }), 'a=C:\\\\x\n');
  });

  it('when a properties line is not key=value, then parsing fails', () => {
    assert.throws(() => parseProperties('\u0000garbage'), /not a property line/);
  });
});

describe('cluster id', () => {
  it('when generated, then it is 22 base64url characters like Kafka Uuid', () => {
    const id = newClusterId();
    assert.match(id, /^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
  });

  it('when the random bytes would start the id with a dash, then it draws again', () => {
    const draws = [Buffer.alloc(16, 0xf8), Buffer.alloc(16, 1)];
    const id = newClusterId(() => draws.shift() ?? Buffer.alloc(16, 2));
    assert.ok(!id.startsWith('-'));
    assert.equal(draws.length, 0);
  });
});

describe('storage inspection', () => {
  function withState(fn: (stateDir: string) => void): void {
    const dir = mkdtempSync(path.join(tmpdir(), 'stack-unit-'));
    try {
      fn(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const pathsFor = (stateDir: string) =>
    stackPaths(resolveStackConfig({ STACK_DIR: stateDir }, REPO), { kafka: '4.3.1', apicurio: '3.3.3' });

  it('when the data folder does not exist, then it needs formatting', () => {
    withState((dir) => {
      assert.deepEqual(inspectStorage(pathsFor(dir)), { formatted: false });
    });
  });

  it('when meta.properties names node 1 and a cluster, then it is formatted', () => {
    withState((dir) => {
      const paths = pathsFor(dir);
      mkdirSync(paths.kafkaDataDir, { recursive: true });
      writeFileSync(
        path.join(paths.kafkaDataDir, 'meta.properties'),
        '#\nnode.id=1\ncluster.id=abc\nversion=1\n',
      );
      assert.deepEqual(inspectStorage(paths), { formatted: true });
    });
  });

  for (const [what, setup] of [
    [
      'meta.properties is garbage',
      (d: string) => writeFileSync(path.join(d, 'meta.properties'), '\u0000\u0001x'),
    ],
    [
      'meta.properties names another node',
      (d: string) => writeFileSync(path.join(d, 'meta.properties'), 'node.id=2\ncluster.id=a\n'),
    ],
    ['data exists without meta.properties', (d: string) => mkdirSync(path.join(d, 'orders-0'))],
  ] as const) {
    it(`when ${what}, then it is reported as corrupt with exit code 4 and the wipe command`, () => {
      withState((dir) => {
        const paths = pathsFor(dir);
        mkdirSync(paths.kafkaDataDir, { recursive: true });
        setup(paths.kafkaDataDir);
        assert.throws(
          () => inspectStorage(paths),
          (e: unknown) => e instanceof StackError && e.exitCode === 4 && (e.hint ?? '').includes('--wipe'),
        );
      });
    });
  }

  it('when the state path is a file, then it is rejected', () => {
    withState((dir) => {
      const file = path.join(dir, 'state');
      writeFileSync(file, 'x');
      assert.throws(() => inspectStorage(pathsFor(file)), /not a folder/);
    });
  });
});

describe('registry arguments', () => {
  const config = resolveStackConfig(
    { STACK_REGISTRY_PORT: '18081', STACK_REGISTRY_JAVA_OPTS: '-Dx=y' },
    REPO,
  );
  const paths = stackPaths(config, { kafka: '4.3.1', apicurio: '3.3.3' });
  const args = registryJvmArgs(config, paths, { major: 25, version: '25.0.3' });

  it('when built, then every listener is on loopback and storage is a file under the state folder', () => {
    assert.ok(args.includes('-Dquarkus.http.host=127.0.0.1'));
    assert.ok(args.includes('-Dquarkus.http.port=18081'));
    assert.ok(args.includes('-Dquarkus.management.host=127.0.0.1'));
    assert.ok(args.includes('-Dapicurio.datasource.url=jdbc:h2:file:/repo/.stack/registry/db'));
    assert.ok(!args.some((a) => a.includes('0.0.0.0')));
  });

  it('when extra options are given, then they come after ours so they win, and -jar comes last', () => {
    assert.ok(args.indexOf('-Dx=y') > args.indexOf('-Dquarkus.http.port=18081'));
    assert.deepEqual(args.slice(-2), ['-jar', '/repo/.cache/stack/apicurio-3.3.3/quarkus-run.jar']);
  });

  it('when asked for the URL, then it is the Confluent-compatible API path', () => {
    assert.equal(registryUrl(config), 'http://127.0.0.1:18081/apis/ccompat/v7');
  });
});

describe('external cluster detection', () => {
  const ctx = (env: Record<string, string>) => createContext({ env, log: () => undefined });

  it('when neither KAFKA_BROKERS nor SCHEMA_REGISTRY_URL is set, then nothing is external', () => {
    assert.deepEqual(externalParts(ctx({})), { broker: false, registry: false });
  });

  it('when they name the local stack itself (also as localhost), then nothing is external', () => {
    const env = {
      KAFKA_BROKERS: 'localhost:19092',
      SCHEMA_REGISTRY_URL: 'http://127.0.0.1:18081/apis/ccompat/v7/',
      STACK_KAFKA_PORT: '19092',
      STACK_REGISTRY_PORT: '18081',
    };
    assert.deepEqual(externalParts(ctx(env)), { broker: false, registry: false });
  });

  it('when KAFKA_BROKERS names other brokers, then only the broker is external', () => {
    assert.deepEqual(externalParts(ctx({ KAFKA_BROKERS: 'kafka-0:9092,kafka-1:9092' })), {
      broker: true,
      registry: false,
    });
  });

  it('when SCHEMA_REGISTRY_URL names another registry, then only the registry is external', () => {
    assert.deepEqual(externalParts(ctx({ SCHEMA_REGISTRY_URL: 'http://registry:8081' })), {
      broker: false,
      registry: true,
    });
  });
});

describe('pom normalization', () => {
  it('when only a comment or indentation changes, then the cache key stays the same', () => {
    const a = '<project>\n  <!-- pinned -->\n  <kafka.version>4.3.1</kafka.version>\n</project>';
    const b = '<project>\n<!-- reworded\n comment -->\n<kafka.version>4.3.1</kafka.version>\n</project>\n';
    assert.equal(normalizePom(a), normalizePom(b));
  });

  it('when a version changes, then the cache key changes', () => {
    assert.notEqual(normalizePom('<v>4.3.1</v>'), normalizePom('<v>4.3.2</v>'));
  });
});

describe('download cache', () => {
  const versions = { kafka: '4.3.1', apicurio: '3.3.3', pomSha256: 'abc' };
  function filledCache(fn: (paths: ReturnType<typeof stackPaths>) => void): void {
    const dir = mkdtempSync(path.join(tmpdir(), 'stack-cache-'));
    try {
      const paths = stackPaths(resolveStackConfig({ STACK_CACHE_DIR: dir }, REPO), versions);
      mkdirSync(paths.kafkaLibsDir, { recursive: true });
      mkdirSync(paths.apicurioDir, { recursive: true });
      writeFileSync(path.join(paths.kafkaLibsDir, 'kafka_2.13-4.3.1.jar'), '');
      writeFileSync(path.join(paths.kafkaLibsDir, 'kafka-clients-4.3.1.jar'), '');
      writeFileSync(paths.apicurioJar, '');
      writeFileSync(paths.manifestFile, JSON.stringify({ pomSha256: 'abc', kafkaJars: 2 }));
      fn(paths);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it('when the manifest matches the pom and every jar is there, then Maven is skipped', () => {
    filledCache((paths) => {
      assert.equal(isCacheComplete(paths, versions), true);
    });
  });

  it('when the pom changed since the download, then the cache is incomplete', () => {
    filledCache((paths) => {
      assert.equal(isCacheComplete(paths, { ...versions, pomSha256: 'def' }), false);
    });
  });

  it('when a jar was deleted, then the cache is incomplete', () => {
    filledCache((paths) => {
      rmSync(path.join(paths.kafkaLibsDir, 'kafka-clients-4.3.1.jar'));
      assert.equal(isCacheComplete(paths, versions), false);
    });
  });
});

describe('the secured listener', () => {
  it('when rendered with a secure port, then SASL_SSL (SCRAM-SHA-512, PEM keystore) sits beside PLAINTEXT', () => {
    const props = parseProperties(
      renderServerProperties({
        host: '127.0.0.1',
        kafkaPort: 19092,
        controllerPort: 19093,
        dataDir: '/s/kafka/data',
        secure: { port: 19094, keystore: '/s/secure/broker-keystore.pem' },
      }),
    );
    assert.equal(
      props.get('listeners'),
      'PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093,SASL_SSL://127.0.0.1:19094',
    );
    assert.equal(props.get('advertised.listeners'), 'PLAINTEXT://127.0.0.1:19092,SASL_SSL://127.0.0.1:19094');
    assert.equal(
      props.get('listener.security.protocol.map'),
      'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SASL_SSL:SASL_SSL',
    );
    assert.equal(props.get('sasl.enabled.mechanisms'), 'SCRAM-SHA-512');
    assert.equal(props.get('listener.name.sasl_ssl.ssl.keystore.type'), 'PEM');
    assert.equal(props.get('listener.name.sasl_ssl.ssl.keystore.location'), '/s/secure/broker-keystore.pem');
    assert.equal(props.get('inter.broker.listener.name'), 'PLAINTEXT');
  });

  it('when only the plain ports move, then the secured ports move with them; explicit ones win; all must differ', () => {
    const moved = resolveStackConfig({ STACK_KAFKA_PORT: '19092', STACK_REGISTRY_PORT: '18081' }, REPO);
    assert.deepEqual([moved.kafkaSecurePort, moved.registryTlsPort], [19094, 18082]);
    const defaults = resolveStackConfig({}, REPO);
    assert.deepEqual([defaults.kafkaSecurePort, defaults.registryTlsPort], [9094, 8082]);
    const explicit = resolveStackConfig(
      { STACK_KAFKA_SECURE_PORT: '29094', STACK_REGISTRY_TLS_PORT: '28443' },
      REPO,
    );
    assert.deepEqual([explicit.kafkaSecurePort, explicit.registryTlsPort], [29094, 28443]);
    assert.throws(() => resolveStackConfig({ STACK_KAFKA_SECURE_PORT: '8081' }, REPO), /must differ/);
  });
});

describe('least-privilege ACLs', () => {
  it('when the producer is granted, then it may write and describe its topic and nothing else', () => {
    assert.deepEqual(producerGrants({ ordersTopic: 'orders' }), [
      { resource: 'TOPIC', name: 'orders', operations: ['WRITE', 'DESCRIBE'] },
    ]);
  });

  it('when the consumer is granted, then it gets no write on orders, no cluster operation and no wildcard', () => {
    const grants = consumerGrants({
      ordersTopic: 'orders',
      dlqTopic: 'orders-dlq',
      statsTopic: 'order-stats',
      groupId: 'g',
    });
    assert.ok(
      !grants.some((g) => g.resource === 'CLUSTER' || g.name === '*' || g.operations.includes('ALL')),
    );
    assert.deepEqual(grants.find((g) => g.name === 'orders')?.operations, ['READ', 'DESCRIBE']);
    assert.ok(
      grants.filter((g) => g.prefixed).every((g) => g.name === 'g-stats-reader-' || g.name === 'g-orders-'),
    );
    const entries = aclEntries('User:kos-consumer', grants);
    assert.equal(
      entries.length,
      grants.reduce((n, g) => n + g.operations.length, 0),
    );
    assert.ok(entries.every((e) => e.principal === 'User:kos-consumer' && e.host === '*'));
  });
});
