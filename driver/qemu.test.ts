// The suite's driver against QEMU's real devices (virtio-rng, virtio-blk) on both
// transports: the shared driver tests of driver/testing/suite.ts, with the split ring and
// with the packed ring (device property packed=on, which QEMU 7.2 has for both devices).
import { createQemuTarget, probeQemu } from '../adapters/qemu/index.ts';
import { driverSuite } from './testing/suite.ts';

const probe = await probeQemu();
const label = `QEMU${probe.available ? ` ${probe.version}` : ` (${probe.reason})`}`;
for (const ring of ['split', 'packed'] as const) {
  driverSuite(label, ({ ring: r, ...o }) => createQemuTarget({ ...o, extraDeviceProps: r === 'packed' ? ['packed=on'] : [] }), !probe.available, {
    trailingIndirectUnsupported: true,
  }, ring);
}
