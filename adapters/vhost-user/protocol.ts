// vhost-user wire format (QEMU docs/interop/vhost-user.rst): a 12-byte header
// (request u32, flags u32, size u32, little-endian) followed by `size` payload bytes;
// fds travel as SCM_RIGHTS with the message. Only what a front-end sends or reads.

export const HEADER_SIZE = 12;

/** Front-end → back-end request codes. */
export const REQ = {
  GET_FEATURES: 1,
  SET_FEATURES: 2,
  SET_OWNER: 3,
  RESET_OWNER: 4,
  SET_MEM_TABLE: 5,
  SET_VRING_NUM: 8,
  SET_VRING_ADDR: 9,
  SET_VRING_BASE: 10,
  GET_VRING_BASE: 11,
  SET_VRING_KICK: 12,
  SET_VRING_CALL: 13,
  SET_VRING_ERR: 14,
  GET_PROTOCOL_FEATURES: 15,
  SET_PROTOCOL_FEATURES: 16,
  GET_QUEUE_NUM: 17,
  SET_VRING_ENABLE: 18,
  GET_CONFIG: 24,
  SET_CONFIG: 25,
  RESET_DEVICE: 34,
  GET_MAX_MEM_SLOTS: 36,
  SET_STATUS: 39,
  GET_STATUS: 40,
} as const;
export type RequestName = keyof typeof REQ;

export function requestName(code: number): string {
  const hit = (Object.keys(REQ) as RequestName[]).find((k) => REQ[k] === code);
  return hit ?? `request ${code}`;
}

/** Header flags: version in bits 0–1 (always 1), REPLY on replies, NEED_REPLY asks for an ack. */
export const FLAG = { VERSION: 0x1, VERSION_MASK: 0x3, REPLY: 0x4, NEED_REPLY: 0x8 } as const;

/** Virtio feature bit 30 in GET/SET_FEATURES: the back-end speaks protocol features. */
export const VHOST_USER_F_PROTOCOL_FEATURES = 30n;
/** Feature bit 26 in GET/SET_FEATURES: vhost dirty-page logging (migration), not a device feature. */
export const VHOST_F_LOG_ALL = 26n;

/** Protocol feature bits (GET/SET_PROTOCOL_FEATURES). */
export const PROTOCOL_F = {
  MQ: 0, LOG_SHMFD: 1, RARP: 2, REPLY_ACK: 3, NET_MTU: 4, BACKEND_REQ: 5, CROSS_ENDIAN: 6,
  CRYPTO_SESSION: 7, PAGEFAULT: 8, CONFIG: 9, BACKEND_SEND_FD: 10, HOST_NOTIFIER: 11,
  INFLIGHT_SHMFD: 12, RESET_DEVICE: 13, INBAND_NOTIFICATIONS: 14, CONFIGURE_MEM_SLOTS: 15, STATUS: 16,
} as const;
export type ProtocolFeature = keyof typeof PROTOCOL_F;

/**
 * Protocol features this front-end implements and asks for when offered. Anything else
 * (BACKEND_REQ, INFLIGHT_SHMFD, …) would add obligations we do not meet, so it is never set.
 */
export const FRONTEND_PROTOCOL_FEATURES = (['MQ', 'REPLY_ACK', 'CONFIG', 'RESET_DEVICE', 'STATUS'] as const)
  .reduce((f, n) => f | (1n << BigInt(PROTOCOL_F[n])), 0n);

export function formatProtocolFeatures(f: bigint): string {
  const names = (Object.keys(PROTOCOL_F) as ProtocolFeature[]).filter((n) => (f >> BigInt(PROTOCOL_F[n])) & 1n);
  return `0x${f.toString(16)}${names.length ? ` (${names.join('|')})` : ''}`;
}

/** SET_VRING_KICK/CALL/ERR payload: bits 0–7 queue index, bit 8 = no fd attached. */
export const VRING_NOFD_MASK = 0x100;

/** SET_MEM_TABLE carries at most this many regions (one fd each). */
export const MAX_MEM_REGIONS = 8;

/** GET_CONFIG/SET_CONFIG payload header: offset, size, flags (u32 each). */
export const CONFIG_HDR_SIZE = 12;
export const MAX_CONFIG_SIZE = 256;

// ---- encoding ----------------------------------------------------------------------

