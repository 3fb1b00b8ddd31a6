// Packed virtqueue (2.8) device requirements, observed by the driver in the descriptor
// ring and the event suppression structures: a descriptor is used only once its AVAIL
// bit says so for the current lap, used descriptors follow the ring over laps (queue sizes
// that are not a power of 2 too), a list is used as made available (Buffer ID in its last
// descriptor, lists as long as the ring), IN_ORDER completion, a used descriptor complete
// when its flags flip, and used-buffer / available-buffer notification suppression.
import { Given, Then, When } from '@cucumber/cucumber';
import type { CtsWorld } from './support/world.ts';
import { inconclusive, notApplicable } from './support/assert.ts';
import { getTargetFactory, setTargetFactory } from './support/targets.ts';
import {
  S, drv, expect, hex, initialize, packedVq, probeBuffers, requestQueue, requireUsed, settle, submit, usedWaitMs, type Submitted,
} from './common.steps.ts';
import { createReferenceTarget } from '../adapters/reference/index.ts';
import { addBuffers, isTransmitDevice, splitBuffer, transmitBytes, type DescBuffer } from '../driver/index.ts';
import { transmitq } from '../virtio/console.ts';
import { NET_HDR_SIZE, encodeNetHdr, makeFrame } from '../virtio/net.ts';
import { NET_PEER, NET_WIRE_MS, netQueues, netState, netWire } from './net.steps.ts';
import { encodeReqHeader, SECTOR_SIZE, VIRTIO_BLK_S_OK, VIRTIO_BLK_T } from '../virtio/blk.ts';
import {
  PDESC_SIZE, RING_EVENT_FLAGS_DESC, RING_EVENT_FLAGS_DISABLE, RING_EVENT_FLAGS_ENABLE, VIRTQ_DESC_F_USED, VIRTQ_DESC_F_WRITE, advance, decodePackedDesc, isUsed, type PackedDesc,
} from '../virtio/packed-ring.ts';
import type { PackedDeviceHooks, UsedWriteStep } from '../virtio/packed-ring-device.ts';
import { DEVICE_NEEDS_RESET, formatStatus } from '../virtio/status.ts';

const descText = (d: PackedDesc): string => `addr ${hex(d.addr)} len ${d.len} id ${d.id} flags ${hex(d.flags)}`;

Given('the driver has initialized the device with queue size {int}', async function (this: CtsWorld, size: number) {
  // A driver may make a queue smaller than the device's maximum, never larger.
  const d = await drv(this);
  await d.reset();
  const rq = requestQueue(this);
  const max = await d.transport.queueMaxSize(rq);
  if (max < size) notApplicable(`queue ${rq} holds at most ${max} descriptors, fewer than ${size}`);
  await initialize(this, undefined, size);
});

// ---- requests of a given number of descriptors ----------------------------------------

/**
 * A request of the device type spread over exactly `n` descriptors (n ≥ 3 for blk):
 * entropy: n writable pieces of 16 bytes; blk: read of sector 0 as the header, n − 2 data
 * pieces and the status byte; net, console: the transmitted bytes in n readable pieces.
 */
async function buffersOver(w: CtsWorld, n: number): Promise<DescBuffer[]> {
  const mem = (await drv(w)).mem;
  const device = w.params.device;
  if (isTransmitDevice(device)) {
    // net, console: the request's bytes (at least n) in n device-readable pieces.
    const { bytes } = transmitBytes(device, 0, n);
    const addr = await mem.alloc(bytes.length, 16);
    await mem.write(addr, bytes);
    return splitBuffer(addr, bytes.length, n, false);
  }
  if (device === 'entropy') {
    const addr = await mem.alloc(16 * n);
    return Array.from({ length: n }, (_, k) => ({ addr: addr + 16 * k, len: 16, write: true }));
  }
  if (n < 3) throw new Error('a blk request needs at least 3 descriptors (header, data, status)');
  const hdr = await mem.alloc(16, 16);
  await mem.write(hdr, encodeReqHeader(VIRTIO_BLK_T.IN, 0n));
  const data = await mem.alloc(SECTOR_SIZE, 16);
  const pieces = n - 2;
  const base = Math.floor(SECTOR_SIZE / pieces);
  const bufs: DescBuffer[] = [{ addr: hdr, len: 16, write: false }];
  let off = 0;
  for (let k = 0; k < pieces; k++) {
    const len = k + 1 < pieces ? base : SECTOR_SIZE - off;
    bufs.push({ addr: data + off, len, write: true });
    off += len;
  }
  bufs.push({ addr: await mem.alloc(1), len: 1, write: true });
  return bufs;
}

