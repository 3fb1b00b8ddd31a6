// The reference console through the suite's driver (driver/console.ts): data both ways on
// port 0 and port 1, the multiport control exchange, emerg_wr, unplug; each console defect
// changes what the driver sees. Both transports, both ring layouts.
import { describe, expect, it } from 'vitest';
import { createReferenceTarget } from '../../adapters/reference/index.ts';
import { ConsoleDriver, openDriver, readConsoleConfig, writeEmergency, consoleFeatures } from '../../driver/index.ts';
import { CONTROL_RECEIVEQ, VIRTIO_CONSOLE, VIRTIO_CONSOLE_F, receiveq, type ConsoleControl } from '../../virtio/console.ts';
import { CANARY_A } from '../../driver/canary.ts';

const E = VIRTIO_CONSOLE;
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

async function open(o: { transport?: 'pci' | 'mmio'; ring?: 'split' | 'packed'; defect?: string; features?: bigint; stopBeforeDriverOk?: boolean } = {}) {
  const t = await createReferenceTarget({ device: 'console', transport: o.transport ?? 'pci', defect: o.defect, timeoutScale: 0.05 });
  const d = await openDriver(t, { ring: o.ring ?? 'split' });
  const c = await ConsoleDriver.open(d, { features: o.features, stopBeforeDriverOk: o.stopBeforeDriverOk });
  return { t, d, c, host: t.console! };
}

/** DEVICE_READY, then PORT_READY for every DEVICE_ADD, PORT_OPEN 1 for every port; all messages seen. */
async function multiportHandshake(c: ConsoleDriver): Promise<ConsoleControl[]> {
  await c.sendControl({ id: 0, event: E.DEVICE_READY, value: 1 });
  const adds = await c.controlMessages((m) => m.filter((x) => x.event === E.DEVICE_ADD).length >= c.maxNrPorts, 200);
  const all = [...adds];
  for (const a of adds.filter((x) => x.event === E.DEVICE_ADD)) {
    await c.sendControl({ id: a.id, event: E.PORT_READY, value: 1 });
    all.push(...await c.controlMessages((m) => m.some((x) => x.event === E.PORT_OPEN), 200));
    await c.sendControl({ id: a.id, event: E.PORT_OPEN, value: 1 });
  }
  return all;
}

