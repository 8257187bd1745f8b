/**
 * The session controller against a fake preload bridge: steps sent at the runner's
 * boundaries (not by counting ticks), a heartbeat every second, the grant scaling the
 * routine, a refusal shown with its message, and the session ended at the end.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createController, type Controller } from '../../../renderer/src/controller';
import { createStore } from '../../../renderer/src/store';
import { bridgeOver, loose } from './support';

type Call = { channel: string; payload: unknown; at: number };

function fakeBridge(grant: number, refuse?: { code: string; message: string }) {
  const calls: Call[] = [];
  const t0 = Date.now();
  const method = (channel: string) => async (payload: unknown) => {
    calls.push({ channel, payload, at: Date.now() - t0 });
    if (channel === 'session.start') {
      if (refuse) return { ok: false, error: refuse };
      return { ok: true, result: { sessionId: 's1', grantedMotorSeconds: grant, shortened: grant < 240, intensityFactor: 1 } };
    }
    if (channel === 'app.info') return { ok: true, result: { version: '0', host: 'electron', demo: true, timeScale: 1, dataDir: '/tmp' } };
    return { ok: true, result: null };
  };
  const channels = ['sessionStart', 'sessionSetStep', 'sessionHeartbeat', 'sessionEnd', 'sessionPause', 'sessionResume', 'deviceStop', 'usageToday', 'sessionHurt'];
  const map: Record<string, string> = {
    sessionStart: 'session.start',
    sessionSetStep: 'session.setStep',
    sessionHeartbeat: 'session.heartbeat',
    sessionEnd: 'session.end',
    sessionPause: 'session.pause',
    sessionResume: 'session.resume',
    deviceStop: 'device.stop',
    usageToday: 'usage.today',
    sessionHurt: 'session.hurt',
  };
  const bridge: Record<string, unknown> = {};
  for (const c of channels) bridge[c] = method(map[c] as string);
  return { bridge, calls };
}

let current: Controller | undefined;

/** A fresh store and controller over the fake bridge (no module state to reset). */
async function load(grant: number, refuse?: { code: string; message: string }) {
  const { bridge, calls } = fakeBridge(grant, refuse);
  const store = createStore({
    device: { connection: 'connected', name: 'Pro', kind: 'percussive' },
    settings: null,
  });
  const controller = createController({ store, bridge: bridgeOver(bridge) });
  current = controller;
  return { store, controller, calls };
}

describe('session controller', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'setInterval', 'clearTimeout', 'clearInterval', 'Date', 'performance', 'queueMicrotask'] });
  });
  afterEach(() => {
    current?.dispose();
    current = undefined;
    vi.useRealTimers();
  });

  it('runs the Upper back routine: step per boundary, heartbeats, end', async () => {
    const { store, controller, calls } = await load(240);
    controller.openRoutine('upper-back-knot');
    await controller.startRoutine();
    const start = calls.find((c) => c.channel === 'session.start');
    expect(start?.payload).toEqual({ muscleGroup: 'upper-back', plannedMotorSeconds: 240, routineId: 'upper-back-knot' });
    expect(calls.filter((c) => c.channel === 'session.setStep').map((c) => c.payload)).toEqual([
      { sessionId: 's1', intensity: 0.35, motion: 'circular' },
    ]);
    await vi.advanceTimersByTimeAsync(59_900);
    expect(calls.filter((c) => c.channel === 'session.setStep')).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(200);
    const steps = calls.filter((c) => c.channel === 'session.setStep').map((c) => c.payload);
    expect(steps[1]).toEqual({ sessionId: 's1', intensity: 0.45, motion: 'back-and-forth' });
    const beats = calls.filter((c) => c.channel === 'session.heartbeat');
    expect(beats.length).toBeGreaterThanOrEqual(59);
    expect(beats.length).toBeLessThanOrEqual(61);
    await vi.advanceTimersByTimeAsync(180_500);
    expect(calls.filter((c) => c.channel === 'session.setStep').map((c) => (c.payload as { motion: string }).motion)).toEqual([
      'circular',
      'back-and-forth',
      'on-knot',
      'long-strokes',
    ]);
    expect(calls.some((c) => c.channel === 'session.end')).toBe(true);
    expect(loose(store.getState().run)?.phase).toBe('summary');
    expect(loose(store.getState().run)?.endReason).toBe('completed');
    const n = calls.filter((c) => c.channel === 'session.heartbeat').length;
    await vi.advanceTimersByTimeAsync(5_000);
    expect(calls.filter((c) => c.channel === 'session.heartbeat').length).toBe(n); // heartbeats stop
  });

  it('scales the steps to a shorter grant and excludes paused time', async () => {
    const { store, controller, calls } = await load(120);
    controller.openRoutine('upper-back-knot');
    await controller.startRoutine();
    expect(loose(store.getState().run)?.shortened).toBe(true);
    expect(loose(store.getState().run)?.routine?.steps.map((s) => s.durationSec)).toEqual([30, 37.5, 22.5, 30]);
    await vi.advanceTimersByTimeAsync(20_000);
    await controller.pauseRun();
    expect(calls.some((c) => c.channel === 'session.pause')).toBe(true);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(calls.filter((c) => c.channel === 'session.setStep')).toHaveLength(1);
    await controller.resumeRun();
    await vi.advanceTimersByTimeAsync(9_900);
    expect(calls.filter((c) => c.channel === 'session.setStep')).toHaveLength(2); // the resend after resume
    await vi.advanceTimersByTimeAsync(200);
    const last = calls.filter((c) => c.channel === 'session.setStep').at(-1)?.payload as { motion: string };
    expect(last.motion).toBe('back-and-forth');
  });

  it('shows a refusal and stays on the preparation screen', async () => {
    const { store, controller, calls } = await load(0, { code: 'budget-exhausted', message: 'No time left today for the upper back.' });
    controller.openRoutine('upper-back-knot');
    await controller.startRoutine();
    expect(store.getState().run).toMatchObject({ phase: 'prep', error: 'No time left today for the upper back.', errorCode: 'budget-exhausted' });
    expect(calls.some((c) => c.channel === 'session.setStep')).toBe(false);
  });

  it('"Stop — it hurts" calls session.hurt then ends the session', async () => {
    const { store, controller, calls } = await load(240);
    controller.openRoutine('upper-back-knot');
    await controller.startRoutine();
    await controller.stopRun('hurt');
    const names = calls.map((c) => c.channel);
    expect(names.indexOf('session.hurt')).toBeGreaterThan(-1);
    expect(names.indexOf('session.end')).toBeGreaterThan(names.indexOf('session.hurt'));
    expect(store.getState().run).toMatchObject({ phase: 'summary', endReason: 'hurt' });
  });
});

