/** What one bench run writes to bench/results/<timestamp>.json and latest.json. */

export type Scenario = 'produce' | 'consume' | 'e2e-latency' | 'scale' | 'memory';

export interface Spread {
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

export interface BenchRow {
  readonly scenario: Scenario;
  /** `ours`, `raw-kafkajs`, `java`, or another client's name. */
  readonly client: string;
  /** `at-least-once`, `exactly-once`, `idempotent`, ... */
  readonly mode: string;
  readonly ordersPerSec: Spread;
  readonly mbPerSec?: Spread;
  readonly p50Ms?: number;
  readonly p95Ms?: number;
  readonly p99Ms?: number;
  readonly p999Ms?: number;
  readonly peakRssMb?: number;
  readonly consumers?: number;
  /** Orders per repetition. */
  readonly orders: number;
  readonly repetitions: number;
  /** e2e-latency: the rate the producer was asked for. */
  readonly targetRatePerSec?: number;
  /** memory: heap used (MiB) at the start and end of the run, sampled after warm-up. */
  readonly heapStartMb?: number;
  readonly heapEndMb?: number;
  /** Absent when too few major collections happened to tell. */
  readonly heapSteady?: boolean;
  readonly note?: string;
}

export interface MachineInfo {
  readonly cpus: number;
  readonly cpuModel: string;
  readonly memoryGb: number;
  readonly node: string;
  readonly java: string;
  readonly kafkajs: string;
  readonly platform: string;
  /** 1-minute load average when the run started: other work on the machine skews the numbers. */
  readonly loadAverage: number;
}

export interface BenchResult {
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly durationSeconds: number;
  readonly command: string;
  readonly brokers: readonly string[];
  readonly recordBytes: number;
  readonly machine: MachineInfo;
  readonly rows: readonly BenchRow[];
  readonly ratios: Readonly<Record<string, number>>;
  readonly warnings: readonly string[];
}
