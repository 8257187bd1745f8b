/**
 * The governor's safety property (issue 13, "Done when"), on routine time (a fake clock)
 * with the real usage log on disk as its ledger: for any sequence of starts, steps with
 * and without a motion, heartbeats, pauses, stops, ceilings changed from another window,
 * screening answers that block the device, wall-clock jumps, time-zone changes and
 * crashes (the data folder as a kill -9 would leave it, at any moment):
 *
 * - no intensity above the ceiling in force (a raised ceiling waits for the next session,
 *   a lowered one applies at once);
 * - a mode (motion) only while the motor runs or just before an intensity above 0, never at step 0;
 * - nothing above 0 while the screening blocks the device;
 * - no rise faster than the ramp (0.2 of the range per second);
 * - nothing above 0 more than 3 s (plus one tick) after the last heartbeat;
 * - no group over its daily budget (6 minutes) in the log;
 * - the log on disk always covers the motor time the governor has counted (a crash never
 *   loses accounting).
 *
 * The expectations are computed from the commands (the model below), not read back from
 * the governor.
 */
import { copyFileSync, existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MUSCLE_GROUPS, type MuscleGroup } from '../../../electron/ipc/contract';
import { SafetyGovernor } from '../../../electron/safety/governor';
import { usageLedger } from '../../../electron/store/usage-ledger';
import { fixedOffsetDayClock, UsageLog, USAGE_FILE, type DayClock } from '../../../electron/store/usage';
import type { Motion } from '../../../protocols/types';
import { FakeClock } from '../helpers/fake-clock';
import { RecordingMotor, TestLimits } from '../helpers/governor-fakes';

const STEPS = 3616;
const RAMP_STEPS_PER_MS = (0.2 * STEPS) / 1000;
const MOTIONS: Motion[] = ['circular', 'back-and-forth', 'on-knot', 'long-strokes'];
const OFFSETS = [-600, -300, 0, 60, 330, 540, 840];
const GROUPS = MUSCLE_GROUPS.filter((g) => g !== 'neck').slice(0, 3) as MuscleGroup[];

type Cmd =
  | { t: 'start'; group: MuscleGroup; planned: number }
  | { t: 'step'; intensity: number; motion?: Motion }
  | { t: 'heartbeat' }
  | { t: 'advance'; ms: number }
  | { t: 'pause' }
  | { t: 'resume' }
  | { t: 'stop' }
  | { t: 'end' }
  | { t: 'ceiling'; value: number }
  | { t: 'screening'; blocked: boolean }
  | { t: 'jump-wall'; ms: number }
  | { t: 'zone'; offset: number }
  | { t: 'crash' };

const command: fc.Arbitrary<Cmd> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ t: fc.constant('start' as const), group: fc.constantFrom(...GROUPS), planned: fc.integer({ min: 60, max: 400 }) }) },
  {
    weight: 6,
    arbitrary: fc.record(
      { t: fc.constant('step' as const), intensity: fc.integer({ min: 0, max: 100 }).map((n) => n / 100), motion: fc.constantFrom(...MOTIONS) },
      { requiredKeys: ['t', 'intensity'] },
    ),
  },
  { weight: 5, arbitrary: fc.constant({ t: 'heartbeat' as const }) },
  { weight: 7, arbitrary: fc.record({ t: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 4000 }) }) },
  { weight: 1, arbitrary: fc.constant({ t: 'pause' as const }) },
  { weight: 1, arbitrary: fc.constant({ t: 'resume' as const }) },
  { weight: 1, arbitrary: fc.constant({ t: 'stop' as const }) },
  { weight: 1, arbitrary: fc.constant({ t: 'end' as const }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('ceiling' as const), value: fc.integer({ min: 10, max: 100 }).map((n) => n / 100) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('screening' as const), blocked: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('jump-wall' as const), ms: fc.integer({ min: -5 * 3600_000, max: 20 * 3600_000 }) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('zone' as const), offset: fc.constantFrom(...OFFSETS) }) },
  { weight: 1, arbitrary: fc.constant({ t: 'crash' as const }) },
);

