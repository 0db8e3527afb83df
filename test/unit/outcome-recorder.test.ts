import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { ConsumerEventBus } from '../../src/consumer/events.js';
import type { ConsumerEvents } from '../../src/ports/events.js';
import { OrderRun } from '../../src/consumer/order-run.js';
import { OutcomeRecorder } from '../../src/consumer/outcome-recorder.js';
import { RunningAverage } from '../../src/domain/running-average.js';
import { WallClock } from '../../src/consumer/wall-clock.js';

type Processed = ConsumerEvents['orders.processed'][0];

function setup(level: string) {
  const average = new RunningAverage();
  const bus = new ConsumerEventBus();
  const events: Processed[] = [];
  bus.on('orders.processed', (event) =>
    events.push({ ...event, endToEndSeconds: [...Array.from(event.endToEndSeconds)] }),
  );
  // The wall clock reads 10,000 ms at performance.now() 0.
  const wallClock = new WallClock(
    () => 10_000,
    () => 0,
  );
  const recorder = new OutcomeRecorder({ average, bus, logger: pino({ level }), wallClock });
  return { average, events, recorder };
}

describe('outcome recorder', () => {
  it('when the per-order console lines are on (info), then each order wants an outcome of its own', () => {
    assert.equal(setup('info').recorder.wantsEachOrder, true);
    assert.equal(setup('warn').recorder.wantsEachOrder, false);
  });

  it('when a run is recorded, then the average, the counters and one event take all its orders', () => {
    const { average, events, recorder } = setup('warn');
    average.add(100n);
    const run = new OrderRun(0, 3);
    run.add(200, 9_000, '7', 0);
    run.add(300, 0, '8', 1);
    run.add(400, 9_500, '9', 2);
    run.finishedAt = 0;
    recorder.recordRun(2, run);
    assert.equal(average.count, 4n);
    assert.equal(average.sumCents, 1000n);
    assert.equal(recorder.counters.processed, 3);
    assert.deepEqual(events, [
      { partition: 2, count: 3, priceSumCents: 900n, durationSeconds: 0, endToEndSeconds: [1, 0.5] },
    ]);
  });
});
