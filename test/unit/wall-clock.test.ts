import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WallClock } from '../../src/consumer/wall-clock.js';

describe('WallClock', () => {
  it('turns a monotonic reading into epoch milliseconds without reading the wall clock each time', () => {
    const wall = 1_700_000_000_000;
    const monotonic = 500;
    let wallReads = 0;
    const clock = new WallClock(
      () => {
        wallReads += 1;
        return wall;
      },
      () => monotonic,
    );
    assert.equal(clock.at(500), 1_700_000_000_000);
    assert.equal(clock.at(750.5), 1_700_000_000_250.5);
    assert.equal(wallReads, 1);
  });

  it('re-anchors after a second, so a step of the wall clock (NTP) shows up', () => {
    let wall = 1_000_000;
    let monotonic = 0;
    const clock = new WallClock(
      () => wall,
      () => monotonic,
    );
    assert.equal(clock.at(0), 1_000_000);
    wall = 5_000_000 + 1000;
    monotonic = 1000;
    assert.equal(clock.at(1000), 5_001_000);
  });

  it('re-anchors when handed a reading older than its anchor', () => {
    let monotonic = 2000;
    const clock = new WallClock(
      () => 10_000 + monotonic,
      () => monotonic,
    );
    assert.equal(clock.at(2000), 12_000);
    monotonic = 1500;
    assert.equal(clock.at(1500), 11_500);
  });
});
