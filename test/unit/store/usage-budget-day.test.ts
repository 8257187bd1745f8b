/**
 * Issue 13, hole 3 (a, b): budgets that must not reset — pruning never drops today's or
 * yesterday's motor time, and a time-zone change or a clock moved back grants no new
 * day (the day rule of DESIGN §1). Each test writes the log, reopens it as a restart
 * would, and judges by the budget the restarted log gives.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { USAGE_MAX_ENTRIES, UsageLog, fixedOffsetDayClock, localDayClock, type DayClock } from '../../../electron/store/usage';
import { tempDir } from './helpers';

const logs: UsageLog[] = [];
async function open(dir: string, clock: DayClock, nowMs: number): Promise<UsageLog> {
  const log = new UsageLog({ dir, clock, now: () => nowMs });
  logs.push(log);
  await log.load();
  return log;
}
afterEach(() => {
  for (const log of logs.splice(0)) log.dispose();
});

const MIN = 60_000;
const plus1 = fixedOffsetDayClock(60);
/** Epoch ms of a wall time written with its offset, e.g. at('2024-06-14T10:00', '+01:00'). */
const at = (local: string, offset: string): number => Date.parse(`${local}:00${offset}`);

describe('pruning keeps the budget (issue 13, 3a)', () => {
  it(
    'ten thousand short sessions on one area do not reset another area’s budget; old entries go first; then new sessions are refused',
    async () => {
      const dir = tempDir();
      const now = at('2024-06-14T12:00', '+01:00');
      const log = await open(dir, plus1, now);
      // a week ago: entries that may go
      for (let i = 0; i < 50; i += 1) {
        const t = at('2024-06-07T09:00', '+01:00') + i * MIN;
        log.addMotorTime(`old-${i}`, 'lower-back', t, t + 30_000);
      }
      // this morning: 5 minutes on the neck, recorded before everything below
      log.addMotorTime('neck-1', 'neck', at('2024-06-14T09:00', '+01:00'), at('2024-06-14T09:05', '+01:00'));
      // then ten thousand sessions of 20 ms each on the shoulders
      const start = at('2024-06-14T10:00', '+01:00');
      for (let i = 0; i < USAGE_MAX_ENTRIES; i += 1) {
        log.addMotorTime(`flood-${i}`, 'shoulders', start + i * 100, start + i * 100 + 20);
      }
      await log.flush();

      const restarted = await open(dir, plus1, now);
      expect(restarted.remaining('neck', 360, now)).toMatchObject({ usedSeconds: 300, remainingSeconds: 60 });
      expect(restarted.remaining('shoulders', 360, now).usedSeconds).toBeCloseTo(USAGE_MAX_ENTRIES * 0.02, 3);
      const stored = JSON.parse(readFileSync(path.join(dir, 'usage.json'), 'utf8')) as { sessions: { id: string }[] };
      const ids = new Set(stored.sessions.map((s) => s.id));
      expect(ids.has('neck-1')).toBe(true);
      expect([...ids].filter((id) => id.startsWith('old-'))).toEqual([]);
      // today's entries alone exceed the limit: kept all, and no new session may start
      expect(stored.sessions).toHaveLength(USAGE_MAX_ENTRIES + 1);
      expect(restarted.entryLimitRefusal(now)).toMatchObject({ code: 'usage-log-full', message: expect.stringContaining('No new session') });
      // two days later the flood is old: it may go, and sessions may start again
      const later = at('2024-06-16T12:00', '+01:00');
      const afterwards = await open(dir, plus1, later);
      expect(afterwards.entryLimitRefusal(later)).toBeNull();
    },
    60_000,
  );

  it('below the limit nothing is refused, and a full log drops only entries older than yesterday', async () => {
    const dir = tempDir();
    const now = at('2024-06-14T12:00', '+01:00');
    const log = await open(dir, plus1, now);
    const old = at('2024-06-11T08:00', '+01:00');
    for (let i = 0; i < USAGE_MAX_ENTRIES; i += 1) log.addMotorTime(`old-${i}`, 'neck', old + i * 10, old + i * 10 + 5);
    expect(log.entryLimitRefusal(now)).toBeNull();
    log.addMotorTime('yesterday', 'rhomboids', at('2024-06-13T23:00', '+01:00'), at('2024-06-13T23:01', '+01:00'));
    log.addMotorTime('today', 'rhomboids', at('2024-06-14T08:00', '+01:00'), at('2024-06-14T08:01', '+01:00'));
    await log.flush();
    const stored = JSON.parse(readFileSync(path.join(dir, 'usage.json'), 'utf8')) as { sessions: { id: string }[] };
    expect(stored.sessions).toHaveLength(USAGE_MAX_ENTRIES);
    expect(stored.sessions.map((s) => s.id).slice(-2)).toEqual(['yesterday', 'today']);
    expect(stored.sessions[0]!.id).toBe('old-2');
  });
});