When('the driver submits {int} requests over {int} descriptors one after another', async function (this: CtsWorld, n: number, descs: number) {
  // A request the device did not use keeps its descriptors: stop there (the ring may have
  // no room left), the Then step reports it.
  for (let i = 0; i < n; i++) {
    const r = await submit(this, { bufs: await buffersOver(this, descs) });
    if (!r.elem) break;
  }
});

When('the driver submits a request whose descriptor list fills the whole ring', async function (this: CtsWorld) {
  await submit(this, { bufs: await buffersOver(this, packedVq(this).size) });
});

// ---- a descriptor whose AVAIL bit did not change for this lap ---------------------------

When('the driver writes a descriptor flagged available for the other lap and notifies the device', async function (this: CtsWorld) {
  const q = packedVq(this);
  const d = await drv(this);
  // The ring is in its first lap (wrap counter 1): AVAIL=0 USED=1 makes a descriptor
  // available only in a lap with wrap counter 0, so the AVAIL bit has not changed yet.
  const pos = q.availPosition();
  if (pos.wrap !== 1) throw new Error('expected the ring in its first lap');
  const buf = await d.mem.alloc(64);
  const desc: PackedDesc = { addr: BigInt(buf), len: 64, id: 0, flags: VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_USED };
  await q.writeDescRaw(pos.off, desc);
  await q.notify();
  await settle(this);
  S(this).seen.otherLap = { off: pos.off, desc, after: await q.readDesc(pos.off), status: await d.transport.getStatus() };
});

Then('the device has not used that descriptor', function (this: CtsWorld) {
  const { off, desc, after, status } = S(this).seen.otherLap as { off: number; desc: PackedDesc; after: PackedDesc; status: number };
  const same = after.addr === desc.addr && after.len === desc.len && after.id === desc.id && after.flags === desc.flags;
  // Untouched but in error: the notification (with nothing available) is what it objected
  // to — the spurious-notification clause's business, not this one's.
  if (same && (status & DEVICE_NEEDS_RESET)) inconclusive(`the device set DEVICE_NEEDS_RESET on the notification (status ${formatStatus(status)}), so what it would do with the descriptor cannot be observed`);
  expect(this, same, `descriptor ${off} untouched (${descText(desc)})`, `descriptor ${off} now ${descText(after)}`);
});

When('the driver then submits a request', async function (this: CtsWorld) {
  // The driver's own bookkeeping still has the position free: it writes it properly now.
  await submit(this);
});

// ---- IN_ORDER ---------------------------------------------------------------------------

When('the driver makes {int} requests available and notifies the device once', async function (this: CtsWorld, n: number) {
  const q = packedVq(this);
  const ids: number[] = [];
  for (let i = 0; i < n; i++) ids.push(await q.add(await probeBuffers(this)));
  await q.kick({ force: true });
  await settle(this);
  // The used descriptors as the device wrote them, in ring order (first lap: wrap 1).
  const ring = await q.readDescTable();
  const used: number[] = [];
  for (let off = 0; off < q.size; off++) {
    const d = decodePackedDesc(ring, off * PDESC_SIZE);
    if (isUsed(d.flags, 1)) used.push(ids.indexOf(d.id));
  }
  // And the driver's view: every request comes back (a batch counts each of its buffers).
  const back: number[] = [];
  try {
    for (let i = 0; i < n; i++) back.push((await q.waitUsed(usedWaitMs(this), { validate: false })).id);
  } catch (e) {
    if ((e as { wedged?: boolean }).wedged !== true) throw e;
  }
  S(this).seen.inOrder = { ids, used, back };
});

