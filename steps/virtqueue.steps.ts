// Split virtqueue (2.7): what the device may write (descriptor table, device-readable
// buffers, at least `len` bytes of the writable ones), descriptor layouts and indirect
// tables, and the notification suppression fields of both rings.
import { Given, Then, When } from '@cucumber/cucumber';
import type { CtsWorld } from './support/world.ts';
import { inconclusive } from './support/assert.ts';
import { S, USED_MS, drv, expect, hex, probeBuffers, requireUsed, settle, splitVq, submit, vq, type Submitted } from './common.steps.ts';
import {
  addBuffers, blkRead, blkRequest, blkWrite, entropyRequest, isPacked, isTransmitDevice, transmitRequest, type BlkLayout, type BlkResult,
} from '../driver/index.ts';
import { encodeReqHeader, SECTOR_SIZE, VIRTIO_BLK_S_OK, VIRTIO_BLK_T, VIRTIO_BLK_ID_BYTES } from '../virtio/blk.ts';
import { USED, VIRTQ_AVAIL_F_NO_INTERRUPT } from '../virtio/split-ring.ts';
import { formatStatus } from '../virtio/status.ts';

// Two canary fill bytes: a byte the device never wrote reads as the canary in both runs.
const CANARIES = [0xa5, 0x5a] as const;

function pattern(len: number, seed: number): Uint8Array {
  const b = new Uint8Array(len);
  for (let i = 0; i < len; i++) b[i] = (i * 31 + seed * 7 + 1) & 0xff;
  return b;
}

const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

function firstDiff(a: Uint8Array, b: Uint8Array): string {
  const i = a.findIndex((x, k) => x !== b[k]);
  return i < 0 ? `lengths ${a.length}/${b.length}` : `byte ${i}: ${hex(a[i]!)} → ${hex(b[i] ?? 0)}`;
}

// ---- descriptor table, device-readable buffers -------------------------------------

When('the driver submits a write request whose device-readable buffers hold a canary pattern', async function (this: CtsWorld) {
  const d = await drv(this);
  const q = vq(this);
  const data = pattern(2 * SECTOR_SIZE, 3);
  const r = await blkWrite(q, 8n, data, { timeoutMs: USED_MS });
  // The readable buffers of the chain, read back after the device used it.
  const readable = r.elem.chain.buffers.filter((b) => !b.write);
  const after: Uint8Array[] = [];
  for (const b of readable) after.push(await d.mem.read(b.addr, b.len));
  S(this).seen.readable = { after, data, status: r.status };
});

Then('the device-readable buffers still hold the canary pattern', function (this: CtsWorld) {
  const { after, data } = S(this).seen.readable as { after: Uint8Array[]; data: Uint8Array };
  const header = after[0]!;
  const payload = new Uint8Array(after.slice(1).reduce((n, b) => n + b.length, 0));
  let off = 0;
  for (const b of after.slice(1)) { payload.set(b, off); off += b.length; }
  // The header the driver wrote: type OUT at byte 0, sector 8 at byte 8.
  const headerOk = header[0] === VIRTIO_BLK_T.OUT && header[8] === 8;
  const ok = headerOk && sameBytes(payload, data);
  expect(this, ok, 'header and data buffers unchanged by the device',
    headerOk ? `data buffer changed at ${firstDiff(data, payload)}` : `header changed: ${Array.from(header).map((x) => hex(x)).join(' ')}`);
});

When('the driver submits {int} requests in indirect tables one after another', async function (this: CtsWorld, n: number) {
  for (let i = 0; i < n; i++) await submit(this, { add: { indirect: 'all' } });
});

When('the driver reads a sector', async function (this: CtsWorld) {
  const d = await drv(this);
  // A non-zero sector, so that the header is not all zeroes.
  const r = await blkRead(vq(this), 5n, 1, { timeoutMs: USED_MS });
  S(this).seen.header = { after: await d.mem.read(r.addrs.header, 16) };
});

Then('the request header still holds what the driver wrote', function (this: CtsWorld) {
  const { after } = S(this).seen.header as { after: Uint8Array };
  const want = encodeReqHeader(VIRTIO_BLK_T.IN, 5n);
  expect(this, sameBytes(after, want), `header ${hex8(want)}`, `header ${hex8(after)}`);
});

const hex8 = (b: Uint8Array): string => Buffer.from(b).toString('hex');

