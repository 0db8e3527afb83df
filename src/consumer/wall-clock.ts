/**
 * Wall-clock milliseconds for a performance.now() reading, without a Date.now()
 * per record (a clock read costs as much as validating an order on a virtual
 * machine). Re-anchored once a second, so NTP steps show up within a second.
 */
export class WallClock {
  #anchorMonotonic = Number.NEGATIVE_INFINITY;
  #anchorWall = 0;

  constructor(
    private readonly readWall: () => number = Date.now,
    private readonly readMonotonic: () => number = () => performance.now(),
    private readonly reanchorMs = 1000,
  ) {}

  /** Epoch milliseconds at the moment `monotonic` (a performance.now() value) was read. */
  at(monotonic: number): number {
    if (monotonic - this.#anchorMonotonic >= this.reanchorMs || monotonic < this.#anchorMonotonic) {
      this.#anchorMonotonic = this.readMonotonic();
      this.#anchorWall = this.readWall();
    }
    return this.#anchorWall + (monotonic - this.#anchorMonotonic);
  }
}
