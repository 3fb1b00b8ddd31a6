import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { probeQemu } from '../../adapters/qemu/index.ts';
import { listTargets } from './targets.ts';

const root = join(import.meta.dirname, '../..');

describe('virtio-cts targets', () => {
  it('names the package to install when the QEMU binary is missing', async () => {
    const list = await listTargets({ qemuBinary: '/nonexistent/qemu-system-x86_64' });
    expect(list.map((t) => t.name)).toEqual(['reference', 'qemu', 'vhost-user']);
    expect(list[0].available).toBe(true);
    expect(list[1]).toMatchObject({ available: false });
    expect(list[1].reason).toContain('qemu-system-x86');
    // vhost-user needs only the native addon, which npm ci builds.
    expect(list[2].available).toBe(true);
    expect(list[2].description).toMatch(/--socket PATH/);
  });

  it('--json reports the QEMU version found on PATH (or why not)', async () => {
    const probe = await probeQemu();
    const out = JSON.parse(execFileSync(process.execPath, [join(root, 'cli/bin.mjs'), 'targets', '--json'], { encoding: 'utf8' }));
    const qemu = out.find((t: { name: string }) => t.name === 'qemu');
    expect(qemu.available).toBe(probe.available);
    if (probe.available) { expect(qemu.version).toMatch(/^\d+\.\d+/); expect(qemu.transports).toEqual(['pci', 'mmio']); }
    else expect(qemu.reason).toContain('qemu-system-x86');
  });
});
