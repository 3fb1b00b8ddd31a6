// Console device (5.3): the suite is the driver (driver/console.ts) and owns the host end
// of the ports through Target.console (adapters/types.ts ConsoleHostSide). Steps stay thin:
// what the driver and the host saw goes into the scenario state, Then steps judge it
// against the scenario's clause.
import { Given, Then, When } from '@cucumber/cucumber';
import type { CtsWorld } from './support/world.ts';
import { inconclusive, notApplicable } from './support/assert.ts';
import { S, USED_MS, defaultFeatures, drv, expect, hex } from './common.steps.ts';
import {
  ConsoleDriver, readConsoleConfig, writeEmergency, writtenExtent, CANARY_A,
  type ConsoleConfig, type ConsoleReceived, type ConsoleSent,
} from '../driver/index.ts';
import type { ConsoleHostSide } from '../adapters/types.ts';
import { VIRTIO_CONSOLE, VIRTIO_CONSOLE_F, formatControl, receiveq, type ConsoleControl } from '../virtio/console.ts';
import { bit, hasBit } from '../virtio/features.ts';
import { ACKNOWLEDGE, DRIVER, FEATURES_OK } from '../virtio/status.ts';

const E = VIRTIO_CONSOLE;
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const show = (b: Uint8Array): string => JSON.stringify(Buffer.from(b).toString('latin1'));
/** How long the host side waits for bytes to arrive (× --timeout-scale). */
const HOST_MS = 1000;

interface ConsoleState {
  c?: ConsoleDriver;
  sent?: ConsoleSent;
  sentText?: string;
  /** Every control message the device sent, in order. */
  control: ConsoleControl[];
  config?: { before: ConsoleConfig; after: ConsoleConfig };
  host: Record<number, number[]>;
  seen?: unknown;
}
const states = new WeakMap<CtsWorld, ConsoleState>();
function C(w: CtsWorld): ConsoleState {
  let s = states.get(w);
  if (!s) { s = { control: [], host: {} }; states.set(w, s); }
  return s;
}

async function host(w: CtsWorld): Promise<ConsoleHostSide> {
  const t = await w.target();
  if (!t.console) notApplicable(`the target (${t.description}) has no console host side`);
  return t.console;
}

function cons(w: CtsWorld): ConsoleDriver {
  const c = C(w).c;
  if (!c) throw new Error('the scenario has not initialized the console');
  return c;
}

