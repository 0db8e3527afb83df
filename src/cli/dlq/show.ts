import type { Kafka } from 'kafkajs';
import { decodeDeadLetterHeaders } from '../../domain/dead-letter.js';
import { readTopic } from '../../adapters/kafka/topic-reader.js';

/**
 * `npm run dlq` / `npm run dlq -- show`: dead letters with their headers decoded, one JSON object each,
 * like the seed's `kafka-console-consumer --topic orders-dlq`.
 */
export async function showDeadLetters(
  kafka: Kafka,
  dlqTopic: string,
  options: { readonly max: number; readonly idleMs: number },
  print: (text: string) => void,
): Promise<void> {
  const records = await readTopic(kafka, { topic: dlqTopic, max: options.max, idleMs: options.idleMs });
  for (const { partition, message } of records) {
    let headers: ReturnType<typeof decodeDeadLetterHeaders> | string;
    try {
      headers = decodeDeadLetterHeaders(message.headers ?? {});
    } catch (error) {
      headers = `not a dead letter of ours: ${(error as Error).message}`;
    }
    const summary = {
      dlq: `${dlqTopic}[${partition}]@${message.offset}`,
      key: message.key?.toString('utf8') ?? null,
      valueBytes: message.value?.length ?? 0,
      valueHex: message.value?.subarray(0, 32).toString('hex') ?? null,
      headers:
        typeof headers === 'string' ? headers : { ...headers, stacktrace: headers.stacktrace.split('\n')[0] },
    };
    print(JSON.stringify(summary, null, 2));
  }
  print(`${records.length} dead letter(s) shown from ${dlqTopic}`);
}
