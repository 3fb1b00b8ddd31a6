import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_SPEC_ROOT } from '../../spec-refs/build.ts';
import { loadIndex } from '../../spec-refs/load.ts';
import { fakeSpec } from '../../spec-refs/synthetic.fixture.ts';
import { buildRegistry } from '../../spec-refs/registry.ts';
import { listClauses } from './clauses.ts';

const root = join(import.meta.dirname, '../..');
const cts = (...args: string[]) => spawnSync(process.execPath, [join(root, 'cli/bin.mjs'), ...args], { encoding: 'utf8', cwd: root });

describe('listClauses', () => {
  const spec = fakeSpec('v1', [
    { label: 'devicenormative:Alpha / Widget', text: 'The widget MUST hum quietly' },
    { label: 'drivernormative:Alpha / Widget', role: 'drv', text: 'The operator MUST NOT shout', area: 'net' },
  ]);
  const ix = buildRegistry([spec]).indexes[0];

  it('filters by role and area and keeps only the sections of listed clauses', () => {
    const l = listClauses(ix, { role: 'drv' });
    expect(l.clauses.map((c) => c.role)).toEqual(['drv']);
    expect(l.sections.map((s) => s.label)).toEqual(['drivernormative:Alpha / Widget']);
    expect(listClauses(ix, { area: 'core' }).clauses).toHaveLength(1);
    expect(listClauses(ix, {}).sections).toHaveLength(2);
    expect(() => listClauses(ix, { area: 'nope' })).toThrow(/unknown area 'nope'/);
    expect(() => listClauses(ix, { role: 'xyz' })).toThrow(/unknown role/);
  });

  it('adds text only when given', () => {
    expect('text' in listClauses(ix, {}).clauses[0]).toBe(false);
    const texts = new Map([[ix.clauses[0].id, { text: 'placeholder' }]]);
    expect(listClauses(ix, {}, texts).clauses[0].text).toBe('placeholder');
  });
});

describe('virtio-cts clauses (spawned)', () => {
  it('--json prints the committed index in the documented shape, filtered', () => {
    const r = cts('clauses', '--spec-version', 'v1.2-cs01', '--role', 'drv', '--area', 'blk', '--json');
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.spec.version).toBe('v1.2-cs01');
    const want = loadIndex('v1.2-cs01').clauses.filter((c) => c.role === 'drv' && c.area === 'blk');
    expect(out.clauses.map((c: { id: string }) => c.id)).toEqual(want.map((c) => c.id));
    expect(Object.keys(out.clauses[0])).toEqual(['id', 'role', 'area', 'label', 'section', 'ordinal', 'keywords', 'features', 'fingerprint', 'source']);
    expect(Object.keys(out.sections[0])).toEqual(['number', 'title', 'label', 'aliases', 'kind']);
    expect(out.notice).toBeUndefined();
  });

  it('bad input is one line on stderr and exit 2', () => {
    const r = cts('clauses', '--spec-version', 'v0.9');
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/unknown spec version 'v0\.9'/);
  });

  it.skipIf(!existsSync(join(DEFAULT_SPEC_ROOT, 'v1.4-cs01')))('--spec-dir shows clause text followed by the folder\'s OASIS notice (skipped without ../shared/virtio-spec)', () => {
    const r = cts('clauses', '--spec-dir', join(DEFAULT_SPEC_ROOT, 'v1.4-cs01'), '--role', 'dev', '--area', 'entropy');
    expect(r.status).toBe(0);
    const ids = loadIndex('v1.4-cs01').clauses.filter((c) => c.role === 'dev' && c.area === 'entropy').map((c) => c.id);
    const lines = r.stdout.split('\n');
    for (const id of ids) {
      const i = lines.findIndex((l) => l.startsWith(id));
      expect(i).toBeGreaterThan(0);
      expect(lines[i + 1]).toMatch(/^ {4}\S.*\b(MUST|SHOULD|MAY)\b/); // the clause's own text
    }
    expect(r.stdout).toContain('Copyright © OASIS Open 2023. All Rights Reserved.');
    expect(r.stdout.indexOf('Copyright')).toBeGreaterThan(r.stdout.indexOf(ids[ids.length - 1]));
  });
});
