// Each defect the console takes, triggered, changes exactly the observable of its clause:
// a probe reads it through the suite's console driver (driver/console.ts, no scenario
// code) on the defect-free device and on the defective one, on both transports; a control
// next to the trigger shows the defect stays dormant otherwise.
import { describe, expect, it } from 'vitest';
import { createReferenceTarget, type ReferenceTarget } from '../../adapters/reference/index.ts';
import { ConsoleDriver, addBuffers, consoleFeatures, openDriver, readConsoleConfig, writeEmergency, type Driver } from '../../driver/index.ts';
import { CONTROL_RECEIVEQ, VIRTIO_CONSOLE, VIRTIO_CONSOLE_F, transmitq } from '../../virtio/console.ts';
import { ACKNOWLEDGE, DRIVER } from '../../virtio/status.ts';
import { DEFECTS } from '../defects.ts';
import { transmitProbes } from '../transmit-probes.ts';

const E = VIRTIO_CONSOLE;
type Transport = 'pci' | 'mmio';
interface Ctx { transport: Transport; defect?: string }

async function target(c: Ctx): Promise<{ t: ReferenceTarget; d: Driver }> {
  const t = await createReferenceTarget({ device: 'console', transport: c.transport, defect: c.defect, timeoutScale: 0.05 });
  return { t, d: await openDriver(t) };
}

async function open(c: Ctx, o: { features?: bigint; stopBeforeDriverOk?: boolean } = {}) {
  const { t, d } = await target(c);
  return { t, d, c: await ConsoleDriver.open(d, o) };
}

const PORT0 = consoleFeatures();

/** Control messages answering DEVICE_READY (and, with `portReady`, PORT_READY of each added port), as [event, id]. */
async function controlExchange(c: Ctx, o: { portReady?: boolean; unplugFirst?: number } = {}): Promise<number[][]> {
  const u = await open(c);
  if (o.unplugFirst !== undefined) await u.t.console!.unplug!(o.unplugFirst);
  await u.c.sendControl({ id: 0, event: E.DEVICE_READY, value: 1 });
  const msgs = await u.c.controlMessages(() => false, 40);
  if (o.portReady) {
    for (const m of msgs.filter((x) => x.event === E.DEVICE_ADD && x.id < u.c.maxNrPorts)) {
      await u.c.sendControl({ id: m.id, event: E.PORT_READY, value: 1 });
    }
    msgs.push(...await u.c.controlMessages(() => false, 40));
  }
  return msgs.map((m) => [m.event, m.id]);
}

/** Does config_generation change when the host resizes the console? */
async function configGenerationMoves(c: Ctx): Promise<boolean> {
  const u = await open(c, { features: consoleFeatures(VIRTIO_CONSOLE_F.SIZE) });
  const before = await u.d.transport.configGeneration();
  await u.t.console!.resize!(100, 30);
  const cfg = await readConsoleConfig(u.d);
  expect([cfg.cols, cfg.rows]).toEqual([100, 30]);
  return (await u.d.transport.configGeneration()) !== before;
}

interface Probe { probe: (c: Ctx) => Promise<unknown>; control?: (c: Ctx) => Promise<unknown>; good: unknown; bad: unknown }

