// The feature table: bit numbers and dependencies as the spec states them (ch. 6, 5.2.3,
// 5.2.5), and the checks built on it.
import { describe, expect, it } from 'vitest';
import {
  BLK_FEATURES, RESERVED_FEATURES, VIRTIO_BLK_F, VIRTIO_F, bit, bitsOf, dropUnsatisfied, featureByBit, featureByName,
  formatFeatures, missingPrerequisites, undefinedBits,
} from './features.ts';

describe('feature table', () => {
  it('names and bits agree with the VIRTIO_F / VIRTIO_BLK_F constants, no duplicates per device', () => {
    for (const [k, n] of Object.entries(VIRTIO_F)) expect(featureByName('blk', `VIRTIO_F_${k}`)?.bit).toBe(n);
    for (const [k, n] of Object.entries(VIRTIO_BLK_F)) expect(featureByName('blk', `VIRTIO_BLK_F_${k}`)?.bit).toBe(n);
    const bits = [...RESERVED_FEATURES, ...BLK_FEATURES].map((f) => f.bit);
    expect(new Set(RESERVED_FEATURES.map((f) => f.bit)).size).toBe(RESERVED_FEATURES.length);
    expect(new Set(BLK_FEATURES.map((f) => f.bit)).size).toBe(BLK_FEATURES.length);
    expect(bits.every((b) => Number.isInteger(b) && b >= 0 && b < 64)).toBe(true);
    expect(featureByName('entropy', 'VIRTIO_BLK_F_RO')).toBeUndefined();
  });

  it('every "requires" names a feature of the same device', () => {
    for (const dev of ['blk', 'entropy'] as const) {
      for (const f of [...RESERVED_FEATURES, ...(dev === 'blk' ? BLK_FEATURES : [])]) {
        for (const set of f.requires ?? []) for (const n of set) expect(featureByName(dev, n), `${f.name} requires ${n}`).toBeDefined();
      }
    }
  });

  it('CONFIG_WCE without FLUSH is a missing prerequisite; with FLUSH it is not', () => {
    const wce = bit(VIRTIO_BLK_F.CONFIG_WCE), flush = bit(VIRTIO_BLK_F.FLUSH), v1 = bit(VIRTIO_F.VERSION_1);
    expect(missingPrerequisites('blk', wce | v1)).toEqual([{ feature: 'VIRTIO_BLK_F_CONFIG_WCE', requires: [['VIRTIO_BLK_F_FLUSH']] }]);
    expect(missingPrerequisites('blk', wce | flush | v1)).toEqual([]);
    expect(dropUnsatisfied('blk', wce | v1)).toBe(v1);
    expect(dropUnsatisfied('blk', wce | flush | v1)).toBe(wce | flush | v1);
  });

  it('undefined bits: unknown, legacy-only, and transport-limited ones', () => {
    const f = bit(VIRTIO_F.VERSION_1) | bit(50) | bit(27) | bit(VIRTIO_F.SR_IOV) | bit(VIRTIO_F.ADMIN_VQ);
    expect(undefinedBits('entropy', 'mmio', f)).toEqual([27, 37, 41, 50]);
    expect(undefinedBits('entropy', 'pci', f)).toEqual([27, 50]);
    expect(undefinedBits('blk', 'pci', bit(VIRTIO_BLK_F.RO))).toEqual([]);
    expect(undefinedBits('entropy', 'pci', bit(VIRTIO_BLK_F.RO))).toEqual([5]);
  });

  it('bitsOf and formatFeatures', () => {
    expect(bitsOf(bit(0) | bit(32) | bit(63))).toEqual([0, 32, 63]);
    expect(featureByBit('blk', 9)?.name).toBe('VIRTIO_BLK_F_FLUSH');
    expect(formatFeatures('blk', bit(9) | bit(32) | bit(50))).toBe('0x4000100000200 (VIRTIO_BLK_F_FLUSH|VIRTIO_F_VERSION_1|bit 50)');
  });
});
