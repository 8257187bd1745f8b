import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { JsonFile, type StoreNotice } from '../../../electron/store/json-file';
import { UsageLog, fixedOffsetDayClock, localDayClock, splitAtMidnights, type DayClock } from '../../../electron/store/usage';
import { tempDir } from './helpers';

const logs: UsageLog[] = [];
async function open(dir: string, options: { clock?: DayClock; now?: () => number; notices?: StoreNotice[]; saveDelayMs?: number } = {}) {
  const log = new UsageLog({
    dir,
    clock: options.clock,
    // Pruning keeps 120 days back from now(); the tests live in June 2024.
    now: options.now ?? (() => Date.UTC(2024, 5, 14, 12)),
    saveDelayMs: options.saveDelayMs,
    onNotice: (n) => options.notices?.push(n),
  });
  logs.push(log);
  const loaded = await log.load();
  return { log, loaded };
}
afterEach(() => {
  for (const log of logs.splice(0)) log.dispose();
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe('usage log in a real local time zone (process.env.TZ)', () => {
  const savedTz = process.env.TZ;
  afterAll(() => {
    if (savedTz === undefined) delete process.env.TZ;
    else process.env.TZ = savedTz;
  });

  it.each(['Europe/Berlin', 'America/New_York', 'Asia/Kolkata', 'Pacific/Chatham', 'UTC'])(
    'a session from 23:59:00 to 00:01:00 local counts 60 s on each day (%s)',
    async (tz) => {
      process.env.TZ = tz;
      const from = new Date(2024, 5, 14, 23, 59, 0).getTime(); // local 2024-06-14 23:59:00
      const to = new Date(2024, 5, 15, 0, 1, 0).getTime();
      expect(to - from).toBe(120_000);
      const { log } = await open(tempDir(), { now: () => to });
      log.addMotorTime('s1', 'neck', from, to);
      expect(log.usedSeconds('neck', '2024-06-14')).toBe(60);
      expect(log.usedSeconds('neck', '2024-06-15')).toBe(60);
      expect(log.usedSeconds('shoulders', '2024-06-15')).toBe(0);
      const budget = log.remaining('neck', 360, to);
      expect(budget).toEqual({
        muscleGroup: 'neck',
        usedSeconds: 60,
        budgetSeconds: 360,
        remainingSeconds: 300,
        resetsAt: new Date(2024, 5, 16).toISOString(),
      });
    },
  );

  it('the zone really is applied (offsets differ between zones)', () => {
    process.env.TZ = 'Asia/Kolkata';
    const kolkata = new Date(2024, 0, 1).getTime();
    process.env.TZ = 'America/New_York';
    const newYork = new Date(2024, 0, 1).getTime();
    expect(newYork - kolkata).toBe((5.5 + 5) * 3_600_000);
  });

  it('a daylight-saving day has 23 h and the split follows it (Europe/Berlin, 31 March 2024)', async () => {
    process.env.TZ = 'Europe/Berlin';
    const from = new Date(2024, 2, 30, 23, 0, 0).getTime();
    const to = new Date(2024, 3, 1, 1, 0, 0).getTime();
    expect(splitAtMidnights(localDayClock, from, to).map((p) => [p.dayKey, (p.toMs - p.fromMs) / 3_600_000])).toEqual([
      ['2024-03-30', 1],
      ['2024-03-31', 23],
      ['2024-04-01', 1],
    ]);
    expect(localDayClock.nextMidnight(new Date(2024, 2, 31, 12).getTime())).toBe(Date.UTC(2024, 2, 31, 22));
  });

  it('the split is the same in a child node process started with TZ set', () => {
    const script = `
      const from = new Date(2024, 5, 14, 23, 59, 0).getTime();
      const to = new Date(2024, 5, 15, 0, 1, 0).getTime();
      const mid = new Date(2024, 5, 15).getTime();
      process.stdout.write(JSON.stringify({ from, to, mid }));`;
    const out = JSON.parse(execFileSync(process.execPath, ['-e', script], { env: { ...process.env, TZ: 'Australia/Adelaide' } }).toString());
    process.env.TZ = 'Australia/Adelaide';
    expect(localDayClock.nextMidnight(out.from)).toBe(out.mid);
    expect(splitAtMidnights(localDayClock, out.from, out.to).map((p) => p.toMs - p.fromMs)).toEqual([60_000, 60_000]);
  });
});

describe('fixedOffsetDayClock', () => {
  it('computes keys and midnights for a fixed offset whatever the process zone', () => {
    const clock = fixedOffsetDayClock(120); // UTC+2
    const t = Date.UTC(2024, 0, 1, 22, 30); // 00:30 on 2 Jan at UTC+2
    expect(clock.dayKey(t)).toBe('2024-01-02');
    expect(clock.startOfDay(t)).toBe(Date.UTC(2024, 0, 1, 22));
    expect(clock.nextMidnight(t)).toBe(Date.UTC(2024, 0, 2, 22));
    expect(fixedOffsetDayClock(-300).dayKey(Date.UTC(2024, 0, 1, 3))).toBe('2023-12-31');
    expect(() => fixedOffsetDayClock(2000)).toThrow(RangeError);
  });
});

const clock = fixedOffsetDayClock(60); // UTC+1, independent of the process zone
const at = (day: string, hh: number, mm = 0, ss = 0) => Date.parse(`${day}T${String(hh).padStart(2, '0')}:${String(mm).padStart(2, '0')}:${String(ss).padStart(2, '0')}+01:00`);

describe('UsageLog', () => {
  it('starts empty when the file is missing', async () => {
    const { log, loaded } = await open(tempDir(), { clock });
    expect(loaded.notices).toEqual([]);
    expect(log.usedSeconds('neck', '2024-06-14')).toBe(0);
    expect(log.remaining('neck', 360, at('2024-06-14', 12))).toMatchObject({ usedSeconds: 0, remainingSeconds: 360, resetsAt: '2024-06-14T23:00:00.000Z' });
    expect(log.budgets(300, at('2024-06-14', 12)).map((b) => [b.muscleGroup, b.remainingSeconds])).toEqual([
      ['neck', 300],
      ['shoulders', 300],
      ['upper-back', 300],
      ['rhomboids', 300],
      ['lower-back', 300],
    ]);
  });

  it('survives a restart: a new instance reads what the old one wrote after flush, so the budget is not reset', async () => {
    const dir = tempDir();
    const now = at('2024-06-14', 12);
    const first = await open(dir, { clock, now: () => now });
    first.log.startSession('s1', 'lower-back', now - 200_000, 'outside-in');
    first.log.addMotorTime('s1', 'lower-back', now - 200_000, now);
    await first.log.recordPain('s1', 'lower-back', now);
    await first.log.endSession('s1', 'hurt', now + 1000);

    const second = await open(dir, { clock, now: () => now });
    expect(second.log.usedSeconds('lower-back', '2024-06-14')).toBe(200);
    expect(second.log.remaining('lower-back', 360, now).remainingSeconds).toBe(160);
    expect(second.log.session('s1')).toEqual({
      id: 's1',
      muscleGroup: 'lower-back',
      routineId: 'outside-in',
      startedAt: new Date(now - 200_000).toISOString(),
      endedAt: new Date(now + 1000).toISOString(),
      endReason: 'hurt',
      charges: [{ from: new Date(now - 200_000).toISOString(), to: new Date(now).toISOString(), offsetMinutes: 60, seconds: 200 }],
    });
    expect(second.log.lastPain('lower-back')).toEqual({ at: new Date(now).toISOString(), muscleGroup: 'lower-back', sessionId: 's1' });
    expect(second.log.lastPain('neck')).toBeNull();
  });

  it('remaining never goes below zero and resets at the next local midnight', async () => {
    const { log } = await open(tempDir(), { clock });
    log.addMotorTime('s1', 'neck', at('2024-06-14', 10), at('2024-06-14', 10, 7));
    expect(log.remaining('neck', 360, at('2024-06-14', 23, 59))).toMatchObject({ usedSeconds: 420, remainingSeconds: 0, resetsAt: '2024-06-14T23:00:00.000Z' });
    expect(log.remaining('neck', 360, at('2024-06-15', 0, 0))).toMatchObject({ usedSeconds: 0, remainingSeconds: 360 });
    expect(() => log.remaining('neck', -1, 0)).toThrow(RangeError);
  });

  it('charges fractional seconds with millisecond precision and supports the demo time scale', async () => {
    const { log } = await open(tempDir(), { clock });
    for (let i = 0; i < 10; i += 1) log.addMotorTime('s1', 'neck', at('2024-06-14', 10) + i * 100, at('2024-06-14', 10) + (i + 1) * 100);
    expect(log.usedSeconds('neck', '2024-06-14')).toBe(1);
    log.addMotorTime('s2', 'shoulders', at('2024-06-14', 11), at('2024-06-14', 11, 0, 3), 10);
    expect(log.usedSeconds('shoulders', '2024-06-14')).toBe(30);
    expect(log.sessionSeconds('s1')).toBe(1);
  });

  it('refuses bad intervals and a session reused for another group', async () => {
    const { log } = await open(tempDir(), { clock });
    expect(() => log.addMotorTime('s1', 'neck', 2000, 1000)).toThrow(RangeError);
    expect(() => log.addMotorTime('s1', 'neck', Number.NaN, 1000)).toThrow(RangeError);
    expect(() => log.addMotorTime('s1', 'neck', 0, 1000, 0)).toThrow(RangeError);
    log.addMotorTime('s1', 'neck', 0, 1000);
    expect(() => log.addMotorTime('s1', 'shoulders', 1000, 2000)).toThrow(/neck/);
  });

  it('refuses to record before load()', () => {
    const log = new UsageLog({ dir: tempDir() });
    expect(() => log.addMotorTime('s', 'neck', 0, 1)).toThrow(/load\(\)/);
  });

  it('coalesces writes: ticking once a second writes at most every 2 s; flush() writes at once', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    vi.setSystemTime(at('2024-06-14', 12));
    const save = vi.spyOn(JsonFile.prototype, 'save');
    const dir = tempDir();
    const { log } = await open(dir, { clock });
    const start = Date.now();
    for (let s = 0; s < 10; s += 1) {
      log.addMotorTime('s1', 'neck', start + s * 1000, start + (s + 1) * 1000);
      await vi.advanceTimersByTimeAsync(1000);
    }
    // 10 ticks over 10 s: one write per 2 s window.
    expect(save.mock.calls.length).toBe(5);
    log.addMotorTime('s1', 'neck', start + 10_000, start + 10_500);
    expect(save.mock.calls.length).toBe(5);
    await log.flush();
    expect(save.mock.calls.length).toBe(6);
    await log.flush(); // nothing pending: no write
    expect(save.mock.calls.length).toBe(6);
    vi.useRealTimers();
    const reread = await open(dir, { clock });
    expect(reread.log.usedSeconds('neck', '2024-06-14')).toBe(10.5);
  });

  it('without flush, a change is on disk after the coalescing delay', async () => {
    const dir = tempDir();
    const { log } = await open(dir, { clock, saveDelayMs: 20 });
    log.addMotorTime('s1', 'neck', at('2024-06-14', 9), at('2024-06-14', 9, 1));
    expect(existsSync(path.join(dir, 'usage.json'))).toBe(false);
    await vi.waitFor(async () => {
      expect(existsSync(path.join(dir, 'usage.json'))).toBe(true);
      const again = await open(dir, { clock });
      expect(again.log.usedSeconds('neck', '2024-06-14')).toBe(60);
    });
  });

  it('reports a failed write as a notice and retries on flush', async () => {
    const dir = tempDir();
    const notices: StoreNotice[] = [];
    const { log } = await open(dir, { clock, notices });
    const save = vi.spyOn(JsonFile.prototype, 'save').mockRejectedValueOnce(Object.assign(new Error('disk full'), { code: 'ENOSPC' }));
    log.addMotorTime('s1', 'neck', at('2024-06-14', 9), at('2024-06-14', 9, 1));
    await expect(log.flush()).rejects.toThrow('disk full');
    expect(notices).toMatchObject([{ kind: 'write-failed', file: 'usage.json', reason: 'io-error' }]);
    await log.flush();
    expect(save).toHaveBeenCalledTimes(2);
    expect((await open(dir, { clock })).log.usedSeconds('neck', '2024-06-14')).toBe(60);
  });

  it('gives the history per day and group, with pain events, oldest first', async () => {
    const { log } = await open(tempDir(), { clock });
    log.addMotorTime('a', 'neck', at('2024-06-12', 23, 58), at('2024-06-13', 0, 1)); // 120 s on the 12th, 60 s on the 13th
    log.addMotorTime('b', 'shoulders', at('2024-06-14', 8), at('2024-06-14', 8, 3));
    await log.recordPain('b', 'shoulders', at('2024-06-14', 8, 3));
    await log.recordPain('x', 'neck', at('2024-05-01', 8)); // outside the window
    const history = log.history(3, at('2024-06-14', 20));
    expect(history.days.map((d) => d.date)).toEqual(['2024-06-12', '2024-06-13', '2024-06-14']);
    expect(history.days[0]!.groups.neck).toEqual({ motorSeconds: 120, motorMinutes: 2, painEvents: 0 });
    expect(history.days[1]!.groups.neck).toEqual({ motorSeconds: 60, motorMinutes: 1, painEvents: 0 });
    expect(history.days[2]!.groups.shoulders).toEqual({ motorSeconds: 180, motorMinutes: 3, painEvents: 1 });
    expect(history.days[2]!.groups['lower-back']).toEqual({ motorSeconds: 0, motorMinutes: 0, painEvents: 0 });
    expect(history.painEvents).toEqual([{ at: new Date(at('2024-06-14', 8, 3)).toISOString(), muscleGroup: 'shoulders', sessionId: 'b' }]);
    expect(log.lastPain('neck')?.sessionId).toBe('x');
    expect(() => log.history(0, 0)).toThrow(RangeError);
    expect(() => log.history(1.5, 0)).toThrow(RangeError);

    expect(log.toCsv(3, at('2024-06-14', 20))).toBe(
      ['date,muscle_group,motor_minutes,pain_events', '2024-06-12,neck,2.00,0', '2024-06-13,neck,1.00,0', '2024-06-14,shoulders,3.00,1', ''].join('\n'),
    );
    expect(log.toCsv(1, at('2024-06-20', 20))).toBe('date,muscle_group,motor_minutes,pain_events\n');
  });

  it('endSession records the end once and ignores an unknown id', async () => {
    const { log } = await open(tempDir(), { clock });
    log.startSession('s1', 'neck', at('2024-06-14', 9));
    await log.endSession('s1', 'completed', at('2024-06-14', 9, 5));
    await log.endSession('s1', 'watchdog', at('2024-06-14', 9, 6));
    await log.endSession('nope', 'completed', at('2024-06-14', 9, 6));
    expect(log.session('s1')).toMatchObject({ endReason: 'completed', endedAt: new Date(at('2024-06-14', 9, 5)).toISOString() });
    expect(log.session('nope')).toBeNull();
  });

  it('latestSession gives the most recently started session of a group', async () => {
    const { log } = await open(tempDir(), { clock });
    expect(log.latestSession('neck')).toBeNull();
    log.startSession('a', 'neck', at('2024-06-14', 9));
    log.startSession('b', 'neck', at('2024-06-14', 10));
    log.startSession('c', 'shoulders', at('2024-06-14', 11));
    await log.endSession('b', 'hurt', at('2024-06-14', 10, 2));
    expect(log.latestSession('neck')).toMatchObject({ id: 'b', endReason: 'hurt' });
    expect(log.latestSession('shoulders')?.id).toBe('c');
  });

  it('drops entries older than about 120 days, on load', async () => {
    const dir = tempDir();
    const old = at('2024-01-01', 10);
    const recent = at('2024-06-10', 10);
    {
      const { log } = await open(dir, { clock, now: () => old });
      log.addMotorTime('old', 'neck', old, old + 60_000);
      await log.recordPain('old', 'neck', old);
      log.addMotorTime('recent', 'neck', recent, recent + 60_000);
      await log.flush();
    }
    const { log } = await open(dir, { clock, now: () => at('2024-06-14', 12) });
    expect(log.session('old')).toBeNull();
    expect(log.lastPain('neck')).toBeNull();
    expect(log.usedSeconds('neck', '2024-06-10')).toBe(60);
    await log.flush();
    const stored = JSON.parse(readFileSync(path.join(dir, 'usage.json'), 'utf8'));
    expect(stored.sessions.map((s: { id: string }) => s.id)).toEqual(['recent']);
    expect(stored.pain).toEqual([]);
  });

  it('moves a corrupt or wrongly-shaped usage file aside and starts empty, with a notice', async () => {
    for (const content of ['\u0000\u0001garbage', JSON.stringify({ version: 1, sessions: [{ id: 's' }], pain: [] }), JSON.stringify({ sessions: 'none' })]) {
      const dir = tempDir();
      writeFileSync(path.join(dir, 'usage.json'), content);
      const notices: StoreNotice[] = [];
      const { log, loaded } = await open(dir, { clock, notices });
      expect(loaded.notices).toHaveLength(1);
      expect(loaded.notices[0]).toMatchObject({ kind: 'reset', file: 'usage.json' });
      expect(loaded.notices[0]!.message).toContain('usage log');
      expect(readFileSync(loaded.notices[0]!.movedTo!, 'utf8')).toBe(content);
      expect(notices).toEqual(loaded.notices);
      expect(log.usedSeconds('neck', '2024-06-14')).toBe(0);
    }
  });

  it('deleteAll forgets everything and removes the file', async () => {
    const dir = tempDir();
    const { log } = await open(dir, { clock });
    log.addMotorTime('s1', 'neck', at('2024-06-14', 9), at('2024-06-14', 9, 1));
    await log.flush();
    await log.deleteAll();
    expect(existsSync(path.join(dir, 'usage.json'))).toBe(false);
    expect(log.usedSeconds('neck', '2024-06-14')).toBe(0);
    await log.flush();
    expect(existsSync(path.join(dir, 'usage.json'))).toBe(false);
    expect((await open(dir, { clock })).log.session('s1')).toBeNull();
  });
});

describe('UsageLog before any test changes TZ', () => {
  beforeAll(() => {
    expect(typeof localDayClock.dayKey(0)).toBe('string');
  });
  it('localDayClock keys look like YYYY-MM-DD', () => {
    expect(localDayClock.dayKey(Date.UTC(2024, 6, 1, 12))).toMatch(/^2024-07-0[12]$/);
  });
});
