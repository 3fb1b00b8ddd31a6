// Console device wire formats (spec 5.3): feature bits, config layout, virtqueue indices,
// and the multiport control message (struct virtio_console_control) with its events.
export const VIRTIO_CONSOLE_F = { SIZE: 0, MULTIPORT: 1, EMERG_WRITE: 2 } as const;

/** struct virtio_console_config offsets (5.3.4): [offset, width]. */
export const CONSOLE_CONFIG = {
  cols: [0, 2], rows: [2, 2], max_nr_ports: [4, 4], emerg_wr: [8, 4],
} as const satisfies Record<string, readonly [number, 1 | 2 | 4]>;
export const CONSOLE_CONFIG_SIZE = 12;

/** Virtqueue indices (5.3.2): port 0 at 0/1, control at 2/3, port n≥1 at 2n+2 / 2n+3. */
export const CONTROL_RECEIVEQ = 2;
export const CONTROL_TRANSMITQ = 3;
export const receiveq = (port: number): number => (port === 0 ? 0 : 2 * port + 2);
export const transmitq = (port: number): number => (port === 0 ? 1 : 2 * port + 3);
/** Queues a device with `maxNrPorts` ports has once MULTIPORT is negotiated. */
export const consoleNumQueues = (maxNrPorts: number): number => 2 * maxNrPorts + 2;

/** Which port a data queue belongs to, and its direction; undefined for the control queues. */
export function queuePort(q: number): { port: number; dir: 'rx' | 'tx' } | undefined {
  if (q === CONTROL_RECEIVEQ || q === CONTROL_TRANSMITQ) return undefined;
  const port = q < 2 ? 0 : (q - 2) >> 1;
  return { port, dir: q % 2 === 0 ? 'rx' : 'tx' };
}

/** Control events (5.3.6.2). */
export const VIRTIO_CONSOLE = {
  DEVICE_READY: 0, DEVICE_ADD: 1, DEVICE_REMOVE: 2, PORT_READY: 3, CONSOLE_PORT: 4,
  RESIZE: 5, PORT_OPEN: 6, PORT_NAME: 7,
} as const;
export const CONSOLE_EVENT_NAME: Record<number, string> = Object.fromEntries(
  Object.entries(VIRTIO_CONSOLE).map(([k, v]) => [v, `VIRTIO_CONSOLE_${k}`]),
);

/** struct virtio_console_control: id le32, event le16, value le16. */
export const CONTROL_SIZE = 8;
/** struct virtio_console_resize after a RESIZE control: cols le16, rows le16. */
export const RESIZE_SIZE = 4;

export interface ConsoleControl {
  id: number;
  event: number;
  value: number;
  /** Bytes after the struct: the name of PORT_NAME, the virtio_console_resize of RESIZE. */
  extra?: Uint8Array;
}

export function encodeControl(c: ConsoleControl): Uint8Array {
  const b = new Uint8Array(CONTROL_SIZE + (c.extra?.length ?? 0));
  const v = new DataView(b.buffer);
  v.setUint32(0, c.id >>> 0, true);
  v.setUint16(4, c.event, true);
  v.setUint16(6, c.value, true);
  if (c.extra) b.set(c.extra, CONTROL_SIZE);
  return b;
}

/** Undefined when shorter than the struct. */
export function decodeControl(b: Uint8Array): ConsoleControl | undefined {
  if (b.length < CONTROL_SIZE) return undefined;
  const v = new DataView(b.buffer, b.byteOffset, b.length);
  const c: ConsoleControl = { id: v.getUint32(0, true), event: v.getUint16(4, true), value: v.getUint16(6, true) };
  if (b.length > CONTROL_SIZE) c.extra = b.slice(CONTROL_SIZE);
  return c;
}

export function formatControl(c: ConsoleControl): string {
  const name = CONSOLE_EVENT_NAME[c.event] ?? `event ${c.event}`;
  const extra = c.event === VIRTIO_CONSOLE.PORT_NAME && c.extra ? ` "${new TextDecoder().decode(c.extra)}"` : '';
  return `${name} id ${c.id} value ${c.value}${extra}`;
}

export function encodeResize(cols: number, rows: number): Uint8Array {
  const b = new Uint8Array(RESIZE_SIZE);
  const v = new DataView(b.buffer);
  v.setUint16(0, cols, true);
  v.setUint16(2, rows, true);
  return b;
}
