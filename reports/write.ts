// Writes the four report files of a run into the --out folder.
import type { Envelope } from '@cucumber/messages';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { reportHtml } from './html.ts';
import { junitXml } from './junit.ts';
import type { Results } from './results.ts';
import type { SpecText } from './spec-text.ts';

export const REPORT_FILES = ['results.json', 'junit.xml', 'messages.ndjson', 'report.html'] as const;

/**
 * `envelopes`: the Cucumber messages of every (device, transport) run in order; each run
 * has its own testRunStarted…testRunFinished, and its test cases point at it by
 * testRunStartedId.
 */
export function writeReports(dir: string, results: Results, envelopes: readonly Envelope[], spec?: SpecText): string[] {
  mkdirSync(dir, { recursive: true });
  const files: [string, string][] = [
    ['results.json', JSON.stringify(results, null, 2) + '\n'],
    ['junit.xml', junitXml(results)],
    ['messages.ndjson', envelopes.map((e) => JSON.stringify(e)).join('\n') + (envelopes.length ? '\n' : '')],
    ['report.html', reportHtml(results, spec)],
  ];
  for (const [name, body] of files) writeFileSync(join(dir, name), body);
  return files.map(([name]) => join(dir, name));
}
