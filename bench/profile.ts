/**
 * `npm run bench:profile`: one consumer process (the production entry point)
 * under `node --cpu-prof` drains a backlog of orders; prints where its CPU time
 * went, by package and by function. `-- --role producer` profiles our producer and
 * raw kafkajs sending the same orders instead. The profile stays in bench/results/profiles
 * for Chrome DevTools or speedscope.
 */
import { mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { BenchKit, REPO } from './kit.js';
import { DEFAULTS } from './options.js';
import { byCategory, byFunction, type CpuProfile, type TimeShare } from './profile-summary.js';
import { profileProducers } from './profile-producer.js';
import { holdBacklog, timeFleet } from './scenarios/scale.js';

const { values } = parseArgs({
  options: {
    orders: { type: 'string', default: '50000' },
    mode: { type: 'string', default: 'at-least-once' },
    role: { type: 'string', default: 'consumer' },
  },
});
const orders = Number(values.orders);
const dir = path.join(REPO, 'bench/results/profiles');

const show = (title: string, rows: TimeShare[]): void => {
  console.log(`\n${title}`);
  for (const r of rows)
    console.log(
      `  ${(r.share * 100).toFixed(1).padStart(5)} %  ${r.ms.toFixed(0).padStart(6)} ms  ${r.name}`,
    );
};

const kit = new BenchKit();
mkdirSync(dir, { recursive: true });
try {
  if (values.role === 'producer') {
    // Ours against raw kafkajs on the same orders: what our producer adds to each send.
    for (const p of await profileProducers(kit, orders, dir)) {
      console.log(
        `\nproducer ${p.client}: ${Math.round(p.ordersPerSec)} orders/s while profiled (${path.relative(REPO, p.file)})`,
      );
      show('Self time by package:', byCategory(p.profile, 15));
      show('Self time by function:', byFunction(p.profile, 25));
    }
    await kit.cleanup();
    process.exit(0);
  }
  const topics = await kit.newTopics('profile');
  const log = (m: string): void => console.log(m);
  const ctx = { kit, options: DEFAULTS, java: undefined, recordBytes: 26, log };
  const backlog = await holdBacklog(ctx, topics, orders);
  const before = Date.now();
  const { sample, settledAfterMs } = await timeFleet(ctx, topics, {
    size: 1,
    orders,
    backlog,
    run: 'profile',
    mode: values.mode,
    entry: { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dir}`] },
  });
  console.log(`${values.mode}: ${Math.round(sample.ordersPerSec)} orders/s while profiled`);
  // The newest, biggest profile is the consumer's (tsx may start helper threads with their own).
  const newest = readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .map((f) => path.join(dir, f))
    .filter((f) => statSync(f).mtimeMs >= before)
    .sort((a, b) => statSync(b).size - statSync(a).size)[0];
  if (!newest) throw new Error(`no .cpuprofile written to ${dir}`);
  const profile = JSON.parse(readFileSync(newest, 'utf8')) as CpuProfile;
  console.log(`profile: ${path.relative(REPO, newest)}`);
  console.log(`(the first ${Math.round(settledAfterMs)} ms, start-up and group join, are left out)`);
  show('Self time by package:', byCategory(profile, 15, settledAfterMs));
  show('Self time by function:', byFunction(profile, 25, settledAfterMs));
} finally {
  await kit.cleanup();
}
process.exit(0);
