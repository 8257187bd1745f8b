/**
 * What a page shows about sessions and limits: the gentler start after pain, a session
 * owned by another page, a page reloaded mid-routine, under a minute left, the stop
 * shortcut's wording, and per-step motion labels.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createController, type Controller } from '../../../renderer/src/controller';
import { findRoutine } from '../../../renderer/src/routines/library';
import { runReducer, waterDue, type SummaryRun } from '../../../renderer/src/run';
import * as storeModule from '../../../renderer/src/store';
import { rulesFor } from '../../../electron/safety/rules';
import { bridgeOver, loose } from './support';

type Call = { channel: string; payload: unknown };

function bridgeWith(results: Record<string, unknown>) {
  const calls: Call[] = [];
  const camel = (c: string) => c.replace(/\.([a-z])/g, (_m, x: string) => x.toUpperCase());
  const channels = ['session.start', 'session.setStep', 'session.heartbeat', 'session.end', 'session.hurt', 'device.stop', 'usage.today', 'device.get', 'session.get', 'app.info', 'adapter.get', 'settings.get', 'device.list'];
  const bridge: Record<string, unknown> = {};
  for (const channel of channels) {
    bridge[camel(channel)] = async (payload: unknown) => {
      calls.push({ channel, payload });
      return { ok: true, result: channel in results ? results[channel] : null };
    };
  }
  return { bridge, calls };
}

let current: Controller | undefined;

/**
 * A fresh store and controller over the fake bridge. `store` is the store module's
 * selectors bound to this page's store, so the tests read as before.
 */
async function load(results: Record<string, unknown>) {
  const { bridge, calls } = bridgeWith(results);
  // What main's device.status carries for a massage gun, its rules included.
  const page = storeModule.createStore({ device: { connection: 'connected', name: 'Pro', kind: 'percussive', rules: rulesFor('percussive') }, settings: null });
  const controller = createController({ store: page, bridge: bridgeOver(bridge) });
  current = controller;
  const store = { ...storeModule, getState: page.getState, setState: page.setState, dispatch: page.dispatch };
  return { store, controller, calls };
}

/** Takes the page's run to `running` with session `sessionId` through the run's own events. */
function runSession(store: { dispatch: storeModule.AppStore['dispatch'] }, sessionId: string, how: { routineId: string } | { manual: 'neck' }): void {
  const result = { sessionId, grantedMotorSeconds: 180, shortened: false, intensityFactor: 1 };
  if ('manual' in how) {
    store.dispatch({ type: 'manual-requested', muscleGroup: how.manual, intensity: 0.3 });
  } else {
    store.dispatch({ type: 'opened', routine: findRoutine(how.routineId)! });
    store.dispatch({ type: 'start-requested' });
  }
  store.dispatch({ type: 'granted', result, now: 0 });
}

/** A summary with `usedSeconds` of motor time. */
const summaryWith = (usedSeconds: number): SummaryRun =>
  runReducer(null, { type: 'interrupted', routine: findRoutine('neck-knot')!, message: '', usedSeconds }) as SummaryRun;

const SESSION = { sessionId: 's9', state: 'running', muscleGroup: 'neck', routineId: 'neck-knot', grantedMotorSeconds: 180, usedMotorSeconds: 20 } as const;