describe('controller instances and late answers', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'setInterval', 'clearTimeout', 'clearInterval', 'Date', 'performance', 'queueMicrotask'] });
  });
  afterEach(() => {
    current?.dispose();
    current = undefined;
    vi.useRealTimers();
  });

  /** A bridge whose `session.resume` answers only when the test says so. */
  function slowResume() {
    const calls: string[] = [];
    let answer: () => void = () => {};
    const ok = (result: unknown = null) => ({ ok: true, result });
    const unknot: Record<string, unknown> = {};
    for (const channel of ['session.setStep', 'session.heartbeat', 'session.end', 'session.pause', 'device.stop', 'usage.today', 'session.hurt']) {
      unknot[channel.replace(/\.([a-z])/g, (_m, x: string) => x.toUpperCase())] = async () => {
        calls.push(channel);
        return ok(channel === 'session.end' ? { usedMotorSeconds: 20 } : null);
      };
    }
    unknot.sessionStart = async () => {
      calls.push('session.start');
      return ok({ sessionId: 's1', grantedMotorSeconds: 240, shortened: false, intensityFactor: 1 });
    };
    unknot.sessionResume = () => {
      calls.push('session.resume');
      return new Promise((resolve) => (answer = () => resolve(ok())));
    };
    return { unknot, calls, answerResume: () => answer() };
  }

  it('a resume answered after Stop does not restart the routine: no step is sent after the stop', async () => {
    const { unknot, calls, answerResume } = slowResume();
    const store = createStore({ device: { connection: 'connected', name: 'Pro', kind: 'percussive' } });
    const controller = (current = createController({ store, bridge: bridgeOver(unknot) }));
    controller.openRoutine('upper-back-knot');
    await controller.startRoutine();
    await vi.advanceTimersByTimeAsync(5_000);
    await controller.pauseRun();
    const resuming = controller.resumeRun(); // Resume pressed; the answer is slow
    await controller.stopRun('stop'); // then Stop, before the answer
    answerResume();
    await resuming;
    await vi.advanceTimersByTimeAsync(3_000);
    const stopAt = calls.indexOf('device.stop');
    expect(stopAt).toBeGreaterThan(-1);
    expect(calls.slice(stopAt).filter((c) => c === 'session.setStep' || c === 'session.heartbeat')).toEqual([]);
    expect(store.getState().run).toMatchObject({ phase: 'summary', endReason: 'user-stop', usedMotorSeconds: 20 });
  });

  it('two controllers over two stores share nothing: one page’s run, timers and dispose are its own', async () => {
    const a = bridgeAndCalls();
    const b = bridgeAndCalls();
    const storeA = createStore({ device: { connection: 'connected', name: 'Pro', kind: 'percussive' } });
    const storeB = createStore({ device: { connection: 'connected', name: 'Pro', kind: 'percussive' } });
    const first = createController({ store: storeA, bridge: bridgeOver(a.unknot) });
    const second = (current = createController({ store: storeB, bridge: bridgeOver(b.unknot) }));
    first.openRoutine('upper-back-knot');
    await first.startRoutine();
    expect(storeA.getState().run?.phase).toBe('running');
    expect(storeB.getState().run).toBeNull();
    await vi.advanceTimersByTimeAsync(3_000);
    expect(a.calls.filter((c) => c === 'session.heartbeat').length).toBeGreaterThanOrEqual(2);
    expect(b.calls).toEqual([]);
    first.dispose(); // the page goes away: its heartbeat stops, so the main process's watchdog would stop the motor
    const beats = a.calls.filter((c) => c === 'session.heartbeat').length;
    await vi.advanceTimersByTimeAsync(3_000);
    expect(a.calls.filter((c) => c === 'session.heartbeat').length).toBe(beats);
    void second;
  });

  function bridgeAndCalls() {
    const calls: string[] = [];
    const unknot: Record<string, unknown> = {};
    for (const channel of ['session.start', 'session.setStep', 'session.heartbeat', 'session.end', 'device.stop', 'usage.today']) {
      unknot[channel.replace(/\.([a-z])/g, (_m, x: string) => x.toUpperCase())] = async () => {
        calls.push(channel);
        return { ok: true, result: channel === 'session.start' ? { sessionId: 's1', grantedMotorSeconds: 240, shortened: false, intensityFactor: 1 } : null };
      };
    }
    return { unknot, calls };
  }
});
