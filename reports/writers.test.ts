import { describe, expect, it } from 'vitest';
import Ajv2020 from 'ajv/dist/2020.js';
import { convert } from 'xmlbuilder2';
import { buildResults, RESULTS_SCHEMA, type Results } from './results.ts';
import { junitXml } from './junit.ts';
import { reportHtml } from './html.ts';
import { A, B, C, META, combos, scenario } from './fixtures.test-helpers.ts';

function fabricate(): Results {
  const ss = [
    scenario('reset ok', 'PASS', [A]),
    scenario('reset broken', 'FAIL', [A], { violation: { clause: A, level: 'MUST', section: '2.4.1', ordinal: 1, keywords: ['MUST'], expected: 'status 0', observed: 'status 0x0f <&>' }, message: 'A: expected status 0; observed status 0x0f', step: 'the device status reads 0' }),
    scenario('renegotiation', 'WARN', [B], { violation: { clause: B, level: 'SHOULD', expected: 'FEATURES_OK kept', observed: 'cleared' }, message: 'B: SHOULD NOT' }),
    scenario('event idx', 'NOT_APPLICABLE', [B], { message: 'the device does not offer VIRTIO_F_EVENT_IDX' }),
    scenario('wedge', 'WEDGED', [C], { device: 'blk', transport: 'mmio', message: 'qtest connection lost' }),
    scenario('bug', 'ERROR', [C], { device: 'blk', transport: 'mmio', message: 'TypeError: x' }),
    scenario('unseen', 'INCONCLUSIVE', [C], { device: 'blk', transport: 'mmio', message: 'cannot observe' }),
  ];
  return buildResults({
    suite: { name: 'virtio-cts', version: '0.1.0', commit: 'abc' },
    spec: { version: 'v1.4-cs01' },
    target: { adapter: 'reference', device: 'all', transport: 'all' },
    timeoutScale: 1, startedAt: '2026-01-01T00:00:00.000Z', finishedAt: '2026-01-01T00:00:01.500Z',
  }, combos(ss), (id) => META[id]).results;
}

describe('results.json', () => {
  it('matches its JSON schema, and the schema rejects a malformed document', () => {
    const ajv = new Ajv2020.default({ allErrors: true, strict: false });
    const validate = ajv.compile(RESULTS_SCHEMA);
    const r = JSON.parse(JSON.stringify(fabricate()));
    expect(validate(r), JSON.stringify(validate.errors)).toBe(true);
    r.scenarios[0].verdict = 'MAYBE';
    expect(validate(r)).toBe(false);
  });
  it('counts scenarios and clauses per verdict and keeps the issue\'s fields', () => {
    const r = fabricate();
    expect(r.summary).toEqual({ PASS: 1, FAIL: 1, WARN: 1, NOT_APPLICABLE: 1, INCONCLUSIVE: 1, WEDGED: 1, ERROR: 1 });
    expect(r.clauseSummary).toMatchObject({ FAIL: 1, WARN: 1, WEDGED: 1 });
    expect(r.run.durationMs).toBe(1500);
    expect(r.scenarios[1]).toMatchObject({ name: 'reset broken', feature: 'Fixture feature', verdict: 'FAIL', clauses: [A], messages: ['A: expected status 0; observed status 0x0f', 'at step: the device status reads 0'] });
    expect(r.clauses.find((c) => c.id === A)).toMatchObject({ section: '2.4.1', keywords: ['MUST'], verdict: 'FAIL', scenarios: ['reset ok [entropy/pci]', 'reset broken [entropy/pci]'] });
    expect(r.target.combinations.map((c) => `${c.device}/${c.transport}:${c.scenarios}`)).toEqual(['entropy/pci:4', 'blk/mmio:3']);
  });
});

