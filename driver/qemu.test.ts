// The suite's driver against QEMU's real devices (virtio-rng, virtio-blk) on both
// transports: the shared driver tests of driver/testing/suite.ts.
import { createQemuTarget, probeQemu } from '../adapters/qemu/index.ts';
import { driverSuite } from './testing/suite.ts';

const probe = await probeQemu();
driverSuite(`QEMU${probe.available ? ` ${probe.version}` : ` (${probe.reason})`}`, (o) => createQemuTarget(o), !probe.available, {
  trailingIndirectUnsupported: true,
});
