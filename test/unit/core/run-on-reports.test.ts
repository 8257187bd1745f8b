/**
 * What a device reports after a stop it did not confirm (attack round 4, D3), at the level
 * of the app core on the simulated radio. The Nodo Mini on the fixture user profile reports
 * its state every second by itself: a report that it runs while no session has it on puts
 * the "did not confirm" mark back and counts its motor time again, also after "It is off";
 * a report that it is off confirms the stop late, settles the count and lifts the mark.
 * A meter polls the simulated cushion every 20 ms and adds up the time its motor ran.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { BudgetInfo, DeviceStatusEvent, MuscleGroup, SessionStartResult } from '../../../electron/ipc/contract';
import { ALL_NO, sleep, startCore, until, type CoreHarness } from '../helpers/core-harness';
import { NODO, dataDirWith } from '../profiles/support';

const ID = 'sim-nodo-mini';

let h: CoreHarness | null = null;
let dir = '';
const timers: ReturnType<typeof setInterval>[] = [];
afterEach(async () => {
  for (const t of timers.splice(0)) clearInterval(t);
  await h?.core.shutdown();
  h = null;
});

const on = (): boolean => h!.core.simRadio()!.peripheral(ID)!.state().running === true;
const used = async (group: MuscleGroup): Promise<number> => (await h!.ok<BudgetInfo[]>('usage.today')).find((b) => b.muscleGroup === group)!.usedSeconds;
const lastStatus = (): DeviceStatusEvent | undefined =>
  [...h!.events].reverse().find((e) => e.event === 'device.status')?.payload as DeviceStatusEvent | undefined;
const device = (): Promise<DeviceStatusEvent> => h!.ok<DeviceStatusEvent>('device.get');

/** The real seconds the cushion's motor ran. */
function meter(): () => number {
  let since: number | null = null;
  let total = 0;
  const poll = (): void => {
    const now = performance.now();
    if (on() && since === null) since = now;
    if (!on() && since !== null) {
      total += now - since;
      since = null;
    }
  };
  timers.push(setInterval(poll, 20));
  return () => {
    poll();
    return (total + (since !== null ? performance.now() - since : 0)) / 1000;
  };
}

/** The Nodo connected, its stop check passed (charged to lower-back), a neck session running; then it ignores every stop and Stop ends unconfirmed. */
async function unconfirmedStop(): Promise<() => number> {
  dir = dataDirWith({ 'nodo-mini.json': NODO });
  h = await startCore(dir);
  const c = h;
  await c.ok('screening.set', { answers: ALL_NO });
  await c.ok('settings.set', { doctorNoticeAcknowledged: true });
  await c.ok('device.connect', { peripheralId: await c.find(/^Nodo Mini$/) });
  await c.ok('stopCheck.run', { muscleGroup: 'lower-back' });
  await c.ok('stopCheck.answer', { stopped: true });
  const ran = meter();
  const s = await c.ok<SessionStartResult>('session.start', { muscleGroup: 'neck', plannedMotorSeconds: 300 });
  timers.push(setInterval(() => void c.call('session.heartbeat', { sessionId: s.sessionId }), 500));
  await c.ok('session.setStep', { sessionId: s.sessionId, intensity: 1 });
  await until(on, 3000, 'the cushion runs');
  await sleep(1500);
  await c.ok('sim.fault', { peripheralId: ID, fault: 'ignore-every-stop' });
  await c.ok('device.stop');
  for (const t of timers.splice(1)) clearInterval(t); // the heartbeats
  await until(() => c.events.some((e) => e.event === 'safety.warning' && (e.payload as { code: string }).code === 'stop-unconfirmed'), 10_000, 'the stop ends unconfirmed');
  expect(on()).toBe(true);
  return ran;
}

