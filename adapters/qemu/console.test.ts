// QEMU console target (virtio-serial with a virtconsole on port 0 and a virtserialport on
// port 1, chardev sockets the suite listens on), through the suite's console driver:
// data both ways, emerg_wr on port 0's stream, unplug over QMP, reset for reuse.
// Skipped with a reason when qemu-system-x86_64 is not installed.
import { afterEach, describe, expect, it } from 'vitest';
import { ConsoleDriver, consoleFeatures, openDriver, readConsoleConfig, writeEmergency } from '../../driver/index.ts';
import { VIRTIO_CONSOLE, receiveq } from '../../virtio/console.ts';
import { createQemuTarget, probeQemu, type QemuTarget } from './index.ts';

const probe = await probeQemu();
const started: QemuTarget[] = [];
const E = VIRTIO_CONSOLE;
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const text = (b: Uint8Array): string => Buffer.from(b).toString('latin1');

async function start(transport: 'pci' | 'mmio'): Promise<QemuTarget> {
  const t = await createQemuTarget({ device: 'console', transport });
  started.push(t);
  return t;
}

/** Bytes on the host end of `port` until `n` arrived (or 2 s). */
async function hostBytes(t: QemuTarget, port: number, n: number): Promise<string> {
  let got = '';
  const deadline = Date.now() + 2000;
  while (got.length < n && Date.now() < deadline) {
    got += text(t.console!.received(port));
    await new Promise((r) => setTimeout(r, 5));
  }
  return got;
}

afterEach(async () => { for (const t of started.splice(0)) await t.close(); });

describe.skipIf(!probe.available)(`QEMU console target${probe.available ? '' : ` (skipped: ${probe.reason})`}`, () => {
  for (const transport of ['pci', 'mmio'] as const) {
    it(`port 0 both ways, emerg_wr after a reset, max_nr_ports 2 (${transport})`, { timeout: 30_000 }, async () => {
      const t = await start(transport);
      const d = await openDriver(t);
      await d.reset();
      await writeEmergency(d, 0x41);
      expect(await hostBytes(t, 0, 1)).toBe('A');
      expect((await readConsoleConfig(d)).max_nr_ports).toBe(2);
      const c = await ConsoleDriver.open(d, { features: consoleFeatures() });
      expect((await c.send(0, enc('hello, host'), { segments: 3 })).usedLen).toBe(0);
      expect(await hostBytes(t, 0, 11)).toBe('hello, host');
      await t.console!.inject(0, enc('hi, driver'));
      const r = await c.receive(0, 2000);
      expect(r && text(r.data)).toBe('hi, driver');
    });
  }

  it('multiport: DEVICE_ADD for ports 0 and 1, data on port 1; unplug/plug over QMP; the target is then not resettable', { timeout: 30_000 }, async () => {
    const t = await start('pci');
    const c = await ConsoleDriver.open(await openDriver(t));
    expect(c.multiport).toBe(true);
    await c.sendControl({ id: 0, event: E.DEVICE_READY, value: 1 });
    const adds = (await c.controlMessages(() => false, 300)).filter((m) => m.event === E.DEVICE_ADD).map((m) => m.id);
    expect(adds).toEqual([0, 1]);
    await c.sendControl({ id: 1, event: E.PORT_READY, value: 1 });
    // QEMU names the port with a NUL after the name, then says the host end is open.
    expect((await c.controlMessages(() => false, 300)).map((m) => [m.event, m.id, m.extra ? text(m.extra) : ''])).toEqual([
      [E.PORT_NAME, 1, 'org.virtio-cts.port1\0'], [E.PORT_OPEN, 1, ''],
    ]);
    await c.sendControl({ id: 1, event: E.PORT_OPEN, value: 1 });
    await c.send(1, enc('to port one'));
    expect(await hostBytes(t, 1, 11)).toBe('to port one');
    await t.console!.inject(1, enc('from port one'));
    expect(text((await c.receive(receiveq(1), 2000))!.data)).toBe('from port one');
    expect(t.resettable).toBe(true);
    await t.console!.unplug!(1);
    expect((await c.controlMessages(() => false, 300)).map((m) => [m.event, m.id])).toEqual([[E.DEVICE_REMOVE, 1]]);
    expect(t.resettable).toBe(false);
    await t.console!.plug!(1);
    // QEMU 7.2 opens the host end (PORT_OPEN) while realizing the port, before its DEVICE_ADD.
    expect((await c.controlMessages(() => false, 300)).map((m) => [m.event, m.id])).toEqual([[E.PORT_OPEN, 1], [E.DEVICE_ADD, 1]]);
  });

  it('a reset for reuse forgets bytes in flight', { timeout: 30_000 }, async () => {
    const t = await start('pci');
    const c = await ConsoleDriver.open(await openDriver(t), { features: consoleFeatures() });
    await c.send(0, enc('left over'));
    await new Promise((r) => setTimeout(r, 100));
    await t.reset();
    expect(t.console!.received(0).length).toBe(0);
  });
});
