// The suite's driver: one import for scenarios and tests (see README.md).
export { openDriver, type OpenOptions } from './open.ts';
export {
  Driver, RingNotOfferedError, SUPPORTED_FEATURES, DEFAULT_QUEUE_SIZE, type InitOptions, type InitResult, type InitStep,
  type QueueOptions,
} from './driver.ts';
export { addBuffers, isPacked, ringLayout, type AnyUsedElem, type RingLayout, type Virtqueue } from './ring.ts';
export type { Transport, QueueSetup } from './transport.ts';
export { PciTransport } from './pci-transport.ts';
export type { BarInfo, MsixCapInfo, PciCaps, VirtioPciCap } from './pci-caps.ts';
export { MmioTransport } from './mmio-transport.ts';
export { DriverError, DriverTimeoutError, TIMEOUT, waitFor, type WaitOptions } from './wait.ts';
export { CANARY_A, CANARY_B, countChanged, fillCanary, writtenExtent } from './canary.ts';
export { splitBuffer, splitBySizes } from './layout.ts';
export { entropyRequest, type EntropyRequestOptions, type EntropyResult } from './entropy.ts';
export {
  ConsoleDriver, consoleFeatures, readConsoleConfig, writeEmergency, type ConsoleConfig, type ConsoleOpenOptions,
  type ConsoleReceived, type ConsoleSent, type PendingSend,
} from './console.ts';
export {
  blkDiscard, blkFlush, blkGetId, blkIdString, blkRead, blkRequest, blkWrite, blkWriteZeroes, readBlkConfig,
  type BlkConfig, type BlkLayout, type BlkRequest, type BlkResult, type BlkSegment,
} from './blk.ts';
export {
  SplitRingDriver, UsedRingError, RingFullError, USED_LEN_CLAUSE, type AddOptions, type ChainInfo, type ClauseBreach,
  type DescBuffer, type UsedElem,
} from '../virtio/split-ring-driver.ts';
export {
  PackedRingDriver, PackedUsedError, PACKED_ERROR_CLAUSE, allocatePackedParts, type PackedAddOptions, type PackedChainInfo,
  type PackedParts, type PackedRingOptions, type PackedUsedElem, type PackedUsedErrorKind, type RingDriver, type RingUsedElem,
} from '../virtio/packed-ring-driver.ts';
export {
  RING_EVENT_FLAGS_DESC, RING_EVENT_FLAGS_DISABLE, RING_EVENT_FLAGS_ENABLE, VIRTQ_DESC_F_AVAIL, VIRTQ_DESC_F_USED,
  type EventSuppress, type PackedDesc, type RingPos,
} from '../virtio/packed-ring.ts';
export {
  ctrlCommand, netReady, postRxBuffers, readNetConfig, readRxPacket, sendFrame, takeUsed,
  type CtrlResult, type NetConfig, type NetQueues, type RxBuffer, type RxPacket,
} from './net.ts';
export {
  REQUEST_QUEUE, isTransmitDevice, smallestRequest, transmitBytes, transmitRequest, type RequestDevice, type TransmitResult,
} from './requests.ts';
