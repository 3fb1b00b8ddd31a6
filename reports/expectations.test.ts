import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ExpectationsError, compareExpectations, formatDifferences, parseExpectations, type ExpectationsFile } from './expectations.ts';
import type { Results, ResultsScenario } from './results.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CLAUSE = 'dev/core/device-reset#3c77b259';

const file = (scenarios: string): string => `format: virtio-cts-expectations\nformatVersion: 1\ntarget: { adapter: qemu }\nscenarios:\n${scenarios}`;

function scenario(name: string, verdict: ResultsScenario['verdict'], o: Partial<ResultsScenario> = {}): ResultsScenario {
  return {
    id: `${name} [entropy/pci]`, name, feature: 'f', uri: 'f.feature', line: 1, tags: [], device: 'entropy', transport: 'pci',
    verdict, clauses: [CLAUSE], durationMs: 1, messages: verdict === 'PASS' ? [] : [`${verdict} message`], checks: [], evidence: [], ...o,
  };
}

function results(scenarios: ResultsScenario[], tags: string | null = null): Results {
  return { scenarios, run: { tags } } as unknown as Results;
}

const exp = (s: ExpectationsFile['scenarios']): ExpectationsFile => ({ format: 'virtio-cts-expectations', formatVersion: 1, target: { adapter: 'qemu' }, scenarios: s });

describe('expectations files', () => {
  it('parses a valid file', () => {
    const e = parseExpectations(file(`  "a [entropy/pci]":\n    verdict: FAIL\n    evidence: { clause: ${CLAUSE}, observed: "status 0x4f", qemuVersion: 7.2.22 }\n`), 'x.yaml');
    expect(e.scenarios['a [entropy/pci]']).toEqual({ verdict: 'FAIL', evidence: { clause: CLAUSE, observed: 'status 0x4f', qemuVersion: '7.2.22' } });
  });

  it('refuses malformed files with the file name and the reason', () => {
    const bad: [string, RegExp][] = [
      ['scenarios: [\n', /not valid YAML/],
      [file(`  "a [entropy/pci]": { verdict: PASS, evidence: { observed: x } }\n`), /verdict must be equal to one of the allowed values/],
      [file(`  "a [entropy/pci]": { verdict: FAIL, evidence: { observed: x } }\n`), /must have required property 'clause'/],
      [file(`  "no brackets": { verdict: ERROR, evidence: { observed: x } }\n`), /property name must be valid|must match pattern/],
      [file(`  "a [entropy/pci]": { verdict: ERROR }\n`), /required property 'evidence'/],
      ['format: other\nformatVersion: 1\ntarget: { adapter: qemu }\nscenarios: {}\n', /format must be equal to constant/],
    ];
    for (const [text, re] of bad) {
      let err: unknown;
      try { parseExpectations(text, 'bad.yaml'); } catch (e) { err = e; }
      expect(err, text).toBeInstanceOf(ExpectationsError);
      expect((err as Error).message).toMatch(/^bad\.yaml: /);
      expect((err as Error).message).toMatch(re);
    }
  });

  it('the committed QEMU expectations files are valid and give evidence for every entry', () => {
    for (const t of ['pci', 'mmio']) {
      const path = join(ROOT, `expectations/qemu-${t}.yaml`);
      const e = parseExpectations(readFileSync(path, 'utf8'), path);
      expect(Object.keys(e.scenarios).length).toBeGreaterThan(0);
      for (const [id, x] of Object.entries(e.scenarios)) {
        expect(id).toMatch(new RegExp(`/${t}(/packed)?\\]$`));
        expect(x.evidence.qemuVersion).toBeTruthy();
        expect(x.evidence.cause, id).toBeTruthy();
      }
    }
  });
});

describe('comparing a run with expectations', () => {
  it('unlisted scenarios are expected to PASS; listed ones to have their verdict', () => {
    const r = compareExpectations(exp({ 'b [entropy/pci]': { verdict: 'FAIL', evidence: { clause: CLAUSE, observed: 'x' } } }),
      results([scenario('a', 'PASS'), scenario('b', 'FAIL', { violation: { clause: CLAUSE, level: 'MUST', expected: 'e', observed: 'o' } })]), 'f.yaml');
    expect(r).toEqual({ file: 'f.yaml', matched: 2, differences: [] });
    expect(formatDifferences(r)).toMatch(/all 2 scenario verdicts as expected/);
  });

  it('reports a new failure, a fixed one and a FAIL on another clause', () => {
    const other = 'dev/core/feature-bits#82457834';
    const r = compareExpectations(exp({
      'fixed [entropy/pci]': { verdict: 'FAIL', evidence: { clause: CLAUSE, observed: 'x' } },
      'moved [entropy/pci]': { verdict: 'FAIL', evidence: { clause: CLAUSE, observed: 'x' } },
    }), results([
      scenario('new', 'WEDGED'),
      scenario('fixed', 'PASS'),
      scenario('moved', 'FAIL', { violation: { clause: other, level: 'MUST', expected: 'e', observed: 'o' } }),
    ]), 'f.yaml');
    expect(r.matched).toBe(0);
    expect(r.differences.map((d) => [d.id, d.expected, d.actual])).toEqual([
      ['new [entropy/pci]', 'PASS', 'WEDGED'],
      ['fixed [entropy/pci]', 'FAIL', 'PASS'],
      ['moved [entropy/pci]', `FAIL on ${CLAUSE}`, `FAIL on ${other}`],
    ]);
    const text = formatDifferences(r);
    expect(text).toMatch(/3 differences/);
    expect(text).toMatch(/expected PASS, got WEDGED: new \[entropy\/pci\]\n {6}WEDGED message/);
  });

  it('notes (without failing) a run on another QEMU version than the file was recorded on', () => {
    const e = { ...exp({}), target: { adapter: 'qemu', qemuVersion: '7.2.22' } };
    const res = (v: string) => ({ ...results([scenario('a', 'PASS')]), target: { combinations: [{ targetVersion: v }] } } as unknown as Results);
    const other = compareExpectations(e, res('8.0.0'), 'f.yaml');
    expect(other).toMatchObject({ differences: [], note: 'recorded on QEMU 7.2.22; this run used QEMU 8.0.0' });
    expect(formatDifferences(other)).toMatch(/note: recorded on QEMU 7\.2\.22/);
    expect(compareExpectations(e, res('7.2.22'), 'f.yaml').note).toBeUndefined();
  });

  it('a listed scenario that did not run differs only when its device/transport ran unfiltered', () => {
    const e = exp({
      'gone [entropy/pci]': { verdict: 'ERROR', evidence: { observed: 'x' } },
      'elsewhere [blk/mmio]': { verdict: 'ERROR', evidence: { observed: 'x' } },
    });
    const all = compareExpectations(e, results([scenario('a', 'PASS')]), 'f.yaml');
    expect(all.differences.map((d) => [d.id, d.actual])).toEqual([['gone [entropy/pci]', 'NOT_RUN']]);
    expect(compareExpectations(e, results([scenario('a', 'PASS')], '@x'), 'f.yaml').differences).toEqual([]);
  });
});
