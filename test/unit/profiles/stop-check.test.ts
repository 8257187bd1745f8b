/**
 * The stop check (issue 17, part 2): a device on a user profile runs no motor before it,
 * manual control included; the check runs the lowest step for 2 s under the governor (its
 * motor time charged), stops, and asks "Did it stop?". A "yes" is remembered per device
 * and profile version (on disk, across restarts); a "no" keeps motor control off for that
 * device, the check included, until the profile changes. Demo mode's Nodo Mini is the
 * device, on the fixture profile.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { BudgetInfo, DeviceStatusEvent } from '../../../electron/ipc/contract';
import { ALL_NO, sleep, startCore, until, type CoreHarness } from '../helpers/core-harness';
import { NODO, dataDirWith } from './support';

const MANUAL = { muscleGroup: 'upper-back', plannedMotorSeconds: 60 };

let h: CoreHarness | null = null;
afterEach(async () => {
  await h?.core.shutdown();
  h = null;
});

/** A ready core in `dir` with the Nodo Mini connected; records the level the simulated cushion decoded at each write. */
async function connectNodo(dir: string): Promise<{ c: CoreHarness; status: DeviceStatusEvent; levels: { ms: number; level: number; running: boolean }[] }> {
  const c = await startCore(dir);
  h = c;
  await c.ok('screening.set', { answers: ALL_NO });
  await c.ok('settings.set', { doctorNoticeAcknowledged: true });
  const id = await c.find(/^Nodo Mini$/);
  const status = await c.ok<DeviceStatusEvent>('device.connect', { peripheralId: id });
  const radio = c.core.simRadio()!;
  const levels: { ms: number; level: number; running: boolean }[] = [];
  radio.onWrite(() => {
    const s = radio.peripheral('sim-nodo-mini')!.state();
    levels.push({ ms: performance.now(), level: Number(s.level), running: Boolean(s.running) });
  });
  return { c, status, levels };
}

