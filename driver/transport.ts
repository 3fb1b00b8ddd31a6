// Transport: what a virtio driver needs from any transport (spec 4), independent of
// the wire. Implemented by driver/pci-transport.ts and driver/mmio-transport.ts over
// a Bus, later by the vhost-user adapter over messages.

export interface QueueSetup {
  size: number;
  desc: number;   // guest-physical address of the descriptor area
  driver: number; // driver area (avail ring)
  device: number; // device area (used ring)
  /** PCI only: MSI-X vector for this queue (default VIRTIO_MSI_NO_VECTOR). */
  msixVector?: number;
}

export interface Transport {
  readonly kind: 'pci' | 'mmio' | 'vhost-user';
  /** Virtio device ID as the transport reports it. */
  deviceId(): Promise<number>;
  readDeviceFeatures(): Promise<bigint>;
  writeDriverFeatures(features: bigint): Promise<void>;
  getStatus(): Promise<number>;
  setStatus(status: number): Promise<void>;
  /** Write 0 to the status and wait (with timeout) until the device reads back 0. */
  reset(): Promise<void>;
  numQueues(): Promise<number>;
  /** Maximum queue size the device offers for queue `q` (0 = queue not available). */
  queueMaxSize(q: number): Promise<number>;
  /** Program addresses and size for queue `q`, then enable it (queue_enable / QueueReady). */
  setupQueue(q: number, setup: QueueSetup): Promise<void>;
  queueEnabled(q: number): Promise<boolean>;
  /**
   * Reset queue `q` (2.6.1, VIRTIO_F_RING_RESET): write 1 to queue_reset / QueueReset and
   * wait (with timeout) until it reads back 0 (reset complete). Absent where the transport cannot express it.
   */
  resetQueue?(q: number): Promise<void>;
  /** queue_reset / QueueReset of queue `q` as read now. */
  queueResetState?(q: number): Promise<number>;
  /** Send an available-buffer notification for queue `q`. */
  notify(q: number): Promise<void>;
  readConfig(offset: number, width: 1 | 2 | 4): Promise<number>;
  writeConfig(offset: number, width: 1 | 2 | 4, value: number): Promise<void>;
  configGeneration(): Promise<number>;
  /**
   * Used-buffer notifications observed for queue `q` since the last call (and clears
   * the count). PCI: ISR/INTx or the queue's MSI-X message; MMIO: InterruptStatus.
   */
  takeNotifications(q: number): Promise<number>;
  /** Config-change notifications observed since the last call (and clears the count). */
  takeConfigNotifications(): Promise<number>;
}
