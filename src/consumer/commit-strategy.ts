import type { ComeBackLater, FinalOutcome, ProcessingContext } from '../ports/processing.js';
import type { BatchControl, BatchRecord, ConsumedBatch } from '../ports/records.js';
import type { OrderRun } from './order-run.js';

/** The partition must wait for a dependency before it reads again at `waitAt` (or past it). */
export interface WaitAt {
  readonly waitAt: string;
  /** What it waits for: an error handled as `wait` (a BrokerUnavailableError unless it names another). */
  readonly error: unknown;
}

/** How a unit ended, and so what the batch does next. */
export type UnitEnd =
  /**
   * The unit is done: committed (exactly-once), or resolved at a checkpoint or left for the next one
   * (at-least-once). The batch goes on, or parks the record that comes back.
   */
  | 'go-on'
  /** The batch ends here; what is resolved stays resolved. */
  | 'end-batch'
  /**
   * Nothing was committed, because a dead letter failed inside it: the unit's records are taken again
   * in a new unit up to the record that comes back, so the partition waits at that record and not
   * before it.
   */
  | 'redo'
  | WaitAt;

/**
 * How a processing mode commits what the batch loop (BatchLoop) does: at-least-once resolves offsets
 * at checkpoints, exactly-once commits each stretch of records in a transaction.
 */
export interface CommitStrategy {
  /**
   * Before the records of `batch`: how they are committed, or a wait (the partition cannot be taken up
   * now), or undefined when the batch is done already.
   */
  open(batch: ConsumedBatch, control: BatchControl): Promise<BatchCommit | WaitAt | undefined>;
  /** The group gave us these partitions of the orders topic (all others are gone). */
  onAssignment(partitions: readonly number[]): Promise<void>;
  close(): Promise<void>;
}

/** The commits of one batch: the loop takes its records in units, opened and closed one after another. */
export interface BatchCommit {
  /** The index of the first record to take: those before it are done already. */
  readonly from: number;
  /** Opens the next unit, or says what the partition waits for when it cannot. */
  begin(): Promise<CommitUnit | WaitAt>;
  /** After the batch's last unit, whatever ended it. */
  finish(): Promise<void>;
}

/** One stretch of a batch's records committed together. */
export interface CommitUnit {
  /** What records of the unit may use: where their dead letters go. */
  readonly context: ProcessingContext;
  /** The most records the unit takes. */
  readonly maxRecords: number;
  /** Records between checks for a stop or a rebalance, which cost the client a little each. */
  readonly checkEvery: number;
  /** How long, in ms from its opening, the unit takes records (Infinity: as long as it likes). */
  readonly takesRecordsForMs: number;
  /** A record ended: counted or dead-lettered. */
  took(outcome: FinalOutcome): void;
  /** A run of good orders ended, taken from `records`. */
  tookRun(run: OrderRun, records: readonly BatchRecord[]): void;
  /** After `taken` records, and before `comeBack` when one has to come back. */
  close(taken: number, comeBack: ComeBackLater | undefined): Promise<UnitEnd>;
  /** Something threw while the unit was open. */
  fail(error: unknown): Promise<UnitEnd>;
}
