/**
 * The usage log, `usage.json` in the data folder: sessions with their motor time per
 * local calendar day, and pain events ("Stop — it hurts").
 *
 * It is what the daily budget is computed from (DESIGN §1: 6 minutes of motor time per
 * muscle group per local calendar day), so it survives restarts: restarting the app
 * does not reset the budget. Motor time is stored in seconds; API times are
 * milliseconds since the epoch (`…Ms`) and ISO strings in the document.
 *
 * Writes are coalesced: changes are applied in memory at once and written at most once
 * per `saveDelayMs` (2 s by default), so a motor clock ticking every second does not
 * rewrite the file every second; {@link UsageLog.flush} writes at once (call it on
 * session end, stop and quit). Entries older than `retentionDays` (120) are dropped.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { MUSCLE_GROUPS, type BudgetInfo, type MuscleGroup, type SessionEndReason } from '../ipc/contract';
import { JsonFile, type NoticeListener, type StoreNotice } from './json-file';

/** A local calendar: which day a time falls in and where days begin. Injectable for tests. */
export interface DayClock {
  /** The `YYYY-MM-DD` key of the day containing `ms` (milliseconds since the epoch). */
  dayKey(ms: number): string;
  /** Milliseconds since the epoch of the midnight that starts the day containing `ms` (≤ `ms`). */
  startOfDay(ms: number): number;
  /** Milliseconds since the epoch of the next midnight after `ms` (> `ms`): when that day's budget resets. */
  nextMidnight(ms: number): number;
}

const DAY_MS = 86_400_000;
const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/**
 * The day clock of the process's local time zone (honours `process.env.TZ`), built on
 * the local `Date` methods, so daylight-saving days of 23 or 25 hours are handled.
 */
export const localDayClock: DayClock = Object.freeze({
  dayKey(ms: number): string {
    const d = new Date(ms);
    return `${pad(d.getFullYear(), 4)}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
  },
  startOfDay(ms: number): number {
    const d = new Date(ms);
    return new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
  },
  nextMidnight(ms: number): number {
    const d = new Date(ms);
    return new Date(d.getFullYear(), d.getMonth(), d.getDate() + 1).getTime();
  },
});

/**
 * A day clock for a fixed offset from UTC in minutes (e.g. +120 for UTC+2), independent
 * of the process's time zone. For tests and for reasoning about a known zone.
 *
 * @throws RangeError when the offset is not a whole number of minutes within ±18 h.
 */
export function fixedOffsetDayClock(offsetMinutes: number): DayClock {
  if (!Number.isInteger(offsetMinutes) || Math.abs(offsetMinutes) > 18 * 60) {
    throw new RangeError(`offsetMinutes must be a whole number within ±1080 (got ${offsetMinutes})`);
  }
  const offsetMs = offsetMinutes * 60_000;
  const startOfDay = (ms: number): number => Math.floor((ms + offsetMs) / DAY_MS) * DAY_MS - offsetMs;
  return Object.freeze({
    dayKey(ms: number): string {
      const d = new Date(ms + offsetMs);
      return `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
    },
    startOfDay,
    nextMidnight: (ms: number): number => startOfDay(ms) + DAY_MS,
  });
}

/** One session as stored. */
export interface UsageSession {
  id: string;
  muscleGroup: MuscleGroup;
  /** Absent for manual control. */
  routineId?: string;
  /** ISO start time. */
  startedAt: string;
  /** ISO end time, once ended. */
  endedAt?: string;
  /** Why it ended: a `SessionEndReason` (kept as a string so files from newer versions still load). */
  endReason?: string;
  /** Motor-on seconds per local calendar day (`YYYY-MM-DD` → seconds, millisecond precision). */
  motorSeconds: Record<string, number>;
}

/** A "Stop — it hurts" event. */
export interface PainEvent {
  /** ISO time. */
  at: string;
  muscleGroup: MuscleGroup;
  sessionId: string;
}

/** The usage document as stored. */
export interface UsageDocument {
  version: 1;
  sessions: UsageSession[];
  pain: PainEvent[];
}