describe('sessions seen from a page', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'setInterval', 'clearTimeout', 'clearInterval', 'Date', 'performance', 'queueMicrotask'] });
  });
  afterEach(() => {
    current?.dispose();
    current = undefined;
    vi.useRealTimers();
  });

  it('multiplies every step intensity by the intensityFactor session.start returns', async () => {
    const { store, controller, calls } = await load({
      'session.start': { sessionId: 's1', grantedMotorSeconds: 240, shortened: false, intensityFactor: 0.7 },
    });
    controller.openRoutine('upper-back-knot');
    await controller.startRoutine();
    expect(loose(store.getState().run)?.intensityFactor).toBe(0.7);
    await vi.advanceTimersByTimeAsync(60_100);
    const sent = calls.filter((c) => c.channel === 'session.setStep').map((c) => (c.payload as { intensity: number }).intensity);
    expect(sent[0]).toBeCloseTo(0.35 * 0.7);
    expect(sent[1]).toBeCloseTo(0.45 * 0.7);
    await controller.stopRun('stop');
  });

  it('loads the connected device and a session it does not own, shown as observed', async () => {
    const { store, controller } = await load({
      'device.get': { connection: 'connected', name: 'Pro', protocolId: 'theragun-gen4', kind: 'percussive', ceiling: 0.6 },
      'session.get': SESSION,
    });
    store.setState({ device: { connection: 'disconnected' } });
    await controller.refreshAll();
    const s = store.getState();
    expect(s.device).toMatchObject({ connection: 'connected', protocolId: 'theragun-gen4' });
    expect(store.observedSession(s)?.sessionId).toBe('s9');
    // a page running its own session does not observe it
    runSession(store, 's9', { routineId: 'neck-knot' });
    expect(store.observedSession(store.getState())).toBeNull();
  });

  it('after a reload mid-routine, says the routine was stopped (unless it still runs)', async () => {
    const { store, controller } = await load({});
    const note = { sessionId: 's9', mode: 'routine' as const, routineId: 'neck-knot', muscleGroup: 'neck' as const, usedSeconds: 75, at: Date.now() };
    store.setState({ session: { ...SESSION } });
    controller.showInterrupted(note);
    expect(store.getState().run).toBeNull(); // still running: the observer banner shows it instead
    store.setState({ session: null });
    controller.showInterrupted(note);
    expect(store.getState()).toMatchObject({ screen: 'guided', run: { phase: 'summary', endReason: 'connection-lost', routineId: 'neck-knot' } });
    expect(loose(store.getState().run)?.endMessage).toMatch(/closed or reloaded/);
    store.dispatch({ type: 'closed' });
    controller.showInterrupted({ ...note, at: Date.now() - 60 * 60_000 });
    expect(store.getState().run).toBeNull(); // an old note is not about this reload
  });

  it('leaves a note only while a session of its own is active', async () => {
    const { store, controller } = await load({});
    expect(controller.interruptedNote(null)).toBeNull();
    runSession(store, 's1', { routineId: 'neck-knot' });
    store.dispatch({ type: 'ending' });
    store.dispatch({ type: 'ended', reason: 'completed', message: '', now: 0, timeScale: 1 });
    expect(store.getState().run).toMatchObject({ phase: 'summary', sessionId: 's1' });
    expect(controller.interruptedNote(store.getState().run)).toBeNull();
    store.dispatch({ type: 'closed' });
    runSession(store, 's1', { manual: 'neck' });
    expect(controller.interruptedNote(store.getState().run, 5)).toEqual({ sessionId: 's1', mode: 'manual', muscleGroup: 'neck', at: 5 });
  });

  it('counts under a minute left as none', async () => {
    const { store } = await load({});
    const { t } = await import('../../../renderer/src/i18n/en');
    store.setState({ usage: [{ muscleGroup: 'neck', usedSeconds: 306, budgetSeconds: 360, remainingSeconds: 54, resetsAt: '' }] });
    expect(store.budgetTooShort(store.getState(), 'neck')).toBe(true);
    expect(store.budgetTooShort(store.getState(), 'shoulders')).toBe(false); // unknown: the main process decides
    expect(t.routines.left(54)).toBe('Less than a minute left today — it resets at midnight');
    expect(t.routines.left(0)).toBe('No time left today — it resets at midnight');
    expect(t.routines.left(90)).toBe('1.5 min left today');
  });

  it('the water reminder needs a minute of motor time', async () => {
    expect(waterDue(summaryWith(6))).toBe(false);
    expect(waterDue(summaryWith(240))).toBe(true);
  });
});

describe('texts', () => {
  it('formats the stop accelerator for people', async () => {
    const { formatAccelerator } = await import('../../../renderer/src/screens/Settings');
    expect(formatAccelerator('CommandOrControl+Shift+Space', false)).toBe('Ctrl+Shift+Space');
    expect(formatAccelerator('CommandOrControl+Shift+Space', true)).toBe('⌘⇧Space');
    expect(formatAccelerator('Alt+s', false)).toBe('Alt+S');
  });

  it('gives a step its own motion words where the general label does not fit', async () => {
    const { findRoutine, motionText } = await import('../../../renderer/src/routines/library');
    const neck = findRoutine('neck-knot')!;
    const last = neck.steps.at(-1)!;
    expect(last.title).toBe('Neck and shoulders');
    expect(motionText(last)).not.toMatch(/whole back/i);
    expect(motionText(findRoutine('upper-back-knot')!.steps[0]!)).toBe('Small circles around the knot');
  });
});
