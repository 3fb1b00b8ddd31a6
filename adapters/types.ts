// What every adapter provides to the suite's driver (see ARCHITECTURE.md "Core
// abstractions"). All operations are async: the same driver code runs in-process
// (reference emulator) and over a socket (QEMU qtest, vhost-user).

import type { WireOffload } from '../virtio/net.ts';

export type Width = 1 | 2 | 4;

/** A PCI function address on the bus. */
export interface PciAddress { bus: number; device: number; fn: number }

/**
 * Register-level access: PCI config space and MMIO/BAR space.
 * Values of width 1/2/4 are plain numbers (unsigned); 8-byte accesses use bigint.
 */
export interface Bus {
  pciConfigRead(dev: PciAddress, offset: number, width: Width): Promise<number>;
  pciConfigWrite(dev: PciAddress, offset: number, width: Width, value: number): Promise<void>;
  read(addr: number, width: Width): Promise<number>;
  write(addr: number, width: Width, value: number): Promise<void>;
  read64(addr: number): Promise<bigint>;
  write64(addr: number, value: bigint): Promise<void>;
  /** Assign an address for a BAR of `size` bytes (from the adapter's own MMIO window). */
  allocMmio(size: number): number;
  /** Current level of INTx/MMIO interrupt line `line` (true = asserted). */
  irqLevel(line: number): Promise<boolean>;
  /**
   * Give the target a chance to finish whatever it was asked to do, and return when it
   * has (reference: at once) or when the observation window has passed (real targets).
   * Used before asserting that something did NOT happen.
   */
  settle(): Promise<void>;
}

/** Guest-physical memory, bounds-checked, with a simple allocator. */
export interface GuestMemory {
  read(addr: number, len: number): Promise<Uint8Array>;
  write(addr: number, data: Uint8Array): Promise<void>;
  /** Allocate `size` bytes aligned to `align` (power of 2); memory is zero-filled. */
  alloc(size: number, align?: number): Promise<number>;
  /** Release every allocation (between scenarios). */
  resetAllocator(): Promise<void>;
}

/** Where a virtio device sits, as the adapter found it. */
export type DeviceLocation =
  | { transport: 'pci'; address: PciAddress; irqLine: number }
  | { transport: 'mmio'; base: number; irqLine: number };

/** A started target: one device reachable through a Bus and GuestMemory. */
export interface Target {
  readonly description: string;
  readonly bus: Bus;
  readonly mem: GuestMemory;
  readonly location: DeviceLocation;
  /** Multiply every wait by this factor (--timeout-scale). */
  readonly timeoutScale: number;
  /** Network devices: the other end of the link, which the suite owns. */
  readonly wire?: NetWire;
  /** Console devices: the host end of the ports, which the suite owns. */
  readonly console?: ConsoleHostSide;
  close(): Promise<void>;
}

/**
 * The host side of a console device (reference: in-process; QEMU: chardev sockets the
 * suite owns). Port numbers are the device's (0 = the first port).
 */
export interface ConsoleHostSide {
  /** Send bytes toward the driver on `port`. */
  inject(port: number, data: Uint8Array): Promise<void>;
  /** Bytes the driver sent on `port` since the last call (what has arrived so far). */
  received(port: number): Uint8Array;
  /** Bytes written through emerg_wr since the last call (empty where the target cannot show them). */
  emergency(): Uint8Array;
  /** Hot-unplug `port`, where the target can. */
  unplug?(port: number): Promise<void>;
  /** Hot-plug `port` again after an unplug, where the target can. */
  plug?(port: number): Promise<void>;
  /** Change the console size (cols/rows, a configuration change), where the target can. */
  resize?(cols: number, rows: number): Promise<void>;
}

/**
 * The wire of a network device (reference: in-process; QEMU: a datagram socket the suite
 * owns): frames toward the driver, frames the driver sent, and the link state.
 */
export interface NetWire {
  /** A frame arrives from the network (the device filters, steers and delivers it). */
  inject(frame: Uint8Array): Promise<void>;
  /**
   * A frame arrives with host offload metadata (a partial checksum, a TCP packet to segment),
   * as a backend with a vnet header hands it over; only where the target can carry it (a
   * target that cannot lacks the method, so nothing is silently lost).
   */
  injectOffloaded?(frame: Uint8Array, offload: WireOffload): Promise<void>;
  /** Frames the driver transmitted since the last call (what has arrived so far). */
  sent(): Uint8Array[];
  /** Link up or down (VIRTIO_NET_S_LINK_UP), where the target can change it. */
  setLink?(up: boolean): Promise<void>;
  /** Ask the driver to announce itself (VIRTIO_NET_S_ANNOUNCE, GUEST_ANNOUNCE), where the target can. */
  announce?(): Promise<void>;
}
