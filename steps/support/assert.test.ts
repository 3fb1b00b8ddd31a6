import { afterEach, describe, expect, it } from 'vitest';
import { ClauseViolation, check, onCheck } from './assert.ts';
import { clauseInfo, levelOf, useSpecVersion } from './clauses.ts';

afterEach(() => { onCheck(undefined); useSpecVersion(undefined); });

describe('check()', () => {
  it('passes silently and records the check', () => {
    const seen: [string, boolean][] = [];
    onCheck((c, ok) => seen.push([c, ok]));
    check('dev/core/device-reset#3c77b259', true, { expected: 'a', observed: 'a' });
    expect(seen).toEqual([['dev/core/device-reset#3c77b259', true]]);
  });
  it('throws a ClauseViolation naming the clause, its section and ordinal in the run\'s spec version, keyword, expected and observed', () => {
    const info = clauseInfo('dev/core/device-reset#3c77b259')!;
    let err: unknown;
    try { check('dev/core/device-reset#3c77b259', false, { expected: 'status 0', observed: 'status 0x0f' }); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(ClauseViolation);
    const v = (err as ClauseViolation).violation;
    expect(v).toMatchObject({ clause: 'dev/core/device-reset#3c77b259', level: 'MUST', section: info.section, ordinal: info.ordinal, expected: 'status 0', observed: 'status 0x0f' });
    expect((err as Error).message).toContain(`§${info.section} ¶${info.ordinal}`);
    expect((err as Error).message).toContain('MUST');
  });
  it('takes the level from the keywords, or from an explicit level', () => {
    expect(levelOf(['SHOULD NOT'])).toBe('SHOULD');
    expect(levelOf(['SHOULD', 'MUST'])).toBe('MUST');
    expect(levelOf(['MAY'])).toBe('SHOULD');
    const catchLevel = (f: () => void): string | undefined => { try { f(); } catch (e) { return (e as ClauseViolation).violation.level; } return undefined; };
    expect(catchLevel(() => check('dev/core/feature-bits#82457834', false, { expected: 'a', observed: 'b' }))).toBe('SHOULD');
    expect(catchLevel(() => check('dev/core/feature-bits#8e5e2226', false, { expected: 'a', observed: 'b', level: 'SHOULD' }))).toBe('SHOULD');
  });
  it('uses the section numbers of the run\'s spec version', () => {
    const id = 'dev/core/virtqueues/the-virtqueue-used-ring#d50e44f4';
    const sectionIn = (v: string): string | undefined => {
      useSpecVersion(v);
      try { check(id, false, { expected: 'a', observed: 'b' }); } catch (e) { return (e as ClauseViolation).violation.section; }
      return undefined;
    };
    expect(sectionIn('v1.0-cs04')).toBe('2.4.8.2');
    expect(sectionIn('v1.4-cs01')).toBe('2.7.8.2');
  });
  it('a clause absent from the run\'s spec version is not there', () => {
    expect(clauseInfo('dev/core/device-reset#3c77b259', 'v1.0-cs04')).toBeUndefined();
    expect(clauseInfo('dev/core/device-reset#3c77b259', 'v1.4-cs01')?.section).toBe('2.4.1');
  });
  it('refuses an unknown clause: a typo is a suite bug, not a FAIL', () => {
    expect(() => check('dev/core/no-such-clause#00000000', true, { expected: '', observed: '' })).toThrow(/not in the index/);
  });
});