describe('the day of a budget (issue 13, 3b)', () => {
  it('a time-zone change east between restarts (UTC-5 → UTC+2) does not give a fresh budget', async () => {
    const dir = tempDir();
    // 17:54–18:00 at UTC-5 on 14 June: the whole budget
    const end = at('2024-06-14T18:00', '-05:00');
    const before = await open(dir, fixedOffsetDayClock(-300), end);
    before.addMotorTime('s1', 'neck', end - 6 * MIN, end);
    await before.flush();

    // ten minutes later, restarted at UTC+2, where it is already 01:10 on 15 June
    const now = end + 10 * MIN;
    const after = await open(dir, fixedOffsetDayClock(120), now);
    // the later of the next midnight at UTC-5 (05:00Z) and the next one here after the charge (22:00Z on the 15th)
    expect(after.remaining('neck', 360, now)).toMatchObject({ usedSeconds: 360, remainingSeconds: 0, resetsAt: '2024-06-15T22:00:00.000Z' });
    expect(after.remaining('neck', 360, Date.parse('2024-06-15T21:59:59.000Z')).remainingSeconds).toBe(0);
    expect(after.remaining('neck', 360, Date.parse('2024-06-15T22:00:00.000Z')).remainingSeconds).toBe(360);
    // other groups are untouched
    expect(after.remaining('shoulders', 360, now).remainingSeconds).toBe(360);
  });

  it('a time-zone change west keeps the day until the later midnight too (UTC+2 → UTC-5)', async () => {
    const dir = tempDir();
    const end = at('2024-06-14T23:00', '+02:00'); // 21:00Z
    const before = await open(dir, fixedOffsetDayClock(120), end);
    before.addMotorTime('s1', 'neck', end - 6 * MIN, end);
    await before.flush();
    const after = await open(dir, fixedOffsetDayClock(-300), end + 90 * MIN); // past midnight at UTC+2
    expect(after.remaining('neck', 360, end + 90 * MIN)).toMatchObject({ remainingSeconds: 0, resetsAt: '2024-06-15T05:00:00.000Z' });
  });

  it('what is used after the change counts in the same day: 5 min at UTC-5, then 1 min at UTC+2, and nothing is left', async () => {
    const dir = tempDir();
    const end = at('2024-06-14T18:00', '-05:00');
    const before = await open(dir, fixedOffsetDayClock(-300), end);
    before.addMotorTime('s1', 'neck', end - 5 * MIN, end);
    await before.flush();
    const now = end + 10 * MIN; // 01:10 on the 15th at UTC+2
    const after = await open(dir, fixedOffsetDayClock(120), now);
    expect(after.remaining('neck', 360, now).remainingSeconds).toBe(60);
    after.addMotorTime('s2', 'neck', now, now + MIN);
    await after.flush();
    const again = await open(dir, fixedOffsetDayClock(120), now + 2 * MIN);
    expect(again.remaining('neck', 360, now + 2 * MIN)).toMatchObject({ usedSeconds: 360, remainingSeconds: 0 });
  });

  describe('with the process time zone (process.env.TZ) changed between restarts', () => {
    const savedTz = process.env.TZ;
    afterAll(() => {
      if (savedTz === undefined) delete process.env.TZ;
      else process.env.TZ = savedTz;
    });

    it('New York → Tokyo: no fresh budget', async () => {
      const dir = tempDir();
      process.env.TZ = 'America/New_York';
      const end = new Date(2024, 5, 14, 18, 0).getTime(); // 18:00 EDT = 22:00Z
      expect(end).toBe(Date.parse('2024-06-14T22:00:00Z'));
      const before = await open(dir, localDayClock, end);
      before.addMotorTime('s1', 'lower-back', end - 6 * MIN, end);
      await before.flush();
      const stored = JSON.parse(readFileSync(path.join(dir, 'usage.json'), 'utf8')) as { sessions: { charges: { offsetMinutes: number }[] }[] };
      expect(stored.sessions[0]!.charges[0]!.offsetMinutes).toBe(-240);

      process.env.TZ = 'Asia/Tokyo';
      const now = end + 15 * MIN; // 07:15 on the 15th in Tokyo
      expect(localDayClock.dayKey(now)).toBe('2024-06-15');
      const after = await open(dir, localDayClock, now);
      // next midnight in Tokyo after the charge: 16 June 00:00 JST = 15 June 15:00Z
      expect(after.remaining('lower-back', 360, now)).toMatchObject({ remainingSeconds: 0, resetsAt: '2024-06-15T15:00:00.000Z' });
    });
  });

  it('a wall clock moved back before the latest charge still counts as that charge’s day', async () => {
    const dir = tempDir();
    const end = at('2024-06-14T10:06', '+01:00');
    const before = await open(dir, plus1, end);
    before.addMotorTime('s1', 'upper-back', end - 6 * MIN, end);
    await before.flush();

    // restarted with the clock set back to the evening before
    const back = at('2024-06-13T20:00', '+01:00');
    const after = await open(dir, plus1, back);
    expect(after.remaining('upper-back', 360, back)).toMatchObject({ usedSeconds: 360, remainingSeconds: 0, resetsAt: '2024-06-14T23:00:00.000Z' });
  });

  it('motor time charged with the clock set back joins the latest charge’s day', async () => {
    const dir = tempDir();
    const end = at('2024-06-14T10:04', '+01:00');
    const before = await open(dir, plus1, end);
    before.addMotorTime('s1', 'rhomboids', end - 4 * MIN, end); // 240 s
    await before.flush();

    const back = at('2024-06-13T20:00', '+01:00');
    const after = await open(dir, plus1, back);
    expect(after.remaining('rhomboids', 360, back).remainingSeconds).toBe(120);
    after.addMotorTime('s2', 'rhomboids', back, back + MIN);
    expect(after.remaining('rhomboids', 360, back + MIN).remainingSeconds).toBe(60);
    await after.flush();
    const again = await open(dir, plus1, back + 5 * MIN);
    expect(again.remaining('rhomboids', 360, back + 5 * MIN)).toMatchObject({ usedSeconds: 300, remainingSeconds: 60 });
    // the history still shows each minute on the day it was charged
    expect(again.usedSeconds('rhomboids', '2024-06-13')).toBe(60);
    expect(again.usedSeconds('rhomboids', '2024-06-14')).toBe(240);
  });

  it('in one zone with a steady clock, a day still ends at local midnight (a session across it is split)', async () => {
    const dir = tempDir();
    const log = await open(dir, plus1, at('2024-06-15T00:03', '+01:00'));
    log.addMotorTime('s1', 'neck', at('2024-06-14T23:57', '+01:00'), at('2024-06-15T00:03', '+01:00'));
    expect(log.usedSeconds('neck', '2024-06-14')).toBe(180);
    expect(log.remaining('neck', 360, at('2024-06-15T00:03', '+01:00'))).toMatchObject({ usedSeconds: 180, resetsAt: '2024-06-15T23:00:00.000Z' });
  });
});

