// `virtio-cts targets [--json]`: which adapters can run here, and why not if they cannot.
import type { Command } from 'commander';
import { probeQemu } from '../../adapters/qemu/index.ts';
import { resolveBinary } from '../../adapters/qemu/process.ts';
import { nativeAvailable, nativeLoadError } from '../../native/index.ts';

export interface TargetInfo {
  name: string;
  /** `virtio-cts run --target <name>` can run here. */
  available: boolean;
  description: string;
  version?: string;
  /** Transports this machine can run (QEMU: q35 → pci, microvm → mmio). */
  transports?: string[];
  reason?: string;
}

export async function listTargets(opts: { qemuBinary?: string } = {}): Promise<TargetInfo[]> {
  const qemu = await probeQemu(opts.qemuBinary);
  return [
    { name: 'reference', available: true, description: 'in-process reference emulator devices' },
    {
      name: 'qemu', available: qemu.available,
      description: 'QEMU virtio devices through qtest (virtio-pci on q35, virtio-mmio on microvm)',
      ...(qemu.version ? { version: qemu.version } : {}),
      ...(qemu.transports ? { transports: qemu.transports } : {}),
      ...(qemu.reason ? { reason: qemu.reason } : {}),
    },
    vhostUser(),
  ];
}

/** vhost-user needs the native addon (fd passing); --spawn needs the back-end's binary. */
function vhostUser(): TargetInfo {
  const backends = [['qemu-storage-daemon', 'qemu-system-common'], ['dpdk-testpmd', 'dpdk-dev']] as const;
  const found = backends.filter(([bin]) => resolveBinary(bin)).map(([bin]) => bin);
  const missing = backends.filter(([bin]) => !resolveBinary(bin)).map(([bin, pkg]) => `${bin} (apt package ${pkg})`);
  const info: TargetInfo = {
    name: 'vhost-user', available: nativeAvailable(),
    description: `vhost-user front-end to a back-end: --socket PATH, or --spawn ${found.length ? found.join('|') : 'qemu-storage-daemon|dpdk-testpmd'}`,
  };
  if (!info.available) info.reason = `the native addon did not load (run npm ci to build it): ${nativeLoadError()?.message ?? 'unknown error'}`;
  else if (missing.length) info.reason = `--spawn cannot start ${missing.join(', ')}: not installed`;
  return info;
}

export function register(program: Command): void {
  program.command('targets')
    .description('list the targets this machine can run, with versions or the reason they cannot')
    .option('--json', 'print JSON')
    .option('--qemu <path>', 'qemu-system-x86_64 binary to probe')
    .action(async (o: { json?: boolean; qemu?: string }) => {
      const list = await listTargets({ qemuBinary: o.qemu });
      if (o.json) {
        process.stdout.write(JSON.stringify(list, null, 2) + '\n');
        return;
      }
      for (const t of list) {
        const detail = [t.version, t.transports?.join('+')].filter(Boolean).join('; ');
        const state = t.available ? `available${detail ? ` (${detail})` : ''}` : 'unavailable';
        process.stdout.write(`${t.name.padEnd(12)} ${state.padEnd(28)} ${t.description}\n`);
        if (t.reason) process.stdout.write(`${''.padEnd(12)} ${t.reason}\n`);
      }
    });
}
