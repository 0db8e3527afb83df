/**
 * The embedded local stack: a real Kafka broker (KRaft) and a real Apicurio
 * schema registry, run from jars that Maven downloads, without Docker.
 * Usage: tsx scripts/stack.ts <up|down|status|restart-broker|ensure> [flags]
 */
import { parseArgs } from 'node:util';
import { STACK_OPTIONS, type FlagName, type StackFlags } from './stack/config.js';
import { ensure } from './stack/ensure.js';
import { StackError } from './stack/errors.js';
import { createContext, down, restartBroker, status, up, type StackContext } from './stack/lifecycle.js';
import { renderStatus } from './stack/report.js';

const COMMANDS = {
  up: 'start broker and registry (no-op when running), wait until ready, create the topics',
  down: 'stop both (SIGTERM, then SIGKILL); --wipe also deletes the state folder',
  status: 'show what runs, where, and whether it answers; exit 0 only when both are ready',
  'restart-broker': 'stop and start the broker, keeping its data',
  ensure: 'for the tests: use KAFKA_BROKERS / SCHEMA_REGISTRY_URL when they name another cluster, else `up`',
} as const;
type Command = keyof typeof COMMANDS;

function usage(): string {
  const commands = Object.entries(COMMANDS).map(([c, d]) => `  ${c.padEnd(16)}${d}`);
  const flags = Object.entries(STACK_OPTIONS).map(
    ([f, o]) => `  --${f.padEnd(20)}${o.env.padEnd(26)}${o.description} (default ${o.defaultText})`,
  );
  return [
    'usage: tsx scripts/stack.ts <command> [flags]',
    '',
    'commands:',
    ...commands,
    '',
    'flags (each also read from the env var shown):',
    ...flags,
    '  --wipe                                          with down: delete data, logs and pid files',
    '',
    'exit codes: 0 ok, 1 error, 2 missing Java/Maven, 3 port in use, 4 corrupt state, 5 not ready, 130 interrupted',
  ].join('\n');
}

function parse(argv: readonly string[]): { command: Command; flags: StackFlags; wipe: boolean } {
  const options = Object.fromEntries(Object.keys(STACK_OPTIONS).map((f) => [f, { type: 'string' as const }]));
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: { ...options, wipe: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  });
  const command = positionals[0];
  if (values.help === true || command === undefined || !(command in COMMANDS)) {
    if (values.help !== true) console.error(command ? `unknown command: ${command}\n` : 'no command given\n');
    console.error(usage());
    process.exit(values.help === true ? 0 : 1);
  }
  const flags: Partial<Record<FlagName, string>> = {};
  for (const name of Object.keys(STACK_OPTIONS) as FlagName[]) {
    const value = (values as Record<string, unknown>)[name];
    if (typeof value === 'string') flags[name] = value;
  }
  return { command: command as Command, flags, wipe: values.wipe === true };
}

async function printStatus(ctx: StackContext): Promise<boolean> {
  const s = await status(ctx);
  console.log(renderStatus(ctx, s));
  return s.up;
}

async function run(command: Command, ctx: StackContext, wipe: boolean, signal: AbortSignal): Promise<number> {
  switch (command) {
    case 'up':
    case 'restart-broker': {
      const result = command === 'up' ? await up(ctx, signal) : await restartBroker(ctx, signal);
      for (const line of result.topics) console.log(`topic ${line}`);
      console.log(
        result.alreadyRunning
          ? 'stack already up; nothing to do'
          : `started ${result.started.join(' and ')} in ${result.seconds.toFixed(1)} s${result.downloaded ? ' (including downloads)' : ''}`,
      );
      console.log('');
      await printStatus(ctx);
      return 0;
    }
    case 'down': {
      const result = await down(ctx, { wipe });
      console.log(`broker: ${result.broker}; registry: ${result.registry}; no stack JVM left`);
      if (result.wiped) console.log(`deleted ${ctx.paths.stateDir}`);
      return 0;
    }
    case 'status':
      return (await printStatus(ctx)) ? 0 : 1;
    case 'ensure': {
      const { external, foreign } = await ensure(ctx, signal);
      if (external.length > 0) console.log(`using the external ${external.join(' and ')}`);
      if (foreign.length > 0) console.log(`using the ${foreign.join(' and ')} already answering locally`);
      if (external.length + foreign.length < 2) console.log('local stack is up');
      return 0;
    }
  }
}

async function main(): Promise<void> {
  const { command, flags, wipe } = parse(process.argv.slice(2));
  // Ctrl-C while starting must not leave half-started JVMs behind: the signal aborts the waits,
  // and `up` then stops whatever it started before exiting with 130.
  const controller = new AbortController();
  for (const name of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(name, () => {
      if (!controller.signal.aborted) console.error(`\n${name}: stopping what this command started...`);
      controller.abort(name);
    });
  }
  try {
    const ctx = createContext({ flags });
    process.exitCode = await run(command, ctx, wipe, controller.signal);
  } catch (error) {
    if (!(error instanceof StackError)) throw error;
    console.error(`stack ${command}: ${error.message}`);
    if (error.hint) console.error(`\n${error.hint}`);
    process.exitCode = error.exitCode;
  }
}

await main();
