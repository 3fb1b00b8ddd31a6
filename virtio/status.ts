// Device status field bits (spec 2.1).
export const ACKNOWLEDGE = 1;
export const DRIVER = 2;
export const DRIVER_OK = 4;
export const FEATURES_OK = 8;
export const DEVICE_NEEDS_RESET = 64;
export const FAILED = 128;

const NAMES: Array<[number, string]> = [
  [ACKNOWLEDGE, 'ACKNOWLEDGE'], [DRIVER, 'DRIVER'], [FEATURES_OK, 'FEATURES_OK'],
  [DRIVER_OK, 'DRIVER_OK'], [DEVICE_NEEDS_RESET, 'DEVICE_NEEDS_RESET'], [FAILED, 'FAILED'],
];

/** "0x0b (ACKNOWLEDGE|DRIVER|FEATURES_OK)" — for FAIL messages. */
export function formatStatus(s: number): string {
  const names = NAMES.filter(([bit]) => s & bit).map(([, n]) => n);
  return `0x${s.toString(16).padStart(2, '0')}${names.length ? ` (${names.join('|')})` : ''}`;
}
