import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO } from './kit.js';

/** The Node version of our container images (Dockerfile `ARG NODE_IMAGE=node:<version>-…`). */
export function imageNodeVersion(): string {
  const dockerfile = readFileSync(path.join(REPO, 'Dockerfile'), 'utf8');
  const version = /^ARG NODE_IMAGE=node:(\d+\.\d+\.\d+)/m.exec(dockerfile)?.[1];
  if (!version) throw new Error('no ARG NODE_IMAGE=node:<version> in the Dockerfile');
  return version;
}

/**
 * A `node` binary of the images' Node, for clients that need it whatever Node runs the bench
 * (@platformatic/kafka needs >= 22.22): scripts/node-runtime.sh, the one that `npm test` uses, fetched
 * once into ~/.cache/kafka-order-system/node.
 */
export function imageNodeBinary(): string {
  const bin = execFileSync('bash', [path.join(REPO, 'scripts/node-runtime.sh')], {
    cwd: REPO,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  }).trim();
  return path.join(bin, 'node');
}
