// virtio over MMIO (4.2.2): identification registers, reset of InterruptStatus and
// QueueReady, and a queue that is programmed but not ready.
import { Given, Then, When } from '@cucumber/cucumber';
import type { CtsWorld } from './support/world.ts';
import { inconclusive } from './support/assert.ts';
import { S, drv, expect, hex, probeBuffers, requestQueue, settle, usedWaitMs, vq } from './common.steps.ts';
import { expectQueuesDisabled } from './pci.steps.ts';
import { addBuffers, type Driver } from '../driver/index.ts';
import type { MmioTransport } from '../driver/mmio-transport.ts';
import { MMIO, MMIO_INT_VRING, type MmioRegister } from '../virtio/mmio.ts';
import { SplitRingDriver, allocateParts } from '../virtio/split-ring-driver.ts';
import { DRIVER_OK } from '../virtio/status.ts';

function mmio(d: Driver): MmioTransport {
  if (!d.mmio) throw new Error('not an MMIO device');
  return d.mmio;
}

When('the driver reads the MMIO register {string}', async function (this: CtsWorld, name: string) {
  if (!(name in MMIO)) throw new Error(`unknown MMIO register ${name}`);
  S(this).seen.reg = { name, value: await mmio(await drv(this)).readReg(name as MmioRegister) };
});

Then('the register reads {word}', function (this: CtsWorld, want: string) {
  const { name, value } = S(this).seen.reg as { name: string; value: number };
  const n = Number(want);
  expect(this, value === n, `${name} ${hex(n)}`, `${name} ${hex(value)}`);
});

Given('the driver has submitted a request without acknowledging the interrupt', async function (this: CtsWorld) {
  const q = vq(this);
  await addBuffers(q, await probeBuffers(this));
  await q.kick();
  await q.waitUsed(usedWaitMs(this), { validate: false });
  await settle(this);
  const st = await mmio(await drv(this)).readReg('InterruptStatus');
  if (!(st & MMIO_INT_VRING)) inconclusive(`InterruptStatus ${hex(st)} without the used buffer bit before the reset, so clearing cannot be observed`);
});

Then('InterruptStatus reads 0', async function (this: CtsWorld) {
  const st = await mmio(await drv(this)).readReg('InterruptStatus');
  expect(this, st === 0, 'InterruptStatus 0 after reset', `InterruptStatus ${hex(st)}`);
});

Then('QueueReady reads 0 for every queue', async function (this: CtsWorld) {
  await expectQueuesDisabled(this);
});

Given('the driver has initialized the device but left the request queue not ready', async function (this: CtsWorld) {
  const d = await drv(this);
  const m = mmio(d);
  const r = await d.init({ stopBefore: 'queues' });
  if (!r.featuresOk) inconclusive('FEATURES_OK refused');
  // Program the request queue completely (size and the three areas) but leave QueueReady at 0.
  const rq = requestQueue(this);
  const size = Math.min(await d.transport.queueMaxSize(rq), 64);
  if (size === 0) inconclusive(`queue ${rq} is not available`);
  const parts = await allocateParts(d.mem, size);
  const q = new SplitRingDriver(d.mem, { index: rq, size, timeoutScale: d.timeoutScale, notify: () => d.transport.notify(rq) },
    parts.desc, parts.avail, parts.used);
  await m.writeReg('QueueSel', rq);
  await m.writeReg('QueueSize', size);
  await m.writeReg('QueueDescLow', q.desc); await m.writeReg('QueueDescHigh', 0);
  await m.writeReg('QueueDriverLow', q.avail); await m.writeReg('QueueDriverHigh', 0);
  await m.writeReg('QueueDeviceLow', q.used); await m.writeReg('QueueDeviceHigh', 0);
  await d.transport.setStatus((await d.transport.getStatus()) | DRIVER_OK);
  S(this).vq = q;
});
