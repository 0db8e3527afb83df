import { decodeDeadLetterHeaders, type DecodedDeadLetterHeaders } from '../domain/dead-letter.js';
import { nextRedrive, redriveHeaders } from '../domain/redrive.js';
import { carriedTraceHeaders } from '../domain/trace-headers.js';
import {
  deadLetterIdentity,
  ledgerKey,
  matchesFilter,
  serializeLedgerEntry,
  whyNotReplayable,
  type RedriveFilter,
} from '../domain/redrive-selection.js';
import type { Logger } from '../logger.js';
import { Pacer } from '../producer/pacer.js';
import type { DlqReader, DlqRecord, Redrive, RedriveSink } from '../ports/redrive.js';
import { describeDeadLetter } from './describe.js';

/**
 * Most records in one replay transaction. A crash or a fence loses at most one uncommitted
 * transaction (nothing of it becomes visible, and the next replay sends it), so this only trades
 * round trips against the size of a transaction.
 */
export const MAX_PER_TRANSACTION = 500;
/** A transaction collects records for at most this long, so a slow --rate still sends steadily. */
const MAX_COLLECT_MS = 1000;

export interface ReplayOptions {
  readonly dlqTopic: string;
  readonly ledgerTopic: string;
  readonly filter: RedriveFilter;
  /** At most this many records a second; undefined: as fast as the broker takes them. */
  readonly ratePerSecond?: number | undefined;
  readonly maxPerTransaction?: number;
}

export interface ReplayDeps {
  readonly reader: DlqReader;
  /** Already initialised (every earlier replay of this DLQ fenced). None: a dry run, nothing is sent. */
  readonly sink?: RedriveSink | undefined;
  /** One line of the command's output. */
  readonly print: (line: string) => void;
  readonly logger: Logger;
  /** The wall clock of the ledger entries (tests fix it). */
  readonly now?: () => Date;
}

export interface ReplayCounts {
  /** Records read from the DLQ. */
  scanned: number;
  /** Dead letters of ours that the filters took. */
  matched: number;
  /** Sent (committed), or in a dry run, that would be. */
  replayed: number;
  /** Matched, but the ledger has them: replayed before. */
  alreadyReplayed: number;
  /** Matched, but they cannot go back as they were (cut to fit, a whole batch). */
  notReplayable: number;
  /** Records whose headers are not ours (another writer's records on the DLQ). */
  notDeadLetters: number;
}

/**
 * Sends dead letters back to the topic they came from, with their key and value bytes unchanged and a
 * redrive mark, each at most once however often it runs: the ledger (read first, to its end) names
 * every dead letter a committed replay sent, and each transaction writes the records and their ledger
 * entries together. The sink must be initialised before this runs, so a replay that was still running
 * is fenced and its last commit is in the ledger that is read here.
 */
export async function replayDeadLetters(deps: ReplayDeps, options: ReplayOptions): Promise<ReplayCounts> {
  const { reader, sink, print, logger } = deps;
  const now = deps.now ?? (() => new Date());
  const counts: ReplayCounts = {
    scanned: 0,
    matched: 0,
    replayed: 0,
    alreadyReplayed: 0,
    notReplayable: 0,
    notDeadLetters: 0,
  };
  const ledger = await reader.readLedger();
  logger.info(
    { ledgerTopic: options.ledgerTopic, entries: ledger.size },
    `Read the redrive ledger ${options.ledgerTopic}: ${ledger.size} dead letter(s) replayed before`,
  );
  const maxPerTransaction = Math.max(
    1,
    Math.min(
      options.maxPerTransaction ?? MAX_PER_TRANSACTION,
      // About one transaction a second under --rate, so records go out steadily, not in bursts.
      options.ratePerSecond === undefined ? Number.POSITIVE_INFINITY : Math.floor(options.ratePerSecond),
    ),
  );
  const pacer = new Pacer(sink === undefined ? 0 : (options.ratePerSecond ?? 0));
  let pending: { redrive: Redrive; line: string }[] = [];
  let collectingSince = 0;

  const commit = async () => {
    if (sink === undefined || pending.length === 0) return;
    const batch = pending;
    pending = [];
    await sink.commit(batch.map((p) => p.redrive));
    counts.replayed += batch.length;
    for (const { line } of batch) print(line);
    logger.info(
      { records: batch.length, replayed: counts.replayed },
      `Committed a redrive transaction of ${batch.length} record(s)`,
    );
  };

  await reader.scan(async (record) => {
    counts.scanned += 1;
    let headers: DecodedDeadLetterHeaders;
    try {
      headers = decodeDeadLetterHeaders(record.headers);
    } catch {
      counts.notDeadLetters += 1;
      return;
    }
    if (!matchesFilter({ headers, key: record.key }, options.filter)) return;
    counts.matched += 1;
    const position = { topic: options.dlqTopic, partition: record.partition, offset: record.offset };
    const key = ledgerKey(record.partition, record.offset);
    if (ledger.get(key) === deadLetterIdentity(headers)) {
      counts.alreadyReplayed += 1;
      return;
    }
    const shown = describeDeadLetter(position, record.key, headers);
    const why = whyNotReplayable(headers);
    if (why !== undefined) {
      counts.notReplayable += 1;
      print(`cannot replay ${shown}: ${why}`);
      return;
    }
    const history = nextRedrive(record.headers, position);
    if (sink === undefined) {
      counts.replayed += 1;
      print(`would send ${shown} -> ${headers.originalTopic} (redrive ${history.count})`);
      return;
    }
    await pacer.take(1);
    if (pending.length === 0) collectingSince = performance.now();
    pending.push({
      redrive: toRedrive(record, headers, key, history, now()),
      line: `sent ${shown} -> ${headers.originalTopic} (redrive ${history.count})`,
    });
    if (pending.length >= maxPerTransaction || performance.now() - collectingSince >= MAX_COLLECT_MS)
      await commit();
  });
  await commit();

  print(`matched ${counts.matched} of ${counts.scanned} record(s) in ${options.dlqTopic}`);
  if (counts.alreadyReplayed > 0)
    print(`skipped ${counts.alreadyReplayed} replayed before (in the ledger ${options.ledgerTopic})`);
  if (counts.notReplayable > 0)
    print(`skipped ${counts.notReplayable} that cannot be replayed as they were (listed above)`);
  if (counts.notDeadLetters > 0)
    print(`skipped ${counts.notDeadLetters} record(s) without our dead-letter headers`);
  print(`${sink === undefined ? 'would replay' : 'replayed'} ${counts.replayed}`);
  return counts;
}

function toRedrive(
  record: DlqRecord,
  headers: DecodedDeadLetterHeaders,
  key: string,
  history: ReturnType<typeof nextRedrive>,
  at: Date,
): Redrive {
  return {
    topic: headers.originalTopic,
    key: record.key,
    value: record.value,
    // The dead letter's trace goes on with the order (the sink's span replaces it where tracing is on).
    headers: { ...carriedTraceHeaders(record.headers), ...redriveHeaders(history) },
    ledgerKey: key,
    ledgerValue: serializeLedgerEntry({
      deadLetter: deadLetterIdentity(headers),
      topic: headers.originalTopic,
      redriveCount: history.count,
      replayedAt: at.toISOString(),
    }),
  };
}