Then('the used descriptors name the requests in the order they were made available', function (this: CtsWorld) {
  const { ids, used, back } = S(this).seen.inOrder as { ids: number[]; used: number[]; back: number[] };
  if (used.length === 0 || back.length < ids.length) inconclusive(`the device used ${back.length} of ${ids.length} requests, so their order cannot be observed`);
  // Request k (0-based, made available k-th) may close a batch only after every earlier one.
  const ok = used.every((k, i) => k >= 0 && (i === 0 || k > used[i - 1]!));
  expect(this, ok, 'used descriptors in ring order naming requests in increasing order (a batch names its last)',
    `used descriptors name requests ${used.map((k) => (k < 0 ? '?' : String(k + 1))).join(', ')} in ring order`);
});

// ---- a used descriptor is complete when its flags flip (reference emulator only) ---------

interface UsedWriteSeen { step: UsedWriteStep; used: boolean; id: number; len: number }

Given('the driver watches every write of a used descriptor', async function (this: CtsWorld) {
  // Only the reference emulator reports the individual writes of a used descriptor; on
  // another target a driver cannot see in between them.
  if (this.params.target !== 'reference') inconclusive('only the reference emulator reports each write of a used descriptor');
  const watch: { desc?: number; mem?: { read(a: number, l: number): Promise<Uint8Array> }; seen: UsedWriteSeen[] } = { seen: [] };
  const hooks: PackedDeviceHooks = {
    onUsedWrite: async (step, pos) => {
      if (watch.desc === undefined || !watch.mem) return;
      // What a driver polling the ring at this instant reads.
      const d = decodePackedDesc(await watch.mem.read(watch.desc + PDESC_SIZE * pos.off, PDESC_SIZE), 0);
      watch.seen.push({ step, used: isUsed(d.flags, pos.wrap), id: d.id, len: d.len });
    },
  };
  // The World starts its target through the factory; this scenario's target is a reference
  // target with the hooks (same parameters), then the factory in use is put back. A target
  // the Before hook already started (to read device_feature for @requires) is replaced.
  if (this.hasTarget) await this.closeTarget({ reusable: false });
  const previous = getTargetFactory();
  setTargetFactory(async (p, o) => createReferenceTarget({
    device: p.device, transport: p.transport, defect: p.defect, timeoutScale: p.timeoutScale, blk: o.blk, packedHooks: hooks,
  }));
  try {
    watch.mem = (await this.target()).mem;
  } finally {
    setTargetFactory(previous);
  }
  S(this).seen.usedWrites = watch;
});

When('the driver makes a request whose used len differs from its first descriptor\'s length', async function (this: CtsWorld) {
  const watch = S(this).seen.usedWrites as { desc?: number; seen: UsedWriteSeen[] };
  watch.desc = packedVq(this).desc;
  // entropy: a 2000-byte buffer (the device writes at most 1024 bytes per request here, or
  // fewer); blk: a read whose header descriptor (16 bytes) heads the list, used len 513.
  const mem = (await drv(this)).mem;
  const bufs = this.params.device === 'entropy' ? [{ addr: await mem.alloc(2000), len: 2000, write: true }] : undefined;
  requireUsed(await submit(this, bufs ? { bufs } : {}));
});

Then('whenever the descriptor showed USED it held its final Buffer ID and len', function (this: CtsWorld) {
  const watch = S(this).seen.usedWrites as { seen: UsedWriteSeen[] };
  const r = S(this).submitted.at(-1)!;
  const elem = requireUsed(r);
  if (watch.seen.length === 0) inconclusive('no write of a used descriptor was reported');
  const bad = watch.seen.filter((x) => x.used && (x.id !== elem.id || x.len !== elem.len));
  expect(this, bad.length === 0, `id ${elem.id} and len ${elem.len} in place whenever USED showed`,
    bad.map((x) => `after the ${x.step} write: USED with id ${x.id} len ${x.len}`).join('; '));
});

// ---- notification suppression ------------------------------------------------------------

