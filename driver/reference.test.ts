// The suite's driver against the in-process reference emulator (adapters/reference), on
// both transports and both ring layouts: the same shared tests as on QEMU
// (driver/testing/suite.ts).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { driverSuite, type TargetFactory } from './testing/suite.ts';

// Loaded by path so this file typechecks before adapters/reference lands.
const REFERENCE = join(import.meta.dirname, '../adapters/reference/index.ts');
const have = existsSync(REFERENCE);
const mod = have ? await import(REFERENCE) : undefined;
const make: TargetFactory = ({ ring: _ring, ...o }) => mod.createReferenceTarget(o);
for (const ring of ['split', 'packed'] as const) {
  driverSuite(have ? 'reference' : 'reference (adapters/reference/index.ts not there yet)', make, !have, {}, ring);
}
