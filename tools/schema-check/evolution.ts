/**
 * The offline half of `npm run schema:check`: whether a schema change keeps to Avro's resolution rules,
 * decided by avsc the way our consumer decodes (with its decimal type, so a changed scale is refused).
 */
import avro from 'avsc';
import { LOGICAL_TYPES } from '../../src/adapters/registry/decimal-type.js';

/** The levels the offline check knows: it compares two schemas, so none of the transitive ones. */
export const OFFLINE_LEVELS = ['BACKWARD', 'FORWARD', 'FULL'] as const;
export type OfflineLevel = (typeof OFFLINE_LEVELS)[number];

export function isOfflineLevel(value: string): value is OfflineLevel {
  return (OFFLINE_LEVELS as readonly string[]).includes(value);
}

/**
 * What breaks when `candidate` replaces `previous` under `level`; empty when nothing does.
 * BACKWARD: consumers on the candidate read records written with the previous schema.
 * FORWARD: consumers still on the previous schema read records written with the candidate.
 * FULL: both. Throws when either is not a valid Avro schema.
 */
export function evolutionProblems(
  previous: avro.Schema,
  candidate: avro.Schema,
  level: OfflineLevel,
): string[] {
  const before = typeOf(previous, 'the previous schema');
  const after = typeOf(candidate, 'the candidate schema');
  const problems: string[] = [];
  if (level !== 'FORWARD') {
    const why = unresolvable(after, before);
    if (why !== undefined)
      problems.push(`BACKWARD: a consumer on the new schema cannot read old records: ${why}`);
  }
  if (level !== 'BACKWARD') {
    const why = unresolvable(before, after);
    if (why !== undefined)
      problems.push(`FORWARD: a consumer on the old schema cannot read new records: ${why}`);
  }
  return problems;
}

function typeOf(schema: avro.Schema, what: string): avro.Type {
  try {
    return avro.Type.forSchema(schema, { logicalTypes: LOGICAL_TYPES });
  } catch (error) {
    throw new Error(`${what} is not a valid Avro schema: ${(error as Error).message}`, { cause: error });
  }
}

/** Why `reader` cannot read what `writer` wrote, or undefined when it can. */
function unresolvable(reader: avro.Type, writer: avro.Type): string | undefined {
  try {
    reader.createResolver(writer);
    return undefined;
  } catch (error) {
    const message = (error as Error).message;
    // avsc names only the underlying types when a decimal's scale differs ("cannot read bytes as bytes").
    return /^cannot read "(bytes|fixed)" as "(bytes|fixed)"$/.test(message)
      ? `${message} (a decimal whose scale changed, or that became plain bytes: every amount would change)`
      : message;
  }
}