describe('reports of a device whose stop was not confirmed', () => {
  it('"It is off" while it still reports running: marked again, no session starts, its time counted until it reports off', async () => {
    const ran = await unconfirmedStop();
    const c = h!;
    const writesBefore = c.core.simRadio()!.writes(ID).length;
    await c.ok('device.confirmOff'); // but it still runs
    // its next report (within a second) says it runs: the mark is back, and the stop is written again
    await until(() => lastStatus()?.offUnconfirmed === true, 2500, 'marked off-unconfirmed again');
    const stopBytes = (w: { bytes: Uint8Array }): boolean => Buffer.from(w.bytes).toString('hex') === '5501010057';
    await until(() => c.core.simRadio()!.writes(ID).slice(writesBefore).some(stopBytes), 2500, 'the stop written again');
    expect(await c.call('session.start', { muscleGroup: 'neck', plannedMotorSeconds: 60 })).toMatchObject({ ok: false, error: { code: 'device-not-confirmed-off' } });
    await sleep(3000);
    expect(on()).toBe(true);
    // still counted, to the neck: usage.today counts what ran (up to the 3 s reservation more)
    const mid = await used('neck');
    expect(mid, `ran ${ran().toFixed(2)} s, counted ${mid} s`).toBeGreaterThanOrEqual(ran() - 1.5);
    // switched off by hand: its next report proves it off
    await c.ok('sim.fault', { peripheralId: ID, fault: 'button-power' });
    await until(() => lastStatus()?.offUnconfirmed !== true, 2500, 'proven off');
    const total = ran();
    expect((await device()).stop).toMatchObject({ state: 'confirmed', late: true });
    const charged = await used('neck');
    expect(charged, `ran ${total.toFixed(2)} s, charged ${charged} s`).toBeGreaterThanOrEqual(total - 1.5);
    expect(charged).toBeLessThanOrEqual(total + 3.5);
    await sleep(2000); // nothing more is counted, and the mark stays off
    expect(await used('neck')).toBeLessThanOrEqual(charged + 0.5);
    expect((await device()).offUnconfirmed).toBeUndefined();
    expect((await c.call('session.start', { muscleGroup: 'neck', plannedMotorSeconds: 60 })).ok).toBe(true);
    // the count begun again left no reservation on disk (it would be charged on the next start)
    await c.core.shutdown();
    h = null;
    const log = JSON.parse(readFileSync(join(dir, 'usage.json'), 'utf8')) as { sessions: { reservation?: unknown }[] };
    expect(log.sessions.filter((x) => x.reservation !== undefined)).toEqual([]);
  }, 40_000);

  it('switched off by hand after an unconfirmed stop, nobody presses "It is off": its report settles the count and lifts the mark', async () => {
    const ran = await unconfirmedStop();
    const c = h!;
    expect((await device()).offUnconfirmed).toBe(true);
    await sleep(2000);
    await c.ok('sim.fault', { peripheralId: ID, fault: 'button-power' });
    await until(() => lastStatus()?.offUnconfirmed !== true, 2500, 'proven off');
    const total = ran();
    expect((await device()).stop).toMatchObject({ state: 'confirmed', late: true });
    const charged = await used('neck');
    expect(charged, `ran ${total.toFixed(2)} s, charged ${charged} s`).toBeGreaterThanOrEqual(total - 1.5);
    expect(charged).toBeLessThanOrEqual(total + 3.5);
    await sleep(3000); // the count ended with that report
    expect(await used('neck')).toBeLessThanOrEqual(charged + 0.5);
    expect((await c.call('session.start', { muscleGroup: 'neck', plannedMotorSeconds: 60 })).ok).toBe(true);
  }, 40_000);

  it('"It is off" on a device that really is off does not flap', async () => {
    await unconfirmedStop();
    const c = h!;
    await c.ok('sim.fault', { peripheralId: ID, fault: 'button-power' });
    await c.ok('device.confirmOff');
    const charged = await used('neck');
    await sleep(3000); // three reports, each saying off
    const d = await device();
    expect(d.offUnconfirmed).toBeUndefined();
    expect(c.events.filter((e) => e.event === 'safety.warning' && (e.payload as { code: string }).code === 'stop-unconfirmed')).toHaveLength(1);
    expect(await used('neck')).toBeLessThanOrEqual(charged + 0.5);
    expect((await c.call('session.start', { muscleGroup: 'neck', plannedMotorSeconds: 60 })).ok).toBe(true);
  }, 40_000);

  it('a gun that reports only when asked is asked on "It is off": still running, it is marked again, stopped again and counted', async () => {
    h = await startCore();
    const c = h;
    await c.ok('screening.set', { answers: ALL_NO });
    await c.ok('settings.set', { doctorNoticeAcknowledged: true });
    const gun = await c.find(/^Pro$/);
    await c.ok('device.connect', { peripheralId: gun });
    const s = await c.ok<SessionStartResult>('session.start', { muscleGroup: 'shoulders', plannedMotorSeconds: 300 });
    const beat = setInterval(() => void c.call('session.heartbeat', { sessionId: s.sessionId }), 500);
    await c.ok('session.setStep', { sessionId: s.sessionId, intensity: 0.5 });
    const rpm = (): number => Number(c.core.simRadio()!.peripheral(gun)!.state().rpm ?? c.core.simRadio()!.peripheral(gun)!.state().speed ?? 0);
    await until(() => rpm() > 0, 3000, 'the gun runs');
    await c.ok('sim.fault', { peripheralId: gun, fault: 'ignore-every-stop' });
    await c.ok('device.stop');
    clearInterval(beat);
    await until(() => lastStatus()?.offUnconfirmed === true, 10_000, 'the stop ends unconfirmed');
    expect(rpm()).toBeGreaterThan(0);
    const writesBefore = c.core.simRadio()!.writes(gun).length;
    await c.ok('device.confirmOff'); // but it still runs
    await until(() => lastStatus()?.offUnconfirmed === true, 3000, 'marked again after its answer');
    const after = c.core.simRadio()!.writes(gun).slice(writesBefore).map((w) => Buffer.from(w.bytes).toString('hex'));
    // asked with the status request, then stopped again
    expect(after[0]).toBe('aa101000');
    await until(() => c.core.simRadio()!.writes(gun).slice(writesBefore).some((w) => Buffer.from(w.bytes).toString('hex') === 'aa070103000003'), 3000, 'the stop written again');
    expect(await c.call('session.start', { muscleGroup: 'shoulders', plannedMotorSeconds: 60 })).toMatchObject({ ok: false, error: { code: 'device-not-confirmed-off' } });
    const before = await used('shoulders');
    await sleep(2000);
    expect(await used('shoulders')).toBeGreaterThan(before + 1);
  }, 40_000);
});
