/**
 * The local stack: a real Kafka broker (KRaft) and a real Apicurio schema registry, run from jars that
 * Maven downloads, without Docker. Usage: node --import tsx tools/stack/cli.ts <command> (or npm run stack:*).
 */
import path from 'node:path';
import { STACK_ENV } from './config.js';
import { ensure } from './ensure.js';
import { StackError } from './errors.js';
import { createContext, down, status, up, type StackContext } from './lifecycle.js';
import { secureEnvText } from './secure-setup.js';

const COMMANDS = {
  up: 'start broker, registry and its HTTPS proxy (no-op when running), wait until ready, create the topics; --secure prints the SASL_SSL/HTTPS client settings',
  down: 'stop both (SIGTERM, then SIGKILL); --wipe also deletes the state folder',
  status: 'show what runs, where, and whether it answers; exit 0 only when both are ready',
  ensure:
    'for tests and the demo: use KAFKA_BROKERS / SCHEMA_REGISTRY_URL when they name another cluster, else `up`',
} as const;
type Command = keyof typeof COMMANDS;

const USAGE = [
  'usage: node --import tsx tools/stack/cli.ts <command> [--wipe] [--secure]',
  '',
  ...Object.entries(COMMANDS).map(([c, d]) => `  ${c.padEnd(8)}${d}`),
  '',
  'settings (environment):',
  ...Object.entries(STACK_ENV).map(([name, [def, what]]) => `  ${name.padEnd(26)}${what} (default ${def})`),
  '',
  'exit codes: 0 ok, 1 error, 2 missing Java/Maven, 3 port in use, 4 corrupt state, 5 not ready, 130 interrupted',
].join('\n');

const shown = (file: string): string => {
  const rel = path.relative(process.cwd(), file);
  return rel && !rel.startsWith('..') ? rel : file;
};

async function printStatus(ctx: StackContext): Promise<boolean> {
  const s = await status(ctx);
  const rows = [
    [`broker (Kafka ${ctx.versions.kafka})`, s.broker] as const,
    [`registry (Apicurio ${ctx.versions.apicurio})`, s.registry] as const,
    ['registry HTTPS + basic auth', s['registry-proxy']] as const,
  ].map(([name, c]) => [
    name,
    c.detail,
    c.pid === undefined ? '-' : `pid ${c.pid}`,
    c.address,
    shown(c.logFile),
  ]);
  const widths = [0, 1, 2, 3].map((i) => Math.max(...rows.map((r) => r[i]?.length ?? 0)));
  for (const row of rows) console.log(row.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  '));
  console.log(`state ${shown(ctx.paths.stateDir)}, downloads ${shown(ctx.paths.cacheDir)}`);
  return s.up;
}

async function run(
  command: Command,
  ctx: StackContext,
  wipe: boolean,
  signal: AbortSignal,
  secure: boolean,
): Promise<number> {
  switch (command) {
    case 'up': {
      const result = await up(ctx, signal);
      for (const line of result.topics) console.log(`topic ${line}`);
      console.log(
        result.alreadyRunning
          ? 'stack already up; nothing to do'
          : `started ${result.started.join(' and ')} in ${result.seconds.toFixed(1)} s${result.downloaded ? ' (including downloads)' : ''}`,
      );
      await printStatus(ctx);
      // The secured listener is part of every stack; --secure only prints how to use it.
      if (secure) console.log(`\n${secureEnvText(ctx.config, ctx.paths)}`);
      return 0;
    }
    case 'down': {
      const result = await down(ctx, wipe);
      console.log(
        `broker: ${result.broker}; registry: ${result.registry}; registry proxy: ${result['registry-proxy']}`,
      );
      if (wipe) console.log(`deleted ${ctx.paths.stateDir}`);
      return 0;
    }
    case 'status': {
      const ok = await printStatus(ctx);
      if (secure) console.log(`\n${secureEnvText(ctx.config, ctx.paths)}`);
      return ok ? 0 : 1;
    }
    case 'ensure': {
      const { external, foreign } = await ensure(ctx, signal);
      if (external.length > 0) console.log(`using the external ${external.join(' and ')}`);
      if (foreign.length > 0) console.log(`using the ${foreign.join(' and ')} already answering locally`);
      if (external.length + foreign.length < 2) console.log('local stack is up');
      if (secure) console.log(`\n${secureEnvText(ctx.config, ctx.paths)}`);
      return 0;
    }
  }
}

const args = process.argv.slice(2);
const command = args.find((a) => !a.startsWith('-'));
const unknown = args.filter((a) => a !== command && a !== '--wipe' && a !== '--secure');
if (args.includes('--help') || args.includes('-h')) {
  console.log(USAGE);
} else if (command === undefined || !(command in COMMANDS) || unknown.length > 0) {
  console.error(
    `${command === undefined ? 'no command given' : `unknown arguments: ${args.join(' ')}`}\n\n${USAGE}`,
  );
  process.exitCode = 1;
} else {
  // Ctrl-C while starting must not leave half-started JVMs behind: the signal aborts the waits, and `up`
  // stops whatever it started before exiting with 130.
  const controller = new AbortController();
  for (const name of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(name, () => {
      if (!controller.signal.aborted) console.error(`\n${name}: stopping what this command started...`);
      controller.abort(name);
    });
  }
  try {
    process.exitCode = await run(
      command as Command,
      createContext(),
      args.includes('--wipe'),
      controller.signal,
      args.includes('--secure'),
    );
  } catch (error) {
    if (!(error instanceof StackError)) throw error;
    console.error(`stack ${command}: ${error.message}`);
    if (error.hint) console.error(`\n${error.hint}`);
    process.exitCode = error.exitCode;
  }
}
