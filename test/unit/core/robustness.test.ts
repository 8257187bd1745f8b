/**
 * Robustness of the app core (DESIGN §1, §2, §4): bad files in the data folder at
 * start, races between requests, and the rules that must hold whatever the renderer
 * does — a stop always wins, losing the owning connection stops the motor, the motor
 * never runs above the ceiling or longer than the caps, and a damaged usage log never
 * turns into a fresh daily budget.
 *
 * Real noble classes on the simulated radio, the real Theragun bytes, the store in a
 * temporary folder.
 */
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { createCore, type AppCore } from '../../../electron/core/app-core';
import type { EventChannel, Reply, SessionEndedEvent, SessionStartResult, SettingsView } from '../../../electron/ipc/contract';
import type { StoreNotice } from '../../../electron/store/json-file';

const PRO = 'sim-theragun-pro';
const MAX_RPM = 2169;
const ANSWERS = { pregnant: false, 'heart-condition': false, 'high-blood-pressure': false };

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
async function until(fn: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms`);
    await sleep(10);
  }
}

describe('app core robustness', () => {
  let core: AppCore | null = null;
  let dataDir = '';
  let events: { conn: string; event: EventChannel; payload: unknown }[] = [];

  afterEach(async () => {
    await core?.shutdown();
    core = null;
  });

  const call = (channel: string, payload?: unknown, conn = 'ws:1'): Promise<Reply> => core!.handle(conn, channel, payload);
  const ok = async <T>(channel: string, payload?: unknown, conn = 'ws:1'): Promise<T> => {
    const r = await call(channel, payload, conn);
    if (!r.ok) throw new Error(`${channel}: ${r.error.code} ${r.error.message}`);
    return r.result as T;
  };
  const rpm = (): number => Number(core!.simRadio()!.peripheral(PRO)!.state().rpm);
  const speeds = (): number[] =>
    core!
      .simRadio()!
      .writes(PRO)
      .map((w) => w.bytes)
      .filter((b) => b.length === 7 && b[0] === 0xaa && b[2] === 0x01 && b[3] === 0x03)
      .map((b) => b[4]! * 256 + b[5]!);
  const notices = (): StoreNotice[] => events.filter((e) => e.event === 'store.notice').map((e) => e.payload as StoreNotice);
  const ended = (): SessionEndedEvent[] => events.filter((e) => e.event === 'session.ended' && e.conn === 'ws:1').map((e) => e.payload as SessionEndedEvent);

  async function boot(dir = mkdtempSync(join(tmpdir(), 'unknot-robust-')), timeScale = 1): Promise<void> {
    dataDir = dir;
    core = await createCore({ dataDir, demo: true, timeScale, host: 'browser', version: 'test', reconnect: { initialDelayMs: 20, maxDelayMs: 200 } });
    events = [];
    for (const conn of ['ws:1', 'ws:2']) core.attach({ id: conn, kind: 'ws', send: (event, payload) => events.push({ conn, event, payload }) });
  }

  async function connect(): Promise<void> {
    await ok('scan.start');
    await until(() => core!.simRadio()!.snapshots().some((s) => s.id === PRO), 3000, 'the gun is heard');
    await until(() => (events.filter((e) => e.event === 'scan.results').at(-1)?.payload as { devices: { peripheralId: string }[] } | undefined)?.devices.some((d) => d.peripheralId === PRO) ?? false, 3000, 'the gun is listed');
    await ok('device.connect', { peripheralId: PRO });
  }

  async function ready(): Promise<void> {
    await ok('screening.set', { answers: ANSWERS });
    await ok('settings.set', { doctorNoticeAcknowledged: true });
  }

  async function start(intensity = 1, conn = 'ws:1'): Promise<string> {
    const s = await ok<SessionStartResult>('session.start', { muscleGroup: 'upper-back', plannedMotorSeconds: 240 }, conn);
    await ok('session.setStep', { sessionId: s.sessionId, intensity }, conn);
    await until(() => rpm() > 0, 3000, 'the gun runs');
    return s.sessionId;
  }

  // ---- bad files at start ----

  const badFiles: [string, (path: string) => void][] = [
    ['empty', (p) => writeFileSync(p, '')],
    ['not JSON', (p) => writeFileSync(p, '{"version":1,')],
    ['binary', (p) => writeFileSync(p, Buffer.from([0xff, 0x00, 0xfe, 0x7b]))],
    ['wrong shape', (p) => writeFileSync(p, '{"version":2,"sessions":"x","ceilings":[1]}')],
    ['JSON null', (p) => writeFileSync(p, 'null')],
    ['a folder', (p) => mkdirSync(p)],
    ['deeply nested', (p) => writeFileSync(p, '['.repeat(200_000) + ']'.repeat(200_000))],
    ['huge garbage (8 MB)', (p) => writeFileSync(p, Buffer.alloc(8 * 1024 * 1024, 0x7b))],
  ];

  it.each(badFiles)('an unusable usage log (%s): the app starts, says so, and the motor stays off for the day — across a restart', async (_name, spoil) => {
    const dir = mkdtempSync(join(tmpdir(), 'unknot-robust-'));
    spoil(join(dir, 'usage.json'));
    await boot(dir);
    expect(notices().some((n) => n.file === 'usage.json' && n.kind === 'reset' && /motor stays off until midnight/.test(n.message))).toBe(true);
    await ready();
    await connect();
    expect(await call('session.start', { muscleGroup: 'neck', plannedMotorSeconds: 120 })).toMatchObject({ ok: false, error: { code: 'budget-exhausted' } });
    expect((await ok<{ remainingSeconds: number }[]>('usage.today')).length).toBe(5);
    // a restart the same day must not grant a fresh budget either
    await core!.shutdown();
    await boot(dir);
    expect(notices().some((n) => n.file === 'usage.json' && /motor stays off until midnight/.test(n.message))).toBe(true);
    await connect();
    expect(await call('session.start', { muscleGroup: 'neck', plannedMotorSeconds: 120 })).toMatchObject({ ok: false, error: { code: 'budget-exhausted' } });
    expect(rpm()).toBe(0);
  });

  it.each(badFiles)('an unusable settings file (%s): the app starts with safe defaults and says so', async (_name, spoil) => {
    const dir = mkdtempSync(join(tmpdir(), 'unknot-robust-'));
    spoil(join(dir, 'settings.json'));
    await boot(dir);
    expect(notices().some((n) => n.file === 'settings.json' && n.kind === 'reset' && n.message.length > 0)).toBe(true);
    const s = await ok<SettingsView>('settings.get');
    expect(s.sessionCapSeconds).toBe(300);
    expect(s.dailyBudgetSeconds).toBe(360);
    expect(s.screening).toEqual({});
    // the screening is asked again before the motor may run
    await connect();
    expect(await call('session.start', { muscleGroup: 'neck', plannedMotorSeconds: 120 })).toMatchObject({ ok: false, error: { code: 'blocked-by-screening' } });
    // and the app keeps working: a valid change is saved over the bad file
    await ok('settings.set', { sessionCapSeconds: 120 });
    expect(JSON.parse(readFileSync(join(dir, 'settings.json'), 'utf8')).sessionCapSeconds).toBe(120);
  });

  it('a hand-edited settings file with prototype keys and values out of bounds loads on the safe side', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'unknot-robust-'));
    writeFileSync(
      join(dir, 'settings.json'),
      '{"version":1,"__proto__":{"sessionCapSeconds":9999},"ceilings":{"__proto__":1,"theragun":5},"dailyBudgetSeconds":1e9,"sessionCapSeconds":-3,"screening":{"__proto__":false},"devices":{"__proto__":{"protocolId":"x","name":"y","lastConnected":"z"}}}',
    );
    await boot(dir);
    const s = await ok<SettingsView>('settings.get');
    expect(s.ceilings).toEqual({ theragun: 1 });
    expect(s.dailyBudgetSeconds).toBe(360);
    expect(s.sessionCapSeconds).toBe(60);
    expect(({} as Record<string, unknown>).sessionCapSeconds).toBeUndefined();
    expect(notices().some((n) => n.kind === 'adjusted')).toBe(true);
  });

  // ---- races ----

  it('a connection that goes away during session.start never leaves the motor running', async () => {
    await boot();
    await ready();
    await connect();
    for (let i = 0; i < 5; i += 1) {
      const conn = `ws:gone-${i}`;
      core!.attach({ id: conn, kind: 'ws', send: () => undefined });
      const starting = call('session.start', { muscleGroup: 'upper-back', plannedMotorSeconds: 240 }, conn);
      const stepping = starting.then((r) => (r.ok ? call('session.setStep', { sessionId: (r.result as SessionStartResult).sessionId, intensity: 1 }, conn) : r));
      await core!.detach(conn, 'connection-lost');
      await Promise.all([starting, stepping]);
      await sleep(150);
      expect(rpm()).toBe(0);
      expect(core!.runningSummary()).toBeNull();
    }
  });

  it('two connections fighting over one session: only the owner controls it, anyone can stop it', async () => {
    await boot();
    await ready();
    await connect();
    const sessionId = await start(1, 'ws:1');
    for (const channel of ['session.heartbeat', 'session.pause', 'session.resume', 'session.end', 'session.hurt']) {
      expect(await call(channel, { sessionId }, 'ws:2')).toMatchObject({ ok: false, error: { code: 'not-owner' } });
    }
    expect(await call('session.setStep', { sessionId, intensity: 1 }, 'ws:2')).toMatchObject({ ok: false, error: { code: 'not-owner' } });
    expect(await call('session.start', { muscleGroup: 'neck', plannedMotorSeconds: 100 }, 'ws:2')).toMatchObject({ ok: false, error: { code: 'refused' } });
    // the non-owner closing changes nothing
    await core!.detach('ws:2', 'connection-lost');
    expect(core!.runningSummary()).not.toBeNull();
    core!.attach({ id: 'ws:2', kind: 'ws', send: () => undefined });
    await ok('device.stop', undefined, 'ws:2');
    expect(rpm()).toBe(0);
    expect(ended().at(-1)).toMatchObject({ sessionId, reason: 'user-stop' });
    // the old owner cannot bring it back
    expect(await call('session.resume', { sessionId }, 'ws:1')).toMatchObject({ ok: false, error: { code: 'no-session' } });
    expect(await call('session.setStep', { sessionId, intensity: 1 }, 'ws:1')).toMatchObject({ ok: false, error: { code: 'no-session' } });
    await sleep(200);
    expect(rpm()).toBe(0);
  });

  it('a stop wins over intensity requests sent in the same instant', async () => {
    await boot();
    await ready();
    await connect();
    await fc.assert(
      fc.asyncProperty(fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 8 }), fc.nat(8), async (intensities, stopAt) => {
        const sessionId = await start(0.5);
        const calls: Promise<Reply>[] = intensities.map((v) => call('session.setStep', { sessionId, intensity: v }));
        calls.splice(Math.min(stopAt, calls.length), 0, call('device.stop', undefined, 'ws:2'));
        calls.push(...intensities.map((v) => call('session.setStep', { sessionId, intensity: v })));
        await Promise.all(calls);
        await sleep(120);
        expect(rpm()).toBe(0);
        expect(speeds().at(-1)).toBe(0);
        expect(core!.runningSummary()).toBeNull();
      }),
      { numRuns: 6, seed: 3 },
    );
    expect(Math.max(...speeds())).toBeLessThanOrEqual(MAX_RPM);
  });

  it('two device.connect requests at once leave one usable device that the governor commands', async () => {
    await boot();
    await ready();
    await ok('scan.start');
    await until(() => core!.simRadio()!.snapshots().some((s) => s.id === PRO), 3000, 'the gun is heard');
    await sleep(300);
    const t0 = Date.now();
    const replies = await Promise.all([call('device.connect', { peripheralId: PRO }), call('device.connect', { peripheralId: PRO })]);
    expect(Date.now() - t0).toBeLessThan(2500);
    expect(replies.filter((r) => r.ok)).toHaveLength(1);
    for (const r of replies) if (!r.ok) expect(r.error.message.length).toBeGreaterThan(0);
    // the one connection works: a session runs and a stop stops it
    await start(1);
    await ok('device.stop');
    expect(rpm()).toBe(0);
    expect(Math.max(...speeds())).toBeLessThanOrEqual(MAX_RPM);
  });

  it('a device.disconnect during device.connect leaves no link open behind the app', async () => {
    await boot();
    await ready();
    await ok('scan.start');
    await until(() => core!.simRadio()!.snapshots().some((s) => s.id === PRO), 3000, 'the gun is heard');
    await sleep(300);
    const connecting = call('device.connect', { peripheralId: PRO });
    await sleep(5);
    await ok('device.disconnect', undefined, 'ws:2');
    const r = await connecting;
    await sleep(200);
    const linked = core!.simRadio()!.snapshots().find((s) => s.id === PRO)!.connected;
    const status = events.filter((e) => e.event === 'device.status').at(-1)?.payload as { connection: string } | undefined;
    // either the connect won (and the app shows it) or it was cancelled (and the radio link is gone)
    expect(linked ? status?.connection === 'connected' && r.ok : !r.ok || status?.connection !== 'connected').toBe(true);
    await ok('scan.start');
    await until(() => core!.simRadio()!.snapshots().some((s) => s.id === PRO && !s.connected) || linked, 3000, 'the gun advertises');
    if (!linked) {
      await sleep(300);
      await ok('device.connect', { peripheralId: PRO });
    }
    await start(1);
    await ok('device.stop');
    expect(rpm()).toBe(0);
  });

  it('settings.set races: every valid change lands, invalid ones change nothing, memory and file agree', async () => {
    await boot();
    const values = [60, 120, 180, 240, 300, 90, 360];
    const replies = await Promise.all([
      ...values.map((v) => call('settings.set', { dailyBudgetSeconds: v })),
      call('settings.set', { dailyBudgetSeconds: 361 }),
      call('settings.set', { dailyBudgetSeconds: 100.5 }),
      call('settings.set', { ceilings: { theragun: 1.01 } }),
      call('settings.set', { sessionCapSeconds: 61, extra: true }),
    ]);
    expect(replies.slice(0, values.length).every((r) => r.ok)).toBe(true);
    expect(replies.slice(values.length).every((r) => !r.ok && r.error.code === 'invalid-payload')).toBe(true);
    const s = await ok<SettingsView>('settings.get');
    expect(s.dailyBudgetSeconds).toBe(360);
    expect(s.sessionCapSeconds).toBe(300);
    expect(s.ceilings).toEqual({});
    await core!.shutdown();
    core = null;
    const file = JSON.parse(readFileSync(join(dataDir, 'settings.json'), 'utf8'));
    expect(file.dailyBudgetSeconds).toBe(360);
    expect(file.sessionCapSeconds).toBe(300);
  });

  it('lowering the session cap during a session ends the session at the new cap', async () => {
    await boot(undefined, 20);
    await ready();
    await connect();
    const sessionId = await start(0.3);
    // 20× demo time: 60 s of motor time pass in 3 s
    await ok('settings.set', { sessionCapSeconds: 60 });
    const hb = setInterval(() => void call('session.heartbeat', { sessionId }), 300);
    try {
      await until(() => ended().some((e) => e.sessionId === sessionId), 6000, 'the session ends');
    } finally {
      clearInterval(hb);
    }
    const e = ended().find((x) => x.sessionId === sessionId)!;
    expect(e.reason).toBe('session-cap');
    expect(e.usedMotorSeconds).toBeLessThanOrEqual(61);
    await sleep(100);
    expect(rpm()).toBe(0);
  });

  it('a session that uses up its granted time ends once, cleanly, with no error thrown anywhere', async () => {
    const rejections: unknown[] = [];
    const onRejection = (e: unknown): void => void rejections.push(e);
    process.on('unhandledRejection', onRejection);
    try {
      await boot(undefined, 20);
      await ready();
      await connect();
      const s = await ok<SessionStartResult>('session.start', { muscleGroup: 'upper-back', plannedMotorSeconds: 60 });
      await ok('session.setStep', { sessionId: s.sessionId, intensity: 0.3 });
      const hb = setInterval(() => void call('session.heartbeat', { sessionId: s.sessionId }), 300);
      try {
        await until(() => ended().some((e) => e.sessionId === s.sessionId), 8000, 'the session ends');
      } finally {
        clearInterval(hb);
      }
      await sleep(200);
      expect(ended().filter((e) => e.sessionId === s.sessionId)).toEqual([expect.objectContaining({ reason: 'session-cap' })]);
      expect(ended()[0]!.usedMotorSeconds).toBeLessThanOrEqual(60);
      expect(rpm()).toBe(0);
      expect(rejections.map(String)).toEqual([]);
    } finally {
      process.off('unhandledRejection', onRejection);
    }
  });

  it('data.delete during a session stops the motor first, and the screening is asked again', async () => {
    await boot();
    await ready();
    await connect();
    const sessionId = await start(1);
    const [del, step] = await Promise.all([
      call('data.delete', { confirm: 'delete my data' }, 'ws:2'),
      call('session.setStep', { sessionId, intensity: 1 }),
    ]);
    expect(del.ok).toBe(true);
    void step;
    await sleep(100);
    expect(rpm()).toBe(0);
    expect(core!.runningSummary()).toBeNull();
    expect(await call('session.start', { muscleGroup: 'upper-back', plannedMotorSeconds: 100 })).toMatchObject({ ok: false, error: { code: 'blocked-by-screening' } });
    // settings are gone (the file, if any, holds the defaults and the note that a usage log
    // is kept here); the usage log keeps only today's minutes per area (no routines, no pain events)
    if (readdirSync(dataDir).includes('settings.json')) {
      const left = JSON.parse(readFileSync(join(dataDir, 'settings.json'), 'utf8')) as { screening: object; devices: object; usageLogKept: boolean };
      expect(left).toMatchObject({ screening: {}, devices: {}, usageLogKept: true, doctorNoticeAcknowledged: false });
    }
    const kept = JSON.parse(readFileSync(join(dataDir, 'usage.json'), 'utf8')) as { sessions: { id: string; routineId?: string }[]; pain: unknown[] };
    expect(kept.pain).toEqual([]);
    expect(kept.sessions.every((x) => x.id.startsWith('kept-') && x.routineId === undefined)).toBe(true);
  });

  it('random request storms during a session never crash, never exceed the ceiling, and a stop still stops', async () => {
    await boot(undefined, 20);
    await ready();
    await connect();
    const channels = ['session.setStep', 'session.pause', 'session.resume', 'session.heartbeat', 'settings.set', 'usage.today', 'device.setHeat', 'session.start', 'sim.state'];
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            conn: fc.constantFrom('ws:1', 'ws:2'),
            channel: fc.constantFrom(...channels),
            intensity: fc.oneof(fc.double({ min: -0.5, max: 1.5 }), fc.constantFrom(0, 1, Number.NaN)),
            cap: fc.integer({ min: 30, max: 400 }),
            ceiling: fc.double({ min: 0, max: 0.6 }),
          }),
          { minLength: 5, maxLength: 25 },
        ),
        async (cmds) => {
          const sessionId = await start(1);
          await Promise.all(
            cmds.map((c) => {
              const payload =
                c.channel === 'session.setStep'
                  ? { sessionId, intensity: c.intensity }
                  : c.channel === 'settings.set'
                    ? { sessionCapSeconds: c.cap, ceilings: { theragun: c.ceiling } }
                    : c.channel === 'session.start'
                      ? { muscleGroup: 'upper-back', plannedMotorSeconds: c.cap }
                      : c.channel === 'device.setHeat'
                        ? { on: true }
                        : c.channel.startsWith('session.')
                          ? { sessionId }
                          : undefined;
              return call(c.channel, payload, c.conn);
            }),
          );
          await ok('device.stop', undefined, 'ws:2');
          await sleep(80);
          expect(rpm()).toBe(0);
          expect(core!.runningSummary()).toBeNull();
          expect(speeds().every((s) => s <= MAX_RPM)).toBe(true);
          await ok('data.delete', { confirm: 'delete my data' });
          await ready();
        },
      ),
      { numRuns: 10, seed: 11 },
    );
  });
});
