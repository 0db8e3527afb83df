import { readFileSync } from 'node:fs';
import { spawn, type ChildProcess } from 'node:child_process';
import { waitUntil } from '../test/helpers/wait.js';
import { REPO, freePort, metric, scrape, type BenchKit, type BenchTopics } from './kit.js';

export interface RunningProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** How a consumer process is started: `npm run consumer` (tsx), or compiled JavaScript as in the image. */
export interface ConsumerEntry {
  /** Arguments for node itself (e.g. --cpu-prof, or the image's flags). */
  readonly nodeArgs?: readonly string[];
  /** A compiled consumer.js (bench/compiled.ts); default: src/cli/consumer.ts through tsx. */
  readonly script?: string;
}

/** A consumer as a process of its own. */
function startConsumerProcess(env: Record<string, string>, entry: ConsumerEntry): RunningProcess {
  const script = entry.script === undefined ? ['--import', 'tsx', 'src/cli/consumer.ts'] : [entry.script];
  const child = spawn(process.execPath, [...(entry.nodeArgs ?? []), ...script], {
    cwd: REPO,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-4000)));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => {
      if (code !== 0 && signal !== 'SIGTERM' && stderr) process.stderr.write(`[consumer stderr] ${stderr}\n`);
      resolve({ code, signal });
    });
  });
  return { child, exited };
}

/** One of our consumers as its own OS process, watched through its /metrics endpoint. */
export interface FleetMember {
  readonly port: number;
  readonly process: RunningProcess;
}

export interface FleetSample {
  readonly at: number;
  /** Orders finished (processed or dead-lettered) by all members. */
  readonly done: number;
  readonly assigned: readonly number[];
  readonly rssBytes: readonly number[];
  readonly heapUsedBytes: readonly number[];
  /** Major (mark-compact) collections so far, per member: the heap right after one is the live set. */
  readonly majorGcs: readonly number[];
}

/** Consumer processes of one group, started together with the production entry point. */
export class ConsumerFleet {
  readonly members: FleetMember[] = [];

  private constructor() {}

  static async start(
    kit: BenchKit,
    topics: BenchTopics,
    size: number,
    extra: Record<string, string> = {},
    entry: ConsumerEntry = {},
  ): Promise<ConsumerFleet> {
    const fleet = new ConsumerFleet();
    for (let i = 0; i < size; i += 1) {
      const port = await freePort();
      fleet.members.push({
        port,
        process: startConsumerProcess(kit.env(topics, { ...extra, HTTP_PORT: String(port) }), entry),
      });
    }
    return fleet;
  }

  async sample(): Promise<FleetSample> {
    const scraped = await Promise.all(this.members.map((m) => scrape(m.port)));
    return {
      at: performance.now(),
      done: scraped.reduce(
        (sum, s) =>
          sum +
          metric(s, 'orders_processed_total', { outcome: 'success' }) +
          metric(s, 'orders_processed_total', { outcome: 'dead_lettered' }),
        0,
      ),
      assigned: scraped.map((s) => metric(s, 'orders_assigned_partitions')),
      rssBytes: scraped.map((s) => metric(s, 'process_resident_memory_bytes')),
      heapUsedBytes: scraped.map((s) => metric(s, 'nodejs_heap_size_used_bytes')),
      majorGcs: scraped.map((s) => metric(s, 'nodejs_gc_duration_seconds_count', { kind: 'major' })),
    };
  }

  /** Until every member owns a share of the `partitions`: one generation of the group, no rebalance pending. */
  async waitBalanced(partitions: number, timeoutMs = 90_000): Promise<FleetSample> {
    const wanted = Math.min(partitions, this.members.length);
    let last: FleetSample | undefined;
    await waitUntil(
      () =>
        `${this.members.length} consumer processes to share ${partitions} partitions (assigned ${JSON.stringify(last?.assigned ?? [])})`,
      async () => {
        for (const m of this.members) {
          const exit = m.process.child.exitCode;
          if (exit !== null) throw new Error(`consumer process exited with ${exit}`);
        }
        last = await this.sample().catch(() => undefined);
        if (!last) return false;
        const total = last.assigned.reduce((a, b) => a + b, 0);
        return total === partitions && last.assigned.filter((n) => n > 0).length === wanted;
      },
      timeoutMs,
      200,
    );
    if (!last) throw new Error('no sample');
    return last;
  }

  /** Peak resident set size per member in bytes (VmHWM from /proc; Linux only). */
  peakRssBytes(): (number | undefined)[] {
    return this.members.map((m) => {
      try {
        const status = readFileSync(`/proc/${String(m.process.child.pid)}/status`, 'utf8');
        const kb = /VmHWM:\s+(\d+) kB/.exec(status)?.[1];
        return kb === undefined ? undefined : Number(kb) * 1024;
      } catch {
        return undefined;
      }
    });
  }

  async stop(): Promise<void> {
    for (const m of this.members) m.process.child.kill('SIGTERM');
    await Promise.all(
      this.members.map(async (m) => {
        const timer = setTimeout(() => m.process.child.kill('SIGKILL'), 15_000);
        await m.process.exited;
        clearTimeout(timer);
      }),
    );
  }
}
