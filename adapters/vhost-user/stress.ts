// Seeded blk stress through the suite's driver: `depth` requests in flight, each with a
// random descriptor layout (header split over 1–3 descriptors, data over 1–4, indirect
// table or not, status byte in the last data descriptor or its own), reads checked
// against a model of what was written. The same seed gives the same request sequence
// (layoutDigest proves it). Each in-flight slot owns its own sector range, so request
// order between slots never matters to the model (and which slot a request lands in
// depends on completion timing, so the digest covers the layout, not the slot).
import type { Driver } from '../../driver/driver.ts';
import { splitBuffer, splitBySizes } from '../../driver/layout.ts';
import { DriverTimeoutError } from '../../driver/wait.ts';
import { BLK_REQ_HDR_SIZE, SECTOR_SIZE, VIRTIO_BLK_F, VIRTIO_BLK_S_OK, VIRTIO_BLK_T, encodeReqHeader } from '../../virtio/blk.ts';
import { hasBit } from '../../virtio/features.ts';
import type { DescBuffer, SplitRingDriver } from '../../virtio/split-ring-driver.ts';

export interface StressOptions {
  seed: number;
  requests: number;
  /** Requests in flight (default 32). */
  depth?: number;
  /** Sectors each slot owns (default 64); the disk needs depth × this many. */
  sectorsPerSlot?: number;
  /** Waits for the next completion; default: yield to the event loop. */
  waitCompletion?: () => Promise<void>;
  /**
   * What the disk holds (sector → fill byte of every byte), carried across runs on the
   * same disk; updated by the run. Default: a fresh, zeroed disk.
   */
  model?: Map<number, number>;
  /** Bound on a stretch without any completion (ms, already scaled). Default 10000 × the queue's timeoutScale. */
  stallMs?: number;
}

export interface StressResult {
  requests: number;
  ms: number;
  perSecond: number;
  /** FNV-1a over every request's layout: equal for equal seeds. */
  layoutDigest: string;
  counts: Record<'in' | 'out' | 'getId' | 'flush' | 'indirect' | 'splitHeader' | 'statusInData', number>;
}

/** mulberry32 */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Req { type: number; /** offset in the slot's range */ rel: number; sector: number; sectors: number; headerSplit: number[]; segs: number; indirect: boolean; statusInData: boolean }

const MAX_SECTORS = 8;
const CANARY = 0xa5;

