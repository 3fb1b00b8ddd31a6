// Feature bits (spec 2.2 "Feature Bits", chapter 6 "Reserved Feature Bits") and the
// device-type bits the suite knows (5.2.3 blk; 5.4 entropy defines none).
// Each FeatureInfo carries the spec's dependencies between bits ("requires"), the
// transports a bit is limited to, and where the spec states it, so both the driver
// (never accept a feature without its prerequisite) and the device side (never offer
// one) check against the same table.
import type { DeviceType } from './ids.ts';

export const VIRTIO_F = {
  INDIRECT_DESC: 28, EVENT_IDX: 29, VERSION_1: 32, ACCESS_PLATFORM: 33, RING_PACKED: 34,
  IN_ORDER: 35, ORDER_PLATFORM: 36, SR_IOV: 37, NOTIFICATION_DATA: 38, NOTIF_CONFIG_DATA: 39,
  RING_RESET: 40, ADMIN_VQ: 41, SUSPEND: 43,
} as const;

/** Legacy-only reserved bits (6.1): named so they can be recognised, never accepted. */
export const VIRTIO_F_LEGACY = { NOTIFY_ON_EMPTY: 24, ANY_LAYOUT: 27, UNUSED: 30 } as const;

export { VIRTIO_BLK_F } from './blk.ts';
import { VIRTIO_BLK_F } from './blk.ts';
export { VIRTIO_CONSOLE_F } from './console.ts';
import { VIRTIO_CONSOLE_F } from './console.ts';
export { VIRTIO_NET_F } from './net.ts';
import { VIRTIO_NET_F } from './net.ts';

export type Transport = 'pci' | 'mmio' | 'ccw';

export interface FeatureInfo {
  name: string;
  bit: number;
  /**
   * Prerequisites: each inner array is an alternative set; the feature needs ALL bits of
   * ONE set (by name). A device MUST NOT offer, a driver MUST NOT accept, a feature
   * without them (2.2.1, 2.2.2).
   */
  requires?: string[][];
  /** Which device type defines the bit; absent for reserved (transport/ring) bits. */
  device?: DeviceType;
  /** Limited to these transports (absent = any transport). */
  transports?: Transport[];
  /** Legacy interface only: a modern device does not offer it, a driver does not accept it. */
  legacy?: boolean;
  /** Where the bit and its dependencies are stated (section label path). */
  ref: string;
}

const RESERVED = 'Reserved Feature Bits';
const BLK = 'Device Types / Block Device / Feature bits';

/** Reserved (device-independent) bits, chapter 6. */
export const RESERVED_FEATURES: readonly FeatureInfo[] = [
  { name: 'VIRTIO_F_NOTIFY_ON_EMPTY', bit: 24, legacy: true, ref: `${RESERVED} / Legacy Interface: Reserved Feature Bits` },
  { name: 'VIRTIO_F_ANY_LAYOUT', bit: 27, legacy: true, ref: `${RESERVED} / Legacy Interface: Reserved Feature Bits` },
  { name: 'VIRTIO_F_INDIRECT_DESC', bit: 28, ref: RESERVED },
  { name: 'VIRTIO_F_EVENT_IDX', bit: 29, ref: RESERVED },
  { name: 'UNUSED', bit: 30, legacy: true, ref: `${RESERVED} / Legacy Interface: Reserved Feature Bits` },
  { name: 'VIRTIO_F_VERSION_1', bit: 32, ref: RESERVED },
  { name: 'VIRTIO_F_ACCESS_PLATFORM', bit: 33, ref: RESERVED },
  { name: 'VIRTIO_F_RING_PACKED', bit: 34, ref: RESERVED },
  { name: 'VIRTIO_F_IN_ORDER', bit: 35, ref: RESERVED },
  { name: 'VIRTIO_F_ORDER_PLATFORM', bit: 36, ref: RESERVED },
  // "Currently only PCI devices support this feature" (6); the device MUST NOT offer it
  // without an SR-IOV capability.
  { name: 'VIRTIO_F_SR_IOV', bit: 37, transports: ['pci'], ref: RESERVED },
  { name: 'VIRTIO_F_NOTIFICATION_DATA', bit: 38, ref: RESERVED },
  // The per-queue notify data lives in the PCI common config (4.1.4.3).
  { name: 'VIRTIO_F_NOTIF_CONFIG_DATA', bit: 39, transports: ['pci'], ref: RESERVED },
  { name: 'VIRTIO_F_RING_RESET', bit: 40, ref: RESERVED },
  // MMIO lists it as reserved for future use (4.2.4).
  { name: 'VIRTIO_F_ADMIN_VQ', bit: 41, transports: ['pci'], ref: RESERVED },
  { name: 'VIRTIO_F_SUSPEND', bit: 43, ref: RESERVED },
];

