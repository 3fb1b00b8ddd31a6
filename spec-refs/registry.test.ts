import { describe, expect, it } from 'vitest';
import { diffIndexes } from './diff.ts';
import { attachStableIds, buildRegistry, formatJson, tokenRatio, tokens, uniqueId } from './registry.ts';
import { fakeSpec } from './synthetic.fixture.ts';

const L1 = 'devicenormative:Alpha Facility / Widget Ring';
const L2 = 'devicenormative:Alpha Facility / Gadget Ring';
const L3 = 'devicenormative:Beta Facility / Other Place';

// Invented sentences with enough tokens for the ratio thresholds to matter.
const A = 'The widget MUST set the blue lamp when the red lever is pulled twice by the operator';
const B = 'The widget MUST NOT paint the yellow fence before the garden gate has been closed';
const C = 'The widget SHOULD whistle a short tune after every completed round of the carousel';
const D = 'The gadget MAY ignore requests that arrive while the tea kettle is still boiling hot';

describe('tokenRatio', () => {
  it('is 1 for equal token lists, 0 for disjoint ones, 2·matched/total in between (difflib blocks)', () => {
    expect(tokenRatio(tokens('a b c'), tokens('a b c'))).toBe(1);
    expect(tokenRatio(tokens('a b'), tokens('c d'))).toBe(0);
    expect(tokenRatio(tokens('a b c d'), tokens('a x c d'))).toBeCloseTo(0.75);
    // difflib takes the longest block first ("c d e"), then matches nothing crossing it:
    // 3 of the LCS's 4 tokens count (Python: SequenceMatcher(None, a, b).ratio() == 0.6).
    expect(tokenRatio(tokens('a b c d e'), tokens('c d e a b'))).toBeCloseTo(0.6);
  });
});

