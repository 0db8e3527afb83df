/**
 * `npm run bench`: throughput, latency and memory of our producer and consumer,
 * side by side with raw kafkajs and Kafka's Java perf tools, on the same broker
 * in the same run. Prints a Markdown table and writes bench/results/*.json.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { renderChart } from './chart.js';
import { javaVersion, locateKafkaLibs, type JavaTools } from './java-tools.js';
import { BenchKit, REPO, encodeOrders, meanValueBytes } from './kit.js';
import { parseOptions, USAGE, type BenchOptions } from './options.js';
import { renderReport } from './report.js';
import { sanityProblems } from './sanity.js';
import { computeRatios } from './stats.js';
import type { ScenarioContext } from './scenarios/context.js';
import { consumeScenario } from './scenarios/consume.js';
import { e2eLatencyScenario } from './scenarios/e2e-latency.js';
import { memoryScenario } from './scenarios/memory.js';
import { produceScenario } from './scenarios/produce.js';
import { scaleScenario } from './scenarios/scale.js';
import type { BenchResult, BenchRow, MachineInfo, Scenario } from './types.js';

const SCENARIOS: Record<Scenario, (ctx: ScenarioContext) => Promise<BenchRow[]>> = {
  produce: produceScenario,
  consume: consumeScenario,
  'e2e-latency': e2eLatencyScenario,
  scale: scaleScenario,
  memory: memoryScenario,
};

function kafkajsVersion(): string {
  const pkg = JSON.parse(readFileSync(path.join(REPO, 'node_modules/kafkajs/package.json'), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

async function machineInfo(java: string | undefined): Promise<MachineInfo> {
  return {
    cpus: os.availableParallelism(),
    cpuModel: os.cpus()[0]?.model.trim() ?? 'unknown',
    memoryGb: Math.round(os.totalmem() / 1024 ** 3),
    node: process.version,
    java: java === undefined ? 'not used' : await javaVersion(java),
    kafkajs: kafkajsVersion(),
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    loadAverage: os.loadavg()[0] ?? 0,
  };
}

function javaTools(options: BenchOptions): JavaTools | undefined {
  if (!options.java) return undefined;
  const libs = locateKafkaLibs(REPO);
  if (!libs) {
    throw new Error(
      'kafka-tools jars not found in .cache/stack/kafka-4.3.1/libs: run `npm run stack:up` once (it downloads them), set BENCH_KAFKA_LIBS, or pass --no-java',
    );
  }
  return { java: process.env['JAVA'] ?? 'java', classpath: `${libs}/*` };
}

async function main(): Promise<void> {
  const parsed = parseOptions(process.argv.slice(2));
  if (parsed === 'help') {
    console.log(USAGE);
    return;
  }
  const options = parsed;
  const started = new Date();
  const java = javaTools(options);
  const machine = await machineInfo(java?.java);
  const kit = new BenchKit();
  const t0 = performance.now();
  const log = (message: string): void =>
    console.log(`  [${((performance.now() - t0) / 1000).toFixed(0).padStart(3)} s] ${message}`);
  try {
    const probe = await kit.newTopics('size');
    const recordBytes = meanValueBytes(await encodeOrders(kit.config('producer', probe), 1000));
    console.log(`bench: ${options.scenarios.join(', ')}; ${machine.cpus} CPUs, record size ${recordBytes} B`);
    const ctx: ScenarioContext = { kit, options, java, recordBytes, log };
    const rows: BenchRow[] = [];
    for (const scenario of options.scenarios) rows.push(...(await SCENARIOS[scenario](ctx)));

    const finished = new Date();
    const result: BenchResult = {
      startedAt: started.toISOString(),
      finishedAt: finished.toISOString(),
      durationSeconds: Math.round((finished.getTime() - started.getTime()) / 1000),
      command: ['npm run bench', ...(process.argv.length > 2 ? ['--', ...process.argv.slice(2)] : [])].join(
        ' ',
      ),
      brokers: kit.brokers,
      recordBytes,
      machine,
      rows,
      ratios: computeRatios(rows),
      warnings: kit.warnings,
    };
    const outDir = path.resolve(REPO, options.outDir);
    mkdirSync(outDir, { recursive: true });
    const json = `${JSON.stringify(result, null, 2)}\n`;
    const stamp = started.toISOString().replace(/[:.]/g, '-');
    writeFileSync(path.join(outDir, `${stamp}.json`), json);
    writeFileSync(path.join(outDir, 'latest.json'), json);
    const svg = await renderChart(result);
    if (svg !== undefined) {
      writeFileSync(path.join(outDir, `${stamp}.svg`), svg);
      writeFileSync(path.join(outDir, 'latest.svg'), svg);
    }
    console.log(
      `\n${renderReport(result)}\n\nWrote ${path.relative(REPO, path.join(outDir, 'latest.json'))} and ${stamp}.json${svg === undefined ? '' : ', and the chart as latest.svg'}`,
    );

    const problems = sanityProblems(result, options.scenarios);
    if (problems.length > 0) {
      console.error(`bench: implausible results:\n  ${problems.join('\n  ')}`);
      process.exitCode = 1;
    }
  } finally {
    await kit
      .cleanup()
      .catch((error: unknown) => console.warn(`could not delete bench topics: ${String(error)}`));
  }
}

main().then(
  () => process.exit(),
  (error: unknown) => {
    console.error(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(1);
  },
);
