import type { RecordHeaders } from '../domain/redrive.js';

/** A record of the dead-letter topic, as a read_committed reader sees it. */
export interface DlqRecord {
  readonly partition: number;
  readonly offset: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: RecordHeaders;
}

/** What a replay and a summary read: the redrive ledger, then the DLQ. */
export interface DlqReader {
  /**
   * The redrive ledger read to its end under read_committed (empty when the topic does not exist):
   * ledger key (`<DLQ partition>/<offset>`) → the identity of the dead letter replayed from there.
   */
  readLedger(): Promise<ReadonlyMap<string, string>>;
  /**
   * Reads the DLQ from its start to its end as of the call (read_committed), awaiting `each` for every
   * record, in offset order within a partition, each once. Rejects with what `each` rejected with.
   */
  scan(each: (record: DlqRecord) => Promise<void>): Promise<void>;
}

/** One dead letter going back to the topic it came from, with its ledger entry. */
export interface Redrive {
  readonly topic: string;
  /** The dead letter's key and value bytes, unchanged. */
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  /** The redrive mark (domain/redrive.ts). */
  readonly headers: Record<string, Buffer>;
  readonly ledgerKey: string;
  readonly ledgerValue: Buffer;
}

/** Where a replay sends: a transactional producer that fenced every earlier replay of the same DLQ. */
export interface RedriveSink {
  /**
   * Sends the records and their ledger entries in one transaction: all of them become visible to
   * read_committed readers, or none. Rejects with RedriveFencedError once another replay took over.
   */
  commit(redrives: readonly Redrive[]): Promise<void>;
}

/** Another replay of the same DLQ initialised its transactional id: this one can never commit again. */
export class RedriveFencedError extends Error {
  override readonly name = 'RedriveFencedError';
}
