import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadIndex } from '../../spec-refs/load.ts';
import { buildRegistry } from '../../spec-refs/registry.ts';
import { fakeSpec } from '../../spec-refs/synthetic.fixture.ts';
import { checkTags, coverage, isPermission, parseSections, scanFeatures } from './coverage.ts';

const root = join(import.meta.dirname, '../..');
const tmp = mkdtempSync(join(tmpdir(), 'cts-coverage-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function features(name: string, files: Record<string, string>): string {
  const dir = join(tmp, name);
  for (const [f, text] of Object.entries(files)) {
    mkdirSync(join(dir, f, '..'), { recursive: true });
    writeFileSync(join(dir, f), text);
  }
  return dir;
}

const ix = buildRegistry([fakeSpec('v1', [
  { label: 'devicenormative:Alpha / Widget', text: 'The widget MUST hum quietly' },
  { label: 'devicenormative:Alpha / Widget', text: 'The widget SHOULD blink twice' },
  { label: 'drivernormative:Alpha / Widget', role: 'drv', text: 'The operator MUST NOT shout' },
  { label: 'devicenormative:Beta / Gadget', area: 'net', text: 'The gadget MAY rest' },
])]).indexes[0];
const [c1, c2, c3, c4] = ix.clauses.map((c) => c.id);

describe('scanFeatures + coverage', () => {
  it('counts Feature-, Rule-, Scenario- and Examples-level @clause tags for the scenarios under them', async () => {
    const dir = features('levels', {
      'a/one.feature': `@clause:${c1}\nFeature: one\n  Scenario: s1\n    Given x\n`,
      'b/two.feature': `Feature: two\n  @clause:${c3}\n  Rule: r\n    Scenario: s2\n      Given x\n  Scenario Outline: o\n    Given <a>\n    @clause:${c4}\n    Examples:\n      | a |\n      | 1 |\n`,
      // A tag on a feature without scenarios covers nothing.
      'c/empty.feature': `@clause:${c2}\nFeature: empty\n`,
    });
    const scan = await scanFeatures(dir);
    expect(scan).toMatchObject({ files: 3, scenarios: 3 });
    expect([...scan.covered.keys()].sort()).toEqual([c1, c3, c4].sort());
    const r = coverage(ix, scan, { uncovered: true });
    // c4 only grants a permission (MAY): counted as a clause, not as an obligation.
    expect(r.totals).toEqual({ clauses: 4, covered: 3, obligations: 3, obligationsCovered: 2 });
    expect(r.areas).toEqual([
      { role: 'dev', area: 'core', clauses: 2, covered: 1, obligations: 2, obligationsCovered: 1 },
      { role: 'dev', area: 'net', clauses: 1, covered: 1, obligations: 0, obligationsCovered: 0 },
      { role: 'drv', area: 'core', clauses: 1, covered: 1, obligations: 1, obligationsCovered: 1 },
    ]);
    expect(r.uncovered!.map((u) => u.id)).toEqual([c2]);
    expect(coverage(ix, scan, { roles: ['drv'] }).totals).toEqual({ clauses: 1, covered: 1, obligations: 1, obligationsCovered: 1 });
  });

  it('a MAY-only clause is a permission; one with MAY and MUST is an obligation', () => {
    expect(isPermission({ keywords: ['MAY'] })).toBe(true);
    expect(isPermission({ keywords: ['MAY', 'OPTIONAL'] })).toBe(true);
    expect(isPermission({ keywords: ['MAY', 'MUST NOT'] })).toBe(false);
    expect(isPermission({ keywords: [] })).toBe(false);
  });

  it('--section keeps the clauses of those sections and their subsections, one row per section', async () => {
    const real = loadIndex('v1.4-cs01');
    const scan = await scanFeatures(features('sections', { 'n.feature': 'Feature: none\n' }));
    const r = coverage(real, scan, { roles: ['dev'], sections: ['2.8', '5.3'] });
    const in28 = real.clauses.filter((c) => c.role === 'dev' && (c.section === '2.8' || c.section.startsWith('2.8.')));
    expect(in28.length).toBeGreaterThan(0);
    expect(r.areas.map((a) => a.area)).toEqual(['§2.8', '§5.3']);
    expect(r.areas[0].clauses).toBe(in28.length);
    // 2.8 must not swallow 2.80-style siblings: a prefix matches whole numbers only.
    expect(coverage(real, scan, { roles: ['dev'], sections: ['2'] }).areas[0].clauses).toBe(real.clauses.filter((c) => c.role === 'dev' && c.section.startsWith('2.')).length);
    expect(parseSections('2.8, 5.1,A')).toEqual(['2.8', '5.1', 'A']);
    for (const bad of ['', 'two', '2..8', '5.1,x']) expect(() => parseSections(bad)).toThrow(/--section: .* is not a section number/);
  });

  it('names the file and line of a tag the registry does not know', async () => {
    const dir = features('bad', { 'x.feature': 'Feature: f\n\n  @clause:dev/core/nowhere#00000000\n  Scenario: s\n    Given x\n' });
    const scan = await scanFeatures(dir);
    expect(() => checkTags(scan)).toThrow(/x\.feature:3: unknown clause @clause:dev\/core\/nowhere#00000000/);
  });
});

describe('virtio-cts coverage (spawned)', () => {
  const cts = (...args: string[]) => spawnSync(process.execPath, [join(root, 'cli/bin.mjs'), ...args], { encoding: 'utf8', cwd: root });

  it('--json counts covered clauses of the committed index per role and area', () => {
    const real = loadIndex('v1.4-cs01').clauses.filter((c) => c.role === 'drv' && c.area === 'entropy');
    const dir = features('real', { 'e.feature': `Feature: e\n  @clause:${real[0].id}\n  Scenario: s\n    Given x\n` });
    const r = cts('coverage', '--features', dir, '--role', 'drv', '--uncovered', '--json');
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.areas.find((a: { area: string }) => a.area === 'entropy')).toMatchObject({ role: 'drv', area: 'entropy', clauses: real.length, covered: 1 });
    expect(out.totals.covered).toBe(1);
    expect(out.uncovered.map((u: { id: string }) => u.id)).not.toContain(real[0].id);
  });

  it('an unknown tag is one line and exit 2', () => {
    const dir = features('bad2', { 'y.feature': 'Feature: f\n  @clause:drv/core/gone#12345678\n  Scenario: s\n    Given x\n' });
    const r = cts('coverage', '--features', dir);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/y\.feature:2: unknown clause @clause:drv\/core\/gone#12345678/);
  });
});

describe('coverage --table', () => {
  it('features/README.md carries the generated clause → scenario → defect table as it is now', async () => {
    const { scenarioTable, withTable } = await import('../coverage-table.ts');
    const { findFeatureFiles, planScenarios } = await import('../../steps/support/runner/plan.ts');
    const { readFileSync } = await import('node:fs');
    const table = scenarioTable(planScenarios(findFeatureFiles('features', root), root).scenarios);
    const readme = readFileSync(join(root, 'features/README.md'), 'utf8');
    // On a difference: node cli/bin.mjs coverage --table --update-readme
    expect(withTable(readme, table)).toBe(readme);
    expect(table).toMatch(/\| virtqueue\/used-ring\.feature \| 2\.7\.8\.2 ¶2 \| `dev\/core\/virtqueues\/the-virtqueue-used-ring#d50e44f4` \| [^|]+ \| split, packed \| \d+ \| used-len-too-long/);
  });

  it('marks side effects and one-ring defects, and --update-readme needs --table', async () => {
    const { scenarioTable } = await import('../coverage-table.ts');
    const A = 'dev/core/device-reset#3c77b259';
    const s = (tags: string[]) => ({ name: 'x', feature: 'f', uri: 'features/a.feature', line: 1, tags, clauses: [A], tagLines: {} });
    const t = scenarioTable([s(['@ring:any', '@device:blk']), s(['@ring:any'])], 'v1.4-cs01', [
      { name: 'own', clause: A, devices: ['blk'], rings: ['packed'], summary: '' },
      { name: 'side', clause: 'dev/core/feature-bits#82457834', devices: ['blk'], alsoBreaks: [A], summary: '' },
    ]);
    expect(t).toContain('| a.feature | 2.4.1 ¶1 | `dev/core/device-reset#3c77b259` | all, blk | split, packed | 2 | (side), own [packed] |');
    const r = spawnSync(process.execPath, [join(root, 'cli/bin.mjs'), 'coverage', '--update-readme'], { encoding: 'utf8', cwd: root });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--update-readme needs --table/);
  });
});
