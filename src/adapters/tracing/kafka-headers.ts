import type { TextMapGetter, TextMapSetter } from '@opentelemetry/api';
import type { RecordHeaders } from '../../domain/redrive.js';
import { boundedTraceHeaderText, TRACE_HEADERS, type TraceHeaderName } from '../../domain/trace-headers.js';

const isTraceHeader = (key: string): key is TraceHeaderName =>
  key === TRACE_HEADERS.parent || key === TRACE_HEADERS.state;

/**
 * How the W3C propagator reads a record's headers: only the two trace headers, each through the
 * domain's bounded reader, so one over its limit (a hostile 1 MB `tracestate`, which every child span
 * would keep) is refused before it becomes a string.
 */
export const headerGetter: TextMapGetter<RecordHeaders> = {
  keys: () => [TRACE_HEADERS.parent, TRACE_HEADERS.state],
  get: (carrier, key) => (isTraceHeader(key) ? boundedTraceHeaderText(carrier, key) : undefined),
};

/** How the W3C propagator writes headers we send. */
export const headerSetter: TextMapSetter<Record<string, Buffer>> = {
  set: (carrier, key, value) => {
    carrier[key] = Buffer.from(value, 'latin1');
  },
};
