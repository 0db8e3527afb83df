import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { byCategory, byFunction, categoryOf, type CpuProfile } from '../../bench/profile-summary.js';

const frame = (functionName: string, url: string, lineNumber = 0) => ({ functionName, url, lineNumber });

describe('bench CPU profile summary', () => {
  it('when frames come from packages, our code, node or V8, then each lands in its category', () => {
    assert.equal(
      categoryOf(frame('decode', 'file:///work/main/node_modules/kafkajs/src/protocol/decoder.js')),
      'kafkajs',
    );
    assert.equal(
      categoryOf(frame('observe', 'file:///r/node_modules/@kafkajs/confluent-schema-registry/dist/x.js')),
      '@kafkajs/confluent-schema-registry',
    );
    assert.equal(
      categoryOf(frame('handle', 'file:///work/main/src/consumer/order-processor.ts')),
      'ours:src/consumer/order-processor.ts',
    );
    assert.equal(categoryOf(frame('emit', 'node:events')), 'node');
    assert.equal(categoryOf(frame('(garbage collector)', '')), '(garbage collector)');
    assert.equal(categoryOf(frame('BigInt', '')), '(native)');
  });

  it('when samples are summed, then self time is attributed by category and by function, largest first', () => {
    const profile: CpuProfile = {
      nodes: [
        { id: 1, callFrame: frame('(root)', '') },
        { id: 2, callFrame: frame('decode', 'file:///x/node_modules/avsc/lib/types.js', 9) },
        { id: 3, callFrame: frame('handle', 'file:///x/src/consumer/order-processor.ts', 41) },
      ],
      samples: [2, 3, 2, 2],
      timeDeltas: [1000, 500, 1000, 500],
    };
    assert.deepEqual(byCategory(profile), [
      { name: 'avsc', ms: 2.5, share: 2.5 / 3 },
      { name: 'ours:src/consumer/order-processor.ts', ms: 0.5, share: 0.5 / 3 },
    ]);
    assert.equal(byFunction(profile)[0]?.name, 'decode avsc:10');
  });
});