describe('files written before issue 13 (version 1)', () => {
  it('load with their budgets intact and are rewritten as version 2', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'usage.json');
    writeFileSync(
      file,
      JSON.stringify({
        version: 1,
        sessions: [
          { id: 'a', muscleGroup: 'neck', startedAt: '2024-06-14T08:00:00.000Z', endedAt: '2024-06-14T08:05:00.000Z', endReason: 'completed', motorSeconds: { '2024-06-14': 200 } },
          { id: 'b', muscleGroup: 'neck', routineId: 'r', startedAt: '2024-06-13T22:58:00.000Z', motorSeconds: { '2024-06-13': 60, '2024-06-14': 30 } },
        ],
        pain: [{ at: '2024-06-14T08:05:00.000Z', muscleGroup: 'neck', sessionId: 'a' }],
      }),
    );
    const now = at('2024-06-14T12:00', '+01:00');
    const log = await open(dir, plus1, now);
    expect(log.remaining('neck', 360, now)).toMatchObject({ usedSeconds: 230, remainingSeconds: 130, resetsAt: '2024-06-14T23:00:00.000Z' });
    expect(log.usedSeconds('neck', '2024-06-13')).toBe(60);
    expect(log.sessionSeconds('b')).toBe(90);
    expect(log.lastPain('neck')?.sessionId).toBe('a');
    const stored = JSON.parse(readFileSync(file, 'utf8')) as { version: number; sessions: { id: string; charges: unknown[] }[] };
    expect(stored.version).toBe(2);
    // in the order they started
    expect(stored.sessions.map((s) => [s.id, s.charges.length])).toEqual([
      ['b', 2],
      ['a', 1],
    ]);
  });
});