const EVENT_FLAGS: Record<string, number> = {
  RING_EVENT_FLAGS_ENABLE, RING_EVENT_FLAGS_DISABLE, RING_EVENT_FLAGS_DESC,
};
const flagName = (f: number): string => Object.keys(EVENT_FLAGS).find((k) => EVENT_FLAGS[k] === f) ?? hex(f);

When('the driver sets the driver event suppression flags to {word} and submits a request', async function (this: CtsWorld, name: string) {
  const f = EVENT_FLAGS[name];
  if (f === undefined) throw new Error(`unknown event flags ${name}`);
  await packedVq(this).setDriverEvent({ flags: f });
  await submit(this);
});

When('the driver sets RING_EVENT_FLAGS_DESC {int} descriptors past the next {int} requests and submits them one at a time', async function (this: CtsWorld, gap: number, n: number) {
  const q = packedVq(this);
  const per = (await probeBuffers(this)).length;
  // An event position none of the n requests' used descriptors reach.
  const ev = advance(q.usedPosition(), n * per + gap, q.size);
  S(this).seen.mark = S(this).submitted.length;
  for (let i = 0; i < n; i++) {
    await q.setDriverEvent({ flags: RING_EVENT_FLAGS_DESC, off: ev.off, wrap: ev.wrap });
    await submit(this);
  }
});

Then('the device has sent no used buffer notification for those requests', function (this: CtsWorld) {
  const mark = S(this).seen.mark as number;
  const rs: Submitted[] = S(this).submitted.slice(mark);
  rs.forEach((r) => requireUsed(r));
  const counts = rs.map((r) => r.notifications);
  expect(this, counts.every((c) => c === 0), `no notification for the ${rs.length} requests before the event descriptor`, `notifications ${counts.join(', ')}`);
});

Then('the device event suppression flags were RING_EVENT_FLAGS_ENABLE or RING_EVENT_FLAGS_DISABLE every time the driver looked', function (this: CtsWorld) {
  S(this).submitted.forEach((r) => requireUsed(r));
  const f = S(this).submitted.map((r) => r.usedFlags);
  expect(this, f.every((x) => x === RING_EVENT_FLAGS_ENABLE || x === RING_EVENT_FLAGS_DISABLE),
    'device event flags ENABLE (0) or DISABLE (1)', `device event flags ${f.map(flagName).join(', ')}`);
});

// ---- processing in ring order (2.8.12), seen in a stream the device emits in that order ----

/** How long the host side waits for transmitted bytes (× --timeout-scale). */
const HOST_MS = 1000;

When('the driver makes {int} transmit buffers available on port {int} and notifies the device once', async function (this: CtsWorld, n: number, port: number) {
  const t = await this.target();
  if (!t.console) notApplicable(`the target (${t.description}) has no console host side`);
  const d = await drv(this);
  const q = d.ring(transmitq(port));
  // Distinct contents, so any order the bytes arrive in names the buffers.
  const parts = Array.from({ length: n }, (_, k) => new TextEncoder().encode(`<${k + 1}>`));
  for (const p of parts) {
    const addr = await d.mem.alloc(p.length);
    await d.mem.write(addr, p);
    await addBuffers(q, [{ addr, len: p.length, write: false }]);
  }
  await q.kick({ force: true });
  const want = parts.reduce((s, p) => s + p.length, 0);
  const got: number[] = [];
  const deadline = performance.now() + this.ms(HOST_MS);
  while (got.length < want && performance.now() < deadline) {
    got.push(...t.console.received(port));
    if (got.length < want) await new Promise((r) => setTimeout(r, 5));
  }
  await settle(this);
  got.push(...t.console.received(port));
  await this.evidence(`host port ${port}`, Buffer.from(Uint8Array.from(got)).toString('latin1'));
  S(this).seen.stream = { parts, got: Uint8Array.from(got) };
});

