import { EventEmitter } from 'node:events';
import type { ConsumerEvents } from '../ports/events.js';

/** The consumer's event channel (ports/events.ts lists the events); metrics and console output subscribe here. */
export class ConsumerEventBus extends EventEmitter<ConsumerEvents> {}