describe('reference console', () => {
  for (const transport of ['pci', 'mmio'] as const) {
    for (const ring of ['split', 'packed'] as const) {
      it(`port 0 data both ways without MULTIPORT (${transport}, ${ring})`, async () => {
        const { c, host } = await open({ transport, ring, features: consoleFeatures() });
        expect(c.multiport).toBe(false);
        const s = await c.send(0, enc('hello, host'), { segments: 3 });
        expect(s.usedLen).toBe(0);
        expect(dec(host.received(0))).toBe('hello, host');
        expect(host.received(0).length).toBe(0);
        await host.inject(0, enc('hi driver'));
        const r = await c.receive(0, 200);
        expect(r && dec(r.data)).toBe('hi driver');
        expect(r!.usedLen).toBe(9);
        expect(r!.buffer[9]).toBe(CANARY_A);
      });
    }
  }

  it('host bytes longer than a buffer fill several buffers in order', async () => {
    const { c, host } = await open({ features: consoleFeatures() });
    const big = new Uint8Array(600).map((_, i) => i & 0xff);
    await host.inject(0, big);
    const got = await c.receiveUntil(0, (all) => all.reduce((n, r) => n + r.usedLen, 0) >= 600, 200);
    expect(got.map((r) => r.usedLen)).toEqual([256, 256, 88]);
    expect(Array.from(got.flatMap((r) => Array.from(r.data)))).toEqual(Array.from(big));
  });

  it('config: cols, rows, max_nr_ports; emerg_wr before any status', async () => {
    const t = await createReferenceTarget({ device: 'console', transport: 'pci', timeoutScale: 0.05 });
    const d = await openDriver(t);
    await d.reset();
    await writeEmergency(d, 0x12345641);
    expect(Array.from(t.console!.emergency())).toEqual([0x41]);
    expect(await readConsoleConfig(d)).toEqual({ cols: 80, rows: 25, max_nr_ports: 2, emerg_wr: 0 });
  });

  it('multiport: DEVICE_ADD per port once, CONSOLE_PORT for port 0, PORT_NAME for port 1, data on port 1', async () => {
    const { c, host } = await open();
    expect(c.multiport).toBe(true);
    const msgs = await multiportHandshake(c);
    expect(msgs.filter((m) => m.event === E.DEVICE_ADD).map((m) => m.id)).toEqual([0, 1]);
    expect(msgs.some((m) => m.event === E.CONSOLE_PORT && m.id === 0 && m.value === 1)).toBe(true);
    expect(msgs.find((m) => m.event === E.PORT_NAME && m.id === 1)?.extra).toEqual(enc('org.virtio-cts.port1'));
    await c.send(1, enc('on port one'));
    expect(dec(host.received(1))).toBe('on port one');
    expect(host.received(0).length).toBe(0);
    await host.inject(1, enc('back'));
    expect(dec((await c.receive(receiveq(1), 200))!.data)).toBe('back');
    // Nothing more on the control receiveq.
    expect(await c.receive(CONTROL_RECEIVEQ, 20)).toBeUndefined();
  });

  it('multiport: host data waits until the driver opened the port', async () => {
    const { c, host } = await open();
    await host.inject(1, enc('early'));
    await c.sendControl({ id: 0, event: E.DEVICE_READY, value: 1 });
    await c.controlMessages((m) => m.length >= 2, 200);
    expect(await c.receive(receiveq(1), 20)).toBeUndefined();
    await c.sendControl({ id: 1, event: E.PORT_OPEN, value: 1 });
    expect(dec((await c.receive(receiveq(1), 200))!.data)).toBe('early');
  });

  it('unplug: DEVICE_REMOVE only for an announced port', async () => {
    const a = await open();
    await a.host.unplug!(1);
    await a.c.sendControl({ id: 0, event: E.DEVICE_READY, value: 1 });
    const m1 = await a.c.controlMessages(() => false, 0);
    expect(m1.map((m) => [m.event, m.id])).toEqual([[E.DEVICE_ADD, 0]]);
    const b = await open({ defect: 'console-removes-unannounced-port' });
    await b.host.unplug!(1);
    await b.c.sendControl({ id: 0, event: E.DEVICE_READY, value: 1 });
    const m2 = await b.c.controlMessages(() => false, 30);
    expect(m2.map((m) => [m.event, m.id])).toEqual([[E.DEVICE_REMOVE, 1], [E.DEVICE_ADD, 0]]);
    // Announced, then unplugged: removed.
    const c = await open();
    await c.c.sendControl({ id: 0, event: E.DEVICE_READY, value: 1 });
    await c.c.controlMessages((m) => m.length >= 2, 200);
    await c.host.unplug!(1);
    expect((await c.c.controlMessages((m) => m.length >= 1, 200)).map((m) => [m.event, m.id])).toEqual([[E.DEVICE_REMOVE, 1]]);
  });

  it('before DRIVER_OK nothing is used; afterwards held input arrives', async () => {
    const { c, host } = await open({ features: consoleFeatures(), stopBeforeDriverOk: true });
    await host.inject(0, enc('x'));
    const p = await c.post(0, enc('early out'));
    expect(await c.receive(0, 20)).toBeUndefined();
    expect(host.received(0).length).toBe(0);
    await c.driverOk();
    expect(dec((await c.receive(0, 200))!.data)).toBe('x');
    await c.queue(1).notify();
    expect((await c.sent(p, 200)).usedLen).toBe(0);
    expect(dec(host.received(0))).toBe('early out');
  });

  describe('defects', () => {
    it('console-tx-used-len-total / console-rx-len-overstated', async () => {
      const a = await open({ defect: 'console-tx-used-len-total', features: consoleFeatures() });
      expect((await a.c.send(0, enc('abc'))).usedLen).toBe(3);
      const b = await open({ defect: 'console-rx-len-overstated', features: consoleFeatures() });
      await b.host.inject(0, enc('abc'));
      expect((await b.c.receive(0, 200))!.usedLen).toBe(256);
    });

    it('writes-device-readable-buffer zero-fills transmit buffers', async () => {
      const a = await open({ defect: 'writes-device-readable-buffer', features: consoleFeatures() });
      expect(Array.from((await a.c.send(0, enc('abc'))).bufferAfter)).toEqual([0, 0, 0]);
    });

    it('emerg_wr defects', async () => {
      const a = await open({ defect: 'console-emerg-wr-needs-driver-ok', features: consoleFeatures(VIRTIO_CONSOLE_F.EMERG_WRITE), stopBeforeDriverOk: true });
      await writeEmergency(a.d, 0x41);
      expect(a.host.emergency().length).toBe(0);
      await a.c.driverOk();
      await writeEmergency(a.d, 0x41);
      expect(Array.from(a.host.emergency())).toEqual([0x41]);
      const b = await open({ defect: 'console-emerg-wr-high-byte' });
      await writeEmergency(b.d, 0x12345641);
      expect(Array.from(b.host.emergency())).toEqual([0x12]);
    });

    for (const [defect, want] of [
      ['console-adds-port-twice', [0, 1, 1]], ['console-adds-port-beyond-max', [0, 1, 2]],
    ] as const) {
      it(defect, async () => {
        const { c } = await open({ defect });
        await c.sendControl({ id: 0, event: E.DEVICE_READY, value: 1 });
        const m = await c.controlMessages(() => false, 30);
        expect(m.filter((x) => x.event === E.DEVICE_ADD).map((x) => x.id)).toEqual(want);
      });
    }

    it('console-readds-port-on-port-ready', async () => {
      const { c } = await open({ defect: 'console-readds-port-on-port-ready' });
      const m = await multiportHandshake(c);
      expect(m.filter((x) => x.event === E.DEVICE_ADD).map((x) => x.id)).toEqual([0, 1, 0, 1]);
    });
  });
});
