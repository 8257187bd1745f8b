/**
 * A massager's recent traffic, so a user can report a device that misbehaves (issue 17,
 * part 5): every write the app made to it, every notification it sent and the link's
 * events, kept in memory per peripheral while the app runs — across reconnects and across
 * switching to another device and back — for the last {@link TRAFFIC_WINDOW_MS} and at
 * most {@link TRAFFIC_MAX_ENTRIES} entries per device, the oldest going first.
 *
 * The device link taps it at the one place every write and notification passes
 * (`link.ts`), through a {@link TrafficTap}: recording never delays a write, above all a
 * stop. The tap only pushes the record on an array; what the log does with it runs later,
 * on a timer of its own, outside the write path, and a recorder that throws or is slow
 * costs the link nothing but that timer's turn.
 */
import { toPlainHex } from '../../protocols/bytes';
import type { TrafficEntry } from '../ipc/contract';
import type { Clock, TimeoutClock } from '../lib/clock';

/** How far back a device's traffic is kept, milliseconds (5 minutes). */
export const TRAFFIC_WINDOW_MS = 5 * 60_000;
/** How many entries a device's traffic keeps at most; past it the oldest go first. */
export const TRAFFIC_MAX_ENTRIES = 5000;
/**
 * How many bytes of one write or notification an entry keeps (its hex holds these, and
 * `fullLength` says how long it was): with {@link TRAFFIC_MAX_ENTRIES}, a device's traffic
 * holds at most about 2.5 MB of hex, and a capture stays well under the browser host's
 * 8 MB limit for one window's backlog.
 */
export const TRAFFIC_MAX_RECORDED_BYTES = 256;

/**
 * What an entry keeps of a write's or a notification's `bytes`: the hex (lowercase, no
 * spaces) of at most the first {@link TRAFFIC_MAX_RECORDED_BYTES}, and `fullLength` (bytes)
 * when there were more.
 */
export function recordedBytes(bytes: Uint8Array): { hex: string; fullLength?: number } {
  if (bytes.length <= TRAFFIC_MAX_RECORDED_BYTES) return { hex: toPlainHex(bytes) };
  return { hex: toPlainHex(bytes.subarray(0, TRAFFIC_MAX_RECORDED_BYTES)), fullLength: bytes.length };
}

type WithoutStamp<T> = T extends unknown ? Omit<T, 't' | 'at'> : never;

/**
 * An entry as the link hands it: a {@link TrafficEntry} without its stamps, with `atMs`,
 * when it happened on the link's monotonic clock (milliseconds; the log's clock must be
 * the same one).
 */
export type TrafficRecord = WithoutStamp<TrafficEntry> & { atMs: number };

/** Where a link's traffic goes. `record` may throw or be slow: the link never waits for it (see {@link TrafficTap}). */
export interface TrafficSink {
  record(record: TrafficRecord): void;
}

/**
 * The link's side: {@link record} pushes a record on a pending list and returns; the
 * list is handed to the sink on the next turn of the clock's timers (a 0 ms timeout),
 * each record in its own try, so a sink that throws loses only that record. At most
 * {@link TRAFFIC_MAX_ENTRIES} records wait; past that the oldest waiting one is dropped.
 */
export class TrafficTap {
  private pending: TrafficRecord[] = [];
  private timer: unknown = null;

  constructor(
    private readonly sink: TrafficSink,
    private readonly clock: TimeoutClock,
  ) {}

  /** Notes one record (never throws, never waits). */
  record(record: TrafficRecord): void {
    try {
      if (this.pending.length >= TRAFFIC_MAX_ENTRIES) this.pending.shift();
      this.pending.push(record);
      if (this.timer === null) this.timer = this.clock.setTimeout(() => this.flush(), 0);
    } catch {
      /* recording must never disturb the link */
    }
  }

  /** Hands every pending record to the sink now (the timer does it by itself). */
  flush(): void {
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
    const batch = this.pending;
    this.pending = [];
    for (const r of batch) {
      try {
        this.sink.record(r);
      } catch {
        /* a failing recorder loses that record, nothing else */
      }
    }
  }
}

/**
 * One device's entries: a ring of at most {@link TRAFFIC_MAX_ENTRIES}, oldest first, from
 * which entries older than {@link TRAFFIC_WINDOW_MS} are dropped as new ones come and as
 * it is read.
 */
export class TrafficRing {
  private readonly slots: (TrafficEntry | undefined)[];
  private head = 0;
  private size = 0;

