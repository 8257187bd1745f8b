/**
 * Device link robustness at the level of the app core: for each fault of the
 * simulated radio, what the renderer sees (`device.status`, `session.state`,
 * `session.ended`, `safety.warning`, request replies) and what the simulated Theragun
 * Pro ends up doing (its rpm and the bytes written to it). DESIGN §4.
 *
 * Real time throughout, with short link timeouts and reconnect delays so the file
 * stays fast. Ceiling 0.6 of 3616 rpm = 2169 rpm; 0.3 → 1085 rpm.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createCore, type AppCore, type CoreOptions } from '../../../electron/core/app-core';
import type {
  BudgetInfo,
  DeviceStatusEvent,
  EventChannel,
  Reply,
  ScanResults,
  SessionEndedEvent,
  SessionStartResult,
  SessionStateEvent,
  WarningEvent,
} from '../../../electron/ipc/contract';
import type { DeviceLink } from '../../../electron/device/link';
import type { NobleTransport } from '../../../electron/ble/noble-transport';
import { sleep, until, within } from '../../support/wait';

const SIM = 'sim-theragun-pro';
const STOP = 'aa070103000003';
const ANSWERS = { pregnant: false, 'heart-condition': false, 'high-blood-pressure': false };
const HAND_OFF = /may still be running.*Press the power button on the massage gun to switch it off/;

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
/** A Theragun speed frame `AA cs 01 03 hi lo 03` (the stop is speed 0). */
const isSpeedFrame = (h: string): boolean => h.startsWith('aa') && h.slice(4, 8) === '0103' && h.length === 14;
const rpmOf = (h: string): number => parseInt(h.slice(8, 12), 16);