describe('carry-forward', () => {
  const v1 = fakeSpec('v1', [{ label: L1, text: A }, { label: L1, text: B }, { label: L2, text: C }, { label: L3, text: D }]);
  const v2 = fakeSpec('v2', [
    { label: L1, text: A, section: '1.2' }, // unchanged, renumbered
    { label: L1, text: B.replace('MUST NOT paint', 'SHOULD NOT paint') }, // edited, keyword change
    { label: L3, text: C }, // moved to another label, same text
    { label: L2, text: 'Something entirely new MUST happen to the spinning top on weekdays' }, // new
    // D is gone
  ]);
  const r = buildRegistry([v1, v2]);
  const [i1, i2] = r.indexes;
  const entry = (id: string) => r.registry.entries.find((e) => e.id === id)!;

  it('keeps IDs for exact, edited and moved clauses and mints the rest', () => {
    expect(i2.clauses[0].id).toBe(i1.clauses[0].id);
    expect(i2.clauses[1].id).toBe(i1.clauses[1].id);
    expect(i2.clauses[2].id).toBe(i1.clauses[2].id);
    expect(i2.clauses[3].id).toBe(v2.clauses[3].mintedId);
    expect(new Set(i1.clauses.map((c) => c.id)).has(i2.clauses[3].id)).toBe(false);
    expect(r.steps[0].counts).toMatchObject({ exact: 1, 'fuzzy-label': 1, moved: 1, minted: 1 });
  });

  it('records revisedIn, keywordsChangedIn and withdrawnIn', () => {
    expect(entry(i1.clauses[0].id)).toEqual({ id: i1.clauses[0].id, introducedIn: 'v1', fingerprints: { v1: v1.clauses[0].fingerprint, v2: v1.clauses[0].fingerprint } });
    const edited = entry(i1.clauses[1].id);
    expect(edited.revisedIn).toEqual(['v2']);
    expect(edited.keywordsChangedIn).toEqual(['v2']);
    expect(edited.fingerprints.v2).toBe(v2.clauses[1].fingerprint);
    expect(entry(i1.clauses[2].id).revisedIn).toBeUndefined();
    expect(entry(i1.clauses[3].id).withdrawnIn).toBe('v2');
    expect(entry(i2.clauses[3].id).introducedIn).toBe('v2');
  });

  it('holds no text in the index and is deterministic', () => {
    const json = formatJson(i2) + formatJson(r.registry);
    expect(json).not.toContain('carousel');
    expect(json).not.toContain('"text"');
    const again = buildRegistry([fakeSpec(v1.version, v1.clauses.map((c) => ({ label: c.label, text: c.text! }))), v2]);
    expect(formatJson(again.registry)).toBe(formatJson(r.registry));
  });

  it('applies the thresholds: ≥0.6 within a label, ≥0.8 across labels', () => {
    // ~0.7 similar: carried within the label, minted across labels.
    const edit = 'The widget MUST set the green lamp when the red lever is pulled once by anyone at all';
    expect(tokenRatio(tokens(A), tokens(edit))).toBeGreaterThanOrEqual(0.6);
    expect(tokenRatio(tokens(A), tokens(edit))).toBeLessThan(0.8);
    const same = buildRegistry([fakeSpec('a', [{ label: L1, text: A }]), fakeSpec('b', [{ label: L1, text: edit }])]);
    expect(same.indexes[1].clauses[0].id).toBe(same.indexes[0].clauses[0].id);
    const other = buildRegistry([fakeSpec('a', [{ label: L1, text: A }]), fakeSpec('b', [{ label: L2, text: edit }])]);
    expect(other.indexes[1].clauses[0].id).not.toBe(other.indexes[0].clauses[0].id);
    expect(other.registry.entries.find((e) => e.id === other.indexes[0].clauses[0].id)!.withdrawnIn).toBe('b');
    // one word changed: carried across labels too.
    const close = A.replace('twice', 'thrice');
    const across = buildRegistry([fakeSpec('a', [{ label: L1, text: A }]), fakeSpec('b', [{ label: L2, text: close }])]);
    expect(across.indexes[1].clauses[0].id).toBe(across.indexes[0].clauses[0].id);
    expect(across.steps[0].counts['fuzzy-cross']).toBe(1);
  });

  it('never issues an ID twice, even when old text returns as a new clause', () => {
    const x = buildRegistry([
      fakeSpec('a', [{ label: L1, text: A }]),
      fakeSpec('b', [{ label: L1, text: A.replace('twice', 'thrice') }]),
      fakeSpec('c', [{ label: L1, text: A.replace('twice', 'thrice') }, { label: L1, text: A }]),
    ]);
    const ids = x.registry.entries.map((e) => e.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(x.indexes[2].clauses[0].id).toBe(x.indexes[0].clauses[0].id);
    expect(x.indexes[2].clauses[1].id).toBe(`${x.indexes[0].clauses[0].id}~2`);
    expect(uniqueId('a#1~2', new Set(['a#1~2']))).toBe('a#1~3');
  });

  it('diffs the two versions into added, changed, moved, renumbered and withdrawn', () => {
    const d = diffIndexes(i1, i2);
    expect(d.added.map((c) => c.id)).toEqual([i2.clauses[3].id]);
    expect(d.withdrawn.map((c) => c.id)).toEqual([i1.clauses[3].id]);
    expect(d.changed).toHaveLength(1);
    expect(d.changed[0]).toMatchObject({ id: i1.clauses[1].id, keywords: ['SHOULD NOT'], keywordsFrom: ['MUST NOT'] });
    expect(d.moved).toEqual([expect.objectContaining({ id: i1.clauses[2].id, label: L3, labelFrom: L2 })]);
    expect(d.renumbered.map((c) => c.id)).toContain(i1.clauses[0].id);
    expect(d.counts).toMatchObject({ from: 4, to: 4, unchanged: 1, added: 1, changed: 1, keywordChanges: 1, moved: 1, withdrawn: 1 });
  });

  it('attaches stable IDs to a run-time extraction by label and fingerprint', () => {
    expect(attachStableIds(v2, i2)).toEqual(i2.clauses.map((c) => c.id));
    // An unknown later version: unchanged clauses resolve, edited ones keep their minted ID.
    const v3 = fakeSpec('v3', [{ label: L1, text: A }, { label: L1, text: B + ' again' }]);
    const ids = attachStableIds(v3, i2);
    expect(ids[0]).toBe(i2.clauses[0].id);
    expect(ids[1]).toBe(v3.clauses[1].mintedId);
  });
});
