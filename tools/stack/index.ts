/**
 * The local stack as a library, for tests that stop and start the broker or the registry mid-run. Each
 * call reads the same STACK_* variables as the CLI (from `env` when given) and prints nothing.
 */
import type { Component } from './config.js';
import { ensure } from './ensure.js';
import {
  brokerAddress,
  createContext,
  down,
  startComponents,
  status,
  stopComponent,
  up,
  type DownResult,
  type StackStatus,
  type StopOutcome,
  type UpResult,
} from './lifecycle.js';
import { registryUrl } from './registry.js';

export { StackError, StackInterrupted } from './errors.js';
export type { Component } from './config.js';
export type { ComponentStatus, DownResult, StackStatus, StopOutcome, UpResult } from './lifecycle.js';

export interface ApiOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly signal?: AbortSignal;
}

const context = (options: ApiOptions) => createContext({ log: () => undefined, ...options });

/** Uses an external or already-answering broker and registry, starts the local stack for the rest, creates the topics. */
export function ensureStack(
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
  return down(context(options), options.wipe);
}

export function stackStatus(options: ApiOptions = {}): Promise<StackStatus> {
  return status(context(options));
}

/** Stops the broker: SIGTERM then SIGKILL after the stop timeout, or SIGKILL at once with `hard` (a crash). */
export function stopBroker(options: ApiOptions & { readonly hard?: boolean } = {}): Promise<StopOutcome> {
  return stopComponent(context(options), 'broker', options.hard);
}

/** Starts the broker (no-op when it runs) and resolves once it answers metadata requests. */
export function startBroker(options: ApiOptions = {}): Promise<UpResult> {
  return startComponents(context(options), ['broker'], options.signal);
}

export function stopRegistry(options: ApiOptions & { readonly hard?: boolean } = {}): Promise<StopOutcome> {
  return stopComponent(context(options), 'registry', options.hard);
}

/** Starts the registry (no-op when it runs) and resolves once GET /subjects answers. */
export function startRegistry(options: ApiOptions = {}): Promise<UpResult> {
  return startComponents(context(options), ['registry'], options.signal);
}

/** Where the local stack listens, for clients in tests. */
export function localEndpoints(options: ApiOptions = {}): { brokers: string; registryUrl: string } {
  const { config } = createContext(options);
  return { brokers: brokerAddress(config), registryUrl: registryUrl(config) };
}
