import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig } from '../../src/config/load.js';
import type { Component } from './config.js';
import { StackError } from './errors.js';
import { brokerAddress, probe, runningPid, startComponents, type StackContext } from './lifecycle.js';
import { probeRegistry, waitUntilReady } from './readiness.js';
import { registryUrl } from './registry.js';
import { ensureAppTopics } from './topics.js';

/** Which parts the env points elsewhere: an explicit KAFKA_BROKERS / SCHEMA_REGISTRY_URL other than the stack's own address. */
export function externalParts(ctx: StackContext): { broker: boolean; registry: boolean } {
  const local = (s: string) => s.trim().replace(/\/+$/, '').replace('localhost:', '127.0.0.1:');
  const brokers = ctx.env['KAFKA_BROKERS']?.trim() ?? '';
  const registry = ctx.env['SCHEMA_REGISTRY_URL']?.trim() ?? '';
  return {
    broker: brokers !== '' && !brokers.split(',').every((b) => local(b) === brokerAddress(ctx.config)),
    registry: registry !== '' && local(registry) !== registryUrl(ctx.config),
  };
}

/**
 * What `npm run test:integration` and the demo run first: use an external broker or registry when the
 * env names one (wait for it, create the topics there), use one that already answers on the local
 * address without being ours (say, `docker compose up`), and start the local stack for the rest.
 */
export async function ensure(
  ctx: StackContext,
  signal?: AbortSignal,
): Promise<{ external: Component[]; foreign: Component[] }> {
  const isExternal = externalParts(ctx);
  const external = (['broker', 'registry'] as const).filter((c) => isExternal[c]);
  const foreign: Component[] = [];
  for (const c of (['broker', 'registry'] as const).filter((c) => !isExternal[c])) {
    if (runningPid(ctx, c) === undefined && (await probe(ctx, c)).ok) foreign.push(c);
  }
  const local: Component[] = (['broker', 'registry'] as const).filter(
    (c) => !isExternal[c] && !foreign.includes(c),
  );
  // The HTTPS + basic-auth front of a local registry (ours or one already answering locally).
  if (!isExternal.registry) local.push('registry-proxy');
  await startComponents(ctx, local, signal);

  const config = loadConfig('producer', ctx.env);
  if (isExternal.registry) {
    const { schemaRegistryUsername: username, schemaRegistryPassword: password } = config;
    ctx.log(`waiting for the external registry ${config.schemaRegistryUrl}`);
    const outcome = await waitUntilReady(
      () =>
        probeRegistry(
          config.schemaRegistryUrl,
          3000,
          username && password ? { username, password } : undefined,
        ),
      { timeoutMs: ctx.config.readyTimeoutMs, ...(signal ? { signal } : {}) },
    );
    if (!outcome.ready) {
      throw new StackError(
        `the registry at SCHEMA_REGISTRY_URL=${config.schemaRegistryUrl} did not answer GET /subjects (${outcome.lastReason})`,
        'Unset SCHEMA_REGISTRY_URL to use the local stack.',
        5,
      );
    }
  }
  if (!local.includes('broker')) {
    const env = isExternal.broker ? ctx.env : { ...ctx.env, KAFKA_BROKERS: brokerAddress(ctx.config) };
    const deadline = Date.now() + ctx.config.readyTimeoutMs;
    ctx.log(`creating the topics on ${env['KAFKA_BROKERS'] ?? ''}`);
    for (;;) {
      try {
        for (const line of (await ensureAppTopics(env)).lines) ctx.log(`topic ${line}`);
        break;
      } catch (error) {
        if (Date.now() > deadline || signal?.aborted) {
          throw new StackError(
            `the brokers at ${env['KAFKA_BROKERS'] ?? ''} are not usable: ${(error as Error).message}`,
            undefined,
            5,
          );
        }
        await sleep(1000);
      }
    }
  }
  return { external, foreign };
}
