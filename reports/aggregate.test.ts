import { describe, expect, it } from 'vitest';
import { aggregateClauses, areaTotals, compareSections } from './aggregate.ts';
import { worst } from './verdict.ts';
import { A, B, C, META, scenario } from './fixtures.test-helpers.ts';

const meta = (id: string) => META[id];

describe('clause aggregation', () => {
  it('orders verdicts FAIL > WEDGED > ERROR > WARN > INCONCLUSIVE > PASS > NOT_APPLICABLE', () => {
    expect(worst(['PASS', 'NOT_APPLICABLE'])).toBe('PASS');
    expect(worst(['PASS', 'WARN'])).toBe('WARN');
    expect(worst(['ERROR', 'FAIL', 'WEDGED'])).toBe('FAIL');
    expect(worst(['NOT_APPLICABLE'])).toBe('NOT_APPLICABLE');
    expect(worst([])).toBeUndefined();
  });

  it('gives a clause the worst verdict of its scenarios', () => {
    const cs = aggregateClauses([
      scenario('a1', 'PASS', [A]),
      scenario('a2', 'NOT_APPLICABLE', [A]),
      scenario('b1', 'PASS', [B]),
      scenario('b2', 'WARN', [B], { violation: { clause: B, level: 'SHOULD', expected: 'x', observed: 'y' } }),
      scenario('c1', 'NOT_APPLICABLE', [C]),
    ], meta);
    expect(Object.fromEntries(cs.map((c) => [c.id, c.verdict]))).toEqual({ [A]: 'PASS', [B]: 'WARN', [C]: 'NOT_APPLICABLE' });
    expect(cs.find((c) => c.id === A)?.scenarios).toEqual(['a1 [entropy/pci]', 'a2 [entropy/pci]']);
  });

  it('blames only the violated clause of a FAILed scenario; its other clauses are not judged by it', () => {
    const s = scenario('two', 'FAIL', [A, B], { violation: { clause: A, level: 'MUST', expected: 'x', observed: 'y' } });
    const cs = aggregateClauses([s, scenario('b-ok', 'PASS', [B])], meta);
    expect(cs.find((c) => c.id === A)?.verdict).toBe('FAIL');
    expect(cs.find((c) => c.id === B)?.verdict).toBe('PASS');
    expect(cs.find((c) => c.id === B)?.contributions[s.id]).toBe('UNJUDGED');
    // judged by nothing else: INCONCLUSIVE, not PASS
    expect(aggregateClauses([s], meta).find((c) => c.id === B)?.verdict).toBe('INCONCLUSIVE');
  });

  it('adds a violated clause the scenario does not tag', () => {
    const cs = aggregateClauses([scenario('x', 'FAIL', [A], { violation: { clause: C, level: 'MUST', expected: 'x', observed: 'y' } })], meta);
    expect(cs.find((c) => c.id === C)?.verdict).toBe('FAIL');
  });

  it('applies WEDGED/ERROR of a scenario to all its clauses', () => {
    const cs = aggregateClauses([scenario('w', 'WEDGED', [A, B]), scenario('p', 'PASS', [A])], meta);
    expect(cs.map((c) => c.verdict)).toEqual(['WEDGED', 'WEDGED']);
  });

  it('groups by area in section order and totals per area', () => {
    const ss = [scenario('a', 'PASS', [A]), scenario('b', 'FAIL', [B], { violation: { clause: B, level: 'MUST', expected: '', observed: '' } }), scenario('c', 'PASS', [C])];
    const cs = aggregateClauses(ss, meta);
    expect(cs.map((c) => c.id)).toEqual([B, A, C]); // core 2.2.2, core 2.4.1, pci
    const t = areaTotals(cs, ss);
    expect(t.map((a) => [a.area, a.clauses.PASS, a.clauses.FAIL, a.scenarios])).toEqual([['core', 1, 1, 2], ['pci', 1, 0, 1]]);
  });

  it('takes area and role from the ID when the index has no row', () => {
    const [c] = aggregateClauses([scenario('u', 'PASS', ['dev/mmio/x#12345678'])], () => undefined);
    expect(c).toMatchObject({ role: 'dev', area: 'mmio', verdict: 'PASS' });
    expect(c.section).toBeUndefined();
  });

  it('sorts section numbers numerically', () => {
    expect(['2.10', '2.9', '2.4.1', '', 'A'].sort(compareSections)).toEqual(['2.4.1', '2.9', '2.10', 'A', '']);
  });
});
