// Addresses for PCI BARs: no firmware assigns them on any target, so the suite hands
// them out itself, from one window for every target so a device sits at the same place on
// each. Where BAR addresses are handed out (as libqos does): inside q35's PCI hole.
export const MMIO_ALLOC_BASE = 0xe0000000;
const MMIO_ALLOC_LIMIT = 0xfe000000;

export class BarWindow {
  private next = MMIO_ALLOC_BASE;

  /** A naturally aligned address for a BAR of `size` bytes (a power of two). */
  alloc(size: number): number {
    if (!Number.isInteger(size) || size <= 0 || (size & (size - 1)) !== 0) {
      throw new RangeError(`allocMmio: BAR size must be a power of two, got ${size}`);
    }
    const base = Math.ceil(this.next / size) * size;
    if (base + size > MMIO_ALLOC_LIMIT) throw new RangeError(`allocMmio: window exhausted (size ${size})`);
    this.next = base + size;
    return base;
  }

  /** Forget every address handed out. */
  reset(): void { this.next = MMIO_ALLOC_BASE; }
}
