// Feature bits (spec 2.2 and chapter 6 "Reserved Feature Bits") and the device-type
// bits used by the suite. A FeatureInfo carries the bits it requires (the spec's
// "Requires …" / dependency statements), which both sides check.
import type { DeviceType } from './ids.ts';

export interface FeatureInfo {
  name: string;
  bit: number;
  /** Each inner array is an alternative set; the feature needs ALL bits of ONE set. */
  requires?: string[][];
  /** Which device types define the bit; absent for transport/reserved bits. */
  device?: DeviceType;
}

export const VIRTIO_F = {
  INDIRECT_DESC: 28, EVENT_IDX: 29, VERSION_1: 32, ACCESS_PLATFORM: 33, RING_PACKED: 34,
  IN_ORDER: 35, ORDER_PLATFORM: 36, SR_IOV: 37, NOTIFICATION_DATA: 38, NOTIF_CONFIG_DATA: 39,
  RING_RESET: 40, ADMIN_VQ: 41, SUSPEND: 43,
} as const;

export const bit = (n: number): bigint => 1n << BigInt(n);
export const hasBit = (features: bigint, n: number): boolean => (features & bit(n)) !== 0n;
