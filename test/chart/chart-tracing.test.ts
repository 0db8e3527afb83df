import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { tracesEndpoint } from '../../src/adapters/tracing/index.js';
import { loadConfig, type Role } from '../../src/config/load.js';
import { findObject, helmTemplate, renderChart, type RenderOptions } from '../helpers/helm.js';

interface EnvVar {
  readonly name: string;
  readonly value?: string;
}

const APPS = [
  { role: 'consumer', kind: 'Deployment', suffix: '-consumer', container: 'consumer' },
  { role: 'producer', kind: 'Job', suffix: '-producer-1', container: 'producer' },
] as const;

/** The values of an app container's env; one from a Secret (the SASL password) as a placeholder. */
function appEnv(render: RenderOptions, app: (typeof APPS)[number]): Record<string, string> {
  const object = findObject(renderChart(render), app.kind, app.suffix);
  const spec = object.body.spec as {
    template: { spec: { containers: { name: string; env?: EnvVar[] }[] } };
  };
  const env = spec.template.spec.containers.find((c) => c.name === app.container)?.env ?? [];
  return Object.fromEntries(env.map((e) => [e.name, e.value ?? 'from-a-secret']));
}

const configOf = (role: Role, env: Record<string, string>) => loadConfig(role, env);

describe('chart: OpenTelemetry tracing (app.otlp)', () => {
  test('when rendered with the default values, then no app process traces', () => {
    for (const app of APPS) {
      const env = appEnv({}, app);
      assert.equal(env['OTEL_EXPORTER_OTLP_ENDPOINT'], undefined);
      assert.equal(tracesEndpoint(configOf(app.role, env)), undefined, `${app.role} traces`);
    }
  });

  test('when app.otlp.endpoint and a sampler are set, then every app process posts its spans there with that sampler', () => {
    const render = {
      set: {
        'app.otlp': {
          endpoint: 'http://otel-collector.observability:4318',
          sampler: 'parentbased_traceidratio',
          samplerRatio: 0.25,
        },
        'networkPolicy.allowEndpointPorts': true,
      },
    };
    for (const app of APPS) {
      const config = configOf(app.role, appEnv(render, app));
      assert.equal(tracesEndpoint(config), 'http://otel-collector.observability:4318/v1/traces');
      assert.equal(config.otelSampler, 'parentbased_traceidratio');
      assert.equal(config.otelSamplerArg, 0.25);
    }
  });

  test('when app.otlp.endpoint is not a URL, then the chart refuses it', () => {
    const result = helmTemplate({ set: { 'app.otlp': { endpoint: 'otel-collector:4318' } } });
    assert.equal(result.ok, false);
    assert.match(result.stderr, /endpoint/);
  });
});
