import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { interpolate, loadComposeFile, serviceEnvironment } from '../../scripts/image/compose-file.js';

const compose = loadComposeFile('docker-compose.yml');

describe('compose security', () => {
  it('when compose publishes a port, then it binds 127.0.0.1 unless COMPOSE_BIND_ADDRESS says otherwise', () => {
    const published = Object.entries(compose.services).flatMap(([name, s]) =>
      (s.ports ?? []).map((p) => ({ name, port: String(p) })),
    );
    assert.ok(
      published.length >= 5,
      'kafka, registry, Prometheus, Grafana and the Pushgateway publish a port',
    );
    for (const { name, port } of published) {
      assert.match(interpolate(port), /^127\.0\.0\.1:\d+:\d+$/, `${name} publishes ${port}`);
      assert.match(interpolate(port, { COMPOSE_BIND_ADDRESS: '0.0.0.0' }), /^0\.0\.0\.0:/);
    }
  });

  it('when Grafana starts, then its admin password comes from a generated file, never a default', () => {
    const grafana = compose.services['grafana'];
    assert.ok(grafana);
    const env = serviceEnvironment(grafana);
    assert.equal(env['GF_SECURITY_ADMIN_PASSWORD'], undefined, 'no password in the environment');
    assert.equal(env['GF_SECURITY_ADMIN_PASSWORD__FILE'], '/run/grafana-secret/admin-password');
    const depends = grafana.depends_on as Record<string, { condition?: string }>;
    assert.equal(depends['grafana-password']?.condition, 'service_completed_successfully');
    const generator = compose.services['grafana-password'];
    assert.ok(generator);
    const script = (generator.command as readonly string[] | undefined)?.[0] ?? '';
    assert.match(script, /\/dev\/urandom/, 'the password is random unless GRAFANA_ADMIN_PASSWORD is given');
    assert.doesNotMatch(script, /echo "\$\$\(cat|cat "\$\$f"/, 'the script never prints the password');
  });
});
