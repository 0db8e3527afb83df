import { Counter, Histogram, type Registry } from 'prom-client';
import type { ProducerEventChannel } from '../../ports/events.js';
import { reasonCounter, reasonLabel, SEND_BUCKETS_SECONDS } from './units.js';

/** Producer metrics, fed only by the producer's event bus. */
export function registerProducerMetrics(registry: Registry, bus: ProducerEventChannel): void {
  const registers = [registry];

  const produced = new Counter({
    name: 'orders_produced_total',
    help: 'Orders the broker acknowledged (acks=all), by whether the order was deliberately invalid (valid="false" exercises the DLQ).',
    labelNames: ['valid'] as const,
    registers,
  });
  const errors = reasonCounter(
    registers,
    'orders_produce_errors_total',
    'Orders that could not be delivered, by reason (error code from src/errors.ts, or other).',
  );
  const sendDuration = new Histogram({
    name: 'orders_produce_send_duration_seconds',
    help: 'Time from handing an order to the client until the broker acknowledged it or the send failed, by outcome.',
    labelNames: ['outcome'] as const,
    buckets: [...SEND_BUCKETS_SECONDS],
    registers,
  });

  produced.inc({ valid: 'true' }, 0);
  produced.inc({ valid: 'false' }, 0);
  sendDuration.zero({ outcome: 'acknowledged' });
  sendDuration.zero({ outcome: 'failed' });

  bus.on('order.acknowledged', (event) => {
    produced.inc({ valid: String(event.valid) });
    sendDuration.observe({ outcome: 'acknowledged' }, event.sendSeconds);
  });
  bus.on('order.failed', (event) => {
    errors.inc({ reason: reasonLabel(event.reason) });
    sendDuration.observe({ outcome: 'failed' }, event.sendSeconds);
  });
}
