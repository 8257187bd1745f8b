/**
 * The usage log, `usage.json` in the data folder: sessions with their motor time, and
 * pain events ("Stop — it hurts").
 *
 * It is what the daily budget is computed from (DESIGN §1: 6 minutes of motor time per
 * muscle group per local calendar day), so it survives restarts, time-zone changes and
 * clock changes: none of them grants a fresh budget.
 *
 * **Motor time** is stored as charges: UTC instants (`from`, `to`) with the UTC offset
 * in force and the motor seconds charged, split at every local midnight. **The day of a
 * budget** (issue 13): a group's budget resets at the *later* of the next local midnight
 * in the zone (offset) of its latest charge and the next local midnight in the current
 * zone; a charge recorded before that reset — a wall clock moved back before the latest
 * charge included — counts in the same day. So travelling or changing the clock grants
 * no new day. See {@link UsageLog.budgetDay}.
 *
 * **Safe-side accounting across a kill** (issue 13, 3d): {@link UsageLog.reserve} puts a
 * reservation of motor time on disk before the motor starts and every second after (the
 * governor asks for it); a load after a crash charges any reservation left in the file;
 * a clean stop releases it ({@link UsageLog.release}).
 *
 * **A lost log** (a corrupt `usage.json`, or a missing one where the settings say one
 * was kept) is recorded as "usage unknown" for every group at the moment it was found,
 * written at once: each group's budget counts as spent for that day, across restarts.
 *
 * Motor time is in seconds; API times are milliseconds since the epoch (`…Ms`); the
 * document holds ISO strings. Writes are coalesced: changes apply in memory at once and
 * are written at most once per `saveDelayMs` (2 s by default); {@link UsageLog.flush}
 * and {@link UsageLog.reserve} write at once. Entries older than `retentionDays` (120)
 * are dropped, and at most {@link USAGE_MAX_ENTRIES} sessions are kept, never dropping
 * one with motor time today or yesterday (see {@link UsageLog.entryLimitRefusal}).
 * Version 1 files (motor seconds per day key, no instants) are migrated on load.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import {
  MUSCLE_GROUPS,
  type BudgetInfo,
  type ErrorCode,
  type MuscleGroup,
  type PainEvent,
  type SessionEndReason,
  type UsageDay,
  type UsageGroupDay,
  type UsageHistory,
} from '../ipc/contract';

/** The history shapes are the contract's (`usage.history` answers them). */
export type { PainEvent, UsageDay, UsageGroupDay, UsageHistory };
import { DAILY_BUDGET_MAX_SECONDS } from '../safety/rules';
import { JsonFile, type NoticeListener, type StoreNotice } from './json-file';

/** A local calendar: which day a time falls in, where days begin, and the UTC offset. Injectable for tests. */
export interface DayClock {
  /** The `YYYY-MM-DD` key of the day containing `ms` (milliseconds since the epoch). */
  dayKey(ms: number): string;
  /** Milliseconds since the epoch of the midnight that starts the day containing `ms` (≤ `ms`). */
  startOfDay(ms: number): number;
  /** Milliseconds since the epoch of the next midnight after `ms` (> `ms`). */
  nextMidnight(ms: number): number;
  /** The UTC offset in force at `ms`, in whole minutes east of UTC (e.g. +120 for UTC+2, -300 for UTC-5). */
  offsetMinutes(ms: number): number;
}

const DAY_MS = 86_400_000;
const MAX_OFFSET_MINUTES = 18 * 60;
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
  offsetMinutes(ms: number): number {
    // Historical local mean times have fractional minutes; the stored offset is whole.
    const offset = -Math.round(new Date(ms).getTimezoneOffset());
    return Math.max(-MAX_OFFSET_MINUTES, Math.min(MAX_OFFSET_MINUTES, offset)) || 0;
  },
});

/** Midnight (ms since the epoch) that starts the day containing `ms` at a fixed UTC offset in minutes. */
function startOfDayAt(ms: number, offsetMinutes: number): number {
  const offsetMs = offsetMinutes * 60_000;
  return Math.floor((ms + offsetMs) / DAY_MS) * DAY_MS - offsetMs;
}

/** The next midnight after `ms` at a fixed UTC offset in minutes. */
function nextMidnightAt(ms: number, offsetMinutes: number): number {
  return startOfDayAt(ms, offsetMinutes) + DAY_MS;
}

