import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { imageConsumerNodeFlags } from '../../bench/compiled.js';

describe('bench: the consumer as the image runs it', () => {
  it('when the memory scenario starts the consumer, then it gets the image heap sizes that bound its peak RSS', () => {
    // The memory scenario's peak RSS is the image's only if the flags of the Dockerfile (ENTRYPOINT and
    // the consumer stage's NODE_OPTIONS) reach the process; without the heap sizes it measures 200-460 MB.
    const flags = imageConsumerNodeFlags();
    assert.ok(flags.includes('--enable-source-maps'), JSON.stringify(flags));
    assert.ok(
      flags.some((f) => /^--max-semi-space-size=\d+$/.test(f)),
      JSON.stringify(flags),
    );
    assert.ok(
      flags.some((f) => /^--max-old-space-size=\d+$/.test(f)),
      JSON.stringify(flags),
    );
  });
});
