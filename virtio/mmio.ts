// Virtio over MMIO, version 2 register layout (spec 4.2.2). All registers 32-bit.
export const MMIO_MAGIC_VALUE = 0x74726976; // "virt"
export const MMIO_VERSION_MODERN = 2;
export const MMIO = {
  MagicValue: 0x000, Version: 0x004, DeviceID: 0x008, VendorID: 0x00c,
  DeviceFeatures: 0x010, DeviceFeaturesSel: 0x014,
  DriverFeatures: 0x020, DriverFeaturesSel: 0x024,
  QueueSel: 0x030, QueueSizeMax: 0x034, QueueSize: 0x038, QueueReady: 0x044,
  QueueNotify: 0x050, InterruptStatus: 0x060, InterruptACK: 0x064, Status: 0x070,
  QueueDescLow: 0x080, QueueDescHigh: 0x084, QueueDriverLow: 0x090, QueueDriverHigh: 0x094,
  QueueDeviceLow: 0x0a0, QueueDeviceHigh: 0x0a4,
  SHMSel: 0x0ac, SHMLenLow: 0x0b0, SHMLenHigh: 0x0b4, SHMBaseLow: 0x0b8, SHMBaseHigh: 0x0bc,
  QueueReset: 0x0c0, ConfigGeneration: 0x0fc, Config: 0x100,
} as const;
export type MmioRegister = keyof typeof MMIO;
/** InterruptStatus bits (4.2.2). */
export const MMIO_INT_VRING = 1, MMIO_INT_CONFIG = 2;
export const MMIO_WINDOW_SIZE = 0x200;
