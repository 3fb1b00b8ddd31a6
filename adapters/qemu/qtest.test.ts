// Unit tests of the qtest client against a fake peer on a real unix socket: the peer
// plays QEMU's side of the line protocol, scripted per test.
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { QtestClient, QtestCommandError, TargetWedgedError, hex, hexValue } from './qtest.ts';

let dir: string;
let server: Server;
let peer: Socket;
let client: QtestClient;
/** Lines the peer received. */
let received: string[];

async function connect(timeoutMs = 2000, describeLoss?: () => string): Promise<void> {
  const path = join(dir, 'q.sock');
  server = createServer();
  await new Promise<void>((r) => server.listen(path, r));
  const accepted = new Promise<Socket>((r) => server.once('connection', r));
  const sock = createConnection(path);
  await new Promise<void>((r) => sock.once('connect', () => r()));
  client = new QtestClient(sock, { timeoutMs, describeLoss });
  peer = await accepted;
  peer.setEncoding('latin1');
  received = [];
  let buf = '';
  peer.on('data', (c: string) => {
    buf += c;
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) { received.push(buf.slice(0, nl)); buf = buf.slice(nl + 1); }
  });
}

async function waitReceived(n: number): Promise<void> {
  for (let i = 0; i < 200 && received.length < n; i++) await new Promise((r) => setTimeout(r, 5));
  expect(received.length).toBeGreaterThanOrEqual(n);
}

beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'qtest-unit-')); });
afterEach(() => {
  client?.close();
  peer?.destroy();
  server?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('QtestClient', () => {
  it('matches pipelined replies in order and routes interleaved IRQ lines apart', async () => {
    await connect();
    const seen: string[] = [];
    client.onIrq((line, level) => seen.push(`${line}=${level}`));
    const a = client.request('readl 0x1000');
    const b = client.request('inb 0xcfc');
    const c = client.request('writel 0x1000 0x5');
    await waitReceived(3);
    expect(received).toEqual(['readl 0x1000', 'inb 0xcfc', 'writel 0x1000 0x5']);
    // IRQ lines before, between and after replies; one reply split across writes.
    peer.write('IRQ raise 21\nOK 0x00000000deadbeef\nIRQ raise 0\nIRQ lower 0\nOK 0x');
    await new Promise((r) => setTimeout(r, 10));
    peer.write('07\nIRQ lower 21\nOK\n');
    await expect(a).resolves.toBe('0x00000000deadbeef');
    await expect(b).resolves.toBe('0x07');
    await expect(c).resolves.toBe('');
    expect(seen).toEqual(['21=true', '0=true', '0=false', '21=false']);
    expect(client.irqLevel(21)).toBe(false);
    expect(client.irqLevel(0)).toBe(false);
    const d = client.request('readb 0x0');
    peer.write('IRQ raise 5\nOK 0x01\n');
    await expect(d).resolves.toBe('0x01');
    expect(client.irqLevel(5)).toBe(true);
    expect(client.irqLevel(7)).toBe(false);
  });

  it('turns FAIL replies into errors naming the command, and keeps going', async () => {
    await connect();
    const bad = client.request('clock_step');
    const good = client.request('readw 0x10');
    await waitReceived(2);
    peer.write("FAIL Unknown command 'clock_step'\nOK 0x1af4\n");
    const err = await bad.catch((e) => e);
    expect(err).toBeInstanceOf(QtestCommandError);
    expect(err.message).toContain('clock_step');
    expect(err.message).toContain('Unknown command');
    expect(err.wedged).toBeUndefined();
    await expect(good).resolves.toBe('0x1af4');
    expect(client.closed).toBe(false);
  });

  it('rejects every pending request with a wedged error when the connection drops', async () => {
    await connect(2000, () => 'QEMU stderr:\nqemu: terminating on signal 9');
    const a = client.request('readl 0x0');
    const b = client.request('readl 0x4');
    await waitReceived(2);
    peer.write('OK 0x1\n');
    await expect(a).resolves.toBe('0x1');
    const t0 = performance.now();
    peer.destroy();
    const err = await b.catch((e) => e);
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(err).toBeInstanceOf(TargetWedgedError);
    expect(err.wedged).toBe(true);
    expect(err.message).toContain('connection lost');
    expect(err.message).toContain('terminating on signal 9');
    // Later requests fail at once with the same error.
    await expect(client.request('readl 0x8')).rejects.toBeInstanceOf(TargetWedgedError);
  });

  it('times out a request that gets no reply, and fails the rest of the pipeline', async () => {
    await connect(100);
    const a = client.request('readl 0x0');
    const b = client.request('readl 0x4');
    const t0 = performance.now();
    const err = await a.catch((e) => e);
    const waited = performance.now() - t0;
    expect(err).toBeInstanceOf(TargetWedgedError);
    expect(err.message).toContain("no reply to 'readl 0x0' within 100 ms");
    expect(waited).toBeGreaterThanOrEqual(90);
    expect(waited).toBeLessThan(1000);
    await expect(b).rejects.toBeInstanceOf(TargetWedgedError);
  });

  it('treats a reply with no request outstanding as a protocol error', async () => {
    await connect();
    peer.write('OK 0x1\n');
    for (let i = 0; i < 100 && !client.closed; i++) await new Promise((r) => setTimeout(r, 5));
    expect(client.closed).toBe(true);
    await expect(client.request('readl 0x0')).rejects.toThrow(/unexpected line/);
  });
});

describe('number formatting', () => {
  it('refuses negative or fractional addresses instead of sending 0x-…', () => {
    expect(hex(0xe0000000)).toBe('0xe0000000');
    expect(hex(0n)).toBe('0x0');
    expect(hex(0xffffffffffffffffn)).toBe('0xffffffffffffffff');
    expect(() => hex(-1)).toThrow(RangeError);
    expect(() => hex(1.5)).toThrow(RangeError);
    expect(() => hex(-1n)).toThrow(RangeError);
  });
  it('masks register values to their width, unsigned', () => {
    expect(hexValue(-1, 4)).toBe('0xffffffff');
    expect(hexValue(0x80000000 | 0x1234, 4)).toBe('0x80001234');
    expect(hexValue(0x1ff, 1)).toBe('0xff');
    expect(hexValue(-2n, 8)).toBe('0xfffffffffffffffe');
  });
});