Then('the descriptor table is byte for byte what the driver wrote', function (this: CtsWorld) {
  const sub = S(this).submitted;
  if (!sub.length) throw new Error('no request was submitted');
  const bad = sub.map((r, i) => ({ r, i })).filter(({ r }) => r.descAfter && !sameBytes(r.descBefore, r.descAfter));
  sub.forEach((r) => requireUsed(r));
  expect(this, bad.length === 0, 'descriptor table unchanged by the device',
    bad.map(({ r, i }) => `request ${i + 1}: ${firstDiff(r.descBefore, r.descAfter!)}`).join('; '));
});

// ---- message framing ---------------------------------------------------------------

const LAYOUTS: Record<string, BlkLayout> = {
  'header split in two': { headerSplit: [8, 8] },
  'header in single bytes': { headerSplit: Array.from({ length: 16 }, () => 1) },
};
function layout(name: string): BlkLayout {
  const l = LAYOUTS[name];
  if (!l) throw new Error(`unknown layout "${name}" (known: ${Object.keys(LAYOUTS).join(', ')})`);
  return l;
}

When('the driver writes a sector and reads it back using the {string} layout', async function (this: CtsWorld, name: string) {
  const q = vq(this);
  const data = pattern(SECTOR_SIZE, 5);
  const w = await blkWrite(q, 3n, data, { ...layout(name), timeoutMs: USED_MS });
  const r = await blkRead(q, 3n, 1, { ...layout(name), timeoutMs: USED_MS });
  S(this).seen.framing = { w, r, data };
});

Then('both requests succeed and the data read back is the data written', function (this: CtsWorld) {
  const { w, r, data } = S(this).seen.framing as { w: BlkResult; r: BlkResult; data: Uint8Array };
  const ok = w.status === VIRTIO_BLK_S_OK && r.status === VIRTIO_BLK_S_OK && sameBytes(r.data, data);
  expect(this, ok, 'write and read status VIRTIO_BLK_S_OK, the sector reads back as written',
    `write status ${w.status}, read status ${r.status}${sameBytes(r.data, data) ? '' : `, data differs at ${firstDiff(data, r.data)}`}`);
});

// ---- indirect descriptors -----------------------------------------------------------

/** Base wait for transmitted data to reach the host side (QEMU: a socket). */
const HOST_MS = 1000;

/**
 * What reached the host side since the last call: net frames on the wire, console bytes on
 * port 0 (as one piece). Waits up to HOST_MS for `want` to show up.
 */
async function hostSide(w: CtsWorld, device: 'net' | 'console', want?: Uint8Array): Promise<Uint8Array[]> {
  const t = await w.target();
  const got: Uint8Array[] = [];
  const take = (): void => {
    if (device === 'net') {
      if (!t.wire) throw new Error('the target has no net wire');
      got.push(...t.wire.sent());
    } else {
      if (!t.console) throw new Error('the target has no console host side');
      const b = t.console.received(0);
      if (b.length) got.push(b);
    }
  };
  const seen = (): boolean => want !== undefined && (device === 'net'
    ? got.some((f) => sameBytes(f, want))
    : sameBytes(Buffer.concat(got), want));
  const deadline = performance.now() + w.ms(HOST_MS);
  take();
  while (want && !seen() && performance.now() < deadline) {
    await new Promise((r) => setTimeout(r, 5));
    take();
  }
  return device === 'net' ? got : [Buffer.concat(got)];
}

