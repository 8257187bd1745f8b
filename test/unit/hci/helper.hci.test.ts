/**
 * The Bluetooth helper on noble's real HCI code (issue 19): the built helper
 * (`out/main/ble-helper.js`, as shipped) started as `node --require <test preload>
 * out/main/ble-helper.js`, the preload planting a virtual controller and the simulated
 * Theragun Pro on bleno inside the helper process. The app's side is its own: the
 * HelperTransport over PipeBindings, under the app core. Needs `npm run build`.
 *
 * - a routine runs through the helper, every byte at the gun accounted for;
 * - the helper outlives SIGINT and SIGHUP and exits when its stdin closes;
 * - a Ctrl+C to the process group of the browser host and its helper: the host's stop
 *   reaches the gun before the helper exits.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCore } from '../../../electron/core/app-core';
import type { AppCore } from '../../../electron/core/app-core';
import type { DeviceStatusEvent, ScanResults, SessionEndedEvent, SessionStartResult } from '../../../electron/ipc/contract';
import { openBenchClient } from '../../bench/bench-client';
import { GUN, STOP } from '../../support/hci/link-faults';
import { ROOT, helperScript, radioSocket, startHelperOnVirtualController } from '../../support/hci/helper-rig';
import type { HelperRig } from '../../support/hci/helper-rig';
import { remoteRadio } from '../../support/hci/radio-control';
import type { NobleView, RadioWrite } from '../../support/hci/radio-control';
import { sleep, until } from '../../support/wait';

const ANSWERS = { pregnant: false, 'heart-condition': false, 'high-blood-pressure': false };
/** A Theragun speed frame `AA cs 01 03 hi lo 03` with a right checksum: its rpm, else undefined. */
function speedOf(hex: string): number | undefined {
  const b = Buffer.from(hex, 'hex');
  if (b.length !== 7 || b[0] !== 0xaa || b[2] !== 0x01 || b[3] !== 0x03 || b[6] !== 0x03) return undefined;
  const cs = (b[2]! + b[3]! + b[4]! + b[5]! + b[6]!) & 0xff;
  return cs === b[1] ? b.readUInt16BE(4) : undefined;
}
const exited = (child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> =>
  child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve({ code: child.exitCode, signal: child.signalCode })
    : new Promise((r) => child.once('exit', (code, signal) => r({ code, signal })));

describe('a routine through the Bluetooth helper on noble’s HCI binding (30 ms connection interval)', () => {
  let rig: HelperRig;
  let core: AppCore;
  beforeAll(async () => {
    rig = await startHelperOnVirtualController({ sims: ['Pro'], connectionIntervalMs: 30 });
  }, 30_000);
  afterAll(async () => {
    await core?.shutdown();
    await rig?.dispose();
  }, 30_000);

  it('the adapter comes up over the pipe as poweredOn, from noble’s own init at the virtual controller', async () => {
    await until(() => rig.transport.adapterState().state === 'poweredOn', 5000, 'poweredOn');
    expect(rig.transport.name).toBe('noble');
    expect(rig.transport.adapterState()).toEqual({ state: 'poweredOn', message: 'Bluetooth is on.', hint: '' });
    const view = await rig.radio.request<NobleView>({ op: 'noble' });
    // noble's raw-mode init (no Reset), sent by the helper's noble to hci0
    for (const c of ['setEventMask', 'leSetEventMask', 'readLocalVersion', 'leReadBufferSize', 'readBdAddr', 'leSetScanParameters']) expect(view.commandCounts[c]).toBeGreaterThanOrEqual(1);
    expect(view.commandCounts.reset).toBeUndefined();
    expect(rig.log.some((l) => l.includes("serving noble's HCI binding"))).toBe(true);
  });

  it('guided steps reach the gun byte for byte as the app wrote them, capped and ramped, and the stop ends it', async () => {
    core = await createCore({ dataDir: mkdtempSync(join(tmpdir(), 'unknot-hci-helper-')), demo: false, timeScale: 1, host: 'browser', version: 'test', systemTransport: rig.transport });
    const events: { event: string; payload: unknown }[] = [];
    core.attach({ id: 'ws:1', kind: 'ws', send: (event, payload) => events.push({ event, payload }) });
    const ok = async <T,>(channel: string, payload?: unknown): Promise<T> => {
      const r = await core.handle('ws:1', channel, payload);
      if (!r.ok) throw new Error(`${channel}: ${r.error.code} ${r.error.message}`);
      return r.result as T;
    };
    const rpm = (): number => Number(rig.radio.lastState(GUN.name)?.rpm ?? 0);
    await ok('screening.set', { answers: ANSWERS });
    await ok('settings.set', { doctorNoticeAcknowledged: true });
    await ok('scan.start');
    const heard = await until(() => ([...events].reverse().find((e) => e.event === 'scan.results')?.payload as ScanResults | undefined)?.devices.find((d) => d.peripheralId === GUN.id), 5000, 'the gun in the scan');
    expect(heard).toMatchObject({ peripheralId: GUN.id, name: 'Pro', simulated: false });
    await ok('device.connect', { peripheralId: GUN.id });
    const link = core.internals().link!;
    const appWrote: string[] = [];
    link.on('wrote', (w) => appWrote.push(Buffer.from(w.bytes).toString('hex')));
    const from = rig.radio.writes(GUN.name).length;
    await rig.radio.request({ op: 'clear-trace' });

    const s = await ok<SessionStartResult>('session.start', { muscleGroup: 'upper-back', plannedMotorSeconds: 120 });
    const hb = setInterval(() => void core.handle('ws:1', 'session.heartbeat', { sessionId: s.sessionId }), 300);
    try {
      // the routine's four steps: around the knot, toward it, on it, the whole back
      for (const [intensity, motion, target] of [
        [0.3, 'circular', 1085],
        [0.45, 'back-and-forth', 1628],
        [0.9, 'on-knot', 2169], // held at the 60% ceiling: floor(0.6 × 3616)
        [0.2, 'long-strokes', 724],
      ] as const) {
        await ok('session.setStep', { sessionId: s.sessionId, intensity, motion });
        await until(() => rpm() === target, 8000, `the gun at ${target} rpm`);
      }
      await ok('device.stop');
      await until(() => rpm() === 0, 3000, 'the gun stops');
    } finally {
      clearInterval(hb);
    }
    await sleep(200); // the stop's status request and its answer
    const atGun = rig.radio.writes(GUN.name).slice(from);
    const hex = atGun.map((w: RadioWrite) => w.hex);
    // every byte at the gun is one the app wrote, in the same order, and nothing else
    expect(hex).toEqual(appWrote);
    expect(atGun.every((w) => w.withResponse && w.accepted)).toBe(true);
    const speeds = hex.map(speedOf).filter((v): v is number => v !== undefined);
    expect(Math.max(...speeds)).toBe(2169);
    for (const target of [1085, 1628, 2169, 724]) expect(speeds).toContain(target);
    // the stop is the last speed frame, exactly AA 07 01 03 00 00 03; only the status request follows
    const stopAt = hex.lastIndexOf(STOP);
    expect(stopAt).toBeGreaterThan(0);
    expect(hex.slice(stopAt + 1).every((h) => h === 'aa101000')).toBe(true);
    expect(speeds.at(-1)).toBe(0);
    // the same bytes as noble's own ATT Write Requests, in the helper's HCI trace
    const view = await rig.radio.request<NobleView>({ op: 'noble' });
    expect(view.att.filter((p) => p.from === 'host' && p.opcode === 0x12).map((p) => p.hex.slice(6))).toEqual(hex);
    const ended = events.filter((e) => e.event === 'session.ended').map((e) => e.payload as SessionEndedEvent);
    expect(ended).toMatchObject([{ sessionId: s.sessionId, reason: 'user-stop' }]);
    expect((events.filter((e) => e.event === 'device.status').at(-1)?.payload as DeviceStatusEvent).running).toBe(false);
    expect(rig.transport.pipe().droppedLines).toBe(0);
    expect(await rig.radio.request({ op: 'problems' })).toEqual([]);
  }, 60_000);
});

describe('signals reach the helper the right way', () => {
  it('the helper on noble’s HCI binding outlives SIGINT and SIGHUP (noble’s own SIGINT handler would exit it) and exits when its stdin closes', async () => {
    const rig = await startHelperOnVirtualController({ sims: ['Pro'], connectionIntervalMs: 15 });
    try {
      await until(() => rig.transport.adapterState().state === 'poweredOn', 5000, 'poweredOn');
      const gone = exited(rig.child);
      rig.child.kill('SIGINT');
      rig.child.kill('SIGHUP');
      const early = await Promise.race([gone, sleep(700).then(() => null)]);
      expect(early).toBeNull();
      // still serving: a scan through the pipe hears the gun
      const heard: string[] = [];
      await rig.transport.startScan((p) => heard.push(p.id));
      await until(() => heard.includes(GUN.id), 3000, 'the gun heard after the signals');
      await rig.transport.stopScan();
      rig.child.stdin!.end();
      expect(await gone).toEqual({ code: 0, signal: null });
    } finally {
      await rig.dispose();
    }
  }, 30_000);

  it('Ctrl+C to the process group of the browser host and its helper: the host’s stop reaches the gun on the wire before the helper exits', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'unknot-hci-sigint-'));
    const sock = await radioSocket({ sims: ['Pro'], connectionIntervalMs: 15 });
    const script = await helperScript(dir);
    // The host leads its own process group (as a terminal's foreground job does); the helper it spawns joins it.
    const host = spawn(process.execPath, [join(ROOT, 'out/main/host.js'), '--port', '0'], {
      cwd: ROOT,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...sock.env, UNKNOT_BLE_HELPER: script, UNKNOT_DATA_DIR: join(dir, 'data') },
    });
    let out = '';
    host.stdout!.setEncoding('utf8').on('data', (c: string) => (out += c));
    host.stderr!.setEncoding('utf8').on('data', (c: string) => (out += c));
    const hostGone = exited(host);
    try {
      const radio = remoteRadio(await Promise.race([sock.connection, hostGone.then(() => Promise.reject(new Error(`the host exited:\n${out}`)))]));
      const helperPid = await radio.ready;
      const url = await until(() => /Open (http:\/\/127\.0\.0\.1:(\d+)\/\?token=([A-Za-z0-9_-]+))/.exec(out), 10_000, 'the host’s address');
      const client = await openBenchClient(Number(url[2]), url[3]!);
      await client.connectDevice(GUN.id);
      const s = await client.request<SessionStartResult>('session.start', { muscleGroup: 'upper-back', plannedMotorSeconds: 120 });
      const hb = setInterval(() => client.fire('session.heartbeat', { sessionId: s.sessionId }), 300);
      try {
        await client.request('session.setStep', { sessionId: s.sessionId, intensity: 0.3, motion: 'circular' });
        await until(() => Number(radio.lastState(GUN.name)?.rpm) === 1085, 8000, 'the gun runs at 1085 rpm');
        const from = radio.writes(GUN.name).length;
        // Ctrl+C in the terminal: SIGINT to every process of the group, host and helper alike
        process.kill(-host.pid!, 'SIGINT');
        const { writesSeen } = await radio.closed; // the helper's side closes when it exits
        const beforeExit = radio.writes(GUN.name).slice(0, writesSeen).slice(from).map((w) => w.hex);
        expect(beforeExit[0]).toBe(STOP);
        expect(radio.lastState(GUN.name)?.rpm).toBe(0);
        expect(await hostGone).toEqual({ code: 0, signal: null });
        expect(() => process.kill(helperPid, 0)).toThrow(); // the helper is gone too
      } finally {
        clearInterval(hb);
        client.ws.close();
      }
    } finally {
      if (host.exitCode === null && host.signalCode === null) process.kill(-host.pid!, 'SIGKILL');
      await hostGone;
      sock.server.close();
      rmSync(dir, { recursive: true, force: true });
      rmSync(sock.dir, { recursive: true, force: true });
    }
  }, 60_000);
});
