import type { JavaTools } from '../java-tools.js';
import type { BenchKit } from '../kit.js';
import type { BenchOptions } from '../options.js';

export interface ScenarioContext {
  readonly kit: BenchKit;
  readonly options: BenchOptions;
  /** Undefined with --no-java. */
  readonly java: JavaTools | undefined;
  /** Mean framed Avro order size; every client sends records of this size. */
  readonly recordBytes: number;
  log(message: string): void;
}

/** Orders/s and MB/s of one repetition. */
export interface Sample {
  readonly ordersPerSec: number;
  readonly mbPerSec: number;
}

export const rate = (orders: number, seconds: number, recordBytes: number): Sample => ({
  ordersPerSec: seconds > 0 ? orders / seconds : 0,
  mbPerSec: seconds > 0 ? (orders * recordBytes) / (1024 * 1024) / seconds : 0,
});

export const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
