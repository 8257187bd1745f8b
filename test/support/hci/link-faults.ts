/**
 * Link faults below noble (issue 19), as the app and the simulated Theragun Pro see them:
 * the app core on noble's real HCI binding, on a virtual controller whose link fails
 * where real radios fail. One suite, run twice: through the Bluetooth helper process (the
 * app's HelperTransport over the JSON-line pipe; noble and the world in the helper) and
 * in-process (noble and the world in the test's process).
 *
 * Each case checks three things: what noble did (read off the central's HCI traffic),
 * what the app did (timeouts, the paused session and its reason, the reconnect whose
 * first write is the stop, the messages the renderer gets), and the exact bytes that
 * reached the gun. Ceiling 0.6 of 3616 rpm; 0.3 → 1085 rpm, 0.5 → 1808 rpm.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createCore } from '../../../electron/core/app-core';
import type { AppCore, CoreOptions } from '../../../electron/core/app-core';
import type { AdapterInfo, DeviceStatusEvent, EventChannel, Reply, ScanResults, SessionStartResult, SessionStateEvent } from '../../../electron/ipc/contract';
import type { Transport } from '../../../electron/ble/types';
import type { NobleView, RadioControl } from './radio-control';
import { sleep, until } from '../wait';

/** What a run of the suite needs: the app's system transport and a handle on the world under it. */
export interface FaultRig {
  transport: Transport;
  radio: RadioControl;
  dispose(): Promise<void>;
}

/** The gun's local name and noble's id for it (the first peripheral's address, c0:ff:ee:00:00:01). */
export const GUN = { name: 'Pro', id: 'c0ffee000001' } as const;
/** The gun's stop, `AA 07 01 03 00 00 03` (speed 0). */
export const STOP = 'aa070103000003';
/** The gun's status request. */
const STATUS_REQUEST = 'aa101000';
const HAND_OFF = /It may still be running\. Press the power button on the massage gun to switch it off/;
const ANSWERS = { pregnant: false, 'heart-condition': false, 'high-blood-pressure': false };
/** A Theragun speed frame `AA cs 01 03 hi lo 03`, and its rpm. */
const rpmOf = (h: string): number | undefined => (h.length === 14 && h.startsWith('aa') && h.slice(4, 8) === '0103' ? parseInt(h.slice(8, 12), 16) : undefined);


/** The transport, minus `dispose`: each case's core ends, the rig (noble, the helper) lives on. */
function keepOpen(t: Transport): Transport {
  return {
    name: t.name,
    adapterState: () => t.adapterState(),
    onAdapterState: (l) => t.onAdapterState(l),
    startScan: (d) => t.startScan(d),
    stopScan: () => t.stopScan(),
    connect: (id, ms) => t.connect(id, ms),
    dispose: () => t.stopScan(),
  };
}

