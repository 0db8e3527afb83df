/**
 * `npm run schema:check`: may the contracts in schemas/ replace what consumers and producers use now?
 *
 *   npm run schema:check                        each schema against the latest version of its subject in the
 *                                               registry (SCHEMA_REGISTRY_URL), under the subject's level
 *   npm run schema:check -- --offline           against the same file at HEAD~1, with Avro's rules (FULL)
 *   npm run schema:check -- --offline --against main --level BACKWARD
 *   npm run schema:check -- --schema new.avsc --subject orders-value
 *
 * Exit codes: 0 compatible (or nothing to compare), 1 incompatible, 2 the check could not be made.
 * Rules and the steps of a safe change: docs/schema-evolution.md.
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { isOfflineLevel, OFFLINE_LEVELS } from './schema-check/evolution.js';
import { EXIT, runSchemaCheck } from './schema-check/run.js';

const USAGE =
  'usage: schema-check [--offline [--against <rev>] [--level BACKWARD|FORWARD|FULL]] [--schema <file> [--subject <subject>]]';

async function main(): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        offline: { type: 'boolean', default: false },
        against: { type: 'string', default: 'HEAD~1' },
        level: { type: 'string', default: 'FULL' },
        schema: { type: 'string' },
        subject: { type: 'string' },
        help: { type: 'boolean', default: false },
      },
      strict: true,
    }));
  } catch (error) {
    console.error(`${(error as Error).message}\n${USAGE}`);
    return EXIT.unchecked;
  }
  if (values.help) {
    console.log(USAGE);
    return EXIT.compatible;
  }
  const level = values.level.toUpperCase();
  if (!isOfflineLevel(level)) {
    console.error(`--level ${values.level}: the offline check knows ${OFFLINE_LEVELS.join(', ')}\n${USAGE}`);
    return EXIT.unchecked;
  }
  return runSchemaCheck({
    root: fileURLToPath(new URL('..', import.meta.url)),
    offline: values.offline,
    against: values.against,
    level,
    // npm runs scripts in the package root; a relative --schema is the caller's (INIT_CWD).
    schema:
      values.schema === undefined ? undefined : resolve(process.env.INIT_CWD ?? process.cwd(), values.schema),
    subject: values.subject,
    env: process.env,
    print: (line) => {
      console.log(line);
    },
  });
}

process.exitCode = await main();
