/**
 * The safety property of the governor issue, over the whole main-process stack: for
 * any sequence of renderer commands (bad intensities included, starts, stops,
 * heartbeats, lost connections, dropped links, clock jumps, ceilings and screening
 * answers from another window, heat, modes, time-zone changes), the simulated Theragun
 * Pro never receives a speed above the ceiling in force (floor(0.6 × 3616) = 2169 rpm by
 * default; a raised ceiling from the next session, a lowered one at once), nothing above
 * 0 while a screening answer blocks it, motor
 * time per group per day never exceeds the daily budget, and every stop is the next
 * write on the wire after the write in flight (it lands within one write slot).
 *
 * Routine time runs on a fake clock (the governor's ticks, ramp and watchdog); the
 * radio, noble and the link run in real time underneath.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCore, type AppCore } from '../../../electron/core/app-core';
import type { BudgetInfo, DeviceStatusEvent, EventChannel, Reply, ScanResults, SessionStartResult } from '../../../electron/ipc/contract';
import { FakeClock } from '../helpers/fake-clock';

const SIM = 'sim-theragun-pro';
const MAX_RPM = 2169;
const GROUPS = ['neck', 'shoulders', 'upper-back', 'rhomboids', 'lower-back'] as const;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Cmd =
  | { t: 'start'; group: string; planned: unknown }
  | { t: 'step'; intensity: unknown; motion?: string }
  | { t: 'heartbeat' }
  | { t: 'advance'; ms: number }
  | { t: 'stop' }
  | { t: 'pause' }
  | { t: 'resume' }
  | { t: 'end' }
  | { t: 'hurt' }
  | { t: 'lose-connection' }
  | { t: 'drop-link' }
  | { t: 'jump-wall'; ms: number }
  /** 120 ms pass, in real time (the radio) and on the core's clock (the link's write gap and ramp). */
  | { t: 'settle' }
  /** Another window sets the Theragun's ceiling. */
  | { t: 'other-ceiling'; value: number }
  /** Another window answers a screening question (a "yes" blocks the device). */
  | { t: 'other-screening'; yes: boolean }
  /** Heat on or off (the gun has none: refused, nothing written). */
  | { t: 'heat'; on: boolean }
  /** The process's time zone changes (a traveller, or a changed system setting). */
  | { t: 'zone'; tz: string };

const intensity = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0, max: 1000 }).map((n) => n / 1000) },
  { weight: 1, arbitrary: fc.double({ min: 0, max: 1, noNaN: true }) },
  { weight: 2, arbitrary: fc.constantFrom(Number.NaN, -0.5, 1.5, Infinity, -Infinity, 0, 1) },
  { weight: 1, arbitrary: fc.string({ maxLength: 4 }) },
  { weight: 1, arbitrary: fc.constant(null) },
);

const command: fc.Arbitrary<Cmd> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      t: fc.constant('start' as const),
      group: fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...GROUPS) }, { weight: 1, arbitrary: fc.constant('knee') }),
      planned: fc.oneof({ weight: 5, arbitrary: fc.integer({ min: 30, max: 900 }) }, { weight: 1, arbitrary: fc.constantFrom('x', Number.NaN) }),
    }),
  },
  {
    weight: 6,
    arbitrary: fc.record(
      { t: fc.constant('step' as const), intensity, motion: fc.constantFrom('circular', 'back-and-forth', 'on-knot', 'long-strokes', 'spin') },
      { requiredKeys: ['t', 'intensity'] },
    ),
  },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('other-ceiling' as const), value: fc.constantFrom(0.3, 0.45, 0.6, 0.8, 1) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('other-screening' as const), yes: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('heat' as const), on: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('zone' as const), tz: fc.constantFrom('UTC', 'America/New_York', 'Asia/Tokyo', 'Pacific/Kiritimati', 'Pacific/Pago_Pago') }) },
  { weight: 4, arbitrary: fc.constant({ t: 'heartbeat' as const }) },
  { weight: 6, arbitrary: fc.record({ t: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 5000 }) }) },
  { weight: 2, arbitrary: fc.constant({ t: 'stop' as const }) },
  { weight: 1, arbitrary: fc.constant({ t: 'pause' as const }) },
  { weight: 1, arbitrary: fc.constant({ t: 'resume' as const }) },
  { weight: 1, arbitrary: fc.constant({ t: 'end' as const }) },
  { weight: 1, arbitrary: fc.constant({ t: 'hurt' as const }) },
  { weight: 1, arbitrary: fc.constant({ t: 'lose-connection' as const }) },
  { weight: 1, arbitrary: fc.constant({ t: 'drop-link' as const }) },
  { weight: 1, arbitrary: fc.constant({ t: 'settle' as const }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('jump-wall' as const), ms: fc.integer({ min: -3 * 3600_000, max: 30 * 3600_000 }) }) },
);