const DayKey = z.string().regex(/^\d{4}-\d{2}-\d{2}$/);
const IsoTime = z.string().refine((s) => Number.isFinite(Date.parse(s)), 'not a date');
const Group = z.enum(MUSCLE_GROUPS);
const UsageSessionSchema = z.object({
  id: z.string().min(1),
  muscleGroup: Group,
  routineId: z.string().optional(),
  startedAt: IsoTime,
  endedAt: IsoTime.optional(),
  endReason: z.string().optional(),
  motorSeconds: z.record(DayKey, z.number().finite().nonnegative()),
});
const PainEventSchema = z.object({ at: IsoTime, muscleGroup: Group, sessionId: z.string() });
const UsageFileSchema = z.object({
  version: z.literal(1),
  sessions: z.array(UsageSessionSchema),
  pain: z.array(PainEventSchema),
});

/** Returns a fresh, empty usage document. */
export function emptyUsage(): UsageDocument {
  return { version: 1, sessions: [], pain: [] };
}

/** Per group, for one day of {@link UsageLog.history}. */
export interface UsageGroupDay {
  /** Motor-on seconds (millisecond precision). */
  motorSeconds: number;
  /** The same in minutes, rounded to 0.01. */
  motorMinutes: number;
  /** Number of pain events. */
  painEvents: number;
}

/** One local calendar day of {@link UsageLog.history}. */
export interface UsageDay {
  /** `YYYY-MM-DD`. */
  date: string;
  groups: Record<MuscleGroup, UsageGroupDay>;
}

/** What {@link UsageLog.history} returns. */
export interface UsageHistory {
  /** Oldest first; the last entry is today. */
  days: UsageDay[];
  /** Pain events within those days, oldest first. */
  painEvents: PainEvent[];
}

/** Options of a {@link UsageLog}. */
export interface UsageLogOptions {
  /** The data folder; the file is `<dir>/usage.json`. */
  dir: string;
  /** The local calendar. Defaults to {@link localDayClock}. */
  clock?: DayClock;
  /** Milliseconds between a change and its coalesced write (default 2000). */
  saveDelayMs?: number;
  /** Days of history kept (default 120); older entries are dropped on load and on save. */
  retentionDays?: number;
  /** Called with every notice (a corrupt file reset, a failed write). */
  onNotice?: NoticeListener;
  /** Wall clock in milliseconds since the epoch, used for pruning. Defaults to `Date.now`. */
  now?: () => number;
}

/** The file name of the usage log. */
export const USAGE_FILE = 'usage.json';
/** Hard cap on stored sessions and on stored pain events (the newest are kept). */
export const USAGE_MAX_ENTRIES = 10_000;

/**
 * The usage log. Call {@link load} once before anything else. Mutations apply in memory
 * at once (so budgets are exact immediately) and are written coalesced.
 */
export class UsageLog {
  private readonly file: JsonFile<UsageDocument>;
  private readonly clock: DayClock;
  private readonly saveDelayMs: number;
  private readonly retentionDays: number;
  private readonly now: () => number;
  private doc: UsageDocument = emptyUsage();
  private readonly byId = new Map<string, UsageSession>();
  private dirty = false;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private inflight: Promise<void> | null = null;
  private loaded = false;

  /** @throws RangeError for a negative `saveDelayMs` or a `retentionDays` below 1. */
  constructor(options: UsageLogOptions) {
    this.clock = options.clock ?? localDayClock;
    this.saveDelayMs = options.saveDelayMs ?? 2000;
    this.retentionDays = options.retentionDays ?? 120;
    this.now = options.now ?? Date.now;
    if (!(this.saveDelayMs >= 0)) throw new RangeError(`saveDelayMs must be ≥ 0 (got ${this.saveDelayMs})`);
    if (!(this.retentionDays >= 1)) throw new RangeError(`retentionDays must be ≥ 1 (got ${this.retentionDays})`);
    this.file = new JsonFile<UsageDocument>({
      dir: options.dir,
      name: USAGE_FILE,
      label: 'usage log',
      schema: UsageFileSchema,
      defaults: emptyUsage,
      onNotice: options.onNotice,
      now: this.now,
    });
  }

  /** Absolute path of `usage.json`. */
  get path(): string {
    return this.file.path;
  }

