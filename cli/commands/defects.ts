// `virtio-cts defects [--json]`: the reference emulator's defect catalog, each defect
// with the clause it breaks and where it applies: device types, transports, and the ring
// layouts on which it breaks its clause (select one with `run --defect NAME`).
import type { Command } from 'commander';
import { DEFECTS, type DefectInfo } from '../../emulator/defects.ts';

export function listDefects(): DefectInfo[] {
  return DEFECTS.map((d) => ({ ...d, transports: d.transports ?? ['pci', 'mmio'], rings: d.rings ?? ['split', 'packed'] }));
}

export function register(program: Command): void {
  program.command('defects')
    .description('list the reference emulator\'s defects: name, the clause each breaks, device types, transports, rings')
    .option('--json', 'print JSON')
    .action((o: { json?: boolean }) => {
      const list = listDefects();
      if (o.json) {
        process.stdout.write(JSON.stringify(list, null, 2) + '\n');
        return;
      }
      const w = Math.max(...list.map((d) => d.name.length));
      for (const d of list) {
        process.stdout.write(`${d.name.padEnd(w)}  ${d.clause}\n`);
        process.stdout.write(`${''.padEnd(w)}  ${d.devices.join(',')} on ${d.transports!.join(',')} (${d.rings!.join(',')} ring): ${d.summary}\n`);
      }
      process.stdout.write(`${list.length} defects\n`);
    });
}
