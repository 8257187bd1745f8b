/**
 * Motor time charged against what the simulated devices really ran (attack round 3,
 * F1–F4), at the level of the app core on the simulated radio: a stop the gun did not
 * confirm, two devices out of reach at once, the daily budget while a lost device is still
 * counted, and a session start while the link is down. A meter polls each simulated
 * peripheral every 20 ms and adds up the time its motor ran; the bounds are generous
 * (the charge may exceed the run by the 3 s reservation, and miss the moments before the
 * first write lands).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createCore, type AppCore, type CoreOptions } from '../../../electron/core/app-core';
import type { BudgetInfo, DeviceStatusEvent, EventChannel, MuscleGroup, Reply, ScanResults, SessionEndedEvent, SessionStartResult } from '../../../electron/ipc/contract';
import { sleep, until } from '../../support/wait';

const GUN = 'sim-theragun-pro';
const EMS = 'sim-jieli-hy1';
const ANSWERS = { pregnant: false, 'heart-condition': false, 'high-blood-pressure': false, implant: false, epilepsy: false };

describe('motor time charged against what the simulated devices ran', () => {
  let core: AppCore | null = null;
  let events: { event: EventChannel; payload: unknown }[] = [];
  const timers: ReturnType<typeof setInterval>[] = [];

  afterEach(async () => {
    for (const t of timers.splice(0)) clearInterval(t);
    await core?.shutdown();
    core = null;
  });

  const call = (channel: string, payload?: unknown): Promise<Reply> => core!.handle('ws:1', channel, payload);
  const ok = async <T>(channel: string, payload?: unknown): Promise<T> => {
    const r = await call(channel, payload);
    if (!r.ok) throw new Error(`${channel}: ${r.error.code} ${r.error.message}`);
    return r.result as T;
  };
  const fault = (peripheralId: string, name: string): Promise<unknown> => ok('sim.fault', { peripheralId, fault: name });
  const simState = (id: string): Record<string, unknown> => core!.simRadio()!.peripheral(id)!.state() as Record<string, unknown>;
  const motorOn = (id: string): boolean => {
    const s = simState(id);
    return 'rpm' in s ? Number(s.rpm) > 0 : s.running === true;
  };
  const lastStatus = (): DeviceStatusEvent | undefined =>
    [...events].reverse().find((e) => e.event === 'device.status')?.payload as DeviceStatusEvent | undefined;
  const used = async (group: MuscleGroup): Promise<number> => (await ok<BudgetInfo[]>('usage.today')).find((b) => b.muscleGroup === group)!.usedSeconds;

  /** Adds up, per simulated peripheral, the real seconds its motor ran. */
  function meter(): { seconds(id: string): number } {
    const since = new Map<string, number>();
    const total = new Map<string, number>();
    const poll = (): void => {
      const now = performance.now();
      for (const id of [GUN, EMS]) {
        const on = motorOn(id);
        if (on && !since.has(id)) since.set(id, now);
        if (!on && since.has(id)) {
          total.set(id, (total.get(id) ?? 0) + now - since.get(id)!);
          since.delete(id);
        }
      }
    };
    timers.push(setInterval(poll, 20));
    return {
      seconds: (id) => {
        poll();
        return ((total.get(id) ?? 0) + (since.has(id) ? performance.now() - since.get(id)! : 0)) / 1000;
      },
    };
  }

  async function boot(options: Partial<CoreOptions> = {}): Promise<void> {
    core = await createCore({
      dataDir: mkdtempSync(join(tmpdir(), 'unknot-counted-')),
      demo: true,
      timeScale: 1,
      host: 'browser',
      version: 'test',
      reconnect: { initialDelayMs: 20, maxDelayMs: 200 },
      ...options,
    });
    events = [];
    core.attach({ id: 'ws:1', kind: 'ws', send: (event, payload) => events.push({ event, payload }) });
    await ok('screening.set', { answers: ANSWERS });
    await ok('settings.set', { doctorNoticeAcknowledged: true });
    await ok('scan.start');
    await until(
      () => {
        const results = [...events].reverse().find((e) => e.event === 'scan.results')?.payload as ScanResults | undefined;
        return [GUN, EMS].every((id) => results?.devices.some((d) => d.peripheralId === id));
      },
      3000,
      'the gun and the pad are heard',
    );
  }

  /** Connects, starts a session on `group` at `intensity` (heartbeats every 500 ms) and waits until the motor runs. */
  async function run(device: string, group: MuscleGroup, intensity: number, planned = 240): Promise<SessionStartResult> {
    await ok('device.connect', { peripheralId: device });
    await sleep(60);
    const s = await ok<SessionStartResult>('session.start', { muscleGroup: group, plannedMotorSeconds: planned });
    timers.push(setInterval(() => void call('session.heartbeat', { sessionId: s.sessionId }), 500));
    await ok('session.setStep', { sessionId: s.sessionId, intensity });
    await until(() => motorOn(device), 3000, `${device} runs`);
    return s;
  }

  /** Waits until `group`'s charge reaches `atLeast` seconds (tails are charged in the background), at most 3 s. */
  async function usedAtLeast(group: MuscleGroup, atLeast: number): Promise<number> {
    let u = await used(group);
    for (let i = 0; i < 60 && u < atLeast; i++) {
      await sleep(50);
      u = await used(group);
    }
    return u;
  }

  it('F1: after a stop ends unconfirmed the gun runs on, and that time is charged until "It is off"', async () => {
    await boot();
    const m = meter();
    await run(GUN, 'neck', 0.5);
    await sleep(1000);
    await fault(GUN, 'ignore-every-stop');
    await ok('device.stop');
    await until(() => lastStatus()?.stop?.state === 'unconfirmed', 8000, 'the stop ends unconfirmed');
    await sleep(4000);
    expect(motorOn(GUN)).toBe(true); // it ignored every stop
    await fault(GUN, 'button-power'); // switched off by hand
    await until(() => !motorOn(GUN), 2000, 'the gun is off');
    await ok('device.confirmOff');
    const ran = m.seconds(GUN);
    expect(ran).toBeGreaterThan(6);
    const charged = await usedAtLeast('neck', ran - 1);
    expect(charged, `ran ${ran.toFixed(2)} s, charged ${charged} s`).toBeGreaterThanOrEqual(ran - 1);
    expect(charged).toBeLessThanOrEqual(ran + 3.5);
    await sleep(2000); // nothing more is counted once it is off
    expect(await used('neck')).toBeLessThanOrEqual(charged + 0.5);
  }, 30_000);

  it('F1: a reconnect given up, then a connection whose stop first ends unconfirmed: the count goes on until "It is off"', async () => {
    await boot({ linkTimeouts: { connectMs: 150 }, reconnect: { initialDelayMs: 20, maxDelayMs: 100, giveUpAfterMs: 500 } });
    const m = meter();
    await run(GUN, 'neck', 0.5);
    await sleep(500);
    await fault(GUN, 'ignore-every-stop');
    await fault(GUN, 'stop-advertising');
    await fault(GUN, 'drop-link');
    await until(() => events.some((e) => e.event === 'session.ended' && (e.payload as SessionEndedEvent).reason === 'device-lost'), 4000, 'given up');
    await fault(GUN, 'resume-advertising');
    await ok('device.connect', { peripheralId: GUN }); // its first write is a stop, which it ignores
    await until(() => lastStatus()?.stop?.state === 'unconfirmed', 8000, 'the stop ends unconfirmed');
    await sleep(3000);
    expect(motorOn(GUN)).toBe(true);
    await fault(GUN, 'button-power');
    await until(() => !motorOn(GUN), 2000, 'the gun is off');
    await ok('device.confirmOff');
    const ran = m.seconds(GUN);
    const charged = await usedAtLeast('neck', ran - 1.5);
    expect(charged, `ran ${ran.toFixed(2)} s, charged ${charged} s`).toBeGreaterThanOrEqual(ran - 1.5);
    expect(charged).toBeLessThanOrEqual(ran + 3.5);
  }, 30_000);

  it('F2: the pad and then the gun out of reach at once: each is charged what it ran, each when a stop reaches it', async () => {
    await boot();
    const m = meter();
    await run(EMS, 'shoulders', 0.4);
    await sleep(1500);
    await fault(EMS, 'refuse-connection');
    await fault(EMS, 'drop-link');
    await sleep(500);
    await run(GUN, 'neck', 0.6); // the user switches to the gun
    await sleep(1500);
    await fault(GUN, 'refuse-connection');
    await fault(GUN, 'drop-link');
    await sleep(4000);
    expect(motorOn(GUN) && motorOn(EMS)).toBe(true); // both run on, out of reach
    await fault(GUN, 'clear');
    await until(() => lastStatus()?.connection === 'connected' && !motorOn(GUN), 5000, 'the gun reconnects and stops');
    const gunRan = m.seconds(GUN);
    const neck = await usedAtLeast('neck', gunRan - 1.5);
    expect(neck, `gun ran ${gunRan.toFixed(2)} s, neck charged ${neck} s`).toBeGreaterThanOrEqual(gunRan - 1.5);
    expect(neck).toBeLessThanOrEqual(gunRan + 3.5);
    await fault(EMS, 'clear');
    await ok('device.connect', { peripheralId: EMS }); // stopped first
    await until(() => !motorOn(EMS), 3000, 'the pad stops');
    const emsRan = m.seconds(EMS);
    const shoulders = await usedAtLeast('shoulders', emsRan - 1.5);
    expect(shoulders, `pad ran ${emsRan.toFixed(2)} s, shoulders charged ${shoulders} s`).toBeGreaterThanOrEqual(emsRan - 1.5);
    expect(shoulders).toBeLessThanOrEqual(emsRan + 3.5);
    expect(await used('neck')).toBeLessThanOrEqual(gunRan + 3.5); // the pad's settling charged nothing to the neck
  }, 40_000);

  it('F3: while the lost gun is still counted, usage.today and the next grant for that area include it (×20 time)', async () => {
    await boot({ timeScale: 20 });
    const m = meter();
    await run(GUN, 'shoulders', 0.6, 300);
    await sleep(2000);
    await fault(GUN, 'refuse-connection');
    await fault(GUN, 'drop-link');
    await sleep(2500);
    await ok('device.connect', { peripheralId: EMS });
    const gunSoFar = m.seconds(GUN) * 20; // motor seconds (routine time)
    const today = (await ok<BudgetInfo[]>('usage.today')).find((b) => b.muscleGroup === 'shoulders')!;
    expect(today.usedSeconds, `the gun has run ${gunSoFar.toFixed(0)} s`).toBeGreaterThanOrEqual(gunSoFar - 30);
    expect(today.remainingSeconds).toBeLessThanOrEqual(360 - gunSoFar + 30);
    const second = await ok<SessionStartResult>('session.start', { muscleGroup: 'shoulders', plannedMotorSeconds: 300 });
    expect(second.grantedMotorSeconds).toBeLessThanOrEqual(360 - gunSoFar + 30);
    timers.push(setInterval(() => void call('session.heartbeat', { sessionId: second.sessionId }), 500));
    await ok('session.setStep', { sessionId: second.sessionId, intensity: 0.4 });
    const ended = await until(
      () => events.find((e) => e.event === 'session.ended' && (e.payload as SessionEndedEvent).sessionId === second.sessionId)?.payload as SessionEndedEvent | undefined,
      20_000,
      'the pad session ends',
    );
    expect(ended.reason).toBe('daily-budget'); // the gun's count and the pad's time reached 6 min together
    await fault(GUN, 'clear');
    await ok('device.connect', { peripheralId: GUN }); // stopped first
    await until(() => !motorOn(GUN), 3000, 'the gun stops');
    const ran = (m.seconds(GUN) + m.seconds(EMS)) * 20;
    const charged = await usedAtLeast('shoulders', ran - 40);
    expect(charged, `ran ${ran.toFixed(0)} s, charged ${charged} s`).toBeGreaterThanOrEqual(ran - 40);
    expect(charged).toBeLessThanOrEqual(ran + 80);
  }, 40_000);

  it('F4: no session starts while the link is down; the outage is charged once, to the area that ran', async () => {
    await boot();
    const m = meter();
    const first = await run(GUN, 'neck', 0.6);
    await sleep(1500);
    await fault(GUN, 'refuse-connection');
    await fault(GUN, 'drop-link');
    await until(() => lastStatus()?.connection === 'reconnecting', 2000, 'the link is down');
    await ok('session.end', { sessionId: first.sessionId });
    const start = await call('session.start', { muscleGroup: 'shoulders', plannedMotorSeconds: 240 });
    expect(start).toMatchObject({ ok: false, error: { code: 'not-connected' } });
    await sleep(3000);
    await fault(GUN, 'clear');
    await until(() => lastStatus()?.connection === 'connected' && !motorOn(GUN), 5000, 'the gun reconnects and stops');
    expect(await ok('session.get')).toBeNull();
    const ran = m.seconds(GUN);
    const neck = await usedAtLeast('neck', ran - 1.5);
    expect(neck, `ran ${ran.toFixed(2)} s, neck charged ${neck} s`).toBeGreaterThanOrEqual(ran - 1.5);
    expect(neck).toBeLessThanOrEqual(ran + 3.5);
    await sleep(1500);
    expect(await used('shoulders')).toBe(0);
    expect(await used('neck')).toBeLessThanOrEqual(ran + 3.5);
  }, 30_000);
});
