// Against the real qemu-system-x86_64 (CI installs it; skipped with a reason otherwise).
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { UsageError } from '../../cli/errors.ts';
import { PCI_DEVICE_ID, PCI_VENDOR_ID } from '../../virtio/pci.ts';
import { MMIO, MMIO_MAGIC_VALUE } from '../../virtio/mmio.ts';
import { createQemuTarget, probeQemu, type QemuTarget } from './index.ts';
import { liveQemuCount } from './process.ts';
import { TargetWedgedError } from './qtest.ts';
import { openDriver } from '../../driver/index.ts';
import type { SplitRingDriver } from '../../virtio/split-ring-driver.ts';
import { VIRTIO_F, bit } from '../../virtio/features.ts';

const probe = await probeQemu();
const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const started: QemuTarget[] = [];

async function start(...a: Parameters<typeof createQemuTarget>): Promise<QemuTarget> {
  const t = await createQemuTarget(...a);
  started.push(t);
  return t;
}

/** Running (a zombie waiting for init to reap it counts as gone). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch { return false; }
}

/** QEMU processes whose parent is `ppid` (pgrep -f qemu-system, filtered by parent). */
function qemuChildrenOf(ppid: number): number[] {
  let out = '';
  try { out = execFileSync('pgrep', ['-P', String(ppid), '-f', 'qemu-system'], { encoding: 'utf8' }); } catch { /* none: exit 1 */ }
  return out.split('\n').filter(Boolean).map(Number);
}

afterEach(async () => {
  for (const t of started.splice(0)) await t.close();
});

it('reports a missing binary as a UsageError naming the Debian package', async () => {
  const err = await createQemuTarget({ device: 'entropy', transport: 'pci', qemuBinary: '/nonexistent/qemu-system-x86_64' }).catch((e) => e);
  expect(err).toBeInstanceOf(UsageError);
  expect(err.message).toContain('qemu-system-x86');
  const p = await probeQemu('/nonexistent/qemu-system-x86_64');
  expect(p.available).toBe(false);
  expect(p.reason).toContain('qemu-system-x86');
});

