import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { StackError } from './errors.js';

/** The pinned versions, read from stack/pom.xml so they live in one place only. */
export interface StackVersions {
  readonly kafka: string;
  readonly apicurio: string;
  /** sha256 of the pom without comments and blank space: an edit that can change the downloads invalidates the cache. */
  readonly pomSha256: string;
}

export function parsePomVersions(pomXml: string): Omit<StackVersions, 'pomSha256'> {
  const property = (name: string): string => {
    const match = new RegExp(
      `<${name.replace('.', '\\.')}>\\s*([^<\\s]+)\\s*</${name.replace('.', '\\.')}>`,
    ).exec(pomXml);
    if (!match?.[1]) throw new StackError(`stack/pom.xml has no <${name}> property`);
    return match[1];
  };
  return { kafka: property('kafka.version'), apicurio: property('apicurio.version') };
}

/** The pom with comments and whitespace runs removed, so rewording a comment does not re-download 220 MB. */
export function normalizePom(xml: string): string {
  return xml
    .replace(/<!--[\s\S]*?-->/g, '')
    .replace(/\s+/g, ' ')
    .trim();
}

export function readVersions(pomPath: string): StackVersions {
  let xml: string;
  try {
    xml = readFileSync(pomPath, 'utf8');
  } catch (error) {
    throw new StackError(`cannot read ${pomPath}: ${(error as Error).message}`);
  }
  return {
    ...parsePomVersions(xml),
    pomSha256: createHash('sha256').update(normalizePom(xml)).digest('hex'),
  };
}
