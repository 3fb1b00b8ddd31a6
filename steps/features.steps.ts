// Feature bits (2.2.2, 6.2) and the device configuration space (2.5.2, config_generation
// on PCI and MMIO). Feature knowledge (names, prerequisites, which bits are defined)
// comes from virtio/features.ts, the spec as code.
import { Given, Then, When } from '@cucumber/cucumber';
import type { CtsWorld } from './support/world.ts';
import { inconclusive, notApplicable } from './support/assert.ts';
import { S, drv, expect, featureBits, hex, initQueues, requestRing, requireUsed, submit, vq } from './common.steps.ts';
import { featureByName, formatFeatures, hasBit, missingPrerequisites, undefinedBits } from '../virtio/features.ts';
import { DEVICE_NEEDS_RESET, DRIVER_OK, FEATURES_OK, formatStatus } from '../virtio/status.ts';
import { BLK_CONFIG } from '../virtio/blk.ts';
import { VIRTIO_PCI_CAP_DEVICE_CFG } from '../virtio/pci.ts';

When('the driver reads the device feature bits', async function (this: CtsWorld) {
  const d = await drv(this);
  const r = await d.init({ stopBefore: 'FEATURES_OK' });
  S(this).offered = r.offered;
  await this.evidence('device_feature', formatFeatures(this.params.device, r.offered));
});

function offered(w: CtsWorld): bigint {
  const o = S(w).offered;
  if (o === undefined) throw new Error('device features were not read');
  return o;
}

Then('the device offers {string}', function (this: CtsWorld, name: string) {
  const f = featureByName(this.params.device, name);
  if (!f) throw new Error(`unknown feature ${name}`);
  const o = offered(this);
  expect(this, hasBit(o, f.bit), `${name} (bit ${f.bit}) offered`, `device_feature ${formatFeatures(this.params.device, o)}`);
});

Then('no offered feature lacks a feature it requires', function (this: CtsWorld) {
  const missing = missingPrerequisites(this.params.device, offered(this));
  expect(this, missing.length === 0, 'every offered feature offered with its prerequisites',
    missing.map((m) => `${m.feature} without ${m.requires.map((s) => s.join('+')).join(' or ')}`).join('; '));
});

Then('every offered feature is defined for this device type and transport', function (this: CtsWorld) {
  const bad = undefinedBits(this.params.device, this.params.transport, offered(this));
  expect(this, bad.length === 0, `only bits defined for ${this.params.device} over ${this.params.transport}`,
    `undefined bit(s) ${bad.join(', ')}`);
});

/**
 * Negotiate exactly `features`. The clause asks the device to accept a valid subset
 * (SHOULD) or else refuse FEATURES_OK (MUST): a refusal is a WARN; a device that keeps
 * FEATURES_OK but then does not work with the subset breaks the MUST.
 */
async function negotiate(w: CtsWorld, features: bigint): Promise<void> {
  const s = S(w);
  const d = await drv(w);
  const r = await d.init({ features, queues: initQueues(w) });
  s.featuresOk = r.featuresOk; s.accepted = r.accepted;
  s.seen.negotiated = r;
  const q = requestRing(w, r.rings);
  if (r.featuresOk && q) s.vq = q;
}

When('the driver negotiates the features {string}', async function (this: CtsWorld, names: string) {
  const want = featureBits(this, names);
  const offered = await (await drv(this)).transport.readDeviceFeatures();
  if ((offered & want) !== want) notApplicable(`${names} is not a subset of the offered features`);
  await negotiate(this, want);
});

When('the driver negotiates the same features again', async function (this: CtsWorld) {
  const a = S(this).accepted;
  if (a === undefined) throw new Error('no features were negotiated before');
  await negotiate(this, a);
});

Then('the device keeps FEATURES_OK set', async function (this: CtsWorld) {
  const s = S(this);
  const feats = formatFeatures(this.params.device, s.accepted ?? 0n);
  expect(this, s.featuresOk === true, `FEATURES_OK kept for ${feats}`, 'FEATURES_OK cleared', 'SHOULD');
  // FEATURES_OK kept: the device has accepted the subset, so it must work with it.
  const r = await submit(this);
  const st = await (await drv(this)).transport.getStatus();
  const works = r.elem !== undefined && (st & DEVICE_NEEDS_RESET) === 0 && (st & DRIVER_OK) !== 0;
  expect(this, works, `a request completes after FEATURES_OK was kept for ${feats}`,
    r.elem ? `device status ${formatStatus(st)}` : 'the request was not used', 'MUST');
});

// ---- device configuration --------------------------------------------------------

/** Bytes of the device-specific configuration a blk driver reads (up to num_queues). */
const CONFIG_SPAN = BLK_CONFIG.num_queues[0] + BLK_CONFIG.num_queues[1];