const PROBES: Record<string, Probe> = {
  'consumes-before-driver-ok': {
    // Input held by the host and a transmit buffer, both before DRIVER_OK: used or not?
    probe: async (c) => {
      const u = await open(c, { features: PORT0, stopBeforeDriverOk: true });
      await u.t.console!.inject(0, new Uint8Array([7]));
      await u.c.post(0, new Uint8Array([8]));
      return [(await u.c.receive(0, 20)) !== undefined, u.t.console!.received(0).length];
    },
    control: async (c) => {
      const u = await open(c, { features: PORT0 });
      await u.t.console!.inject(0, new Uint8Array([7]));
      return (await u.c.receive(0, 200))?.usedLen;
    },
    good: [false, 0], bad: [true, 1],
  },
  'config-unreadable-before-features-ok': {
    probe: async (c) => { const { d } = await target(c); await d.transport.setStatus(ACKNOWLEDGE | DRIVER); return readConsoleConfig(d); },
    control: async (c) => readConsoleConfig((await open(c)).d),
    good: { cols: 80, rows: 25, max_nr_ports: 2, emerg_wr: 0 }, bad: { cols: 0, rows: 0, max_nr_ports: 0, emerg_wr: 0 },
  },
  'writes-device-readable-buffer': {
    probe: async (c) => Array.from((await (await open(c, { features: PORT0 })).c.send(0, new Uint8Array([1, 2, 3]))).bufferAfter),
    good: [1, 2, 3], bad: [0, 0, 0],
  },
  'static-config-generation': {
    probe: async (c) => configGenerationMoves(c),
    good: true, bad: false,
  },
  'mmio-static-config-generation': {
    probe: async (c) => configGenerationMoves(c),
    good: true, bad: false,
  },
  'console-emerg-wr-needs-driver-ok': {
    // Right after a reset, before any other status bit.
    probe: async (c) => {
      const { t, d } = await target(c);
      await d.reset();
      await writeEmergency(d, 0x41);
      return Array.from(t.console!.emergency());
    },
    control: async (c) => {
      const u = await open(c, { features: consoleFeatures(VIRTIO_CONSOLE_F.EMERG_WRITE) });
      await writeEmergency(u.d, 0x41);
      return Array.from(u.t.console!.emergency());
    },
    good: [0x41], bad: [],
  },
  'console-emerg-wr-high-byte': {
    probe: async (c) => {
      const u = await open(c, { features: consoleFeatures(VIRTIO_CONSOLE_F.EMERG_WRITE) });
      await writeEmergency(u.d, 0x7a000041);
      return Array.from(u.t.console!.emergency());
    },
    // A one-byte write has no other byte to take.
    control: async (c) => {
      const u = await open(c, { features: consoleFeatures(VIRTIO_CONSOLE_F.EMERG_WRITE) });
      await writeEmergency(u.d, 0x41, 1);
      return Array.from(u.t.console!.emergency());
    },
    good: [0x41], bad: [0x7a],
  },
  'console-adds-port-twice': {
    probe: (c) => controlExchange(c),
    good: [[E.DEVICE_ADD, 0], [E.DEVICE_ADD, 1]], bad: [[E.DEVICE_ADD, 0], [E.DEVICE_ADD, 1], [E.DEVICE_ADD, 1]],
  },
  'console-adds-port-beyond-max': {
    probe: (c) => controlExchange(c),
    good: [[E.DEVICE_ADD, 0], [E.DEVICE_ADD, 1]], bad: [[E.DEVICE_ADD, 0], [E.DEVICE_ADD, 1], [E.DEVICE_ADD, 2]],
  },
  'console-readds-port-on-port-ready': {
    probe: async (c) => (await controlExchange(c, { portReady: true })).filter(([ev]) => ev === E.DEVICE_ADD).length,
    control: (c) => controlExchange(c),
    good: 2, bad: 4,
  },
  'console-hotplug-readds-ports': {
    // Announced, unplugged (DEVICE_REMOVE 1), plugged again: which DEVICE_ADD follow?
    probe: async (c) => {
      const u = await open(c);
      await u.c.sendControl({ id: 0, event: E.DEVICE_READY, value: 1 });
      await u.c.controlMessages((m) => m.length >= 2, 200);
      await u.t.console!.unplug!(1);
      await u.t.console!.plug!(1);
      return (await u.c.controlMessages(() => false, 40)).map((m) => [m.event, m.id]);
    },
    // Unplugged and plugged again before DEVICE_READY: announced once, by the DEVICE_READY answer.
    control: async (c) => {
      const u = await open(c);
      await u.t.console!.unplug!(1);
      await u.t.console!.plug!(1);
      await u.c.sendControl({ id: 0, event: E.DEVICE_READY, value: 1 });
      return (await u.c.controlMessages(() => false, 40)).map((m) => [m.event, m.id]);
    },
    good: [[E.DEVICE_REMOVE, 1], [E.DEVICE_ADD, 1]], bad: [[E.DEVICE_REMOVE, 1], [E.DEVICE_ADD, 0], [E.DEVICE_ADD, 1]],
  },
  'console-removes-unannounced-port': {
    probe: (c) => controlExchange(c, { unplugFirst: 1 }),
    control: async (c) => {
      // Announced first, then unplugged: DEVICE_REMOVE either way.
      const u = await open(c);
      await u.c.sendControl({ id: 0, event: E.DEVICE_READY, value: 1 });
      await u.c.controlMessages((m) => m.length >= 2, 200);
      await u.t.console!.unplug!(1);
      return (await u.c.controlMessages(() => false, 40)).map((m) => [m.event, m.id]);
    },
    good: [[E.DEVICE_ADD, 0]], bad: [[E.DEVICE_REMOVE, 1], [E.DEVICE_ADD, 0]],
  },
  'packed-starts-out-of-ring-order': {
    // Packed ring, buffers "a", "b", "c" on port 0's transmitq made available before one
    // notification: the bytes the host receives.
    probe: async (c) => {
      const t = await createReferenceTarget({ device: 'console', transport: c.transport, defect: c.defect, timeoutScale: 0.05 });
      const d = await openDriver(t, { ring: 'packed' });
      await ConsoleDriver.open(d, { features: PORT0 });
      const q = d.ring(transmitq(0));
      for (const b of 'abc') {
        const a = await d.mem.alloc(1);
        await d.mem.write(a, new TextEncoder().encode(b));
        await addBuffers(q, [{ addr: a, len: 1, write: false }]);
      }
      await q.kick({ force: true });
      await t.bus.settle();
      return new TextDecoder().decode(t.console!.received(0));
    },
    good: 'abc', bad: 'bac',
  },
  'console-tx-used-len-total': {
    probe: async (c) => (await (await open(c, { features: PORT0 })).c.send(0, new Uint8Array(5))).usedLen,
    // Control transmit buffers are not data: used len 0 either way.
    control: async (c) => (await (await open(c)).c.sendControl({ id: 0, event: E.DEVICE_READY, value: 1 })).usedLen,
    good: 0, bad: 5,
  },
  'console-rx-len-overstated': {
    probe: async (c) => {
      const u = await open(c, { features: PORT0 });
      await u.t.console!.inject(0, new Uint8Array(5).fill(1));
      return (await u.c.receive(0, 200))?.usedLen;
    },
    // Control messages are not data: exactly 8 bytes either way.
    control: async (c) => {
      const u = await open(c);
      await u.c.sendControl({ id: 0, event: E.DEVICE_READY, value: 1 });
      return (await u.c.receive(CONTROL_RECEIVEQ, 200))?.usedLen;
    },
    good: 5, bad: 256,
  },
};

// Device-independent defects (device core, ring, transports) on port 0's transmitq: emulator/transmit-probes.ts.
for (const [name, p] of Object.entries(transmitProbes('console'))) PROBES[name] ??= p;

describe('console defects', () => {
  it('one probe per defect the console takes', () => {
    expect(Object.keys(PROBES).sort()).toEqual(DEFECTS.filter((d) => d.devices.includes('console')).map((d) => d.name).sort());
  });
});

for (const info of DEFECTS.filter((d) => d.devices.includes('console'))) {
  const p = PROBES[info.name];
  if (!p) continue;
  for (const transport of info.transports ?? (['pci', 'mmio'] as const)) {
    it(`${info.name} (console, ${transport}) changes its observable only when triggered`, async () => {
      const c: Ctx = { transport };
      expect(p.bad).not.toEqual(p.good);
      expect(await p.probe(c)).toEqual(p.good);
      expect(await p.probe({ ...c, defect: info.name })).toEqual(p.bad);
      if (p.control) expect(await p.control({ ...c, defect: info.name })).toEqual(await p.control(c));
    });
  }
}