  /** `capacity`: entries kept at most (default {@link TRAFFIC_MAX_ENTRIES}); `windowMs`: how far back (default {@link TRAFFIC_WINDOW_MS}). */
  constructor(
    readonly capacity = TRAFFIC_MAX_ENTRIES,
    readonly windowMs = TRAFFIC_WINDOW_MS,
  ) {
    if (!(Number.isInteger(capacity) && capacity > 0)) throw new RangeError(`capacity must be a positive integer (got ${capacity})`);
    this.slots = new Array<TrafficEntry | undefined>(capacity);
  }

  /** Number of entries held (before any pruning by time). */
  get length(): number {
    return this.size;
  }

  /** Adds an entry (its `t` no earlier than the previous one's); the oldest goes when full. `nowT`: the current time on the entries' `t` scale, ms. */
  push(entry: TrafficEntry, nowT = entry.t): void {
    if (this.size === this.capacity) {
      this.slots[this.head] = entry;
      this.head = (this.head + 1) % this.capacity;
    } else {
      this.slots[(this.head + this.size) % this.capacity] = entry;
      this.size += 1;
    }
    this.prune(nowT);
  }

  /** Drops the entries older than the window at `nowT` (ms, the entries' `t` scale). */
  prune(nowT: number): void {
    const oldest = nowT - this.windowMs;
    while (this.size > 0) {
      const e = this.slots[this.head] as TrafficEntry;
      if (e.t >= oldest) break;
      this.slots[this.head] = undefined;
      this.head = (this.head + 1) % this.capacity;
      this.size -= 1;
    }
  }

  /** The entries, oldest first; `last` only the latest that many. */
  toArray(last = this.size): TrafficEntry[] {
    const n = Math.max(0, Math.min(last, this.size));
    const out: TrafficEntry[] = [];
    for (let i = this.size - n; i < this.size; i++) out.push(this.slots[(this.head + i) % this.capacity] as TrafficEntry);
    return out;
  }
}

/**
 * Every device's traffic while the app runs (memory only), keyed by peripheral id. `t` of
 * its entries counts from the log's creation on `clock.now()`; `at` is `clock.wallNow()`
 * at the moment the entry happened.
 */
export class TrafficLog {
  private readonly rings = new Map<string, TrafficRing>();
  private readonly listeners = new Set<(peripheralId: string, entry: TrafficEntry) => void>();
  private readonly t0: number;

  constructor(
    private readonly clock: Pick<Clock, 'now' | 'wallNow'>,
    private readonly limits: { capacity?: number; windowMs?: number } = {},
  ) {
    this.t0 = clock.now();
  }

  /** The sink a link to `peripheralId` records into (the same ring for every connection to it). */
  sinkFor(peripheralId: string): TrafficSink {
    return { record: (r) => this.add(peripheralId, r) };
  }

  /** Whether `peripheralId` has a buffer (it was connected while the app runs). */
  has(peripheralId: string): boolean {
    return this.rings.has(peripheralId);
  }

  /** Makes the buffer of `peripheralId` (empty) if it has none yet. */
  open(peripheralId: string): void {
    this.ring(peripheralId);
  }

  /** The entries of `peripheralId` within the window, oldest first (`last`: only the latest that many); empty without a buffer. */
  entries(peripheralId: string, last?: number): TrafficEntry[] {
    const ring = this.rings.get(peripheralId);
    if (!ring) return [];
    ring.prune(this.nowT());
    return ring.toArray(last);
  }

  /** Calls `listener` with each entry as it is added; returns the unsubscribe function. */
  onEntry(listener: (peripheralId: string, entry: TrafficEntry) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Adds one record of `peripheralId` (stamped from its `atMs`). */
  add(peripheralId: string, record: TrafficRecord): TrafficEntry {
    const { atMs, ...rest } = record;
    const now = this.clock.now();
    const entry = {
      ...rest,
      t: Math.round(atMs - this.t0),
      at: new Date(this.clock.wallNow() - Math.max(0, now - atMs)).toISOString(),
    } as TrafficEntry;
    this.ring(peripheralId).push(entry, this.nowT());
    for (const l of this.listeners) {
      try {
        l(peripheralId, entry);
      } catch {
        /* a listener's failure is its own */
      }
    }
    return entry;
  }

  private nowT(): number {
    return Math.round(this.clock.now() - this.t0);
  }

  private ring(peripheralId: string): TrafficRing {
    let ring = this.rings.get(peripheralId);
    if (!ring) this.rings.set(peripheralId, (ring = new TrafficRing(this.limits.capacity, this.limits.windowMs)));
    return ring;
  }
}