/** The `YYYY-MM-DD` key of the day containing `ms` at a fixed UTC offset in minutes. */
function dayKeyAt(ms: number, offsetMinutes: number): string {
  const d = new Date(ms + offsetMinutes * 60_000);
  return `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
}

/**
 * A day clock for a fixed offset from UTC in minutes (e.g. +120 for UTC+2), independent
 * of the process's time zone. For tests and for reasoning about a known zone.
 *
 * @throws RangeError when the offset is not a whole number of minutes within ±18 h.
 */
export function fixedOffsetDayClock(offsetMinutes: number): DayClock {
  if (!Number.isInteger(offsetMinutes) || Math.abs(offsetMinutes) > MAX_OFFSET_MINUTES) {
    throw new RangeError(`offsetMinutes must be a whole number within ±1080 (got ${offsetMinutes})`);
  }
  return Object.freeze({
    dayKey: (ms: number): string => dayKeyAt(ms, offsetMinutes),
    startOfDay: (ms: number): number => startOfDayAt(ms, offsetMinutes),
    nextMidnight: (ms: number): number => nextMidnightAt(ms, offsetMinutes),
    offsetMinutes: (): number => offsetMinutes,
  });
}

/** Motor time charged to a session, as stored: within one local day of its offset. */
export interface UsageCharge {
  /** ISO UTC instant the motor time began. */
  from: string;
  /** ISO UTC instant it ended (≥ `from`). */
  to: string;
  /** The UTC offset in force when it was charged, minutes east of UTC. */
  offsetMinutes: number;
  /** Motor seconds charged (millisecond precision; in demo mode, scaled, so more than the span). */
  seconds: number;
}

/** A reservation as stored: motor seconds beyond the session's charges, counted if the app died. */
export interface UsageReservation {
  /** ISO UTC instant the reserved time starts. */
  at: string;
  offsetMinutes: number;
  /** Motor seconds reserved beyond the charges in the same file. */
  seconds: number;
}

/** One session as stored (version 2). */
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
  /** Motor time, in the order it was charged. */
  charges: UsageCharge[];
  /** Present while the motor may run (see {@link UsageLog.reserve}). */
  reservation?: UsageReservation;
  /**
   * Set on the entries that stand for unknown usage after the log was lost (`corrupt`:
   * found unusable; `missing`: gone though the settings say one was kept). Each charges
   * a full daily budget to its group; not shown in the history.
   */
  unknownUsage?: 'corrupt' | 'missing';
}

/** The usage document as stored. */
export interface UsageDocument {
  version: 2;
  sessions: UsageSession[];
  pain: PainEvent[];
}

const DayKey = z.string().regex(/^\d{4}-\d{2}-\d{2}$/);
const IsoTime = z.string().refine((s) => Number.isFinite(Date.parse(s)), 'not a date');
const Group = z.enum(MUSCLE_GROUPS);
const Offset = z.number().int().min(-MAX_OFFSET_MINUTES).max(MAX_OFFSET_MINUTES);
const Seconds = z.number().finite().nonnegative();
const PainEventSchema = z.object({ at: IsoTime, muscleGroup: Group, sessionId: z.string() });
const SessionBase = {
  id: z.string().min(1),
  muscleGroup: Group,
  routineId: z.string().optional(),
  startedAt: IsoTime,
  endedAt: IsoTime.optional(),
  endReason: z.string().optional(),
};
/** Version 1 (until issue 13): motor seconds per local day key, no instants or offsets. */
const V1File = z.object({
  version: z.literal(1),
  sessions: z.array(z.object({ ...SessionBase, motorSeconds: z.record(DayKey, Seconds) })),
  pain: z.array(PainEventSchema),
});
const V2File = z.object({
  version: z.literal(2),
  sessions: z.array(
    z.object({
      ...SessionBase,
      charges: z.array(z.object({ from: IsoTime, to: IsoTime, offsetMinutes: Offset, seconds: Seconds })),
      reservation: z.object({ at: IsoTime, offsetMinutes: Offset, seconds: Seconds }).optional(),
      unknownUsage: z.enum(['corrupt', 'missing']).optional(),
    }),
  ),
  pain: z.array(PainEventSchema),
});
const UsageFileSchema = z.union([V2File, V1File]);
type UsageFile = z.infer<typeof UsageFileSchema>;
type V1Document = z.infer<typeof V1File>;

/** Returns a fresh, empty usage document. */
export function emptyUsage(): UsageDocument {
  return { version: 2, sessions: [], pain: [] };
}

/** A group's budget day in force at a moment: what {@link UsageLog.budgetDay} returns. */
export interface BudgetDay {
  /** Motor seconds charged to the group's budget day in force (0 once it has reset). */
  usedSeconds: number;
  /** Milliseconds since the epoch when that day's budget resets. */
  resetsAtMs: number;
}

/** Options of {@link UsageLog.load}. */
export interface UsageLoadOptions {
  /**
   * The settings say a usage log was kept in this folder: a missing `usage.json` then
   * means it was deleted, and is treated like a corrupt one (usage unknown, notice).
   */
  expectFile?: boolean;
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
  /** Called with every notice (a corrupt or missing file, a failed write). */
  onNotice?: NoticeListener;
  /** Called after every successful write of `usage.json` (must not throw). */
  onSaved?: () => void;
  /** Wall clock in milliseconds since the epoch, used for pruning and loading. Defaults to `Date.now`. */
  now?: () => number;
}

/** The file name of the usage log. */
export const USAGE_FILE = 'usage.json';
/** Cap on stored sessions and on stored pain events (the newest are kept; see {@link UsageLog.entryLimitRefusal}). */
export const USAGE_MAX_ENTRIES = 10_000;
/** Error code of the refusal when the log is full of entries it may not drop. */
export const USAGE_LOG_FULL_CODE = 'usage-log-full' satisfies ErrorCode;

/** A charge in memory: instants as numbers (whole milliseconds). */
interface Charge {
  fromMs: number;
  toMs: number;
  offsetMinutes: number;
  seconds: number;
}

/** A session in memory. */
interface SessionRecord {
  id: string;
  muscleGroup: MuscleGroup;
  routineId?: string;
  startedAtMs: number;
  endedAtMs?: number;
  endReason?: string;
  charges: Charge[];
  /** The motor seconds of this session the file must cover: its charges at the time, plus the time reserved. */
  reservation?: { coverSeconds: number; atMs: number; offsetMinutes: number };
  unknownUsage?: 'corrupt' | 'missing';
}

/** A group's budget day as folded from its charges, in the order they were charged. */
interface Fold {
  used: number;
  /** The latest reset of the day so far (ms): each charge's next midnight in its own offset, and the rule applied at each later charge. */
  reset: number;
  /** The latest instant charged in the day (exclusive end, ms). */
  latestEndMs: number;
}

/** Last instant a charge covers (its end is exclusive). */
const lastInstant = (c: Charge): number => (c.toMs > c.fromMs ? c.toMs - 1 : c.fromMs);

/**
 * One step of the day rule: adds charge `c` to the day `fold` (null: no day yet).
 * A charge starts a new day when it begins at or after the day's reset, that reset
 * being the later of the day's own and the next midnight after its latest charge in
 * the charge's offset (the "current zone" when it was charged).
 */
function foldCharge(fold: Fold | null, c: Charge, collect?: Charge[]): Fold {
  if (fold) {
    const reset = Math.max(fold.reset, nextMidnightAt(fold.latestEndMs - 1, c.offsetMinutes));
    if (c.fromMs >= reset) {
      fold = null;
      collect?.splice(0);
    } else {
      fold.reset = reset;
    }
  }
  const next = fold ?? { used: 0, reset: -Infinity, latestEndMs: -Infinity };
  next.used += c.seconds;
  next.latestEndMs = Math.max(next.latestEndMs, c.toMs);
  next.reset = Math.max(next.reset, nextMidnightAt(lastInstant(c), c.offsetMinutes));
  collect?.push(c);
  return next;
}

/**
 * The usage log. Call {@link load} once before anything else. Mutations apply in memory
 * at once (so budgets are exact immediately) and are written coalesced.
 */
export class UsageLog {
  private readonly file: JsonFile<UsageFile>;
  private readonly clock: DayClock;
  private readonly saveDelayMs: number;
  private readonly retentionDays: number;
  private readonly now: () => number;
  private readonly onSaved: (() => void) | undefined;
  private sessions: SessionRecord[] = [];
  private pain: PainEvent[] = [];
  private readonly byId = new Map<string, SessionRecord>();
  /** The most recently added session of each group (its charges come last in the fold). */
  private readonly lastOfGroup = new Map<MuscleGroup, SessionRecord>();
  /** Each group's budget day, folded over its charges; absent: to be recomputed. */
  private readonly folds = new Map<MuscleGroup, Fold | null>();
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
    this.onSaved = options.onSaved;
    if (!(this.saveDelayMs >= 0)) throw new RangeError(`saveDelayMs must be ≥ 0 (got ${this.saveDelayMs})`);
    if (!(this.retentionDays >= 1)) throw new RangeError(`retentionDays must be ≥ 1 (got ${this.retentionDays})`);
    this.file = new JsonFile<UsageFile>({
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
   * Reads `usage.json` (version 1 files are migrated) and drops entries past the
   * retention. Never throws for a bad file. An unusable file is moved aside; it, or a
   * missing file where `options.expectFile` says one was kept, is recorded as unknown
   * usage at this moment (each group's budget spent for the day) and written at once,
   * with a `reset` notice. A reservation left by a process that died is charged.
   * While unknown usage from earlier still holds a budget day, a notice says so again.
   *
   * @returns the notices raised (also passed to `onNotice`) and whether the file was
   *   there (`source`: `file`, `missing` or `reset`).
   */
  async load(options: UsageLoadOptions = {}): Promise<{ notices: StoreNotice[]; source: 'file' | 'missing' | 'reset' }> {
    const result = await this.file.load();
    const nowMs = this.now();
    this.adopt(result.value);
    this.loaded = true;
    const notices: StoreNotice[] = [];
    if (result.notice) {
      notices.push(result.notice);
      // at the instant the copy was stamped, so a later load knows this copy is recorded
      const stampMs = Date.parse(result.notice.at);
      this.recordUnknown('corrupt', Number.isFinite(stampMs) ? stampMs : nowMs);
    } else if (result.source === 'missing' && options.expectFile) {
      const notice = this.lostNotice('missing', nowMs, null);
      notices.push(notice);
      this.file.emit(notice);
      this.recordUnknown('missing', nowMs);
    } else {
      // A copy moved aside by a version that did not record unknown usage (or whose
      // record could not be written): record it now, at the moment it was made.
      const copy = await this.recentCorruptCopy(nowMs);
      if (copy && !this.sessions.some((s) => s.unknownUsage && Math.abs(s.startedAtMs - copy.atMs) < 1000)) {
        this.recordUnknown('corrupt', copy.atMs);
      }
      const held = this.unknownInForce(nowMs);
      if (held) {
        const notice = this.lostNotice(held.unknownUsage ?? 'corrupt', held.startedAtMs, copy?.path ?? null);
        notices.push(notice);
        this.file.emit(notice);
      }
    }
    if (this.prune(nowMs)) this.markDirty();
    // Unknown usage, charged reservations and a migration are written at once (a failure is a notice).
    if (this.dirty) await this.flush().catch(() => undefined);
    return { notices, source: result.source };
  }

  /** Takes a loaded document (any version) as the in-memory state; charges reservations a dead process left. */
  private adopt(value: UsageFile): void {
    const migrated = value.version === 1 ? this.migrateV1(value) : null;
    this.sessions = [];
    this.pain = value.pain.map((p) => ({ ...p }));
    let charged = false;
    for (const s of migrated ?? (value as UsageDocument).sessions) {
      const record: SessionRecord = {
        id: s.id,
        muscleGroup: s.muscleGroup,
        ...(s.routineId !== undefined ? { routineId: s.routineId } : {}),
        startedAtMs: Date.parse(s.startedAt),
        ...(s.endedAt !== undefined ? { endedAtMs: Date.parse(s.endedAt) } : {}),
        ...(s.endReason !== undefined ? { endReason: s.endReason } : {}),
        charges: s.charges.map((c) => ({ fromMs: Date.parse(c.from), toMs: Date.parse(c.to), offsetMinutes: c.offsetMinutes, seconds: c.seconds })),
        ...(s.unknownUsage ? { unknownUsage: s.unknownUsage } : {}),
      };
      if (s.reservation && s.reservation.seconds > 0) {
        // The process that made it died (a clean stop releases it): the motor may have
        // run for all of it, so it is charged.
        const atMs = Date.parse(s.reservation.at);
        const clock = fixedOffsetDayClock(s.reservation.offsetMinutes);
        const toMs = atMs + Math.max(1, Math.ceil(s.reservation.seconds * 1000));
        for (const part of splitAtMidnights(clock, atMs, toMs)) {
          record.charges.push({
            fromMs: part.fromMs,
            toMs: part.toMs,
            offsetMinutes: s.reservation.offsetMinutes,
            seconds: roundMs((s.reservation.seconds * (part.toMs - part.fromMs)) / (toMs - atMs)),
          });
        }
        charged = true;
      }
      this.sessions.push(record);
    }
    this.reindex();
    if (migrated || charged) this.markDirty();
  }

  /**
   * Version 1 → 2. A v1 file kept seconds per local day key without instants or
   * offsets: each day's seconds become one charge in that day, in the offset of the
   * current zone on that day (the best guess), ending at the session's end (or the
   * day's end), so the budget day of every group is what it was.
   */
  private migrateV1(doc: V1Document): UsageSession[] {
    // v1 kept no order of charging: sessions in the order they started (a stable sort),
    // so the day rule's "charged later" follows the calendar.
    const sessions = [...doc.sessions].sort((a, b) => Date.parse(a.startedAt) - Date.parse(b.startedAt));
    return sessions.map((s) => {
      const endMs = s.endedAt !== undefined ? Date.parse(s.endedAt) : undefined;
      const charges: UsageCharge[] = Object.entries(s.motorSeconds)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([key, seconds]) => {
          const [y, m, d] = key.split('-').map(Number) as [number, number, number];
          const noonUtc = Date.UTC(y, m - 1, d, 12);
          const offsetMinutes = this.clock.offsetMinutes(noonUtc);
          const dayStart = Date.UTC(y, m - 1, d) - offsetMinutes * 60_000;
          const dayEnd = dayStart + DAY_MS;
          const spanMs = Math.min(DAY_MS, Math.ceil(seconds * 1000));
          const toMs = Math.min(dayEnd, Math.max(dayStart + Math.max(1, spanMs), endMs ?? dayEnd));
          const fromMs = Math.max(dayStart, toMs - spanMs);
          return { from: new Date(fromMs).toISOString(), to: new Date(toMs).toISOString(), offsetMinutes, seconds };
        });
      return {
        id: s.id,
        muscleGroup: s.muscleGroup,
        ...(s.routineId !== undefined ? { routineId: s.routineId } : {}),
        startedAt: s.startedAt,
        ...(s.endedAt !== undefined ? { endedAt: s.endedAt } : {}),
        ...(s.endReason !== undefined ? { endReason: s.endReason } : {}),
        charges,
      };
    });
  }

  /** The newest `usage.json.corrupt-<timestamp>` copy made in the last two days (or later: a clock moved back), or null. */
  private async recentCorruptCopy(nowMs: number): Promise<{ path: string; atMs: number } | null> {
    let entries: string[];
    try {
      entries = await fsp.readdir(this.file.dir);
    } catch {
      return null;
    }
    const prefix = `${this.file.name}.corrupt-`;
    for (const entry of entries.sort().reverse()) {
      if (!entry.startsWith(prefix)) continue;
      // the stamp is an ISO time with ':' and '.' replaced by '-' (JsonFile.moveAside)
      const m = /^(\d{4}-\d{2}-\d{2})T(\d{2})-(\d{2})-(\d{2})-(\d{3})Z(?:-\d+)?$/.exec(entry.slice(prefix.length));
      if (!m) continue;
      const atMs = Date.parse(`${m[1]}T${m[2]}:${m[3]}:${m[4]}.${m[5]}Z`);
      if (!Number.isFinite(atMs) || atMs < nowMs - 2 * DAY_MS) continue;
      return { path: path.join(this.file.dir, entry), atMs };
    }
    return null;
  }

  /** Records unknown usage at `atMs`: a full daily budget charged to every group. */
  private recordUnknown(reason: 'corrupt' | 'missing', atMs: number): void {
    const offsetMinutes = this.clock.offsetMinutes(atMs);
    for (const group of MUSCLE_GROUPS) {
      const record: SessionRecord = {
        id: `unknown-${group}-${atMs}`,
        muscleGroup: group,
        startedAtMs: atMs,
        endedAtMs: atMs,
        charges: [{ fromMs: atMs, toMs: atMs + 1, offsetMinutes, seconds: DAILY_BUDGET_MAX_SECONDS }],
        unknownUsage: reason,
      };
      if (this.byId.has(record.id)) continue;
      this.sessions.push(record);
    }
    this.reindex();
    this.markDirty();
  }

  /** An unknown-usage entry whose budget day still holds at `nowMs`, or null. */
  private unknownInForce(nowMs: number): SessionRecord | null {
    const unknown = this.sessions.filter((s) => s.unknownUsage);
    if (unknown.length === 0) return null;
    for (const group of MUSCLE_GROUPS) {
      const collected: Charge[] = [];
      const fold = this.foldGroup(group, collected);
      if (!fold || nowMs >= this.finalReset(fold, nowMs)) continue;
      const hit = unknown.find((s) => s.muscleGroup === group && s.charges.some((c) => collected.includes(c)));
      if (hit) return hit;
    }
    return null;
  }

  /** The notice for a lost log (told at once, and again while its unknown usage holds a day). */
  private lostNotice(reason: 'corrupt' | 'missing', atMs: number, movedTo: string | null): StoreNotice {
    const when = new Date(atMs).toISOString();
    const what =
      reason === 'missing'
        ? `is missing, though your settings say Unknot kept one in this folder (noticed at ${when})`
        : `was found unusable (at ${when}) and was reset${movedTo ? `; the old copy was kept as ${movedTo}` : ''}`;
    return {
      kind: 'reset',
      file: this.file.name,
      path: this.file.path,
      movedTo,
      reason: reason === 'missing' ? 'missing' : 'corrupt',
      detail: what,
      message: `Your usage log file (${this.file.name}) ${what}.`,
      at: new Date(this.now()).toISOString(),
    };
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
   * so each calendar day gets its own part, each with the UTC offset in force. A session
   * not seen before is created (started at `fromMs`). `timeScale` (demo mode only,
   * default 1) multiplies the charged seconds; the split still follows the wall clock.
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
    const appendsToFold = this.lastOfGroup.get(muscleGroup) === session;
    for (const part of splitAtMidnights(this.clock, fromMs, toMs)) {
      const seconds = roundMs(((part.toMs - part.fromMs) / 1000) * timeScale);
      const piece: Charge = {
        fromMs: Math.floor(part.fromMs),
        toMs: Math.max(Math.floor(part.fromMs) + 1, Math.ceil(part.toMs)),
        // the offset at the part's end decides where its day ends (a DST change earlier that day included)
        offsetMinutes: this.clock.offsetMinutes(part.toMs - 1),
        seconds,
      };
      this.appendCharge(session, piece);
      if (appendsToFold && this.folds.has(muscleGroup)) {
        this.folds.set(muscleGroup, foldCharge(this.folds.get(muscleGroup) ?? null, piece));
      } else {
        this.folds.delete(muscleGroup);
      }
    }
    this.markDirty();
  }

  /** Appends a charge to a session, merging it into the last one when it continues it (same offset and day). */
  private appendCharge(session: SessionRecord, piece: Charge): void {
    const last = session.charges.at(-1);
    if (
      last &&
      last.offsetMinutes === piece.offsetMinutes &&
      piece.fromMs >= last.fromMs &&
      piece.fromMs <= last.toMs + 5000 &&
      dayKeyAt(lastInstant(last), last.offsetMinutes) === dayKeyAt(lastInstant(piece), piece.offsetMinutes)
    ) {
      last.toMs = Math.max(last.toMs, piece.toMs);
      last.seconds = roundMs(last.seconds + piece.seconds);
      return;
    }
    session.charges.push({ ...piece });
  }

  /**
   * The budget day of `group` in force at `nowMs` (the day rule in the module comment):
   * the motor seconds charged to it, and when it resets — the later of the reset of
   * its charges (each one's next midnight in its own offset) and the next midnight
   * after its latest charge in the offset in force at `nowMs`. Once that moment has
   * passed, `usedSeconds` is 0 and the reset is the next local midnight.
   */
  budgetDay(group: MuscleGroup, nowMs: number): BudgetDay {
    const fold = this.foldGroup(group);
    if (fold) {
      const resetsAtMs = this.finalReset(fold, nowMs);
      if (nowMs < resetsAtMs) return { usedSeconds: roundMs(fold.used), resetsAtMs };
    }
    return { usedSeconds: 0, resetsAtMs: this.clock.nextMidnight(nowMs) };
  }

  /** The reset of a folded day as seen at `nowMs`: the rule applied with the offset in force now. */
  private finalReset(fold: Fold, nowMs: number): number {
    return Math.max(fold.reset, nextMidnightAt(fold.latestEndMs - 1, this.clock.offsetMinutes(nowMs)));
  }

  /** The group's folded budget day (cached); `collect` receives the charges of the last day. */
  private foldGroup(group: MuscleGroup, collect?: Charge[]): Fold | null {
    if (!collect && this.folds.has(group)) return this.folds.get(group) ?? null;
    let fold: Fold | null = null;
    for (const session of this.sessions) {
      if (session.muscleGroup !== group) continue;
      for (const charge of session.charges) fold = foldCharge(fold, charge, collect);
    }
    // a fresh copy in the cache: later charges fold into it
    this.folds.set(group, fold ? { ...fold } : null);
    return fold;
  }

  /**
   * Motor-on seconds charged to `group` on the local day `dayKey` (`YYYY-MM-DD`), each
   * charge counted on its day in its own recorded offset. For the history; the budget
   * is {@link budgetDay}.
   */
  usedSeconds(group: MuscleGroup, dayKey: string): number {
    let total = 0;
    for (const session of this.sessions) {
      if (session.muscleGroup !== group || session.unknownUsage) continue;
      for (const c of session.charges) if (dayKeyAt(lastInstant(c), c.offsetMinutes) === dayKey) total += c.seconds;
    }
    return roundMs(total);
  }

  /**
   * The budget of `group` at `nowMs`: used and remaining seconds of its budget day in
   * force (remaining never below 0) and `resetsAt` (ISO), when that day's budget resets.
   *
   * @throws RangeError when `budgetSeconds` is negative or not finite.
   */
  remaining(group: MuscleGroup, budgetSeconds: number, nowMs: number): BudgetInfo {
    if (!Number.isFinite(budgetSeconds) || budgetSeconds < 0) {
      throw new RangeError(`budgetSeconds must be a finite number ≥ 0 (got ${budgetSeconds})`);
    }
    const day = this.budgetDay(group, nowMs);
    return {
      muscleGroup: group,
      usedSeconds: day.usedSeconds,
      budgetSeconds,
      remainingSeconds: roundMs(Math.max(0, budgetSeconds - day.usedSeconds)),
      resetsAt: new Date(day.resetsAtMs).toISOString(),
    };
  }

  /** {@link remaining} for every muscle group, in body-map order (the `usage.today` reply). */
  budgets(budgetSeconds: number, nowMs: number): BudgetInfo[] {
    return MUSCLE_GROUPS.map((group) => this.remaining(group, budgetSeconds, nowMs));
  }

  /**
   * Why no new session may start, or null: when the sessions the log may not drop (motor
   * time today or yesterday in any recorded offset, a budget day in force, a
   * reservation) reach {@link USAGE_MAX_ENTRIES}, new sessions are refused rather than
   * older ones pruned (pruning them could reset a budget).
   */
  entryLimitRefusal(nowMs: number): { code: ErrorCode; message: string } | null {
    if (this.sessions.length < USAGE_MAX_ENTRIES) return null;
    if (this.protectedSessions(nowMs).size < USAGE_MAX_ENTRIES) return null;
    return {
      code: USAGE_LOG_FULL_CODE,
      message: `Unknot's usage log holds ${USAGE_MAX_ENTRIES.toLocaleString('en')} sessions from today and yesterday, as many as it keeps. No new session can start until older ones can be dropped, tomorrow.`,
    };
  }

  /**
   * Puts a reservation on disk for a session whose motor is about to run or runs: the
   * file then covers the session's motor seconds charged so far plus `aheadSeconds`
   * (replacing the previous reservation). If the process dies, the next load charges
   * what was reserved. Resolves once that is on disk.
   *
   * @throws RangeError when `aheadSeconds` is negative or not finite.
   * @throws Error when the session belongs to another muscle group.
   * @throws the file-system error when the write fails (the reservation stays in memory).
   */
  async reserve(sessionId: string, muscleGroup: MuscleGroup, aheadSeconds: number, atMs: number): Promise<void> {
    this.assertLoaded();
    if (!Number.isFinite(aheadSeconds) || aheadSeconds < 0) {
      throw new RangeError(`reserve: aheadSeconds must be a finite number ≥ 0 (got ${aheadSeconds})`);
    }
    const session = this.sessionFor(sessionId, muscleGroup, atMs);
    session.reservation = {
      coverSeconds: chargedSeconds(session) + aheadSeconds,
      atMs: Math.floor(atMs),
      offsetMinutes: this.clock.offsetMinutes(atMs),
    };
    this.markDirty();
    await this.flush();
  }

  /** Drops a session's reservation (a clean stop: the motor is off and its time charged); written coalesced. */
  release(sessionId: string): void {
    const session = this.byId.get(sessionId);
    if (!session?.reservation) return;
    delete session.reservation;
    this.markDirty();
  }

  /** A copy of a session as stored (its reservation as it would be written now), or null if unknown. */
  session(sessionId: string): UsageSession | null {
    const session = this.byId.get(sessionId);
    return session ? toStored(session) : null;
  }

  /**
   * A copy of the most recently started session of `group` (ended or not; unknown-usage
   * entries excluded), or null. E.g. whether it ended with `hurt`, to suggest a gentler
   * intensity next time.
   */
  latestSession(group: MuscleGroup): UsageSession | null {
    let latest: SessionRecord | null = null;
    for (const session of this.sessions) {
      if (session.muscleGroup !== group || session.unknownUsage) continue;
      if (!latest || session.startedAtMs >= latest.startedAtMs) latest = session;
    }
    return latest ? toStored(latest) : null;
  }

  /** Total motor-on seconds charged to a session (0 if unknown). */
  sessionSeconds(sessionId: string): number {
    const session = this.byId.get(sessionId);
    return session ? roundMs(chargedSeconds(session)) : 0;
  }

  /**
   * Marks a session ended at `endedAtMs` (milliseconds since the epoch) with `reason`,
   * then writes the log at once. An unknown session id is ignored (still flushes).
   * Its reservation stays until {@link release} (the stop may still be unconfirmed).
   *
   * @throws the file-system error when the write fails (the change stays in memory and is retried).
   */
  async endSession(sessionId: string, reason: SessionEndReason, endedAtMs: number): Promise<void> {
    this.assertLoaded();
    const session = this.byId.get(sessionId);
    if (session && session.endedAtMs === undefined) {
      session.endedAtMs = endedAtMs;
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
    this.pain.push({ at: new Date(atMs).toISOString(), muscleGroup, sessionId });
    this.markDirty();
    await this.flush();
  }

  /** The most recent pain event for `group`, or null. */
  lastPain(group: MuscleGroup): PainEvent | null {
    let last: PainEvent | null = null;
    for (const event of this.pain) {
      if (event.muscleGroup === group && (!last || Date.parse(event.at) >= Date.parse(last.at))) last = event;
    }
    return last ? { ...last } : null;
  }

  /**
   * The last `days` local calendar days up to and including the day of `nowMs`, oldest
   * first, with motor time (each charge on its day in its recorded offset; unknown
   * usage is not shown) and pain events per muscle group.
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
    for (const session of this.sessions) {
      if (session.unknownUsage) continue;
      for (const c of session.charges) {
        const row = table.get(dayKeyAt(lastInstant(c), c.offsetMinutes))?.[session.muscleGroup];
        if (row) row.motorSeconds += c.seconds;
      }
    }
    const painEvents: PainEvent[] = [];
    for (const event of this.pain) {
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
   * With `keepBudgetsAt` (ms since the epoch), the charges of every group's budget day
   * in force at that moment are kept, as one unnamed entry per group (unknown usage
   * stays unknown usage), and written at once: deleting the history is no way around
   * the daily limit. Without it, today's budgets reset too.
   *
   * @throws the file-system error when the file cannot be removed or the kept entries written.
   */
  async deleteAll(options: { keepBudgetsAt?: number } = {}): Promise<void> {
    const kept: SessionRecord[] = [];
    const at = options.keepBudgetsAt;
    if (at !== undefined) {
      for (const group of MUSCLE_GROUPS) {
        const charges: Charge[] = [];
        const fold = this.foldGroup(group, charges);
        if (!fold || at >= this.finalReset(fold, at) || charges.length === 0) continue;
        const unknown = this.sessions.find((s) => s.muscleGroup === group && s.unknownUsage && s.charges.some((c) => charges.includes(c)));
        kept.push({
          id: `kept-${group}-${Math.floor(at)}`,
          muscleGroup: group,
          startedAtMs: Math.min(...charges.map((c) => c.fromMs)),
          endedAtMs: Math.floor(at),
          charges: charges.map((c) => ({ ...c })),
          ...(unknown?.unknownUsage ? { unknownUsage: unknown.unknownUsage } : {}),
        });
      }
    }
    this.cancelTimer();
    this.sessions = [];
    this.pain = [];
    this.reindex();
    this.dirty = false;
    await this.file.remove();
    if (kept.length > 0) {
      this.sessions = kept;
      this.reindex();
      this.markDirty();
      await this.flush();
    }
  }

  /**
   * Writes pending changes now and waits for any write in flight (also one another
   * caller started). Call on session end, stop and quit.
   *
   * @throws the file-system error when the write fails (the changes stay in memory and are retried).
   */
  async flush(): Promise<void> {
    this.cancelTimer();
    while (this.inflight) await this.inflight.catch(() => undefined);
    if (this.dirty) await this.writeNow();
  }

  /** Stops the coalescing timer without writing (tests, or after a final {@link flush}). */
  dispose(): void {
    this.cancelTimer();
  }

  private sessionFor(id: string, muscleGroup: MuscleGroup, startedAtMs: number, routineId?: string): SessionRecord {
    const existing = this.byId.get(id);
    if (existing) {
      if (existing.muscleGroup !== muscleGroup) {
        throw new Error(`Session ${id} is for ${existing.muscleGroup}, not ${muscleGroup}`);
      }
      return existing;
    }
    if (!id) throw new Error('A session needs an id');
    const session: SessionRecord = {
      id,
      muscleGroup,
      ...(routineId !== undefined ? { routineId } : {}),
      startedAtMs,
      charges: [],
    };
    this.sessions.push(session);
    this.byId.set(id, session);
    this.lastOfGroup.set(muscleGroup, session);
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
    const doc: UsageDocument = { version: 2, sessions: this.sessions.map(toStored), pain: this.pain.map((p) => ({ ...p })) };
    const write = this.file.save(doc).then(
      () => {
        try {
          this.onSaved?.();
        } catch {
          // a listener must not break the store
        }
      },
      (error: unknown) => {
        this.dirty = true;
        this.file.writeFailed(error, `The usage log could not be saved to ${this.file.path}; today's usage is kept in memory and saving is retried.`);
        throw error;
      },
    );
    this.inflight = write;
    write
      .finally(() => {
        if (this.inflight === write) this.inflight = null;
      })
      .catch(() => undefined);
    return write;
  }

  /**
   * The sessions pruning may not drop: motor time today or yesterday in any recorded
   * offset (or later: a clock moved back), a budget day in force, a reservation, or
   * started in the last day and not ended.
   */
  private protectedSessions(nowMs: number): Set<SessionRecord> {
    const offsets = new Set<number>([this.clock.offsetMinutes(nowMs)]);
    for (const s of this.sessions) for (const c of s.charges) offsets.add(c.offsetMinutes);
    let since = Infinity;
    for (const o of offsets) since = Math.min(since, startOfDayAt(nowMs, o) - DAY_MS);
    const kept = new Set<SessionRecord>();
    for (const s of this.sessions) {
      if (s.reservation || s.charges.some((c) => c.toMs > since) || (s.endedAtMs === undefined && s.startedAtMs > nowMs - DAY_MS)) {
        kept.add(s);
      }
    }
    for (const group of MUSCLE_GROUPS) {
      const charges: Charge[] = [];
      const fold = this.foldGroup(group, charges);
      if (!fold || nowMs >= this.finalReset(fold, nowMs)) continue;
      const inDay = new Set(charges);
      for (const s of this.sessions) if (s.muscleGroup === group && s.charges.some((c) => inDay.has(c))) kept.add(s);
    }
    return kept;
  }

  /**
   * Drops charges and sessions older than the retention and the oldest sessions beyond
   * {@link USAGE_MAX_ENTRIES}, never a protected one ({@link protectedSessions}); returns
   * whether anything changed.
   */
  private prune(nowMs: number): boolean {
    const cutoffMs = this.clock.startOfDay(nowMs - this.retentionDays * DAY_MS);
    const hasOld = this.sessions.some((s) => s.charges.some((c) => c.toMs <= cutoffMs) || (s.charges.length === 0 && (s.endedAtMs ?? s.startedAtMs) < cutoffMs));
    const tooMany = this.sessions.length > USAGE_MAX_ENTRIES;
    let changed = false;
    if (hasOld || tooMany) {
      const keep = this.protectedSessions(nowMs);
      let sessions: SessionRecord[] = [];
      for (const session of this.sessions) {
        if (!keep.has(session)) {
          const before = session.charges.length;
          session.charges = session.charges.filter((c) => c.toMs > cutoffMs);
          if (session.charges.length !== before) changed = true;
          if (session.charges.length === 0 && (session.endedAtMs ?? session.startedAtMs) < cutoffMs) {
            changed = true;
            continue;
          }
        }
        sessions.push(session);
      }
      if (sessions.length > USAGE_MAX_ENTRIES) {
        let excess = sessions.length - USAGE_MAX_ENTRIES;
        sessions = sessions.filter((s) => {
          if (excess > 0 && !keep.has(s)) {
            excess -= 1;
            return false;
          }
          return true;
        });
        changed = true;
      }
      if (changed) this.sessions = sessions;
    }
    const pain = this.pain.filter((event) => Date.parse(event.at) >= cutoffMs);
    if (pain.length > USAGE_MAX_ENTRIES) pain.splice(0, pain.length - USAGE_MAX_ENTRIES);
    if (pain.length !== this.pain.length) {
      this.pain = pain;
      changed = true;
    }
    if (changed) this.reindex();
    return changed;
  }

  private reindex(): void {
    this.byId.clear();
    this.lastOfGroup.clear();
    this.folds.clear();
    for (const session of this.sessions) {
      this.byId.set(session.id, session);
      this.lastOfGroup.set(session.muscleGroup, session);
    }
  }

  private cancelTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private assertLoaded(): void {
    if (!this.loaded) throw new Error('UsageLog: call load() before recording usage');
  }
}

