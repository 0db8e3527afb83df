import { monitorEventLoopDelay } from 'node:perf_hooks';
import { redactText } from '../../redact.js';

export interface LivenessReport {
  readonly live: boolean;
  /** Longest event-loop delay in the last window, in milliseconds. */
  readonly eventLoopDelayMaxMs: number;
  readonly eventLoopDelayP99Ms: number;
  readonly fatal?: string;
}

export interface LivenessMonitor {
  markFatal(error: unknown): void;
  report(): LivenessReport;
  stop(): void;
}

/**
 * Liveness = the event loop keeps turning and nothing fatal happened.
 * The delay histogram is rotated every `windowMs`, so one old stall does not
 * keep the process "dead"; a loop blocked longer than `maxDelayMs` in the
 * current or previous window does, and the kubelet restarts the pod after
 * its failureThreshold.
 */
export function startLivenessMonitor({ windowMs = 10_000, maxDelayMs = 5_000 } = {}): LivenessMonitor {
  const current = monitorEventLoopDelay({ resolution: 20 });
  current.enable();
  let previousMaxMs = 0;
  let fatal: string | undefined;
  const rotate = setInterval(() => {
    previousMaxMs = current.max / 1e6;
    current.reset();
  }, windowMs);
  rotate.unref();

  return {
    markFatal(error) {
      // Shown by /healthz: redacted as a log line would be.
      fatal ??= redactText(error instanceof Error ? `${error.name}: ${error.message}` : String(error));
    },
    report() {
      // `max` is 0 before the first sample; the histogram reports ns.
      const maxMs = Math.max(previousMaxMs, current.count > 0 ? current.max / 1e6 : 0);
      const p99Ms = current.count > 0 ? current.percentile(99) / 1e6 : 0;
      const live = fatal === undefined && maxMs <= maxDelayMs;
      return {
        live,
        eventLoopDelayMaxMs: round(maxMs),
        eventLoopDelayP99Ms: round(p99Ms),
        ...(fatal === undefined ? {} : { fatal }),
      };
    },
    stop() {
      clearInterval(rotate);
      current.disable();
    },
  };
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
