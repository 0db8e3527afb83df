// Raw @platformatic/kafka consumer that only counts, for the consume scenario's extra baseline.
// Runs in its own process because the client needs Node >= 22.22 (bench/node-lts.ts provides one),
// which runs this file as is (type stripping): only erasable TypeScript here.
// Timed like raw kafkajs: from joining the group to the last record counted. Prints one JSON line.
import { Consumer } from '@platformatic/kafka';

const [brokers = '', topic = '', groupId = '', wanted = '0'] = process.argv.slice(2);
const records = Number(wanted);
const consumer = new Consumer({
  groupId,
  clientId: 'bench-platformatic',
  bootstrapBrokers: brokers.split(','),
});
let joinedAt: number | undefined;
consumer.on('consumer:group:join', () => (joinedAt ??= performance.now()));
const stream = await consumer.consume({
  topics: [topic],
  mode: 'earliest',
  autocommit: 1000,
  isolationLevel: 1, // read_committed, like the other clients
  maxWaitTime: 500,
  sessionTimeout: 30_000,
  heartbeatInterval: 3000,
});
let count = 0;
const done = new Promise<number>((resolve) => {
  stream.on('data', () => {
    count += 1;
    if (count === records) resolve(performance.now());
  });
});
const timeout = setTimeout(() => {
  process.stderr.write(`platformatic: only ${count} of ${records} records within the timeout\n`);
  process.exit(1);
}, 60_000 + records);
const doneAt = await done;
clearTimeout(timeout);
process.stdout.write(`${JSON.stringify({ records, seconds: (doneAt - (joinedAt ?? doneAt)) / 1000 })}\n`);
await stream.close();
await consumer.close(true);
