// Bus over qtest: PCI config space through the legacy 0xcf8/0xcfc mechanism (port I/O),
// MMIO through readb/w/l/q and writeb/w/l/q, interrupt lines from `irq_intercept_in`.
import type { Bus, PciAddress, Width } from '../types.ts';
import { hex, hexValue, type QtestClient } from './qtest.ts';
import { BarWindow } from '../bar-window.ts';

const PCI_CONFIG_ADDRESS = 0xcf8;
const PCI_CONFIG_DATA = 0xcfc;
/** Where allocMmio hands out BAR addresses (as libqos does): inside q35's PCI hole. */

const READ = { 1: 'readb', 2: 'readw', 4: 'readl' } as const;
const WRITE = { 1: 'writeb', 2: 'writew', 4: 'writel' } as const;
const IN = { 1: 'inb', 2: 'inw', 4: 'inl' } as const;
const OUT = { 1: 'outb', 2: 'outw', 4: 'outl' } as const;

export interface QtestBusOptions {
  timeoutScale: number;
  /**
   * Maps the line numbers the Bus exposes (GSIs) to the intercepted controller's input
   * pins: q35 intercepts the primary IOAPIC (GSI = pin); microvm intercepts the second
   * IOAPIC, whose pin p is GSI 24 + p.
   */
  gsiBase: number;
}

export class QtestBus implements Bus {
  private readonly bars = new BarWindow();

  constructor(private readonly qt: QtestClient, private readonly opts: QtestBusOptions) {}

  pciConfigRead(dev: PciAddress, offset: number, width: Width): Promise<number> {
    checkConfig(offset, width);
    // Both lines are written in this tick, so no other access can come between them.
    const sel = this.qt.request(`outl ${hex(PCI_CONFIG_ADDRESS)} ${hex(configAddress(dev, offset))}`);
    const data = this.qt.request(`${IN[width]} ${hex(PCI_CONFIG_DATA + (offset & 3))}`);
    // Promise.all, not sel.then(() => data): when the connection is lost both reject, and
    // a rejection nobody awaits would surface later as an unhandled one (in Cucumber: a
    // failure of whichever scenario runs next).
    return Promise.all([sel, data]).then(([, d]) => parseNum(d));
  }

  pciConfigWrite(dev: PciAddress, offset: number, width: Width, value: number): Promise<void> {
    checkConfig(offset, width);
    const sel = this.qt.request(`outl ${hex(PCI_CONFIG_ADDRESS)} ${hex(configAddress(dev, offset))}`);
    const data = this.qt.request(`${OUT[width]} ${hex(PCI_CONFIG_DATA + (offset & 3))} ${hexValue(value, width)}`);
    return Promise.all([sel, data]).then(() => undefined);
  }

  async read(addr: number, width: Width): Promise<number> {
    return parseNum(await this.qt.request(`${READ[width]} ${hex(addr)}`));
  }

  async write(addr: number, width: Width, value: number): Promise<void> {
    await this.qt.request(`${WRITE[width]} ${hex(addr)} ${hexValue(value, width)}`);
  }

  async read64(addr: number): Promise<bigint> {
    return BigInt(await this.qt.request(`readq ${hex(addr)}`));
  }

  async write64(addr: number, value: bigint): Promise<void> {
    await this.qt.request(`writeq ${hex(addr)} ${hexValue(value, 8)}`);
  }

  /** Forget every BAR address handed out (after a machine reset unassigned them). */
  resetAllocator(): void { this.bars.reset(); }

  allocMmio(size: number): number { return this.bars.alloc(size); }

  async irqLevel(line: number): Promise<boolean> {
    // A round trip first, so that every IRQ line QEMU sent before now has been read.
    await this.qt.request('endianness');
    return this.qt.irqLevel(line - this.opts.gsiBase);
  }

  async settle(): Promise<void> {
    await new Promise((r) => setTimeout(r, 20 * this.opts.timeoutScale));
    await this.qt.request('endianness');
  }
}

function configAddress(dev: PciAddress, offset: number): number {
  // Computed without bitwise OR so the result stays a positive number (bit 31 = enable).
  return 0x80000000 + dev.bus * 0x10000 + dev.device * 0x800 + dev.fn * 0x100 + (offset & 0xfc);
}

function checkConfig(offset: number, width: Width): void {
  // The legacy mechanism reaches the first 256 bytes only, and accesses must be aligned.
  if (!Number.isInteger(offset) || offset < 0 || offset + width > 0x100 || offset % width !== 0) {
    throw new RangeError(`PCI config access of ${width} byte(s) at ${offset} is out of range or unaligned`);
  }
}

function parseNum(reply: string): number {
  const n = Number(reply);
  if (!Number.isSafeInteger(n)) throw new Error(`qtest: not a number: '${reply}'`);
  return n;
}
