import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { MUSCLE_GROUPS } from '../../../electron/ipc/contract';
import { UsageLog, fixedOffsetDayClock, localDayClock, splitAtMidnights } from '../../../electron/store/usage';
import { tempDir } from './helpers';

const DAY = 86_400_000;
const YEAR_2024 = Date.UTC(2024, 0, 1);
const interval = fc
  .record({
    session: fc.integer({ min: 0, max: 6 }),
    from: fc.integer({ min: YEAR_2024, max: YEAR_2024 + 60 * DAY }),
    // mostly short ticks, sometimes intervals spanning several midnights
    length: fc.oneof(fc.integer({ min: 0, max: 5_000 }), fc.integer({ min: 0, max: 3 * DAY })),
  })
  .map(({ session, from, length }) => ({ session, from, to: from + length }));

/** Reference split for a fixed UTC offset, by arithmetic on day numbers (independent of the code under test). */
function referenceMsPerDay(offsetMinutes: number, from: number, to: number): Map<string, number> {
  const off = offsetMinutes * 60_000;
  const out = new Map<string, number>();
  if (to <= from) return out;
  for (let k = Math.floor((from + off) / DAY); k <= Math.floor((to - 1 + off) / DAY); k += 1) {
    const part = Math.min(to, (k + 1) * DAY - off) - Math.max(from, k * DAY - off);
    const key = new Date(k * DAY).toISOString().slice(0, 10);
    out.set(key, (out.get(key) ?? 0) + part);
  }
  return out;
}

describe('addMotorTime property', () => {
  it('per-day totals equal the sum of the parts of every interval split at midnights', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: -12 * 60, max: 14 * 60 }).map((m) => m - (m % 15)),
        fc.array(interval, { maxLength: 40 }),
        async (offsetMinutes, intervals) => {
          const clock = fixedOffsetDayClock(offsetMinutes);
          const log = new UsageLog({ dir: tempDir(), clock, now: () => YEAR_2024 + 70 * DAY });
          await log.load();
          const expected = new Map<string, number>(); // `${group}|${day}` → ms
          let totalMs = 0;
          for (const { session, from, to } of intervals) {
            const group = MUSCLE_GROUPS[session % MUSCLE_GROUPS.length]!;
            log.addMotorTime(`s${session}`, group, from, to);
            for (const [day, ms] of referenceMsPerDay(offsetMinutes, from, to)) {
              expected.set(`${group}|${day}`, (expected.get(`${group}|${day}`) ?? 0) + ms);
            }
            totalMs += to - from;
          }
          let sum = 0;
          for (const [key, ms] of expected) {
            const [group, day] = key.split('|') as [(typeof MUSCLE_GROUPS)[number], string];
            expect(Math.abs(log.usedSeconds(group, day) - ms / 1000)).toBeLessThan(1e-6);
            sum += log.usedSeconds(group, day);
          }
          expect(Math.abs(sum - totalMs / 1000)).toBeLessThan(1e-6);
          let sessions = 0;
          for (let s = 0; s <= 6; s += 1) sessions += log.sessionSeconds(`s${s}`);
          expect(Math.abs(sessions - totalMs / 1000)).toBeLessThan(1e-6);
          log.dispose();
        },
      ),
      { numRuns: 150 },
    );
  });

  describe('with a real zone that has daylight saving (America/New_York)', () => {
    const savedTz = process.env.TZ;
    afterAll(() => {
      if (savedTz === undefined) delete process.env.TZ;
      else process.env.TZ = savedTz;
    });

    it('parts are contiguous, cover the interval, each lies within one local day, and cuts are local midnights', () => {
      process.env.TZ = 'America/New_York';
      fc.assert(
        fc.property(
          // around the 2024 transitions (10 March, 3 November) and elsewhere
          fc.oneof(
            fc.integer({ min: Date.UTC(2024, 2, 8), max: Date.UTC(2024, 2, 12) }),
            fc.integer({ min: Date.UTC(2024, 10, 1), max: Date.UTC(2024, 10, 5) }),
            fc.integer({ min: YEAR_2024, max: YEAR_2024 + 365 * DAY }),
          ),
          fc.integer({ min: 0, max: 4 * DAY }),
          (from, length) => {
            const to = from + length;
            const parts = splitAtMidnights(localDayClock, from, to);
            if (length === 0) {
              expect(parts).toEqual([]);
              return;
            }
            expect(parts[0]!.fromMs).toBe(from);
            expect(parts.at(-1)!.toMs).toBe(to);
            for (let i = 0; i < parts.length; i += 1) {
              const p = parts[i]!;
              expect(p.toMs).toBeGreaterThan(p.fromMs);
              expect(localDayClock.dayKey(p.fromMs)).toBe(p.dayKey);
              expect(localDayClock.dayKey(p.toMs - 1)).toBe(p.dayKey);
              if (i > 0) {
                expect(p.fromMs).toBe(parts[i - 1]!.toMs);
                const d = new Date(p.fromMs);
                expect([d.getHours(), d.getMinutes(), d.getSeconds(), d.getMilliseconds()]).toEqual([0, 0, 0, 0]);
              }
            }
          },
        ),
        { numRuns: 500 },
      );
    });
  });
});
