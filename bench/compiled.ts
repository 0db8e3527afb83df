import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { REPO } from './kit.js';

/** Where the bench compiles src/ to: the image's layout (dist/ beside schemas/), away from the repo's dist/. */
const APP = path.join(REPO, '.cache/bench/app');

let built: string | undefined;

/**
 * The consumer as the images run it: src/ compiled by tsc (tsconfig.build.json) and started with plain
 * `node`, no tsx loader. Compiled once per bench run (a few seconds).
 */
export function compiledConsumer(): string {
  if (built) return built;
  rmSync(path.join(APP, 'dist'), { recursive: true, force: true });
  mkdirSync(APP, { recursive: true });
  // dist/ finds schemas/ beside it (order-codec.ts), and node_modules above it, as in the image.
  if (!existsSync(path.join(APP, 'schemas')))
    symlinkSync(path.join(REPO, 'schemas'), path.join(APP, 'schemas'));
  execFileSync(
    process.execPath,
    [
      path.join(REPO, 'node_modules/typescript/bin/tsc'),
      '-p',
      'tsconfig.build.json',
      '--outDir',
      path.join(APP, 'dist'),
    ],
    { cwd: REPO, stdio: ['ignore', 'inherit', 'inherit'] },
  );
  built = path.join(APP, 'dist/cli/consumer.js');
  return built;
}

/** The node flags of the consumer image (Dockerfile): its ENTRYPOINT's (`--enable-source-maps`) and its NODE_OPTIONS. */
export function imageConsumerNodeFlags(): string[] {
  const dockerfile = readFileSync(path.join(REPO, 'Dockerfile'), 'utf8');
  const line = /^ENTRYPOINT (\[.*"dist\/cli\/consumer\.js"\])$/m.exec(dockerfile)?.[1];
  if (!line)
    throw new Error('no consumer ENTRYPOINT ["node", ..., "dist/cli/consumer.js"] in the Dockerfile');
  const argv = JSON.parse(line) as string[];
  // The consumer stage's NODE_OPTIONS (heap sizes), as command-line flags: the same to V8.
  const nodeOptions = /^FROM runtime AS consumer$(?:(?!^FROM )[\s\S])*?^ENV NODE_OPTIONS="([^"]*)"$/m.exec(
    dockerfile,
  )?.[1];
  return [...argv.slice(1, -1), ...(nodeOptions ?? '').split(' ').filter(Boolean)];
}
