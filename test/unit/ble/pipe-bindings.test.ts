/**
 * The Bluetooth helper pipe: real noble classes (`with-bindings`) on PipeBindings,
 * talking to serveBindings(SimRadio) — first over in-memory streams, then across a
 * real child process (`node out/main/ble-helper.js --simulated`).
 */
import { spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { SimRadio } from '../../../electron/ble/sim-radio';
import { NobleTransport } from '../../../electron/ble/noble-transport';
import type { NobleLike } from '../../../electron/ble/noble-transport';
import { HELPER_GONE_REASON, PipeBindings } from '../../../electron/ble/pipe-bindings';
import { serveBindings } from '../../../electron/ble/helper/serve';
import type { BindingsServer } from '../../../electron/ble/helper/serve';
import { EXIT_NO_ADAPTER, ignoreTerminalSignals, keepSigintFromBindings, parseHelperArgs, runHelper, stateForHciError } from '../../../electron/ble/helper/run';
import {
  BINDINGS_EVENTS,
  BINDINGS_METHODS,
  callLine,
  decodeValue,
  encodeValue,
  eventLine,
  parseCallLine,
  parseHelperLine,
} from '../../../electron/ble/helper/wire';
import type { WireValue } from '../../../electron/ble/helper/wire';
import { HelperTransport, describeHelperGone, spawnHelperTransport } from '../../../electron/ble/helper-transport';
import { findBleHelper, loadSystemTransport } from '../../../electron/ble/system';
import type { DiscoveredPeripheral, GattConnection } from '../../../electron/ble/types';
import { DeviceLink } from '../../../electron/device/link';
import { simulateTheragun, speedFrame, statusNotification, theragun } from '../../../protocols/theragun';
import { hex, waitFor } from './sim-world';

const require = createRequire(import.meta.url);
const withBindings = require('@abandonware/noble/with-bindings') as (bindings: unknown) => NobleLike;
const ROOT = join(__dirname, '../../..');
const HELPER_JS = join(ROOT, 'out/main/ble-helper.js');
const SPEED_1750 = 'AA E3 01 03 06 D6 03';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Noble on PipeBindings, served by serveBindings(radio) over two PassThrough pipes. */
function inMemoryWorld() {
  const radio = new SimRadio({ latencyMs: 2, advertiseIntervalMs: 20 });
  const gun = simulateTheragun({ model: 'Pro' });
  const gunId = radio.addPeripheral(gun);
  const toHelper = new PassThrough();
  const toMain = new PassThrough();
  const served: string[] = [];
  const server: BindingsServer = serveBindings(radio, toHelper, toMain, { onProblem: (m) => served.push(m) });
  const problems: string[] = [];
  const closes: string[] = [];
  const bindings = new PipeBindings(toMain, toHelper, { onProblem: (m) => problems.push(m), onClose: (r) => closes.push(r) });
  const noble = withBindings(bindings);
  const transport = new NobleTransport(noble, { simulated: true, disconnectWaitMs: 300 });
  cleanups.push(async () => {
    await transport.dispose();
    server.stop();
    radio.dispose();
    bindings.close('test over');
  });
  return { radio, gun, gunId, toHelper, toMain, bindings, noble, transport, problems, served, closes };
}

async function hearAndConnect(transport: { startScan: NobleTransport['startScan']; stopScan(): Promise<void>; connect: NobleTransport['connect'] }, id: string) {
  const heard: DiscoveredPeripheral[] = [];
  await transport.startScan((p) => heard.push(p));
  await waitFor(() => heard.some((p) => p.id === id), 5000, `advertisement of ${id}`);
  await transport.stopScan();
  const conn = await transport.connect(id, 5000);
  return { heard, conn };
}

/** Subscribes to the gun's notifications and writes speedFrame(1750); returns the notifications seen. */
async function speed1750(conn: GattConnection): Promise<Uint8Array[]> {
  const services = await conn.discover(['ffe0', '180f'], 5000);
  expect(services.get('ffe0')).toEqual([
    { uuid: 'ffe1', properties: ['notify'] },
    { uuid: 'ffe2', properties: ['write', 'writeWithoutResponse'] },
  ]);
  const notes: Uint8Array[] = [];
  await conn.subscribe('ffe0', 'ffe1', (b) => notes.push(b), 5000);
  expect(hex(speedFrame(1750))).toBe(SPEED_1750);
  await conn.write('ffe0', 'ffe2', speedFrame(1750), true, 5000);
  await waitFor(() => notes.length >= 1, 5000, 'the status notification');
  return notes;
}

// ---------------------------------------------------------------- the wire format

describe('wire format', () => {
  it('round-trips bytes, undefined, errors, non-finite numbers and nested objects', () => {
    const error = Object.assign(new Error('Connection Failed'), { code: 'E3E' });
    const value = [
      Buffer.from([0xaa, 0, 0xff]),
      Uint8Array.of(1, 2),
      undefined,
      null,
      error,
      NaN,
      -Infinity,
      { localName: 'Pro', manufacturerData: Buffer.from('hy1'), txPowerLevel: undefined, nested: [{ $b: 'not a tag' }] },
    ];
    const wire = JSON.parse(JSON.stringify(encodeValue(value))) as WireValue;
    const back = decodeValue(wire) as unknown[];
    expect(back[0]).toEqual(Buffer.from([0xaa, 0, 0xff]));
    expect(Buffer.isBuffer(back[1])).toBe(true);
    expect(back[2]).toBeUndefined();
    expect(back[3]).toBeNull();
    expect(back[4]).toBeInstanceOf(Error);
    expect(back[4]).toMatchObject({ message: 'Connection Failed', code: 'E3E' });
    expect(back[5]).toBeNaN();
    expect(back[6]).toBe(-Infinity);
    const obj = back[7] as Record<string, unknown>;
    expect(obj.manufacturerData).toEqual(Buffer.from('hy1'));
    expect('txPowerLevel' in obj && obj.txPowerLevel === undefined).toBe(true);
    expect(obj.nested).toEqual([{ $b: 'not a tag' }]); // a device's data is never mistaken for a tag
  });

  it('refuses values that cannot travel', () => {
    expect(() => encodeValue(() => 1)).toThrow(TypeError);
    expect(() => encodeValue(new Map())).toThrow(/Map/);
    const deep: unknown[] = [];
    let cur = deep;
    for (let i = 0; i < 40; i++) cur.push((cur = []));
    expect(() => encodeValue(deep)).toThrow(/deeply/);
  });

  it('knows every method and event noble uses on its bindings', () => {
    const src = require('node:fs').readFileSync(require.resolve('@abandonware/noble/lib/noble.js'), 'utf8') as string;
    const events = [...src.matchAll(/this\._bindings\.on\('(\w+)'/g)].map((m) => m[1]);
    const methods = new Set([...src.matchAll(/this\._bindings\.(\w+)\(/g)].map((m) => m[1]).filter((m) => m !== 'on'));
    expect([...BINDINGS_EVENTS].sort()).toEqual([...new Set(events)].sort());
    for (const m of methods) expect(BINDINGS_METHODS, m).toContain(m);
  });

  it('checks every line: envelope, names, tags and the decoded arguments', () => {
    const bad = [
      'not json',
      '[]',
      '{"k":"event","e":"explode","a":[]}',
      '{"k":"event","e":"read","a":["p","ffe0","ffe1","plain string, not bytes",true]}',
      '{"k":"event","e":"read","a":["p","ffe0","ffe1",{"$b":"***"},true]}',
      '{"k":"event","e":"stateChange","a":["poweredOn"],"extra":1}',
      '{"k":"event","e":"connect","a":[42]}',
      '{"k":"event","e":"discover","a":["p","addr","random",true,null,-50,true]}',
      '{"k":"event","e":"stateChange","a":[{"$x":1}]}',
      `{"k":"event","e":"stateChange","a":[${'['.repeat(5000)}${']'.repeat(5000)}]}`,
    ];
    for (const line of bad) expect(parseHelperLine(line).ok, line.slice(0, 80)).toBe(false);
    expect(parseHelperLine(eventLine('read', ['p', 'ffe0', 'ffe1', Buffer.from([1]), true]))).toMatchObject({ ok: true, message: { e: 'read' } });
    expect(parseHelperLine('{"k":"fault","message":"boom","fatal":true}')).toEqual({ ok: true, message: { k: 'fault', message: 'boom', fatal: true } });
    // characteristicsDiscovered as noble's HCI GATT layer emits it: properties as the declaration's bit field
    const declared = { startHandle: 11, properties: 0x0a, valueHandle: 12, uuid: 'ffe2', endHandle: 13 };
    expect(parseHelperLine(eventLine('characteristicsDiscovered', ['c0ffee000001', 'ffe0', [declared]]))).toMatchObject({ ok: true, message: { e: 'characteristicsDiscovered', a: ['c0ffee000001', 'ffe0', [declared]] } });
    expect(parseHelperLine(eventLine('characteristicsDiscovered', ['c0ffee000001', 'ffe0', [{ ...declared, properties: 'write' }]])).ok).toBe(false);

    expect(parseCallLine('{"k":"call","m":"exec","a":["rm -rf /"]}').ok).toBe(false);
    expect(parseCallLine('{"k":"call","m":"write","a":["p","ffe0","ffe2","aa",false]}').ok).toBe(false);
    expect(parseCallLine('{"k":"call","m":"disconnect","a":[]}').ok).toBe(false);
    const ok = parseCallLine(callLine('write', ['p', 'ffe0', 'ffe2', Buffer.from(speedFrame(1750)), false]));
    expect(ok.ok && hex(ok.message.a[3] as Buffer)).toBe(SPEED_1750);
    expect(parseCallLine(callLine('discoverServices', ['p', undefined])).ok).toBe(true);
  });
});

// ---------------------------------------------------------------- in memory

describe('PipeBindings ↔ serveBindings(SimRadio) over in-memory streams', () => {
  it('scans, connects, discovers; a speed write arrives as the exact bytes and its notification comes back', async () => {
    const w = inMemoryWorld();
    const { heard, conn } = await hearAndConnect(w.transport, w.gunId);
    const gun = heard.find((p) => p.id === 'sim-theragun-pro')!;
    expect(gun).toMatchObject({ localName: 'Pro', simulated: true, advertisement: { localName: 'Pro', serviceUuids: [] } });
    const notes = await speed1750(conn);
    expect(await conn.read('180f', '2a19', 2000)).toEqual(Uint8Array.of(80));
    const log = w.radio.writes(w.gunId);
    expect(log.map((r) => hex(r.bytes))).toEqual([SPEED_1750]);
    expect(log[0]).toMatchObject({ service: 'ffe0', characteristic: 'ffe2', withResponse: true, accepted: true });
    expect(w.gun.state().rpm).toBe(1750);
    expect(hex(notes[0]!)).toBe(hex(statusNotification({ running: true, rpm: 1750 })));
    expect(w.bindings.connectedPeripherals()).toEqual(['sim-theragun-pro']);
    expect(w.problems).toEqual([]);
    expect(w.served).toEqual([]);
  });

  it('passes a drop of the link through (the radio drops it)', async () => {
    const w = inMemoryWorld();
    const { conn } = await hearAndConnect(w.transport, w.gunId);
    const reasons: string[] = [];
    conn.onDisconnect((r) => reasons.push(r));
    w.radio.inject(w.gunId, 'drop-link');
    await waitFor(() => reasons.length === 1);
    expect(reasons[0]).toMatch(/timed out/);
    expect(w.bindings.connectedPeripherals()).toEqual([]);
  });

  it('drops malformed, wrongly typed and oversize lines, reports them, and keeps working', async () => {
    const radio = new SimRadio({ latencyMs: 2, advertiseIntervalMs: 20 });
    const gunId = radio.addPeripheral(simulateTheragun({ model: 'Pro' }));
    const toHelper = new PassThrough();
    const toMain = new PassThrough();
    const server = serveBindings(radio, toHelper, toMain);
    const problems: string[] = [];
    const bindings = new PipeBindings(toMain, toHelper, { onProblem: (m) => problems.push(m), maxLineChars: 4096 });
    const transport = new NobleTransport(withBindings(bindings), { simulated: true, disconnectWaitMs: 300 });
    cleanups.push(async () => {
      await transport.dispose();
      server.stop();
      radio.dispose();
    });
    await waitFor(() => transport.adapterState().state === 'poweredOn');
    toMain.write('garbage\n');
    toMain.write('{"k":"event","e":"disconnect","a":[17]}\n');
    toMain.write('{"k":"event","e":"read","a":["sim-theragun-pro","ffe0","ffe1","text",true]}\r\n');
    toMain.write(`${'x'.repeat(10_000)}\n`);
    toMain.write('{"k":"event","e":"stateChange","a":["poweredOff"]'); // split across two writes: still one good line
    toMain.write('}\n{"k":"event","e":"stateChange","a":["poweredOn"]}\n');
    await waitFor(() => problems.length >= 4);
    expect(problems.filter((p) => p.startsWith('dropped a malformed line')).length).toBe(3);
    expect(problems.some((p) => /dropped a line of 10000 characters/.test(p))).toBe(true);
    expect(bindings.droppedLines).toBe(3);
    expect(bindings.closed).toBe(false);
    const { conn } = await hearAndConnect(transport, gunId);
    await speed1750(conn);
    expect(radio.writes(gunId).map((r) => hex(r.bytes))).toEqual([SPEED_1750]);
  });

  it('the helper side answers a bad call, an unknown method and a throwing method with a fault line, and keeps serving', async () => {
    const toHelper = new PassThrough();
    const toMain = new PassThrough();
    const radio = new SimRadio();
    const thrower = Object.assign(radio, {
      updateRssi: () => {
        throw Object.assign(new Error('Command Disallowed'), { code: 'EHCI' });
      },
    });
    const problems: string[] = [];
    const errors: string[] = [];
    const server = serveBindings(thrower, toHelper, toMain, { onProblem: (m) => problems.push(m), onCallError: (m) => errors.push(m) });
    cleanups.push(() => {
      server.stop();
      radio.dispose();
    });
    const out: string[] = [];
    toMain.on('data', (c: Buffer) => out.push(...c.toString().split('\n').filter(Boolean)));
    toHelper.write('{"k":"call","m":"exec","a":[]}\n');
    toHelper.write(callLine('updateRssi', ['sim-x']));
    toHelper.write(callLine('addService', ['sim-x', { uuid: 'ffe0' }])); // optional: silently ignored
    toHelper.write(callLine('init', []));
    await waitFor(() => out.some((l) => l.includes('"stateChange"')));
    const parsed = out.map((l) => parseHelperLine(l));
    expect(parsed.every((p) => p.ok)).toBe(true);
    const faults = parsed.flatMap((p) => (p.ok && p.message.k === 'fault' ? [p.message] : []));
    expect(faults).toHaveLength(2);
    expect(faults[0]!.message).toMatch(/rejected a line: not a bindings call/);
    expect(faults[1]).toMatchObject({ method: 'updateRssi', message: 'Command Disallowed', code: 'EHCI' });
    expect(errors).toEqual(['updateRssi']);
    expect(problems).toHaveLength(2);
  });

  it('when the pipe closes: the open link reports a drop, the scan ends, the adapter goes poweredOff; later calls are dropped', async () => {
    const w = inMemoryWorld();
    const { conn } = await hearAndConnect(w.transport, w.gunId);
    const heard: DiscoveredPeripheral[] = [];
    await w.transport.startScan((p) => heard.push(p));
    const reasons: string[] = [];
    conn.onDisconnect((r) => reasons.push(r));
    const states: string[] = [];
    w.transport.onAdapterState((s) => states.push(s.state));
    const written = w.toHelper.readableLength;
    w.toMain.end();
    await waitFor(() => states.length > 0);
    expect(w.closes).toEqual(['the helper closed its output']);
    expect(reasons).toEqual([`the link dropped (${HELPER_GONE_REASON})`]);
    expect(states).toEqual(['poweredOff']);
    expect(w.transport.scanning).toBe(false);
    expect((w.noble as unknown as { _peripherals: Record<string, { state: string }> })._peripherals['sim-theragun-pro']!.state).toBe('disconnected');
    await expect(conn.write('ffe0', 'ffe2', speedFrame(0), true, 500)).rejects.toMatchObject({ code: 'disconnected' });
    await expect(w.transport.connect(w.gunId, 500)).rejects.toMatchObject({ code: 'adapter-off' });
    w.bindings.stopScanning();
    expect(w.toHelper.readableLength).toBe(written);
  });

  it('a stream error closes it the same way, without an uncaught exception', async () => {
    const w = inMemoryWorld();
    await hearAndConnect(w.transport, w.gunId);
    w.toHelper.destroy(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
    await waitFor(() => w.closes.length === 1);
    expect(w.closes[0]).toMatch(/EPIPE/);
    expect(w.transport.adapterState().state).toBe('poweredOff');
  });
});

// ---------------------------------------------------------------- the helper's run function

describe('runHelper (the helper process, in this process)', () => {
  function io(loadHci?: () => never) {
    const stdout: string[] = [];
    const stderr: string[] = [];
    const exits: number[] = [];
    const sink = (into: string[]) =>
      new Writable({
        write(chunk: Buffer, _enc, cb) {
          into.push(chunk.toString());
          cb();
        },
      });
    return {
      stdout,
      stderr,
      exits,
      io: { stdin: new PassThrough(), stdout: sink(stdout), stderr: sink(stderr), exit: (c: number) => exits.push(c), ...(loadHci ? { loadHci } : {}) },
    };
  }

  it('reports a binding it cannot open: stateChange, a fatal fault, one stderr line, exit status 2', async () => {
    const t = io(() => {
      throw Object.assign(new Error('Operation not permitted'), { code: 'EPERM' });
    });
    runHelper([], t.io);
    await waitFor(() => t.exits.length === 1);
    expect(t.exits).toEqual([EXIT_NO_ADAPTER]);
    const lines = t.stdout.join('').split('\n').filter(Boolean).map(parseHelperLine);
    expect(lines).toEqual([
      { ok: true, message: { k: 'event', e: 'stateChange', a: ['unauthorized'] } },
      { ok: true, message: { k: 'fault', message: 'cannot open the Bluetooth adapter: Operation not permitted', code: 'EPERM', fatal: true } },
    ]);
    expect(t.stderr.join('')).toMatch(/^unknot-ble-helper: cannot open the Bluetooth adapter: Operation not permitted \(EPERM\); reporting the adapter as unauthorized and exiting\.\n$/);
  });

  it('ignores SIGINT and SIGHUP, and takes back the SIGINT listener a binding adds in init (noble’s exits the process), keeping its exit listener', () => {
    const proc = new EventEmitter();
    ignoreTerminalSignals(proc);
    const own = proc.listeners('SIGINT');
    expect(own).toHaveLength(1);
    expect(proc.listenerCount('SIGHUP')).toBe(1);
    // a binding shaped like noble's HCI one: init adds SIGINT (exit when last) and exit listeners
    const exitOnSigint = (): void => undefined;
    const onExit = (): void => undefined;
    const bindings = Object.assign(new EventEmitter(), {
      initCalls: 0,
      init(this: { initCalls: number }, ...args: unknown[]) {
        this.initCalls += 1;
        proc.on('SIGINT', exitOnSigint);
        proc.on('exit', onExit);
        return args.length;
      },
    });
    keepSigintFromBindings(bindings, proc);
    expect(bindings.init('a', 'b')).toBe(2);
    expect(bindings.initCalls).toBe(1);
    expect(proc.listeners('SIGINT')).toEqual(own);
    expect(proc.listeners('exit')).toEqual([onExit]);
  });

  it('parses its arguments and maps errors to adapter states', () => {
    expect(parseHelperArgs([])).toEqual({ simulated: false });
    expect(parseHelperArgs(['--simulated'])).toEqual({ simulated: true });
    expect(() => parseHelperArgs(['--root'])).toThrow(/unknown argument "--root"/);
    expect(stateForHciError({ code: 'EACCES' })).toBe('unauthorized');
    expect(stateForHciError({ code: 'EAFNOSUPPORT' })).toBe('unsupported');
    const t = io();
    runHelper(['--bogus'], t.io);
    expect(t.exits).toEqual([64]);
  });

  it('exits 0 when the main process closes its stdin', async () => {
    const t = io();
    const stop = runHelper(['--simulated'], t.io);
    cleanups.push(stop);
    (t.io.stdin as PassThrough).end();
    await waitFor(() => t.exits.length === 1);
    expect(t.exits).toEqual([0]);
  });
});

// ---------------------------------------------------------------- across a real child process

const helperBuilt = existsSync(HELPER_JS);
const noHelperReason = `${HELPER_JS} is missing: run \`npx electron-vite build\` first (CI builds before the unit tests)`;
if (!helperBuilt) console.warn(`Skipping the child-process tests of the Bluetooth helper: ${noHelperReason}.`);

function nobleLoadErrorCode(): string | undefined {
  try {
    require('@abandonware/noble');
    return undefined;
  } catch (error) {
    return (error as { code?: string }).code ?? 'unknown';
  }
}

describe.skipIf(!helperBuilt)('across a real child process: node out/main/ble-helper.js --simulated', () => {
  function startHelper(extra: { log?: (l: string) => void } = {}) {
    const lines: string[] = [];
    const child = spawn(process.execPath, [HELPER_JS, '--simulated'], { stdio: ['pipe', 'pipe', 'pipe'] });
    const transport = new HelperTransport(child, {
      command: process.execPath,
      simulated: true,
      transport: { disconnectWaitMs: 300 },
      log: (l) => {
        lines.push(l);
        extra.log?.(l);
      },
    });
    cleanups.push(async () => {
      await transport.dispose();
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    return { child, transport, lines };
  }

  it('scan finds sim-theragun-pro; connect, discover; a speed write arrives as the exact bytes; its notification comes back', async () => {
    const { transport, lines } = startHelper();
    const { heard, conn } = await hearAndConnect(transport, 'sim-theragun-pro');
    expect(heard.find((p) => p.id === 'sim-theragun-pro')).toMatchObject({ localName: 'Pro', simulated: true });
    expect(transport.name).toBe('simulated');
    const notes = await speed1750(conn);
    expect(await conn.read('180f', '2a19', 2000)).toEqual(Uint8Array.of(80));
    // The simulated radio in the helper prints every write it received, as hex.
    await waitFor(() => lines.some((l) => l.includes('sim write sim-theragun-pro')));
    expect(lines.filter((l) => l.includes('sim write'))).toEqual([
      `unknot-ble-helper: sim write sim-theragun-pro ffe0/ffe2 ${SPEED_1750.replace(/ /g, '').toLowerCase()} with response`,
    ]);
    expect(hex(notes[0]!)).toBe(hex(statusNotification({ running: true, rpm: 1750 })));
    expect(transport.pipe().droppedLines).toBe(0);
  });

  it('killing the helper: the device link reports a drop, the adapter becomes unavailable with a human message', async () => {
    const { child, transport } = startHelper();
    await waitFor(() => transport.adapterState().state === 'poweredOn', 5000);
    const heard: string[] = [];
    await transport.startScan((p) => heard.push(p.id));
    await waitFor(() => heard.includes('sim-theragun-pro'), 5000);
    await transport.stopScan();
    const link = new DeviceLink({
      transport,
      peripheralId: 'sim-theragun-pro',
      protocol: theragun,
      localName: 'Pro',
      reconnect: { initialDelayMs: 20, maxDelayMs: 40, giveUpAfterMs: 300 },
    });
    cleanups.push(() => link.disconnect({ stopFirst: false }));
    const info = await link.connect();
    expect(info.model).toBe('Pro');
    const drops: { reason: string; expected: boolean }[] = [];
    const failed: string[] = [];
    link.on('disconnected', (d) => drops.push(d));
    link.on('reconnect-failed', (f) => failed.push(f.reason));
    const states: { state: string; message: string }[] = [];
    transport.onAdapterState((s) => states.push(s));

    child.kill('SIGKILL');
    await waitFor(() => drops.length === 1, 5000, 'the drop');
    expect(drops[0]).toEqual({ reason: `the link dropped (${HELPER_GONE_REASON})`, expected: false });
    await waitFor(() => transport.helperExit() !== null, 5000);
    expect(transport.helperExit()).toEqual({ code: null, signal: 'SIGKILL' });
    await waitFor(() => transport.adapterState().message.includes('SIGKILL'), 5000);
    expect(transport.adapterState()).toEqual({
      state: 'unavailable',
      message: "Unknot's Bluetooth helper stopped unexpectedly (signal SIGKILL); the link to any device is gone.",
      hint: 'Switch the massager off by hand if it is still running, then restart Unknot.',
    });
    expect(states.length).toBeGreaterThan(0);
    expect(states.every((s) => s.state === 'unavailable')).toBe(true); // never a misleading "switched off"
    await expect(transport.startScan(() => undefined)).rejects.toMatchObject({ code: 'adapter-off', message: expect.stringContaining('helper stopped') });
    await expect(transport.connect('sim-theragun-pro', 500)).rejects.toMatchObject({ code: 'adapter-off' });
    await waitFor(() => failed.length === 1, 5000, 'reconnect given up');
  });

  it('rejects malformed lines written into the helper without crashing it, and keeps serving', async () => {
    const { child, transport, lines } = startHelper();
    await waitFor(() => transport.adapterState().state === 'poweredOn', 5000);
    child.stdin!.write('this is not json\n');
    child.stdin!.write('{"k":"call","m":"write","a":["sim-theragun-pro","ffe0","ffe2","not bytes",false]}\n');
    child.stdin!.write(`${'{'.repeat(2_000_000)}\n`);
    await waitFor(() => lines.filter((l) => l.includes('the Bluetooth helper reports')).length >= 3, 5000);
    expect(lines.filter((l) => l.includes('the Bluetooth helper reports: rejected a line'))).toHaveLength(3);
    expect(child.exitCode).toBeNull();
    const { conn } = await hearAndConnect(transport, 'sim-theragun-pro');
    await speed1750(conn);
    expect(transport.pipe().droppedLines).toBe(0);
  });

  it('dispose closes the helper’s stdin and it exits by itself (status 0)', async () => {
    const { transport } = startHelper();
    await waitFor(() => transport.adapterState().state === 'poweredOn', 5000);
    await transport.dispose();
    expect(transport.helperExit()).toEqual({ code: 0, signal: null });
  });

  it.runIf(nobleLoadErrorCode() === 'EAFNOSUPPORT')(
    'without --simulated on this machine (no Bluetooth): the helper reports why, exits 2, and the transport is unavailable',
    async () => {
      const logs: string[] = [];
      const transport = spawnHelperTransport({ command: process.execPath, args: [HELPER_JS], log: (l) => logs.push(l) });
      cleanups.push(() => transport.dispose());
      await waitFor(() => transport.helperExit() !== null, 5000);
      expect(transport.helperExit()).toEqual({ code: 2, signal: null });
      expect(transport.adapterState()).toEqual({
        state: 'unavailable',
        message: 'This computer has no Bluetooth support that Unknot can use (EAFNOSUPPORT: no Bluetooth socket family).',
        hint: 'Plug in a Bluetooth LE adapter and restart Unknot, or try the simulated devices.',
      });
      expect(logs.some((l) => l.startsWith('unknot-ble-helper: cannot open the Bluetooth adapter'))).toBe(true);
      await expect(transport.startScan(() => undefined)).rejects.toMatchObject({ code: 'adapter-off' });
    },
  );

  it('loadSystemTransport uses a helper given by path (UNKNOT_BLE_HELPER) instead of loading noble here', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'unknot-helper-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const script = join(dir, 'unknot-ble-helper');
    writeFileSync(script, `#!/bin/sh\nexec '${process.execPath}' '${HELPER_JS}' --simulated "$@"\n`);
    chmodSync(script, 0o755);
    const transport = loadSystemTransport({ helper: findBleHelper('linux', { UNKNOT_BLE_HELPER: script }), platform: 'linux' });
    expect(transport).toBeInstanceOf(HelperTransport);
    cleanups.push(() => (transport as HelperTransport).dispose());
    const heard: string[] = [];
    await transport.startScan((p) => heard.push(p.id));
    await waitFor(() => heard.includes('sim-theragun-pro'), 5000);
    await transport.stopScan();
  });
});

// ---------------------------------------------------------------- choosing the helper

describe('findBleHelper and the default on this machine', () => {
  it('uses UNKNOT_BLE_HELPER, else the packaged helper when it exists, and only on Linux', () => {
    const none = () => false;
    const all = () => true;
    expect(findBleHelper('linux', { UNKNOT_BLE_HELPER: '/x/helper' }, undefined, none)).toBe('/x/helper');
    expect(findBleHelper('linux', {}, '/opt/Unknot/resources', all)).toBe('/opt/Unknot/resources/ble-helper/unknot-ble-helper');
    expect(findBleHelper('linux', {}, '/opt/Unknot/resources', none)).toBeNull();
    expect(findBleHelper('linux', { APPIMAGE: '/home/u/Unknot.AppImage' }, '/tmp/.mount_x/resources', all)).toBeNull();
    expect(findBleHelper('linux', {}, undefined, all)).toBeNull();
    expect(findBleHelper('darwin', { UNKNOT_BLE_HELPER: '/x/helper' }, '/r', all)).toBeNull();
    expect(findBleHelper('win32', {}, '/r', all)).toBeNull();
  });

  it('changes nothing by default here: no helper is configured, noble loads in-process as before', () => {
    expect(process.env.UNKNOT_BLE_HELPER).toBeUndefined();
    expect(findBleHelper()).toBeNull();
    expect(loadSystemTransport()).not.toBeInstanceOf(HelperTransport);
  });

  it('a helper that cannot be started leaves the transport unavailable with the reason', async () => {
    const transport = spawnHelperTransport({ command: '/nonexistent/unknot-ble-helper', log: () => undefined });
    cleanups.push(() => transport.dispose());
    await waitFor(() => transport.adapterState().state === 'unavailable', 5000);
    expect(transport.adapterState().message).toBe("Unknot's Bluetooth helper is missing (/nonexistent/unknot-ble-helper).");
    await expect(transport.connect('x', 100)).rejects.toMatchObject({ code: 'adapter-off' });
    expect(describeHelperGone('/h', { k: 'fault', message: 'x', code: 'EPERM', fatal: true }, { code: 2, signal: null }).hint).toContain(
      'sudo setcap cap_net_raw,cap_net_admin+ep /h',
    );
  });
});