  /**
   * Reads `usage.json` (missing ⇒ empty; unusable ⇒ moved aside, empty, and a notice)
   * and drops entries older than the retention. Never throws for a bad file.
   */
  async load(): Promise<{ notices: StoreNotice[] }> {
    const result = await this.file.load();
    this.doc = result.value;
    this.reindex();
    if (this.prune(this.now())) this.markDirty();
    this.loaded = true;
    const notices = result.notice ? [result.notice] : [];
    // A copy moved aside earlier today means today's use is still unknown after a
    // restart: say so again, so a restart never turns a lost log into a fresh budget.
    const earlier = result.notice ? null : await this.resetEarlierToday();
    if (earlier) {
      notices.push(earlier);
      this.file.emit(earlier);
    }
    return { notices };
  }

  /** A `reset` notice for a `usage.json.corrupt-<timestamp>` copy made on today's local day, or null. */
  private async resetEarlierToday(): Promise<StoreNotice | null> {
    let entries: string[];
    try {
      entries = await fsp.readdir(this.file.dir);
    } catch {
      return null;
    }
    const today = this.clock.dayKey(this.now());
    const prefix = `${this.file.name}.corrupt-`;
    for (const entry of entries.sort().reverse()) {
      if (!entry.startsWith(prefix)) continue;
      // the stamp is an ISO time with ':' and '.' replaced by '-' (JsonFile.moveAside)
      const m = /^(\d{4}-\d{2}-\d{2})T(\d{2})-(\d{2})-(\d{2})-(\d{3})Z(?:-\d+)?$/.exec(entry.slice(prefix.length));
      if (!m) continue;
      const atMs = Date.parse(`${m[1]}T${m[2]}:${m[3]}:${m[4]}.${m[5]}Z`);
      if (!Number.isFinite(atMs) || this.clock.dayKey(atMs) !== today) continue;
      const movedTo = path.join(this.file.dir, entry);
      return {
        kind: 'reset',
        file: this.file.name,
        path: this.file.path,
        movedTo,
        reason: 'corrupt',
        detail: `was found unusable earlier today (kept as ${movedTo})`,
        message: `Your usage log file (${this.file.name}) was found unusable earlier today and was reset. The old copy was kept as ${movedTo}.`,
        at: new Date(this.now()).toISOString(),
      };
    }
    return null;
  }

  /**
   * Records the start of a session (idempotent for the same id and group).
   *
   * @throws Error when `id` already belongs to a session of another muscle group.
   */
  startSession(id: string, muscleGroup: MuscleGroup, startedAtMs: number, routineId?: string): void {
    this.assertLoaded();
    this.sessionFor(id, muscleGroup, startedAtMs, routineId);
  }

  /**
   * Charges motor-on time from `fromMs` to `toMs` (milliseconds since the epoch, wall
   * clock) to a session and its muscle group, split at every local midnight in between
   * so each calendar day gets its own part. A session not seen before is created
   * (started at `fromMs`). `timeScale` (demo mode only, default 1) multiplies the
   * charged seconds; the split still follows the wall clock.
   *
   * @throws RangeError when the times are not finite, `toMs < fromMs`, or `timeScale` is not positive.
   * @throws Error when the session belongs to another muscle group.
   */
  addMotorTime(sessionId: string, muscleGroup: MuscleGroup, fromMs: number, toMs: number, timeScale = 1): void {
    this.assertLoaded();
    if (!Number.isFinite(fromMs) || !Number.isFinite(toMs) || toMs < fromMs) {
      throw new RangeError(`addMotorTime: need finite fromMs ≤ toMs (got ${fromMs}, ${toMs})`);
    }
    if (!Number.isFinite(timeScale) || timeScale <= 0) {
      throw new RangeError(`addMotorTime: timeScale must be positive (got ${timeScale})`);
    }
    const session = this.sessionFor(sessionId, muscleGroup, fromMs);
    if (toMs === fromMs) return;
    for (const part of splitAtMidnights(this.clock, fromMs, toMs)) {
      const seconds = ((part.toMs - part.fromMs) / 1000) * timeScale;
      session.motorSeconds[part.dayKey] = roundMs((session.motorSeconds[part.dayKey] ?? 0) + seconds);
    }
    this.markDirty();
  }

