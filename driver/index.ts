// The suite's driver: one import for scenarios and tests (see README.md).
export { openDriver, type OpenOptions } from './open.ts';
export {
  Driver, SUPPORTED_FEATURES, DEFAULT_QUEUE_SIZE, type InitOptions, type InitResult, type InitStep, type QueueOptions,
  type Virtqueue,
} from './driver.ts';
export type { Transport, QueueSetup } from './transport.ts';
export { PciTransport } from './pci-transport.ts';
export type { BarInfo, MsixCapInfo, PciCaps, VirtioPciCap } from './pci-caps.ts';
export { MmioTransport } from './mmio-transport.ts';
export { DriverError, DriverTimeoutError, TIMEOUT, waitFor, type WaitOptions } from './wait.ts';
export { CANARY_A, CANARY_B, countChanged, fillCanary, writtenExtent } from './canary.ts';
export { splitBuffer, splitBySizes } from './layout.ts';
export { entropyRequest, type EntropyRequestOptions, type EntropyResult } from './entropy.ts';
export {
  blkDiscard, blkFlush, blkGetId, blkIdString, blkRead, blkRequest, blkWrite, blkWriteZeroes, readBlkConfig,
  type BlkConfig, type BlkLayout, type BlkRequest, type BlkResult, type BlkSegment,
} from './blk.ts';
export {
  SplitRingDriver, UsedRingError, RingFullError, type AddOptions, type ChainInfo, type DescBuffer, type UsedElem,
} from '../virtio/split-ring-driver.ts';
