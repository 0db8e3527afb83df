/**
 * `npm run bench:node-lts -- [bench options]`: the same bench on the Node the images run (the
 * Dockerfile's NODE_IMAGE, fetched once by scripts/node-runtime.sh), whatever Node started it. Its
 * results go to bench/results/node-lts/ (latest.json, latest.svg), beside those of `npm run bench` on
 * the machine's Node, so the two runtimes can be compared run for run.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { REPO } from './kit.js';
import { imageNodeBinary, imageNodeVersion } from './node-lts.js';

const args = process.argv.slice(2);
const node = imageNodeBinary();
const hasOut = args.some((a) => a === '--out' || a.startsWith('--out='));
const out = hasOut ? [] : ['--out', 'bench/results/node-lts'];
console.log(`bench on the images' Node ${imageNodeVersion()} (${node}); the machine's is ${process.version}`);
const run = spawnSync(node, ['--import', 'tsx', 'bench/run.ts', ...args, ...out], {
  cwd: REPO,
  stdio: 'inherit',
  // The processes the bench starts (producer, consumers) use this node too: process.execPath.
  env: { ...process.env, PATH: `${path.dirname(node)}${path.delimiter}${process.env['PATH'] ?? ''}` },
});
process.exit(run.status ?? 1);
