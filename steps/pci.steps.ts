// virtio over PCI (4.1): configuration header, capability list, common configuration,
// ISR status and MSI-X vector mapping. Raw register access goes through the driver's
// PciTransport (commonRead/commonWrite, readIsr, caps), never around it.
import { Given, Then, When } from '@cucumber/cucumber';
import type { CtsWorld } from './support/world.ts';
import { inconclusive } from './support/assert.ts';
import { S, drv, expect, hex, initialize, probeBuffers, requestQueue, settle, usedWaitMs, vq } from './common.steps.ts';
import { addBuffers, openDriver, type Driver } from '../driver/index.ts';
import type { PciTransport } from '../driver/pci-transport.ts';
import { DEVICE_ID } from '../virtio/ids.ts';
import {
  ISR_CONFIG, ISR_QUEUE, PCI_DEVICE_ID_BASE, PCI_VENDOR_ID_VIRTIO, VIRTIO_MSI_NO_VECTOR, VIRTIO_PCI_CAP_COMMON_CFG,
  VIRTIO_PCI_CAP_ISR_CFG, VIRTIO_PCI_CAP_NOTIFY_CFG,
} from '../virtio/pci.ts';

// Transitional PCI device IDs (4.1.2.1) of the device types the suite drives.
const TRANSITIONAL_ID: Record<string, number> = { blk: 0x1001, entropy: 0x1005 };
const CAP_TYPES: Record<string, number> = { common: VIRTIO_PCI_CAP_COMMON_CFG, notify: VIRTIO_PCI_CAP_NOTIFY_CFG, isr: VIRTIO_PCI_CAP_ISR_CFG };

function pci(d: Driver): PciTransport {
  if (!d.pci) throw new Error('not a PCI device');
  return d.pci;
}

When('the driver reads the PCI configuration header', async function (this: CtsWorld) {
  const p = pci(await drv(this));
  S(this).seen.header = { vendor: await p.vendorId(), device: await p.pciDeviceId() };
});

Then('the PCI vendor ID is 0x1AF4', function (this: CtsWorld) {
  const { vendor } = S(this).seen.header as { vendor: number };
  expect(this, vendor === PCI_VENDOR_ID_VIRTIO, `vendor ID ${hex(PCI_VENDOR_ID_VIRTIO)}`, `vendor ID ${hex(vendor)}`);
});

Then('the PCI device ID matches the virtio device type', function (this: CtsWorld) {
  const { device } = S(this).seen.header as { device: number };
  const modern = PCI_DEVICE_ID_BASE + DEVICE_ID[this.params.device];
  const transitional = TRANSITIONAL_ID[this.params.device];
  expect(this, device === modern || device === transitional,
    `device ID ${hex(modern)} (or transitional ${hex(transitional ?? 0)}) for ${this.params.device}`, `device ID ${hex(device)}`);
});

When('the driver walks the PCI capability list', async function (this: CtsWorld) {
  const p = pci(await drv(this));
  S(this).seen.caps = p.caps.virtio;
  await this.evidence('virtio capabilities', p.caps.virtio);
});

Then('there is at least one {string} virtio capability', function (this: CtsWorld, kind: string) {
  const t = CAP_TYPES[kind];
  if (t === undefined) throw new Error(`unknown capability kind ${kind}`);
  const caps = S(this).seen.caps as PciTransport['caps']['virtio'];
  expect(this, caps.some((c) => c.cfg_type === t), `a capability with cfg_type ${t} (${kind})`,
    `cfg_types ${caps.map((c) => c.cfg_type).join(', ') || 'none'}`);
});

Then('notify_off_multiplier is 0 or an even power of 2', function (this: CtsWorld) {
  const caps = (S(this).seen.caps as PciTransport['caps']['virtio']).filter((c) => c.cfg_type === VIRTIO_PCI_CAP_NOTIFY_CFG);
  if (!caps.length) inconclusive('no notification capability');
  // "Even power of 2": 2^k with k ≥ 1 (the notify address is 2-byte aligned), or 0.
  const ok = (m: number): boolean => m === 0 || (m >= 2 && (m & (m - 1)) === 0);
  const ms = caps.map((c) => c.notify_off_multiplier ?? NaN);
  expect(this, ms.every(ok), 'notify_off_multiplier 0 or an even power of 2', `notify_off_multiplier ${ms.join(', ')}`);
});

// ---- common configuration ------------------------------------------------------------

When('the driver reads device_feature for device_feature_select 0 to 3', async function (this: CtsWorld) {
  const p = pci(await drv(this));
  const w: number[] = [];
  for (let i = 0; i < 4; i++) { await p.commonWrite('device_feature_select', i); w.push(await p.commonRead('device_feature')); }
  S(this).seen.windows = w;
});