/** Bytes that reached the host on `port` until `want` bytes are there or the wait ends. */
async function hostBytes(w: CtsWorld, port: number, want: number, waitMs = HOST_MS): Promise<Uint8Array> {
  const h = await host(w);
  const got = (C(w).host[port] ??= []);
  const deadline = performance.now() + w.ms(waitMs);
  for (;;) {
    got.push(...h.received(port));
    if (got.length >= want || performance.now() > deadline) return Uint8Array.from(got);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function emergencyBytes(w: CtsWorld, want: number): Promise<Uint8Array> {
  const h = await host(w);
  const got: number[] = [];
  const deadline = performance.now() + w.ms(HOST_MS);
  for (;;) {
    got.push(...h.emergency());
    if (got.length >= want || performance.now() > deadline) return Uint8Array.from(got);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Initialize with the default features minus MULTIPORT (port 0 only) or with `need` required. */
async function openConsole(w: CtsWorld, o: { need?: number; without?: number; stopBeforeDriverOk?: boolean }): Promise<ConsoleDriver> {
  await host(w);
  const { offered, base } = await defaultFeatures(w);
  if (o.need !== undefined && !hasBit(offered, o.need)) notApplicable(`the device does not offer feature bit ${o.need}`);
  const features = o.without === undefined ? base : base & ~bit(o.without);
  // At most two ports' queues: the scenarios use ports 0 and 1 (QEMU may offer 31).
  const c = await ConsoleDriver.open(await drv(w), { features, maxPorts: 2, stopBeforeDriverOk: o.stopBeforeDriverOk });
  C(w).c = c;
  await w.evidence('console', { offered, accepted: c.init.accepted, multiport: c.multiport, max_nr_ports: c.maxNrPorts });
  return c;
}

/**
 * Every control message the device has sent by now: the target settles (reference: at
 * once; QEMU: an observation window), then the used control buffers are read without
 * waiting for more.
 */
async function collectControl(w: CtsWorld): Promise<ConsoleControl[]> {
  await (await w.target()).bus.settle();
  const got = await cons(w).controlMessages(() => false, 0);
  C(w).control.push(...got);
  return got;
}

// ---- configuration ----------------------------------------------------------------------

When('the driver reads the console configuration before FEATURES_OK and again after negotiating its features', async function (this: CtsWorld) {
  const d = await drv(this);
  await d.reset();
  await d.transport.setStatus(ACKNOWLEDGE | DRIVER);
  const before = await readConsoleConfig(d);
  const { base } = await defaultFeatures(this);
  await d.transport.writeDriverFeatures(base);
  await d.transport.setStatus(ACKNOWLEDGE | DRIVER | FEATURES_OK);
  if (!((await d.transport.getStatus()) & FEATURES_OK)) inconclusive(`the device refused FEATURES_OK for ${hex(base)}`);
  const after = await readConsoleConfig(d);
  C(this).config = { before, after };
  await this.evidence('console configuration', { before, after, features: base });
});

Then('both reads of cols, rows and max_nr_ports agree', function (this: CtsWorld) {
  const { before, after } = C(this).config!;
  const f = (x: ConsoleConfig): string => `cols ${x.cols}, rows ${x.rows}, max_nr_ports ${x.max_nr_ports}`;
  expect(this, f(before) === f(after), `before FEATURES_OK as after: ${f(after)}`, `before FEATURES_OK: ${f(before)}`);
});

When('the host resizes the console to {int} columns and {int} rows', async function (this: CtsWorld, cols: number, rows: number) {
  const h = await host(this);
  if (!h.resize) notApplicable('the target cannot resize the console');
  const d = await drv(this);
  C(this).seen = { generation: await d.transport.configGeneration() };
  await h.resize(cols, rows);
});

Then('cols and rows read {int} and {int} with a config_generation other than before', async function (this: CtsWorld, cols: number, rows: number) {
  const d = await drv(this);
  const cfg = await readConsoleConfig(d);
  const generation = await d.transport.configGeneration();
  const before = (C(this).seen as { generation: number }).generation;
  await this.evidence('after the resize', { ...cfg, generationBefore: before, generation });
  if (cfg.cols !== cols || cfg.rows !== rows) inconclusive(`the configuration shows ${cfg.cols}×${cfg.rows}, not the new size ${cols}×${rows}`);
  expect(this, generation !== before, `config_generation other than ${before} after the change`, `config_generation ${generation}`);
});

// ---- initialization -------------------------------------------------------------------------

Given('the driver has initialized the console with port 0 only', async function (this: CtsWorld) {
  await openConsole(this, { without: VIRTIO_CONSOLE_F.MULTIPORT });
});

Given('the driver has initialized the console with {word}', async function (this: CtsWorld, name: string) {
  const n = (VIRTIO_CONSOLE_F as Record<string, number>)[name.replace(/^VIRTIO_CONSOLE_F_/, '')];
  if (n === undefined) throw new Error(`unknown console feature ${name}`);
  const c = await openConsole(this, { need: n });
  if (n === VIRTIO_CONSOLE_F.MULTIPORT && !c.multiport) inconclusive('MULTIPORT offered but not negotiated');
});

Given('the driver has set up the console queues with receive buffers but not set DRIVER_OK', async function (this: CtsWorld) {
  await openConsole(this, { without: VIRTIO_CONSOLE_F.MULTIPORT, stopBeforeDriverOk: true });
});

Given('the device has just been reset', async function (this: CtsWorld) {
  await host(this);
  await (await drv(this)).reset();
});

// ---- data ------------------------------------------------------------------------------------

async function send(w: CtsWorld, text: string, port: number, segments = 1): Promise<void> {
  C(w).sent = await cons(w).send(port, enc(text), { segments, timeoutMs: USED_MS });
  C(w).sentText = text;
}

When('the driver sends {string} on port {int} split over {int} descriptors', async function (this: CtsWorld, text: string, port: number, n: number) {
  await send(this, text, port, n);
});

When('the driver sends {string} on port {int}', async function (this: CtsWorld, text: string, port: number) {
  await send(this, text, port);
});

When('the host sends {string} on port {int}', async function (this: CtsWorld, text: string, port: number) {
  await (await host(this)).inject(port, enc(text));
});

Then('the transmit buffer\'s used len is 0', function (this: CtsWorld) {
  const s = C(this).sent!;
  expect(this, s.usedLen === 0, 'used len 0 (the device writes nothing into a transmit buffer)', `used len ${s.usedLen} for ${s.bufferAfter.length} device-readable bytes`);
});

Then('the transmit buffer still holds {string}', function (this: CtsWorld, text: string) {
  const after = C(this).sent!.bufferAfter;
  expect(this, Buffer.from(after).equals(Buffer.from(enc(text))), `the device-readable buffer unchanged: ${show(enc(text))}`, `it holds ${show(after)}`);
});

Then('the host receives {string} on port {int}', async function (this: CtsWorld, text: string, port: number) {
  const want = enc(text);
  const got = await hostBytes(this, port, want.length);
  await this.evidence(`host port ${port}`, show(got));
  // No 5.3 clause makes delivery a MUST: a device that loses the bytes leaves the clause
  // of the scenario unjudged rather than broken.
  if (!Buffer.from(got).equals(Buffer.from(want))) inconclusive(`the host received ${show(got)} on port ${port}, not ${show(want)}`);
});

Then('the driver receives {string} on port {int} with a used len the device wrote', async function (this: CtsWorld, text: string, port: number) {
  const want = enc(text);
  const got = await cons(this).receiveUntil(receiveq(port), (all) => all.reduce((n, r) => n + Math.min(r.usedLen, r.bufferLen), 0) >= want.length, USED_MS);
  if (got.length === 0) inconclusive(`no receive buffer of port ${port} was used within ${USED_MS} ms × scale`);
  await this.evidence(`driver port ${port}`, got.map((r) => ({ usedLen: r.usedLen, bufferLen: r.bufferLen, data: show(r.data) })));
  // 2.7.8.2: at least len bytes written, from the start of the buffer (canary-filled before).
  const over = got.find((r: ConsoleReceived) => r.usedLen > writtenExtent(r.buffer, CANARY_A));
  expect(this, over === undefined, 'used len ≤ the bytes the device wrote into each receive buffer',
    over ? `used len ${over.usedLen} for a ${over.bufferLen}-byte buffer of which ${writtenExtent(over.buffer, CANARY_A)} bytes were written` : '');
  const data = Buffer.concat(got.map((r) => Buffer.from(r.data)));
  if (!data.equals(Buffer.from(want))) inconclusive(`the driver received ${show(data)} on port ${port}, not ${show(want)}`);
});

When('the host sends {string} on port {int} and the driver makes {string} available on port {int}', async function (this: CtsWorld, text: string, port: number, out: string, txPort: number) {
  await (await host(this)).inject(port, enc(text));
  await cons(this).post(txPort, enc(out));
  await (await this.target()).bus.settle();
});

Then('no receive buffer is used and the host receives nothing on port {int}', async function (this: CtsWorld, port: number) {
  const c = cons(this);
  await (await this.target()).bus.settle();
  const rx = await c.receive(receiveq(port), 0);
  const tx = await c.queue(1).getUsed({ validate: false });
  const got = await hostBytes(this, port, 1, 0);
  const seen = [rx ? `a receive buffer used (len ${rx.usedLen}, ${show(rx.data)})` : '', tx ? `the transmit buffer used (len ${tx.len})` : '', got.length ? `the host received ${show(got)}` : '']
    .filter(Boolean).join('; ');
  expect(this, !rx && !tx && got.length === 0, 'no buffer used and nothing sent to the host before DRIVER_OK', seen);
});

// ---- emerg_wr ----------------------------------------------------------------------------------

When('the driver writes {word} to emerg_wr', async function (this: CtsWorld, value: string) {
  await writeEmergency(await drv(this), Number(value), 4);
});

Then('the host receives one emergency byte, as for a write once the device is initialized', async function (this: CtsWorld) {
  const got = await emergencyBytes(this, 1);
  await this.evidence('emergency output', Array.from(got, (b) => hex(b)));
  if (got.length === 1) return;
  // Nothing came out: refused because the device is unconfigured, or never output at all?
  // The same write once the device is initialized tells them apart.
  await openConsole(this, { need: VIRTIO_CONSOLE_F.EMERG_WRITE });
  await writeEmergency(await drv(this), 0x42, 4);
  const control = await emergencyBytes(this, 1);
  await this.evidence('emergency output once initialized', Array.from(control, (b) => hex(b)));
  if (control.length === 0) inconclusive('no emerg_wr write reaches the host side, not even once the device is initialized');
  expect(this, got.length === 1, 'one byte output for the write right after the reset, as for the write once initialized',
    `${got.length} bytes for the write right after the reset; ${control.length} for the same write once initialized`);
});

Then('the host receives the emergency byte {word}', async function (this: CtsWorld, value: string) {
  const got = await emergencyBytes(this, 1);
  await this.evidence('emergency output', Array.from(got, (b) => hex(b)));
  if (got.length === 0) inconclusive('nothing written to emerg_wr reached the host');
  expect(this, got.length === 1 && got[0] === Number(value), `the byte ${value}`, Array.from(got, (b) => hex(b)).join(' '));
});

// ---- multiport -------------------------------------------------------------------------------------

When('the driver sends VIRTIO_CONSOLE_DEVICE_READY', async function (this: CtsWorld) {
  await cons(this).sendControl({ id: 0, event: E.DEVICE_READY, value: 1 }, { timeoutMs: USED_MS });
  await collectControl(this);
});

When('the driver sends VIRTIO_CONSOLE_DEVICE_READY, then PORT_READY and PORT_OPEN for every announced port', async function (this: CtsWorld) {
  const c = cons(this);
  await c.sendControl({ id: 0, event: E.DEVICE_READY, value: 1 }, { timeoutMs: USED_MS });
  const adds = (await collectControl(this)).filter((m) => m.event === E.DEVICE_ADD);
  // Each port once, and only ports whose queues the driver set up.
  for (const id of [...new Set(adds.map((m) => m.id))].filter((id) => id < c.ports)) {
    await c.sendControl({ id, event: E.PORT_READY, value: 1 }, { timeoutMs: USED_MS });
    await collectControl(this);
    await c.sendControl({ id, event: E.PORT_OPEN, value: 1 }, { timeoutMs: USED_MS });
  }
  await collectControl(this);
  await this.evidence('control messages', C(this).control.map(formatControl));
});

Then('no DEVICE_ADD names a port that exists already or a port at or above max_nr_ports', async function (this: CtsWorld) {
  const c = cons(this);
  const msgs = C(this).control;
  await this.evidence('control messages', msgs.map(formatControl));
  const adds = msgs.filter((m) => m.event === E.DEVICE_ADD).map((m) => m.id);
  if (adds.length === 0) inconclusive('the device announced no port after DEVICE_READY');
  // A port exists from its DEVICE_ADD until a DEVICE_REMOVE for it.
  const exists = new Set<number>();
  const again: number[] = [];
  for (const m of msgs) {
    if (m.event === E.DEVICE_ADD) { if (exists.has(m.id)) again.push(m.id); exists.add(m.id); }
    if (m.event === E.DEVICE_REMOVE) exists.delete(m.id);
  }
  const beyond = adds.filter((id) => id >= c.maxNrPorts);
  expect(this, again.length === 0 && beyond.length === 0, `DEVICE_ADD only for ports that do not exist, below max_nr_ports ${c.maxNrPorts}`,
    `${msgs.map(formatControl).join('; ')}${again.length ? ` (added while existing: ${again.join(', ')})` : ''}${beyond.length ? ` (≥ max_nr_ports: ${beyond.join(', ')})` : ''}`);
});

When('the host unplugs port {int} and plugs it in again', async function (this: CtsWorld, port: number) {
  const h = await host(this);
  if (!h.unplug || !h.plug) notApplicable('the target cannot unplug and plug a console port');
  if (cons(this).maxNrPorts <= port) notApplicable(`max_nr_ports is ${cons(this).maxNrPorts}: there is no port ${port}`);
  await h.unplug(port);
  await collectControl(this);
  await h.plug(port);
  await collectControl(this);
});

When('the host unplugs port {int} and then the driver sends VIRTIO_CONSOLE_DEVICE_READY', async function (this: CtsWorld, port: number) {
  const h = await host(this);
  if (!h.unplug) notApplicable('the target cannot unplug a console port');
  if (cons(this).maxNrPorts <= port) notApplicable(`max_nr_ports is ${cons(this).maxNrPorts}: there is no port ${port}`);
  await h.unplug(port);
  await collectControl(this);
  await cons(this).sendControl({ id: 0, event: E.DEVICE_READY, value: 1 }, { timeoutMs: USED_MS });
  await collectControl(this);
});

Then('every DEVICE_REMOVE names a port announced by an earlier DEVICE_ADD', async function (this: CtsWorld) {
  const msgs = C(this).control;
  await this.evidence('control messages', msgs.map(formatControl));
  const added = new Set<number>();
  const bad: number[] = [];
  for (const m of msgs) {
    if (m.event === E.DEVICE_ADD) added.add(m.id);
    if (m.event === E.DEVICE_REMOVE) { if (!added.has(m.id)) bad.push(m.id); added.delete(m.id); }
  }
  if (msgs.length === 0) inconclusive('the device sent no control message');
  expect(this, bad.length === 0, 'DEVICE_REMOVE only for ports added before', `DEVICE_REMOVE for port ${bad.join(', ')} without a DEVICE_ADD before it`);
});

export { S };