/** Motor seconds charged to a session (not rounded). */
function chargedSeconds(session: SessionRecord): number {
  let total = 0;
  for (const c of session.charges) total += c.seconds;
  return total;
}

/** The stored form of a session; its reservation as the seconds beyond its charges now. */
function toStored(session: SessionRecord): UsageSession {
  const stored: UsageSession = {
    id: session.id,
    muscleGroup: session.muscleGroup,
    ...(session.routineId !== undefined ? { routineId: session.routineId } : {}),
    startedAt: new Date(session.startedAtMs).toISOString(),
    ...(session.endedAtMs !== undefined ? { endedAt: new Date(session.endedAtMs).toISOString() } : {}),
    ...(session.endReason !== undefined ? { endReason: session.endReason } : {}),
    charges: session.charges.map((c) => ({
      from: new Date(c.fromMs).toISOString(),
      to: new Date(c.toMs).toISOString(),
      offsetMinutes: c.offsetMinutes,
      seconds: c.seconds,
    })),
    ...(session.unknownUsage ? { unknownUsage: session.unknownUsage } : {}),
  };
  const r = session.reservation;
  if (r) {
    const seconds = roundMs(Math.max(0, r.coverSeconds - chargedSeconds(session)));
    if (seconds > 0) {
      // the reserved time follows the last charge (or the moment it was made, if later)
      const lastEnd = session.charges.at(-1)?.toMs ?? r.atMs;
      stored.reservation = { at: new Date(Math.max(r.atMs, lastEnd)).toISOString(), offsetMinutes: r.offsetMinutes, seconds };
    }
  }
  return stored;
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

/** Rounds seconds to millisecond precision so repeated additions stay canonical. */
function roundMs(seconds: number): number {
  return Math.round(seconds * 1000) / 1000;
}

function csvField(value: string): string {
  return /[",\n\r]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}