describe.skipIf(!probe.available)(`real QEMU (${probe.available ? probe.version : probe.reason})`, () => {
  it('q35: virtio-rng-pci and virtio-blk-pci show modern IDs at 00:01.0', async () => {
    for (const [device, id] of [['entropy', 0x1044], ['blk', 0x1042]] as const) {
      const t = await start({ device, transport: 'pci' });
      expect(t.location.transport).toBe('pci');
      if (t.location.transport !== 'pci') return;
      const a = t.location.address;
      expect(await t.bus.pciConfigRead(a, PCI_VENDOR_ID, 2)).toBe(0x1af4);
      expect(await t.bus.pciConfigRead(a, PCI_DEVICE_ID, 2)).toBe(id);
      expect(await t.bus.pciConfigRead(a, 0, 4)).toBe(((id << 16) | 0x1af4) >>> 0);
      expect(await t.bus.pciConfigRead(a, 1, 1)).toBe(0x1a); // byte lane 1 of the vendor ID
      // A write through 0xcf8/0xcfc sticks: interrupt line register (offset 0x3c).
      await t.bus.pciConfigWrite(a, 0x3c, 1, 0xab);
      expect(await t.bus.pciConfigRead(a, 0x3c, 1)).toBe(0xab);
      // An empty slot reads all-ones.
      expect(await t.bus.pciConfigRead({ bus: 0, device: 9, fn: 0 }, 0, 2)).toBe(0xffff);
      await t.close();
    }
  });

  it('microvm: the virtio-mmio window at 0xfeb02e00 is a version 2 transport of the device', async () => {
    for (const [device, id] of [['entropy', 4], ['blk', 2]] as const) {
      const t = await start({ device, transport: 'mmio' });
      expect(t.location).toMatchObject({ transport: 'mmio', base: 0xfeb02e00 });
      const base = 0xfeb02e00;
      expect(await t.bus.read(base + MMIO.MagicValue, 4)).toBe(MMIO_MAGIC_VALUE);
      expect(await t.bus.read(base + MMIO.Version, 4)).toBe(2);
      expect(await t.bus.read(base + MMIO.DeviceID, 4)).toBe(id);
      expect(await t.bus.read(base + MMIO.VendorID, 4)).toBe(0x554d4551);
      await t.close();
    }
  });

  it('guest memory: b64 round trip, zero-filled allocations, bounds', async () => {
    const t = await start({ device: 'entropy', transport: 'pci' });
    const a = await t.mem.alloc(0x30000, 4096);
    expect(a).toBeGreaterThanOrEqual(0x100000);
    expect(a % 4096).toBe(0);
    const data = new Uint8Array(0x30000).map((_, i) => (i * 7 + 3) & 0xff);
    await t.mem.write(a, data);
    expect(Buffer.from(await t.mem.read(a, data.length)).equals(Buffer.from(data))).toBe(true);
    expect(await t.bus.read(a + 4, 4)).toBe(new DataView(data.buffer).getUint32(4, true));
    await t.bus.write64(a, 0x1122334455667788n);
    expect(await t.bus.read64(a)).toBe(0x1122334455667788n);
    // After a reset the same memory is handed out again, zeroed.
    await t.mem.resetAllocator();
    const b = await t.mem.alloc(64, 4096);
    expect(b).toBe(a);
    expect([...await t.mem.read(b, 64)].every((x) => x === 0)).toBe(true);
    await expect(t.mem.read(128 * 1024 * 1024 - 4, 8)).rejects.toThrow(RangeError);
    await expect(t.mem.alloc(256 * 1024 * 1024)).rejects.toThrow(RangeError);
    // Unsigned formatting: BAR-style addresses above 2^31 must not turn into 0x-….
    expect(t.bus.allocMmio(0x4000)).toBe(0xe0000000);
    expect(t.bus.allocMmio(0x1000)).toBe(0xe0004000);
    expect(await t.bus.read(0xe0004000, 4)).toBeTypeOf('number');
  });

  it('close() leaves no QEMU process and removes its temp dir', async () => {
    const t = await start({ device: 'blk', transport: 'mmio' });
    const pid = t.qemu.pid;
    const dir = t.qemu.dir;
    expect(alive(pid)).toBe(true);
    expect(existsSync(join(dir, 'disk.img'))).toBe(true);
    await t.close();
    expect(alive(pid)).toBe(false);
    expect(existsSync(dir)).toBe(false);
    expect(liveQemuCount()).toBe(0);
  });

  it('QEMU killed mid-request: the pending request rejects promptly as wedged, with the exit status', async () => {
    const t = await start({ device: 'entropy', transport: 'pci' });
    const pid = t.qemu.pid;
    process.kill(pid, 'SIGSTOP'); // keep the request pending
    const pending = t.bus.read(0xfeb00000, 4);
    await new Promise((r) => setTimeout(r, 50));
    const t0 = performance.now();
    process.kill(pid, 'SIGKILL');
    const err = await pending.catch((e) => e);
    expect(performance.now() - t0).toBeLessThan(1500);
    expect(err).toBeInstanceOf(TargetWedgedError);
    expect(err.wedged).toBe(true);
    expect(err.message).toContain('connection lost');
    expect(err.message).toContain('SIGKILL');
    await t.close();
    expect(alive(pid)).toBe(false);
  });

  it('a QEMU that fails to start reports its stderr', async () => {
    const err = await createQemuTarget({ device: 'entropy', transport: 'pci', extraDeviceProps: ['no-such-prop=1'] }).catch((e) => e);
    expect(err).toBeInstanceOf(Error);
    expect(err.message).toMatch(/exited/);
    expect(err.message).toContain('no-such-prop');
    expect(liveQemuCount()).toBe(0);
  });

  it('blk: changeConfig resizes the disk (QMP block_resize) and notifies a live device', async () => {
    const t = await start({ device: 'blk', transport: 'mmio', blk: { capacitySectors: 100 } });
    const b = 0xfeb02e00;
    const cap = () => t.bus.read(b + MMIO.Config, 4);
    expect(await cap()).toBe(100);
    // QEMU bumps config_generation and interrupts only once DRIVER_OK is set.
    for (const s of [0, 1, 3]) await t.bus.write(b + MMIO.Status, 4, s);
    await t.bus.write(b + MMIO.DriverFeaturesSel, 4, 1);
    await t.bus.write(b + MMIO.DriverFeatures, 4, 1); // VERSION_1 (bit 32)
    await t.bus.write(b + MMIO.Status, 4, 11);
    await t.bus.write(b + MMIO.Status, 4, 15);
    const gen = await t.bus.read(b + MMIO.ConfigGeneration, 4);
    expect(await t.bus.irqLevel(t.location.irqLine)).toBe(false);
    await t.changeConfig!();
    expect(await cap()).toBe(108);
    expect(await t.bus.read(b + MMIO.ConfigGeneration, 4)).not.toBe(gen);
    const isr = await t.bus.read(b + MMIO.InterruptStatus, 4);
    expect(isr & 2).toBe(2);
    await t.bus.settle();
    expect(await t.bus.irqLevel(t.location.irqLine)).toBe(true);
    // QEMU 7.2 sets both InterruptStatus bits on a config change: acknowledge what we read.
    await t.bus.write(b + MMIO.InterruptACK, 4, isr);
    await t.bus.settle();
    expect(await t.bus.irqLevel(t.location.irqLine)).toBe(false);
  });

  it('reset(): system_reset returns the machine to its just-started state (BARs, COMMAND, MSI-X, status) and the allocators start over', async () => {
    const t = await start({ device: 'entropy', transport: 'pci' });
    const dev = { bus: 0, device: 1, fn: 0 };
    const bar4 = t.bus.allocMmio(0x4000);
    await t.bus.pciConfigWrite(dev, 0x20, 4, bar4);
    await t.bus.pciConfigWrite(dev, 0x04, 2, 0x7);
    const msixCtl = 0x98 + 2; // MSI-X capability at 0x98 on QEMU 7.2's virtio-pci
    await t.bus.pciConfigWrite(dev, msixCtl, 2, 0x8000);
    await t.bus.write(bar4 + 0x14, 1, 0x3); // common cfg device_status: ACKNOWLEDGE|DRIVER
    expect(await t.bus.read(bar4 + 0x14, 1)).toBe(0x3);
    const a = await t.mem.alloc(64);
    await t.mem.write(a, new Uint8Array(64).fill(0xee));
    expect(t.resettable).toBe(true);
    await t.reset();
    expect(await t.bus.pciConfigRead(dev, 0x04, 2) & 0x7).toBe(0);
    expect((await t.bus.pciConfigRead(dev, 0x20, 4)) & ~0xf).toBe(0);
    expect(await t.bus.pciConfigRead(dev, msixCtl, 2) & 0x8000).toBe(0);
    // Re-map and read the status again: the virtio device was reset too.
    expect(t.bus.allocMmio(0x4000)).toBe(bar4);
    await t.bus.pciConfigWrite(dev, 0x20, 4, bar4);
    await t.bus.pciConfigWrite(dev, 0x04, 2, 0x7);
    expect(await t.bus.read(bar4 + 0x14, 1)).toBe(0);
    // Same addresses handed out again, zero-filled as the allocator promises.
    const b = await t.mem.alloc(64);
    expect(b).toBe(a);
    expect([...await t.mem.read(b, 64)].every((x) => x === 0)).toBe(true);
  });

  it('diagnostics(): QEMU stderr since the start or the last reset; a resized disk cannot be reset for reuse', async () => {
    const t = await start({ device: 'blk', transport: 'mmio' });
    expect(t.diagnostics()).toBe('');
    // QEMU 7.2 reports a chain ending in an INDIRECT descriptor with virtio_error() on stderr.
    const drv = await openDriver(t);
    await drv.ready({ features: bit(VIRTIO_F.VERSION_1) | bit(VIRTIO_F.INDIRECT_DESC) });
    const vq = drv.queue(0) as SplitRingDriver;
    const a = await t.mem.alloc(64);
    await vq.addAndKick([{ addr: a, len: 16, write: false }, { addr: a + 16, len: 32, write: true }, { addr: a + 48, len: 1, write: true }], { indirect: 'tail', tailCount: 2 });
    for (let i = 0; i < 100 && !t.diagnostics(); i++) await t.bus.settle();
    expect(t.diagnostics()).toMatch(/qemu-system-x86_64: /);
    await t.reset();
    expect(t.diagnostics()).toBe('');
    await t.changeConfig!();
    expect(t.resettable).toBe(false);
    await expect(t.reset()).rejects.toThrow(/resized/);
  });

  for (const signal of ['SIGINT', 'SIGTERM', 'SIGKILL', 'uncaught'] as const) {
    // SIGKILL runs no hook: QEMU goes only through setpriv's parent-death signal.
    it.skipIf(signal === 'SIGKILL' && !existsSync('/usr/bin/setpriv') && !existsSync('/bin/setpriv'))(`${signal === 'uncaught' ? 'an uncaught error in' : `${signal} to`} a node process running QEMU leaves no QEMU behind`, async () => {
      const args = ['--import', 'tsx', join(root, 'tests/fixtures/qemu/hold-target.ts'), 'pci', ...(signal === 'uncaught' ? ['throw'] : [])];
      const child = spawn(process.execPath, args, {
        cwd: root, stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      child.stderr!.on('data', (d) => { err += d; });
      const exited = new Promise<{ code: number | null; signal: string | null }>((r) => child.once('exit', (code, sig) => r({ code, signal: sig })));
      const [qemuPid, qemuDir] = await new Promise<[number, string]>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`fixture not ready in 20 s: ${err}`)), 20_000);
        child.stdout!.on('data', (d) => {
          out += d;
          const m = /READY (\d+) (\S+)\n/.exec(out);
          if (m) { clearTimeout(timer); resolve([Number(m[1]), m[2]]); }
        });
      });
      const before = qemuChildrenOf(child.pid!);
      expect(before).toEqual([qemuPid]);
      child.kill(signal === 'uncaught' ? 'SIGUSR2' : signal);
      const st = await Promise.race([exited, new Promise<never>((_, rej) => setTimeout(() => rej(new Error('fixture did not exit')), 10_000))]);
      if (signal === 'uncaught') {
        expect(st.code).toBe(1);
        expect(err).toContain('uncaught on purpose');
      } else {
        // Default signal behaviour restored: killed by the signal (a shell shows 130 / 143).
        expect(st.signal).toBe(signal);
      }
      for (let i = 0; i < 50 && alive(qemuPid); i++) await new Promise((r) => setTimeout(r, 20));
      expect(alive(qemuPid)).toBe(false);
      expect(qemuChildrenOf(child.pid!)).toEqual([]);
      // The hooks also remove the run's temp dir; after SIGKILL nobody can, so we do.
      if (signal === 'SIGKILL') rmSync(qemuDir, { recursive: true, force: true });
      else expect(existsSync(qemuDir)).toBe(false);
    });
  }
});