/** A request of the device type with the given layout; the outcome judged by the Then step. */
async function layoutRequest(w: CtsWorld, l: BlkLayout): Promise<void> {
  const q = vq(w);
  const device = w.params.device;
  if (isTransmitDevice(device)) {
    // Four device-readable descriptors holding one frame (net) or a few bytes (console):
    // the device got them right when exactly those bytes reach the host side.
    const t = await w.target();
    const hostless = device === 'net' ? !t.wire : !t.console;
    if (hostless) {
      // Used or not is still seen (a request never used is the finding); what it sent is not.
      await transmitRequest(q, device, { segments: 4, add: { indirect: l.indirect, tailCount: l.tailCount, indirectWriteFlag: l.indirectWriteFlag }, timeoutMs: USED_MS });
      inconclusive(`the target (${t.description}) has no ${device === 'net' ? 'wire' : 'console host side'} to show what the device made of the chain it used`);
    }
    await hostSide(w, device); // drop anything from before
    const r = await transmitRequest(q, device, { segments: 4, add: { indirect: l.indirect, tailCount: l.tailCount, indirectWriteFlag: l.indirectWriteFlag }, timeoutMs: USED_MS });
    const out = await hostSide(w, device, r.frame);
    const ok = device === 'net' ? out.some((f) => sameBytes(f, r.frame)) : sameBytes(out[0]!, r.frame);
    const show = (b: Uint8Array): string => `${b.length} bytes ${hex8(b.subarray(0, 24))}${b.length > 24 ? '…' : ''}`;
    S(w).seen.indirect = { ok, observed: `used (len ${r.elem.len}); the host side received ${out.length && out[0]!.length ? out.map(show).join(', ') : 'nothing'} (sent ${show(r.frame)})` };
    return;
  }
  if (device === 'entropy') {
    const r = await entropyRequest(q, { len: 64, segments: 4, indirect: l.indirect, tailCount: l.tailCount, indirectWriteFlag: l.indirectWriteFlag, validate: false, timeoutMs: USED_MS });
    // Used, within the buffer: the entropy clause (at least one byte) is judged elsewhere.
    S(w).seen.indirect = { ok: r.usedLen <= 64, observed: `used len ${r.usedLen} for a 64-byte buffer` };
    return;
  }
  // blk: read sector 0 (written first with a known pattern through a plain chain).
  const data = pattern(SECTOR_SIZE, 9);
  const wr = await blkWrite(q, 0n, data, { timeoutMs: USED_MS });
  if (wr.status !== VIRTIO_BLK_S_OK) inconclusive(`the plain write that prepares the sector failed (status ${wr.status})`);
  const r = await blkRead(q, 0n, 1, { ...l, dataSegments: 2, validate: false, timeoutMs: USED_MS });
  S(w).seen.indirect = {
    ok: r.status === VIRTIO_BLK_S_OK && sameBytes(r.data, data),
    observed: `status ${r.status}${sameBytes(r.data, data) ? '' : `, data differs at ${firstDiff(data, r.data)}`}`,
  };
}

/** A request the device never uses (it may have flagged an error instead) is the finding. */
async function guarded(w: CtsWorld, l: BlkLayout): Promise<void> {
  try {
    await layoutRequest(w, l);
  } catch (e) {
    if ((e as { wedged?: boolean }).wedged !== true) throw e;
    const st = await (await drv(w)).transport.getStatus();
    S(w).seen.indirect = { ok: false, observed: `the request was not used (device status ${formatStatus(st)})` };
  }
}

When('the driver submits a request as {int} direct descriptors followed by one indirect descriptor', async function (this: CtsWorld, direct: number) {
  // 'tail': the first `direct` buffers stay in the ring, the rest go into the table.
  const total = 4; // entropy, net, console: 4 segments; blk: header, 2 data segments, status
  await guarded(this, { indirect: 'tail', tailCount: total - direct });
});

When('the driver submits a request in an indirect table whose descriptor has the WRITE flag set', async function (this: CtsWorld) {
  await guarded(this, { indirect: 'all', indirectWriteFlag: true });
});

Then('the request completes correctly', function (this: CtsWorld) {
  const r = S(this).seen.indirect as { ok: boolean; observed: string };
  const want: Record<string, string> = {
    entropy: 'the chain used, used len at most 64', blk: 'status VIRTIO_BLK_S_OK and the sector data',
    net: 'the chain used and its frame on the wire as sent', console: 'the chain used and its bytes received on port 0 as sent',
  };
  expect(this, r.ok, want[this.params.device]!, r.observed);
});

// ---- used ring: len honesty ---------------------------------------------------------

interface Writable { bytes: Uint8Array; usedLen: number; canary: number }

/** One request of the named kind with writable buffers filled with `canary`. */
async function writableAfter(w: CtsWorld, kind: string, canary: number): Promise<Writable> {
  const q = vq(w);
  const m = /^read (\d+) random bytes(?: in (\d+) descriptors)?$/.exec(kind);
  if (m) {
    const r = await entropyRequest(q, { len: Number(m[1]), segments: Number(m[2] ?? 1), canary, validate: false, timeoutMs: USED_MS });
    return { bytes: r.data, usedLen: r.usedLen, canary };
  }
  let res: BlkResult;
  const io = /^(read|write) (\d+) sectors?$/.exec(kind);
  const opts = { canary, validate: false, timeoutMs: USED_MS };
  if (io?.[1] === 'read') res = await blkRequest(q, { type: VIRTIO_BLK_T.IN, sector: 0n, inLen: Number(io[2]) * SECTOR_SIZE }, opts);
  else if (io?.[1] === 'write') res = await blkRequest(q, { type: VIRTIO_BLK_T.OUT, sector: 0n, out: pattern(Number(io[2]) * SECTOR_SIZE, 11) }, opts);
  else if (kind === 'get id') res = await blkRequest(q, { type: VIRTIO_BLK_T.GET_ID, inLen: VIRTIO_BLK_ID_BYTES }, opts);
  else if (kind === 'flush') res = await blkRequest(q, { type: VIRTIO_BLK_T.FLUSH }, opts);
  else throw new Error(`unknown request "${kind}"`);
  // The writable part of a blk request: data, then the status byte.
  const bytes = new Uint8Array(res.data.length + 1);
  bytes.set(res.data);
  bytes[res.data.length] = res.statusWritten ? (res.status === canary ? canary ^ 0xff : res.status) : canary;
  return { bytes, usedLen: res.usedLen, canary };
}