/** A day clock whose zone the test changes (a traveller, or a changed system setting). */
function travellingDayClock(): DayClock & { offset: number } {
  const clock = {
    offset: 0,
    dayKey: (ms: number) => fixedOffsetDayClock(clock.offset).dayKey(ms),
    startOfDay: (ms: number) => fixedOffsetDayClock(clock.offset).startOfDay(ms),
    nextMidnight: (ms: number) => fixedOffsetDayClock(clock.offset).nextMidnight(ms),
    offsetMinutes: () => clock.offset,
  };
  return clock;
}

/** Lets the usage log's disk writes (real files) make progress. */
const io = (ms = 4): Promise<void> => new Promise((r) => setTimeout(r, ms));

const clampCeiling = (c: number): number => Math.min(1, Math.max(0.1, c));
const stepOf = (c: number): number => Math.max(1, Math.floor(clampCeiling(c) * STEPS + 1e-9));

describe('the governor’s safety property (routine time, the real usage log)', () => {
  it('holds the ceiling, modes, screening, ramp, watchdog, budget and crash-safe accounting for any command sequence', async () => {
    let runs = 0;
    let maxStepSeen = 0;
    let crashesWhileRunning = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(command, { minLength: 8, maxLength: 30 }), async (cmds) => {
        runs += 1;
        const dir = mkdtempSync(join(tmpdir(), 'unknot-gov-prop-'));
        const clock = new FakeClock();
        const days = travellingDayClock();
        const log = new UsageLog({ dir, clock: days, now: () => clock.wallNow(), saveDelayMs: 2000 });
        await log.load();
        const limits = new TestLimits();
        const motor = new RecordingMotor(clock);
        const gov = new SafetyGovernor(usageLedger(log), limits, clock);
        gov.attachMotor(motor);

        // the model
        let sessionId = 'none';
        let sessionGroup: MuscleGroup | null = null;
        let ceilingAtStart = limits.ceilingValue;
        let lastHeartbeatT = 0;
        let blocked = false;
        let checked = 0;
        let lastOutT = 0;
        let lastOutStep = 0;
        gov.on('ended', () => (sessionGroup = null));

        const checkLog = (): void => {
          const bound = stepOf(Math.min(ceilingAtStart, limits.ceilingValue));
          for (; checked < motor.log.length; checked++) {
            const r = motor.log[checked]!;
            if (r.type === 'stop') {
              lastOutT = r.t;
              lastOutStep = 0;
              continue;
            }
            if (r.type === 'motion') {
              // a mode goes out only while the motor runs, or just before an intensity above
              // 0 in the same instant; never at step 0
              const next = motor.log[checked + 1];
              const startsIt = next?.type === 'intensity' && next.value! > 0 && next.t === r.t;
              expect(lastOutStep > 0 || startsIt).toBe(true);
              expect(blocked).toBe(false);
              continue;
            }
            if (r.type !== 'intensity') continue;
            const step = Math.round(r.value! * STEPS);
            if (step > 0) {
              expect(step).toBeLessThanOrEqual(bound);
              expect(blocked).toBe(false);
              expect(r.t - lastHeartbeatT).toBeLessThanOrEqual(3000 + 50);
              // the ramp: from the previous output, at most 0.2 of the range per second (one step of rounding)
              expect(step - lastOutStep).toBeLessThanOrEqual(Math.max(1, Math.ceil((r.t - lastOutT) * RAMP_STEPS_PER_MS) + 1));
              maxStepSeen = Math.max(maxStepSeen, step);
            }
            lastOutT = r.t;
            lastOutStep = step;
          }
        };

        const checkBudgetAndDisk = async (crash: boolean): Promise<void> => {
          const now = clock.wallNow();
          for (const g of GROUPS) expect(log.budgetDay(g, now).usedSeconds).toBeLessThanOrEqual(360 + 0.06);
          if (!crash) return;
          // what a kill -9 leaves: the file as it is on disk now (atomic renames: old or new, never half)
          const copy = mkdtempSync(join(dir, 'crash-'));
          if (existsSync(join(dir, USAGE_FILE))) copyFileSync(join(dir, USAGE_FILE), join(copy, USAGE_FILE));
          const after = new UsageLog({ dir: copy, clock: days, now: () => clock.wallNow() });
          await after.load({ expectFile: true });
          for (const g of GROUPS) {
            const live = log.budgetDay(g, now).usedSeconds;
            if (live > 0 && sessionGroup === g) crashesWhileRunning += 1;
            expect(after.budgetDay(g, now).usedSeconds).toBeGreaterThanOrEqual(live - 1e-3);
          }
        };

        try {
          for (const c of cmds) {
            switch (c.t) {
              case 'start':
                try {
                  sessionId = gov.startSession('win', { muscleGroup: c.group, plannedMotorSeconds: c.planned }).sessionId;
                  sessionGroup = c.group;
                  ceilingAtStart = limits.ceilingValue;
                  lastHeartbeatT = clock.now();
                } catch {
                  // refused (another session, screening, budget): fine
                }
                break;
              case 'step':
                try {
                  gov.setStep('win', sessionId, c.intensity, c.motion);
                } catch {
                  /* no session */
                }
                break;
              case 'heartbeat':
                try {
                  gov.heartbeat('win', sessionId);
                  lastHeartbeatT = clock.now();
                } catch {
                  /* no session */
                }
                break;
              case 'advance':
                for (let t = 0; t < c.ms; t += 100) {
                  clock.advance(Math.min(100, c.ms - t));
                  checkLog();
                  await io(1);
                }
                break;
              case 'pause':
                try {
                  gov.pause('win', sessionId);
                } catch {
                  /* no session */
                }
                break;
              case 'resume':
                try {
                  gov.resume('win', sessionId);
                  lastHeartbeatT = Math.max(lastHeartbeatT, clock.now());
                } catch {
                  /* no session, or blocked */
                }
                break;
              case 'stop':
                await gov.stopAll('user-stop');
                break;
              case 'end':
                try {
                  await gov.end('win', sessionId);
                } catch {
                  /* no session */
                }
                break;
              case 'ceiling':
                // from another window: the limits are read at every decision
                limits.ceilingValue = c.value;
                break;
              case 'screening':
                blocked = c.blocked;
                limits.block = c.blocked ? { code: 'blocked-by-screening', message: 'A health answer blocks this.' } : null;
                await gov.recheckBlock();
                break;
              case 'jump-wall':
                clock.jumpWall(c.ms);
                break;
              case 'zone':
                days.offset = c.offset;
                break;
              case 'crash':
                break;
            }
            checkLog();
            await io();
            checkLog();
            await checkBudgetAndDisk(c.t === 'crash');
          }
          await gov.stopAll('user-stop');
          checkLog();
          expect(motor.lastStep()).toBe(0);
        } finally {
          gov.dispose();
          await log.flush().catch(() => undefined);
        }
      }),
      {
        numRuns: 60,
        endOnFailure: true,
        examples: [
          // full speed long enough to reach the ceiling, a crash while running, a raised ceiling mid-session
          [
            [
              { t: 'start', group: GROUPS[0]!, planned: 240 },
              { t: 'step', intensity: 1, motion: 'circular' },
              ...Array.from({ length: 4 }, () => [{ t: 'heartbeat' } as Cmd, { t: 'advance', ms: 1000 } as Cmd]).flat(),
              { t: 'crash' },
              { t: 'ceiling', value: 1 },
              { t: 'heartbeat' },
              { t: 'advance', ms: 1000 },
              { t: 'crash' },
              { t: 'screening', blocked: true },
              { t: 'advance', ms: 500 },
            ],
          ],
        ],
      },
    );
    // the property must not hold vacuously
    expect(runs).toBeGreaterThanOrEqual(60);
    expect(maxStepSeen).toBeGreaterThanOrEqual(stepOf(0.6));
    expect(crashesWhileRunning).toBeGreaterThan(0);
  }, 240_000);
});
