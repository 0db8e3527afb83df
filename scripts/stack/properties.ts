/** Java .properties files: the broker's config in, meta.properties out. */

export function renderProperties(entries: Readonly<Record<string, string | number | boolean>>): string {
  return `${Object.entries(entries)
    .map(([k, v]) => `${k}=${String(v).replace(/\\/g, '\\\\')}`)
    .join('\n')}\n`;
}

/** Enough of the .properties grammar for files Kafka writes: key=value lines and # comments. */
export function parseProperties(text: string): Map<string, string> {
  const result = new Map<string, string>();
  for (const rawLine of text.split(/\r?\n/)) {
    const line = rawLine.trim();
    if (line === '' || line.startsWith('#') || line.startsWith('!')) continue;
    const match = /^([^=:\s]+)\s*[=:]\s*(.*)$/.exec(line);
    if (!match?.[1]) throw new Error(`not a property line: ${JSON.stringify(rawLine)}`);
    result.set(match[1], match[2] ?? '');
  }
  return result;
}
