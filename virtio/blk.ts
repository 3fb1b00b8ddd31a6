// Block device wire formats (spec 5.2): feature bits, config layout, request types.
export const VIRTIO_BLK_F = {
  SIZE_MAX: 1, SEG_MAX: 2, GEOMETRY: 4, RO: 5, BLK_SIZE: 6, FLUSH: 9, TOPOLOGY: 10,
  CONFIG_WCE: 11, MQ: 12, DISCARD: 13, WRITE_ZEROES: 14, LIFETIME: 15, SECURE_ERASE: 16,
  ZONED: 17,
} as const;

/** struct virtio_blk_config offsets (5.2.4): [offset, width]. */
export const BLK_CONFIG = {
  capacity: [0, 8], size_max: [8, 4], seg_max: [12, 4],
  geometry_cylinders: [16, 2], geometry_heads: [18, 1], geometry_sectors: [19, 1],
  blk_size: [20, 4], physical_block_exp: [24, 1], alignment_offset: [25, 1],
  min_io_size: [26, 2], opt_io_size: [28, 4], writeback: [32, 1], num_queues: [34, 2],
  max_discard_sectors: [36, 4], max_discard_seg: [40, 4], discard_sector_alignment: [44, 4],
  max_write_zeroes_sectors: [48, 4], max_write_zeroes_seg: [52, 4], write_zeroes_may_unmap: [56, 1],
} as const satisfies Record<string, readonly [number, 1 | 2 | 4 | 8]>;
export const BLK_CONFIG_SIZE = 60;

export const VIRTIO_BLK_T = {
  IN: 0, OUT: 1, FLUSH: 4, GET_ID: 8, GET_LIFETIME: 10, DISCARD: 11, WRITE_ZEROES: 13,
  SECURE_ERASE: 14, ZONE_APPEND: 15, ZONE_REPORT: 16, ZONE_OPEN: 18, ZONE_CLOSE: 20,
  ZONE_FINISH: 22, ZONE_RESET: 24, ZONE_RESET_ALL: 26,
} as const;
export const VIRTIO_BLK_S_OK = 0, VIRTIO_BLK_S_IOERR = 1, VIRTIO_BLK_S_UNSUPP = 2;

/** struct virtio_blk_req header: type le32, reserved le32, sector le64. */
export const BLK_REQ_HDR_SIZE = 16;
export const SECTOR_SIZE = 512;
/** GET_ID returns up to 20 bytes, not NUL-terminated when 20 long. */
export const VIRTIO_BLK_ID_BYTES = 20;
/** struct virtio_blk_discard_write_zeroes: sector le64, num_sectors le32, flags le32. */
export const DISCARD_WZ_SEG_SIZE = 16;
export const VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP = 1;

export function encodeReqHeader(type: number, sector: bigint): Uint8Array {
  const b = new Uint8Array(BLK_REQ_HDR_SIZE);
  const v = new DataView(b.buffer);
  v.setUint32(0, type, true);
  v.setBigUint64(8, sector, true);
  return b;
}

export function encodeDiscardWz(sector: bigint, numSectors: number, flags: number): Uint8Array {
  const b = new Uint8Array(DISCARD_WZ_SEG_SIZE);
  const v = new DataView(b.buffer);
  v.setBigUint64(0, sector, true);
  v.setUint32(8, numSectors, true);
  v.setUint32(12, flags, true);
  return b;
}