Then('windows 0 and 1 differ from each other or are both 0, and windows 2 and 3 read 0', function (this: CtsWorld) {
  const w = S(this).seen.windows as number[];
  // No feature bit above 63 exists, and bits 0-31 / 32-63 are different sets (VERSION_1 is bit 32).
  const ok = w[2] === 0 && w[3] === 0 && !(w[0] !== 0 && w[0] === w[1]);
  expect(this, ok, 'window 1 unlike window 0, windows 2 and 3 zero', `windows ${w.map((x) => hex(x)).join(', ')}`);
});

Then('queue_enable reads 0 for every queue', async function (this: CtsWorld) {
  await expectQueuesDisabled(this);
});

export async function expectQueuesDisabled(w: CtsWorld): Promise<void> {
  const t = (await drv(w)).transport;
  const n = await t.numQueues();
  const on: number[] = [];
  for (let q = 0; q < n; q++) if (await t.queueEnabled(q)) on.push(q);
  expect(w, on.length === 0, `all ${n} queue(s) disabled after reset`, `queue(s) ${on.join(', ')} still enabled`);
}

When('the driver reads queue_size for every queue', async function (this: CtsWorld) {
  const d = await drv(this);
  await d.init({ stopBefore: 'FEATURES_OK' });
  const t = d.transport;
  const n = await t.numQueues();
  const sizes: number[] = [];
  for (let q = 0; q < n; q++) sizes.push(await t.queueMaxSize(q));
  S(this).seen.sizes = sizes;
});

Then('every queue_size is 0 or a power of 2', function (this: CtsWorld) {
  const sizes = S(this).seen.sizes as number[];
  const bad = sizes.filter((s) => s !== 0 && (s & (s - 1)) !== 0);
  expect(this, sizes.length > 0 && bad.length === 0, 'queue_size 0 or a power of 2', `queue_size ${sizes.join(', ')}`);
});

// ---- ISR status ------------------------------------------------------------------------

Given('the driver has initialized the device with MSI-X disabled', async function (this: CtsWorld) {
  await initialize(this); // the World's driver uses INTx (openDriver without msix)
});

When('the driver submits a request without reading the ISR status', async function (this: CtsWorld) {
  const q = vq(this);
  await addBuffers(q, await probeBuffers(this));
  await q.kick();
  // Poll the used ring only: takeNotifications would read (and clear) the ISR.
  await q.waitUsed(usedWaitMs(this), { validate: false });
  await settle(this);
});

Then('the first read of ISR status has the {word} bit set', async function (this: CtsWorld, which: string) {
  const b = ({ queue: ISR_QUEUE, configuration: ISR_CONFIG } as Record<string, number>)[which];
  if (b === undefined) throw new Error(`ISR bit "${which}" (queue or configuration)`);
  const isr = await pci(await drv(this)).readIsr();
  S(this).seen.isr1 = isr;
  if (!(isr & b)) inconclusive(`ISR status ${hex(isr)} without the ${which} bit, so clearing cannot be observed`);
});

Then('a second read of ISR status reads 0', async function (this: CtsWorld) {
  const isr = await pci(await drv(this)).readIsr();
  expect(this, isr === 0, `ISR status 0 after it was read (first read ${hex(S(this).seen.isr1 as number)})`, `ISR status ${hex(isr)}`);
});

// ---- MSI-X -------------------------------------------------------------------------------

Given('the driver has enabled MSI-X', async function (this: CtsWorld) {
  const t = await this.target();
  const d = await openDriver(t, { msix: true }).catch((e: Error) => inconclusive(`MSI-X cannot be enabled: ${e.message}`));
  S(this).drv = d;
  const r = await d.init({ stopBefore: 'queues' });
  if (!r.featuresOk) inconclusive('FEATURES_OK refused');
});

/** Map an event to the first vector past the MSI-X table (a mapping the device must refuse). */
async function mapBeyondTable(w: CtsWorld, field: 'queue_msix_vector' | 'config_msix_vector'): Promise<void> {
  const p = pci(await drv(w));
  const size = p.caps.msix?.tableSize;
  if (size === undefined) inconclusive('no MSI-X capability');
  if (field === 'queue_msix_vector') await p.commonWrite('queue_select', requestQueue(w));
  await p.commonWrite(field, size);
  S(w).seen.msix = { field, size, read: await p.commonRead(field) };
}

When('the driver maps the request queue to the first vector beyond the MSI-X table', async function (this: CtsWorld) {
  await mapBeyondTable(this, 'queue_msix_vector');
});

When('the driver maps configuration changes to the first vector beyond the MSI-X table', async function (this: CtsWorld) {
  await mapBeyondTable(this, 'config_msix_vector');
});

Then('{word} reads 0xffff', function (this: CtsWorld, field: string) {
  const { field: mapped, size, read } = S(this).seen.msix as { field: string; size: number; read: number };
  if (field !== mapped) throw new Error(`${field} was not mapped (${mapped} was)`);
  expect(this, read === VIRTIO_MSI_NO_VECTOR, `NO_VECTOR (0xffff) after mapping vector ${size} of a ${size}-entry table`, `${field} ${hex(read)}`);
});
