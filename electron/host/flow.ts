/**
 * Flow control of the browser host (docs/bridge.md, "Floods and slow clients"): what
 * keeps one WebSocket client from delaying stops or growing the host without bound.
 * The server (`./server`) owns the sockets; this module holds the limits and the
 * per-connection bookkeeping.
 *
 * - **Reading in turns.** A connection's messages are parsed and answered at most
 *   {@link FLOW_LIMITS.messagesPerTurn} per pass of the event loop; the rest of what was
 *   read waits and reading pauses until it is done, so every socket is read in between.
 * - **Stops first.** Each message is searched for the names `device.stop` and
 *   `session.hurt` as it is read: a stop runs at once (at most
 *   {@link FLOW_LIMITS.stopsPerTurn} per pass; one at a time per connection and channel,
 *   later ones sharing the next), and refuses the motion requests its own connection
 *   sent before it that have not run yet. `session.heartbeat` never waits in the queue.
 * - **Queue and turns.** Every other request waits in its connection's queue (at most
 *   {@link FLOW_LIMITS.maxQueued}; past that it is refused with `rate-limited` at once),
 *   served round robin, at most {@link FLOW_LIMITS.turnRequests} requests or
 *   {@link FLOW_LIMITS.turnMs} ms per turn, at most {@link FLOW_LIMITS.maxInFlight} of
 *   one connection at once.
 * - **Rate limits.** Requests that write the store, read the history or start a scan
 *   are limited per connection by a token bucket ({@link RATE_LIMITS}); one over its
 *   rate is refused with `rate-limited` before it runs. (The store also coalesces its
 *   disk writes: a write waiting behind the one in flight is replaced by the newest.)
 * - **Slow readers.** While a connection's outgoing buffer is above
 *   {@link FLOW_LIMITS.pauseAboveBytes}, it is not read and its queue is not served, and
 *   its state events are held, the latest per event name, until the buffer has drained
 *   below {@link FLOW_LIMITS.resumeBelowBytes}. Past {@link FLOW_LIMITS.closeAboveBytes}
 *   the connection is dropped (like any lost connection, that stops a session it owned).
 */
import { performance } from 'node:perf_hooks';
import type { EventChannel, RequestChannel } from '../ipc/contract';

/** Sizes in bytes, times in milliseconds. */
export const FLOW_LIMITS = Object.freeze({
  /** Outgoing buffer above which a connection's requests are no longer read and its state events are held. */
  pauseAboveBytes: 1024 * 1024,
  /** Outgoing buffer below which a paused connection is read again. */
  resumeBelowBytes: 256 * 1024,
  /** Outgoing buffer above which the connection is dropped. */
  closeAboveBytes: 8 * 1024 * 1024,
  /** Requests of one connection waiting to run; one more is refused with `rate-limited`. */
  maxQueued: 100,
  /** Requests of one connection running at once. */
  maxInFlight: 8,
  /** Requests started per dispatcher turn, all connections together. */
  turnRequests: 16,
  /** Longest dispatcher turn, ms, before it yields to the event loop. */
  turnMs: 1,
  /** Messages of one connection parsed and answered per pass of the event loop; the rest wait (and reading pauses). */
  messagesPerTurn: 32,
  /** Stops of one connection taken out of turn, as they are read, per pass of the event loop. */
  stopsPerTurn: 8,
  /** How often a paused connection's outgoing buffer is checked, ms (besides the socket's drain event). */
  drainCheckMs: 100,
});

/** Channels that never wait in the dispatcher's queue. */
export const PRIORITY_CHANNELS: ReadonlySet<string> = new Set(['device.stop', 'session.hurt', 'session.heartbeat'] satisfies RequestChannel[]);

/** Priority channels that stop the motor. */
export const STOP_CHANNELS: ReadonlySet<string> = new Set(['device.stop', 'session.hurt'] satisfies RequestChannel[]);

/** Requests that could start or raise motion: refused, not run, when a later stop from the same connection overtook them. */
export const MOTION_CHANNELS: ReadonlySet<string> = new Set(['session.start', 'session.resume', 'session.setStep', 'device.setHeat', 'stopCheck.run'] satisfies RequestChannel[]);

/**
 * Events that describe a state (each one replaces the one before): while a connection
 * is backed up only the latest of each is kept. Other events (`session.ended`,
 * `safety.warning`, `store.notice`) are always sent, in order.
 */