When('the driver makes a {string} request twice with different canary patterns', async function (this: CtsWorld, kind: string) {
  const runs: Writable[] = [];
  for (const c of CANARIES) runs.push(await writableAfter(this, kind, c));
  S(this).seen.canaryRuns = runs;
});

/**
 * Bytes of run `r` within its len that the device did not write. A byte holding the run's
 * canary is unwritten when the other run shows its own canary there too (a written byte
 * cannot equal both). Block data is deterministic (same request, same bytes), so a
 * canary byte where the other run has something else is unwritten as well. Entropy data
 * is random: a byte equals the canary by chance 1 time in 256, so a run is judged by how
 * many canary bytes it holds against that expectation, and only two adjacent bytes with
 * the canary in both runs count as unwritten (an isolated one is chance 1 time in 65536).
 */
function unwritten(r: Writable, o: Writable, deterministic: boolean): string | undefined {
  if (r.usedLen > r.bytes.length) return `len ${r.usedLen} beyond the ${r.bytes.length}-byte writable buffers`;
  let canaries = 0;
  for (let i = 0; i < r.usedLen; i++) {
    if (r.bytes[i] !== r.canary) continue;
    canaries++;
    const both = (k: number): boolean => r.bytes[k] === r.canary && o.bytes[k] === o.canary && k < o.bytes.length;
    // Random data matches both canaries by chance 1 time in 65536: ask for two bytes in a row.
    if (both(i) && (deterministic || (i + 1 < r.usedLen && both(i + 1)))) return `byte ${i} holds the canary in both runs`;
    if (deterministic && o.bytes[i] !== r.canary) return `byte ${i} holds the canary ${hex(r.canary)} where the other run has ${hex(o.bytes[i] ?? 0)}`;
  }
  const expected = r.usedLen / 256;
  const bound = expected + 6 * Math.sqrt(expected) + 3;
  if (!deterministic && canaries > bound) return `${canaries} of ${r.usedLen} bytes hold the canary (about ${expected.toFixed(0)} expected by chance)`;
  return undefined;
}

Then('every byte within the reported len was written by the device', function (this: CtsWorld) {
  const [a, b] = S(this).seen.canaryRuns as [Writable, Writable];
  const deterministic = this.params.device === 'blk';
  const holes = [[a, b], [b, a]].flatMap(([r, o]) => {
    const u = unwritten(r!, o!, deterministic);
    return u ? [`run with canary ${hex(r!.canary)}, len ${r!.usedLen}: ${u}`] : [];
  });
  expect(this, holes.length === 0, `the first len bytes of the writable buffers written in each run (len ${a.usedLen} / ${b.usedLen})`, holes.join('; '));
});

// ---- notification suppression --------------------------------------------------------

function availFlags(word: string): number {
  if (word === 'VIRTQ_AVAIL_F_NO_INTERRUPT') return VIRTQ_AVAIL_F_NO_INTERRUPT;
  const n = Number(word);
  if (!Number.isInteger(n)) throw new Error(`avail flags "${word}"`);
  return n;
}

When('the driver submits a request with avail flags {word}', async function (this: CtsWorld, flags: string) {
  await splitVq(this).setAvailFlags(availFlags(flags));
  await submit(this);
});

When('the driver sets used_event to {int} and submits a request with avail flags {word}', async function (this: CtsWorld, ev: number, flags: string) {
  const q = splitVq(this);
  await q.setAvailFlags(availFlags(flags));
  await q.setUsedEvent(ev);
  await submit(this);
});

When('the driver sets used_event to {int} and submits {int} requests one at a time', async function (this: CtsWorld, ev: number, n: number) {
  const q = splitVq(this);
  await q.setAvailFlags(0);
  // Set before every request: a driver's own bookkeeping must not move it here.
  for (let i = 0; i < n; i++) { await q.setUsedEvent(ev); await submit(this); }
});

