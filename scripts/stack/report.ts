import path from 'node:path';
import type { StackContext, StackStatus } from './lifecycle.js';
import { readRunRecord } from './lifecycle.js';

function shown(file: string): string {
  const rel = path.relative(process.cwd(), file);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : file;
}

export function formatTable(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows
    .map((row) =>
      row
        .map((cell, i) => cell.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** The table `up` and `status` print: what runs where, and where its files are. */
export function renderStatus(ctx: StackContext, s: StackStatus): string {
  const record = readRunRecord(ctx.paths);
  const controllerPort = s.broker.running && record ? record.controllerPort : ctx.config.controllerPort;
  const components = formatTable([
    ['component', 'state', 'pid', 'address', 'log'],
    [
      `broker (Kafka ${ctx.versions.kafka})`,
      s.broker.detail,
      s.broker.pid === undefined ? '-' : String(s.broker.pid),
      `${s.broker.address} (controller :${controllerPort})`,
      shown(s.broker.logFile),
    ],
    [
      `registry (Apicurio ${ctx.versions.apicurio})`,
      s.registry.detail,
      s.registry.pid === undefined ? '-' : String(s.registry.pid),
      s.registry.address,
      shown(s.registry.logFile),
    ],
  ]);
  const paths = formatTable([
    ['state dir', shown(ctx.paths.stateDir), 'delete with `npm run stack:down -- --wipe`'],
    ['kafka data', shown(ctx.paths.kafkaDataDir), ''],
    ['registry db', `${shown(ctx.paths.registryDb)}.mv.db`, 'H2 file: schemas survive restarts'],
    ['pid files', shown(ctx.paths.runDir), ''],
    ['downloads', shown(ctx.paths.cacheDir), `pinned in ${shown(ctx.config.pomPath)}`],
    ...(record ? [['java', record.java, '']] : []),
  ]);
  return `${components}\n\n${paths}`;
}