Then('the host receives the bytes of the buffers in the order they were made available', function (this: CtsWorld) {
  const { parts, got } = S(this).seen.stream as { parts: Uint8Array[]; got: Uint8Array };
  const text = (b: Uint8Array): string => Buffer.from(b).toString('latin1');
  const want = parts.map(text);
  const seen = text(got);
  const expected = `the buffers' bytes in ring order: ${JSON.stringify(want.join(''))}`;
  if (seen === want.join('')) { expect(this, true, expected, JSON.stringify(seen)); return; }
  // Which buffer's bytes came k-th: only a whole permutation of the buffers is judged here.
  const order: number[] = [];
  let rest = seen;
  while (rest.length) {
    const k = want.findIndex((w, i) => !order.includes(i) && rest.startsWith(w));
    if (k < 0) break;
    order.push(k);
    rest = rest.slice(want[k]!.length);
  }
  if (rest.length || order.length < want.length) {
    inconclusive(`the host received ${JSON.stringify(seen)}, not the ${want.length} buffers' bytes in any order (${JSON.stringify(want.join(''))})`);
  }
  expect(this, false, expected, `${JSON.stringify(seen)} (buffers ${order.map((k) => k + 1).join(', ')})`);
});

// ---- a NEXT-linked list is used in list order (2.8.18) ------------------------------------

/** Sector the scatter/gather scenarios use; 128-byte pieces, each with its own bytes. */
const SG_SECTOR = 6n;
const SG_PIECES = 4;
const sgPattern = (): Uint8Array => Uint8Array.from({ length: SECTOR_SIZE }, (_, k) => (k * 13 + 7 + (k >> 7) * 101) & 0xff);

/**
 * One blk request on the packed ring: header, data in `pieces` descriptors, status. With
 * more than one piece the pieces are placed in memory last-first (the list's first piece
 * at the highest address): a device that goes by address rather than list order shows.
 * Returns the data buffer's bytes in list order after the request and its status.
 */
async function sgRequest(w: CtsWorld, type: number, pieces: number, out?: Uint8Array): Promise<{ data: Uint8Array; status: number }> {
  const mem = (await drv(w)).mem;
  const hdr = await mem.alloc(16, 16);
  await mem.write(hdr, encodeReqHeader(type, SG_SECTOR));
  const size = SECTOR_SIZE / pieces;
  const addrs: number[] = new Array(pieces);
  for (let k = pieces - 1; k >= 0; k--) addrs[k] = await mem.alloc(size, 16);
  const write = type === VIRTIO_BLK_T.IN;
  for (let k = 0; k < pieces; k++) await mem.write(addrs[k]!, out ? out.subarray(k * size, (k + 1) * size) : new Uint8Array(size).fill(0xa5));
  const status = await mem.alloc(1);
  await mem.write(status, new Uint8Array([0xff]));
  const bufs: DescBuffer[] = [{ addr: hdr, len: 16, write: false }, ...addrs.map((addr) => ({ addr, len: size, write })), { addr: status, len: 1, write: true }];
  requireUsed(await submit(w, { bufs }));
  const data = new Uint8Array(SECTOR_SIZE);
  for (let k = 0; k < pieces; k++) data.set(await mem.read(addrs[k]!, size), k * size);
  return { data, status: (await mem.read(status, 1))[0]! };
}

function sgDone(w: CtsWorld, what: string, r: { status: number }): void {
  if (r.status !== VIRTIO_BLK_S_OK) inconclusive(`the ${what} completed with status ${hex(r.status)}, not VIRTIO_BLK_S_OK, so where its data went cannot be judged`);
}

When('the driver writes a sector in one descriptor and reads it back over {int} data descriptors', async function (this: CtsWorld, n: number) {
  const want = sgPattern();
  sgDone(this, 'write', await sgRequest(this, VIRTIO_BLK_T.OUT, 1, want));
  const r = await sgRequest(this, VIRTIO_BLK_T.IN, n);
  sgDone(this, 'read', r);
  S(this).seen.sg = { want, got: r.data, pieces: n };
});

When('the driver writes a sector over {int} data descriptors and reads it back in one descriptor', async function (this: CtsWorld, n: number) {
  const want = sgPattern();
  sgDone(this, 'write', await sgRequest(this, VIRTIO_BLK_T.OUT, n, want));
  const r = await sgRequest(this, VIRTIO_BLK_T.IN, 1);
  sgDone(this, 'read', r);
  S(this).seen.sg = { want, got: r.data, pieces: n };
});