export const STATE_EVENTS: ReadonlySet<string> = new Set([
  'adapter.state',
  'scan.results',
  'device.status',
  'session.state',
  'sim.state',
  'safety.clamped',
  'lab.state',
  // a device's traffic batches: a backed-up window gets the latest batch only (device.traffic answers the rest)
  'device.traffic',
] satisfies EventChannel[]);

/** A token bucket's shape: `burst` requests at once, refilled at `perSecond`. */
export interface RateLimit {
  /** Requests sharing one bucket per connection share this name. */
  bucket: string;
  burst: number;
  perSecond: number;
}

/** Per-connection limits of the expensive channels: store writes, history reads, starting a scan, the lab's connects, reads and captures, the draft's checks and tries. */
/** Per-connection limits of the expensive channels: store writes, history reads, starting a scan, the lab's connects, reads and captures, a device's traffic and capture. */
export const RATE_LIMITS: Readonly<Record<string, RateLimit>> = Object.freeze({
  'settings.set': { bucket: 'store', burst: 40, perSecond: 20 },
  'screening.set': { bucket: 'store', burst: 40, perSecond: 20 },
  'data.delete': { bucket: 'store', burst: 40, perSecond: 20 },
  'usage.history': { bucket: 'history', burst: 10, perSecond: 5 },
  'scan.start': { bucket: 'radio', burst: 10, perSecond: 5 },
  'profiles.reload': { bucket: 'store', burst: 40, perSecond: 20 },
  'profiles.import': { bucket: 'store', burst: 40, perSecond: 20 },
  // the lab's radio work: a connect, a read or a capture (up to 5000 lines) each costs the radio or a large reply
  'lab.connect': { bucket: 'radio', burst: 10, perSecond: 5 },
  'lab.read': { bucket: 'lab', burst: 20, perSecond: 10 },
  'lab.capture': { bucket: 'history', burst: 10, perSecond: 5 },
  // a draft is checked as the user types (a parse of up to 48 KB each); a try connects a device
  'draft.check': { bucket: 'draft', burst: 20, perSecond: 10 },
  'draft.template': { bucket: 'lab', burst: 20, perSecond: 10 },
  'draft.try': { bucket: 'radio', burst: 10, perSecond: 5 },
  // a device's traffic: a capture (up to 5000 entries) is a large reply, like the lab's
  'device.capture': { bucket: 'history', burst: 10, perSecond: 5 },
  'device.traffic': { bucket: 'traffic', burst: 20, perSecond: 10 },
} satisfies Partial<Record<RequestChannel, RateLimit>>);

/** A request envelope as read from the socket. */
export interface FlowRequest {
  id: string | number;
  channel: string;
  payload: unknown;
}

/** The refusal a request gets when its connection sent too much. */
export function rateLimited(channel: string, why: 'queue' | 'rate'): { ok: false; error: { code: 'rate-limited'; message: string } } {
  return {
    ok: false,
    error: {
      code: 'rate-limited',
      message:
        why === 'queue'
          ? `Too many requests at once from this window; "${channel.slice(0, 60)}" was not run. Try again in a moment.`
          : `Too many "${channel.slice(0, 60)}" requests from this window in a short time; this one was not run. Try again in a moment.`,
    },
  };
}

/** The refusal of a motion request that a later stop from the same connection overtook. */
export function overtakenByStop(channel: string): { ok: false; error: { code: 'refused'; message: string } } {
  return { ok: false, error: { code: 'refused', message: `A stop sent after this "${channel}" came first, so it was not run.` } };
}

/** A token bucket; `now` is a monotonic clock in ms. */
export class TokenBucket {
  private tokens: number;
  private at: number;

  constructor(
    private readonly limit: Pick<RateLimit, 'burst' | 'perSecond'>,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.tokens = limit.burst;
    this.at = now();
  }