export function encodeMessage(request: number, flags: number, payload: Uint8Array = new Uint8Array()): Uint8Array {
  const m = new Uint8Array(HEADER_SIZE + payload.length);
  const v = new DataView(m.buffer);
  v.setUint32(0, request, true);
  v.setUint32(4, flags, true);
  v.setUint32(8, payload.length, true);
  m.set(payload, HEADER_SIZE);
  return m;
}

export interface Header { request: number; flags: number; size: number }

export function decodeHeader(b: Uint8Array): Header {
  if (b.length !== HEADER_SIZE) throw new RangeError(`vhost-user header must be ${HEADER_SIZE} bytes, got ${b.length}`);
  const v = new DataView(b.buffer, b.byteOffset, b.length);
  return { request: v.getUint32(0, true), flags: v.getUint32(4, true), size: v.getUint32(8, true) };
}

export function u64(x: bigint | number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(x), true);
  return b;
}

export function readU64(b: Uint8Array): bigint {
  return new DataView(b.buffer, b.byteOffset, b.length).getBigUint64(0, true);
}

/** struct vhost_vring_state: index u32, num u32. */
export function vringState(index: number, num: number): Uint8Array {
  const b = new Uint8Array(8);
  const v = new DataView(b.buffer);
  v.setUint32(0, index, true);
  v.setUint32(4, num, true);
  return b;
}

export function readVringState(b: Uint8Array): { index: number; num: number } {
  const v = new DataView(b.buffer, b.byteOffset, b.length);
  return { index: v.getUint32(0, true), num: v.getUint32(4, true) };
}

/** struct vhost_vring_addr: index, flags, then desc/used/avail/log as front-end addresses. */
export function vringAddr(index: number, a: { desc: bigint; used: bigint; avail: bigint; log?: bigint }, flags = 0): Uint8Array {
  const b = new Uint8Array(40);
  const v = new DataView(b.buffer);
  v.setUint32(0, index, true);
  v.setUint32(4, flags, true);
  v.setBigUint64(8, a.desc, true);
  v.setBigUint64(16, a.used, true);
  v.setBigUint64(24, a.avail, true);
  v.setBigUint64(32, a.log ?? 0n, true);
  return b;
}

/** SET_VRING_KICK/CALL/ERR payload for queue `index` (with an fd unless noFd). */
export function vringFd(index: number, noFd = false): Uint8Array {
  return u64(BigInt((index & 0xff) | (noFd ? VRING_NOFD_MASK : 0)));
}

export interface MemRegion {
  guestPhysAddr: bigint;
  size: bigint;
  /** The front-end's own address for the region (vring addresses are given in these). */
  userspaceAddr: bigint;
  mmapOffset: bigint;
}

/** VhostUserMemory: nregions u32, padding u32, then 32 bytes per region. */
export function memTable(regions: readonly MemRegion[]): Uint8Array {
  if (regions.length === 0 || regions.length > MAX_MEM_REGIONS) {
    throw new RangeError(`SET_MEM_TABLE takes 1..${MAX_MEM_REGIONS} regions, got ${regions.length}`);
  }
  const b = new Uint8Array(8 + 32 * regions.length);
  const v = new DataView(b.buffer);
  v.setUint32(0, regions.length, true);
  regions.forEach((r, i) => {
    const o = 8 + 32 * i;
    v.setBigUint64(o, r.guestPhysAddr, true);
    v.setBigUint64(o + 8, r.size, true);
    v.setBigUint64(o + 16, r.userspaceAddr, true);
    v.setBigUint64(o + 24, r.mmapOffset, true);
  });
  return b;
}

/** GET_CONFIG/SET_CONFIG payload: offset, size, flags, then `size` bytes of config. */
export function configPayload(offset: number, size: number, data?: Uint8Array, flags = 0): Uint8Array {
  if (size < 0 || size > MAX_CONFIG_SIZE) throw new RangeError(`config access of ${size} bytes (at most ${MAX_CONFIG_SIZE})`);
  const b = new Uint8Array(CONFIG_HDR_SIZE + size);
  const v = new DataView(b.buffer);
  v.setUint32(0, offset, true);
  v.setUint32(4, size, true);
  v.setUint32(8, flags, true);
  if (data) b.set(data.subarray(0, size), CONFIG_HDR_SIZE);
  return b;
}