Then('the sector data is in list order', function (this: CtsWorld) {
  const { want, got, pieces } = S(this).seen.sg as { want: Uint8Array; got: Uint8Array; pieces: number };
  const size = SECTOR_SIZE / pieces;
  // Where each piece's bytes ended up, by piece: a permutation names the order used.
  const at = Array.from({ length: pieces }, (_, k) => {
    const src = want.subarray(k * size, (k + 1) * size);
    const j = Array.from({ length: pieces }, (_, i) => i).find((i) => Buffer.from(got.subarray(i * size, (i + 1) * size)).equals(Buffer.from(src)));
    return j === undefined ? '?' : String(j + 1);
  });
  const ok = Buffer.from(got).equals(Buffer.from(want));
  const diff = got.findIndex((x, i) => x !== want[i]);
  expect(this, ok, `the ${pieces} pieces of ${size} bytes in list order (piece k holds bytes ${size}·(k−1) … of the sector)`,
    `byte ${diff} differs (${hex(got[diff] ?? 0)} for ${hex(want[diff] ?? 0)}); the pieces' bytes were found at list positions ${at.join(', ')}`);
});

When('the driver sets RING_EVENT_FLAGS_DESC at the used descriptor of request {int} and submits {int} requests one at a time', async function (this: CtsWorld, k: number, n: number) {
  const q = packedVq(this);
  const per = (await probeBuffers(this)).length;
  // Requests are used one at a time, each used descriptor where its list began.
  const ev = advance(q.usedPosition(), (k - 1) * per, q.size);
  for (let i = 0; i < n; i++) {
    await q.setDriverEvent({ flags: RING_EVENT_FLAGS_DESC, off: ev.off, wrap: ev.wrap });
    await submit(this);
  }
});

When('the driver makes {int} frames available on transmitq1 and notifies the device once', async function (this: CtsWorld, n: number) {
  const wire = await netWire(this);
  const tx = netQueues(this).tx[0]!;
  const mac = netState(this).cfg?.mac;
  if (!mac) throw new Error('the net device has not been initialized by this scenario');
  wire.sent(); // nothing earlier counts
  // Distinct lengths and contents, so each frame on the wire names its buffer.
  const frames = Array.from({ length: n }, (_, k) => makeFrame({ dst: NET_PEER, src: mac, len: 100 + 10 * k, seed: k + 1 }));
  for (const f of frames) {
    const bytes = new Uint8Array(NET_HDR_SIZE + f.length);
    bytes.set(encodeNetHdr({}), 0);
    bytes.set(f, NET_HDR_SIZE);
    const addr = await tx.mem.alloc(bytes.length, 16);
    await tx.mem.write(addr, bytes);
    await addBuffers(tx, [{ addr, len: bytes.length, write: false }]);
  }
  await tx.kick({ force: true });
  const got: Uint8Array[] = [];
  const deadline = performance.now() + this.ms(NET_WIRE_MS);
  while (got.length < n && performance.now() < deadline) {
    got.push(...wire.sent());
    if (got.length < n) await new Promise((r) => setTimeout(r, 5));
  }
  await settle(this);
  got.push(...wire.sent());
  S(this).seen.wireOrder = { frames, got };
});

Then('the wire carries the frames in the order they were made available', async function (this: CtsWorld) {
  const { frames, got } = S(this).seen.wireOrder as { frames: Uint8Array[]; got: Uint8Array[] };
  const order = got.map((g) => frames.findIndex((f) => Buffer.from(f).equals(Buffer.from(g))));
  await this.evidence('wire', got.map((g, i) => `${g.length} bytes${order[i]! < 0 ? ' (not one of the frames)' : ` = frame ${order[i]! + 1}`}`));
  if (order.length < frames.length || order.some((k) => k < 0)) {
    inconclusive(`the wire carried ${got.length} frame(s), ${order.filter((k) => k >= 0).length} of them the ${frames.length} made available, so their order cannot be judged`);
  }
  expect(this, order.every((k, i) => k === i), `frames 1 to ${frames.length} on the wire in the order made available`,
    `frames in the order ${order.map((k) => k + 1).join(', ')}`);
});
