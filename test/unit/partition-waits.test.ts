import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConsumerEventBus } from '../../src/consumer/events.js';
import { PartitionWaits } from '../../src/consumer/partition-waits.js';

describe('partitions waiting for a dependency', () => {
  function setup() {
    let now = 1000;
    const bus = new ConsumerEventBus();
    const events: string[] = [];
    bus.on('partition.waiting', (e) => events.push(`waiting ${e.partition} ${e.dependency} ${e.waits}`));
    bus.on('partition.resumed', (e) =>
      events.push(`resumed ${e.partition} ${e.dependency} ${e.waitedSeconds}`),
    );
    const waits = new PartitionWaits(bus, () => now);
    return { waits, events, advance: (ms: number) => (now += ms) };
  }

  it('when a partition waits again and again, then it counts from its first wait until its record goes on', () => {
    const { waits, events, advance } = setup();
    waits.waiting(2, 'dlq', 'KOS_DLQ_UNWRITABLE', 'orders-dlq refused the dead letter', 1000, 1);
    advance(1000);
    waits.waiting(2, 'dlq', 'KOS_DLQ_UNWRITABLE', 'orders-dlq refused the dead letter', 2000, 2);
    advance(2000);
    assert.throws(
      () => waits.assertNoneWaitFor('dlq'),
      /partition 2 waiting for the dlq for 3 s: KOS_DLQ_UNWRITABLE/,
    );
    assert.equal(waits.assertNoneWaitFor('registry'), true);
    waits.wentOn(2);
    assert.equal(waits.assertNoneWaitFor('dlq'), true);
    assert.deepEqual(events, ['waiting 2 dlq 1', 'waiting 2 dlq 2', 'resumed 2 dlq 3']);
  });

  it('when the group takes a waiting partition away, then it waits here no more', () => {
    const { waits, events } = setup();
    waits.waiting(0, 'registry', 'KOS_REGISTRY_UNAVAILABLE', 'timeout', 1000, 1);
    waits.waiting(1, 'registry', 'KOS_REGISTRY_UNAVAILABLE', 'timeout', 1000, 1);
    waits.keepOnly([1]);
    assert.deepEqual(
      waits.list().map((w) => w.partition),
      [1],
    );
    assert.ok(events.includes('resumed 0 registry 0'));
  });

  it('when a partition that waited for one dependency waits for another, then the first wait ends', () => {
    const { waits, events } = setup();
    waits.waiting(0, 'registry', 'KOS_REGISTRY_UNAVAILABLE', 'timeout', 1000, 1);
    waits.waiting(0, 'dlq', 'KOS_DLQ_UNWRITABLE', 'refused', 1000, 2);
    assert.deepEqual(
      waits.list().map((w) => w.dependency),
      ['dlq'],
    );
    assert.deepEqual(events.slice(1), ['resumed 0 registry 0', 'waiting 0 dlq 2']);
  });
});
