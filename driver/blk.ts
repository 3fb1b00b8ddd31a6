// Block device requests (spec 5.2.6): header (device-readable), data (readable for OUT,
// DISCARD, WRITE_ZEROES; writable for IN and GET_ID), status byte (writable), laid out as
// the caller asks: header split over descriptors, data over N descriptors, indirect table,
// status sharing a descriptor with the data. Writable buffers are canary-filled.
import {
  BLK_CONFIG, BLK_REQ_HDR_SIZE, SECTOR_SIZE, VIRTIO_BLK_ID_BYTES, VIRTIO_BLK_T, encodeDiscardWz, encodeReqHeader,
} from '../virtio/blk.ts';
import type { AddOptions, DescBuffer } from '../virtio/split-ring-driver.ts';
import { CANARY_A, fillCanary } from './canary.ts';
import type { Driver } from './driver.ts';
import { splitBuffer, splitBySizes } from './layout.ts';
import { addBuffers, type AnyUsedElem, type Virtqueue } from './ring.ts';
import { TIMEOUT } from './wait.ts';

export interface BlkLayout {
  /** Header bytes per descriptor, e.g. [4, 4, 8] (default [16]). */
  headerSplit?: number[];
  /** Data split over N descriptors (default 1). */
  dataSegments?: number;
  /** Put the status byte at the end of the last writable data descriptor instead of its own. */
  statusInData?: boolean;
  /** 'tail' is split-only (a DriverError on a packed ring). */
  indirect?: AddOptions['indirect'];
  tailCount?: number;
  indirectWriteFlag?: boolean;
  /** Fill byte for writable buffers (default CANARY_A). */
  canary?: number;
  /** Check used len against the writable bytes (default true). */
  validate?: boolean;
  timeoutMs?: number;
}

export interface BlkRequest {
  type: number;
  sector?: bigint;
  /** Header bytes 4..7 (reserved / ioprio); default 0. */
  reserved?: number;
  /** Device-readable payload: OUT data, DISCARD / WRITE_ZEROES segments. */
  out?: Uint8Array;
  /** Device-writable payload length: IN data, GET_ID (20). */
  inLen?: number;
}

export interface BlkResult {
  /** The status byte after the request (the canary if the device did not write it). */
  status: number;
  statusWritten: boolean;
  usedLen: number;
  /** The writable payload after the request (empty for requests without one). */
  data: Uint8Array;
  elem: AnyUsedElem;
  /** Guest addresses, for scenarios that look at the buffers again. */
  addrs: { header: number; out?: number; in?: number; status: number };
}

export async function blkRequest(vq: Virtqueue, req: BlkRequest, layout: BlkLayout = {}): Promise<BlkResult> {
  const mem = vq.mem;
  const canary = layout.canary ?? CANARY_A;
  const segs = layout.dataSegments ?? 1;

  const header = await mem.alloc(BLK_REQ_HDR_SIZE);
  const hdr = encodeReqHeader(req.type, req.sector ?? 0n);
  new DataView(hdr.buffer).setUint32(4, req.reserved ?? 0, true);
  await mem.write(header, hdr);
  const bufs: DescBuffer[] = splitBySizes(header, layout.headerSplit ?? [BLK_REQ_HDR_SIZE], false);

  let outAddr: number | undefined;
  if (req.out && req.out.length > 0) {
    outAddr = await mem.alloc(req.out.length);
    await mem.write(outAddr, req.out);
    bufs.push(...splitBuffer(outAddr, req.out.length, segs, false));
  }

  const inLen = req.inLen ?? 0;
  // The status byte follows the writable payload directly, so statusInData is one buffer.
  const inAddr = await mem.alloc(inLen + 1);
  await fillCanary(mem, inAddr, inLen + 1, canary);
  const status = inAddr + inLen;
  if (layout.statusInData && inLen > 0) {
    const pieces = splitBuffer(inAddr, inLen, segs, true);
    pieces[pieces.length - 1].len += 1;
    bufs.push(...pieces);
  } else {
    if (inLen > 0) bufs.push(...splitBuffer(inAddr, inLen, segs, true));
    bufs.push({ addr: status, len: 1, write: true });
  }

  await addBuffers(vq, bufs, { indirect: layout.indirect, tailCount: layout.tailCount, indirectWriteFlag: layout.indirectWriteFlag });
  await vq.kick();
  const elem = await vq.waitUsed(layout.timeoutMs ?? TIMEOUT.used, { validate: layout.validate });
  const after = await mem.read(inAddr, inLen + 1);
  return {
    status: after[inLen], statusWritten: after[inLen] !== canary, usedLen: elem.len,
    data: after.subarray(0, inLen), elem,
    addrs: { header, out: outAddr, in: inLen > 0 ? inAddr : undefined, status },
  };
}

