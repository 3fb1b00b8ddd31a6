// virtio-mmio version 2 transport (spec 4.2) over a Bus: every register is 32 bits wide
// at base + offset; the device configuration space starts at 0x100.
import type { Bus } from '../adapters/types.ts';
import { MMIO, MMIO_INT_CONFIG, MMIO_INT_VRING, type MmioRegister } from '../virtio/mmio.ts';
import type { QueueSetup, Transport } from './transport.ts';
import { TIMEOUT, waitFor } from './wait.ts';

export interface MmioTransportOptions { timeoutScale: number }

export class MmioTransport implements Transport {
  readonly kind = 'mmio' as const;
  private queueNotes = 0;
  private configNotes = 0;

  constructor(readonly bus: Bus, readonly base: number, private readonly opts: MmioTransportOptions) {}

  // --- raw registers (scenarios read MagicValue, Version, InterruptStatus … directly) ---
  readReg(r: MmioRegister): Promise<number> { return this.bus.read(this.base + MMIO[r], 4); }
  writeReg(r: MmioRegister, v: number): Promise<void> { return this.bus.write(this.base + MMIO[r], 4, v >>> 0); }

  /** Read InterruptStatus, count its bits as notifications, and acknowledge them. */
  async pollInterrupts(): Promise<number> {
    const s = await this.readReg('InterruptStatus');
    if (s & MMIO_INT_VRING) this.queueNotes++;
    if (s & MMIO_INT_CONFIG) this.configNotes++;
    if (s) await this.writeReg('InterruptACK', s);
    return s;
  }

  // --- Transport ---
  deviceId(): Promise<number> { return this.readReg('DeviceID'); }

  async readDeviceFeatures(): Promise<bigint> {
    let f = 0n;
    for (let w = 0; w < 2; w++) {
      await this.writeReg('DeviceFeaturesSel', w);
      f |= BigInt(await this.readReg('DeviceFeatures')) << BigInt(32 * w);
    }
    return f;
  }

  async writeDriverFeatures(features: bigint): Promise<void> {
    for (let w = 0; w < 2; w++) {
      await this.writeReg('DriverFeaturesSel', w);
      await this.writeReg('DriverFeatures', Number((features >> BigInt(32 * w)) & 0xffffffffn));
    }
  }

  getStatus(): Promise<number> { return this.readReg('Status'); }
  setStatus(status: number): Promise<void> { return this.writeReg('Status', status); }

  async reset(): Promise<void> {
    await this.setStatus(0);
    await waitFor(async () => ((await this.getStatus()) === 0 ? true : undefined), {
      timeoutMs: TIMEOUT.reset * this.opts.timeoutScale, what: 'Status to read back 0 after reset',
    });
  }

  /** MMIO has no queue count register: count QueueSizeMax != 0 from queue 0 up (bounded). */
  async numQueues(): Promise<number> {
    let n = 0;
    while (n < 64 && (await this.queueMaxSize(n)) !== 0) n++;
    return n;
  }

  async queueMaxSize(q: number): Promise<number> {
    await this.writeReg('QueueSel', q);
    return this.readReg('QueueSizeMax');
  }

  async setupQueue(q: number, s: QueueSetup): Promise<void> {
    await this.writeReg('QueueSel', q);
    await this.writeReg('QueueSize', s.size);
    await this.write64('QueueDescLow', 'QueueDescHigh', s.desc);
    await this.write64('QueueDriverLow', 'QueueDriverHigh', s.driver);
    await this.write64('QueueDeviceLow', 'QueueDeviceHigh', s.device);
    await this.writeReg('QueueReady', 1);
  }

  private async write64(lo: MmioRegister, hi: MmioRegister, v: number): Promise<void> {
    await this.writeReg(lo, v >>> 0);
    await this.writeReg(hi, Math.floor(v / 2 ** 32));
  }

  async queueEnabled(q: number): Promise<boolean> {
    await this.writeReg('QueueSel', q);
    return (await this.readReg('QueueReady')) !== 0;
  }

  async resetQueue(q: number): Promise<void> {
    await this.writeReg('QueueSel', q);
    await this.writeReg('QueueReset', 1);
    await waitFor(async () => ((await this.queueResetState(q)) === 0 ? true : undefined), {
      timeoutMs: TIMEOUT.reset * this.opts.timeoutScale, what: `QueueReset of queue ${q} to read back 0`,
    });
  }

  async queueResetState(q: number): Promise<number> {
    await this.writeReg('QueueSel', q);
    return this.readReg('QueueReset');
  }

  notify(q: number): Promise<void> { return this.writeReg('QueueNotify', q); }

  readConfig(offset: number, width: 1 | 2 | 4): Promise<number> { return this.bus.read(this.base + MMIO.Config + offset, width); }
  writeConfig(offset: number, width: 1 | 2 | 4, value: number): Promise<void> { return this.bus.write(this.base + MMIO.Config + offset, width, value); }
  configGeneration(): Promise<number> { return this.readReg('ConfigGeneration'); }

  /** InterruptStatus has one "used buffer" bit for all queues: every queue sees it. */
  async takeNotifications(_q: number): Promise<number> {
    await this.pollInterrupts();
    const n = this.queueNotes;
    this.queueNotes = 0;
    return n;
  }

  async takeConfigNotifications(): Promise<number> {
    await this.pollInterrupts();
    const n = this.configNotes;
    this.configNotes = 0;
    return n;
  }
}
