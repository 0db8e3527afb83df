import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  parseConsumerPerformanceDetailed,
  parseJavaVersion,
  parseProducerPerformance,
} from '../../bench/java-tools.js';

// Verbatim output of kafka-tools 4.3.1 against the local broker.
const PRODUCER_OUTPUT = `Option --producer-props has been deprecated and will be removed in a future version. Use --command-property instead.
61905 records sent, 12381.0 records/sec (0.31 MB/sec), 53.1 ms avg latency, 912.0 ms max latency.
20000 records sent, 9803.921569 records/sec (0.37 MB/sec), 172.59 ms avg latency, 1334.00 ms max latency, 137 ms 50th, 406 ms 95th, 428 ms 99th, 436 ms 99.9th.
`;

// --show-detailed-stats --reporting-interval 100: cumulative totals per interval, no summary line.
const CONSUMER_OUTPUT = `time, threadId, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec
2026-11-27 16:24:44:974, 0, 0.0000, 0.0000, 1, 0.2970, 2524, 843, 0.0000, 1.1862
2026-11-27 16:24:45:075, 0, 0.0372, 0.3683, 1501, 14851.4851, 0, 101, 0.3683, 14851.4851
2026-11-27 16:24:45:177, 0, 0.1612, 1.2155, 6501, 49019.6078, 0, 102, 1.2155, 49019.6078
2026-11-27 16:24:45:306, 0, 0.3844, 1.7299, 15501, 69767.4419, 0, 129, 1.7299, 69767.4419
2026-11-27 16:24:45:416, 0, 0.5331, 1.3525, 21501, 54545.4545, 0, 110, 1.3525, 54545.4545
2026-11-27 16:24:45:560, 0, 0.5703, 0.2583, 23001, 10416.6667, 0, 144, 0.2583, 10416.6667
2026-11-27 16:24:45:678, 0, 0.8927, 2.7317, 36001, 110169.4915, 0, 118, 2.7317, 110169.4915
`;

describe('parsing the Java perf tools', () => {
  it('when ProducerPerformance finishes, then its summary line (not a periodic one) gives rate and percentiles', () => {
    assert.deepEqual(parseProducerPerformance(PRODUCER_OUTPUT), {
      records: 20000,
      recordsPerSec: 9803.921569,
      mbPerSec: 0.37,
      avgLatencyMs: 172.59,
      maxLatencyMs: 1334,
      p50Ms: 137,
      p95Ms: 406,
      p99Ms: 428,
    });
  });

  it('when ProducerPerformance ran with warm-up records, then the steady-state line is the result', () => {
    const output = `Warmup first 20000 records. Steady state results will print after the complete test summary.
40000 records sent, 6553.079948 records/sec (0.16 MB/sec), 414.38 ms avg latency, 3228.00 ms max latency, 402 ms 50th, 765 ms 95th, 802 ms 99th, 810 ms 99.9th.
20000 steady state records sent, 17021.276596 records/sec (0.42 MB/sec), 366.04 ms avg latency, 479.00 ms max latency, 386 ms 50th, 470 ms 95th, 478 ms 99th, 479 ms 99.9th.
`;
    const result = parseProducerPerformance(output);
    assert.equal(result.records, 20000);
    assert.equal(result.recordsPerSec, 17021.276596);
    assert.equal(result.p99Ms, 478);
  });

  it('when ProducerPerformance printed no summary, then parsing fails with the output', () => {
    assert.throws(
      () => parseProducerPerformance('Exception in thread "main" TimeoutException'),
      /no ProducerPerformance summary.*TimeoutException/s,
    );
  });

  it('when ConsumerPerformance reports intervals, then the rate runs from the first interval past the warm-up to the last', () => {
    const result = parseConsumerPerformanceDetailed(`some log line\n${CONSUMER_OUTPUT}`, 10_000);
    assert.equal(result.records, 36001);
    // 15501 → 36001 records between 16:24:45.306 and 16:24:45.678
    assert.equal(result.timedRecords, 20500);
    assert.ok(Math.abs(result.recordsPerSec - 20500 / 0.372) < 1e-6);
  });

  it('when the warm-up covers every interval, then the rate runs from the second interval (the first includes the join)', () => {
    const result = parseConsumerPerformanceDetailed(CONSUMER_OUTPUT, 1_000_000);
    assert.equal(result.timedRecords, 36001 - 1501);
  });

  it('when a short run printed only two intervals, then the rate runs between them', () => {
    const twoPoints = [
      'time, threadId, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec',
      '2026-11-27 17:50:26:957, 0, 0.0000, 0.0001, 1, 2.0000, 430, 70, 0.0004, 14.2857',
      '2026-11-27 17:50:26:976, 0, 0.0291, 1.5298, 1001, 52631.5789, 0, 19, 1.5298, 52631.5789',
    ].join('\n');
    const result = parseConsumerPerformanceDetailed(twoPoints, 3000);
    assert.equal(result.timedRecords, 1000);
    assert.ok(result.recordsPerSec > 0);
  });

  it('when ConsumerPerformance printed only its header, then parsing fails', () => {
    assert.throws(
      () => parseConsumerPerformanceDetailed(CONSUMER_OUTPUT.split('\n')[0] ?? '', 0),
      /no ConsumerPerformance interval stats/,
    );
  });

  it('when java -version answers, then the version string is taken from the quotes', () => {
    assert.equal(
      parseJavaVersion('openjdk version "17.0.15" 2025-04-15\nOpenJDK Runtime Environment'),
      '17.0.15',
    );
    assert.equal(parseJavaVersion('bash: java: command not found'), undefined);
  });
});
