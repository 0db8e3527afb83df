/**
 * The redrive mark: headers that `npm run dlq -- replay` puts on a dead letter it sends back to its
 * topic, and that the consumer carries onto the dead letter when a redriven order fails again, so the
 * next replay counts one more. Only these two headers travel; everything else about a failure is in
 * the dead-letter headers (dead-letter.ts).
 */
export const REDRIVE_HEADERS = {
  /** How many times the order was replayed from a DLQ: 1 on its first redrive (decimal, UTF-8). */
  count: 'kos-redrive-count',
  /** The dead letter it was replayed from, `<dlq topic>/<partition>/<offset>` (UTF-8). */
  from: 'kos-redriven-from',
} as const;

/** A record's headers as Kafka clients give them: one value, or several for a repeated name. */
export type RecordHeaders = Readonly<
  Record<string, Buffer | string | readonly (Buffer | string)[] | undefined>
>;

export interface RedriveHistory {
  /** Redrives so far, at least 1. */
  readonly count: number;
  /** The dead letter of the latest redrive, `<dlq topic>/<partition>/<offset>`. */
  readonly from: string;
}

/**
 * Anyone can write headers: only a history that could be ours is carried onto a dead letter, so a
 * forged one can neither make a dead letter too large to write nor an absurd count.
 */
const MAX_COUNT_DIGITS = 6;
/** A topic name (at most 249 characters), a partition and an offset, with room to spare. */
const MAX_FROM_CHARS = 300;
const FROM_PATTERN = /^[a-zA-Z0-9._-]{1,249}\/\d{1,10}\/\d{1,19}$/;

/** The first value of header `name`, as bytes. */
export function headerBytes(headers: RecordHeaders | undefined, name: string): Buffer | undefined {
  const value = headers?.[name];
  const first = Array.isArray(value) ? (value as readonly (Buffer | string)[])[0] : value;
  if (first === undefined) return undefined;
  return Buffer.isBuffer(first) ? first : Buffer.from(first as string);
}

/**
 * Whether the record carries a redrive mark. This is the one question the consumer asks of every
 * good order (a property lookup): the history itself is parsed only for the records that have one.
 */
export function isRedriven(headers: RecordHeaders | undefined): boolean {
  return headers !== undefined && headers[REDRIVE_HEADERS.count] !== undefined;
}

/** The redrive history of a record (or of a dead letter, which carries its record's), when well-formed. */
export function redriveHistoryOf(headers: RecordHeaders | undefined): RedriveHistory | undefined {
  if (!isRedriven(headers)) return undefined;
  const count = headerBytes(headers, REDRIVE_HEADERS.count);
  const from = headerBytes(headers, REDRIVE_HEADERS.from);
  if (count === undefined || from === undefined) return undefined;
  if (count.length > MAX_COUNT_DIGITS || from.length > MAX_FROM_CHARS) return undefined;
  const countText = count.toString('utf8');
  const fromText = from.toString('utf8');
  if (!/^[1-9]\d*$/.test(countText) || !FROM_PATTERN.test(fromText)) return undefined;
  return { count: Number(countText), from: fromText };
}

/** The headers that carry `history`. */
export function redriveHeaders(history: RedriveHistory): Record<string, Buffer> {
  return {
    [REDRIVE_HEADERS.count]: Buffer.from(String(history.count)),
    [REDRIVE_HEADERS.from]: Buffer.from(history.from),
  };
}

/** Where a dead letter lies in the DLQ. */
export interface DlqPosition {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
}

/** The history of a dead letter replayed from `position`: one redrive more than it carries. */
export function nextRedrive(deadLetterHeaders: RecordHeaders, position: DlqPosition): RedriveHistory {
  const previous = redriveHistoryOf(deadLetterHeaders)?.count ?? 0;
  return { count: previous + 1, from: `${position.topic}/${position.partition}/${position.offset}` };
}
