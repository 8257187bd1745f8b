/**
 * Every stop confirmed by the device, or the user told to stop it by hand: each simulated
 * device through the whole main process (real noble classes on the simulated radio, the
 * device link's stop watch, the governor and the core), judged by what the device decoded
 * and by the frames on the wire.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { AppCore } from '../../../electron/core/app-core';
import type { DeviceStatusEvent, EventChannel, Reply, SessionEndedEvent, SessionStartResult } from '../../../electron/ipc/contract';
import { ALL_NO, startCore, until } from '../helpers/core-harness';

interface DeviceCase {
  label: string;
  name: RegExp;
  /** The stop's deadline per attempt (ms) as the protocol declares it. */
  deadlineMs: number;
  /** Stop attempts the protocol makes before giving up. */
  attempts: number;
  /** Whether the device reports its motor on (from its simulator's state). */
  running: (state: Record<string, unknown>) => boolean;
  /** The stop frames (hex) this device is sent. */
  stopFrames: string[];
  /** Its simulator can be told never to report its state. */
  canBeSilent: boolean;
  /** Switches it off on the device itself. */
  handOff: string;
}

const DEVICES: DeviceCase[] = [
  {
    label: 'Theragun',
    name: /^Pro$/,
    deadlineMs: 1000,
    attempts: 2,
    running: (s) => Number(s.rpm) > 0,
    stopFrames: ['aa070103000003'],
    canBeSilent: true,
    handOff: 'button-power',
  },
  {
    label: 'RongTai chair',
    name: /^EVOLUTION-/,
    deadlineMs: 3000,
    attempts: 2,
    running: (s) => s.runState === 'running',
    stopFrames: ['f083017bf1'],
    canBeSilent: false,
    handOff: 'remote-power',
  },
  {
    label: 'JieLi EMS pad',
    name: /^hy\d/,
    deadlineMs: 2000,
    attempts: 3,
    running: (s) => s.running === true,
    // level 0, then run-state off, then the first versions' cmd-0 stop
    stopFrames: ['6879000b0102006284' + '0d0a', '6879000d010b000000c2d2' + '0d0a', '6879000f01000000000000d70d' + '0d0a'],
    canBeSilent: true,
    handOff: 'button-power',
  },
];