/** Block device bits (5.2.3). */
export const BLK_FEATURES: readonly FeatureInfo[] = [
  { name: 'VIRTIO_BLK_F_SIZE_MAX', bit: VIRTIO_BLK_F.SIZE_MAX },
  { name: 'VIRTIO_BLK_F_SEG_MAX', bit: VIRTIO_BLK_F.SEG_MAX },
  { name: 'VIRTIO_BLK_F_GEOMETRY', bit: VIRTIO_BLK_F.GEOMETRY },
  { name: 'VIRTIO_BLK_F_RO', bit: VIRTIO_BLK_F.RO },
  { name: 'VIRTIO_BLK_F_BLK_SIZE', bit: VIRTIO_BLK_F.BLK_SIZE },
  { name: 'VIRTIO_BLK_F_FLUSH', bit: VIRTIO_BLK_F.FLUSH },
  { name: 'VIRTIO_BLK_F_TOPOLOGY', bit: VIRTIO_BLK_F.TOPOLOGY },
  // 5.2.5.2: a device offering CONFIG_WCE MUST offer FLUSH — the one "requires"
  // dependency among the blk bits.
  {
    name: 'VIRTIO_BLK_F_CONFIG_WCE', bit: VIRTIO_BLK_F.CONFIG_WCE, requires: [['VIRTIO_BLK_F_FLUSH']],
    ref: 'Device Types / Block Device / Device Initialization',
  },
  { name: 'VIRTIO_BLK_F_MQ', bit: VIRTIO_BLK_F.MQ },
  { name: 'VIRTIO_BLK_F_DISCARD', bit: VIRTIO_BLK_F.DISCARD },
  { name: 'VIRTIO_BLK_F_WRITE_ZEROES', bit: VIRTIO_BLK_F.WRITE_ZEROES },
  { name: 'VIRTIO_BLK_F_LIFETIME', bit: VIRTIO_BLK_F.LIFETIME },
  { name: 'VIRTIO_BLK_F_SECURE_ERASE', bit: VIRTIO_BLK_F.SECURE_ERASE },
  { name: 'VIRTIO_BLK_F_ZONED', bit: VIRTIO_BLK_F.ZONED },
  { name: 'VIRTIO_BLK_F_BARRIER', bit: 0, legacy: true, ref: `${BLK} / Legacy Interface: Feature bits` },
  { name: 'VIRTIO_BLK_F_SCSI', bit: 7, legacy: true, ref: `${BLK} / Legacy Interface: Feature bits` },
].map((f) => ({ ref: BLK, ...f, device: 'blk' as const }));

/** Entropy device (5.4.3): no device-type bits. */
export const ENTROPY_FEATURES: readonly FeatureInfo[] = [];

/** Console device bits (5.3.3): no dependencies between them. */
export const CONSOLE_FEATURES: readonly FeatureInfo[] = [
  { name: 'VIRTIO_CONSOLE_F_SIZE', bit: VIRTIO_CONSOLE_F.SIZE },
  { name: 'VIRTIO_CONSOLE_F_MULTIPORT', bit: VIRTIO_CONSOLE_F.MULTIPORT },
  { name: 'VIRTIO_CONSOLE_F_EMERG_WRITE', bit: VIRTIO_CONSOLE_F.EMERG_WRITE },
].map((f) => ({ ref: 'Device Types / Console Device / Feature bits', ...f, device: 'console' as const }));

