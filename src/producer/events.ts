import { EventEmitter } from 'node:events';

/** What the producer reports; metrics and console output subscribe here. */
export interface ProducerEvents {
  /** The broker acknowledged an order (acks=all). */
  'order.acknowledged': [{ partition: number; offset: string; sendSeconds: number; valid: boolean }];
  /** An order could not be delivered. */
  'order.failed': [{ reason: string; sendSeconds: number }];
}

export class ProducerEventBus extends EventEmitter<ProducerEvents> {}
