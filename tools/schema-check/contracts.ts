/**
 * The contracts in schemas/ and the registry subjects they are registered under, so that a schema file
 * added without a subject fails the check instead of going unchecked.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { subjectFor } from '../../src/adapters/registry/order-codec.js';

export const SCHEMAS_DIR = 'schemas';

interface Contract {
  /** Relative to the repository root. */
  readonly file: string;
  /** Its subject, from the topic settings the processes use. */
  readonly subject: (topics: { readonly ordersTopic: string }) => string;
}

const CONTRACTS: readonly Contract[] = [
  // What the producer registers (OrderCodec.register): TopicNameStrategy, <ORDERS_TOPIC>-value.
  { file: `${SCHEMAS_DIR}/order.avsc`, subject: ({ ordersTopic }) => subjectFor(ordersTopic) },
];

/** Every .avsc file of schemas/ (relative to `root`), in name order. */
export function schemaFiles(root: string): string[] {
  return readdirSync(join(root, SCHEMAS_DIR))
    .filter((name) => name.endsWith('.avsc'))
    .sort()
    .map((name) => `${SCHEMAS_DIR}/${name}`);
}

/** The contract of `file`, or undefined when none is declared here. */
export function contractOf(file: string): Contract | undefined {
  return CONTRACTS.find((c) => c.file === file);
}