Given('the device has notified the driver for a first request', async function (this: CtsWorld) {
  // Asking for a notification for exactly this buffer (split: avail flags 0 and used_event
  // at the index the request lands on; packed: RING_EVENT_FLAGS_DESC at the next used
  // descriptor with EVENT_IDX, else ENABLE), a device notifies: if it does not,
  // suppression cannot be told from silence.
  const q = vq(this);
  if (isPacked(q)) await q.enableUsedNotifications();
  else {
    await q.setAvailFlags(0);
    await q.setUsedEvent(await q.usedIdx());
  }
  const r = await submit(this);
  requireUsed(r, 'the first request');
  if (r.notifications === 0) inconclusive('the device sent no used buffer notification for a plain first request');
  // Counting needs an indicator that clears once read (ISR status, InterruptStatus after
  // the acknowledgement): one that still shows a notification with nothing new used
  // would count one for every later request.
  await settle(this);
  const again = await (await drv(this)).transport.takeNotifications(q.index);
  if (again > 0) inconclusive('the notification still shows after it was read and acknowledged, so notifications cannot be counted');
});

function nth(w: CtsWorld, k: number): Submitted {
  const r = S(w).submitted[k - 1];
  if (!r) throw new Error(`request ${k} was not submitted`);
  requireUsed(r, `request ${k}`);
  return r;
}

Then('the device has sent a used buffer notification for request {int}', function (this: CtsWorld, k: number) {
  const r = nth(this, k);
  expect(this, r.notifications > 0, `a notification after request ${k} (placed at used_event)`, 'none');
});

Then('the device has sent no used buffer notification for requests {int} and {int}', function (this: CtsWorld, k1: number, k2: number) {
  const counts = [k1, k2].map((k) => nth(this, k).notifications);
  expect(this, counts.every((c) => c === 0), `no notification for requests ${k1} and ${k2}`, `notifications ${counts.join(', ')}`);
});

Then('the used ring flags were 0 or 1 every time the driver looked', function (this: CtsWorld) {
  S(this).submitted.forEach((r) => requireUsed(r));
  const f = S(this).submitted.map((r) => r.usedFlags);
  expect(this, f.every((x) => x === 0 || x === 1), 'used flags 0 or 1', `used flags ${f.map((x) => hex(x)).join(', ')}`);
});

Then('the used ring flags were 0 every time the driver looked', function (this: CtsWorld) {
  S(this).submitted.forEach((r) => requireUsed(r));
  const f = S(this).submitted.map((r) => r.usedFlags);
  expect(this, f.every((x) => x === 0), 'used flags 0', `used flags ${f.map((x) => hex(x)).join(', ')}`);
});

// ---- used ring: len written before used idx moves (2.7.8.2) ---------------------------

const LEN_POISON = 0xffffffff;

When('the driver fills the used ring\'s len fields with 0xffffffff and submits a request', async function (this: CtsWorld) {
  const q = splitVq(this);
  const d = await drv(this);
  // The len fields of every used element: a value no buffer of this queue can be used with
  // (one write of the whole ring, ids kept).
  const ring = await d.mem.read(q.used + USED.ring, USED.ELEM_SIZE * q.size);
  for (let i = 0; i < q.size; i++) ring.fill(0xff, USED.ELEM_SIZE * i + 4, USED.ELEM_SIZE * (i + 1));
  await d.mem.write(q.used + USED.ring, ring);
  await addBuffers(q, await probeBuffers(this));
  const slot = q.lastUsedIdx();
  await q.kick({ force: true });
  // The first look that shows used idx moved reads the element in the same access.
  const span = USED.ring + USED.ELEM_SIZE * q.size;
  const deadline = performance.now() + this.ms(USED_MS);
  let seen: { idx: number; id: number; len: number } | undefined;
  while (!seen && performance.now() < deadline) {
    const b = await d.mem.read(q.used, span);
    const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
    const idx = v.getUint16(USED.idx, true);
    const at = USED.ring + USED.ELEM_SIZE * (slot % q.size);
    if (idx !== slot) seen = { idx, id: v.getUint32(at, true), len: v.getUint32(at + 4, true) };
    else await new Promise((r) => setTimeout(r, 1));
  }
  // Take the element the driver's way too (the ring stays in step for later requests).
  if (seen) await q.waitUsed(USED_MS, { validate: false }).catch(() => undefined);
  await settle(this);
  S(this).seen.lenAtIdx = seen;
});

Then('the used element\'s len was written when used idx moved', function (this: CtsWorld) {
  const seen = S(this).seen.lenAtIdx as { idx: number; id: number; len: number } | undefined;
  if (!seen) inconclusive('used idx did not move, so the request was not used and len cannot be judged');
  expect(this, seen.len !== LEN_POISON, `the element's len written (not the driver's ${hex(LEN_POISON)}) once used idx shows it`,
    `used idx ${seen.idx}, element id ${seen.id} with len ${hex(seen.len)}`);
});