describe('junit.xml', () => {
  it('has one testsuite per feature file and maps verdicts to failure/error/skipped/system-out', () => {
    const r = fabricate();
    const doc = convert(junitXml(r), { format: 'object' }) as any;
    const root = doc.testsuites;
    expect(root['@tests']).toBe('7');
    expect(root['@failures']).toBe('2'); // FAIL + WEDGED
    expect(root['@errors']).toBe('1');
    expect(root['@skipped']).toBe('2'); // NOT_APPLICABLE + INCONCLUSIVE
    const suites = [root.testsuite].flat();
    expect(suites.map((s: any) => s['@file']).sort()).toEqual([...new Set(r.scenarios.map((s) => s.uri))].sort());
    const cases = suites.flatMap((s: any) => [s.testcase].flat());
    const byName = (n: string) => cases.find((c: any) => c['@name'].startsWith(n));
    expect(byName('reset broken').failure['@type']).toBe('FAIL');
    expect(byName('reset broken').failure['@message']).toContain('observed status 0x0f');
    expect(byName('wedge').failure['@type']).toBe('WEDGED');
    expect(byName('bug').error['@type']).toBe('ERROR');
    expect(byName('event idx').skipped['@message']).toContain('VIRTIO_F_EVENT_IDX');
    expect(byName('renegotiation')['system-out']).toContain('WARN');
    expect(byName('renegotiation').failure).toBeUndefined();
    expect(byName('reset ok').failure).toBeUndefined();
    const props = [byName('reset ok').properties.property].flat().map((p: any) => `${p['@name']}=${p['@value']}`);
    expect(props).toContain(`clause=${A}`);
    expect(props).toContain(`section=${A} §2.4.1`);
  });
});

describe('report.html', () => {
  it('is self-contained: no external scripts, styles, images or fonts', () => {
    const html = reportHtml(fabricate());
    expect(html).not.toMatch(/<(script|link|img)[^>]+(src|href)=["']?(https?:)?\/\//i);
    expect(html).not.toMatch(/@import|url\(/);
  });
  it('escapes observed values and shows clause, expected and observed for a FAIL', () => {
    const html = reportHtml(fabricate());
    expect(html).toContain('status 0x0f &#60;&#38;&#62;');
    expect(html).not.toContain('status 0x0f <&>');
    expect(html).toMatch(/Expected<\/dt><dd>status 0<\/dd>/);
  });
  it('gives each ring of a --ring all run its own matrix column and run label', () => {
    const ss = [scenario('split reset', 'PASS', [A]), scenario('packed reset', 'FAIL', [A], { ring: 'packed', message: 'A: broken on packed' })];
    const html = reportHtml(buildResults({
      suite: { name: 'virtio-cts', version: '0.1.0' }, spec: { version: 'v1.4-cs01' },
      target: { adapter: 'reference', device: 'entropy', transport: 'pci', ring: 'all' },
      timeoutScale: 1, startedAt: '2026-01-01T00:00:00.000Z', finishedAt: '2026-01-01T00:00:01.000Z',
    }, combos(ss), (id) => META[id]).results);
    expect(html.match(/<th>entropy\/pci(\/packed)?<\/th>/g)).toEqual(['<th>entropy/pci</th>', '<th>entropy/pci/packed</th>']);
    // Each scenario's chip sits in its own ring's column only: one chip per scenario.
    expect(html.match(/class="chip[^>]*title="FAIL: packed reset"/g)).toHaveLength(1);
    expect(html.match(/class="chip[^>]*title="PASS: split reset"/g)).toHaveLength(1);
    expect(html).toMatch(/class="combo"[^>]*>entropy\/pci\/packed</);
  });
  it('quotes clause text and the notice only when spec text is given', () => {
    const r = fabricate();
    expect(reportHtml(r)).not.toContain('id="notice"');
    const withText = reportHtml(r, { version: 'v1.4-cs01', notice: 'NOTICE-MARKER', texts: new Map([[A, 'CLAUSE-TEXT-MARKER']]) });
    expect(withText).toContain('NOTICE-MARKER');
    expect(withText).toContain('CLAUSE-TEXT-MARKER');
  });
});
