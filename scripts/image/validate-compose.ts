/**
 * Validates docker-compose.yml against the Compose Specification JSON schema.
 *
 *   node --import tsx scripts/image/validate-compose.ts [compose-file] [schema]
 *
 * The schema is the unmodified upstream file kept in shared/ beside the repo
 * (COMPOSE_SPEC_SCHEMA overrides its path). It declares draft-07, which is
 * Ajv's default dialect.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Ajv, type ErrorObject } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { loadComposeFile } from './compose-file.js';

// ajv-formats is CommonJS; under NodeNext its default import is the module object.
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

const composePath = resolve(process.argv[2] ?? 'docker-compose.yml');
const schemaPath = resolve(
  process.argv[3] ?? process.env.COMPOSE_SPEC_SCHEMA ?? '../shared/schemas/compose/compose-spec.json',
);

function fail(message: string): never {
  console.error(`compose: FAIL: ${message}`);
  process.exit(1);
}

if (!existsSync(schemaPath)) fail(`schema not found at ${schemaPath} (set COMPOSE_SPEC_SCHEMA)`);
const schema = JSON.parse(readFileSync(schemaPath, 'utf8')) as Record<string, unknown>;
if (!String(schema.$schema).includes('draft-07')) {
  fail(`${schemaPath} declares ${String(schema.$schema)}; this validator is set up for draft-07`);
}
// Upstream writes the draft-07 meta-schema URI as https without '#', which Ajv
// does not know by that name; the dialect is the same, so validate the schema
// against Ajv's own draft-07 meta-schema instead of looking the URI up.
delete schema.$schema;

// strict: false because the spec uses annotation keywords (deprecated) that draft-07 does not define.
const ajv = new Ajv({ allErrors: true, strict: false });
addFormats(ajv);
const validate = ajv.compile(schema);

const describe = (errors: ErrorObject[] | null | undefined) =>
  (errors ?? [])
    .map((e) => `  ${e.instancePath || '/'} ${e.message ?? ''} ${JSON.stringify(e.params)}`)
    .join('\n');

const compose = loadComposeFile(composePath);
if (!validate(compose))
  fail(`${composePath} does not match the Compose Specification:\n${describe(validate.errors)}`);
if ('version' in compose) fail(`${composePath}: the top-level 'version' key is obsolete; remove it`);

// The schema is only a proof if it can say no: an unknown service key must be rejected.
const firstService = Object.keys(compose.services)[0] ?? fail('no services');
const broken = structuredClone(compose) as { services: Record<string, Record<string, unknown>> };
(broken.services[firstService] ??= {}).not_a_compose_key = true;
if (validate(broken)) fail('the schema accepted an unknown service key; it is not being applied');

console.log(
  `compose: ${composePath} matches the Compose Specification (${Object.keys(compose.services).length} services)`,
);