describe('safety property over the main-process stack', () => {
  let core: AppCore;
  let clock: FakeClock;
  let conn = 1;
  let lastDevice: DeviceStatusEvent | undefined;
  let scan: ScanResults | undefined;

  const attach = (): void => {
    core.attach({
      id: `ws:${conn}`,
      kind: 'ws',
      send: (event: EventChannel, payload: unknown) => {
        if (event === 'device.status') lastDevice = payload as DeviceStatusEvent;
        if (event === 'scan.results') scan = payload as ScanResults;
      },
    });
  };
  const call = (channel: string, payload?: unknown): Promise<Reply> => core.handle(`ws:${conn}`, channel, payload);
  /** Another window (it owns no session): settings and screening from there apply to everybody. */
  const other = (channel: string, payload?: unknown): Promise<Reply> => core.handle('ws:other', channel, payload);
  const NO = { pregnant: false, 'heart-condition': false, 'high-blood-pressure': false };
  const originalTz = process.env.TZ;

  /**
   * Awaits `p` while the fake clock moves 5 ms every 2 ms of real time: the device link runs
   * on the core's clock, so connecting, reconnecting and closing wait on it.
   */
  async function ticking<T>(p: Promise<T>): Promise<T> {
    const tick = setInterval(() => clock.advance(5), 2);
    try {
      return await p;
    } finally {
      clearInterval(tick);
    }
  }

  beforeAll(async () => {
    clock = new FakeClock();
    core = await createCore({ dataDir: mkdtempSync(join(tmpdir(), 'unknot-prop-')), demo: true, timeScale: 1, host: 'browser', version: 'test', clock });
    attach();
    core.attach({ id: 'ws:other', kind: 'ws', send: () => undefined });
    await call('screening.set', { answers: NO });
    await call('settings.set', { doctorNoticeAcknowledged: true });
    await call('scan.start');
    for (let i = 0; i < 200 && !scan?.devices.some((d) => d.peripheralId === SIM); i++) await sleep(10);
    const r = await ticking(call('device.connect', { peripheralId: SIM }));
    expect(r.ok).toBe(true);
  });
  afterAll(async () => {
    await ticking(core.shutdown());
    if (originalTz === undefined) delete process.env.TZ;
    else process.env.TZ = originalTz;
  });

  async function waitConnected(): Promise<void> {
    // the reconnect's backoff runs on the core's clock
    for (let i = 0; i < 400 && lastDevice?.connection !== 'connected'; i++) {
      clock.advance(10);
      await sleep(10);
    }
  }

  it('never exceeds the ceiling or the budget, and stops go next on the wire', async () => {
    const radio = core.simRadio()!;
    // coverage: the property must not hold vacuously
    let maxRpmSeen = 0;
    let stopsWhileRunning = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(command, { minLength: 10, maxLength: 40, size: 'max' }), async (cmds) => {
        let sessionId = 'none';
        const stopChecks: { writesBefore: number }[] = [];
        // the model: the rpm bound from each write index on (a raised ceiling waits for the
        // next session, a lowered one applies at once), and where the screening blocked
        let ceiling = 0.6;
        let bound = MAX_RPM;
        const bounds: { at: number; max: number }[] = [{ at: radio.writes(SIM).length, max: bound }];
        const setBound = (max: number): void => {
          bound = max;
          bounds.push({ at: radio.writes(SIM).length, max });
        };
        const blockedRanges: { from: number; to: number }[] = [];
        let blockedFrom: number | null = null;
        // each run starts on a fresh local day so runs do not share a budget
        clock.jumpWall(2 * 86_400_000);
        for (const c of cmds) {
          switch (c.t) {
            case 'start': {
              const r = await call('session.start', { muscleGroup: c.group, plannedMotorSeconds: c.planned });
              if (r.ok) {
                sessionId = (r.result as SessionStartResult).sessionId;
                setBound(Math.floor(ceiling * 3616 + 1e-9));
              }
              break;
            }
            case 'step':
              await call('session.setStep', { sessionId, intensity: c.intensity, ...(c.motion ? { motion: c.motion } : {}) });
              break;
            case 'other-ceiling': {
              const r = await other('settings.set', { ceilings: { theragun: c.value } });
              expect(r.ok).toBe(true);
              ceiling = c.value;
              if (Math.floor(c.value * 3616 + 1e-9) < bound) setBound(Math.floor(c.value * 3616 + 1e-9));
              break;
            }
            case 'other-screening': {
              const r = await other('screening.set', { answers: { ...NO, 'heart-condition': c.yes } });
              expect(r.ok).toBe(true);
              const at = radio.writes(SIM).length;
              if (c.yes && blockedFrom === null) blockedFrom = at;
              if (!c.yes && blockedFrom !== null) {
                blockedRanges.push({ from: blockedFrom, to: at });
                blockedFrom = null;
              }
              if (c.yes) {
                // the running session (if any) ended with the answer
                await sleep(5);
                const g = await call('session.get');
                expect(g.ok ? g.result : 'error').toBeNull();
              }
              break;
            }
            case 'heat': {
              const n = radio.writes(SIM).length;
              const r = await call('device.setHeat', { on: c.on });
              expect(r.ok).toBe(false);
              expect(radio.writes(SIM).length - n).toBeLessThanOrEqual(1); // at most a write already under way
              break;
            }
            case 'zone':
              process.env.TZ = c.tz;
              break;
            case 'heartbeat':
              await call('session.heartbeat', { sessionId });
              break;
            case 'advance':
              // 50 ms of the core's clock per 5 ms of real time: the link (on the core's clock) gets
              // its write gap and ramp as it goes, and the radio's real round trips keep up
              for (let t = 0; t < c.ms; t += 50) {
                clock.advance(Math.min(50, c.ms - t));
                await sleep(5);
              }
              break;
            case 'stop':
              stopChecks.push({ writesBefore: radio.writes(SIM).length });
              await call('device.stop');
              break;
            case 'pause':
              await call('session.pause', { sessionId });
              break;
            case 'resume':
              await call('session.resume', { sessionId });
              break;
            case 'end':
              await call('session.end', { sessionId });
              break;
            case 'hurt':
              await call('session.hurt', { sessionId });
              break;
            case 'lose-connection':
              await core.detach(`ws:${conn}`, 'connection-lost');
              conn += 1;
              attach();
              break;
            case 'drop-link':
              radio.inject(SIM, 'drop-link');
              await sleep(5);
              await waitConnected();
              break;
            case 'jump-wall':
              clock.jumpWall(c.ms);
              break;
            case 'settle':
              // real time for the radio, and the same on the core's clock for the link's write gap and ramp
              for (let i = 0; i < 12; i++) {
                clock.advance(10);
                await sleep(10);
              }
              break;
          }
          await sleep(2);
          // budget: no group has spent more than 6 minutes today
          const today = await call('usage.today');
          for (const b of (today.ok ? today.result : []) as BudgetInfo[]) expect(b.usedSeconds).toBeLessThanOrEqual(360 + 1e-6);
        }
        await call('device.stop');
        await sleep(30);
        const writes = radio.writes(SIM);
        if (blockedFrom !== null) blockedRanges.push({ from: blockedFrom, to: writes.length });
        await other('screening.set', { answers: NO });
        // ceiling: every speed frame is within the bound in force when it was queued (the
        // write in flight at a change, one slot, may still carry the previous bound)
        const boundAt = (j: number): number => {
          let settled = bounds[0]!.max;
          let recent = 0;
          for (const b of bounds) {
            if (b.at <= j - 2) settled = b.max;
            else if (b.at <= j) recent = Math.max(recent, b.max);
          }
          return Math.max(settled, recent);
        };
        writes.forEach((w, j) => {
          if (w.bytes[0] === 0xaa && w.bytes[2] === 0x01 && w.bytes[3] === 0x03) {
            const rpm = (w.bytes[4]! << 8) | w.bytes[5]!;
            maxRpmSeen = Math.max(maxRpmSeen, rpm);
            expect(rpm).toBeLessThanOrEqual(boundAt(j));
            // nothing above 0 while a screening answer blocks the gun (after the write in flight)
            if (rpm > 0) for (const r of blockedRanges) expect(j >= r.from + 2 && j < r.to).toBe(false);
          }
        });
        // stop goes next: after a stop request at most the one write in flight lands before a stop frame
        for (const s of stopChecks) {
          const after = writes.slice(s.writesBefore);
          const firstStop = after.findIndex((w) => Buffer.from(w.bytes).toString('hex') === 'aa070103000003');
          if (after.length > 0 && firstStop >= 0) {
            stopsWhileRunning += 1;
            expect(firstStop).toBeLessThanOrEqual(1);
          }
        }
        await call('device.stop');
      }),
      {
        numRuns: 40,
        endOnFailure: true,
        // a run that certainly asks for full speed for long enough to reach the ceiling
        examples: [
          [
            [
              { t: 'start', group: 'upper-back', planned: 240 },
              { t: 'step', intensity: 1 },
              // 8 s at full speed: the ramp reaches the ceiling after 3 s; the rest leaves the
              // real-time simulated radio room to take the last step on a loaded machine
              ...Array.from({ length: 8 }, () => [{ t: 'heartbeat' } as Cmd, { t: 'advance', ms: 1000 } as Cmd, { t: 'settle' } as Cmd]).flat(),
              { t: 'heartbeat' },
              { t: 'settle' },
              { t: 'stop' },
            ],
          ],
        ],
      },
    );
    expect(maxRpmSeen).toBeGreaterThanOrEqual(MAX_RPM);
    expect(stopsWhileRunning).toBeGreaterThan(3);
  }, 300_000);
});