  /** Motor-on seconds charged to `group` on the local day `dayKey` (`YYYY-MM-DD`). */
  usedSeconds(group: MuscleGroup, dayKey: string): number {
    let total = 0;
    for (const session of this.doc.sessions) {
      if (session.muscleGroup === group) total += session.motorSeconds[dayKey] ?? 0;
    }
    return roundMs(total);
  }

  /**
   * The budget of `group` for the local day containing `nowMs`: used and remaining
   * seconds (remaining never below 0) and `resetsAt`, the next local midnight (ISO).
   *
   * @throws RangeError when `budgetSeconds` is negative or not finite.
   */
  remaining(group: MuscleGroup, budgetSeconds: number, nowMs: number): BudgetInfo {
    if (!Number.isFinite(budgetSeconds) || budgetSeconds < 0) {
      throw new RangeError(`budgetSeconds must be a finite number ≥ 0 (got ${budgetSeconds})`);
    }
    const usedSeconds = this.usedSeconds(group, this.clock.dayKey(nowMs));
    return {
      muscleGroup: group,
      usedSeconds,
      budgetSeconds,
      remainingSeconds: roundMs(Math.max(0, budgetSeconds - usedSeconds)),
      resetsAt: new Date(this.clock.nextMidnight(nowMs)).toISOString(),
    };
  }

  /** {@link remaining} for every muscle group, in body-map order (the `usage.today` reply). */
  budgets(budgetSeconds: number, nowMs: number): BudgetInfo[] {
    return MUSCLE_GROUPS.map((group) => this.remaining(group, budgetSeconds, nowMs));
  }

  /** A copy of a session, or null if unknown. */
  session(sessionId: string): UsageSession | null {
    const session = this.byId.get(sessionId);
    return session ? cloneSession(session) : null;
  }

  /**
   * A copy of the most recently started session of `group` (ended or not), or null.
   * E.g. whether it ended with `hurt`, to suggest a gentler intensity next time.
   */
  latestSession(group: MuscleGroup): UsageSession | null {
    let latest: UsageSession | null = null;
    for (const session of this.doc.sessions) {
      if (session.muscleGroup !== group) continue;
      if (!latest || Date.parse(session.startedAt) >= Date.parse(latest.startedAt)) latest = session;
    }
    return latest ? cloneSession(latest) : null;
  }

  /** Total motor-on seconds of a session over all days (0 if unknown). */
  sessionSeconds(sessionId: string): number {
    const session = this.byId.get(sessionId);
    if (!session) return 0;
    return roundMs(Object.values(session.motorSeconds).reduce((a, b) => a + b, 0));
  }

  /**
   * Marks a session ended at `endedAtMs` (milliseconds since the epoch) with `reason`,
   * then writes the log at once. An unknown session id is ignored (still flushes).
   *
   * @throws the file-system error when the write fails (the change stays in memory and is retried).
   */
  async endSession(sessionId: string, reason: SessionEndReason, endedAtMs: number): Promise<void> {
    this.assertLoaded();
    const session = this.byId.get(sessionId);
    if (session && session.endedAt === undefined) {
      session.endedAt = new Date(endedAtMs).toISOString();
      session.endReason = reason;
      this.markDirty();
    }
    await this.flush();
  }

  /**
   * Records a pain event for `muscleGroup` at `atMs` (milliseconds since the epoch) and
   * writes the log at once.
   *
   * @throws the file-system error when the write fails (the event stays in memory and is retried).
   */
  async recordPain(sessionId: string, muscleGroup: MuscleGroup, atMs: number): Promise<void> {
    this.assertLoaded();
    this.doc.pain.push({ at: new Date(atMs).toISOString(), muscleGroup, sessionId });
    this.markDirty();
    await this.flush();
  }

  /** The most recent pain event for `group`, or null. */
  lastPain(group: MuscleGroup): PainEvent | null {
    let last: PainEvent | null = null;
    for (const event of this.doc.pain) {
      if (event.muscleGroup === group && (!last || Date.parse(event.at) >= Date.parse(last.at))) last = event;
    }
    return last ? { ...last } : null;
  }

