import { EventEmitter } from 'node:events';
import type { ProducerEvents } from '../ports/events.js';

/** The producer's event channel (ports/events.ts lists the events). */
export class ProducerEventBus extends EventEmitter<ProducerEvents> {}
