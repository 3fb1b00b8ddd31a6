// Reference block device (spec 5.2): a RAM-backed disk with one request queue.
// Requests IN, OUT, FLUSH, GET_ID, DISCARD, WRITE_ZEROES; anything else is UNSUPP.
import {
  BLK_CONFIG, BLK_CONFIG_SIZE, BLK_REQ_HDR_SIZE, DISCARD_WZ_SEG_SIZE, SECTOR_SIZE, VIRTIO_BLK_F, VIRTIO_BLK_ID_BYTES,
  VIRTIO_BLK_S_IOERR, VIRTIO_BLK_S_OK, VIRTIO_BLK_S_UNSUPP, VIRTIO_BLK_T, VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP,
} from '../../virtio/blk.ts';
import { bit, hasBit } from '../../virtio/features.ts';
import { DEVICE_ID } from '../../virtio/ids.ts';
import { RingError } from '../../virtio/split-ring-device.ts';
import type { ChainContext, DeviceModel } from '../device.ts';
import type { Defects } from '../defects.ts';

export const BLK_QUEUE_SIZE = 256;
export const DEFAULT_BLK_SECTORS = 2048;
export const DEFAULT_BLK_SERIAL = 'virtio-cts-reference';
/** Limits presented in the configuration (one segment per discard/write-zeroes request). */
export const BLK_MAX_DISCARD_SECTORS = 0x400000;
export const BLK_MAX_WRITE_ZEROES_SECTORS = 0x400000;

export interface BlkModelOptions { readOnly?: boolean; capacitySectors?: number; serial?: string }

export class BlkModel implements DeviceModel {
  readonly type = 'blk' as const;
  readonly deviceId = DEVICE_ID.blk;
  readonly numQueues = 1;
  readonly readOnly: boolean;
  readonly serial: string;
  /** The disk contents; survives device resets. */
  disk: Uint8Array;

  constructor(o: BlkModelOptions, private readonly defects: Defects) {
    this.readOnly = o.readOnly ?? false;
    this.serial = o.serial ?? DEFAULT_BLK_SERIAL;
    this.disk = new Uint8Array((o.capacitySectors ?? DEFAULT_BLK_SECTORS) * SECTOR_SIZE);
  }

  get capacity(): number { return this.disk.length / SECTOR_SIZE; }

  /** Grow (or shrink) the disk; the caller signals the config change. */
  resize(sectors: number): void {
    const d = new Uint8Array(sectors * SECTOR_SIZE);
    d.set(this.disk.subarray(0, Math.min(d.length, this.disk.length)));
    this.disk = d;
  }

  queueMaxSize(q: number): number { return q === 0 ? BLK_QUEUE_SIZE : 0; }

  offeredFeatures(): bigint {
    let f = bit(VIRTIO_BLK_F.SEG_MAX) | bit(VIRTIO_BLK_F.BLK_SIZE) | bit(VIRTIO_BLK_F.FLUSH)
      | bit(VIRTIO_BLK_F.DISCARD) | bit(VIRTIO_BLK_F.WRITE_ZEROES);
    if (this.readOnly) f |= bit(VIRTIO_BLK_F.RO);
    if (this.defects.on('blk-no-flush')) f &= ~bit(VIRTIO_BLK_F.FLUSH);
    if (this.defects.on('offers-feature-without-prerequisite')) f = (f | bit(VIRTIO_BLK_F.CONFIG_WCE)) & ~bit(VIRTIO_BLK_F.FLUSH);
    return f;
  }

  config(): Uint8Array {
    const b = new Uint8Array(BLK_CONFIG_SIZE);
    const v = new DataView(b.buffer);
    v.setBigUint64(BLK_CONFIG.capacity[0], BigInt(this.capacity), true);
    v.setUint32(BLK_CONFIG.seg_max[0], BLK_QUEUE_SIZE - 2, true);
    v.setUint32(BLK_CONFIG.blk_size[0], SECTOR_SIZE, true);
    v.setUint16(BLK_CONFIG.num_queues[0], 1, true);
    v.setUint32(BLK_CONFIG.max_discard_sectors[0], BLK_MAX_DISCARD_SECTORS, true);
    v.setUint32(BLK_CONFIG.max_discard_seg[0], 1, true);
    v.setUint32(BLK_CONFIG.discard_sector_alignment[0], 1, true);
    v.setUint32(BLK_CONFIG.max_write_zeroes_sectors[0], BLK_MAX_WRITE_ZEROES_SECTORS, true);
    v.setUint32(BLK_CONFIG.max_write_zeroes_seg[0], 1, true);
    v.setUint8(BLK_CONFIG.write_zeroes_may_unmap[0], 1);
    if (this.defects.on('blk-padding-nonzero')) {
      b[BLK_CONFIG.writeback[0] + 1] = 0xff; // unused0
      b.fill(0xff, BLK_CONFIG.write_zeroes_may_unmap[0] + 1, BLK_CONFIG_SIZE); // unused1[3]
    }
    return b;
  }

  writeConfig(): void {
    // writeback is the only writable field, and only with CONFIG_WCE, which is not offered.
  }

  reset(): void {}

