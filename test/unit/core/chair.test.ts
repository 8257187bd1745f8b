/**
 * The chair's one power rule through the whole main process: real noble classes on the
 * simulated radio, the device link, the governor and the core, judged by the simulated
 * chair's own state and by the frames on the wire.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AppCore } from '../../../electron/core/app-core';
import type { DeviceStatusEvent, EventChannel, Reply, SessionStartResult } from '../../../electron/ipc/contract';
import { RONGTAI_SIM_RESET_MS } from '../../../protocols/rongtai';
import { ALL_NO, sleep, startCore, until } from '../helpers/core-harness';

const POWER = 'f083017bf1';

describe('the chair on the simulated radio', () => {
  let core: AppCore;
  let events: { event: EventChannel; payload: unknown }[];
  let id: string;
  let hb: ReturnType<typeof setInterval> | undefined;
  let call: (channel: string, payload?: unknown) => Promise<Reply>;
  let ok: <T>(channel: string, payload?: unknown) => Promise<T>;
  const chair = () => core.simRadio()!.peripheral(id)!.state();
  const wire = () => core.simRadio()!.writes(id).map((w) => Buffer.from(w.bytes).toString('hex'));
  const toggles = (from = 0) => wire().slice(from).filter((h) => h === POWER).length;
  const lastStatus = () => [...events].reverse().find((e) => e.event === 'device.status')?.payload as DeviceStatusEvent | undefined;

  beforeEach(async () => {
    const h = await startCore();
    ({ core, events, call, ok } = h);
    id = await h.find(/^EVOLUTION-/);
    await ok('device.connect', { peripheralId: id });
    await ok('screening.set', { answers: ALL_NO });
    await ok('settings.set', { doctorNoticeAcknowledged: true });
  });
  afterEach(async () => {
    if (hb) clearInterval(hb);
    hb = undefined;
    await core.shutdown();
  });

  async function startRoutine(): Promise<SessionStartResult> {
    const s = await ok<SessionStartResult>('session.start', { muscleGroup: 'upper-back', plannedMotorSeconds: 240, routineId: 'upper-back-knot' });
    hb = setInterval(() => void call('session.heartbeat', { sessionId: s.sessionId }), 400);
    await ok('session.setStep', { sessionId: s.sessionId, intensity: 0.5, motion: 'circular' });
    await until(() => chair().runState === 'running' && chair().speed === 3, 6000);
    return s;
  }

  it('runs in the start order, and the device status shows the run state and the chair’s own speed', async () => {
    await startRoutine();
    // Power on, then (a second later) speed, knead, speed again, then the 10-minute timer;
    // the governor's ramp starts at speed 1 and then raises it one key at a time.
    expect(wire().slice(0, 5)).toEqual([POWER, 'f0832e4ef1', 'f083205cf1', 'f0832e4ef1', 'f083502cf1']);
    expect(wire().slice(5)).toEqual(['f0832f4df1', 'f083304cf1']);
    const records = core.simRadio()!.writes(id);
    expect(records[1]!.atMs - records[0]!.atMs).toBeGreaterThanOrEqual(995);
    expect(records.every((r) => r.withResponse === false)).toBe(true);
    const status = await until(() => {
      const s = lastStatus();
      return s?.runState === 'running' && s.reportedLevel === 3 ? s : undefined;
    });
    expect(status.secondsLeft).toBeGreaterThan(590);
    expect(status.secondsLeft).toBeLessThanOrEqual(600);
  });

  it('a pause puts one toggle on the wire; a resume, heat and a second Stop during the reset send none; the resume goes ahead once idle', async () => {
    const s = await startRoutine();
    const start = wire().length;
    await ok('session.pause', { sessionId: s.sessionId });
    await until(() => chair().runState === 'resetting', 2000);
    expect(toggles(start)).toBe(1);
    await sleep(1200); // past the grace second: the chair's frames say "resetting"
    await until(() => lastStatus()?.runState === 'resetting', 2000);
    await ok('session.resume', { sessionId: s.sessionId });
    await ok('device.setHeat', { on: true });
    await sleep(300);
    expect(toggles(start)).toBe(1);
    expect(chair()).toMatchObject({ runState: 'resetting', togglesWhileResetting: 0 });
    expect(events.some((e) => e.event === 'safety.warning' && String((e.payload as { message: string }).message).includes('returning to rest'))).toBe(true);
    // Once idle, the held resume and heat go out in one start (one toggle).
    await until(() => chair().runState === 'running', RONGTAI_SIM_RESET_MS + 3000);
    expect(chair()).toMatchObject({ heat: true, speed: 3, togglesWhileResetting: 0 });
    expect(toggles(start)).toBe(2);
    // The routine is stopped; a second Stop during the reset sends nothing more.
    const beforeStop = wire().length;
    await ok('device.stop');
    await until(() => chair().runState === 'resetting', 2000);
    await sleep(1200);
    await ok('device.stop');
    await sleep(RONGTAI_SIM_RESET_MS);
    expect(toggles(beforeStop)).toBe(1);
    expect(chair()).toMatchObject({ runState: 'idle', togglesWhileResetting: 0 });
    expect(lastStatus()?.runState).toBe('idle');
  }, 30_000);

  it('a dropped link: the reconnect waits for the chair’s first status, then makes its stop with one toggle', async () => {
    const s = await startRoutine();
    const before = wire().length;
    await ok('sim.fault', { peripheralId: id, fault: 'drop-link' });
    await until(() => lastStatus()?.connection === 'reconnecting', 3000);
    // The chair keeps running while the link is down.
    expect(chair().runState).toBe('running');
    await until(() => lastStatus()?.connection === 'connected' && chair().runState === 'resetting', 6000);
    expect(toggles(before)).toBe(1);
    expect(wire().slice(before)).toEqual([POWER]);
    const session = await ok<{ state: string } | null>('session.get');
    expect(session?.state).toBe('paused');
    // Nothing else follows until the user resumes.
    await sleep(RONGTAI_SIM_RESET_MS + 500);
    expect(wire().slice(before)).toEqual([POWER]);
    expect(chair().runState).toBe('idle');
    await ok('session.resume', { sessionId: s.sessionId });
    await until(() => chair().runState === 'running', 4000);
  }, 25_000);

  it('a step of 0 with a motion sends the chair nothing (no technique key runs it at its own speed), and heat needs a session', async () => {
    expect(await call('device.setHeat', { on: true })).toMatchObject({ ok: false, error: { code: 'refused' } });
    const s = await ok<SessionStartResult>('session.start', { muscleGroup: 'upper-back', plannedMotorSeconds: 240 });
    hb = setInterval(() => void call('session.heartbeat', { sessionId: s.sessionId }), 400);
    for (const motion of ['circular', 'back-and-forth', 'on-knot', 'long-strokes']) {
      await ok('session.setStep', { sessionId: s.sessionId, intensity: 0, motion });
      await sleep(300);
    }
    expect(wire()).toEqual([]);
    expect(chair()).toMatchObject({ runState: 'idle', running: false });
    const state = await ok<{ usedMotorSeconds: number }>('session.get');
    expect(state.usedMotorSeconds).toBe(0);
    // Within the session heat may power the chair on; that starts no motion.
    await ok('device.setHeat', { on: true });
    await until(() => chair().heat === true, 3000);
    expect(chair()).toMatchObject({ runState: 'ready', running: false });
  });

  it('a stop whose toggle is lost gets exactly one more', async () => {
    await startRoutine();
    await ok('sim.fault', { peripheralId: id, fault: 'ignore-next-stop' });
    const before = wire().length;
    await ok('device.stop');
    await sleep(800);
    expect(chair().runState).toBe('running');
    await until(() => chair().runState === 'resetting', 3000);
    await sleep(RONGTAI_SIM_RESET_MS + 1000);
    expect(toggles(before)).toBe(2);
    expect(chair()).toMatchObject({ runState: 'idle', togglesWhileResetting: 0 });
  }, 20_000);

  it('a start whose first running status shows a speed above the ceiling is stopped at once (the chair kept speed 6 and ignored the first speed key)', async () => {
    await ok('sim.fault', { peripheralId: id, fault: 'remote-speed-max' });
    await ok('sim.fault', { peripheralId: id, fault: 'speed-keys-need-running' });
    const s = await ok<SessionStartResult>('session.start', { muscleGroup: 'upper-back', plannedMotorSeconds: 240 });
    hb = setInterval(() => void call('session.heartbeat', { sessionId: s.sessionId }), 400);
    await ok('session.setStep', { sessionId: s.sessionId, intensity: 0.5, motion: 'circular' });
    // The app switched the chair off on the first status that said it ran …
    await until(() => chair().runState === 'resetting', 6000);
    // … which it did, for a moment, at its remembered 6 (above the ceiling's 3).
    expect(chair()).toMatchObject({ topRunningSpeed: 6, ignored: 1 });
    const ended = await until(() => events.find((e) => e.event === 'session.ended')?.payload as { reason: string; message: string } | undefined);
    expect(ended).toMatchObject({ reason: 'above-ceiling', message: expect.stringMatching(/above your ceiling/) });
    expect(toggles()).toBe(2);
    await sleep(RONGTAI_SIM_RESET_MS + 500);
    expect(chair()).toMatchObject({ runState: 'idle', togglesWhileResetting: 0 });
    expect(await ok('session.get')).toBeNull();
  }, 20_000);

  it('a start within the ceiling is not stopped by its first running status, and a later speed set on the remote only warns', async () => {
    await startRoutine();
    await ok('sim.fault', { peripheralId: id, fault: 'remote-speed-max' });
    const w = await until(() => events.find((e) => e.event === 'safety.warning' && (e.payload as { code: string }).code === 'above-ceiling'), 3000);
    expect(w).toBeDefined();
    expect(chair().runState).toBe('running');
    expect(events.some((e) => e.event === 'session.ended')).toBe(false);
  });
});