  /**
   * The last `days` local calendar days up to and including the day of `nowMs`, oldest
   * first, with motor time and pain events per muscle group.
   *
   * @throws RangeError when `days` is not a whole number from 1 to the retention (120).
   */
  history(days: number, nowMs: number): UsageHistory {
    if (!Number.isInteger(days) || days < 1 || days > this.retentionDays) {
      throw new RangeError(`days must be a whole number from 1 to ${this.retentionDays} (got ${days})`);
    }
    const keys: string[] = [];
    let t = nowMs;
    for (let i = 0; i < days; i += 1) {
      keys.unshift(this.clock.dayKey(t));
      t = this.clock.startOfDay(t) - 1;
    }
    const wanted = new Set(keys);
    const table = new Map<string, Record<MuscleGroup, UsageGroupDay>>();
    for (const key of keys) table.set(key, emptyGroups());
    for (const session of this.doc.sessions) {
      for (const [key, seconds] of Object.entries(session.motorSeconds)) {
        const row = table.get(key)?.[session.muscleGroup];
        if (row) row.motorSeconds += seconds;
      }
    }
    const painEvents: PainEvent[] = [];
    for (const event of this.doc.pain) {
      const key = this.clock.dayKey(Date.parse(event.at));
      if (!wanted.has(key)) continue;
      painEvents.push({ ...event });
      const row = table.get(key)?.[event.muscleGroup];
      if (row) row.painEvents += 1;
    }
    painEvents.sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
    const out: UsageDay[] = keys.map((date) => {
      const groups = table.get(date) ?? emptyGroups();
      for (const group of MUSCLE_GROUPS) {
        groups[group].motorSeconds = roundMs(groups[group].motorSeconds);
        groups[group].motorMinutes = Math.round((groups[group].motorSeconds / 60) * 100) / 100;
      }
      return { date, groups };
    });
    return { days: out, painEvents };
  }

  /**
   * The history as CSV (header `date,muscle_group,motor_minutes,pain_events`, one row
   * per day and muscle group that has motor time or pain events, oldest first, minutes
   * with two decimals, `\n` line ends).
   *
   * @throws RangeError as {@link history}.
   */
  toCsv(days: number, nowMs: number): string {
    const lines = ['date,muscle_group,motor_minutes,pain_events'];
    for (const day of this.history(days, nowMs).days) {
      for (const group of MUSCLE_GROUPS) {
        const row = day.groups[group];
        if (row.motorSeconds === 0 && row.painEvents === 0) continue;
        lines.push([day.date, group, (row.motorSeconds / 60).toFixed(2), String(row.painEvents)].map(csvField).join(','));
      }
    }
    return `${lines.join('\n')}\n`;
  }

  /**
   * Forgets every session and pain event and deletes `usage.json` ("delete my data").
   * Note this also resets today's budgets.
   *
   * @throws the file-system error when the file cannot be removed.
   */
  async deleteAll(): Promise<void> {
    this.cancelTimer();
    this.doc = emptyUsage();
    this.byId.clear();
    this.dirty = false;
    await this.file.remove();
  }

  /**
   * Writes pending changes now and waits for any write in flight. Call on session end,
   * stop and quit.
   *
   * @throws the file-system error when the write fails (the changes stay in memory and are retried).
   */
  async flush(): Promise<void> {
    this.cancelTimer();
    if (this.inflight) await this.inflight.catch(() => undefined);
    if (this.dirty) await this.writeNow();
  }

  /** Stops the coalescing timer without writing (tests, or after a final {@link flush}). */
  dispose(): void {
    this.cancelTimer();
  }

  private sessionFor(id: string, muscleGroup: MuscleGroup, startedAtMs: number, routineId?: string): UsageSession {
    const existing = this.byId.get(id);
    if (existing) {
      if (existing.muscleGroup !== muscleGroup) {
        throw new Error(`Session ${id} is for ${existing.muscleGroup}, not ${muscleGroup}`);
      }
      return existing;
    }
    if (!id) throw new Error('A session needs an id');
    const session: UsageSession = {
      id,
      muscleGroup,
      ...(routineId !== undefined ? { routineId } : {}),
      startedAt: new Date(startedAtMs).toISOString(),
      motorSeconds: {},
    };
    this.doc.sessions.push(session);
    this.byId.set(id, session);
    this.markDirty();
    return session;
  }

