import { parseArgs } from 'node:util';
import { ERROR_DOCS } from '../errors.js';
import type { RedriveFilter } from '../domain/redrive-selection.js';

export const DLQ_USAGE = `usage: npm run dlq -- [show] [--max N] [--idle-ms MS]
       npm run dlq -- replay (FILTERS | --all) [--dry-run] [--rate N]
       npm run dlq -- summary [FILTERS] [--json]
  (in an image: node dist/cli/dlq-reader.js …)

  show      print dead letters with their headers decoded (the default)
  replay    send dead letters back to the topic they came from, key and value unchanged, each
            at most once (the redrive ledger); --dry-run lists them and sends nothing;
            --rate N sends at most N records a second
  summary   dead letters by error code, with the first and last failure time; --json

FILTERS (all given must hold; --code and --key may be repeated):
  --code CODE              kos-error-code, e.g. KOS_DOWNSTREAM_TRANSIENT
  --partition P            the original record's partition
  --from-offset O          the original record's offset is at least O (needs --partition)
  --to-offset O            ... and at most O (needs --partition)
  --since TIME             the failure (kos-failed-at) is at or after TIME
  --until TIME             ... and before TIME; TIME is ISO-8601: 2026-03-01 or 2026-03-01T12:00:00Z
  --key KEY                the record key (the order id)`;

/** A command line that cannot be run as written: exit 2 with the message and the usage. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export type DlqCommand =
  | { readonly kind: 'show'; readonly max: number; readonly idleMs: number }
  | {
      readonly kind: 'replay';
      readonly filter: RedriveFilter;
      readonly dryRun: boolean;
      readonly ratePerSecond: number | undefined;
    }
  | { readonly kind: 'summary'; readonly filter: RedriveFilter; readonly json: boolean }
  | { readonly kind: 'help' };

const OPTIONS = {
  max: { type: 'string' },
  'idle-ms': { type: 'string' },
  code: { type: 'string', multiple: true },
  partition: { type: 'string' },
  'from-offset': { type: 'string' },
  'to-offset': { type: 'string' },
  since: { type: 'string' },
  until: { type: 'string' },
  key: { type: 'string', multiple: true },
  all: { type: 'boolean' },
  'dry-run': { type: 'boolean' },
  rate: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

/** Which options each command takes; any other is refused rather than silently ignored. */
const FILTER_OPTIONS = ['code', 'partition', 'from-offset', 'to-offset', 'since', 'until', 'key'] as const;
const ALLOWED: Record<'show' | 'replay' | 'summary', readonly (keyof typeof OPTIONS)[]> = {
  show: ['max', 'idle-ms'],
  replay: [...FILTER_OPTIONS, 'all', 'dry-run', 'rate'],
  summary: [...FILTER_OPTIONS, 'json'],
};

/** Date only (UTC midnight), or date and time with its zone: a time without a zone would be local. */
const ISO_8601 = /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2}))?$/;

function integer(name: string, text: string, min: number): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || value < min)
    throw new UsageError(`--${name} must be an integer of at least ${min} (got ${JSON.stringify(text)})`);
  return value;
}

function offset(name: string, text: string): bigint {
  if (!/^\d{1,19}$/.test(text))
    throw new UsageError(`--${name} must be an offset, a non-negative integer (got ${JSON.stringify(text)})`);
  return BigInt(text);
}

function time(name: string, text: string): number {
  const ms = Date.parse(text);
  if (!ISO_8601.test(text) || Number.isNaN(ms))
    throw new UsageError(
      `--${name} must be an ISO-8601 date or date-time with a zone, e.g. 2026-03-01 or 2026-03-01T12:00:00Z (got ${JSON.stringify(text)})`,
    );
  return ms;
}

function filterOf(values: Values): RedriveFilter {
  const filter: {
    -readonly [K in keyof RedriveFilter]: RedriveFilter[K];
  } = {};
  if (values.code) {
    const unknown = values.code.filter((c) => !(c in ERROR_DOCS));
    if (unknown.length > 0)
      throw new UsageError(
        `unknown --code ${unknown.join(', ')}; the codes are ${Object.keys(ERROR_DOCS).join(', ')}`,
      );
    filter.codes = new Set(values.code);
  }
  if (values.partition !== undefined) filter.partition = integer('partition', values.partition, 0);
  if (values['from-offset'] !== undefined) filter.fromOffset = offset('from-offset', values['from-offset']);
  if (values['to-offset'] !== undefined) filter.toOffset = offset('to-offset', values['to-offset']);
  if ((filter.fromOffset !== undefined || filter.toOffset !== undefined) && filter.partition === undefined)
    throw new UsageError('--from-offset and --to-offset are offsets of one partition: give --partition too');
  if (filter.fromOffset !== undefined && filter.toOffset !== undefined && filter.fromOffset > filter.toOffset)
    throw new UsageError('--from-offset must not be above --to-offset');
  if (values.since !== undefined) filter.sinceMs = time('since', values.since);
  if (values.until !== undefined) filter.untilMs = time('until', values.until);
  if (filter.sinceMs !== undefined && filter.untilMs !== undefined && filter.sinceMs >= filter.untilMs)
    throw new UsageError('--since must be before --until');
  if (values.key) filter.keys = new Set(values.key);
  return filter;
}

/** The DLQ tool's command line, checked whole: every problem is a UsageError before anything connects. */
export function parseDlqArgs(argv: readonly string[]): DlqCommand {
  let parsed: { values: Values; positionals: string[] };
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) return { kind: 'help' };
  if (positionals.length > 1) throw new UsageError(`one command at a time (got ${positionals.join(' ')})`);
  const kind = positionals[0] ?? 'show';
  if (kind !== 'show' && kind !== 'replay' && kind !== 'summary')
    throw new UsageError(`unknown command ${JSON.stringify(kind)}: show, replay or summary`);
  const given = (Object.keys(values) as (keyof typeof OPTIONS)[]).filter(
    (name) => values[name] !== undefined,
  );
  const refused = given.filter((name) => !ALLOWED[kind].includes(name));
  if (refused.length > 0)
    throw new UsageError(`${kind} does not take ${refused.map((n) => `--${n}`).join(', ')}`);

  if (kind === 'show')
    return {
      kind,
      max: integer('max', values.max ?? '5', 1),
      idleMs: integer('idle-ms', values['idle-ms'] ?? '3000', 0),
    };
  const filter = filterOf(values);
  if (kind === 'summary') return { kind, filter, json: values.json ?? false };
  const filtered = given.some((name) => (FILTER_OPTIONS as readonly string[]).includes(name));
  if (filtered && values.all)
    throw new UsageError('--all replays every dead letter: give it without filters, or filters without it');
  if (!filtered && !values.all)
    throw new UsageError('replay needs a filter (--code, --partition, --since, --key, …) or --all');
  let ratePerSecond: number | undefined;
  if (values.rate !== undefined) {
    ratePerSecond = Number(values.rate);
    if (!(Number.isFinite(ratePerSecond) && ratePerSecond > 0) || values.rate.trim() === '')
      throw new UsageError(
        `--rate must be a number of records a second above 0 (got ${JSON.stringify(values.rate)})`,
      );
  }
  return { kind, filter, dryRun: values['dry-run'] ?? false, ratePerSecond };
}
