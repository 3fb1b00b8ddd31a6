// QEMU target: one real QEMU virtio device (rng or blk) on q35 (virtio-pci, modern only)
// or microvm (virtio-mmio version 2), driven register by register through qtest.
// No guest OS runs: a halt-only BIOS keeps the vCPU idle while the VM is "running"
// (QEMU's rng/net back-ends only process queues on a running VM).
import { execFile } from 'node:child_process';
import { closeSync, ftruncateSync, openSync } from 'node:fs';
import { join } from 'node:path';
import type { DeviceLocation, Target } from '../types.ts';
import { QtestBus } from './bus.ts';
import { QtestMemory } from './memory.ts';
import { UdpWire } from './net-wire.ts';
import { DEFAULT_QEMU_BINARY, QEMU_DEBIAN_PACKAGE, QemuProcess, missingBinaryMessage } from './process.ts';
import { QEMU_CONSOLE_PORTS, QemuConsoleHost, qemuPortId } from './console-host.ts';

export { TargetWedgedError, QtestCommandError } from './qtest.ts';
export { QemuProcess } from './process.ts';

export interface QemuTargetOptions {
  device: 'entropy' | 'blk' | 'net' | 'console';
  transport: 'pci' | 'mmio';
  qemuBinary?: string;
  /** Appended to the -device option, e.g. ['event_idx=off']. */
  extraDeviceProps?: string[];
  /** Appended to the command line. */
  extraArgs?: string[];
  timeoutScale?: number;
  blk?: { readOnly?: boolean; capacitySectors?: number; serial?: string };
}

export interface QemuTarget extends Target {
  readonly commandLine: string[];
  readonly qemuVersion: string;
  readonly qemu: QemuProcess;
  /** blk only: grow the disk by 8 sectors (QMP block_resize), a device config change. */
  changeConfig?(): Promise<void>;
  /**
   * Put the machine back in its just-started state for another scenario: QMP
   * `system_reset` (every device reset, PCI BARs and COMMAND cleared, MSI-X off, virtio
   * status 0), then the BAR and guest-memory allocators start over. Refused (throws)
   * when the target cannot be made equal to a fresh one (see `resettable`).
   */
  reset(): Promise<void>;
  /** False once something a reset does not undo happened (the disk was resized). */
  readonly resettable: boolean;
  /** QEMU's stderr since the target was started or last reset. */
  diagnostics(): string;
}

export const RAM_SIZE = 128 * 1024 * 1024;
export const SECTOR_SIZE = 512;
export const DEFAULT_BLK_SERIAL = 'virtio-cts-qemu';
export const DEFAULT_BLK_SECTORS = 2048;
/** q35: the device sits at 00:01.0; its INTA is routed PIRQ → GSI 21 (observed). */
export const Q35_SLOT = 1;
export const Q35_IRQ_LINE = 21;
/**
 * microvm: 24 virtio-mmio transports at 0xfeb00000 + 0x200·i, filled from slot 23 down.
 * They are wired to the second IOAPIC (GSIs 24–47): transport i raises its pin i, i.e.
 * GSI 24 + i (observed on QEMU 7.2: slot 23 → pin 23 → GSI 47).
 */
export const MICROVM_MMIO_BASE = 0xfeb02e00;
export const MICROVM_IRQ_LINE = 24 + 23;
const MICROVM_IOAPIC2_GSI_BASE = 24;

const DEVICE_NAMES = {
  pci: { entropy: 'virtio-rng-pci', blk: 'virtio-blk-pci', net: 'virtio-net-pci', console: 'virtio-serial-pci' },
  mmio: { entropy: 'virtio-rng-device', blk: 'virtio-blk-device', net: 'virtio-net-device', console: 'virtio-serial-device' },
} as const;

/** net: the NIC's MAC address; host_mtu and speed/duplex make QEMU offer VIRTIO_NET_F_MTU and _SPEED_DUPLEX, rss=on VIRTIO_NET_F_RSS. */
export const NET_MAC = '52:54:00:12:34:56';
export const NET_MTU = 4000;
export const NET_SPEED = 10_000;

