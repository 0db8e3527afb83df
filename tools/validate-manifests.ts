/**
 * Validates the built-in kinds of rendered Kubernetes manifests offline against the strict JSON schemas of
 * the Kubernetes versions the chart claims besides the one the local cluster runs (the `*-local-strict`
 * folders shipped by the PyPI package kubernetes-validate): unknown fields are errors, as with a strict API
 * server. Custom resources (Strimzi, Prometheus Operator, KEDA) are left to the real API server of
 * `npm run test:k8s`, which installs their CRDs and every ci/*-values.yaml.
 *
 * Usage: node --import tsx tools/validate-manifests.ts --k8s-schemas DIR [--k8s-schemas DIR]... FILE...
 */
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import * as ajvFormats from 'ajv-formats';
import { parseAllDocuments } from 'yaml';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = Record<string, Json>;

export interface Manifest {
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  readonly body: Record<string, unknown>;
}

export interface ManifestResult {
  readonly manifest: Manifest;
  /** Which schemas judged it, e.g. "kubernetes v1.30.0"; none for a custom resource. */
  readonly schemas: readonly string[];
  readonly errors: readonly string[];
}

export interface ValidatorOptions {
  /** Folders like v1.30.0-local-strict, each holding _definitions.json. */
  readonly k8sSchemaDirs: readonly string[];
}

const KUBERNETES_KEYWORDS = [
  'x-kubernetes-group-version-kind',
  'x-kubernetes-preserve-unknown-fields',
  'x-kubernetes-int-or-string',
  'x-kubernetes-embedded-resource',
  'x-kubernetes-list-type',
  'x-kubernetes-list-map-keys',
  'x-kubernetes-map-type',
  'x-kubernetes-patch-strategy',
  'x-kubernetes-patch-merge-key',
  'x-kubernetes-unions',
  'x-kubernetes-validations',
  'x-kubernetes-selectable-fields',
];

// ajv-formats is CommonJS: under NodeNext its function is the namespace's default export.
const addFormats = ajvFormats.default as unknown as (ajv: Ajv2020) => Ajv2020;

