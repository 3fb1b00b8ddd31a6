// Virtio device IDs (spec 5, "Device Types").
export const DEVICE_ID = {
  net: 1, blk: 2, console: 3, entropy: 4, balloon: 5, scsi: 8, gpu: 16, input: 18,
  vsock: 19, crypto: 20, iommu: 23, mem: 24, fs: 26,
} as const;
export type DeviceType = keyof typeof DEVICE_ID;
