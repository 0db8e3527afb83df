/** A real Prometheus Pushgateway (Debian's prometheus-pushgateway) on a free loopback port. */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { freePort, stopChild, waitForUrl } from './prometheus.js';

const BINARY = '/usr/bin/prometheus-pushgateway';

export interface PushgatewayInstance {
  readonly url: string;
  /** What the gateway exposes for Prometheus to scrape. */
  metrics(): Promise<string>;
  stop(): Promise<void>;
}

export async function startPushgateway(): Promise<PushgatewayInstance> {
  if (!existsSync(BINARY)) {
    throw new Error(
      `${BINARY} not found: apt-get install -y prometheus-pushgateway (.ci/checks/30-observability.sh does)`,
    );
  }
  const port = await freePort();
  const child = spawn(BINARY, [`--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitForUrl(`${url}/-/ready`, child, 15_000, () => '');
  } catch (error) {
    await stopChild(child);
    throw error;
  }
  return {
    url,
    metrics: async () => (await fetch(`${url}/metrics`)).text(),
    stop: () => stopChild(child),
  };
}