  async process(_q: number, ctx: ChainContext): Promise<number> {
    const { ring, chain, defects } = ctx;
    if (chain.writableLen < 1) throw new RingError('blk request without room for the status byte');
    const statusAt = chain.writableLen - 1;
    const finish = async (status: number, dataWritten: number): Promise<number> => {
      await ring.writeAt(chain, statusAt, new Uint8Array([status]));
      return dataWritten + 1;
    };
    if (chain.readableLen < BLK_REQ_HDR_SIZE) return finish(VIRTIO_BLK_S_IOERR, 0);
    // Header and data may be split over descriptors any way the driver likes (2.7.4).
    if (defects.on('assumes-descriptor-layout') && chain.readable[0].len < BLK_REQ_HDR_SIZE) return finish(VIRTIO_BLK_S_IOERR, 0);
    const readable = await ring.readAll(chain);
    if (defects.on('writes-device-readable-buffer')) {
      for (const b of chain.readable) await ctx.ram.write(b.addr, new Uint8Array(b.len));
    }
    const hdr = new DataView(readable.buffer, readable.byteOffset, BLK_REQ_HDR_SIZE);
    const type = hdr.getUint32(0, true);
    const sector = hdr.getBigUint64(8, true);
    const out = readable.subarray(BLK_REQ_HDR_SIZE);
    const inLen = chain.writableLen - 1;
    const negotiated = (f: number) => hasBit(ctx.features, f);

    switch (type) {
      case VIRTIO_BLK_T.IN: {
        const at = this.range(sector, inLen);
        if (at === undefined) return finish(VIRTIO_BLK_S_IOERR, 0);
        await ring.writeAt(chain, 0, this.disk.slice(at, at + inLen));
        return finish(VIRTIO_BLK_S_OK, inLen);
      }
      case VIRTIO_BLK_T.OUT: {
        // Read-only: IOERR and no data written (5.2.6.2).
        if (this.readOnly && !defects.on('blk-ro-write-succeeds')) return finish(VIRTIO_BLK_S_IOERR, 0);
        const at = this.range(sector, out.length);
        if (at === undefined) return finish(VIRTIO_BLK_S_IOERR, 0);
        this.disk.set(out, at);
        return finish(VIRTIO_BLK_S_OK, 0);
      }
      case VIRTIO_BLK_T.FLUSH:
        // RAM is the backing store: every completed write is already stable.
        return finish(hasBit(this.offeredFeatures(), VIRTIO_BLK_F.FLUSH) ? VIRTIO_BLK_S_OK : VIRTIO_BLK_S_UNSUPP, 0);
      case VIRTIO_BLK_T.GET_ID: {
        const id = new Uint8Array(VIRTIO_BLK_ID_BYTES);
        id.set(new TextEncoder().encode(this.serial).subarray(0, VIRTIO_BLK_ID_BYTES));
        const n = Math.min(VIRTIO_BLK_ID_BYTES, inLen);
        await ring.writeAt(chain, 0, id.subarray(0, n));
        return finish(VIRTIO_BLK_S_OK, n);
      }
      case VIRTIO_BLK_T.DISCARD:
      case VIRTIO_BLK_T.WRITE_ZEROES:
        return finish(this.discardOrWriteZeroes(type, out, negotiated, defects), 0);
      default:
        return finish(VIRTIO_BLK_S_UNSUPP, 0);
    }
  }

  /** Byte offset of `len` bytes at `sector`, or undefined when not whole sectors inside the disk. */
  private range(sector: bigint, len: number): number | undefined {
    if (len % SECTOR_SIZE !== 0) return undefined;
    if (sector * BigInt(SECTOR_SIZE) + BigInt(len) > BigInt(this.disk.length)) return undefined;
    return Number(sector) * SECTOR_SIZE;
  }

  private discardOrWriteZeroes(type: number, out: Uint8Array, negotiated: (f: number) => boolean, defects: Defects): number {
    const discard = type === VIRTIO_BLK_T.DISCARD;
    if (!negotiated(discard ? VIRTIO_BLK_F.DISCARD : VIRTIO_BLK_F.WRITE_ZEROES)) return VIRTIO_BLK_S_UNSUPP;
    if (out.length === 0 || out.length % DISCARD_WZ_SEG_SIZE !== 0) return VIRTIO_BLK_S_IOERR;
    const segs = [];
    for (let off = 0; off < out.length; off += DISCARD_WZ_SEG_SIZE) {
      const v = new DataView(out.buffer, out.byteOffset + off, DISCARD_WZ_SEG_SIZE);
      segs.push({ sector: v.getBigUint64(0, true), num: v.getUint32(8, true), flags: v.getUint32(12, true) });
    }
    // Flags first: an unknown flag (or unmap on discard) makes the whole request UNSUPP.
    for (const s of segs) {
      if ((s.flags & ~VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP) && !defects.on('blk-unknown-flags-accepted')) return VIRTIO_BLK_S_UNSUPP;
      if (discard && (s.flags & VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP) && !defects.on('blk-discard-unmap-accepted')) return VIRTIO_BLK_S_UNSUPP;
    }
    if (segs.length > 1) return VIRTIO_BLK_S_IOERR; // max_*_seg is 1
    if (this.readOnly) return VIRTIO_BLK_S_IOERR;
    const max = discard ? BLK_MAX_DISCARD_SECTORS : BLK_MAX_WRITE_ZEROES_SECTORS;
    for (const s of segs) {
      if (s.num > max) return VIRTIO_BLK_S_IOERR;
      const at = this.range(s.sector, s.num * SECTOR_SIZE);
      if (at === undefined) return VIRTIO_BLK_S_IOERR;
      // Discard MAY deallocate: the reference keeps the data. Write zeroes MUST read back 0.
      const leaveData = (s.flags & VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP) !== 0 && defects.on('blk-write-zeroes-not-zero');
      if (!discard && !leaveData) this.disk.fill(0, at, at + s.num * SECTOR_SIZE);
    }
    return VIRTIO_BLK_S_OK;
  }
}