describe('the stop check', () => {
  it('no motor before it; it runs the lowest step for 2 s under the governor, stops, asks, and a "yes" lets sessions start', async () => {
    const dir = dataDirWith({ 'nodo-mini.json': NODO });
    const { c, status, levels } = await connectNodo(dir);
    expect(status).toMatchObject({ protocolId: 'nodo-mini', stopCheck: 'needed' });
    // manual control and a routine alike are refused, and heat cannot come on
    expect(await c.call('session.start', MANUAL)).toMatchObject({ ok: false, error: { code: 'stop-check-needed' } });
    expect(await c.call('session.start', { ...MANUAL, routineId: 'upper-back-knot' })).toMatchObject({ ok: false, error: { code: 'stop-check-needed' } });
    // an answer without a check is refused
    expect(await c.call('stopCheck.answer', { stopped: true })).toMatchObject({ ok: false, error: { code: 'refused' } });
    expect(levels.filter((l) => l.level > 0)).toEqual([]);

    const t0 = performance.now();
    const after = await c.ok<DeviceStatusEvent>('stopCheck.run', { muscleGroup: 'upper-back' });
    expect(after.stopCheck).toBe('asking');
    const running = levels.filter((l) => l.level > 0);
    // the lowest step, never more
    expect(running.length).toBeGreaterThan(0);
    expect(Math.max(...running.map((l) => l.level))).toBe(1);
    // then the stop reached the cushion: its last decoded state is off, about 2 s after the first step (generous bounds)
    const last = levels[levels.length - 1]!;
    expect(last).toMatchObject({ level: 0, running: false });
    const ranMs = last.ms - running[0]!.ms;
    expect(ranMs).toBeGreaterThan(1500);
    expect(performance.now() - t0).toBeLessThan(15_000);
    // a session under the governor: its motor time is charged to the chosen group
    const today = await c.ok<BudgetInfo[]>('usage.today');
    expect(today.find((b) => b.muscleGroup === 'upper-back')!.usedSeconds).toBeGreaterThan(1);
    expect(c.events.some((e) => e.event === 'session.state')).toBe(true);
    // still no session while it asks
    expect(await c.call('session.start', MANUAL)).toMatchObject({ ok: false, error: { code: 'stop-check-needed' } });

    const yes = await c.ok<DeviceStatusEvent>('stopCheck.answer', { stopped: true });
    expect(yes.stopCheck).toBe('passed');
    const version = status.userProfile!.version;
    const onDisk = JSON.parse(readFileSync(join(dir, 'settings.json'), 'utf8')) as { stopChecks: Record<string, Record<string, unknown>> };
    expect(onDisk.stopChecks['sim-nodo-mini']!['nodo-mini']).toMatchObject({ version, stopped: true });
    const session = await c.call('session.start', MANUAL);
    expect(session.ok).toBe(true);
  }, 30_000);

  it('a "yes" is remembered for this device and this profile version across restarts; a changed profile needs the check again', async () => {
    const dir = dataDirWith({ 'nodo-mini.json': NODO });
    {
      const { c } = await connectNodo(dir);
      await c.ok('stopCheck.run', { muscleGroup: 'lower-back' });
      await c.ok('stopCheck.answer', { stopped: true });
      await c.core.shutdown();
      h = null;
    }
    {
      const { c, status } = await connectNodo(dir);
      expect(status.stopCheck).toBe('passed');
      expect((await c.call('session.start', MANUAL)).ok).toBe(true);
      await c.core.shutdown();
      h = null;
    }
    // the file changes (another version): needed again
    writeFileSync(join(dir, 'profiles', 'nodo-mini.json'), NODO.replace('Nodo Mini cushion', 'Nodo Mini (edited)'));
    const { c, status } = await connectNodo(dir);
    expect(status.stopCheck).toBe('needed');
    expect(await c.call('session.start', MANUAL)).toMatchObject({ ok: false, error: { code: 'stop-check-needed' } });
  }, 60_000);

  it('a "no" keeps motor control off for the device, the check included, through "delete my data", until the profile changes', async () => {
    const dir = dataDirWith({ 'nodo-mini.json': NODO });
    const { c } = await connectNodo(dir);
    await c.ok('stopCheck.run', { muscleGroup: 'upper-back' });
    const no = await c.ok<DeviceStatusEvent>('stopCheck.answer', { stopped: false });
    expect(no.stopCheck).toBe('failed');
    expect(c.events.some((e) => e.event === 'safety.warning' && (e.payload as { code: string }).code === 'stop-check-failed')).toBe(true);
    expect(await c.call('session.start', MANUAL)).toMatchObject({ ok: false, error: { code: 'stop-check-needed', message: expect.stringMatching(/did not stop/) } });
    expect(await c.call('stopCheck.run', { muscleGroup: 'upper-back' })).toMatchObject({ ok: false, error: { code: 'stop-check-needed' } });
    // deleting one's data does not undo a "no"
    await c.ok('data.delete', { confirm: 'delete my data' });
    await c.ok('screening.set', { answers: ALL_NO });
    await c.ok('settings.set', { doctorNoticeAcknowledged: true });
    expect(await c.call('session.start', MANUAL)).toMatchObject({ ok: false, error: { code: 'stop-check-needed' } });
    // the profile changes, the device reconnects on the new version: the check may run again
    writeFileSync(join(dir, 'profiles', 'nodo-mini.json'), NODO.replace('Nodo Mini cushion', 'Nodo Mini (fixed stop)'));
    await c.ok('profiles.reload');
    await c.ok('device.disconnect');
    const again = await c.ok<DeviceStatusEvent>('device.connect', { peripheralId: 'sim-nodo-mini' });
    expect(again.stopCheck).toBe('needed');
    expect((await c.call('stopCheck.run', { muscleGroup: 'upper-back' })).ok).toBe(true);
  }, 60_000);

  it('is only for user profiles: a built-in device has no stop check and runs as before', async () => {
    const c = await startCore();
    h = c;
    await c.ok('screening.set', { answers: ALL_NO });
    await c.ok('settings.set', { doctorNoticeAcknowledged: true });
    const id = await c.find(/^Pro$/);
    const status = await c.ok<DeviceStatusEvent>('device.connect', { peripheralId: id });
    expect(status.stopCheck).toBeUndefined();
    expect(await c.call('stopCheck.run', { muscleGroup: 'upper-back' })).toMatchObject({ ok: false, error: { code: 'refused' } });
    expect((await c.call('session.start', MANUAL)).ok).toBe(true);
  }, 30_000);

  /** Starts the check without waiting for it; resolves with the check's session id once it runs. */
  async function checkRunning(c: CoreHarness, group = 'upper-back'): Promise<{ run: Promise<unknown>; sessionId: string }> {
    const seen = c.events.length;
    const run = c.call('stopCheck.run', { muscleGroup: group });
    const sessionId = await until(() => {
      const e = c.events.slice(seen).find((x) => x.event === 'session.state' && (x.payload as { state: string }).state === 'running');
      return e && (e.payload as { sessionId: string }).sessionId;
    }, 5000, "the check's session runs");
    return { run, sessionId };
  }

  it('F5: no other session starts while the check runs; the asking window cannot step or end its session; stopped early, the check ends at once; the cushion never above level 1', async () => {
    const dir = dataDirWith({ 'nodo-mini.json': NODO });
    const { c, levels } = await connectNodo(dir);
    // the tester's sequence: run, end the check's own session at once, start another
    const { run, sessionId } = await checkRunning(c);
    // (while its session runs, another is refused as a second session)
    expect(await c.core.handle('ws:2', 'session.start', MANUAL)).toMatchObject({ ok: false });
    // the check's session is the check's, not the asking window's: that window cannot step it up, nor end it to start its own
    expect(await c.call('session.setStep', { sessionId, intensity: 1 })).toMatchObject({ ok: false, error: { code: 'not-owner' } });
    expect(await c.call('session.end', { sessionId })).toMatchObject({ ok: false, error: { code: 'not-owner' } });
    // any window may stop it
    expect((await c.call('device.stop', {})).ok).toBe(true);
    // the check ended with its session, not at its next beat: the stop was written, so it asks
    expect(await c.ok<DeviceStatusEvent>('device.get')).toMatchObject({ stopCheck: 'asking' });
    const started = await c.call('session.start', MANUAL);
    expect(started).toMatchObject({ ok: false, error: { code: 'stop-check-needed' } });
    expect(await run).toMatchObject({ ok: true, result: { stopCheck: 'asking' } });
    expect(await c.call('session.start', MANUAL)).toMatchObject({ ok: false, error: { code: 'stop-check-needed' } });
    await sleep(2500);
    expect(await c.ok('session.get')).toBeNull();
    expect(Math.max(0, ...levels.map((l) => l.level))).toBeLessThanOrEqual(1);
    expect(levels[levels.length - 1]).toMatchObject({ level: 0, running: false });
  }, 30_000);

  it("F5: after anyone's device.stop during the check, no session starts; after a dropped link the check is needed again", async () => {
    const dir = dataDirWith({ 'nodo-mini.json': NODO });
    const { c, levels } = await connectNodo(dir);
    {
      const { run } = await checkRunning(c);
      expect((await c.core.handle('ws:2', 'device.stop', {})).ok).toBe(true);
      expect(await c.core.handle('ws:2', 'session.start', MANUAL)).toMatchObject({ ok: false, error: { code: 'stop-check-needed' } });
      expect(await c.call('session.start', MANUAL)).toMatchObject({ ok: false, error: { code: 'stop-check-needed' } });
      expect(await run).toMatchObject({ ok: true, result: { stopCheck: 'asking' } });
    }
    {
      const { run } = await checkRunning(c);
      expect((await c.call('sim.fault', { peripheralId: 'sim-nodo-mini', fault: 'drop-link' })).ok).toBe(true);
      expect(await run).toMatchObject({ ok: false, error: { code: 'refused' } });
      expect(await c.call('session.start', MANUAL)).toMatchObject({ ok: false });
      for (let i = 0; i < 150 && (await c.ok<DeviceStatusEvent>('device.get')).connection !== 'connected'; i++) await sleep(100);
      expect(await c.ok<DeviceStatusEvent>('device.get')).toMatchObject({ stopCheck: 'needed' });
      expect(await c.call('session.start', MANUAL)).toMatchObject({ ok: false, error: { code: 'stop-check-needed' } });
    }
    expect(Math.max(0, ...levels.map((l) => l.level))).toBeLessThanOrEqual(1);
  }, 60_000);

  it('F6: only the connection that ran the check may answer it', async () => {
    const dir = dataDirWith({ 'nodo-mini.json': NODO });
    const { c } = await connectNodo(dir);
    await c.ok('stopCheck.run', { muscleGroup: 'upper-back' });
    const other = await c.core.handle('ws:2', 'stopCheck.answer', { stopped: true });
    expect(other).toMatchObject({ ok: false, error: { code: 'refused', message: expect.stringMatching(/window that ran the stop check/) } });
    expect(await c.ok<DeviceStatusEvent>('device.get')).toMatchObject({ stopCheck: 'asking' });
    expect(await c.core.handle('ws:2', 'session.start', MANUAL)).toMatchObject({ ok: false, error: { code: 'stop-check-needed' } });
    expect(await c.ok<DeviceStatusEvent>('stopCheck.answer', { stopped: true })).toMatchObject({ stopCheck: 'passed' });
  }, 30_000);
});
