import type { Kafka } from 'kafkajs';
import { KafkaDlqReader } from '../../adapters/kafka/dlq-source.js';
import { ensureTopics } from '../../adapters/kafka/ensure-topics.js';
import { KafkaRedriveSink } from '../../adapters/kafka/redrive-sink.js';
import type { AppConfig } from '../../config/load.js';
import type { RedriveFilter } from '../../domain/redrive-selection.js';
import { replayDeadLetters, type ReplayCounts } from '../../dlq/replay.js';
import type { Logger } from '../../logger.js';
import type { Tracing } from '../../ports/tracing.js';
import { resolveTopics } from '../../topics.js';

export interface ReplayCommand {
  readonly filter: RedriveFilter;
  readonly dryRun: boolean;
  readonly ratePerSecond: number | undefined;
}

/**
 * `npm run dlq -- replay`. The order matters: the ledger topic exists, the transactional id is
 * initialised (fencing any replay still running and settling its last transaction), and only then is
 * the ledger read, so it holds everything any earlier replay committed. A dry run initialises nothing
 * (it must not fence a replay that is running) and sends nothing.
 */
export async function replayCommand(
  kafka: Kafka,
  config: AppConfig,
  command: ReplayCommand,
  print: (line: string) => void,
  logger: Logger,
  /** None: tracing is off. */
  tracing?: Tracing,
): Promise<ReplayCounts> {
  const dlqTopic = config.dlqTopic;
  const ledgerTopic = config.dlqRedriveTopic;
  let sink: KafkaRedriveSink | undefined;
  if (!command.dryRun) {
    const ledger = resolveTopics(config).filter((t) => t.role === 'redrive');
    const admin = kafka.admin();
    await admin.connect();
    try {
      const [outcome] = await ensureTopics(admin, ledger);
      if (outcome?.action === 'created')
        logger.info({ topic: ledgerTopic }, `Created the redrive ledger ${ledgerTopic}`);
    } finally {
      await admin.disconnect();
    }
    sink = await KafkaRedriveSink.connect(kafka, { dlqTopic, ledgerTopic, logger, tracing });
  }
  try {
    return await replayDeadLetters(
      { reader: new KafkaDlqReader(kafka, { dlqTopic, ledgerTopic, logger }), sink, print, logger },
      { dlqTopic, ledgerTopic, filter: command.filter, ratePerSecond: command.ratePerSecond },
    );
  } finally {
    await sink?.disconnect();
  }
}
