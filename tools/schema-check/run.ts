/**
 * `npm run schema:check`, as a function of its options, so tests run it without a shell. Exit codes:
 * 0 compatible (or nothing to compare), 1 incompatible, 2 the check could not be made.
 */
import { readFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import type avro from 'avsc';
import { loadConfig } from '../../src/config/load.js';
import { contractOf, schemaFiles } from './contracts.js';
import { evolutionProblems, isOfflineLevel, type OfflineLevel } from './evolution.js';
import { schemaAt } from './previous-schema.js';
import { checkAgainstRegistry, type RegistryTarget, type VersionVerdict } from './registry-check.js';

export const EXIT = { compatible: 0, incompatible: 1, unchecked: 2 } as const;

export interface SchemaCheckOptions {
  /** The repository root: schemas/ and git are looked up there. */
  readonly root: string;
  /** Against the schema at `against` (git), not the registry. */
  readonly offline: boolean;
  readonly against: string;
  /** The level the offline check enforces. */
  readonly level: OfflineLevel;
  /** One file to check instead of every contract in schemas/ (absolute, or relative to `root`). */
  readonly schema?: string | undefined;
  /** The subject to check `schema` against (online), instead of its contract's. */
  readonly subject?: string | undefined;
  /** Environment the registry settings are read from (SCHEMA_REGISTRY_URL, ORDERS_TOPIC, …). */
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly print: (line: string) => void;
}

/** What an offline level promises, for the output. */
const MEANING: Record<OfflineLevel, string> = {
  BACKWARD: 'new consumers read old records',
  FORWARD: 'old consumers read new records',
  FULL: 'new consumers read old records, and old consumers read new ones',
};

export async function runSchemaCheck(o: SchemaCheckOptions): Promise<number> {
  const files = o.schema === undefined ? schemaFiles(o.root) : [inRepository(o.root, o.schema)];
  let exit: number = EXIT.compatible;
  for (const file of files) {
    let result: number;
    try {
      result = o.offline ? checkOffline(o, file) : await checkOnline(o, file);
    } catch (error) {
      o.print(`${file}: could not be checked: ${(error as Error).message}`);
      result = EXIT.unchecked;
    }
    exit = Math.max(exit, result);
  }
  return exit;
}

/** `path` relative to the repository root, as git names it (absolute when it lies outside). */
function inRepository(root: string, path: string): string {
  const absolute = resolve(root, path);
  const inside = relative(root, absolute);
  return inside.startsWith('..') ? absolute : inside;
}

function checkOffline(o: SchemaCheckOptions, file: string): number {
  const candidate = parse(readFileSync(resolve(o.root, file), 'utf8'), file);
  const previous = schemaAt(o.against, file, o.root);
  if (!previous.found) {
    o.print(`${file}: no previous schema, nothing to compare: ${previous.why}`);
    return EXIT.compatible;
  }
  const at = `${o.against} (${previous.commit.slice(0, 12)})`;
  o.print(`${file}: offline, against ${file} at ${at}, level ${o.level}: ${MEANING[o.level]}`);
  const problems = evolutionProblems(parse(previous.text, `${file} at ${at}`), candidate, o.level);
  return report(o, problems, o.level);
}

async function checkOnline(o: SchemaCheckOptions, file: string): Promise<number> {
  const text = readFileSync(resolve(o.root, file), 'utf8');
  const candidate = parse(text, file);
  const config = loadConfig('producer', o.env);
  const subject = o.subject ?? contractOf(file)?.subject(config);
  if (subject === undefined)
    throw new Error(
      'no registry subject is known for it: give --subject, or add it to tools/schema-check/contracts.ts',
    );
  const target: RegistryTarget = {
    url: config.schemaRegistryUrl,
    username: config.schemaRegistryUsername,
    password: config.schemaRegistryPassword,
    timeoutMs: config.registryTimeoutMs,
  };
  // Sent as the producer sends it (compact JSON), so the registry compares the same schema.
  const verdict = await checkAgainstRegistry(target, subject, JSON.stringify(candidate));
  const { level, source } = verdict.level;
  const applied = `${level} (${source === 'subject' ? "the subject's level" : "the registry's default level; the subject has none of its own"})`;
  if (verdict.kind === 'new-subject') {
    o.print(
      `${file}: ${subject} has no version in ${target.url} yet, nothing to compare; its first registration is accepted, then ${applied} applies`,
    );
    return EXIT.compatible;
  }
  const { versions } = verdict;
  const against =
    versions.length === 1
      ? `version ${versions[0]?.version} (the latest)`
      : `versions ${versions.map((v) => v.version).join(', ')} (the level is transitive)`;
  o.print(`${file}: against ${subject} ${against} in ${target.url}, level ${applied}`);
  if (level === 'NONE')
    o.print('  (NONE: the registry checks nothing; the offline check still enforces FULL)');
  const problems = versions.flatMap((v) =>
    v.compatible
      ? []
      : reasons(v, candidate, level).map((r) => (versions.length === 1 ? r : `version ${v.version}: ${r}`)),
  );
  return report(o, problems, level);
}

/**
 * Why the registry refused `candidate` against one version: its own messages, or, when it gives none
 * (Apicurio ignores verbose=true), what Avro's rules say under the same level.
 */
function reasons(verdict: VersionVerdict, candidate: avro.Schema, level: string): string[] {
  if (verdict.messages.length > 0) return [...verdict.messages];
  const direction = level.replace(/_TRANSITIVE$/, '');
  let ours: string[] = [];
  try {
    if (isOfflineLevel(direction))
      ours = evolutionProblems(parse(verdict.schema, `version ${verdict.version}`), candidate, direction);
  } catch {
    // A version avsc cannot read (a schema reference, say): the registry's no still stands, unexplained.
  }
  return [
    ours.length > 0
      ? "the registry gives no reasons; Avro's rules (avsc) say:"
      : "the registry gives no reasons, and Avro's rules (avsc) find none: ask the registry's logs",
    ...ours,
  ];
}

function report(o: SchemaCheckOptions, problems: readonly string[], level: string): number {
  if (problems.length === 0) {
    o.print(`  compatible under ${level}`);
    return EXIT.compatible;
  }
  o.print(`  INCOMPATIBLE under ${level}:`);
  for (const problem of problems) o.print(`    - ${problem}`);
  return EXIT.incompatible;
}

function parse(text: string, what: string): avro.Schema {
  try {
    return JSON.parse(text) as avro.Schema;
  } catch (error) {
    throw new Error(`${what} is not JSON: ${(error as Error).message}`, { cause: error });
  }
}