  /** Takes one token; false (and nothing taken) when none is left. */
  take(): boolean {
    const t = this.now();
    this.tokens = Math.min(this.limit.burst, this.tokens + ((t - this.at) / 1000) * this.limit.perSecond);
    this.at = t;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

/**
 * One connection's side of the flow: its queue, what it has running, its rate limits
 * and whether it is backed up. The server owns the socket; the lane only decides.
 */
export class Lane {
  readonly queue: FlowRequest[] = [];
  inFlight = 0;
  /** Its outgoing buffer went above the pause mark and has not drained yet. */
  backedUp = false;
  closed = false;
  private readonly buckets = new Map<string, TokenBucket>();
  private readonly held = new Map<EventChannel, unknown>();

  constructor(
    readonly id: string,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Whether a request may start now. */
  ready(): boolean {
    return !this.closed && !this.backedUp && this.queue.length > 0 && this.inFlight < FLOW_LIMITS.maxInFlight;
  }

  /**
   * Admits a non-priority request: queued (`'queued'`), or refused at once because the
   * queue is full (`'queue'`) or the channel is over its rate (`'rate'`).
   */
  admit(req: FlowRequest): 'queued' | 'queue' | 'rate' {
    if (this.queue.length >= FLOW_LIMITS.maxQueued) return 'queue';
    const limit = Object.prototype.hasOwnProperty.call(RATE_LIMITS, req.channel) ? RATE_LIMITS[req.channel] : undefined;
    if (limit) {
      let bucket = this.buckets.get(limit.bucket);
      if (!bucket) this.buckets.set(limit.bucket, (bucket = new TokenBucket(limit, this.now)));
      if (!bucket.take()) return 'rate';
    }
    this.queue.push(req);
    return 'queued';
  }

  /** Removes and returns the queued requests a stop overtakes (those in {@link MOTION_CHANNELS}). */
  overtakenBy(): FlowRequest[] {
    const out: FlowRequest[] = [];
    for (let i = this.queue.length - 1; i >= 0; i -= 1) {
      if (MOTION_CHANNELS.has(this.queue[i]!.channel)) out.unshift(...this.queue.splice(i, 1));
    }
    return out;
  }

  /** Keeps a state event while backed up (the latest per event name; sent again after the drain). */
  hold(event: EventChannel, payload: unknown): void {
    this.held.delete(event);
    this.held.set(event, payload);
  }

  /** The held state events, oldest update first; empties the store. */
  takeHeld(): [EventChannel, unknown][] {
    const out = [...this.held.entries()];
    this.held.clear();
    return out;
  }
}

/**
 * Serves the lanes' queues in turns (see the module comment). `run` starts one
 * request and must call {@link Dispatcher.finished} when its reply has been sent.
 */
export class Dispatcher {
  private readonly lanes = new Set<Lane>();
  private pending: ReturnType<typeof setImmediate> | null = null;

  constructor(private readonly run: (lane: Lane, req: FlowRequest) => void) {}

  add(lane: Lane): void {
    this.lanes.add(lane);
  }

  remove(lane: Lane): void {
    lane.closed = true;
    lane.queue.length = 0;
    this.lanes.delete(lane);
  }

  /** A request of `lane` finished: it may start another. */
  finished(lane: Lane): void {
    lane.inFlight = Math.max(0, lane.inFlight - 1);
    this.schedule();
  }

  /** Asks for a turn (soon, after the event loop has read the sockets). */
  schedule(): void {
    if (this.pending || this.lanes.size === 0) return;
    this.pending = setImmediate(() => {
      this.pending = null;
      this.turn();
    });
  }

  /** Stops serving (the host is closing). */
  dispose(): void {
    if (this.pending) clearImmediate(this.pending);
    this.pending = null;
    for (const lane of this.lanes) this.remove(lane);
  }

  private turn(): void {
    const start = performance.now();
    let started = 0;
    let progress = true;
    while (progress && started < FLOW_LIMITS.turnRequests && performance.now() - start < FLOW_LIMITS.turnMs) {
      progress = false;
      for (const lane of this.lanes) {
        if (!lane.ready()) continue;
        const req = lane.queue.shift()!;
        lane.inFlight += 1;
        started += 1;
        progress = true;
        this.run(lane, req);
        if (started >= FLOW_LIMITS.turnRequests || performance.now() - start >= FLOW_LIMITS.turnMs) break;
      }
    }
    // the next turn starts with the next lane: no connection is always served first
    const first = this.lanes.values().next();
    if (!first.done) {
      this.lanes.delete(first.value);
      this.lanes.add(first.value);
    }
    for (const lane of this.lanes) {
      if (lane.ready()) {
        this.schedule();
        break;
      }
    }
  }
}