  private markDirty(): void {
    this.dirty = true;
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.writeNow().catch(() => undefined); // reported as a notice; retried on the next change or flush
    }, this.saveDelayMs);
    this.timer.unref?.();
  }

  private writeNow(): Promise<void> {
    this.dirty = false;
    this.prune(this.now());
    const write = this.file.save(this.doc).catch((error: unknown) => {
      this.dirty = true;
      this.file.emit({
        kind: 'write-failed',
        file: this.file.name,
        path: this.file.path,
        movedTo: null,
        reason: 'io-error',
        detail: error instanceof Error ? error.message : String(error),
        message: `The usage log could not be saved to ${this.file.path}; today's usage is kept in memory and saving is retried.`,
        at: new Date(this.now()).toISOString(),
      });
      throw error;
    });
    this.inflight = write;
    write
      .finally(() => {
        if (this.inflight === write) this.inflight = null;
      })
      .catch(() => undefined);
    return write;
  }

  /** Drops entries older than the retention and beyond the entry cap; returns whether anything changed. */
  private prune(nowMs: number): boolean {
    const cutoffMs = this.clock.startOfDay(nowMs - this.retentionDays * DAY_MS);
    const cutoffKey = this.clock.dayKey(cutoffMs);
    let changed = false;
    const sessions: UsageSession[] = [];
    for (const session of this.doc.sessions) {
      for (const key of Object.keys(session.motorSeconds)) {
        if (key < cutoffKey) {
          delete session.motorSeconds[key];
          changed = true;
        }
      }
      const last = Date.parse(session.endedAt ?? session.startedAt);
      if (Object.keys(session.motorSeconds).length === 0 && last < cutoffMs) {
        changed = true;
        continue;
      }
      sessions.push(session);
    }
    const pain = this.doc.pain.filter((event) => Date.parse(event.at) >= cutoffMs);
    if (pain.length !== this.doc.pain.length) changed = true;
    if (sessions.length > USAGE_MAX_ENTRIES) {
      sessions.splice(0, sessions.length - USAGE_MAX_ENTRIES);
      changed = true;
    }
    if (pain.length > USAGE_MAX_ENTRIES) {
      pain.splice(0, pain.length - USAGE_MAX_ENTRIES);
      changed = true;
    }
    if (changed) {
      this.doc = { version: 1, sessions, pain };
      this.reindex();
    }
    return changed;
  }

  private reindex(): void {
    this.byId.clear();
    for (const session of this.doc.sessions) this.byId.set(session.id, session);
  }

  private cancelTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private assertLoaded(): void {
    if (!this.loaded) throw new Error('UsageLog: call load() before recording usage');
  }
}

/** One part of an interval that lies within one local calendar day. */
export interface DayPart {
  dayKey: string;
  fromMs: number;
  toMs: number;
}

/**
 * Splits `[fromMs, toMs)` (milliseconds since the epoch) at every local midnight of
 * `clock`. Empty for `toMs <= fromMs`. Parts are contiguous and in order.
 */
export function splitAtMidnights(clock: DayClock, fromMs: number, toMs: number): DayPart[] {
  const parts: DayPart[] = [];
  let cursor = fromMs;
  while (cursor < toMs) {
    let boundary = clock.nextMidnight(cursor);
    if (!(boundary > cursor)) boundary = toMs; // a broken clock must not loop forever
    const end = Math.min(toMs, boundary);
    parts.push({ dayKey: clock.dayKey(cursor), fromMs: cursor, toMs: end });
    cursor = end;
  }
  return parts;
}

function emptyGroups(): Record<MuscleGroup, UsageGroupDay> {
  const groups = {} as Record<MuscleGroup, UsageGroupDay>;
  for (const group of MUSCLE_GROUPS) groups[group] = { motorSeconds: 0, motorMinutes: 0, painEvents: 0 };
  return groups;
}

function cloneSession(session: UsageSession): UsageSession {
  return { ...session, motorSeconds: { ...session.motorSeconds } };
}

/** Rounds seconds to millisecond precision so repeated additions stay canonical. */
function roundMs(seconds: number): number {
  return Math.round(seconds * 1000) / 1000;
}

function csvField(value: string): string {
  return /[",\n\r]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}
