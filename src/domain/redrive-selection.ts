import { DLQ_HEADERS, type DecodedDeadLetterHeaders } from './dead-letter.js';

/**
 * Which dead letters a replay (or a summary) takes. Every filter given must hold; the values of a
 * repeated one (codes, keys) are alternatives. Offsets and the partition are the original record's
 * (the Spring headers), times are the failure's (`kos-failed-at`).
 */
export interface RedriveFilter {
  /** `kos-error-code` is one of these. */
  readonly codes?: ReadonlySet<string>;
  /** The original record's partition (`kafka_dlt-original-partition`). */
  readonly partition?: number;
  /** The original record's offset (`kafka_dlt-original-offset`) is at least this. */
  readonly fromOffset?: bigint;
  /** ... and at most this (inclusive). */
  readonly toOffset?: bigint;
  /** The failure (`kos-failed-at`) is at or after this, in ms since the epoch. */
  readonly sinceMs?: number;
  /** ... and before this (exclusive). */
  readonly untilMs?: number;
  /** The record key, read as UTF-8, is one of these. */
  readonly keys?: ReadonlySet<string>;
}

/** A dead letter as the filters see it. */
export interface FilterableDeadLetter {
  readonly headers: DecodedDeadLetterHeaders;
  readonly key: Buffer | null;
}

export function matchesFilter(letter: FilterableDeadLetter, filter: RedriveFilter): boolean {
  const { headers } = letter;
  if (filter.codes && !filter.codes.has(headers.errorCode)) return false;
  if (filter.partition !== undefined && headers.originalPartition !== filter.partition) return false;
  if (filter.fromOffset !== undefined || filter.toOffset !== undefined) {
    const offset = BigInt(headers.originalOffset);
    if (filter.fromOffset !== undefined && offset < filter.fromOffset) return false;
    if (filter.toOffset !== undefined && offset > filter.toOffset) return false;
  }
  if (filter.sinceMs !== undefined || filter.untilMs !== undefined) {
    // A failure time that does not parse is in no time range.
    const failedAt = Date.parse(headers.failedAt);
    if (Number.isNaN(failedAt)) return false;
    if (filter.sinceMs !== undefined && failedAt < filter.sinceMs) return false;
    if (filter.untilMs !== undefined && failedAt >= filter.untilMs) return false;
  }
  if (filter.keys && !(letter.key !== null && filter.keys.has(letter.key.toString('utf8')))) return false;
  return true;
}

/**
 * Why a dead letter cannot go back as the record it was, or undefined when it can: its value or key
 * was cut to fit the DLQ (only the length and SHA-256 of the original are left), or it stands for a
 * whole record batch that could not be read (its value is the batch's records section, not a record).
 */
export function whyNotReplayable(headers: DecodedDeadLetterHeaders): string | undefined {
  if (headers.originalValue !== undefined)
    return `its value was cut to fit the DLQ (${DLQ_HEADERS.originalValueLength} ${headers.originalValue.length}); only its length and SHA-256 are left`;
  if (headers.originalKey !== undefined)
    return `its key was cut to fit the DLQ (${DLQ_HEADERS.originalKeyLength} ${headers.originalKey.length}); only its length and SHA-256 are left`;
  if (headers.errorCode === 'KOS_BATCH_UNREADABLE')
    return 'it stands for a whole record batch that could not be read, not for one record';
  return undefined;
}

/** The ledger's key of the dead letter at `partition`/`offset` of the DLQ. */
export const ledgerKey = (partition: number, offset: string): string => `${partition}/${offset}`;

/**
 * What a ledger entry says of the dead letter it was written for: its original record and failure
 * time. A ledger entry counts only for that dead letter, so a DLQ topic deleted and created again
 * (offsets from 0 again) never has its new dead letters taken for replayed ones.
 */
export function deadLetterIdentity(headers: DecodedDeadLetterHeaders): string {
  return `${headers.originalTopic}/${headers.originalPartition}/${headers.originalOffset}@${headers.failedAt}`;
}

export interface LedgerEntry {
  /** deadLetterIdentity of the dead letter replayed. */
  readonly deadLetter: string;
  /** Where it was sent. */
  readonly topic: string;
  /** Its kos-redrive-count as sent. */
  readonly redriveCount: number;
  /** ISO-8601. */
  readonly replayedAt: string;
}

export function serializeLedgerEntry(entry: LedgerEntry): Buffer {
  return Buffer.from(JSON.stringify(entry));
}

/** The dead letter a ledger value names; undefined when it is not an entry of ours (never trusted then). */
export function ledgerEntryIdentity(value: Buffer | null): string | undefined {
  // An entry of ours is a few hundred bytes; anything much larger was not written by a replay.
  if (value === null || value.length > 4096) return undefined;
  try {
    const parsed: unknown = JSON.parse(value.toString('utf8'));
    if (typeof parsed !== 'object' || parsed === null) return undefined;
    const { deadLetter } = parsed as { deadLetter?: unknown };
    return typeof deadLetter === 'string' ? deadLetter : undefined;
  } catch {
    return undefined;
  }
}