describe('device link faults as the renderer and the gun see them', () => {
  let core: AppCore | null = null;
  let events: { event: EventChannel; payload: unknown; atMs: number }[] = [];
  let heartbeat: ReturnType<typeof setInterval> | null = null;

  afterEach(async () => {
    if (heartbeat) clearInterval(heartbeat);
    heartbeat = null;
    vi.restoreAllMocks();
    await core?.shutdown();
    core = null;
  });

  const call = (channel: string, payload?: unknown, conn = 'ws:1'): Promise<Reply> => core!.handle(conn, channel, payload);
  const ok = async <T>(channel: string, payload?: unknown): Promise<T> => {
    const r = await call(channel, payload);
    if (!r.ok) throw new Error(`${channel}: ${r.error.code} ${r.error.message}`);
    return r.result as T;
  };
  const fault = (name: string): Promise<unknown> => ok('sim.fault', { peripheralId: SIM, fault: name });
  const radio = () => core!.simRadio()!;
  const rpm = (): number => Number(radio().peripheral(SIM)!.state().rpm);
  const writes = (): string[] => radio().writes(SIM).map((w) => hex(w.bytes));
  const mark = (): number => events.length;
  const since = <T>(from: number, channel: EventChannel): T[] =>
    events
      .slice(from)
      .filter((e) => e.event === channel)
      .map((e) => e.payload as T);
  const last = <T>(channel: EventChannel): T | undefined => since<T>(0, channel).at(-1);
  const connection = (): DeviceStatusEvent['connection'] | undefined => last<DeviceStatusEvent>('device.status')?.connection;
  const usedToday = async (): Promise<number> => (await ok<BudgetInfo[]>('usage.today')).find((b) => b.muscleGroup === 'upper-back')!.usedSeconds;
  /** The core's device link and simulated transport, read for listener counts only. */
  const internals = () => core!.internals() as { link: DeviceLink | null; simTransport: NobleTransport };

  async function boot(options: Partial<CoreOptions> = {}): Promise<void> {
    core = await createCore({
      dataDir: mkdtempSync(join(tmpdir(), 'unknot-faults-')),
      demo: true,
      timeScale: 1,
      host: 'browser',
      version: 'test',
      reconnect: { initialDelayMs: 20, maxDelayMs: 200 },
      ...options,
    });
    events = [];
    core.attach({ id: 'ws:1', kind: 'ws', send: (event, payload) => events.push({ event, payload, atMs: Date.now() }) });
    await ok('screening.set', { answers: ANSWERS });
    await ok('settings.set', { doctorNoticeAcknowledged: true });
    await ok('scan.start');
    await until(() => last<ScanResults>('scan.results')?.devices.some((d) => d.peripheralId === SIM), 3000, 'the gun is heard');
  }

  async function connect(): Promise<void> {
    await ok('device.connect', { peripheralId: SIM });
    expect(connection()).toBe('connected');
    await sleep(60); // the init writes (firmware query, status request) go out
  }

  /** Starts a session at 0.3 (heartbeats every 500 ms) and waits until the gun runs. */
  async function runSession(): Promise<string> {
    const s = await ok<SessionStartResult>('session.start', { muscleGroup: 'upper-back', plannedMotorSeconds: 240 });
    heartbeat = setInterval(() => void call('session.heartbeat', { sessionId: s.sessionId }), 500);
    await ok('session.setStep', { sessionId: s.sessionId, intensity: 0.3 });
    await until(() => rpm() > 0, 2000, 'the gun runs');
    return s.sessionId;
  }

  /** Waits for the reconnect; checks the first write on the new link is the stop and the gun stops. */
  async function expectReconnectedWithStop(writesBefore: number, ms = 3000): Promise<void> {
    await until(() => connection() === 'connected', ms, 'reconnected');
    await until(() => writes().length > writesBefore, 1000, 'a write after reconnecting');
    expect(writes()[writesBefore]).toBe(STOP);
    await until(() => rpm() === 0, 1000, 'the gun stops');
    expect(last<DeviceStatusEvent>('device.status')).toMatchObject({
      connection: 'connected',
      running: false,
      commandedStep: 0,
      message: 'Reconnected. The motor stays off until you resume.',
    });
    // no speed the gun reported before the drop is shown as current: only what it said since (0 rpm, the stop's proof)
    expect([undefined, 0]).toContain(last<DeviceStatusEvent>('device.status')?.reportedLevel);
  }

  /** Nothing but stops (and the status requests that confirm them) reached the gun since `from`. */
  const onlyStopsSince = (from: number): void => {
    expect(writes().slice(from).filter((h) => h !== STOP && h !== 'aa101000')).toEqual([]);
  };

  it('drop-link: pauses with the hand-off message, reconnects with a stop first, stays off until resume, counts motor time to the drop', async () => {
    await boot();
    await connect();
    const id = await runSession();
    await until(() => rpm() === 1085, 3000, 'the ramp reaches 0.3');
    await sleep(300);
    const runningRpm = rpm();
    const before = writes().length;
    const e0 = mark();
    const droppedAt = Date.now();
    await fault('drop-link');

    // paused, with what to do by hand
    const paused = await until(() => since<SessionStateEvent>(e0, 'session.state').find((s) => s.state === 'paused'), 1000, 'paused');
    expect(paused.sessionId).toBe(id);
    expect(paused.pausedReason).toMatch(/^Lost contact with the massager: the connection timed out/);
    expect(paused.pausedReason).toMatch(HAND_OFF);
    const usedAtDrop = paused.usedMotorSeconds;

    // reconnecting, then connected; the first write is the stop
    await expectReconnectedWithStop(before);
    const conns = since<DeviceStatusEvent>(e0, 'device.status').map((d) => d.connection);
    expect(conns.indexOf('reconnecting')).toBeGreaterThanOrEqual(0);
    expect(conns.lastIndexOf('connected')).toBeGreaterThan(conns.indexOf('reconnecting'));
    expect(since<DeviceStatusEvent>(e0, 'device.status').find((d) => d.connection === 'reconnecting')?.message).toMatch(HAND_OFF);
    expect(runningRpm).toBe(1085); // it really was running when the link dropped

    // the motor stays off: time passes, the owner changes the step, the session is still paused
    await ok('session.setStep', { sessionId: id, intensity: 0.4 });
    await sleep(400);
    onlyStopsSince(before);
    expect(rpm()).toBe(0);
    expect(last<SessionStateEvent>('session.state')).toMatchObject({ state: 'paused' });
    expect(since(e0, 'session.ended')).toEqual([]);

    // the session's clock stopped at the drop; usage also counts the time the gun may have
    // run on while unreachable, until the reconnect's stop was confirmed
    const elapsedToDrop = (droppedAt - events.find((e) => e.event === 'session.state')!.atMs) / 1000;
    expect(usedAtDrop).toBeGreaterThan(elapsedToDrop - 0.6);
    expect(usedAtDrop).toBeLessThanOrEqual(elapsedToDrop + 0.1);
    const unreachableSeconds = (Date.now() - droppedAt) / 1000;
    expect(await usedToday()).toBeGreaterThanOrEqual(usedAtDrop - 0.05);
    expect(await usedToday()).toBeLessThan(usedAtDrop + unreachableSeconds + 0.2);

    // resume: the gun runs again (the ramp starts from zero toward 0.4)
    const r = await ok<SessionStateEvent>('session.resume', { sessionId: id });
    expect(r.state).toBe('running');
    await until(() => rpm() > 0, 2000, 'the gun runs after resume');
    const after = writes().slice(before);
    expect(after[0]).toBe(STOP);
    expect(after.slice(1).some((h) => isSpeedFrame(h) && rpmOf(h) > 0)).toBe(true);
    await ok('device.stop');
    await until(() => rpm() === 0, 1000, 'stopped');
    expect(writes().at(-1)).toBe(STOP);
  });

  it('drop-link-mid-write: the same pause, and every request keeps answering while the link is down', async () => {
    await boot();
    await connect();
    const id = await runSession();
    await sleep(200);
    const before = writes().length;
    const e0 = mark();
    await fault('drop-link-mid-write');
    // the next write (this step change) never completes; the link drops under it
    expect(await within(call('session.setStep', { sessionId: id, intensity: 0.5 }), 300, 'setStep')).toMatchObject({ ok: true });
    const paused = await until(() => since<SessionStateEvent>(e0, 'session.state').find((s) => s.state === 'paused'), 2000, 'paused');
    expect(paused.pausedReason).toMatch(HAND_OFF);
    for (const [channel, payload] of [
      ['session.heartbeat', { sessionId: id }],
      ['device.list', undefined],
      ['usage.today', undefined],
      ['sim.state', undefined],
      ['session.setStep', { sessionId: id, intensity: 0.2 }],
    ] as const) {
      expect(await within(call(channel, payload), 300, channel)).toMatchObject({ ok: true });
    }
    await expectReconnectedWithStop(before);
    onlyStopsSince(before);
    // and a stop request answers and lands
    expect(await within(call('device.stop'), 1000, 'device.stop')).toMatchObject({ ok: true, result: { connection: 'connected', running: false } });
    expect(since<SessionEndedEvent>(e0, 'session.ended')).toMatchObject([{ sessionId: id, reason: 'user-stop' }]);
    expect(rpm()).toBe(0);
  });

  it('no-write-response: the write times out, the user is told, the session pauses; after the fault clears it reconnects with a stop', async () => {
    await boot({ linkTimeouts: { writeMs: 300 } });
    await connect();
    const id = await runSession();
    await sleep(200);
    const before = writes().length;
    const e0 = mark();
    await fault('no-write-response');
    const t0 = Date.now();
    expect(await call('session.setStep', { sessionId: id, intensity: 0.5 })).toMatchObject({ ok: true });
    const paused = await until(() => since<SessionStateEvent>(e0, 'session.state').find((s) => s.state === 'paused'), 2000, 'paused');
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(paused.pausedReason).toMatch(/^Lost contact with the massager: a write timed out\./);
    expect(paused.pausedReason).toMatch(HAND_OFF);
    expect(since<DeviceStatusEvent>(e0, 'device.status').some((d) => d.connection === 'reconnecting' && /a write timed out/.test(d.message ?? ''))).toBe(true);
    // nothing crashed: requests answer, no internal error, the session is not ended
    expect(await call('session.heartbeat', { sessionId: id })).toMatchObject({ ok: true });
    expect(await call('sim.state')).toMatchObject({ ok: true });
    expect(since(e0, 'session.ended')).toEqual([]);
    // while the gun never answers, reconnect attempts cannot complete their stop
    await sleep(700);
    expect(connection()).toBe('reconnecting');
    expect(await call('session.resume', { sessionId: id })).toMatchObject({ ok: false, error: { code: 'not-connected' } });
    await fault('clear');
    await expectReconnectedWithStop(before);
    onlyStopsSince(before);
    expect(last<SessionStateEvent>('session.state')).toMatchObject({ sessionId: id, state: 'paused' });
  });

  it('no-discovery-response at connect: refused with a clear message within the timeout; connects after clearFaults', async () => {
    await boot({ linkTimeouts: { discoveryMs: 300 } });
    await fault('no-discovery-response');
    const t0 = Date.now();
    const r = await within(call('device.connect', { peripheralId: SIM }), 1500, 'device.connect');
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(r).toMatchObject({ ok: false, error: { code: 'device-error', message: expect.stringMatching(/^Could not connect: Service discovery got no answer within 300 ms/) } });
    expect(connection()).toBe('disconnected');
    expect(await call('session.start', { muscleGroup: 'upper-back', plannedMotorSeconds: 120 })).toMatchObject({ ok: false, error: { code: 'not-connected' } });
    await sleep(50);
    expect(radio().isConnected(SIM)).toBe(false);
    await fault('clear');
    expect(await call('device.connect', { peripheralId: SIM })).toMatchObject({ ok: true, result: { connection: 'connected', peripheralId: SIM } });
    await runSession();
  });

  it('refuse-connection: device.connect is refused with a clear message', async () => {
    await boot();
    await fault('refuse-connection');
    const r = await within(call('device.connect', { peripheralId: SIM }), 2000, 'device.connect');
    expect(r).toMatchObject({
      ok: false,
      error: { code: 'device-error', message: expect.stringMatching(/^Could not connect: The device refused the connection \(Connection Failed to be Established/) },
    });
    expect(connection()).toBe('disconnected');
    expect(radio().writes(SIM)).toEqual([]);
    await fault('clear');
    expect(await call('device.connect', { peripheralId: SIM })).toMatchObject({ ok: true, result: { connection: 'connected' } });
  });

  for (const name of ['garbage-notifications', 'truncated-notifications'] as const) {
    it(`${name}: nothing crashes, the gun keeps obeying, a stop still stops it`, async () => {
      await boot();
      await connect();
      const id = await runSession();
      await sleep(100);
      const e0 = mark();
      await fault(name);
      await ok('session.setStep', { sessionId: id, intensity: 0.5 });
      await until(() => rpm() === 1808, 3000, 'the gun follows to 0.5');
      await ok('session.setStep', { sessionId: id, intensity: 0.2 });
      await until(() => rpm() === 724, 1000, 'the gun follows down to 0.2');
      expect(last<SessionStateEvent>('session.state')).toMatchObject({ sessionId: id, state: 'running' });
      expect(since<DeviceStatusEvent>(e0, 'device.status').every((d) => d.connection === 'connected')).toBe(true);
      // an unreadable notification never becomes a status: the reported level stays a real one
      expect(since<DeviceStatusEvent>(e0, 'device.status').every((d) => d.reportedLevel === undefined || d.reportedLevel <= 1085)).toBe(true);
      expect(since<WarningEvent>(e0, 'safety.warning')).toEqual([]);
      const n = writes().length;
      expect(await call('device.stop')).toMatchObject({ ok: true });
      await until(() => rpm() === 0, 1000, 'stopped');
      expect(writes().slice(n)).toEqual([STOP]);
      expect(since<SessionEndedEvent>(e0, 'session.ended')).toMatchObject([{ sessionId: id, reason: 'user-stop' }]);
    });
  }

  it('a link down for seconds while the gun runs on: that time is charged once the reconnect’s stop is confirmed', async () => {
    await boot();
    await connect();
    const startedAt = Date.now();
    await runSession();
    await sleep(1000);
    await fault('refuse-connection');
    await fault('drop-link');
    await until(() => connection() === 'reconnecting', 2000, 'the link is down');
    await sleep(4000);
    expect(rpm()).toBeGreaterThan(0); // the gun runs on: nothing can reach it
    await fault('clear');
    await until(() => connection() === 'connected', 5000, 'reconnected');
    await until(() => rpm() === 0, 2000, 'the reconnect’s stop');
    const ranSeconds = (Date.now() - startedAt) / 1000;
    // the gun ran (at most) from the start to now; all but the moments before its first write count
    let used = await usedToday();
    for (let i = 0; i < 60 && used < ranSeconds - 1.5; i++) {
      await sleep(50);
      used = await usedToday();
    }
    expect(used).toBeGreaterThanOrEqual(ranSeconds - 1.5);
    expect(await usedToday()).toBeLessThanOrEqual(ranSeconds + 3.5); // plus at most the reservation
  }, 20_000);

  /** Waits until the upper back's charged motor time reaches `atLeast` seconds (the tails are charged in the background). */
  async function usedAtLeast(atLeast: number): Promise<number> {
    let used = await usedToday();
    for (let i = 0; i < 60 && used < atLeast; i++) {
      await sleep(50);
      used = await usedToday();
    }
    return used;
  }

  it('a pause whose stop the dropping link swallowed: the gun runs on, and that time is charged once a stop reaches it (attack F1)', async () => {
    await boot();
    await connect();
    const startedAt = Date.now();
    const id = await runSession();
    await sleep(1000);
    await fault('refuse-connection');
    await fault('drop-link-mid-write'); // the next write (the pause's stop) never arrives
    expect(await call('session.pause', { sessionId: id })).toMatchObject({ ok: true });
    await until(() => connection() === 'reconnecting', 2000, 'the link is down');
    await sleep(3000);
    expect(rpm()).toBeGreaterThan(0); // the stop was lost: the gun runs on
    await fault('clear');
    await until(() => rpm() === 0, 5000, 'the reconnect’s stop');
    const ranSeconds = (Date.now() - startedAt) / 1000;
    expect(await usedAtLeast(ranSeconds - 1.5)).toBeGreaterThanOrEqual(ranSeconds - 1.5);
    expect(await usedToday()).toBeLessThanOrEqual(ranSeconds + 3.5);
  }, 20_000);

  it('a reconnect given up while the gun may run: its time counts on until a later connection’s stop reaches it (attack F3)', async () => {
    await boot({ linkTimeouts: { connectMs: 150 }, reconnect: { initialDelayMs: 20, maxDelayMs: 100, giveUpAfterMs: 500 } });
    await connect();
    const startedAt = Date.now();
    const id = await runSession();
    await sleep(500);
    const e0 = mark();
    await fault('stop-advertising');
    await fault('drop-link');
    await until(() => since<SessionEndedEvent>(e0, 'session.ended')[0], 3000, 'given up: the session ended');
    expect(last<SessionEndedEvent>('session.ended')).toMatchObject({ sessionId: id, reason: 'device-lost' });
    await sleep(2500); // given up, and the gun still runs
    expect(rpm()).toBeGreaterThan(0);
    await fault('resume-advertising');
    expect(await call('device.connect', { peripheralId: SIM })).toMatchObject({ ok: true });
    await until(() => rpm() === 0, 1000, 'the gun stops after connecting again');
    const ranSeconds = (Date.now() - startedAt) / 1000;
    expect(await usedAtLeast(ranSeconds - 1.5)).toBeGreaterThanOrEqual(ranSeconds - 1.5);
    expect(await usedToday()).toBeLessThanOrEqual(ranSeconds + 3.5);
  }, 20_000);

  it('slow: writes still arrive within the write timeout, the gun climbs no faster than the ramp, and a stop still lands', async () => {
    await boot();
    await connect();
    const id = await runSession();
    await sleep(100);
    const e0 = mark();
    await fault('slow');
    const before = rpm();
    const n0 = writes().length;
    await ok('session.setStep', { sessionId: id, intensity: 0.5 });
    // Each write takes 500 ms; the link lets the gun rise only by the ramp rate × the time
    // since its last write settled, so it climbs, slowly, and never faster than the ramp.
    await until(() => rpm() > before + 20, 5000, 'the gun climbs on a slow link');
    await sleep(1500);
    const log = radio().writes(SIM).slice(n0).filter((r) => r.bytes.length === 7 && r.bytes[1] !== 0x07);
    for (let i = 1; i < log.length; i++) {
      const rise = rpmOf(Buffer.from(log[i]!.bytes).toString('hex')) - rpmOf(Buffer.from(log[i - 1]!.bytes).toString('hex'));
      expect(rise / ((log[i]!.atMs - log[i - 1]!.atMs) / 1000)).toBeLessThanOrEqual(723.2 * 1.05);
    }
    const n = writes().length;
    const t0 = Date.now();
    expect(await call('device.stop')).toMatchObject({ ok: true });
    await until(() => rpm() === 0, 1500, 'stopped on a slow link');
    expect(Date.now() - t0).toBeLessThan(1500);
    // the stop goes next: after the write in flight (a step of the climb), if any
    expect(writes().slice(n).at(-1)).toBe(STOP);
    expect(writes().slice(n).length).toBeLessThanOrEqual(2);
    expect(since<DeviceStatusEvent>(e0, 'device.status').every((d) => d.connection === 'connected')).toBe(true);
  });

  it('adapter-off then adapter-on: pauses with a warning; reconnects with a stop; the motor stays off until resume', async () => {
    await boot();
    await connect();
    const id = await runSession();
    await sleep(100);
    const before = writes().length;
    const e0 = mark();
    await fault('adapter-off');
    const paused = await until(() => since<SessionStateEvent>(e0, 'session.state').find((s) => s.state === 'paused'), 1000, 'paused');
    expect(paused.pausedReason).toMatch(/^Lost contact with the massager: Bluetooth was switched off\./);
    expect(paused.pausedReason).toMatch(HAND_OFF);
    await sleep(500);
    expect(connection()).toBe('reconnecting');
    expect(rpm()).toBeGreaterThan(0); // the gun itself never heard a stop
    expect(writes().length).toBe(before);
    expect(await call('session.resume', { sessionId: id })).toMatchObject({ ok: false, error: { code: 'not-connected' } });
    await fault('adapter-on');
    await expectReconnectedWithStop(before);
    await sleep(300);
    onlyStopsSince(before);
    expect(rpm()).toBe(0);
    expect(last<SessionStateEvent>('session.state')).toMatchObject({ state: 'paused' });
    await ok('session.resume', { sessionId: id });
    await until(() => rpm() > 0, 2000, 'runs after resume');
  });

  it('stop-advertising after a drop: no reconnect while silent; resume-advertising reconnects with a stop', async () => {
    await boot({ linkTimeouts: { connectMs: 300 } });
    await connect();
    const id = await runSession();
    await sleep(100);
    const before = writes().length;
    const e0 = mark();
    await fault('stop-advertising');
    await fault('drop-link');
    await until(() => since<SessionStateEvent>(e0, 'session.state').some((s) => s.state === 'paused'), 1000, 'paused');
    await sleep(1000);
    expect(connection()).toBe('reconnecting');
    expect(radio().isConnected(SIM)).toBe(false);
    expect(writes().length).toBe(before);
    expect(rpm()).toBeGreaterThan(0);
    expect(await call('session.resume', { sessionId: id })).toMatchObject({ ok: false, error: { code: 'not-connected' } });
    await fault('resume-advertising');
    await expectReconnectedWithStop(before, 2000);
    onlyStopsSince(before);
  });

  it('device.stop while reconnecting answers at once, still says the gun may be running, and the stop lands on reconnect', async () => {
    await boot({ linkTimeouts: { connectMs: 300 } });
    await connect();
    const id = await runSession();
    await sleep(100);
    const before = writes().length;
    const e0 = mark();
    await fault('stop-advertising');
    await fault('drop-link');
    await until(() => connection() === 'reconnecting', 1000, 'reconnecting');
    const r = await within(call('device.stop'), 300, 'device.stop');
    expect(r).toMatchObject({ ok: true, result: { connection: 'reconnecting', running: false, message: expect.stringMatching(HAND_OFF) } });
    expect(since<SessionEndedEvent>(e0, 'session.ended')).toMatchObject([{ sessionId: id, reason: 'user-stop' }]);
    expect(rpm()).toBeGreaterThan(0); // nothing could reach the gun
    await fault('resume-advertising');
    await expectReconnectedWithStop(before, 2000);
    await sleep(200);
    onlyStopsSince(before);
  });

  it('reconnect gives up: the session ends "device-lost", the status says disconnected and how to switch the gun off; connecting again works', async () => {
    await boot({ linkTimeouts: { connectMs: 150 }, reconnect: { initialDelayMs: 20, maxDelayMs: 100, giveUpAfterMs: 500 } });
    await connect();
    const id = await runSession();
    await sleep(100);
    const before = writes().length;
    const e0 = mark();
    await fault('stop-advertising');
    await fault('drop-link');
    const ended = await until(() => since<SessionEndedEvent>(e0, 'session.ended')[0], 3000, 'session ended');
    expect(ended).toMatchObject({ sessionId: id, reason: 'device-lost', message: 'The massager disconnected.' });
    expect(last<DeviceStatusEvent>('device.status')).toMatchObject({ connection: 'disconnected', running: false, message: expect.stringMatching(HAND_OFF) });
    expect(await call('session.start', { muscleGroup: 'upper-back', plannedMotorSeconds: 120 })).toMatchObject({ ok: false, error: { code: 'not-connected' } });
    expect(writes().length).toBe(before);
    expect(rpm()).toBeGreaterThan(0);
    await fault('resume-advertising');
    await sleep(300);
    expect(radio().isConnected(SIM)).toBe(false); // no reconnect after giving up
    // connecting again to the gun the app lost while it ran: the app's first command is a stop
    expect(await call('device.connect', { peripheralId: SIM })).toMatchObject({ ok: true, result: { connection: 'connected' } });
    await until(() => rpm() === 0, 1000, 'the gun stops after connecting again');
    expect(writes().slice(before).filter((h) => isSpeedFrame(h))).toEqual([STOP]);
    expect(last<DeviceStatusEvent>('device.status')).toMatchObject({ connection: 'connected', running: false });
  });

  it('device.disconnect while reconnecting: no reconnect follows; connecting again stops the gun first', async () => {
    await boot({ linkTimeouts: { connectMs: 300 } });
    await connect();
    await runSession();
    await sleep(100);
    const before = writes().length;
    await fault('stop-advertising');
    await fault('drop-link');
    await until(() => connection() === 'reconnecting', 1000, 'reconnecting');
    expect(await within(call('device.disconnect'), 500, 'device.disconnect')).toMatchObject({ ok: true, result: { connection: 'disconnected' } });
    await fault('resume-advertising');
    await sleep(300);
    expect(radio().isConnected(SIM)).toBe(false);
    expect(rpm()).toBeGreaterThan(0);
    expect(await call('device.connect', { peripheralId: SIM })).toMatchObject({ ok: true, result: { connection: 'connected' } });
    await until(() => rpm() === 0, 1000, 'the gun stops after connecting again');
    expect(writes().slice(before).filter((h) => isSpeedFrame(h))).toEqual([STOP]);
  });

  it('reconnects after a drop long after the scan stopped (the scan result is stale by then)', async () => {
    await boot();
    await connect();
    await runSession();
    // The scan stops when the gun connects; a drop 15 s into the session finds the
    // scan result older than the scanner's fade time (10 s).
    const realNow = Date.now.bind(Date);
    vi.spyOn(Date, 'now').mockImplementation(() => realNow() + 15_000);
    const before = writes().length;
    await fault('drop-link');
    await expectReconnectedWithStop(before, 3000);
  });

  it('button-max on the gun: a safety.warning above-ceiling; a stop still stops it', async () => {
    await boot();
    await connect();
    const e0 = mark();
    await fault('button-max');
    const w = await until(() => since<WarningEvent>(e0, 'safety.warning')[0], 1000, 'warning');
    expect(w).toEqual({
      code: 'above-ceiling',
      message: 'The massager reports 3616 rpm, above your ceiling of 2169 rpm. It was set on the device itself; lower it there or press Stop.',
    });
    expect(rpm()).toBe(3616);
    expect(last<DeviceStatusEvent>('device.status')).toMatchObject({ reportedLevel: 3616, running: false });
    await ok('device.stop');
    await until(() => rpm() === 0, 1000, 'stopped');
    expect(writes().at(-1)).toBe(STOP);
  });

  it('after 20 drop/reconnect cycles one notification is one device.status and one warning; listener counts stay flat', async () => {
    await boot();
    await connect();
    const counts = () => {
      const link = internals().link!;
      return {
        link: (['status', 'notice', 'disconnected', 'reconnected', 'reconnect-failed'] as const).map((e) => link.listenerCount(e)),
        transport: internals().simTransport.listenerCount(),
      };
    };
    const baseline = counts();
    for (let i = 0; i < 20; i++) {
      const e = mark();
      await fault('drop-link');
      await until(() => since<DeviceStatusEvent>(e, 'device.status').some((d) => d.connection === 'reconnecting'), 1000, `drop ${i + 1}`);
      await until(() => connection() === 'connected', 2000, `reconnect ${i + 1}`);
    }
    // the last reconnect's stop gets its verdict (the core waits for it to settle the motor time)
    await sleep(400);
    expect(counts()).toEqual(baseline);
    const e1 = mark();
    await fault('button-max'); // the gun sends exactly one status notification
    await until(() => since(e1, 'safety.warning').length > 0, 1000, 'warning');
    await sleep(100);
    expect(since<WarningEvent>(e1, 'safety.warning')).toHaveLength(1);
    expect(since<DeviceStatusEvent>(e1, 'device.status')).toHaveLength(1);
    expect(since<DeviceStatusEvent>(e1, 'device.status')[0]).toMatchObject({ connection: 'connected', reportedLevel: 3616 });
    await ok('device.stop');
    await until(() => rpm() === 0, 1000, 'stopped');
  });
});
