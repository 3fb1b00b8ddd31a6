import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFECTS } from '../../emulator/defects.ts';

const root = join(import.meta.dirname, '../..');
const cli = (...args: string[]) => execFileSync(process.execPath, [join(root, 'cli/bin.mjs'), 'defects', ...args], { encoding: 'utf8' });

describe('virtio-cts defects', () => {
  it('--json lists every defect with clause, devices, transports and rings', () => {
    const out = JSON.parse(cli('--json')) as Array<{ name: string; clause: string; devices: string[]; transports: string[]; rings: string[]; summary: string }>;
    expect(out.map((d) => d.name)).toEqual(DEFECTS.map((d) => d.name));
    for (const d of out) {
      expect(d.clause).toMatch(/^dev\/[a-z]+(\/[a-z0-9-]+)*#[0-9a-f]{8}$/);
      expect(d.devices.length).toBeGreaterThan(0);
      expect(d.transports.length).toBeGreaterThan(0);
      expect(d.summary.length).toBeGreaterThan(10);
    }
    expect(out.find((d) => d.name === 'bad-magic')?.transports).toEqual(['mmio']);
    expect(out.find((d) => d.name === 'used-len-too-long')?.transports).toEqual(['pci', 'mmio']);
    expect(out.find((d) => d.name === 'used-len-after-idx')?.rings).toEqual(['split']);
    expect(out.find((d) => d.name === 'packed-flags-before-body')?.rings).toEqual(['packed']);
    expect(out.find((d) => d.name === 'entropy-no-bytes')?.rings).toEqual(['split', 'packed']);
  });

  it('prints a table with one entry per defect', () => {
    const out = cli();
    expect(out).toContain('used-len-too-long');
    expect(out).toContain('dev/core/virtqueues/the-virtqueue-used-ring#d50e44f4');
    expect(out.trim().split('\n').at(-1)).toBe(`${DEFECTS.length} defects`);
  });
});