/** A scalar as text; objects and missing values become "". */
function str(value: unknown): string {
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean'
    ? String(value)
    : '';
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Kubernetes patterns are Go regular expressions, some with an inline (?i) flag that JavaScript lacks. */
const goRegExp = Object.assign(
  (pattern: string, flags: string): RegExp =>
    pattern.includes('(?i)')
      ? new RegExp(pattern.replaceAll('(?i)', ''), `${flags}i`)
      : new RegExp(pattern, flags),
  { code: 'goRegExp' },
);

function newAjv(): Ajv2020 {
  // strict: false because the upstream schemas use OpenAPI keywords (nullable, example) that ajv does not define.
  const ajv = new Ajv2020({
    allErrors: true,
    strict: false,
    validateFormats: true,
    code: { regExp: goRegExp },
  });
  addFormats(ajv);
  for (const name of ['int32', 'int64', 'double', 'float', 'byte']) ajv.addFormat(name, true);
  ajv.addVocabulary(KUBERNETES_KEYWORDS);
  return ajv;
}

function formatErrors(validate: ValidateFunction): string[] {
  return (validate.errors ?? []).map((e) => {
    const where = e.instancePath === '' ? '(root)' : e.instancePath;
    const extra =
      e.keyword === 'additionalProperties'
        ? ` "${String((e.params as { additionalProperty?: string }).additionalProperty)}"`
        : e.keyword === 'enum'
          ? ` ${JSON.stringify((e.params as { allowedValues?: unknown }).allowedValues)}`
          : '';
    return `${where}: ${e.message ?? e.keyword}${extra}`;
  });
}

interface KindValidator {
  readonly source: string;
  validate(body: Record<string, unknown>): string[];
}

/** The API groups of the custom resources the chart renders; the real API server checks them (test:k8s). */
const CUSTOM_RESOURCE_GROUPS = new Set(['kafka.strimzi.io', 'monitoring.coreos.com', 'keda.sh']);

/** Reads the schema folders once and returns a function that validates one manifest. */
export function createManifestValidator(options: ValidatorOptions): (manifest: Manifest) => ManifestResult {
  const byKind = new Map<string, KindValidator[]>();
  const add = (apiVersion: string, kind: string, validator: KindValidator) => {
    const key = `${apiVersion}|${kind}`;
    byKind.set(key, [...(byKind.get(key) ?? []), validator]);
  };

  for (const dir of options.k8sSchemaDirs) {
    const version = basename(dir).replace(/-local-strict$/, '');
    const ajv = newAjv();
    const id = `https://kubernetes.schemas.local/${version}/api/_definitions.json`;
    const definitions = JSON.parse(readFileSync(join(dir, '_definitions.json'), 'utf8')) as JsonObject;
    ajv.addSchema({ ...definitions, $id: id });
    const defs = definitions.$defs;
    if (!isObject(defs)) throw new Error(`${dir}/_definitions.json has no $defs`);
    for (const [name, def] of Object.entries(defs)) {
      const gvks = isObject(def) ? def['x-kubernetes-group-version-kind'] : undefined;
      if (!Array.isArray(gvks)) continue;
      for (const gvk of gvks) {
        if (!isObject(gvk)) continue;
        const group = str(gvk.group);
        const apiVersion = group === '' ? str(gvk.version) : `${group}/${str(gvk.version)}`;
        let compiled: ValidateFunction | undefined;
        add(apiVersion, str(gvk.kind), {
          source: `kubernetes ${version}`,
          validate(body) {
            compiled ??= ajv.compile({ $ref: `${id}#/$defs/${name}` });
            return compiled(body) ? [] : formatErrors(compiled);
          },
        });
      }
    }
  }

  return (manifest) => {
    const validators = byKind.get(`${manifest.apiVersion}|${manifest.kind}`) ?? [];
    if (validators.length === 0 && CUSTOM_RESOURCE_GROUPS.has(manifest.apiVersion.split('/')[0] ?? '')) {
      return { manifest, schemas: [], errors: [] };
    }
    if (validators.length === 0) {
      return {
        manifest,
        schemas: [],
        errors: [`no schema known for ${manifest.apiVersion} ${manifest.kind}`],
      };
    }
    const errors = validators.flatMap((v) => v.validate(manifest.body).map((e) => `[${v.source}] ${e}`));
    return { manifest, schemas: validators.map((v) => v.source), errors };
  };
}

/** Splits a multi-document YAML stream (helm template output) into manifests, skipping empty documents. */
export function parseManifests(text: string): Manifest[] {
  const manifests: Manifest[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0)
      throw new Error(`invalid YAML: ${doc.errors.map((e) => e.message).join('; ')}`);
    const body = doc.toJS() as unknown;
    if (body === null || body === undefined) continue;
    if (!isObject(body)) throw new Error(`a document is not an object: ${JSON.stringify(body).slice(0, 80)}`);
    const metadata = isObject(body.metadata) ? body.metadata : {};
    manifests.push({
      apiVersion: str(body.apiVersion),
      kind: str(body.kind),
      name: str(metadata.name),
      body,
    });
  }
  return manifests;
}

function main(): void {
  const { values, positionals } = parseArgs({
    options: {
      'k8s-schemas': { type: 'string', multiple: true, default: [] },
    },
    allowPositionals: true,
  });
  const k8sSchemaDirs = values['k8s-schemas'];
  if (k8sSchemaDirs.length === 0 || positionals.length === 0) {
    console.error('usage: validate-manifests --k8s-schemas DIR... FILE...');
    process.exit(2);
  }
  const validate = createManifestValidator({ k8sSchemaDirs });
  let failed = 0;
  let checked = 0;
  for (const file of positionals) {
    for (const manifest of parseManifests(readFileSync(file, 'utf8'))) {
      const result = validate(manifest);
      checked++;
      const label = `${file}: ${manifest.kind}/${manifest.name}`;
      if (result.errors.length === 0) {
        console.log(`ok   ${label} (${result.schemas.join(', ') || 'custom resource: npm run test:k8s'})`);
      } else {
        failed++;
        console.log(`FAIL ${label}`);
        for (const e of result.errors) console.log(`       ${e}`);
      }
    }
  }
  console.log(`${checked} objects checked, ${failed} invalid`);
  if (failed > 0 || checked === 0) process.exit(1);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) main();
