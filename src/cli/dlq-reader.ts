#!/usr/bin/env node
import { KafkaDlqReader } from '../adapters/kafka/dlq-source.js';
import { createKafka } from '../adapters/kafka/client.js';
import { createTracing } from '../adapters/tracing/index.js';
import { loadConfig } from '../config/load.js';
import { DLQ_USAGE, parseDlqArgs, UsageError, type DlqCommand } from '../dlq/args.js';
import { formatSummaryTable, summarizeDeadLetters } from '../dlq/summary.js';
import { createLogger } from '../logger.js';
import { RedriveFencedError } from '../ports/redrive.js';
import { showDeadLetters } from './dlq/show.js';
import { replayCommand } from './dlq/replay.js';
import { configOrExit } from './process-lifecycle.js';

/**
 * The DLQ tool: `show` (the default) prints dead letters, `replay` sends them back to their topic, and
 * `summary` counts them by error code. Its output is stdout; its logs go to stderr, so the last line
 * of a replay is always its count. Exit codes: 0 done, 1 failed (nothing half-sent: an aborted
 * transaction is invisible), 2 a bad command line or configuration.
 */
let command: DlqCommand;
try {
  command = parseDlqArgs(process.argv.slice(2));
} catch (error) {
  if (!(error instanceof UsageError)) throw error;
  process.stderr.write(`${error.message}\n\n${DLQ_USAGE}\n`);
  process.exit(2);
}
if (command.kind === 'help') {
  process.stdout.write(`${DLQ_USAGE}\n`);
  process.exit(0);
}

const config = configOrExit(() => loadConfig('consumer'));
const logger = createLogger({
  // A replay says what it did (each transaction, the ledger it read); show and summary only what went wrong.
  level: command.kind === 'replay' ? config.logLevel : 'warn',
  format: config.logFormat,
  name: 'dlq-reader',
  destination: 2,
});
const print = (line: string) => process.stdout.write(`${line}\n`);
const kafka = createKafka(config, logger, 'dlq-reader');

try {
  if (command.kind === 'show') {
    await showDeadLetters(kafka, config.dlqTopic, command, print);
  } else if (command.kind === 'summary') {
    const reader = new KafkaDlqReader(kafka, {
      dlqTopic: config.dlqTopic,
      ledgerTopic: config.dlqRedriveTopic,
      logger,
    });
    const summary = await summarizeDeadLetters(reader, config.dlqTopic, command.filter);
    if (command.json) print(JSON.stringify(summary));
    else for (const line of formatSummaryTable(summary)) print(line);
  } else {
    // Only a replay sends records, so only a replay traces (a span per order it sends back).
    const tracing = await createTracing(config, 'dlq-reader', logger);
    try {
      await replayCommand(kafka, config, command, print, logger, tracing);
    } finally {
      await tracing?.shutdown();
    }
    // shutdown() waits at most 2 s for the last spans, but an export still under way (its retries, up
    // to the exporter's own timeout) would keep the process alive: exit, once stdout is written.
    if (tracing) process.stdout.write('', () => process.exit(0));
  }
} catch (error) {
  // Being fenced is how a second replay takes over, not a fault: its message says all there is.
  if (error instanceof RedriveFencedError) logger.error({ dlqTopic: config.dlqTopic }, error.message);
  else logger.error({ err: error }, `dlq ${command.kind} failed`);
  process.stderr.write(`dlq ${command.kind} failed: ${(error as Error).message}\n`);
  process.exit(1);
}
