import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import { parseManifests, type Manifest } from '../../scripts/validate-manifests.js';

export const REPO_ROOT = resolve(import.meta.dirname, '../..');
export const CHART_DIR = join(REPO_ROOT, 'charts/kafka-order-system');
/** The Kubernetes version the chart is rendered for (a source-built helm defaults to an old one). */
export const KUBE_VERSION = '1.34.0';

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The helm binary: HELM_BIN, then .cache/bin/helm (what .ci/checks/60-helm.sh installs), then PATH. */
export function findHelm(): string | undefined {
  const candidates = [
    process.env.HELM_BIN,
    join(REPO_ROOT, '.cache/bin/helm'),
    ...(process.env.PATH ?? '').split(delimiter).map((dir) => join(dir, 'helm')),
  ];
  return candidates.find((c): c is string => c !== undefined && c !== '' && executable(c));
}

/** For `test(name, { skip: HELM_SKIP }, ...)`: false when helm is present, else the reason. */
export const HELM_SKIP: string | false =
  findHelm() === undefined
    ? 'helm not found (run .ci/checks/60-helm.sh, which installs it into .cache/bin, or put helm on PATH)'
    : false;

export interface RenderOptions {
  /** Values as JSON, passed with --set-json key=value. */
  readonly set?: Readonly<Record<string, unknown>>;
  /** Values files, relative to the chart. */
  readonly valuesFiles?: readonly string[];
  readonly apiVersions?: readonly string[];
  readonly releaseName?: string;
}

export interface RenderResult {
  readonly ok: boolean;
  readonly stdout: string;
  readonly stderr: string;
}

export function helmTemplate(options: RenderOptions = {}): RenderResult {
  const helm = findHelm();
  if (helm === undefined) throw new Error(String(HELM_SKIP));
  const args = [
    'template',
    options.releaseName ?? 'test',
    CHART_DIR,
    '--namespace',
    'orders',
    '--kube-version',
    KUBE_VERSION,
  ];
  for (const file of options.valuesFiles ?? []) args.push('--values', join(CHART_DIR, file));
  for (const [key, value] of Object.entries(options.set ?? {}))
    args.push('--set-json', `${key}=${JSON.stringify(value)}`);
  for (const api of options.apiVersions ?? []) args.push('--api-versions', api);
  const result = spawnSync(helm, args, { encoding: 'utf8', timeout: 60_000 });
  return { ok: result.status === 0, stdout: result.stdout, stderr: result.stderr };
}

/** Renders the chart and returns its objects; throws with helm's message when rendering fails. */
export function renderChart(options: RenderOptions = {}): Manifest[] {
  const result = helmTemplate(options);
  if (!result.ok) throw new Error(`helm template failed: ${result.stderr}`);
  return parseManifests(result.stdout);
}

export function findObject(manifests: readonly Manifest[], kind: string, nameSuffix: string): Manifest {
  const found = manifests.find((m) => m.kind === kind && m.name.endsWith(nameSuffix));
  if (!found)
    throw new Error(
      `no ${kind} named *${nameSuffix} in ${manifests.map((m) => `${m.kind}/${m.name}`).join(', ')}`,
    );
  return found;
}