/** Registers the link-fault suite on the rig `makeRig` builds (once for the file). */
export function describeLinkFaults(title: string, makeRig: () => Promise<FaultRig>): void {
  describe(title, () => {
    let rig: FaultRig;
    let core: AppCore | null = null;
    let events: { event: EventChannel; payload: unknown }[] = [];
    let heartbeat: ReturnType<typeof setInterval> | null = null;

    beforeAll(async () => {
      rig = await makeRig();
      await until(() => rig.transport.adapterState().state === 'poweredOn', 5000, 'the adapter is on');
    }, 30_000);
    afterAll(async () => {
      await rig?.dispose();
    }, 30_000);
    afterEach(async () => {
      if (heartbeat) clearInterval(heartbeat);
      heartbeat = null;
      await core?.shutdown();
      core = null;
      // every fault off and the gun at rest for the next case
      await rig.radio.request({ op: 'reset' });
      await until(() => rig.transport.adapterState().state === 'poweredOn', 5000, 'the adapter is on again');
    }, 30_000);

    const radio = (): RadioControl => rig.radio;
    const call = (channel: string, payload?: unknown): Promise<Reply> => core!.handle('ws:1', channel, payload);
    const ok = async <T>(channel: string, payload?: unknown): Promise<T> => {
      const r = await call(channel, payload);
      if (!r.ok) throw new Error(`${channel}: ${r.error.code} ${r.error.message}`);
      return r.result as T;
    };
    const writes = (): string[] => radio().writes(GUN.name).map((w) => w.hex);
    const rpm = (): number => Number(radio().lastState(GUN.name)?.rpm ?? 0);
    const mark = (): number => events.length;
    const since = <T>(from: number, channel: EventChannel): T[] =>
      events
        .slice(from)
        .filter((e) => e.event === channel)
        .map((e) => e.payload as T);
    const last = <T>(channel: EventChannel): T | undefined => since<T>(0, channel).at(-1);
    const connection = (): DeviceStatusEvent['connection'] | undefined => last<DeviceStatusEvent>('device.status')?.connection;
    const noble = (): Promise<NobleView> => radio().request<NobleView>({ op: 'noble' });

    async function boot(options: Partial<CoreOptions> = {}): Promise<void> {
      core = await createCore({
        dataDir: mkdtempSync(join(tmpdir(), 'unknot-hci-faults-')),
        demo: false,
        timeScale: 1,
        host: 'browser',
        version: 'test',
        systemTransport: keepOpen(rig.transport),
        reconnect: { initialDelayMs: 50, maxDelayMs: 300 },
        ...options,
        linkTimeouts: { connectMs: 1000, discoveryMs: 2000, writeMs: 600, ...options.linkTimeouts },
      });
      events = [];
      core.attach({ id: 'ws:1', kind: 'ws', send: (event, payload) => events.push({ event, payload }) });
      await ok('screening.set', { answers: ANSWERS });
      await ok('settings.set', { doctorNoticeAcknowledged: true });
      await ok('scan.start');
      await until(() => last<ScanResults>('scan.results')?.devices.some((d) => d.peripheralId === GUN.id), 5000, 'the gun is heard');
      await ok('device.connect', { peripheralId: GUN.id });
      expect(connection()).toBe('connected');
      await sleep(100); // the init writes (firmware query, status request) go out
    }

    /** Starts a session at 0.3 (heartbeats every 300 ms) and waits until the gun runs at 1085 rpm. */
    async function runSession(): Promise<string> {
      const s = await ok<SessionStartResult>('session.start', { muscleGroup: 'upper-back', plannedMotorSeconds: 240 });
      heartbeat = setInterval(() => void call('session.heartbeat', { sessionId: s.sessionId }), 300);
      await ok('session.setStep', { sessionId: s.sessionId, intensity: 0.3 });
      await until(() => rpm() === 1085, 5000, 'the ramp reaches 0.3 (1085 rpm)');
      return s.sessionId;
    }

    /** The session paused with a reason matching `reason` and the hand-off advice. */
    async function expectPaused(e0: number, reason: RegExp, ms = 5000): Promise<SessionStateEvent> {
      const paused = await until(() => since<SessionStateEvent>(e0, 'session.state').find((s) => s.state === 'paused'), ms, 'the session pauses');
      expect(paused.pausedReason).toMatch(reason);
      expect(paused.pausedReason).toMatch(HAND_OFF);
      const reconnecting = since<DeviceStatusEvent>(e0, 'device.status').find((d) => d.connection === 'reconnecting');
      expect(reconnecting?.message).toMatch(HAND_OFF);
      return paused;
    }

    /** Reconnected; the first write since `from` is the stop, the gun stops, the session stays paused. */
    async function expectReconnectedWithStop(from: number, sessionId: string, ms = 8000): Promise<void> {
      await until(() => connection() === 'connected', ms, 'reconnected');
      await until(() => writes().length > from, 2000, 'a write after reconnecting');
      expect(writes()[from]).toBe(STOP);
      await until(() => rpm() === 0, 2000, 'the gun stops');
      expect(last<DeviceStatusEvent>('device.status')).toMatchObject({ connection: 'connected', message: 'Reconnected. The motor stays off until you resume.' });
      // nothing that moves the motor was written since: only the stop and the status requests that confirm it
      await sleep(300);
      expect(writes().slice(from).filter((h) => h !== STOP && h !== STATUS_REQUEST)).toEqual([]);
      expect(last<SessionStateEvent>('session.state')).toMatchObject({ sessionId, state: 'paused' });
      expect(since(0, 'session.ended')).toEqual([]);
    }

    it('the link drops: noble gets Disconnection Complete 0x08 and connects again; the session pauses; the reconnect’s first write is the stop', async () => {
      await boot();
      const id = await runSession();
      expect(writes().filter((h) => rpmOf(h) !== undefined).at(-1)).toBe('aa480103043d03'); // 1085 rpm on the wire
      const from = writes().length;
      await radio().request({ op: 'clear-trace' });
      const e0 = mark();
      expect(await radio().request({ op: 'drop', name: GUN.name })).toBe(1);
      await expectPaused(e0, /^Lost contact with the massager: the connection timed out/);
      expect(rpm()).toBe(1085); // nothing could reach it: it runs on
      await expectReconnectedWithStop(from, id);
      const view = await noble();
      expect(view.hci.find((l) => /disconnectionComplete/.test(l))).toMatch(/^→ noble event disconnectionComplete handle \d+ reason 0x8$/);
      expect(view.hci.filter((l) => l === 'noble → command leCreateConnection').length).toBeGreaterThanOrEqual(1);
      // noble's own ATT: the MTU exchange, discovery, then the stop as a Write Request
      expect(view.att.find((p) => p.from === 'host')?.hex).toBe('020001');
      expect(view.att.filter((p) => p.from === 'host' && p.opcode === 0x12).map((p) => p.hex.slice(6))[0]).toBe(STOP);
      expect(await radio().request({ op: 'problems' })).toEqual([]);
    });

    it('a stalled controller (no Number of Completed Packets): noble fills its 4 ACL buffers and queues the rest; the write times out, the session pauses; once the controller recovers, the reconnect’s first write is the stop', async () => {
      await boot();
      const id = await runSession();
      const from = writes().length;
      await radio().request({ op: 'clear-trace' });
      await radio().request({ op: 'stall', name: 'central', on: true });
      const e0 = mark();
      const t0 = Date.now();
      // the step change ramps up in several writes: the first ones fill the buffers, then nothing moves
      await ok('session.setStep', { sessionId: id, intensity: 0.5 });
      await expectPaused(e0, /^Lost contact with the massager: a write timed out/);
      expect(Date.now() - t0).toBeLessThan(4000);
      let view = await noble();
      const firstDisconnect = view.hci.findIndex((l) => l === 'noble → command disconnect');
      expect(firstDisconnect).toBeGreaterThanOrEqual(0); // the app's timeout made noble hang up
      // noble kept to the controller's 4 buffers: exactly 4 ACL packets (one Write Request each)
      // went out and reached the gun; the next write stayed in noble's queue until the hang-up
      const sentBeforeHangUp = writes().length - from;
      expect(sentBeforeHangUp).toBe(4);
      expect(view.att.filter((p) => p.from === 'host').map((p) => p.hex.slice(6))).toEqual(writes().slice(from));
      expect(await radio().request({ op: 'problems' })).toEqual([]); // no buffer overrun
      // while the controller stays stalled, every reconnect gets stuck in discovery
      await sleep(1000);
      expect(connection()).toBe('reconnecting');
      await radio().request({ op: 'stall', name: 'central', on: false });
      await expectReconnectedWithStop(from + sentBeforeHangUp, id);
      view = await noble();
      expect(view.hci.filter((l) => l === 'noble → command disconnect').length).toBeGreaterThanOrEqual(1);
      expect(await radio().request({ op: 'problems' })).toEqual([]);
    });

    it('the gun goes out of range right after a write reached it: no Write Response, noble reports 0x08 after the supervision timeout; the gun runs on at the new speed until the reconnect’s stop', async () => {
      await boot({ linkTimeouts: { writeMs: 2000 } });
      const id = await runSession();
      const from = writes().length;
      await radio().request({ op: 'clear-trace' });
      await radio().request({ op: 'lose-on-next-write', name: GUN.name });
      const e0 = mark();
      await ok('session.setStep', { sessionId: id, intensity: 0.5 });
      await until(() => writes().length > from, 2000, 'the write reaches the gun');
      const reached = writes()[from]!;
      expect(rpmOf(reached)).toBeGreaterThan(1085); // the first step of the rise toward 1808 rpm
      await expectPaused(e0, /^Lost contact with the massager: the connection timed out/);
      const view = await noble();
      const requests = view.att.filter((p) => p.from === 'host' && p.opcode === 0x12);
      expect(requests.at(-1)?.hex.slice(6)).toBe(reached);
      expect(view.att.filter((p) => p.from === 'controller' && p.opcode === 0x13 && p.atMs > requests.at(-1)!.atMs)).toEqual([]);
      expect(view.hci.filter((l) => /disconnectionComplete/.test(l))).toEqual([expect.stringMatching(/^→ noble event disconnectionComplete handle \d+ reason 0x8$/)]);
      // it runs on at what it last received, and the app keeps trying while it is away
      await sleep(800);
      expect(rpm()).toBe(rpmOf(reached));
      expect(connection()).toBe('reconnecting');
      expect(writes().length).toBe(from + 1);
      // back in range
      await radio().request({ op: 'power', name: GUN.name, on: true });
      await expectReconnectedWithStop(from + 1, id, 10_000);
      expect(await radio().request({ op: 'problems' })).toEqual([]);
    });

    it('the adapter is switched off: noble reports poweredOff, the link ends, the session pauses and the user is told; on again, the reconnect’s first write is the stop', async () => {
      await boot();
      const id = await runSession();
      const from = writes().length;
      const e0 = mark();
      await radio().request({ op: 'power', name: 'central', on: false });
      await until(() => since<AdapterInfo>(e0, 'adapter.state').some((a) => a.state === 'poweredOff'), 4000, 'adapter.state poweredOff');
      expect(rig.transport.adapterState().state).toBe('poweredOff');
      expect(last<AdapterInfo>('adapter.state')?.message).toBe('Bluetooth is switched off.');
      await expectPaused(e0, /^Lost contact with the massager: Bluetooth was switched off/);
      expect(rpm()).toBe(1085);
      await radio().request({ op: 'power', name: 'central', on: true });
      await until(() => since<AdapterInfo>(e0, 'adapter.state').some((a) => a.state === 'poweredOn'), 4000, 'adapter.state poweredOn');
      await expectReconnectedWithStop(from, id, 10_000);
      expect(await radio().request({ op: 'problems' })).toEqual([]);
    });

    it('the gun refuses connections: noble gets LE Connection Complete 0x3E; connecting is refused with the reason; a dropped session keeps retrying until it is accepted, then the first write is the stop', async () => {
      await radio().request({ op: 'refuse', name: GUN.name, on: true });
      core = await createCore({
        dataDir: mkdtempSync(join(tmpdir(), 'unknot-hci-faults-')),
        demo: false,
        timeScale: 1,
        host: 'browser',
        version: 'test',
        systemTransport: keepOpen(rig.transport),
      });
      events = [];
      core.attach({ id: 'ws:1', kind: 'ws', send: (event, payload) => events.push({ event, payload }) });
      await ok('scan.start');
      await until(() => last<ScanResults>('scan.results')?.devices.some((d) => d.peripheralId === GUN.id), 5000, 'the gun is heard');
      await radio().request({ op: 'clear-trace' });
      const before = writes().length;
      expect(await call('device.connect', { peripheralId: GUN.id })).toMatchObject({
        ok: false,
        error: { code: 'device-error', message: 'Could not connect: The device refused the connection (Connection Failed to be Established (0x3e)).' },
      });
      expect(connection()).not.toBe('connected');
      expect(writes().length).toBe(before);
      expect((await noble()).hci).toContain('→ noble event leConnectionComplete status 62 handle 0 role 0');
      await core.shutdown();
      core = null;

      await radio().request({ op: 'refuse', name: GUN.name, on: false });
      await boot();
      const id = await runSession();
      const from = writes().length;
      await radio().request({ op: 'refuse', name: GUN.name, on: true });
      await radio().request({ op: 'clear-trace' });
      const e0 = mark();
      await radio().request({ op: 'drop', name: GUN.name });
      await expectPaused(e0, /^Lost contact with the massager: the connection timed out/);
      await sleep(800);
      const refusals = (await noble()).hci.filter((l) => l === '→ noble event leConnectionComplete status 62 handle 0 role 0').length;
      expect(refusals).toBeGreaterThanOrEqual(2); // attempt after attempt, each refused
      expect(connection()).toBe('reconnecting');
      expect(rpm()).toBe(1085);
      await radio().request({ op: 'refuse', name: GUN.name, on: false });
      await expectReconnectedWithStop(from, id);
      expect(await radio().request({ op: 'problems' })).toEqual([]);
    });

    it('the gun stops advertising after the drop: noble’s LE Create Connection goes unanswered, the app’s connect timeout cancels it (LE Create Connection Cancel) and retries; advertising again, the reconnect’s first write is the stop', async () => {
      await boot();
      const id = await runSession();
      const from = writes().length;
      await radio().request({ op: 'advertising', name: GUN.name, on: false });
      await radio().request({ op: 'clear-trace' });
      const e0 = mark();
      await radio().request({ op: 'drop', name: GUN.name });
      await expectPaused(e0, /^Lost contact with the massager: the connection timed out/);
      await sleep(1400);
      const view = await noble();
      expect(view.hci.filter((l) => l === 'noble → command leCreateConnectionCancel').length).toBeGreaterThanOrEqual(1);
      expect(view.hci.filter((l) => /leConnectionComplete status 0 /.test(l))).toEqual([]);
      expect(connection()).toBe('reconnecting');
      expect(rpm()).toBe(1085);
      await radio().request({ op: 'advertising', name: GUN.name, on: true });
      await expectReconnectedWithStop(from, id);
      expect(await radio().request({ op: 'problems' })).toEqual([]);
    });

    it('the gun’s ATT answers come 1.5 s late, past the 600 ms write timeout: the write times out and noble hangs up; reconnecting fails in discovery while it stays slow; at normal speed again, the first write is the stop', async () => {
      await boot();
      const id = await runSession();
      const from = writes().length;
      await radio().request({ op: 'att-delay', name: GUN.name, ms: 1500 });
      await radio().request({ op: 'clear-trace' });
      const e0 = mark();
      const t0 = Date.now();
      await ok('session.setStep', { sessionId: id, intensity: 0.5 });
      await expectPaused(e0, /^Lost contact with the massager: a write timed out/);
      const tookMs = Date.now() - t0;
      expect(tookMs).toBeGreaterThanOrEqual(550);
      expect(tookMs).toBeLessThan(1500);
      // the request reached the gun (only its answer is late): it runs at the new speed
      const reached = writes()[from]!;
      expect(rpmOf(reached)).toBeGreaterThan(1085);
      const view = await noble();
      const request = view.att.find((p) => p.from === 'host' && p.opcode === 0x12)!;
      expect(request.hex.slice(6)).toBe(reached);
      expect(view.hci).toContain('noble → command disconnect');
      await sleep(1000);
      expect(connection()).toBe('reconnecting');
      await radio().request({ op: 'att-delay', name: GUN.name, ms: 0 });
      await expectReconnectedWithStop(from + 1, id, 10_000);
      expect(await radio().request({ op: 'problems' })).toEqual([]);
    });
  });
}