async function readConfigBytes(w: CtsWorld, len = CONFIG_SPAN): Promise<number[]> {
  const t = (await drv(w)).transport;
  const out: number[] = [];
  for (let off = 0; off < len; off += 4) {
    const v = await t.readConfig(off, 4);
    for (let i = 0; i < 4 && off + i < len; i++) out.push((v >>> (8 * i)) & 0xff);
  }
  return out;
}

const bytesHex = (b: number[]): string => b.map((x) => x.toString(16).padStart(2, '0')).join('');

Given('the driver has set ACKNOWLEDGE and DRIVER and written its features', async function (this: CtsWorld) {
  const r = await (await drv(this)).init({ stopBefore: 'FEATURES_OK' });
  S(this).accepted = r.accepted;
});

When('the driver reads the device-specific configuration', async function (this: CtsWorld) {
  S(this).seen.config = await readConfigBytes(this, this.params.device === 'blk' ? 60 : CONFIG_SPAN);
});

When('the driver completes initialization and reads the device-specific configuration again', async function (this: CtsWorld) {
  const t = (await drv(this)).transport;
  await t.setStatus((await t.getStatus()) | FEATURES_OK);
  const st = await t.getStatus();
  if ((st & FEATURES_OK) === 0) inconclusive(`the device refused FEATURES_OK (${formatStatus(st)})`);
  S(this).seen.configAfter = await readConfigBytes(this);
});

Then('both reads of the device-specific configuration agree', function (this: CtsWorld) {
  const before = bytesHex(S(this).seen.config as number[]).slice(0, CONFIG_SPAN * 2);
  const after = bytesHex(S(this).seen.configAfter as number[]);
  expect(this, before === after, `configuration before FEATURES_OK = after (${after})`, `before ${before}`);
});

Then('the padding bytes unused0 and unused1 read 0', async function (this: CtsWorld) {
  const c = S(this).seen.config as number[];
  // unused0 follows writeback; unused1 (3 bytes) follows write_zeroes_may_unmap (5.2.4).
  const unused1 = [1, 2, 3].map((i) => BLK_CONFIG.write_zeroes_may_unmap[0] + i);
  let pads = [BLK_CONFIG.writeback[0] + 1, ...unused1];
  // A device may expose a shorter configuration (up to the last field of the features it
  // offers); bytes beyond it are not padding. The PCI capability may bound it; beyond the
  // configuration both transports read all-ones (QEMU), which cannot be told from a set
  // field, so an all-ones unused1 counts as not exposed (unused0 is always inside).
  const d = await drv(this);
  const cfgCap = d.pci?.cap(VIRTIO_PCI_CAP_DEVICE_CFG);
  if (cfgCap) pads = pads.filter((o) => o < cfgCap.length);
  if (unused1.every((o) => c[o] === 0xff)) pads = pads.filter((o) => !unused1.includes(o));
  await this.evidence('padding offsets checked', pads);
  const vals = pads.map((o) => c[o] ?? 0);
  expect(this, vals.every((v) => v === 0), 'unused0 and unused1 all 0',
    pads.map((o, i) => `byte ${o} = ${hex(vals[i]!)}`).join(', '));
});

async function readCapacity(w: CtsWorld): Promise<bigint> {
  const t = (await drv(w)).transport;
  const lo = await t.readConfig(0, 4), hi = await t.readConfig(4, 4);
  return (BigInt(hi) << 32n) | BigInt(lo);
}

Given('the driver has read config_generation and the device-specific configuration', async function (this: CtsWorld) {
  const t = (await drv(this)).transport;
  const s = S(this);
  s.seen.gen0 = await t.configGeneration();
  s.seen.cap0 = await readCapacity(this);
});

When('the device configuration changes', async function (this: CtsWorld) {
  const t = await this.target();
  if (!t.changeConfig) inconclusive('this target cannot change the device configuration');
  await t.changeConfig();
});

When('the driver reads the device-specific configuration again', async function (this: CtsWorld) {
  S(this).seen.cap1 = await readCapacity(this);
});

Then('config_generation differs from the value read before', async function (this: CtsWorld) {
  const s = S(this);
  if (s.seen.cap1 === s.seen.cap0) inconclusive(`capacity did not change (${String(s.seen.cap0)}), so config_generation need not change`);
  const gen1 = await (await drv(this)).transport.configGeneration();
  expect(this, gen1 !== s.seen.gen0, `config_generation other than ${hex(s.seen.gen0 as number)} after capacity changed ${String(s.seen.cap0)} → ${String(s.seen.cap1)}`,
    `config_generation ${hex(gen1)}`);
});

export { vq, requireUsed };
