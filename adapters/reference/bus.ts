// Bus of the reference target: PCI config space of the one function at its address,
// BAR and MMIO-window accesses routed to the emulator, RAM reachable as on a real
// machine, interrupt lines from the emulator's INTx / MMIO interrupt state. Devices
// work synchronously on each access, so settle() has nothing to wait for.
import type { Bus, PciAddress, Width } from '../types.ts';
import type { MmioWindow } from '../../emulator/mmio.ts';
import type { PciFunction } from '../../emulator/pci.ts';
import type { GuestRam } from '../../emulator/ram.ts';
import { BarWindow } from '../bar-window.ts';

/** Where allocMmio hands out BAR addresses: inside the PCI hole, as the QEMU adapter does. */

export interface ReferenceBusParts {
  ram: GuestRam;
  pci?: { address: PciAddress; fn: PciFunction; irqLine: number };
  mmio?: { window: MmioWindow; irqLine: number };
}

const ONES = { 1: 0xff, 2: 0xffff, 4: 0xffffffff } as const;

export class ReferenceBus implements Bus {
  private readonly bars = new BarWindow();

  constructor(private readonly p: ReferenceBusParts) {}

  private fnAt(dev: PciAddress): PciFunction | undefined {
    const a = this.p.pci?.address;
    return a && a.bus === dev.bus && a.device === dev.device && a.fn === dev.fn ? this.p.pci!.fn : undefined;
  }

  async pciConfigRead(dev: PciAddress, offset: number, width: Width): Promise<number> {
    checkConfig(offset, width);
    const fn = this.fnAt(dev);
    // No function there: the read completes with all ones (vendor ID 0xffff).
    return fn ? fn.configRead(offset, width) : ONES[width];
  }

  async pciConfigWrite(dev: PciAddress, offset: number, width: Width, value: number): Promise<void> {
    checkConfig(offset, width);
    await this.fnAt(dev)?.configWrite(offset, width, value);
  }

  async read(addr: number, width: Width): Promise<number> {
    const { ram, pci, mmio } = this.p;
    if (mmio?.window.contains(addr, width)) return mmio.window.read(addr, width);
    const hit = pci?.fn.decode(addr, width);
    if (hit) return pci!.fn.barRead(hit.bar, hit.offset, width);
    if (ram.contains(addr, width)) return le(ram.readSync(addr, width));
    return ONES[width];
  }

  async write(addr: number, width: Width, value: number): Promise<void> {
    const { ram, pci, mmio } = this.p;
    if (mmio?.window.contains(addr, width)) { await mmio.window.write(addr, width, value); return; }
    const hit = pci?.fn.decode(addr, width);
    if (hit) { await pci!.fn.barWrite(hit.bar, hit.offset, width, value); return; }
    if (ram.contains(addr, width)) ram.writeSync(addr, toLe(value, width));
  }

  async read64(addr: number): Promise<bigint> {
    const hit = this.p.pci?.fn.decode(addr, 8);
    if (hit) return this.p.pci!.fn.read64(hit.bar, hit.offset);
    const lo = await this.read(addr, 4);
    const hi = await this.read(addr + 4, 4);
    return (BigInt(hi) << 32n) | BigInt(lo);
  }

  async write64(addr: number, value: bigint): Promise<void> {
    const hit = this.p.pci?.fn.decode(addr, 8);
    if (hit) { await this.p.pci!.fn.write64(hit.bar, hit.offset, value); return; }
    await this.write(addr, 4, Number(value & 0xffffffffn));
    await this.write(addr + 4, 4, Number((value >> 32n) & 0xffffffffn));
  }

  allocMmio(size: number): number { return this.bars.alloc(size); }

  async irqLevel(line: number): Promise<boolean> {
    const { pci, mmio } = this.p;
    if (pci && line === pci.irqLine) return pci.fn.intxAsserted();
    if (mmio && line === mmio.irqLine) return mmio.window.lineAsserted();
    return false;
  }

  async settle(): Promise<void> {}
}

function le(b: Uint8Array): number {
  let v = 0;
  for (let i = b.length - 1; i >= 0; i--) v = v * 256 + b[i];
  return v;
}

function toLe(value: number, width: number): Uint8Array {
  const b = new Uint8Array(width);
  for (let i = 0; i < width; i++) b[i] = Math.floor(value / 256 ** i) & 0xff;
  return b;
}

function checkConfig(offset: number, width: Width): void {
  // Same limits as the QEMU adapter's legacy mechanism: first 256 bytes, aligned.
  if (!Number.isInteger(offset) || offset < 0 || offset + width > 0x100 || offset % width !== 0) {
    throw new RangeError(`PCI config access of ${width} byte(s) at ${offset} is out of range or unaligned`);
  }
}
