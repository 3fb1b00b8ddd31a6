// A virtio-mmio version 2 window (spec 4.2) hosting a VirtioDevice. Control registers
// are 32-bit; the device configuration from 0x100 takes any width. The interrupt line
// is asserted while InterruptStatus is non-zero.
import { MMIO, MMIO_INT_CONFIG, MMIO_INT_VRING, MMIO_MAGIC_VALUE, MMIO_VERSION_MODERN, MMIO_WINDOW_SIZE } from '../virtio/mmio.ts';
import { PCI_VENDOR_ID_VIRTIO } from '../virtio/pci.ts';
import type { InterruptSink, VirtioDevice } from './device.ts';

export class MmioWindow implements InterruptSink {
  interruptStatus = 0;
  private deviceFeaturesSel = 0;
  private driverFeaturesSel = 0;
  private queueSel = 0;
  private shmSel = 0;

  constructor(readonly dev: VirtioDevice, readonly base: number) {
    dev.irq = this;
  }

  contains(addr: number, width: number): boolean {
    return addr >= this.base && addr + width <= this.base + MMIO_WINDOW_SIZE;
  }

  lineAsserted(): boolean { return this.interruptStatus !== 0; }

  queue(): void { this.interruptStatus |= MMIO_INT_VRING; }
  config(): void { this.interruptStatus |= MMIO_INT_CONFIG; }
  reset(): void {
    if (!this.dev.defects.on('mmio-reset-keeps-interrupt')) this.interruptStatus = 0;
  }

  async read(addr: number, width: number): Promise<number> {
    const off = addr - this.base;
    const d = this.dev;
    if (off >= MMIO.Config) return d.readConfig(off - MMIO.Config, width);
    if (width !== 4 || off % 4 !== 0) return 0;
    const q = d.queues[this.queueSel];
    switch (off) {
      case MMIO.MagicValue: return d.defects.on('bad-magic') ? 0x76697274 : MMIO_MAGIC_VALUE;
      case MMIO.Version: return d.defects.on('mmio-version-1') ? 1 : MMIO_VERSION_MODERN;
      case MMIO.DeviceID: return d.model.deviceId;
      case MMIO.VendorID: return PCI_VENDOR_ID_VIRTIO;
      case MMIO.DeviceFeatures: return d.deviceFeatureWindow(this.deviceFeaturesSel);
      case MMIO.QueueSizeMax: return q ? q.maxSize : 0;
      case MMIO.QueueReady: return q && q.enabled ? 1 : 0;
      case MMIO.InterruptStatus: return this.interruptStatus;
      case MMIO.Status: return d.readStatus();
      // No shared memory regions: length all ones means "no such region" (4.2.2).
      case MMIO.SHMLenLow: case MMIO.SHMLenHigh: case MMIO.SHMBaseLow: case MMIO.SHMBaseHigh: return 0xffffffff;
      case MMIO.QueueReset: return 0; // a queue reset completes at once (resetQueue)
      case MMIO.ConfigGeneration: return d.configGeneration;
      default: return 0;
    }
  }

  async write(addr: number, width: number, value: number): Promise<void> {
    const off = addr - this.base;
    const d = this.dev;
    if (off >= MMIO.Config) { d.writeConfig(off - MMIO.Config, width, value); return; }
    if (width !== 4 || off % 4 !== 0) return;
    value >>>= 0;
    const q = d.queues[this.queueSel];
    const setAddr = (f: 'desc' | 'driver' | 'device', high: boolean) => {
      if (!q || q.enabled) return;
      q[f] = high ? (q[f] % 2 ** 32) + value * 2 ** 32 : Math.floor(q[f] / 2 ** 32) * 2 ** 32 + value;
    };
    switch (off) {
      case MMIO.DeviceFeaturesSel: this.deviceFeaturesSel = value; return;
      case MMIO.DriverFeatures: d.writeDriverFeatureWindow(this.driverFeaturesSel, value); return;
      case MMIO.DriverFeaturesSel: this.driverFeaturesSel = value; return;
      case MMIO.QueueSel: this.queueSel = value; return;
      case MMIO.QueueSize: if (q && !q.enabled) q.size = value; return;
      case MMIO.QueueReady:
        if (!q) return;
        if (value === 1) d.enableQueue(this.queueSel);
        else q.enabled = false;
        return;
      case MMIO.QueueReset: if (value === 1) d.resetQueue(this.queueSel); return;
      case MMIO.QueueNotify: await d.notify(value & 0xffff); return;
      case MMIO.InterruptACK: this.interruptStatus &= ~value; return;
      case MMIO.Status: d.writeStatus(value); return;
      case MMIO.QueueDescLow: setAddr('desc', false); return;
      case MMIO.QueueDescHigh: setAddr('desc', true); return;
      case MMIO.QueueDriverLow: setAddr('driver', false); return;
      case MMIO.QueueDriverHigh: setAddr('driver', true); return;
      case MMIO.QueueDeviceLow: setAddr('device', false); return;
      case MMIO.QueueDeviceHigh: setAddr('device', true); return;
      case MMIO.SHMSel: this.shmSel = value; return;
      default: return;
    }
  }
}
