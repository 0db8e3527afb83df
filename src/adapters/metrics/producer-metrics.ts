import { Counter, type Registry } from 'prom-client';
import { TallyHistogram } from './tally-histogram.js';
import type { ProducerEventChannel } from '../../ports/events.js';
import { reasonCounter, reasonLabel, SEND_BUCKETS_SECONDS } from './units.js';

/** Producer metrics, fed only by the producer's event bus. */
export function registerProducerMetrics(registry: Registry, bus: ProducerEventChannel): void {
  const registers = [registry];

  // Each send only touches these numbers and a tally; the metrics read them on scrape, because
  // prom-client's inc()/observe() hash their labels on every call (as in consumer-metrics.ts).
  let producedValid = 0;
  let producedInvalid = 0;
  new Counter({
    name: 'orders_produced_total',
    help: 'Orders the broker acknowledged (acks=all), by whether the order was deliberately invalid (valid="false" exercises the DLQ).',
    labelNames: ['valid'] as const,
    registers,
    collect() {
      this.reset();
      this.inc({ valid: 'true' }, producedValid);
      this.inc({ valid: 'false' }, producedInvalid);
    },
  });
  const errors = reasonCounter(
    registers,
    'orders_produce_errors_total',
    'Orders that could not be delivered, by reason (error code from src/errors.ts, or other).',
  );
  const sendDuration = new TallyHistogram(
    {
      name: 'orders_produce_send_duration_seconds',
      help: 'Time from handing an order to the client until the broker acknowledged it or the send failed, by outcome.',
      label: 'outcome',
      buckets: SEND_BUCKETS_SECONDS,
      registers,
    },
    ['acknowledged', 'failed'],
  );

  bus.on('orders.acknowledged', (event) => {
    producedValid += event.valid;
    producedInvalid += event.invalid;
    sendDuration.addMany('acknowledged', event.sendSeconds, event.valid + event.invalid);
  });
  bus.on('orders.failed', (event) => {
    errors.inc({ reason: reasonLabel(event.reason) }, event.count);
    sendDuration.addMany('failed', event.sendSeconds, event.count);
  });
}
