import { ERROR_DOCS } from '../errors.js';
import { SETTINGS } from './settings.js';

/** The configuration table of docs/reference.md, generated so it can never disagree with the code. */
export function renderConfigTable(): string {
  const rows = Object.values(SETTINGS).map(
    (s) => `| \`${s.env}\` | ${s.appliesTo.join(', ')} | \`${s.defaultText}\` | ${s.description} |`,
  );
  return ['| Variable | Used by | Default | Meaning |', '| --- | --- | --- | --- |', ...rows].join('\n');
}

const HANDLING_TEXT = {
  'dead-letter': 'dead-lettered at once',
  retry: 'retried, then dead-lettered',
  wait: 'the partition waits (no retry used)',
  startup: 'the process stops',
  alert: 'logged and alerted on',
} as const;

/** The error-code table of docs/reference.md, generated from ERROR_DOCS. */
export function renderErrorTable(): string {
  const rows = Object.entries(ERROR_DOCS).map(
    ([code, doc]) => `| \`${code}\` | ${HANDLING_TEXT[doc.handling]} | ${doc.meaning} |`,
  );
  return ['| Code | Handling | Meaning |', '| --- | --- | --- |', ...rows].join('\n');
}
