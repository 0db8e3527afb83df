import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PartitionRetries } from '../../src/consumer/partition-retries.js';
import { waitUntil } from '../helpers/wait.js';

/** kafkajs's pause() for one partition, recording what happened to it. */
function partitionSwitch() {
  const state = { paused: false, pauses: 0, resumes: 0 };
  const pause = () => {
    state.paused = true;
    state.pauses += 1;
    return () => {
      state.paused = false;
      state.resumes += 1;
    };
  };
  return { state, pause };
}

describe('partition retries', () => {
  it('when a record is parked, then only its partition is paused, and it resumes after the backoff', async () => {
    const retries = new PartitionRetries();
    const p0 = partitionSwitch();
    retries.park(0, '42', { attempt: 2, startedAt: 1 }, 30, p0.pause);
    assert.equal(p0.state.paused, true);
    await waitUntil('partition 0 to resume', () => !p0.state.paused, 2000, 5);
    assert.equal(p0.state.resumes, 1);
  });

  it('when the parked record comes back after its backoff, then it continues with its next attempt, once', () => {
    let now = 1000;
    const retries = new PartitionRetries(() => now);
    retries.park(1, '42', { attempt: 2, startedAt: 7 }, 500, partitionSwitch().pause);
    now = 1500;
    assert.deepEqual(retries.take(1, '42'), { due: true, soFar: { attempt: 2, startedAt: 7, waits: 0 } });
    assert.equal(retries.take(1, '42'), undefined, 'used up');
    assert.equal(retries.size, 0);
  });

  it('when a record waited for a dependency, then it comes back with its waits so far, so the next wait grows', () => {
    let now = 1000;
    const retries = new PartitionRetries(() => now);
    retries.park(1, '42', { attempt: 1, startedAt: 7, waits: 4 }, 500, partitionSwitch().pause);
    now = 1500;
    assert.deepEqual(retries.take(1, '42'), { due: true, soFar: { attempt: 1, startedAt: 7, waits: 4 } });
  });

  it('when a partition waits at a position, then a next batch that starts past it still counts, and one before it does not', () => {
    let now = 1000;
    const retries = new PartitionRetries(() => now);
    const park = () =>
      retries.park(1, '40', { attempt: 1, startedAt: 7, waits: 2 }, 500, partitionSwitch().pause, true);
    park();
    now = 1500;
    // Offset 40 held a transaction marker: the first record after the position is 42.
    assert.deepEqual(retries.take(1, '42'), { due: true, soFar: { attempt: 1, startedAt: 7, waits: 2 } });
    park();
    assert.equal(retries.take(1, '39'), undefined);
  });

  it('when the parked record comes back early (kafkajs restarted its consumer), then it is told how long to wait on', () => {
    let now = 1000;
    const retries = new PartitionRetries(() => now);
    retries.park(1, '42', { attempt: 2, startedAt: 7 }, 500, partitionSwitch().pause);
    now = 1200;
    assert.deepEqual(retries.take(1, '42'), {
      due: false,
      soFar: { attempt: 2, startedAt: 7, waits: 0 },
      remainingMs: 300,
      atOrAfter: false,
    });
  });

  it('when a batch of a partition we no longer own ends in a retry, then nothing is parked or paused', () => {
    const retries = new PartitionRetries();
    const p2 = partitionSwitch();
    retries.keepOnly([0, 1]);
    assert.equal(retries.park(2, '9', { attempt: 2, startedAt: 0 }, 10_000, p2.pause), false);
    assert.equal(p2.state.pauses, 0);
    assert.equal(retries.size, 0);
  });

  it('when the partition comes back at another offset, then the record starts again at attempt 1', () => {
    const retries = new PartitionRetries();
    retries.park(1, '42', { attempt: 2, startedAt: 7 }, 10_000, partitionSwitch().pause);
    assert.equal(retries.take(1, '40'), undefined);
    assert.equal(retries.take(2, '42'), undefined, 'other partitions have nothing parked');
    assert.equal(retries.size, 0);
  });

  it('when a partition is revoked, then its parked record is dropped and the partition is not left paused', () => {
    const retries = new PartitionRetries();
    const p0 = partitionSwitch();
    const p1 = partitionSwitch();
    retries.park(0, '5', { attempt: 2, startedAt: 0 }, 10_000, p0.pause);
    retries.park(1, '9', { attempt: 3, startedAt: 0 }, 10_000, p1.pause);
    retries.keepOnly([1]);
    assert.equal(p0.state.paused, false);
    assert.equal(p1.state.paused, true);
    assert.equal(retries.size, 1);
    retries.clear();
    assert.equal(p1.state.paused, false);
    assert.equal(retries.size, 0);
  });
});