export async function blkStress(drv: Driver, vq: SplitRingDriver, o: StressOptions): Promise<StressResult> {
  const mem = drv.mem;
  const depth = Math.min(o.depth ?? 32, Math.floor(vq.size / 8));
  const perSlot = o.sectorsPerSlot ?? 64;
  const rand = rng(o.seed);
  const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
  const flush = hasBit(drv.negotiatedFeatures(), VIRTIO_BLK_F.FLUSH);
  const counts: StressResult['counts'] = { in: 0, out: 0, getId: 0, flush: 0, indirect: 0, splitHeader: 0, statusInData: 0 };
  let digest = 0x811c9dc5;
  const mix = (n: number) => { digest = Math.imul(digest ^ (n & 0xff), 0x01000193) >>> 0; digest = Math.imul(digest ^ (n >>> 8), 0x01000193) >>> 0; };

  const gen = (slot: number): Req => {
    const r = rand();
    let type: number = r < 0.45 ? VIRTIO_BLK_T.IN : r < 0.9 ? VIRTIO_BLK_T.OUT : r < 0.95 ? VIRTIO_BLK_T.GET_ID : VIRTIO_BLK_T.FLUSH;
    if (type === VIRTIO_BLK_T.FLUSH && !flush) type = VIRTIO_BLK_T.OUT;
    const sectors = type === VIRTIO_BLK_T.IN || type === VIRTIO_BLK_T.OUT ? int(1, MAX_SECTORS) : 0;
    const k = int(1, 3);
    const cuts = [...new Set(Array.from({ length: k - 1 }, () => int(1, BLK_REQ_HDR_SIZE - 1)))].sort((a, b) => a - b);
    const headerSplit = [...cuts, BLK_REQ_HDR_SIZE].map((c, i, a) => c - (i ? a[i - 1] : 0));
    const req: Req = {
      type, sectors, headerSplit, segs: int(1, 4), indirect: rand() < 0.3,
      rel: sectors ? int(0, perSlot - sectors) : 0, sector: 0,
      statusInData: rand() < 0.3,
    };
    req.sector = slot * perSlot + req.rel; // where it lands depends on timing; the layout does not
    for (const n of [req.type, req.rel, req.sectors, req.segs, +req.indirect, +req.statusInData, ...req.headerSplit]) mix(n);
    return req;
  };

  // Per slot: header, OUT data, IN data + status byte; allocated once.
  const slots = [];
  for (let s = 0; s < depth; s++) {
    slots.push({ header: await mem.alloc(BLK_REQ_HDR_SIZE), out: await mem.alloc(MAX_SECTORS * SECTOR_SIZE), in: await mem.alloc(MAX_SECTORS * SECTOR_SIZE + 1) });
  }
  const model = o.model ?? new Map<number, number>(); // sector → fill byte written last
  const canary = new Uint8Array(MAX_SECTORS * SECTOR_SIZE + 1).fill(CANARY);
  const freeSlots = Array.from({ length: depth }, (_, i) => depth - 1 - i);
  const byHead = new Map<number, { slot: number; req: Req; reqNo: number }>();
  let issued = 0, done = 0;
  const stallMs = o.stallMs ?? 10_000 * vq.timeoutScale;
  const t0 = performance.now();
  let lastProgress = t0;

  while (done < o.requests) {
    while (freeSlots.length && issued < o.requests) {
      const slot = freeSlots.pop()!;
      const a = slots[slot];
      const req = gen(slot);
      const reqNo = issued++;
      await mem.write(a.header, encodeReqHeader(req.type, BigInt(req.sector)));
      const bufs: DescBuffer[] = splitBySizes(a.header, req.headerSplit, false);
      const bytes = req.sectors * SECTOR_SIZE;
      if (req.type === VIRTIO_BLK_T.OUT) {
        const data = new Uint8Array(bytes);
        for (let k = 0; k < req.sectors; k++) data.fill(fillByte(reqNo, req.sector + k), k * SECTOR_SIZE, (k + 1) * SECTOR_SIZE);
        await mem.write(a.out, data);
        bufs.push(...splitBuffer(a.out, bytes, req.segs, false));
        for (let k = 0; k < req.sectors; k++) model.set(req.sector + k, fillByte(reqNo, req.sector + k));
      }
      const inLen = req.type === VIRTIO_BLK_T.IN ? bytes : req.type === VIRTIO_BLK_T.GET_ID ? 20 : 0;
      await mem.write(a.in, canary.subarray(0, inLen + 1));
      if (inLen && req.statusInData) {
        const pieces = splitBuffer(a.in, inLen, req.segs, true);
        pieces[pieces.length - 1].len += 1;
        bufs.push(...pieces);
      } else {
        if (inLen) bufs.push(...splitBuffer(a.in, inLen, req.segs, true));
        bufs.push({ addr: a.in + inLen, len: 1, write: true });
      }
      const head = await vq.add(bufs, { indirect: req.indirect ? 'all' : undefined });
      byHead.set(head, { slot, req, reqNo });
      counts[req.type === VIRTIO_BLK_T.IN ? 'in' : req.type === VIRTIO_BLK_T.OUT ? 'out' : req.type === VIRTIO_BLK_T.GET_ID ? 'getId' : 'flush']++;
      if (req.indirect) counts.indirect++;
      if (req.headerSplit.length > 1) counts.splitHeader++;
      if (inLen && req.statusInData) counts.statusInData++;
    }
    await vq.kick();
    let got = 0;
    for (let e = await vq.getUsed(); e; e = await vq.getUsed()) {
      got++;
      const x = byHead.get(e.id)!;
      byHead.delete(e.id);
      const a = slots[x.slot];
      const inLen = x.req.type === VIRTIO_BLK_T.IN ? x.req.sectors * SECTOR_SIZE : x.req.type === VIRTIO_BLK_T.GET_ID ? 20 : 0;
      const after = await mem.read(a.in, inLen + 1);
      if (after[inLen] !== VIRTIO_BLK_S_OK) throw new Error(`stress: request ${x.reqNo} (type ${x.req.type}, sector ${x.req.sector}) status ${after[inLen]}`);
      if (x.req.type === VIRTIO_BLK_T.IN) {
        for (let k = 0; k < x.req.sectors; k++) {
          const want = model.get(x.req.sector + k) ?? 0;
          const bad = firstDifferent(after, k * SECTOR_SIZE, (k + 1) * SECTOR_SIZE, want);
          if (bad >= 0) throw new Error(`stress: request ${x.reqNo} read sector ${x.req.sector + k}: expected 0x${want.toString(16)} bytes, got 0x${after[bad].toString(16)} at byte ${bad % SECTOR_SIZE}`);
        }
        if (e.len !== inLen + 1) throw new Error(`stress: request ${x.reqNo}: used len ${e.len}, expected ${inLen + 1}`);
      }
      freeSlots.push(x.slot);
      done++;
    }
    const now = performance.now();
    if (got) lastProgress = now;
    else {
      if (now - lastProgress > stallMs) throw new DriverTimeoutError(`a completion in the stress run (${done}/${o.requests} done, ${byHead.size} in flight)`, stallMs);
      await (o.waitCompletion ? o.waitCompletion() : new Promise((r) => setImmediate(r)));
    }
  }
  const ms = performance.now() - t0;
  return { requests: o.requests, ms, perSecond: o.requests / (ms / 1000), layoutDigest: digest.toString(16).padStart(8, '0'), counts };
}

function fillByte(reqNo: number, sector: number): number { return (reqNo * 31 + sector * 7 + 1) & 0xff; }

function firstDifferent(b: Uint8Array, from: number, to: number, want: number): number {
  for (let i = from; i < to; i++) if (b[i] !== want) return i;
  return -1;
}
