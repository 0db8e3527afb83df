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
import { secureBrokerAddress, secureEnv, secureRegistryUrl } from './secure-setup.js';
import { ensureCredentials, securePaths, type SecureCredentials, type SecureRole } from './secure.js';

export { StackError, StackInterrupted } from './errors.js';
export type { Component } from './config.js';
export type { SecureCredentials, SecureRole } from './secure.js';
export { consumerGrants, producerGrants, grant, revoke, type Grant } from './acls.js';
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

/** The secured side of the local stack, for tests: where it listens, its CA, and each principal's client settings. */
export interface SecuredStack {
  /** The SASL_SSL (SCRAM-SHA-512) listener. */
  readonly brokers: string;
  /** The registry behind HTTPS and basic auth. */
  readonly registryUrl: string;
  /** The CA that signed the broker's and the registry's certificates. */
  readonly caFile: string;
  /** A client certificate and key signed by that CA. */
  readonly clientCertFile: string;
  readonly clientKeyFile: string;
  /** The broker's log, where it records each failed authentication. */
  readonly brokerLog: string;
  /** Every log file of the stack (broker, registry, proxy, JVM consoles). */
  readonly logsDir: string;
  readonly credentials: SecureCredentials;
  /** The environment of a process running as `role` against the secured listener and registry (holds its password). */
  env(role: SecureRole): Record<string, string>;
}

export function securedStack(options: ApiOptions = {}): SecuredStack {
  const { config, paths } = createContext(options);
  const secure = securePaths(paths);
  return {
    brokers: secureBrokerAddress(config),
    registryUrl: secureRegistryUrl(config),
    caFile: secure.caCert,
    clientCertFile: secure.clientCert,
    clientKeyFile: secure.clientKey,
    brokerLog: paths.logFile('broker'),
    logsDir: paths.logsDir,
    credentials: ensureCredentials(secure),
    env: (role) => secureEnv(config, paths, role),
  };
}
