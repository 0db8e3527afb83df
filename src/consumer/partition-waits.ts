import type { Dependency } from '../errors.js';
import type { ConsumerEventChannel } from '../ports/events.js';

/** One partition that waits for a dependency. */
export interface PartitionWait {
  readonly partition: number;
  readonly dependency: Dependency;
  /** performance.now() of its first wait in a row. */
  readonly since: number;
  /** The error code and message of its latest wait. */
  readonly reason: string;
  readonly message: string;
}

/**
 * Which partitions wait for a dependency that is down, and since when: what /readyz and the
 * waiting metrics report. A partition waits from its record's first wait until that record goes on
 * (or the partition is given to another member).
 */
export class PartitionWaits {
  readonly #waits = new Map<number, PartitionWait>();

  constructor(
    private readonly bus: ConsumerEventChannel,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** `partition` waits again, for `dependency`. */
  waiting(
    partition: number,
    dependency: Dependency,
    reason: string,
    message: string,
    delayMs: number,
    waits: number,
  ): void {
    const previous = this.#waits.get(partition);
    const since = previous?.dependency === dependency ? previous.since : this.now();
    if (previous && previous.dependency !== dependency) this.#resume(partition, previous);
    this.#waits.set(partition, { partition, dependency, since, reason, message });
    this.bus.emit('partition.waiting', { partition, dependency, reason, delayMs, waits });
  }

  /** A record of `partition` went on: whatever it waited for is back. */
  wentOn(partition: number): void {
    const wait = this.#waits.get(partition);
    if (wait) this.#resume(partition, wait);
  }

  /** The group's new assignment: partitions that are gone wait here no more. */
  keepOnly(partitions: readonly number[]): void {
    const kept = new Set(partitions);
    for (const [partition, wait] of [...this.#waits]) if (!kept.has(partition)) this.#resume(partition, wait);
  }

  /** The partitions waiting for `dependency` (all of them when undefined), oldest wait first. */
  list(dependency?: Dependency): PartitionWait[] {
    return [...this.#waits.values()]
      .filter((w) => dependency === undefined || w.dependency === dependency)
      .sort((a, b) => a.since - b.since);
  }

  /**
   * For a readiness check: true when no partition waits for `dependency`; otherwise throws, naming the
   * partitions, since when, and the latest reason (what /readyz shows).
   */
  assertNoneWaitFor(dependency: Dependency): true {
    const waiting = this.list(dependency);
    if (waiting.length === 0) return true;
    const oldest = waiting[0] as PartitionWait;
    const seconds = Math.round((this.now() - oldest.since) / 1000);
    throw new Error(
      `partition${waiting.length === 1 ? '' : 's'} ${waiting.map((w) => w.partition).join(', ')} ` +
        `waiting for the ${dependency} for ${seconds} s: ${oldest.reason}: ${oldest.message.slice(0, 300)}`,
    );
  }

  #resume(partition: number, wait: PartitionWait): void {
    this.#waits.delete(partition);
    this.bus.emit('partition.resumed', {
      partition,
      dependency: wait.dependency,
      waitedSeconds: Math.max(0, this.now() - wait.since) / 1000,
    });
  }
}
