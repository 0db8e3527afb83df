import { decodeDeadLetterHeaders, type DecodedDeadLetterHeaders } from '../domain/dead-letter.js';
import {
  deadLetterIdentity,
  ledgerKey,
  matchesFilter,
  type RedriveFilter,
} from '../domain/redrive-selection.js';
import type { DlqReader } from '../ports/redrive.js';

/** The dead letters of one error code (or of all of them). */
export interface CodeSummary {
  readonly code: string;
  readonly deadLetters: number;
  /** Of those, the ones a replay sent back (in the redrive ledger). */
  readonly replayed: number;
  /** ISO-8601 failure times (`kos-failed-at`); null when none parses. */
  readonly firstFailedAt: string | null;
  readonly lastFailedAt: string | null;
}

export interface DlqSummary {
  readonly topic: string;
  /** Every code, most dead letters first. */
  readonly codes: readonly CodeSummary[];
  readonly total: CodeSummary;
  /** Records of the DLQ without our dead-letter headers. */
  readonly notDeadLetters: number;
}

interface Tally {
  deadLetters: number;
  replayed: number;
  firstMs: number;
  lastMs: number;
}

const emptyTally = (): Tally => ({
  deadLetters: 0,
  replayed: 0,
  firstMs: Number.POSITIVE_INFINITY,
  lastMs: Number.NEGATIVE_INFINITY,
});

function add(tally: Tally, failedAtMs: number, replayed: boolean): void {
  tally.deadLetters += 1;
  if (replayed) tally.replayed += 1;
  if (Number.isNaN(failedAtMs)) return;
  tally.firstMs = Math.min(tally.firstMs, failedAtMs);
  tally.lastMs = Math.max(tally.lastMs, failedAtMs);
}

function summaryOf(code: string, tally: Tally): CodeSummary {
  const iso = (ms: number) => (Number.isFinite(ms) ? new Date(ms).toISOString() : null);
  return {
    code,
    deadLetters: tally.deadLetters,
    replayed: tally.replayed,
    firstFailedAt: iso(tally.firstMs),
    lastFailedAt: iso(tally.lastMs),
  };
}

/** Counts dead letters by code as they are read, with their first and last failure time. */
export class SummaryBuilder {
  readonly #byCode = new Map<string, Tally>();
  readonly #total = emptyTally();
  #notDeadLetters = 0;

  add(headers: DecodedDeadLetterHeaders, replayed: boolean): void {
    let tally = this.#byCode.get(headers.errorCode);
    if (tally === undefined) {
      tally = emptyTally();
      this.#byCode.set(headers.errorCode, tally);
    }
    const failedAtMs = Date.parse(headers.failedAt);
    add(tally, failedAtMs, replayed);
    add(this.#total, failedAtMs, replayed);
  }

  addNotDeadLetter(): void {
    this.#notDeadLetters += 1;
  }

  result(topic: string): DlqSummary {
    const codes = [...this.#byCode]
      .map(([code, tally]) => summaryOf(code, tally))
      .sort((a, b) => b.deadLetters - a.deadLetters || a.code.localeCompare(b.code));
    return { topic, codes, total: summaryOf('total', this.#total), notDeadLetters: this.#notDeadLetters };
  }
}

/** Reads the ledger and the whole DLQ, and counts the dead letters the filter takes. */
export async function summarizeDeadLetters(
  reader: DlqReader,
  topic: string,
  filter: RedriveFilter,
): Promise<DlqSummary> {
  const ledger = await reader.readLedger();
  const builder = new SummaryBuilder();
  await reader.scan((record) => {
    let headers: DecodedDeadLetterHeaders;
    try {
      headers = decodeDeadLetterHeaders(record.headers);
    } catch {
      builder.addNotDeadLetter();
      return Promise.resolve();
    }
    if (matchesFilter({ headers, key: record.key }, filter)) {
      const replayed = ledger.get(ledgerKey(record.partition, record.offset)) === deadLetterIdentity(headers);
      builder.add(headers, replayed);
    }
    return Promise.resolve();
  });
  return builder.result(topic);
}

/** The summary as a table for a terminal, one line per code and a total. */
export function formatSummaryTable(summary: DlqSummary): string[] {
  const header = ['code', 'dead letters', 'replayed', 'first failure', 'last failure'];
  const row = (s: CodeSummary) => [
    s.code,
    String(s.deadLetters),
    String(s.replayed),
    s.firstFailedAt ?? '-',
    s.lastFailedAt ?? '-',
  ];
  const rows = [header, ...summary.codes.map(row), row(summary.total)];
  const widths = header.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  // Counts are right-aligned, everything else left-aligned.
  const line = (r: string[]) =>
    r
      .map((cell, i) => (i === 1 || i === 2 ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  const lines = [`dead letters in ${summary.topic}`, line(header), ...rows.slice(1).map(line)];
  if (summary.notDeadLetters > 0)
    lines.push(`${summary.notDeadLetters} record(s) without our dead-letter headers, not counted`);
  return lines;
}
