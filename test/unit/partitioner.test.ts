import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { installedMurmur2, partitionerIsLinear } from '../../src/adapters/kafka/partitioner-guard.js';

describe("kafkajs's default partitioner (patches/kafkajs+2.2.4.patch)", () => {
  const murmur2 = installedMurmur2();

  it('when keys are hashed, then the results are those of the Java client (Utils.murmur2)', () => {
    // From org.apache.kafka.common.utils.Utils.murmur2 of kafka-clients 4.3.1.
    const java = { '0': 971027396, '1': -1993445489, '128': -326012175, '2187': -1508407203 };
    for (const [key, hash] of Object.entries(java)) assert.equal(murmur2(key), hash, key);
    assert.equal(murmur2(Buffer.from('1')), -1993445489);
  });

  it('when a key is megabytes long (a hostile one, kept by its dead letter), then hashing it takes milliseconds', () => {
    const started = performance.now();
    murmur2(Buffer.alloc(2_000_000, 0x6b));
    // Unpatched, 200 kB already took 6 s, and time grows with the square of the length.
    assert.ok(performance.now() - started < 500, `${(performance.now() - started).toFixed(0)} ms`);
  });

  it('when the consumer starts, then its check finds the patch installed', () => {
    assert.equal(partitionerIsLinear(), true);
  });
});
