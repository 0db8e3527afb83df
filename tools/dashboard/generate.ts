/**
 * Writes the dashboard JSON, or with --check fails when the committed file
 * differs from what tools/dashboard/dashboard.ts generates.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import * as prettier from 'prettier';
import { buildDashboard } from './dashboard.js';

export const DASHBOARD_PATH = fileURLToPath(
  new URL('../../charts/kafka-order-system/files/grafana-dashboard.json', import.meta.url),
);

/** The file content: formatted as `prettier --write` would, so lint and this check agree. */
export async function renderDashboard(): Promise<string> {
  const options = (await prettier.resolveConfig(DASHBOARD_PATH)) ?? {};
  return prettier.format(JSON.stringify(buildDashboard()), { ...options, parser: 'json' });
}

async function main(): Promise<void> {
  const rendered = await renderDashboard();
  if (!process.argv.includes('--check')) {
    await writeFile(DASHBOARD_PATH, rendered);
    console.log(`wrote ${DASHBOARD_PATH}`);
    return;
  }
  const committed = await readFile(DASHBOARD_PATH, 'utf8').catch(() => '');
  if (committed !== rendered) {
    console.error(
      `${DASHBOARD_PATH} is not what tools/dashboard/dashboard.ts generates.\nRun: npm run dashboard:generate`,
    );
    process.exitCode = 1;
    return;
  }
  console.log('dashboard JSON is current');
}

await main();
