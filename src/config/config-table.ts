import { SETTINGS } from './settings.js';

/** The README's configuration table, generated so it can never disagree with the code. */
export function renderConfigTable(): string {
  const rows = Object.values(SETTINGS).map(
    (s) => `| \`${s.env}\` | ${s.appliesTo.join(', ')} | \`${s.defaultText}\` | ${s.description} |`,
  );
  return ['| Variable | Used by | Default | Meaning |', '| --- | --- | --- | --- |', ...rows].join('\n');
}
