import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FetchSplitClock } from '../../bench/fetch-split-clock.js';

describe('bench fetch split', () => {
  it('when fetches and batch handling alternate, then each side gets its own time per record', () => {
    const clock = new FetchSplitClock();
    clock.fetchStarted(0);
    clock.fetchEnded(30); // 30 ms inside
    clock.fetchStarted(40); // 10 ms handling
    clock.fetchEnded(70); // 30 ms inside
    clock.finish(90); // the last batch took 20 ms
    assert.deepEqual(clock.perRecord(1000), { fetches: 2, insideUs: 60, betweenUs: 30 });
  });

  it('when the last record is done, then the fetch kafkajs starts next (waiting at the end of the log) is left out', () => {
    const clock = new FetchSplitClock();
    clock.fetchStarted(0);
    clock.fetchEnded(10);
    clock.finish(15);
    clock.fetchStarted(15);
    clock.fetchEnded(515);
    assert.deepEqual(clock.perRecord(100), { fetches: 1, insideUs: 100, betweenUs: 50 });
  });
});
