import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_SPEC_ROOT } from '../../spec-refs/build.ts';
import { groupLints } from './lint-spec.ts';

const root = join(import.meta.dirname, '../..');

describe('groupLints', () => {
  it('groups by kind and counts only defect kinds as errors', () => {
    const r = groupLints('vX', [
      { kind: 'keyword-outside-normative', source: 'a.tex:1', message: 'm1' },
      { kind: 'noncanonical-keyword', source: 'a.tex:2', message: 'm2' },
      { kind: 'noncanonical-keyword', source: 'a.tex:3', message: 'm3' },
    ]);
    expect(r.counts).toEqual({ 'noncanonical-keyword': 2, 'keyword-outside-normative': 1 });
    expect(r.errors).toBe(2);
    expect(Object.keys(r.findings)).toEqual(['noncanonical-keyword', 'keyword-outside-normative']);
    expect(groupLints('vX', [{ kind: 'skipped-level', source: 'b.tex:1', message: 'm' }]).errors).toBe(0);
  });
});

describe.skipIf(!existsSync(join(DEFAULT_SPEC_ROOT, 'v1.4-cs01')))('virtio-cts lint-spec (spawned; skipped without ../shared/virtio-spec)', () => {
  it('reports v1.4-cs01\'s findings grouped, and exits 1', () => {
    const r = spawnSync(process.execPath, [join(root, 'cli/bin.mjs'), 'lint-spec', join(DEFAULT_SPEC_ROOT, 'v1.4-cs01'), '--json'], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    const out = JSON.parse(r.stdout);
    expect(out.spec.version).toBe('v1.4-cs01');
    expect(out.counts['unreferenced-normative-label']).toBe(17);
    const nonCanon = out.findings['noncanonical-keyword'].map((f: { message: string }) => f.message);
    expect(nonCanon.filter((m: string) => m.includes('MOST NOT'))).toHaveLength(2);
    expect(nonCanon.filter((m: string) => m.includes('MUST not')).length).toBeGreaterThanOrEqual(16);
    expect(out.errors).toBeGreaterThan(0);
  });
});