export function blkRead(vq: Virtqueue, sector: bigint, sectors: number, layout?: BlkLayout): Promise<BlkResult> {
  return blkRequest(vq, { type: VIRTIO_BLK_T.IN, sector, inLen: sectors * SECTOR_SIZE }, layout);
}

export function blkWrite(vq: Virtqueue, sector: bigint, data: Uint8Array, layout?: BlkLayout): Promise<BlkResult> {
  return blkRequest(vq, { type: VIRTIO_BLK_T.OUT, sector, out: data }, layout);
}

export function blkFlush(vq: Virtqueue, layout?: BlkLayout): Promise<BlkResult> {
  return blkRequest(vq, { type: VIRTIO_BLK_T.FLUSH }, layout);
}

/** GET_ID: `data` holds the 20 id bytes. */
export function blkGetId(vq: Virtqueue, layout?: BlkLayout): Promise<BlkResult> {
  return blkRequest(vq, { type: VIRTIO_BLK_T.GET_ID, inLen: VIRTIO_BLK_ID_BYTES }, layout);
}

/** The id string of a GET_ID result: up to the first NUL, at most 20 bytes. */
export function blkIdString(data: Uint8Array): string {
  const end = data.indexOf(0);
  return Buffer.from(data.subarray(0, end < 0 ? data.length : end)).toString('latin1');
}

export interface BlkSegment { sector: bigint; numSectors: number; flags?: number }

const encodeSegs = (segs: BlkSegment[]) => {
  const out = new Uint8Array(16 * segs.length);
  segs.forEach((s, i) => out.set(encodeDiscardWz(s.sector, s.numSectors, s.flags ?? 0), 16 * i));
  return out;
};

export function blkDiscard(vq: Virtqueue, segs: BlkSegment[], layout?: BlkLayout): Promise<BlkResult> {
  return blkRequest(vq, { type: VIRTIO_BLK_T.DISCARD, out: encodeSegs(segs) }, layout);
}

export function blkWriteZeroes(vq: Virtqueue, segs: BlkSegment[], layout?: BlkLayout): Promise<BlkResult> {
  return blkRequest(vq, { type: VIRTIO_BLK_T.WRITE_ZEROES, out: encodeSegs(segs) }, layout);
}

export interface BlkConfig {
  capacity: bigint;
  size_max: number; seg_max: number; blk_size: number;
  max_discard_sectors: number; max_discard_seg: number; discard_sector_alignment: number;
  max_write_zeroes_sectors: number; max_write_zeroes_seg: number; write_zeroes_may_unmap: number;
}

/** The blk config fields the suite uses (all read; which are valid depends on the features). */
export async function readBlkConfig(drv: Driver): Promise<BlkConfig> {
  return drv.readConfigStable(async () => {
    const r = async (f: keyof typeof BLK_CONFIG) => {
      const [off, w] = BLK_CONFIG[f];
      return w === 8 ? 0 : drv.transport.readConfig(off, w);
    };
    const lo = await drv.transport.readConfig(BLK_CONFIG.capacity[0], 4);
    const hi = await drv.transport.readConfig(BLK_CONFIG.capacity[0] + 4, 4);
    return {
      capacity: (BigInt(hi) << 32n) | BigInt(lo),
      size_max: await r('size_max'), seg_max: await r('seg_max'), blk_size: await r('blk_size'),
      max_discard_sectors: await r('max_discard_sectors'), max_discard_seg: await r('max_discard_seg'),
      discard_sector_alignment: await r('discard_sector_alignment'),
      max_write_zeroes_sectors: await r('max_write_zeroes_sectors'), max_write_zeroes_seg: await r('max_write_zeroes_seg'),
      write_zeroes_may_unmap: await r('write_zeroes_may_unmap'),
    };
  });
}
