import { loadConfig } from '../../src/config/load.js';
import { StackError } from './errors.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { brokerAddress, startBrokerIn, startRegistryIn, up, type StackContext } from './lifecycle.js';
import type { Component } from './paths.js';
import { componentState } from './process-control.js';
import { probeBroker, probeRegistry, waitUntilReady } from './readiness.js';
import { registryUrl } from './registry.js';
import { ensureAppTopics } from './topics.js';

function sameHostPort(a: string, b: string): boolean {
  const norm = (s: string) => s.trim().replace(/^localhost:/, '127.0.0.1:');
  return norm(a) === norm(b);
}

function sameUrl(a: string, b: string): boolean {
  const norm = (s: string) => s.trim().replace(/\/+$/, '').replace('://localhost:', '://127.0.0.1:');
  return norm(a) === norm(b);
}

/**
 * Which parts the environment points elsewhere. Only an explicitly set
 * KAFKA_BROKERS / SCHEMA_REGISTRY_URL that differs from the local stack's own
 * address counts as external.
 */
export function externalParts(ctx: StackContext): { broker: boolean; registry: boolean } {
  const brokers = ctx.env['KAFKA_BROKERS']?.trim();
  const registry = ctx.env['SCHEMA_REGISTRY_URL']?.trim();
  const local = brokerAddress(ctx.config);
  return {
    broker: Boolean(brokers) && !(brokers ?? '').split(',').every((b) => sameHostPort(b, local)),
    registry: Boolean(registry) && !sameUrl(registry ?? '', registryUrl(ctx.config)),
  };
}

/** A part that answers on the local stack's address but was not started by this stack (pid files). */
async function answersWithoutUs(ctx: StackContext, component: Component): Promise<boolean> {
  if (componentState(ctx.paths, component).state === 'running') return false;
  const probe =
    component === 'broker'
      ? await probeBroker([brokerAddress(ctx.config)])
      : await probeRegistry(registryUrl(ctx.config));
  return probe.ok;
}

/**
 * What `npm run test:integration` runs first: use an external cluster or
 * registry when the env names one (wait for it and create the topics), use a
 * broker or registry that already answers on the local addresses (say, a
 * `docker compose up` stack), and start the local stack for the rest.
 */
export async function ensure(
  ctx: StackContext,
  signal?: AbortSignal,
): Promise<{ external: Component[]; foreign: Component[] }> {
  const external = externalParts(ctx);
  const foreign: Component[] = [];
  for (const component of ['broker', 'registry'] as const) {
    if (!external[component] && (await answersWithoutUs(ctx, component))) {
      foreign.push(component);
      ctx.log(`${component}: something not started by this stack already answers on its address; using it`);
    }
  }
  const local = (['broker', 'registry'] as const).filter((c) => !external[c] && !foreign.includes(c));
  if (local.length === 2) await up(ctx, signal);
  else if (local.includes('broker')) await startBrokerIn(ctx, signal);
  else if (local.includes('registry')) await startRegistryIn(ctx, signal);

  const config = loadConfig('producer', ctx.env);
  if (external.registry) {
    const auth =
      config.schemaRegistryUsername && config.schemaRegistryPassword
        ? { username: config.schemaRegistryUsername, password: config.schemaRegistryPassword }
        : undefined;
    ctx.log(`waiting for the external registry ${config.schemaRegistryUrl}`);
    const outcome = await waitUntilReady(() => probeRegistry(config.schemaRegistryUrl, 3000, auth), {
      what: 'registry',
      timeoutMs: ctx.config.readyTimeoutMs,
      ...(signal ? { signal } : {}),
    });
    if (!outcome.ready) {
      throw new StackError(
        `the registry at SCHEMA_REGISTRY_URL=${config.schemaRegistryUrl} did not answer GET /subjects (${outcome.lastReason})`,
        'Unset SCHEMA_REGISTRY_URL to use the local stack.',
        5,
      );
    }
  }
  if (external.broker || foreign.includes('broker')) {
    const env = external.broker ? ctx.env : { ...ctx.env, KAFKA_BROKERS: brokerAddress(ctx.config) };
    const brokers = env['KAFKA_BROKERS'] ?? '';
    ctx.log(`creating the topics on ${brokers}`);
    const deadline = Date.now() + ctx.config.readyTimeoutMs;
    for (;;) {
      try {
        for (const line of (await ensureAppTopics(env)).lines) ctx.log(`topic ${line}`);
        break;
      } catch (error) {
        if (Date.now() > deadline || signal?.aborted) {
          throw new StackError(
            `the brokers at ${brokers} are not usable: ${(error as Error).message}`,
            external.broker ? 'Unset KAFKA_BROKERS to use the local stack.' : undefined,
            5,
          );
        }
        await sleep(1000);
      }
    }
  }
  return { external: (['broker', 'registry'] as const).filter((c) => external[c]), foreign };
}
