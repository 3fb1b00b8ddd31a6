import { describe, expect, it } from 'vitest';
import { UsageError } from '../cli/errors.ts';
import { diffIndexes, onlyRoles } from './diff.ts';
import { listVersions, loadIndex, loadRegistry, parseRoles, readSpecNotice, resolveClause, suggestClause } from './load.ts';
import { DEFAULT_SPEC_ROOT } from './build.ts';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

describe('committed clause index', () => {
  it('lists the five versions oldest first and loads the newest by default', () => {
    expect(listVersions()).toEqual(['v1.0-cs04', 'v1.1-cs01', 'v1.2-cs01', 'v1.3-csd01', 'v1.4-cs01']);
    const ix = loadIndex();
    expect(ix.spec.version).toBe('v1.4-cs01');
    const ids = ix.clauses.map((c) => c.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ix.clauses.every((c) => !('text' in c) && !('lead' in c) && !('scope' in c))).toBe(true);
  });

  it('refuses an unknown version with a UsageError', () => {
    expect(() => loadIndex('v9.9-cs01')).toThrow(UsageError);
    expect(() => parseRoles('dev,bogus')).toThrow(UsageError);
    expect(parseRoles('dev,drv')).toEqual(['dev', 'drv']);
  });

  it('every index ID is in the registry, with that version\'s fingerprint', () => {
    const reg = new Map(loadRegistry().entries.map((e) => [e.id, e]));
    for (const v of listVersions()) {
      for (const c of loadIndex(v).clauses) expect(reg.get(c.id)?.fingerprints[v]).toBe(c.fingerprint);
    }
  });

  it('resolves a stable ID to its registry entry and per-version rows', () => {
    const id = loadIndex('v1.0-cs04').clauses.find((c) => c.role === 'dev' && c.area === 'core')!.id;
    const r = resolveClause(id)!;
    expect(r.entry.introducedIn).toBe('v1.0-cs04');
    expect(r.rows[0]).toMatchObject({ version: 'v1.0-cs04', clause: { id } });
    expect(r.rows.map((x) => x.version)).toEqual(Object.keys(r.entry.fingerprints));
    expect(resolveClause('dev/core/nothing#00000000')).toBeUndefined();
  });

  it('suggests the stable ID for an ID minted from a later version of an edited clause', () => {
    const e = loadRegistry().entries.find((x) => x.revisedIn && x.fingerprints['v1.4-cs01'] && x.id.startsWith('dev/'))!;
    const fp = e.fingerprints['v1.4-cs01'];
    expect(fp).not.toBe(e.fingerprints[e.introducedIn]);
    expect(suggestClause(`${e.id.split('#')[0]}#${fp}`)).toBe(e.id);
    expect(suggestClause('dev/core/x#zz')).toBeUndefined();
  });
});

// The figures spec-extraction.md §2.4 measured for device and driver clauses.
describe('carry-forward reproduces the §2.4 stability figures (dev + drv)', () => {
  const diff = (a: string, b: string) => diffIndexes(onlyRoles(loadIndex(a), ['dev', 'drv']), onlyRoles(loadIndex(b), ['dev', 'drv']));

  it('v1.2-cs01 → v1.4-cs01: 909 unchanged, 24 changed, 529 added, 0 withdrawn', () => {
    expect(diff('v1.2-cs01', 'v1.4-cs01').counts).toMatchObject({ from: 933, to: 1462, unchanged: 909, changed: 24, added: 529, withdrawn: 0, moved: 0, keywordChanges: 0 });
  });

  it('v1.1-cs01 → v1.2-cs01: 4 withdrawn and one keyword downgrade MUST → SHOULD in CCW 4.3.2.1.1', () => {
    const d = diff('v1.1-cs01', 'v1.2-cs01');
    expect(d.counts).toMatchObject({ unchanged: 490, changed: 19, added: 424, withdrawn: 4 });
    const kw = d.changed.filter((c) => c.keywordsFrom);
    expect(kw).toHaveLength(1);
    expect(kw[0]).toMatchObject({ role: 'dev', area: 'ccw', section: '4.3.2.1.1', keywordsFrom: ['MUST'], keywords: ['SHOULD'] });
  });

  it('v1.0-cs04 → v1.1-cs01: renamed labels are carried as moves', () => {
    expect(diff('v1.0-cs04', 'v1.1-cs01').counts).toMatchObject({ unchanged: 301, moved: 26, changed: 21, added: 172, withdrawn: 2 });
  });
});

describe.skipIf(!existsSync(join(DEFAULT_SPEC_ROOT, 'v1.4-cs01', 'title.tex')))('OASIS notice (needs ../shared/virtio-spec)', () => {
  it('reads the copyright line and Notices section of the version', () => {
    const n = readSpecNotice(join(DEFAULT_SPEC_ROOT, 'v1.0-cs04'));
    expect(n.split('\n')[0]).toBe('Copyright © OASIS Open 2015. All Rights Reserved.');
    expect(n).not.toMatch(/\\[a-z]+/);
    expect(readSpecNotice(join(DEFAULT_SPEC_ROOT, 'v1.4-cs01'))).toContain('OASIS Open 2023');
    expect(() => readSpecNotice('/nonexistent')).toThrow(UsageError);
  });
});
