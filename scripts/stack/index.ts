/**
 * The local stack as a library, for tests that need to restart the broker or
 * stop the registry mid-run. Each call reads its settings from the env (the
 * same STACK_* variables as the CLI) unless given `env`/`flags`, and is quiet
 * unless given `log`.
 */
import type { Component } from './paths.js';
import {
  brokerAddress,
  createContext,
  down,
  restartBroker as restartBrokerIn,
  startBrokerIn,
  startRegistryIn,
  status,
  stopComponent,
  up,
  type ContextOptions,
  type DownResult,
  type StackStatus,
  type StopOptions,
  type StopOutcome,
  type UpResult,
} from './lifecycle.js';
import { ensure } from './ensure.js';
import { registryUrl } from './registry.js';

export { StackError, StackInterrupted } from './errors.js';
export type {
  ComponentStatus,
  ContextOptions,
  DownResult,
  StackStatus,
  StopOptions,
  StopOutcome,
  UpResult,
} from './lifecycle.js';
export type { Component } from './paths.js';

export interface ApiOptions extends ContextOptions {
  readonly signal?: AbortSignal;
}

function context(options: ApiOptions) {
  return createContext({ log: () => undefined, ...options });
}

/** Starts the local stack unless it already runs (or the env names an external one), then creates the topics. */
export async function ensureStack(
  options: ApiOptions = {},
): Promise<{ external: Component[]; foreign: Component[] }> {
  return ensure(context(options), options.signal);
}

/** `npm run stack:up` as a call. */
export function upStack(options: ApiOptions = {}): Promise<UpResult> {
  return up(context(options), options.signal);
}

/** `npm run stack:down` as a call; `wipe` also deletes the data. */
export function downStack(options: ApiOptions & { readonly wipe?: boolean } = {}): Promise<DownResult> {
  return down(context(options), options);
}

export function stackStatus(options: ApiOptions = {}): Promise<StackStatus> {
  return status(context(options));
}

/** Stops the broker: SIGTERM then SIGKILL after the stop timeout, or SIGKILL at once with `hard` (a crash). */
export function stopBroker(options: ApiOptions & StopOptions = {}): Promise<StopOutcome> {
  return stopComponent(context(options), 'broker', options);
}

/** Starts the broker (no-op when it runs) and resolves once it answers metadata requests. */
export function startBroker(options: ApiOptions = {}): Promise<UpResult> {
  return startBrokerIn(context(options), options.signal);
}

export function restartBroker(options: ApiOptions = {}): Promise<UpResult> {
  return restartBrokerIn(context(options), options.signal);
}

export function stopRegistry(options: ApiOptions & StopOptions = {}): Promise<StopOutcome> {
  return stopComponent(context(options), 'registry', options);
}

/** Starts the registry (no-op when it runs) and resolves once GET /subjects answers. */
export function startRegistry(options: ApiOptions = {}): Promise<UpResult> {
  return startRegistryIn(context(options), options.signal);
}

/** Where the local stack listens, for clients in tests. */
export function localEndpoints(options: ContextOptions = {}): { brokers: string; registryUrl: string } {
  const { config } = createContext(options);
  return { brokers: brokerAddress(config), registryUrl: registryUrl(config) };
}
