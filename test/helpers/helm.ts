import { spawnSync } from 'node:child_process';
import { accessSync, constants, cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { parseManifests, type Manifest } from '../../tools/validate-manifests.js';

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

/** Without helm the chart tests fail, never skip: `npm test` installs it (scripts/test-prerequisites.sh). */
const HELM_MISSING =
  'helm not found: run `bash scripts/helm-binaries.sh helm` (npm test does), which builds it into .cache/bin, or put helm on PATH';

export interface RenderOptions {
  /** Values as JSON, passed with --set-json key=value. */
  readonly set?: Readonly<Record<string, unknown>>;
  /** Values files, relative to the chart. */
  readonly valuesFiles?: readonly string[];
  readonly apiVersions?: readonly string[];
  readonly releaseName?: string;
  /** The chart directory; CHART_DIR unless given. */
  readonly chartDir?: string;
}

export interface RenderResult {
  readonly ok: boolean;
  readonly stdout: string;
  readonly stderr: string;
}

export function helmTemplate(options: RenderOptions = {}): RenderResult {
  const helm = findHelm();
  if (helm === undefined) throw new Error(HELM_MISSING);
  const args = [
    'template',
    options.releaseName ?? 'test',
    options.chartDir ?? CHART_DIR,
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

let notesChartDir: string | undefined;

/**
 * A copy of the chart that also renders templates/NOTES.txt into a ConfigMap, because `helm template`
 * never renders NOTES.txt and `helm install --dry-run` needs a cluster. The copy is made once per process.
 */
function chartWithNotes(): string {
  if (notesChartDir !== undefined) return notesChartDir;
  const dir = mkdtempSync(join(tmpdir(), 'kafka-order-system-notes-'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  cpSync(CHART_DIR, dir, { recursive: true });
  const notes = readFileSync(join(CHART_DIR, 'templates/NOTES.txt'), 'utf8');
  writeFileSync(
    join(dir, 'templates/_notes-under-test.tpl'),
    `{{- define "notes-under-test" -}}\n${notes}\n{{- end }}\n`,
  );
  writeFileSync(
    join(dir, 'templates/notes-under-test.yaml'),
    [
      'apiVersion: v1',
      'kind: ConfigMap',
      'metadata:',
      '  name: notes-under-test',
      'data:',
      '  NOTES.txt: {{ include "notes-under-test" . | toJson }}',
      '',
    ].join('\n'),
  );
  notesChartDir = dir;
  return dir;
}

/** The text of NOTES.txt as `helm install` would print it for these values. */
export function renderNotes(options: Omit<RenderOptions, 'chartDir'> = {}): string {
  const configMap = findObject(
    renderChart({ ...options, chartDir: chartWithNotes() }),
    'ConfigMap',
    'notes-under-test',
  );
  return (configMap.body.data as Record<string, string>)['NOTES.txt'] ?? '';
}