const NET = 'Device Types / Network Device / Feature bits';
const NET_REQ = `${NET} / Feature bit requirements`;
/** Network device bits (5.1.3) with the dependencies of 5.1.3.1 ("Requires …"). */
export const NET_FEATURES: readonly FeatureInfo[] = ([
  ['CSUM'], ['GUEST_CSUM'], ['CTRL_GUEST_OFFLOADS'], ['MTU'], ['MAC'],
  ['GUEST_TSO4', [['VIRTIO_NET_F_GUEST_CSUM']]], ['GUEST_TSO6', [['VIRTIO_NET_F_GUEST_CSUM']]],
  ['GUEST_ECN', [['VIRTIO_NET_F_GUEST_TSO4'], ['VIRTIO_NET_F_GUEST_TSO6']]], ['GUEST_UFO', [['VIRTIO_NET_F_GUEST_CSUM']]],
  ['HOST_TSO4', [['VIRTIO_NET_F_CSUM']]], ['HOST_TSO6', [['VIRTIO_NET_F_CSUM']]],
  ['HOST_ECN', [['VIRTIO_NET_F_HOST_TSO4'], ['VIRTIO_NET_F_HOST_TSO6']]], ['HOST_UFO', [['VIRTIO_NET_F_CSUM']]],
  ['MRG_RXBUF'], ['STATUS'], ['CTRL_VQ'], ['CTRL_RX', [['VIRTIO_NET_F_CTRL_VQ']]], ['CTRL_VLAN', [['VIRTIO_NET_F_CTRL_VQ']]],
  // No hard requirement: 5.1.4.1 says only that a device SHOULD NOT offer it without CTRL_VQ.
  ['CTRL_RX_EXTRA'], ['GUEST_ANNOUNCE', [['VIRTIO_NET_F_CTRL_VQ']]], ['MQ', [['VIRTIO_NET_F_CTRL_VQ']]],
  ['CTRL_MAC_ADDR', [['VIRTIO_NET_F_CTRL_VQ']]], ['DEVICE_STATS'],
  ['HASH_TUNNEL', [['VIRTIO_NET_F_CTRL_VQ', 'VIRTIO_NET_F_RSS'], ['VIRTIO_NET_F_CTRL_VQ', 'VIRTIO_NET_F_HASH_REPORT']]],
  ['VQ_NOTF_COAL', [['VIRTIO_NET_F_CTRL_VQ']]], ['NOTF_COAL', [['VIRTIO_NET_F_CTRL_VQ']]],
  ['GUEST_USO4', [['VIRTIO_NET_F_GUEST_CSUM']]], ['GUEST_USO6', [['VIRTIO_NET_F_GUEST_CSUM']]], ['HOST_USO', [['VIRTIO_NET_F_CSUM']]],
  ['HASH_REPORT'], ['GUEST_HDRLEN'], ['RSS', [['VIRTIO_NET_F_CTRL_VQ']]],
  ['RSC_EXT', [['VIRTIO_NET_F_HOST_TSO4'], ['VIRTIO_NET_F_HOST_TSO6']]], ['STANDBY'], ['SPEED_DUPLEX'],
  ['RSS_CONTEXT', [['VIRTIO_NET_F_CTRL_VQ', 'VIRTIO_NET_F_RSS']]],
  ['GUEST_UDP_TUNNEL_GSO', [['VIRTIO_NET_F_GUEST_TSO4', 'VIRTIO_NET_F_GUEST_TSO6', 'VIRTIO_NET_F_GUEST_USO4', 'VIRTIO_NET_F_GUEST_USO6']]],
  ['GUEST_UDP_TUNNEL_GSO_CSUM', [['VIRTIO_NET_F_GUEST_UDP_TUNNEL_GSO']]],
  ['HOST_UDP_TUNNEL_GSO', [['VIRTIO_NET_F_HOST_TSO4', 'VIRTIO_NET_F_HOST_TSO6', 'VIRTIO_NET_F_HOST_USO']]],
  ['HOST_UDP_TUNNEL_GSO_CSUM', [['VIRTIO_NET_F_HOST_UDP_TUNNEL_GSO']]], ['OUT_NET_HEADER'], ['IPSEC'],
] as Array<[keyof typeof VIRTIO_NET_F, string[][]?]>).map(([n, requires]): FeatureInfo => ({
  name: `VIRTIO_NET_F_${n}`, bit: VIRTIO_NET_F[n], device: 'net', ref: requires ? NET_REQ : NET, ...(requires ? { requires } : {}),
})).concat(([['GSO', 6], ['GUEST_RSC4', 41], ['GUEST_RSC6', 42]] as const).map(([n, b]): FeatureInfo => ({
  name: `VIRTIO_NET_F_${n}`, bit: b, device: 'net', legacy: true, ref: `${NET} / Legacy Interface: Feature bits`,
})));