export async function createQemuTarget(opts: QemuTargetOptions): Promise<QemuTarget> {
  const scale = opts.timeoutScale ?? 1;
  const blk = opts.blk ?? {};
  let capacity = blk.capacitySectors ?? DEFAULT_BLK_SECTORS;
  const driveId = 'd0';
  // console: the suite listens on one socket per port; QEMU's chardevs connect to them.
  let consoleHost: QemuConsoleHost | undefined;

  // net: the suite's end of the wire is bound before QEMU starts (adapters/qemu/net-wire.ts).
  const wire = opts.device === 'net' ? await UdpWire.open() : undefined;
  let linkDown = false;
  const args = (dir: string): string[] => {
    const a: string[] = [];
    if (opts.transport === 'pci') a.push('-machine', 'q35', '-accel', 'tcg', '-m', `${RAM_SIZE >> 20}M`);
    else a.push('-machine', 'microvm', '-accel', 'tcg', '-m', `${RAM_SIZE >> 20}M`, '-global', 'virtio-mmio.force-legacy=false');
    const props: string[] = [DEVICE_NAMES[opts.transport][opts.device]];
    if (opts.transport === 'pci') props.push('disable-legacy=on', `addr=${Q35_SLOT.toString(16)}.0`);
    if (opts.device === 'blk') {
      const image = join(dir, 'disk.img');
      const fd = openSync(image, 'w');
      try { ftruncateSync(fd, capacity * SECTOR_SIZE); } finally { closeSync(fd); }
      a.push('-drive', `if=none,id=${driveId},file=${image},format=raw${blk.readOnly ? ',readonly=on' : ''}`);
      props.push(`drive=${driveId}`, `serial=${blk.serial ?? DEFAULT_BLK_SERIAL}`);
    }
    if (wire) {
      a.push('-netdev', wire.netdev('n0'));
      // rss/hash: QEMU offers RSS (software steering: no eBPF for the socket netdev) and the RSS config fields;
      // HASH_REPORT it clears again for a backend without vnet headers.
      props.push('netdev=n0', 'id=nic0', `mac=${NET_MAC}`, `host_mtu=${NET_MTU}`, `speed=${NET_SPEED}`, 'duplex=full', 'rss=on', 'hash=on');
    }
    if (opts.device === 'console') {
      consoleHost = new QemuConsoleHost(dir, 10_000 * scale);
      props.push(`max_ports=${QEMU_CONSOLE_PORTS}`);
    }
    props.push(...(opts.extraDeviceProps ?? []));
    // The port devices sit on the virtio-serial bus, so they come after its -device.
    a.push('-device', props.join(','), ...(consoleHost?.args() ?? []), ...(opts.extraArgs ?? []));
    return a;
  };

  const q = await QemuProcess.start({ binary: opts.qemuBinary, args, timeoutScale: scale }).catch(async (e: unknown) => { consoleHost?.close(); await wire?.close(); throw e; });
  try {
    const setupMs = 10_000 * scale;
    let location: DeviceLocation;
    let gsiBase = 0;
    if (opts.transport === 'pci') {
      await q.qtest.request('irq_intercept_in ioapic');
      location = { transport: 'pci', address: { bus: 0, device: Q35_SLOT, fn: 0 }, irqLine: Q35_IRQ_LINE };
    } else {
      // The second IOAPIC has no QOM name of its own (it sits in /machine/unattached),
      // so look it up by type; qtest intercepts one device only, and it is the one
      // the virtio-mmio transports are wired to.
      const ioapic2 = await q.raceExit(findIoapic2(q), setupMs, 'looking up the second IOAPIC');
      await q.qtest.request(`irq_intercept_in ${ioapic2}`);
      gsiBase = MICROVM_IOAPIC2_GSI_BASE;
      location = { transport: 'mmio', base: MICROVM_MMIO_BASE, irqLine: MICROVM_IRQ_LINE };
    }
    await q.raceExit(q.qmp.execute('cont'), setupMs, 'starting the VM');

    const bus = new QtestBus(q.qtest, { timeoutScale: scale, gsiBase });
    const mem = new QtestMemory(q.qtest, RAM_SIZE);
    let mark = q.stderrMark();
    let resized = false;
    const target: QemuTarget = {
      description: `QEMU ${q.version} ${DEVICE_NAMES[opts.transport][opts.device]} (${opts.transport === 'pci' ? 'q35' : 'microvm'}, qtest)`,
      bus, mem, location,
      timeoutScale: scale,
      commandLine: q.commandLine,
      qemuVersion: q.version,
      qemu: q,
      close: () => { consoleHost?.close(); return q.close().finally(() => wire?.close()); },
      // An unplugged console port does not come back with a machine reset.
      get resettable() { return !resized && !(consoleHost?.unplugged.size) && !q.exited && !q.qtest.closed; },
      diagnostics: () => q.stderrSince(mark),
      reset: async () => {
        if (!target.resettable) throw new Error(`QEMU target cannot be reset for reuse${resized ? ' (its disk was resized)' : consoleHost?.unplugged.size ? ' (a console port was unplugged)' : ' (QEMU is gone)'}`);
        // The reset runs in QEMU's main loop after the command returns: RESET says it is done.
        await q.raceExit(q.qmp.executeAndWait('system_reset', 'RESET'), setupMs, 'resetting the machine');
        await q.qtest.request('endianness'); // the qtest stream still answers
        bus.resetAllocator();
        if (wire) {
          // The link state is the NIC's, not the device's: a reset does not bring it back up.
          if (linkDown) await q.raceExit(q.qmp.execute('set_link', { name: 'nic0', up: true }), setupMs, 'bringing the link up');
          linkDown = false;
          wire.clear();
        }
        await mem.resetAllocator();
        consoleHost?.drain();
        mark = q.stderrMark();
      },
    };
    if (wire) {
      wire.setLink = async (up: boolean) => {
        await q.raceExit(q.qmp.execute('set_link', { name: 'nic0', up }), setupMs, 'changing the link state');
        linkDown = !up;
      };
      // A self-announcement round: virtio-net sets VIRTIO_NET_S_ANNOUNCE when GUEST_ANNOUNCE is negotiated.
      wire.announce = async () => {
        await q.raceExit(q.qmp.execute('announce-self', { initial: 50, max: 550, rounds: 1, step: 50 }), setupMs, 'announcing');
      };
      Object.assign(target, { wire });
    }
    if (consoleHost) {
      const host = consoleHost;
      host.unplugFn = async (port) => {
        // device_del returns at once; the port is gone when DEVICE_DELETED arrives.
        await q.raceExit(q.qmp.executeAndWait('device_del', 'DEVICE_DELETED', { id: qemuPortId(port) }), setupMs, `unplugging console port ${port}`);
      };
      host.plugFn = async (port, device) => {
        await q.raceExit(q.qmp.execute('device_add', device), setupMs, `plugging console port ${port}`);
      };
      (target as { console?: QemuConsoleHost }).console = host;
    }
    if (opts.device === 'blk') {
      target.changeConfig = async () => {
        resized = true;
        capacity += 8;
        await q.raceExit(q.qmp.execute('block_resize', { device: driveId, size: capacity * SECTOR_SIZE }), setupMs, 'resizing the disk');
      };
    }
    return target;
  } catch (e) {
    consoleHost?.close();
    await q.close();
    await wire?.close();
    throw e;
  }
}

