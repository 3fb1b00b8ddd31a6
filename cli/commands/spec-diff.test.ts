import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_SPEC_ROOT } from '../../spec-refs/build.ts';

const root = join(import.meta.dirname, '../..');
const cts = (...args: string[]) => spawnSync(process.execPath, [join(root, 'cli/bin.mjs'), ...args], { encoding: 'utf8', cwd: root });

describe('virtio-cts spec-diff (spawned)', () => {
  it('--json between committed versions: the five lists, with counts matching them', () => {
    const r = cts('spec-diff', 'v1.1-cs01', 'v1.2-cs01', '--role', 'dev,drv', '--json');
    expect(r.status).toBe(0);
    const d = JSON.parse(r.stdout);
    for (const k of ['added', 'changed', 'moved', 'renumbered', 'withdrawn']) {
      expect(Array.isArray(d[k])).toBe(true);
      expect(d.counts[k]).toBe(d[k].length);
      for (const c of d[k]) expect(c.id).toMatch(/^(dev|drv)\/[a-z0-9-]+(\/[^#]*)?#[0-9a-f]{8}/);
    }
    expect(d.counts.withdrawn).toBe(4);
    expect(d.changed.find((c: { keywordsFrom?: string[] }) => c.keywordsFrom)).toMatchObject({ section: '4.3.2.1.1', keywordsFrom: ['MUST'], keywords: ['SHOULD'] });
  });

  it.skipIf(!existsSync(join(DEFAULT_SPEC_ROOT, 'v1.4-cs01')))('a spec folder is carried forward like the registry: same figures as the committed diff (skipped without ../shared/virtio-spec)', () => {
    const viaFolder = cts('spec-diff', 'v1.2-cs01', join(DEFAULT_SPEC_ROOT, 'v1.4-cs01'), '--role', 'dev,drv', '--json');
    expect(viaFolder.status).toBe(0);
    const d = JSON.parse(viaFolder.stdout);
    expect(d.counts).toMatchObject({ unchanged: 909, changed: 24, added: 529, withdrawn: 0 });
    const bad = cts('spec-diff', 'v1.2-cs01', 'no-such-version');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/'no-such-version' is neither a committed spec version nor a folder/);
  });
});
