import { kubectl, NAMESPACE, readyConsumers } from './kube.js';

/**
 * The original partition@offset of every dead letter in the DLQ (read_committed), read by the
 * project's DLQ reader inside a consumer pod (the broker's advertised names resolve only in the cluster).
 */
export async function deadLetterOrigins(): Promise<string[]> {
  const [pod] = await readyConsumers();
  if (!pod) throw new Error('no Ready consumer to read the DLQ from');
  const text = await kubectl(
    [
      '-n',
      NAMESPACE,
      'exec',
      pod.metadata.name,
      '--',
      'node',
      'dist/cli/dlq-reader.js',
      '--max',
      '1000000',
      '--idle-ms',
      '5000',
    ],
    120_000,
  );
  const origins: string[] = [];
  for (const m of text.matchAll(/"originalPartition": (\d+),\s+"originalOffset": "(\d+)"/g))
    origins.push(`${m[1]}@${m[2]}`);
  const shown = /(\d+) dead letter\(s\) shown/.exec(text);
  if (!shown || Number(shown[1]) !== origins.length)
    throw new Error(`the DLQ reader showed ${shown?.[1] ?? '?'} dead letters, ${origins.length} parsed`);
  return origins;
}

/** Dead letters of one original record that appear more than once. */
export function duplicates(origins: readonly string[]): string[] {
  const seen = new Set<string>();
  const twice = new Set<string>();
  for (const o of origins) (seen.has(o) ? twice : seen).add(o);
  return [...twice];
}