async function findIoapic2(q: QemuProcess): Promise<string> {
  const children = await q.qmp.execute<Array<{ name: string; type: string }>>('qom-list', { path: '/machine/unattached' });
  const hits = children.filter((c) => c.type === 'child<ioapic>');
  if (hits.length !== 1) throw new Error(`microvm: expected one secondary IOAPIC in /machine/unattached, found ${hits.length}`);
  return `/machine/unattached/${hits[0].name}`;
}

export interface QemuProbe {
  available: boolean;
  binary: string;
  version?: string;
  /** Transports whose machine the binary has: pci (q35), mmio (microvm). */
  transports?: ('pci' | 'mmio')[];
  reason?: string;
}

const MACHINE = { pci: 'q35', mmio: 'microvm' } as const;

function run(binary: string, args: string[], timeoutMs: number): Promise<{ err?: NodeJS.ErrnoException; stdout: string }> {
  return new Promise((resolve) => execFile(binary, args, { timeout: timeoutMs }, (err, stdout) => resolve({ err: (err ?? undefined) as NodeJS.ErrnoException | undefined, stdout })));
}

/**
 * Is QEMU usable here? Runs `qemu-system-x86_64 --version` and `-machine help` (with a
 * timeout): the version, and which transports can run (q35 for pci, microvm for mmio).
 */
export async function probeQemu(binary = DEFAULT_QEMU_BINARY, timeoutMs = 5_000): Promise<QemuProbe> {
  const v = await run(binary, ['--version'], timeoutMs);
  if (v.err) {
    return {
      available: false, binary,
      reason: v.err.code === 'ENOENT' ? missingBinaryMessage(binary) : `${binary} --version failed: ${v.err.message.split('\n')[0]}`,
    };
  }
  const m = /version\s+(\S+)/.exec(v.stdout);
  const version = m ? m[1] : v.stdout.split('\n')[0].trim();
  const machines = await run(binary, ['-machine', 'help'], timeoutMs);
  const names = new Set(machines.stdout.split('\n').map((l) => l.trim().split(/\s+/)[0]));
  const transports = (Object.keys(MACHINE) as ('pci' | 'mmio')[]).filter((t) => names.has(MACHINE[t]));
  if (!transports.length) return { available: false, binary, version, transports, reason: `${binary} has neither the q35 nor the microvm machine` };
  return { available: true, binary, version, transports };
}

export { QEMU_DEBIAN_PACKAGE };
