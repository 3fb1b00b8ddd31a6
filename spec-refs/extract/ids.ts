// Clause IDs (spec-extraction.md §2.3): <role>/<area>/<label-path-slug>#<fp8>.
import { createHash } from 'node:crypto';
import type { Role } from '../types.ts';

const DEVICE_AREAS: [RegExp, string][] = [
  [/^Network/i, 'net'], [/^Block/i, 'blk'], [/^Console/i, 'console'], [/^Entropy/i, 'entropy'],
  [/Balloon/i, 'balloon'], [/^SCSI/i, 'scsi'], [/^GPU/i, 'gpu'], [/^Input/i, 'input'],
  [/^Crypto/i, 'crypto'], [/^Socket/i, 'vsock'], [/^File System/i, 'fs'], [/^RPMB/i, 'rpmb'],
  [/^IOMMU/i, 'iommu'], [/^Sound/i, 'sound'], [/^Memory Device/i, 'mem'], [/^I2C/i, 'i2c'],
  [/^SCMI/i, 'scmi'], [/^GPIO/i, 'gpio'], [/^PMEM/i, 'pmem'], [/^CAN/i, 'can'], [/^SPI/i, 'spi'],
  [/^Media/i, 'media'], [/^RTC/i, 'rtc'],
];

/** Label path components without the `sec:`-style prefix, whitespace-collapsed. */
export function labelPath(label: string): string[] {
  const body = label.replace(/^[a-z]+:/, '');
  return body.split('/').map((c) => c.replace(/\s+/g, ' ').trim()).filter((c) => c !== '');
}

export const slug = (c: string): string => c.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '');

/** Area and the remaining path components, from the fixed prefix table. */
export function areaOf(label: string): { area: string; rest: string[] } {
  const p = labelPath(label);
  const [a, b] = [p[0] ?? '', p[1] ?? ''];
  if (/^Basic Facilities of a Virtio Device$/i.test(a)) {
    if (/^(Device groups|Administration virtqueues)$/i.test(b)) return { area: 'admin', rest: p.slice(2) };
    return { area: 'core', rest: p.slice(1) };
  }
  if (/^General Initialization And Device Operation$/i.test(a)) return { area: 'init', rest: p.slice(1) };
  if (/^Reserved Feature Bits$/i.test(a)) return { area: 'reserved', rest: p.slice(1) };
  if (/^Virtio Transport Options$/i.test(a)) {
    if (/^Virtio Over PCI Bus$/i.test(b)) return { area: 'pci', rest: p.slice(2) };
    if (/^Virtio Over MMIO$/i.test(b)) return { area: 'mmio', rest: p.slice(2) };
    if (/^Virtio Over Channel I\/?O$/i.test(b) || /^Virtio over channel I$/i.test(b)) {
      // "I/O" splits into "I" and "O" as a path; skip the "O" component
      return { area: 'ccw', rest: p.slice(p[2] === 'O' ? 3 : 2) };
    }
  }
  if (/^Device Types$/i.test(a)) {
    for (const [re, area] of DEVICE_AREAS) if (re.test(b)) return { area, rest: p.slice(2) };
  }
  // not in the table (introduction, conformance, appendices…): first component is the area
  return { area: slug(a) || 'misc', rest: p.slice(1) };
}

export const fingerprint = (canonical: string): string =>
  createHash('sha256').update(canonical, 'utf8').digest('hex').slice(0, 8);

export function mintId(role: Role, label: string, fp8: string): string {
  const { area, rest } = areaOf(label);
  const path = rest.map(slug).filter((x) => x !== '').join('/');
  return `${role}/${area}${path ? '/' + path : ''}#${fp8}`;
}
