import type { RecordHeaders } from './redrive.js';

/** The W3C Trace Context headers, as Kafka instrumentations put them on records. */
export const TRACE_HEADERS = { parent: 'traceparent', state: 'tracestate' } as const;

export type TraceHeaderName = (typeof TRACE_HEADERS)[keyof typeof TRACE_HEADERS];

/**
 * The largest trace headers read at all: a `traceparent` is 55 characters (version 00; later versions
 * may add fields), a `tracestate` at most 512 (W3C). Anyone can write headers: larger ones are not ours,
 * and are refused before anything (a string, a parse, a span) is made of them.
 */
export const MAX_TRACE_HEADER_BYTES: Readonly<Record<TraceHeaderName, number>> = {
  [TRACE_HEADERS.parent]: 128,
  [TRACE_HEADERS.state]: 512,
};

/** The length of a version 00 `traceparent`: 2 + 1 + 32 + 1 + 16 + 1 + 2. */
const TRACEPARENT_LENGTH = 55;
/** Where its trace flags' second hex digit is, whose lowest bit is `sampled`. */
const SAMPLED_DIGIT_AT = 54;

/**
 * The one reader of trace headers: the value of `name` (the first, when the name is repeated) as it
 * is, or undefined when it is missing or over its limit. Its length is checked before any conversion.
 */
export function boundedTraceHeader(
  headers: RecordHeaders | undefined,
  name: TraceHeaderName,
): Buffer | string | undefined {
  const value = headers?.[name];
  const first = Array.isArray(value) ? (value as readonly (Buffer | string)[])[0] : value;
  if (first === undefined) return undefined;
  const max = MAX_TRACE_HEADER_BYTES[name];
  if (typeof first === 'string') {
    // A character is at least one byte: the length alone refuses a long string without measuring it.
    return first.length <= max && Buffer.byteLength(first) <= max ? first : undefined;
  }
  return (first as Buffer).length <= max ? (first as Buffer) : undefined;
}

/** A trace header within its limit, as text (latin1, as it was written), or undefined. */
export function boundedTraceHeaderText(
  headers: RecordHeaders | undefined,
  name: TraceHeaderName,
): string | undefined {
  const value = boundedTraceHeader(headers, name);
  if (value === undefined) return undefined;
  return typeof value === 'string' ? value : value.toString('latin1');
}

const isLowerHex = (code: number): boolean => (code >= 48 && code <= 57) || (code >= 97 && code <= 102);

/** Whether `text` from `from` to `to` is lowercase hex, and (with `nonZero`) not all zeros. */
function hexRun(text: string, from: number, to: number, nonZero: boolean): boolean {
  let zeros = true;
  for (let i = from; i < to; i += 1) {
    const code = text.charCodeAt(i);
    if (!isLowerHex(code)) return false;
    if (code !== 48) zeros = false;
  }
  return !(nonZero && zeros);
}

/**
 * Whether `value` is a W3C `traceparent`: version-traceid-spanid-flags in lowercase hex, the ids not
 * all zeros, version `ff` refused, version 00 exactly 55 characters, a later version 55 or more with
 * a `-` after the flags (the fields it may add). The same rules as OpenTelemetry's parser, without
 * its tolerance of surrounding whitespace.
 */
export function isTraceparent(value: string): boolean {
  if (value.length < TRACEPARENT_LENGTH) return false;
  if (value[2] !== '-' || value[35] !== '-' || value[52] !== '-') return false;
  if (!hexRun(value, 0, 2, false) || value.startsWith('ff')) return false;
  if (!hexRun(value, 3, 35, true) || !hexRun(value, 36, 52, true) || !hexRun(value, 53, 55, false))
    return false;
  if (value.startsWith('00')) return value.length === TRACEPARENT_LENGTH;
  return value.length === TRACEPARENT_LENGTH || value[TRACEPARENT_LENGTH] === '-';
}

/**
 * The sampled flag of a record's `traceparent`, read from one byte: true or false, or undefined when
 * the record has none (or one that is too short or too long to be one). The rest of it is not checked:
 * this is what the consumer asks of each order of a run, so it must cost next to nothing.
 */
export function traceparentSampled(headers: RecordHeaders | undefined): boolean | undefined {
  const value = boundedTraceHeader(headers, TRACE_HEADERS.parent);
  if (value === undefined || value.length < TRACEPARENT_LENGTH) return undefined;
  const code = typeof value === 'string' ? value.charCodeAt(SAMPLED_DIGIT_AT) : value[SAMPLED_DIGIT_AT];
  // The flags' second hex digit: 0-9 (48-57) or a-f (97-102); odd values have the sampled bit.
  if (code === undefined) return undefined;
  const digit = code >= 97 ? code - 87 : code - 48;
  return (digit & 1) === 1;
}

/**
 * A record's trace context headers, to go on with what is made of it (its dead letter, a redrive of
 * that dead letter): the trace goes on even where nothing traces. Only a `traceparent` within its limit
 * and in the W3C format is carried, and a `tracestate` (within its limit) only beside it. Where tracing
 * is on, the span that sends the new record replaces them with its own context.
 */
export function carriedTraceHeaders(headers: RecordHeaders | undefined): Record<string, Buffer> {
  const carried: Record<string, Buffer> = {};
  const parent = boundedTraceHeaderText(headers, TRACE_HEADERS.parent);
  if (parent === undefined || !isTraceparent(parent)) return carried;
  carried[TRACE_HEADERS.parent] = Buffer.from(parent, 'latin1');
  const state = boundedTraceHeader(headers, TRACE_HEADERS.state);
  if (state !== undefined)
    carried[TRACE_HEADERS.state] = typeof state === 'string' ? Buffer.from(state) : state;
  return carried;
}
