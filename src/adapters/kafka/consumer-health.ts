import type { Consumer } from 'kafkajs';

export interface ConsumerHealthOptions {
  readonly consumer: Consumer;
  readonly ordersTopic: string;
  /** The consumer joined the group with these partitions of the orders topic (sorted; maybe none). */
  readonly onJoin: (partitions: number[]) => void;
  readonly onRebalance: () => void;
}

/**
 * Follows the consumer's instrumentation events to answer "am I connected
 * and a member of the group right now?" for /readyz.
 */
export class ConsumerHealth {
  connected = false;
  joined = false;
  /** Set when kafkajs gave up on the consumer for good. */
  fatal: Error | undefined;
  assignedPartitions: number[] = [];

  constructor({ consumer, ordersTopic, onJoin, onRebalance }: ConsumerHealthOptions) {
    const { CONNECT, DISCONNECT, GROUP_JOIN, REBALANCING, CRASH, STOP } = consumer.events;
    consumer.on(CONNECT, () => {
      this.connected = true;
    });
    consumer.on(DISCONNECT, () => {
      this.connected = false;
      this.joined = false;
    });
    consumer.on(STOP, () => {
      this.joined = false;
    });
    consumer.on(GROUP_JOIN, (event) => {
      this.joined = true;
      this.assignedPartitions = [...(event.payload.memberAssignment[ordersTopic] ?? [])].sort(
        (a, b) => a - b,
      );
      onJoin(this.assignedPartitions);
    });
    consumer.on(REBALANCING, () => {
      this.joined = false;
      onRebalance();
    });
    consumer.on(CRASH, (event) => {
      this.joined = false;
      if (!event.payload.restart) this.fatal = event.payload.error;
    });
  }
}