const BY_DEVICE: Partial<Record<DeviceType, readonly FeatureInfo[]>> = { blk: BLK_FEATURES, entropy: ENTROPY_FEATURES, console: CONSOLE_FEATURES, net: NET_FEATURES };

/** The bits defined for `device` (device-type bits, then reserved bits). */
export function featureTable(device: DeviceType): FeatureInfo[] {
  return [...(BY_DEVICE[device] ?? []), ...RESERVED_FEATURES];
}

export function featureByName(device: DeviceType, name: string): FeatureInfo | undefined {
  return featureTable(device).find((f) => f.name === name);
}

/** Feature by bit for `device`; device-type bits win over reserved ones (bit 41 is both). */
export function featureByBit(device: DeviceType, n: number): FeatureInfo | undefined {
  return featureTable(device).find((f) => f.bit === n);
}

export const bit = (n: number): bigint => 1n << BigInt(n);
export const hasBit = (features: bigint, n: number): boolean => (features & bit(n)) !== 0n;

/** Bits set in a 64-bit-or-wider feature word, ascending. */
export function bitsOf(features: bigint): number[] {
  const out: number[] = [];
  for (let n = 0; features >> BigInt(n) !== 0n; n++) if (hasBit(features, n)) out.push(n);
  return out;
}

/** "VERSION_1|EVENT_IDX|bit 50" style rendering for FAIL messages. */
export function formatFeatures(device: DeviceType, features: bigint): string {
  const names = bitsOf(features).map((n) => featureByBit(device, n)?.name ?? `bit ${n}`);
  return `0x${features.toString(16)}${names.length ? ` (${names.join('|')})` : ''}`;
}

export interface MissingPrerequisite { feature: string; requires: string[][] }

/**
 * Features in `features` whose prerequisites (every alternative set) are not all in
 * `features` too. Used for "offered without prerequisite" and "accepted without
 * prerequisite" checks alike.
 */
export function missingPrerequisites(device: DeviceType, features: bigint): MissingPrerequisite[] {
  const out: MissingPrerequisite[] = [];
  for (const f of featureTable(device)) {
    if (!f.requires || !hasBit(features, f.bit)) continue;
    const ok = f.requires.some((set) => set.every((name) => {
      const p = featureByName(device, name);
      return p !== undefined && hasBit(features, p.bit);
    }));
    if (!ok) out.push({ feature: f.name, requires: f.requires });
  }
  return out;
}

/** Bits the spec does not define for `device` on `transport` (or legacy-only ones). */
export function undefinedBits(device: DeviceType, transport: Transport, features: bigint): number[] {
  return bitsOf(features).filter((n) => {
    const f = featureByBit(device, n);
    return !f || f.legacy === true || (f.transports !== undefined && !f.transports.includes(transport));
  });
}

/** Close `features` downward: drop every feature whose prerequisites are missing (to a fixpoint). */
export function dropUnsatisfied(device: DeviceType, features: bigint): bigint {
  let f = features;
  for (;;) {
    const missing = missingPrerequisites(device, f);
    if (missing.length === 0) return f;
    for (const m of missing) f &= ~bit(featureByName(device, m.feature)!.bit);
  }
}