describe.each(DEVICES.map((d) => [d.label, d] as const))('stop confirmation: %s', (_label, device) => {
  let core: AppCore;
  let events: { event: EventChannel; payload: unknown }[];
  let id: string;
  let hb: ReturnType<typeof setInterval> | undefined;
  let call: (channel: string, payload?: unknown) => Promise<Reply>;
  let ok: <T>(channel: string, payload?: unknown) => Promise<T>;
  const sim = () => core.simRadio()!.peripheral(id)!.state();
  const wire = () => core.simRadio()!.writes(id).map((w) => Buffer.from(w.bytes).toString('hex'));
  const statuses = () => events.filter((e) => e.event === 'device.status').map((e) => e.payload as DeviceStatusEvent);

  async function setup(faultsBeforeConnect: string[] = []): Promise<void> {
    const h = await startCore();
    ({ core, events, call, ok } = h);
    id = await h.find(device.name);
    for (const f of faultsBeforeConnect) await ok('sim.fault', { peripheralId: id, fault: f });
    await ok('device.connect', { peripheralId: id });
    await ok('screening.set', { answers: ALL_NO });
    await ok('settings.set', { doctorNoticeAcknowledged: true });
  }

  async function run(): Promise<SessionStartResult> {
    const s = await ok<SessionStartResult>('session.start', { muscleGroup: 'upper-back', plannedMotorSeconds: 240 });
    if (hb) clearInterval(hb);
    hb = setInterval(() => void call('session.heartbeat', { sessionId: s.sessionId }), 400);
    await ok('session.setStep', { sessionId: s.sessionId, intensity: 0.5, motion: 'circular' });
    await until(() => device.running(sim()), 6000, 'the motor runs');
    await new Promise((r) => setTimeout(r, 300));
    return s;
  }

  afterEach(async () => {
    if (hb) clearInterval(hb);
    hb = undefined;
    await core?.shutdown();
  });

  it('a normal stop is confirmed by the device within its deadline', async () => {
    await setup();
    await run();
    const t0 = Date.now();
    const reply = await ok<DeviceStatusEvent>('device.stop');
    // device.stop answers once the stop is on the wire; the proof comes as a device.status event.
    expect(reply.stop?.state).toBe('waiting');
    const confirmed = await until(() => statuses().find((s) => s.stop?.state === 'confirmed'), device.deadlineMs + 1000, 'confirmed');
    expect(Date.now() - t0).toBeLessThan(device.deadlineMs + 500);
    expect(confirmed.stop).toMatchObject({ state: 'confirmed', attempts: 1 });
    expect(confirmed.stop!.latencyMs).toBeLessThanOrEqual(device.deadlineMs);
    expect(device.running(sim())).toBe(false);
    expect(wire().filter((h) => device.stopFrames.slice(1).includes(h))).toEqual([]); // no escalation was needed
  }, 20_000);

  it('with "ignore the next stop", the repeat is confirmed', async () => {
    await setup();
    await run();
    await ok('sim.fault', { peripheralId: id, fault: 'ignore-next-stop' });
    await ok('device.stop');
    await new Promise((r) => setTimeout(r, 200));
    expect(device.running(sim())).toBe(true);
    const confirmed = await until(() => statuses().find((s) => s.stop?.state === 'confirmed'), device.deadlineMs * 2 + 2000, 'confirmed');
    expect(confirmed.stop?.attempts).toBe(2);
    expect(device.running(sim())).toBe(false);
    expect(sim().stopsIgnored).toBe(1);
    expect(statuses().some((s) => s.stop?.state === 'unconfirmed')).toBe(false);
  }, 20_000);

  it('with "ignore every stop", the user is told to switch it off by hand, the session cannot resume, and a new one waits for "It is off"', async () => {
    await setup();
    const s = await run();
    await ok('sim.fault', { peripheralId: id, fault: 'ignore-every-stop' });
    const before = wire().length;
    await ok('session.pause', { sessionId: s.sessionId });
    const unconfirmed = await until(() => statuses().find((x) => x.stop?.state === 'unconfirmed'), device.deadlineMs * (device.attempts + 1) + 2000, 'unconfirmed');
    expect(unconfirmed.stop?.attempts).toBe(device.attempts);
    expect(unconfirmed.offUnconfirmed).toBe(true);
    expect(unconfirmed.message).toMatch(/did not confirm that it stopped\. Switch it off by hand now/);
    expect(unconfirmed.message).toContain(unconfirmed.handOff);
    const warning = events.find((e) => e.event === 'safety.warning' && (e.payload as { code: string }).code === 'stop-unconfirmed');
    expect(warning).toBeDefined();
    // Every stop attempt the protocol allows reached the device, in order, and nothing else moved it.
    const stops = wire().slice(before).filter((h) => device.stopFrames.includes(h));
    expect(stops).toEqual(device.label === 'JieLi EMS pad' ? device.stopFrames : [device.stopFrames[0], device.stopFrames[0]]);
    expect(device.running(sim())).toBe(true); // the simulated device really is still running
    // The session ended and cannot be resumed.
    const ended = events.find((e) => e.event === 'session.ended')?.payload as SessionEndedEvent | undefined;
    expect(ended?.reason).toBe('stop-unconfirmed');
    expect(await call('session.resume', { sessionId: s.sessionId })).toMatchObject({ ok: false });
    // A new session needs the user to say it is off.
    expect(await call('session.start', { muscleGroup: 'upper-back', plannedMotorSeconds: 120 })).toMatchObject({
      ok: false,
      error: { code: 'device-not-confirmed-off' },
    });
    await ok('sim.fault', { peripheralId: id, fault: device.handOff }); // the user switches it off on the device
    const after = await ok<DeviceStatusEvent>('device.confirmOff');
    expect(after.offUnconfirmed).toBeUndefined();
    const again = await call('session.start', { muscleGroup: 'upper-back', plannedMotorSeconds: 120 });
    expect(again).toMatchObject({ ok: true });
  }, 30_000);

  it.runIf(device.label !== 'RongTai chair')('a new session right after a stop is not stopped by that stop’s late repeat', async () => {
    await setup();
    await run();
    await ok('sim.fault', { peripheralId: id, fault: 'ignore-next-stop' });
    await ok('device.stop');
    // The stop is still waiting for its proof when the user starts again at once.
    await run();
    const before = wire().length;
    await new Promise((r) => setTimeout(r, device.deadlineMs * 2 + 500));
    expect(device.running(sim())).toBe(true);
    expect(wire().slice(before).filter((h) => device.stopFrames.includes(h))).toEqual([]);
  }, 20_000);

  it.runIf(device.label === 'Theragun')('many stops in a row leave no backlog of status requests in front of the next run', async () => {
    await setup();
    for (let i = 0; i < 30; i++) {
      const s = await ok<SessionStartResult>('session.start', { muscleGroup: 'upper-back', plannedMotorSeconds: 60 });
      await ok('session.setStep', { sessionId: s.sessionId, intensity: 0.3 });
      await ok('device.stop');
    }
    const s = await ok<SessionStartResult>('session.start', { muscleGroup: 'upper-back', plannedMotorSeconds: 60 });
    hb = setInterval(() => void call('session.heartbeat', { sessionId: s.sessionId }), 400);
    const t0 = Date.now();
    await ok('session.setStep', { sessionId: s.sessionId, intensity: 0.5 });
    await until(() => device.running(sim()), 1500, 'the gun runs again promptly');
    expect(Date.now() - t0).toBeLessThan(1500);
  }, 30_000);

  it.runIf(device.canBeSilent)('a device that never reports its state: the stop is sent twice, 200 ms apart, "cannot confirm", and it still starts again', async () => {
    await setup(['no-status-replies']);
    await run();
    const before = core.simRadio()!.writes(id).length;
    await ok('device.stop');
    const cannot = await until(() => statuses().find((s) => s.stop?.state === 'cannot-confirm'), device.deadlineMs + 1500, 'cannot-confirm');
    expect(cannot.offUnconfirmed).toBeUndefined();
    const stops = core.simRadio()!.writes(id).slice(before).filter((w) => Buffer.from(w.bytes).toString('hex') === device.stopFrames[0]);
    expect(stops).toHaveLength(2);
    expect(stops[1]!.atMs - stops[0]!.atMs).toBeGreaterThanOrEqual(190);
    expect(device.running(sim())).toBe(false);
    // Not a failure: a new session starts.
    await run();
    expect(device.running(sim())).toBe(true);
  }, 20_000);
});
