/**
 * The app core end to end below the renderer: real noble classes on the simulated
 * radio, the real Theragun bytes, the governor and the store in a temporary folder.
 */
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createCore, type AppCore } from '../../../electron/core/app-core';
import type { EventChannel, Reply, ScanResults, SessionStartResult } from '../../../electron/ipc/contract';
import { simulateJieli } from '../../../protocols/jieli';

const ANSWERS = { pregnant: false, 'heart-condition': false, 'high-blood-pressure': false };

async function until<T>(fn: () => T | undefined | false, ms = 5000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('app core on the simulated radio', () => {
  let core: AppCore;
  let events: { event: EventChannel; payload: unknown }[];
  const call = async (channel: string, payload?: unknown, conn = 'ws:1'): Promise<Reply> => core.handle(conn, channel, payload);
  const ok = async <T>(channel: string, payload?: unknown, conn = 'ws:1'): Promise<T> => {
    const r = await call(channel, payload, conn);
    if (!r.ok) throw new Error(`${channel}: ${r.error.code} ${r.error.message}`);
    return r.result as T;
  };
  const rpm = (): number => Number(core.simRadio()!.peripheral('sim-theragun-pro')!.state().rpm);

  beforeEach(async () => {
    core = await createCore({
      dataDir: mkdtempSync(join(tmpdir(), 'unknot-core-')),
      demo: true,
      timeScale: 1,
      host: 'browser',
      version: 'test',
    });
    events = [];
    core.attach({ id: 'ws:1', kind: 'ws', send: (event, payload) => events.push({ event, payload }) });
  });
  afterEach(async () => {
    await core.shutdown();
  });

  async function connectTheragun(): Promise<void> {
    await ok('scan.start');
    const id = await until(() => {
      const last = [...events].reverse().find((e) => e.event === 'scan.results')?.payload as ScanResults | undefined;
      return last?.devices.find((d) => d.name === 'Pro')?.peripheralId;
    });
    await ok('device.connect', { peripheralId: id });
  }

  /** Connects the simulated Theragun with the screening answered "no" and the doctor notice acknowledged. */
  async function connectScreened(): Promise<void> {
    await connectTheragun();
    await ok('screening.set', { answers: ANSWERS });
    await ok('settings.set', { doctorNoticeAcknowledged: true });
  }

  it('refuses invalid payloads and unknown channels with a clear error', async () => {
    expect(await call('nope')).toMatchObject({ ok: false, error: { code: 'unknown-channel' } });
    for (const bad of [{ sessionId: 'x', intensity: 'high' }, { sessionId: 'x', intensity: Number.NaN }, { sessionId: 'x', intensity: 1.5 }, { sessionId: 'x', intensity: -1 }, null, 'string']) {
      expect(await call('session.setStep', bad)).toMatchObject({ ok: false, error: { code: 'invalid-payload' } });
    }
    expect(await call('session.start', { muscleGroup: 'knee', plannedMotorSeconds: 200 })).toMatchObject({
      ok: false,
      error: { code: 'invalid-payload', message: expect.stringContaining('muscleGroup') },
    });
  });

  it('a stop ignores its payload; __proto__ keys are refused; steps alone do not feed the watchdog', async () => {
    await connectScreened();
    for (const payload of [null, { force: true }, 'now']) {
      const s = await ok<SessionStartResult>('session.start', { muscleGroup: 'upper-back', plannedMotorSeconds: 120 });
      await ok('session.setStep', { sessionId: s.sessionId, intensity: 0.3 });
      await ok('session.heartbeat', { sessionId: s.sessionId });
      await until(() => rpm() > 0, 5000);
      expect(await call('device.stop', payload)).toMatchObject({ ok: true });
      await until(() => rpm() === 0, 1000);
    }
    expect(await call('screening.set', JSON.parse('{"answers":{"__proto__":{"pregnant":true}}}'))).toMatchObject({
      ok: false,
      error: { code: 'invalid-payload', message: expect.stringContaining('__proto__') },
    });
    // setStep every 200 ms without a heartbeat: the watchdog still ends the session after 3 s.
    const s = await ok<SessionStartResult>('session.start', { muscleGroup: 'shoulders', plannedMotorSeconds: 120 });
    const steps = setInterval(() => void call('session.setStep', { sessionId: s.sessionId, intensity: 0.3 }), 200);
    try {
      const ended = await until(() => events.find((e) => e.event === 'session.ended' && (e.payload as { sessionId: string }).sessionId === s.sessionId)?.payload as { reason: string } | undefined, 6000);
      expect(ended.reason).toBe('watchdog');
    } finally {
      clearInterval(steps);
    }
  }, 20_000);

  it('a "yes" to a health question mid-session stops the motor at once and ends the session, and no later step raises it', async () => {
    await connectScreened();
    const s = await ok<SessionStartResult>('session.start', { muscleGroup: 'upper-back', plannedMotorSeconds: 240 });
    const hb = setInterval(() => void call('session.heartbeat', { sessionId: s.sessionId }), 400);
    try {
      await ok('session.setStep', { sessionId: s.sessionId, intensity: 0.5 });
      await until(() => rpm() > 0, 5000);
      await ok('screening.set', { answers: { ...ANSWERS, 'high-blood-pressure': true } });
      const ended = events.find((e) => e.event === 'session.ended')?.payload as { reason: string; message: string } | undefined;
      expect(ended).toMatchObject({ reason: 'screening', message: expect.stringMatching(/health answer changed/) });
      await until(() => rpm() === 0, 1000);
      expect(await call('session.setStep', { sessionId: s.sessionId, intensity: 1 })).toMatchObject({ ok: false, error: { code: 'no-session' } });
      await new Promise((r) => setTimeout(r, 300));
      expect(rpm()).toBe(0);
    } finally {
      clearInterval(hb);
    }
  });

  it('another window raising the ceiling does not raise the running gun: it applies from the next session, and says so', async () => {
    await connectScreened();
    const s = await ok<SessionStartResult>('session.start', { muscleGroup: 'upper-back', plannedMotorSeconds: 240 });
    const hb = setInterval(() => void call('session.heartbeat', { sessionId: s.sessionId }), 400);
    try {
      await ok('session.setStep', { sessionId: s.sessionId, intensity: 1 });
      await until(() => rpm() === 2169, 10_000);
      await ok('settings.set', { ceilings: { theragun: 1 } }, 'ws:2');
      await ok('session.setStep', { sessionId: s.sessionId, intensity: 1 });
      await new Promise((r) => setTimeout(r, 2000));
      expect(rpm()).toBe(2169);
      expect(events.find((e) => e.event === 'safety.warning' && (e.payload as { code: string }).code === 'ceiling-next-session')?.payload).toMatchObject({
        message: expect.stringMatching(/applies from the next session/),
      });
    } finally {
      clearInterval(hb);
    }
  }, 20_000);

  it('reports the system adapter as unavailable with its reason on this machine', async () => {
    const a = await ok<{ state: string; message: string }>('adapter.get');
    expect(a.state).toBe('unavailable');
    expect(a.message.length).toBeGreaterThan(10);
  });

  it('refuses to start before screening, then runs the Theragun within the ceiling and stops on request', async () => {
    await connectTheragun();
    expect(await call('session.start', { muscleGroup: 'upper-back', plannedMotorSeconds: 240 })).toMatchObject({
      ok: false,
      error: { code: 'blocked-by-screening' },
    });
    await ok('screening.set', { answers: ANSWERS });
    await ok('settings.set', { doctorNoticeAcknowledged: true });
    const s = await ok<SessionStartResult>('session.start', { muscleGroup: 'upper-back', plannedMotorSeconds: 240, routineId: 'upper-back-knot' });
    expect(s.grantedMotorSeconds).toBe(240);
    await ok('session.setStep', { sessionId: s.sessionId, intensity: 1, motion: 'circular' });
    const hb = setInterval(() => void call('session.heartbeat', { sessionId: s.sessionId }), 500);
    try {
      await until(() => rpm() === 2169, 8000);
      expect(events.some((e) => e.event === 'safety.clamped')).toBe(true);
      // another connection may stop it, but not drive it
      expect(await call('session.setStep', { sessionId: s.sessionId, intensity: 0.5 }, 'ws:2')).toMatchObject({ ok: false, error: { code: 'not-owner' } });
      await ok('device.stop', undefined, 'ws:2');
      await until(() => rpm() === 0, 1000);
      const writes = core.simRadio()!.writes('sim-theragun-pro');
      expect(Buffer.from(writes.at(-1)!.bytes).toString('hex')).toBe('aa07010300000' + '3');
      expect(Math.max(...writes.map((w) => (w.bytes[4]! << 8) | w.bytes[5]!).filter((_, i) => writes[i]!.bytes[0] === 0xaa && writes[i]!.bytes[3] === 0x03))).toBeLessThanOrEqual(2169);
    } finally {
      clearInterval(hb);
    }
  });

  it('losing the owning connection stops the motor', async () => {
    await connectScreened();
    const s = await ok<SessionStartResult>('session.start', { muscleGroup: 'upper-back', plannedMotorSeconds: 240 });
    await ok('session.setStep', { sessionId: s.sessionId, intensity: 0.3 });
    await until(() => rpm() > 0, 5000);
    await core.detach('ws:1', 'connection-lost');
    await until(() => rpm() === 0, 1000);
  });

  it('a corrupt usage log is moved aside, the user is told, and the motor stays off for the day', async () => {
    await core.shutdown();
    const dir = mkdtempSync(join(tmpdir(), 'unknot-core-'));
    writeFileSync(join(dir, 'usage.json'), '{"version":1,"sessions":[{"id":');
    core = await createCore({ dataDir: dir, demo: true, timeScale: 1, host: 'browser', version: 'test' });
    events = [];
    core.attach({ id: 'ws:1', kind: 'ws', send: (event, payload) => events.push({ event, payload }) });
    const notice = events.find((e) => e.event === 'store.notice')?.payload as { message: string } | undefined;
    expect(notice?.message).toMatch(/motor stays off until midnight/);
    expect(readdirSync(dir).some((f) => f.startsWith('usage.json.corrupt-'))).toBe(true);
    await connectScreened();
    expect(await call('session.start', { muscleGroup: 'neck', plannedMotorSeconds: 200 })).toMatchObject({
      ok: false,
      error: { code: 'budget-exhausted' },
    });
  });

  it('"delete my data" removes the history but keeps today\'s minutes, so the daily limit still holds', async () => {
    await connectScreened();
    const s = await ok<SessionStartResult>('session.start', { muscleGroup: 'neck', plannedMotorSeconds: 240 });
    await ok('session.setStep', { sessionId: s.sessionId, intensity: 0.3 });
    const hb = setInterval(() => void call('session.heartbeat', { sessionId: s.sessionId }), 500);
    try {
      await until(() => rpm() > 0, 5000);
      await new Promise((r) => setTimeout(r, 1500));
    } finally {
      clearInterval(hb);
    }
    await ok('device.stop');
    const before = (await ok<{ muscleGroup: string; usedSeconds: number }[]>('usage.today')).find((b) => b.muscleGroup === 'neck')!;
    expect(before.usedSeconds).toBeGreaterThan(0.5);
    const settings = await ok<{ screening: Record<string, boolean>; doctorNoticeAcknowledged: boolean }>('data.delete', { confirm: 'delete my data' });
    expect(settings.screening).toEqual({});
    expect(settings.doctorNoticeAcknowledged).toBe(false);
    const after = (await ok<{ muscleGroup: string; usedSeconds: number }[]>('usage.today')).find((b) => b.muscleGroup === 'neck')!;
    expect(after.usedSeconds).toBeCloseTo(before.usedSeconds, 1);
    const history = await ok<{ painEvents: unknown[]; csv: string }>('usage.history', { days: 7 });
    expect(history.painEvents).toEqual([]);
    expect(await call('data.delete', { confirm: 'yes' })).toMatchObject({ ok: false, error: { code: 'invalid-payload' } });
  });

  it('without demo mode and without an adapter, Scan is refused with the reason instead of scanning forever', async () => {
    await core.shutdown();
    core = await createCore({ dataDir: mkdtempSync(join(tmpdir(), 'unknot-core-')), demo: false, timeScale: 1, host: 'browser', version: 'test' });
    expect(await call('scan.start')).toMatchObject({
      ok: false,
      error: { code: 'refused', message: expect.stringMatching(/^Cannot scan: [^]*EAFNOSUPPORT[^]*simulated devices\.$/) },
    });
    const refused = (await call('scan.start')) as { ok: false; error: { message: string } };
    expect(refused.error.message.match(/Cannot scan/g)).toHaveLength(1);
    await ok('demo.enable');
    expect((await call('scan.start')).ok).toBe(true);
  });

  it('a page that opens later learns the connected device and the running session', async () => {
    await connectScreened();
    expect(await ok('session.get')).toBeNull();
    const s = await ok<SessionStartResult>('session.start', { muscleGroup: 'upper-back', plannedMotorSeconds: 240 });
    expect(await ok('device.get', undefined, 'ws:9')).toMatchObject({ connection: 'connected', name: 'Pro', protocolId: 'theragun' });
    expect(await ok('session.get', undefined, 'ws:9')).toMatchObject({ sessionId: s.sessionId, state: 'running', muscleGroup: 'upper-back' });
  });

  it('a device matching several protocols: a single strong match connects, two need a pick, and the pick is remembered', async () => {
    const radio = core.simRadio()!;
    const renamed = (name: string, address: string) => {
      const sim = simulateJieli({ address });
      return { ...sim, localName: name, advertisement: { ...sim.advertisement, localName: name } };
    };
    radio.addPeripheral(renamed('Pro', 'sim-generic-pro')); // JieLi bytes (strong) + a Theragun name (candidate)
    radio.addPeripheral(renamed('RT8600S', 'sim-two-strong')); // JieLi bytes + a RongTai name: both strong
    await ok('scan.start');
    const entry = (id: string) =>
      until(() => ([...events].reverse().find((e) => e.event === 'scan.results')?.payload as ScanResults | undefined)?.devices.find((d) => d.peripheralId === id));
    expect((await entry('sim-generic-pro')).candidates.map((c) => `${c.protocolId}:${c.confidence}`)).toEqual(['jieli-ems:strong', 'theragun:candidate']);
    expect((await entry('sim-two-strong')).candidates.map((c) => c.protocolId).sort()).toEqual(['jieli-ems', 'rongtai']);

    expect(await ok('device.connect', { peripheralId: 'sim-generic-pro' })).toMatchObject({ connection: 'connected', protocolId: 'jieli-ems' });
    await ok('device.disconnect');

    expect(await call('device.connect', { peripheralId: 'sim-two-strong' })).toMatchObject({
      ok: false,
      error: { code: 'choose-protocol', message: expect.stringMatching(/could be .* or .*Pick which one/) },
    });
    // a wrong pick is refused by the protocol after discovery
    expect(await call('device.connect', { peripheralId: 'sim-two-strong', protocolId: 'rongtai' })).toMatchObject({ ok: false, error: { code: 'device-error' } });
    await ok('scan.start');
    await entry('sim-two-strong');
    expect(await ok('device.connect', { peripheralId: 'sim-two-strong', protocolId: 'jieli-ems' })).toMatchObject({ protocolId: 'jieli-ems' });
    await ok('device.disconnect');
    await ok('scan.start');
    const listed = await ok<ScanResults>('device.list');
    expect(listed.devices.find((d) => d.peripheralId === 'sim-two-strong')?.remembered).toBe(true);
    expect(listed.devices.find((d) => d.peripheralId === 'sim-generic-pro')?.remembered).toBe(true);
    expect(listed.devices.find((d) => d.peripheralId === 'sim-theragun-pro')?.remembered).toBe(false);
    expect(await ok('device.connect', { peripheralId: 'sim-two-strong' })).toMatchObject({ connection: 'connected', protocolId: 'jieli-ems' });
  });

  it('after "Stop — it hurts" the next session of that area starts gentler, and the one after that normally', async () => {
    await connectScreened();
    const first = await ok<SessionStartResult>('session.start', { muscleGroup: 'lower-back', plannedMotorSeconds: 200 });
    expect(first.intensityFactor).toBe(1);
    await ok('session.setStep', { sessionId: first.sessionId, intensity: 0.3 });
    await ok('session.hurt', { sessionId: first.sessionId });
    const second = await ok<SessionStartResult>('session.start', { muscleGroup: 'lower-back', plannedMotorSeconds: 200 });
    expect(second.intensityFactor).toBe(0.7);
    await ok('session.end', { sessionId: second.sessionId });
    const other = await ok<SessionStartResult>('session.start', { muscleGroup: 'neck', plannedMotorSeconds: 200 });
    expect(other.intensityFactor).toBe(1);
    await ok('session.end', { sessionId: other.sessionId });
    const third = await ok<SessionStartResult>('session.start', { muscleGroup: 'lower-back', plannedMotorSeconds: 200 });
    expect(third.intensityFactor).toBe(1);
    const history = await ok<{ painEvents: { muscleGroup: string }[] }>('usage.history', { days: 1 });
    expect(history.painEvents.map((p) => p.muscleGroup)).toEqual(['lower-back']);
  });

  it('a device switched off by hand mid-session ends the session, and no later step switches it back on', async () => {
    await connectScreened();
    const s = await ok<SessionStartResult>('session.start', { muscleGroup: 'upper-back', plannedMotorSeconds: 240 });
    await ok('session.setStep', { sessionId: s.sessionId, intensity: 0.3 });
    const hb = setInterval(() => void call('session.heartbeat', { sessionId: s.sessionId }), 500);
    try {
      await until(() => rpm() > 0, 5000);
      await new Promise((r) => setTimeout(r, 1800)); // past the settling time after switching on
      const before = core.simRadio()!.writes('sim-theragun-pro').length;
      await ok('sim.fault', { peripheralId: 'sim-theragun-pro', fault: 'button-power' });
      const ended = await until(() => events.find((e) => e.event === 'session.ended')?.payload as { reason: string } | undefined, 2000);
      expect(ended.reason).toBe('user-stop');
      expect(events.find((e) => e.event === 'safety.warning' && (e.payload as { code: string }).code === 'off-by-hand')?.payload).toMatchObject({
        message: expect.stringMatching(/switched off on the device itself/),
      });
      expect(await call('session.setStep', { sessionId: s.sessionId, intensity: 0.5 })).toMatchObject({ ok: false, error: { code: 'no-session' } });
      await new Promise((r) => setTimeout(r, 300));
      expect(rpm()).toBe(0);
      // after the hand stop only a stop frame (and the status requests that confirm it) may have gone out, never a speed
      const after = core.simRadio()!.writes('sim-theragun-pro').slice(before).map((w) => Buffer.from(w.bytes).toString('hex'));
      expect(after.length).toBeGreaterThan(0);
      expect(after.every((h) => h === 'aa070103000003' || h === 'aa101000')).toBe(true);
    } finally {
      clearInterval(hb);
    }
  });

  it('the chair switched off with its own remote mid-session ends the session; the next step does not power it on again', async () => {
    await ok('scan.start');
    const id = await until(() => {
      const last = [...events].reverse().find((e) => e.event === 'scan.results')?.payload as ScanResults | undefined;
      return last?.devices.find((d) => d.name.startsWith('EVOLUTION-'))?.peripheralId;
    });
    await ok('device.connect', { peripheralId: id });
    await ok('screening.set', { answers: ANSWERS });
    await ok('settings.set', { doctorNoticeAcknowledged: true });
    const s = await ok<SessionStartResult>('session.start', { muscleGroup: 'upper-back', plannedMotorSeconds: 240 });
    await ok('session.setStep', { sessionId: s.sessionId, intensity: 0.5, motion: 'circular' });
    const chair = () => core.simRadio()!.peripheral(id)!.state();
    const hb = setInterval(() => void call('session.heartbeat', { sessionId: s.sessionId }), 500);
    try {
      await until(() => chair().powered === true && chair().speed === 3, 5000);
      await new Promise((r) => setTimeout(r, 1800));
      const writesBefore = core.simRadio()!.writes(id).length;
      await ok('sim.fault', { peripheralId: id, fault: 'remote-power' });
      const ended = await until(() => events.find((e) => e.event === 'session.ended')?.payload as { reason: string } | undefined, 2000);
      expect(ended.reason).toBe('user-stop');
      expect(await call('session.setStep', { sessionId: s.sessionId, intensity: 0.5, motion: 'back-and-forth' })).toMatchObject({ ok: false });
      await new Promise((r) => setTimeout(r, 500));
      // Returning to rest (its powered bit still set), and the app sent no toggle of its own.
      expect(chair()).toMatchObject({ running: false, runState: 'resetting', togglesWhileResetting: 0 });
      expect(core.simRadio()!.writes(id).slice(writesBefore)).toEqual([]);
    } finally {
      clearInterval(hb);
    }
  });

  it('a "yes" to an EMS-only question blocks the EMS pad but not the massage gun', async () => {
    await ok('screening.set', { answers: { ...ANSWERS, implant: true, epilepsy: false } });
    await ok('settings.set', { doctorNoticeAcknowledged: true });
    expect((await ok<{ motorBlocked: boolean }>('settings.get')).motorBlocked).toBe(false);
    await connectTheragun();
    expect((await ok<{ motorBlocked: boolean }>('settings.get')).motorBlocked).toBe(false);
    const s = await ok<SessionStartResult>('session.start', { muscleGroup: 'shoulders', plannedMotorSeconds: 120 });
    await ok('session.end', { sessionId: s.sessionId });
    await ok('scan.start');
    const pad = await until(() => {
      const last = [...events].reverse().find((e) => e.event === 'scan.results')?.payload as ScanResults | undefined;
      return last?.devices.find((d) => /^hy\d/.test(d.name))?.peripheralId;
    });
    await ok('device.connect', { peripheralId: pad });
    expect((await ok<{ motorBlocked: boolean }>('settings.get')).motorBlocked).toBe(true);
    expect(await call('session.start', { muscleGroup: 'shoulders', plannedMotorSeconds: 120 })).toMatchObject({
      ok: false,
      error: { code: 'blocked-by-screening', message: expect.stringMatching(/consult a doctor/) },
    });
  });
});
