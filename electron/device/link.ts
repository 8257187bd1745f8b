/**
 * The device link (DESIGN §4): one connected massager, driven through a protocol
 * module over a {@link Transport}.
 *
 * It connects, discovers the protocol's services (plus Battery `180f` and Device
 * Information `180a` when present), lets the protocol accept or refuse the device,
 * subscribes to its notifications and makes its initialisation writes. Afterwards it
 * owns the write queue:
 * - writes are serialised: one GATT operation at a time, each with a timeout;
 * - intensity updates coalesce, latest wins, within the protocol's write gap;
 * - a stop goes next (only the write already in flight is ahead of it), ignores the
 *   gap, is never coalesced away, and drops queued commands that could move the motor;
 * - payloads longer than MTU − 3 are refused unless the write is marked splittable.
 * When the link drops it reports why and, if asked, reconnects with backoff; the
 * first write after reconnecting is a stop, and nothing but that stop (and the
 * protocol's own follow-ups to notifications) is written until the owner commands again.
 *
 * The link applies no safety policy: the governor above it clamps and ramps. It only
 * refuses intensities outside 0..1 and NaN.
 */
import { STANDARD_SERVICES, BATTERY_SERVICE, BATTERY_LEVEL, DEVICE_INFORMATION_SERVICE, decodeStandardRead } from '../../protocols/standard';
import type {
  Capabilities,
  Command,
  ConnectionContext,
  DeviceStatus,
  FoundCharacteristic,
  ProtocolModule,
  ProtocolSession,
  StopProof,
  Write,
} from '../../protocols/types';
import { CANNOT_CONFIRM_REPEAT_MS } from '../../protocols/types';
import { intensityToStep } from '../../protocols/intensity';
import type { StopStatus, TrafficWritePurpose } from '../ipc/contract';
import { systemClock, type TimeoutClock } from '../lib/clock';
import { Emitter } from '../lib/emitter';
import { GattError } from '../ble/types';
import type { GattConnection, Transport } from '../ble/types';
import { TrafficTap, recordedBytes, type TrafficRecord, type TrafficSink } from './traffic';

// ---------------------------------------------------------------- options and public shapes

/** Timeouts of the link's GATT operations, in milliseconds. */
export interface LinkTimeouts {
  /** Establishing the connection (default 10 000). */
  connectMs: number;
  /** Discovering services and characteristics (default 5 000). */
  discoveryMs: number;
  /** One write (default 2 000). */
  writeMs: number;
  /** One read (default 2 000). */
  readMs: number;
  /** Subscribing to notifications (default 3 000). */
  subscribeMs: number;
}

/** The default timeouts (ms). */
export const DEFAULT_LINK_TIMEOUTS: Readonly<LinkTimeouts> = {
  connectMs: 10_000,
  discoveryMs: 5_000,
  writeMs: 2_000,
  readMs: 2_000,
  subscribeMs: 3_000,
};

/** How the link reconnects after an unexpected drop. Times in milliseconds. */
export interface ReconnectPolicy {
  /** Whether to reconnect at all (default true). */
  enabled: boolean;
  /** Wait before the first attempt (default 250); doubles after each failed attempt. */
  initialDelayMs: number;
  /** Longest wait between attempts (default 5 000). */
  maxDelayMs: number;
  /** Stop trying after this long since the drop (default 120 000); `reconnect-failed` is emitted. */
  giveUpAfterMs: number;
  /**
   * Whether the peripheral is advertising now (e.g. heard by a scan lately). When
   * given and false, an attempt is skipped and the backoff continues.
   */
  isAdvertising?: () => boolean;
}

/** The default reconnect policy. */
export const DEFAULT_RECONNECT: Readonly<ReconnectPolicy> = {
  enabled: true,
  initialDelayMs: 250,
  maxDelayMs: 5_000,
  giveUpAfterMs: 120_000,
};


/** Options of {@link DeviceLink}. */
export interface DeviceLinkOptions {
  transport: Transport;
  peripheralId: string;
  protocol: ProtocolModule;
  /** The advertised local name, passed to the protocol's `open`. */
  localName?: string;
  /** The model the advertisement told (from `identify`), passed to `open`. */
  model?: string;
  timeouts?: Partial<LinkTimeouts>;
  reconnect?: Partial<ReconnectPolicy>;
  /** Clock and timers (default: the system's); `now()` is monotonic milliseconds. */
  clock?: TimeoutClock;
  /**
   * The fastest rise the device may see, as a fraction of its full range per second of
   * this link's clock (the governor's ramp, DESIGN §1). Each intensity is bounded when
   * its turn comes to be written: no higher than the last value the device received
   * (its write settled) plus this rate × the time since then (from rest: since the motor
   * was first asked to run, when that is later), and never below the minimum running
   * step. Absent: no bound (the caller ramps).
   */
  rampPerSecond?: number;
  /**
   * The monotonic clock (ms) the ramp rate is measured on, when it is not this link's
   * clock: the governor's, so a governor on routine time and its link agree. Timers stay
   * on the link's clock. Defaults to `clock.now`.
   */
  rampNow?: () => number;
  /**
   * Where the link's traffic goes (`traffic.ts`): each write with its purpose and outcome,
   * each notification and whether the protocol read it, and the link's events, stamped on
   * this link's clock. Recorded after the write is handed to the transport and delivered on
   * a later timer turn, so it never delays a write; a sink that throws loses that record only.
   */
  traffic?: TrafficSink;
  /**
   * True while the protocol's own bytes are unproven (a user profile or draft whose stop
   * check has not run or was failed): the link then writes only what a session commands
   * and the stop — no `init` writes on connecting and no status requests while a stop
   * awaits its proof, since a user's frame may start the motor outside any session. Absent:
   * always false (a built-in protocol).
   */
  unproven?: () => boolean;
}

/** A write as the link accepts it: a protocol write, optionally marked splittable. */
export type LinkWrite = Write & {
  /**
   * May be longer than MTU − 3: with response it goes as an ATT long write (noble
   * splits it), without response it is cut into MTU − 3 pieces. Unmarked long writes
   * are refused with GattError('too-long').
   */
  splittable?: boolean;
};

/** What the link learnt on connecting. */
export interface LinkInfo {
  peripheralId: string;
  protocolId: string;
  model: string;
  capabilities: Capabilities;
  /** ATT MTU in bytes. */
  mtu: number;
  /** Service UUID → characteristics found. */
  services: ReadonlyMap<string, readonly FoundCharacteristic[]>;
  batteryPercent?: number;
  firmware?: string;
  /** From Device Information `2a24`. */
  modelNumber?: string;
  /** From Device Information `2a29`. */
  manufacturer?: string;
}

/** The link's life cycle. */
export type LinkState = 'idle' | 'connecting' | 'connected' | 'reconnecting' | 'closed';

/**
 * How a queued command ended: `written` (its writes were acknowledged, or sent when
 * without response), `superseded` (a later intensity replaced it before it was
 * written), `dropped` (a stop removed it from the queue), `nothing` (the protocol has
 * no bytes for it).
 */
export type WriteOutcome = 'written' | 'superseded' | 'dropped' | 'nothing';

/**
 * How the latest stop stands, as far as the device can say (DESIGN §4):
 * `waiting` for its proof; `confirmed` by a status that says the motor is off;
 * `unconfirmed` (the deadline passed and every further attempt the protocol allows was
 * made: the user must switch it off by hand); `cannot-confirm` (the device has not
 * reported its state in this connection: the stop was written twice and that is all
 * that can be known).
 */
export type StopConfirmState = StopStatus['state'];

/** A change of the latest stop's state: the contract's {@link StopStatus}, which `device.status` carries as it is. */
export type StopStateEvent = StopStatus;

/** Events of {@link DeviceLink} and their payloads. */
export interface DeviceLinkEvents {
  /** One decoded notification (exactly one event per notification), or the standard reads on connecting. */
  status: DeviceStatus;
  /** A notification the protocol could not read. */
  unrecognised: { bytes: Uint8Array; reason: string };
  /** The link dropped (`expected` when the owner closed it). */
  disconnected: { reason: string; expected: boolean };
  /** A reconnect attempt is scheduled after `delayMs`. */
  reconnecting: { attempt: number; delayMs: number };
  /** The link is back; its first write was a stop and the motor stays off until the owner commands. */
  reconnected: LinkInfo;
  /** Reconnecting was given up. */
  'reconnect-failed': { attempts: number; reason: string };
  /** A message for the user (e.g. the protocol could not be sure a stop took effect). */
  notice: string;
  /** Every write made, for logs: `atMs` on the link's clock. */
  wrote: { service: string; characteristic: string; bytes: Uint8Array; withResponse: boolean; atMs: number };
  state: LinkState;
  /** The latest stop's confirmation changed (see {@link StopConfirmState}). */
  'stop-state': StopStateEvent;
  /**
   * What the protocol's stop proof reads in a status that arrived while no stop waits for
   * its proof (none was made, or its watch has its verdict): the motor is `off` or `running`.
   * Statuses it reads as neither emit nothing.
   */
  'stop-proof': 'off' | 'running';
}

/** Errors of the link itself (not of a GATT operation). */
export class LinkError extends Error {
  constructor(
    /** `refused`: the protocol does not accept the device; `not-connected`: there is no link to write on; `closed`: the link was closed. */
    readonly code: 'refused' | 'not-connected' | 'closed',
    message: string,
  ) {
    super(message);
    this.name = 'LinkError';
  }
}

// ---------------------------------------------------------------- internals

type JobKind = 'intensity' | 'motion' | 'stop' | 'command' | 'follow-up' | 'keepalive' | 'init' | 'read';

interface Waiter {
  resolve: (outcome: WriteOutcome) => void;
  reject: (error: Error) => void;
}

interface Job {
  kind: JobKind;
  /** Encoded when the job's turn comes (so coalescing uses the latest value). */
  command?: Command;
  /** Precomputed writes (follow-ups, init, keepalive). */
  writes?: LinkWrite[];
  /** A custom operation (reads). */
  run?: (conn: GattConnection) => Promise<void>;
  /** A further attempt at the stop being watched (its settling re-arms the deadline). */
  stopAttempt?: boolean;
  /** A status request of a stop watch: dropped when the watch ends or another one starts. */
  watchQuery?: boolean;
  waiters: Waiter[];
}

/** The watch over one stop: its proof, attempts and timers. */
interface StopWatch {
  session: ProtocolSession;
  proof: StopProof;
  /** When the stop's first write settled (link clock, ms). */
  firstSettledAt: number;
  /** When the latest attempt settled. */
  settledAt: number;
  attempts: number;
  /** Further attempts left (from the protocol's `stopEscalation`, read at the first deadline). */
  escalation?: Write[][];
  /** The device had not reported its state when the stop was made. */
  silent: boolean;
  timers: unknown[];
  state: StopConfirmState;
  /** When the proof arrived. */
  confirmedAt?: number;
  /** A further attempt is queued or under way: statuses until it settles may predate it and prove nothing. */
  attemptPending: boolean;
  /** The proof came after the stop had ended unconfirmed. */
  late?: boolean;
}

/** Commands a stop removes from the queue: anything that could set the motor going. */
const MOTION_KINDS = new Set<JobKind>(['intensity', 'motion', 'keepalive', 'init']);

/** What a job's writes are for, in the traffic's words. */
function purposeOf(job: Job): TrafficWritePurpose {
  if (job.kind === 'stop' || job.stopAttempt || job.command?.type === 'stop') return 'stop';
  if (job.watchQuery) return 'status-query';
  switch (job.kind) {
    case 'intensity':
      return 'step';
    case 'motion':
      return 'mode';
    case 'keepalive':
      return 'keepalive';
    case 'init':
      return 'init';
    case 'follow-up':
      return 'follow-up';
    default:
      return 'command';
  }
}

function jobKindOf(command: Command): JobKind {
  switch (command.type) {
    case 'setIntensity':
      return 'intensity';
    case 'stop':
      return 'stop';
    case 'setMode':
    case 'setMotion':
    case 'powerOn':
      return 'motion';
    default:
      return 'command';
  }
}


/**
 * One connected device. Create it, call {@link connect}, then command it with
 * {@link setIntensity}, {@link stop} and {@link send}. Listen with {@link on}.
 */
export class DeviceLink {
  readonly peripheralId: string;
  readonly protocol: ProtocolModule;
  private readonly transport: Transport;
  private readonly timeouts: LinkTimeouts;
  private readonly policy: ReconnectPolicy;
  private readonly clock: TimeoutClock;
  private readonly localName: string | undefined;
  private readonly model: string | undefined;
  private readonly events = new Emitter<DeviceLinkEvents>();

  private linkState: LinkState = 'idle';
  private conn: GattConnection | null = null;
  private offDisconnect: (() => void) | null = null;
  private currentSession: ProtocolSession | null = null;
  private currentInfo: LinkInfo | null = null;
  private readonly queue: Job[] = [];
  private inFlight: Job | null = null;
  private lastSettledAt = Number.NEGATIVE_INFINITY;
  private lastDelayAfterMs = 0;
  private gapTimer: unknown = null;
  private keepaliveTimer: unknown = null;
  private reconnectTimer: unknown = null;
  private reconnectWake: (() => void) | null = null;
  private closing = false;
  /** After a reconnect: true until the owner commands again (nothing but the stop is written). */
  private held = false;
  /** Follow-ups and replays asked for by notifications that arrived while (re)connecting. */
  private readonly early: { followUp: Write[]; followUpIsStop: boolean; replay: Command[] }[] = [];
  /** The latest stop and how it stands. */
  private watch: StopWatch | null = null;
  /** The ramp bound (fraction of full range per second), or null for none. */
  private readonly rampPerSecond: number | null;
  private readonly rampNow: () => number;
  /** The intensity (0..1, a whole step) the device last received, and when that write settled (link clock). */
  private received = { value: 0, atMs: Number.NEGATIVE_INFINITY };
  /** See {@link DeviceLinkOptions.unproven}. */
  private readonly unproven: () => boolean;
  /** When a rise above the received value was first asked for (link clock), or null. */
  private riseAskedAt: number | null = null;
  /** An intensity the ramp bound holds back (its waiters still wait), and the timer that queues it again. */
  private rampHeld: Job | null = null;
  private rampTimer: unknown = null;
  /** Counts stops (and link losses): a rise held back before the latest one is never resumed. */
  private stopSeq = 0;
  /** Callers of {@link awaitStopVerdict} still waiting (released when a new run supersedes the watch). */
  private readonly verdictWaiters = new Set<() => void>();
  /** The traffic recorder's tap, or null. */
  private readonly tap: TrafficTap | null;

  constructor(options: DeviceLinkOptions) {
    this.transport = options.transport;
    this.peripheralId = options.peripheralId;
    this.protocol = options.protocol;
    this.localName = options.localName;
    this.model = options.model;
    this.timeouts = { ...DEFAULT_LINK_TIMEOUTS, ...options.timeouts };
    this.policy = { ...DEFAULT_RECONNECT, ...options.reconnect };
    this.clock = options.clock ?? systemClock;
    const rate = options.rampPerSecond;
    if (rate !== undefined && !(Number.isFinite(rate) && rate > 0)) throw new RangeError(`rampPerSecond must be a positive number (got ${rate})`);
    this.rampPerSecond = rate ?? null;
    const clock = this.clock;
    this.rampNow = options.rampNow ?? (() => clock.now());
    this.tap = options.traffic ? new TrafficTap(options.traffic, clock) : null;
    this.unproven = options.unproven ?? (() => false);
  }

  /** Notes one traffic record (a no-op without a recorder; never throws, never waits). */
  private record(r: TrafficRecord): void {
    this.tap?.record(r);
  }

  /** Notes a link event. */
  private recordLink(event: Extract<TrafficRecord, { type: 'link' }>['event'], detail?: string): void {
    if (this.tap) this.record({ type: 'link', event, ...(detail !== undefined ? { detail } : {}), atMs: this.clock.now() });
  }

  // ---------------------------------------------------------------- events

  /** Adds a listener; returns a function that removes it. A throwing listener does not disturb the link. */
  on<K extends keyof DeviceLinkEvents>(event: K, listener: (payload: DeviceLinkEvents[K]) => void): () => void {
    return this.events.on(event, listener);
  }

  /** Number of listeners on one event (for tests of listener hygiene). */
  listenerCount(event: keyof DeviceLinkEvents): number {
    return this.events.listenerCount(event);
  }

  private emit<K extends keyof DeviceLinkEvents>(event: K, payload: DeviceLinkEvents[K]): void {
    if (this.tap) this.recordEvent(event, payload);
    this.events.emit(event, payload);
  }

  /** The link events the traffic keeps, from the link's own events. */
  private recordEvent<K extends keyof DeviceLinkEvents>(event: K, payload: DeviceLinkEvents[K]): void {
    switch (event) {
      case 'disconnected': {
        const p = payload as DeviceLinkEvents['disconnected'];
        this.recordLink(p.expected ? 'closed' : 'dropped', p.reason);
        break;
      }
      case 'reconnecting': {
        const p = payload as DeviceLinkEvents['reconnecting'];
        this.recordLink('reconnecting', `attempt ${p.attempt} in ${p.delayMs} ms`);
        break;
      }
      case 'reconnect-failed': {
        const p = payload as DeviceLinkEvents['reconnect-failed'];
        this.recordLink('reconnect-failed', `after ${p.attempts} attempts: ${p.reason}`);
        break;
      }
      case 'notice':
        this.recordLink('notice', payload as string);
        break;
      case 'stop-state': {
        const p = payload as DeviceLinkEvents['stop-state'];
        if (p.state === 'confirmed') this.recordLink('stop-confirmed', `after ${p.latencyMs ?? '?'} ms, ${p.attempts} attempt(s)`);
        else if (p.state === 'unconfirmed') this.recordLink('stop-unconfirmed', `${p.attempts} attempt(s)`);
        else if (p.state === 'cannot-confirm') this.recordLink('stop-cannot-confirm', `${p.attempts} attempt(s)`);
        break;
      }
      default:
    }
  }

  private setState(state: LinkState): void {
    if (this.linkState === state) return;
    this.linkState = state;
    this.emit('state', state);
  }

  // ---------------------------------------------------------------- accessors

  /** The link's state. */
  get state(): LinkState {
    return this.linkState;
  }

  /** What the link learnt on (re)connecting, or null before. */
  get info(): LinkInfo | null {
    return this.currentInfo;
  }

  /** The protocol session of the current connection, or null. */
  get session(): ProtocolSession | null {
    return this.currentSession;
  }

  /** Number of commands waiting (not counting the one in flight). */
  get queued(): number {
    return this.queue.length;
  }

  /** true after a reconnect until the owner commands again. */
  get holding(): boolean {
    return this.held;
  }

  /** How the latest stop stands (null before any stop on this connection). */
  get stopState(): StopStateEvent | null {
    const w = this.watch;
    return w ? this.stopEvent(w) : null;
  }

  // ---------------------------------------------------------------- connecting

  /**
   * Connects, discovers, opens the protocol session, subscribes and makes the init writes.
   * @returns what was learnt.
   * @throws GattError from the transport (timeout, rejected, adapter-off, …);
   *   LinkError('refused') when the protocol does not accept the device (the link is closed again).
   */
  async connect(): Promise<LinkInfo> {
    if (this.linkState === 'connected' || this.linkState === 'connecting') throw new LinkError('not-connected', 'The link is already connecting or connected.');
    this.closing = false;
    this.setState('connecting');
    try {
      const info = await this.setup(false);
      return info;
    } catch (error) {
      this.setState('idle');
      throw error;
    }
  }

  /**
   * Closes the link. With `stopFirst` (default true) it first writes a stop (errors
   * ignored) and waits, at most `waitForProofMs` (default 10 000), for the device's
   * verdict on it, making every further attempt its protocol allows. No reconnect
   * follows; `disconnected` is emitted with `expected: true`.
   * @returns how the last stop stood when the link closed (null when none was made):
   *   a `waiting` or `unconfirmed` stop means the device may still be running.
   */
  async disconnect(options: { stopFirst?: boolean; waitForProofMs?: number } = {}): Promise<StopStateEvent | null> {
    const stopFirst = options.stopFirst ?? true;
    if (stopFirst && this.linkState === 'connected') {
      await this.stop().catch(() => undefined);
      await this.awaitStopVerdict(options.waitForProofMs ?? 10_000);
    }
    const verdict = this.stopState;
    this.closing = true;
    this.cancelReconnect();
    this.stopKeepalive();
    this.clearWatchTimers();
    this.failQueue(new LinkError('closed', 'The link was closed.'));
    const conn = this.conn;
    if (conn) {
      await conn.disconnect().catch(() => undefined);
      // onLinkDown runs through the connection's disconnect listener; make sure state ends closed.
      if (this.conn === conn) this.onLinkDown('closed by Unknot');
    }
    this.setState('closed');
    return verdict;
  }

  /**
   * Resolves once the watched stop has a verdict (or there is none to wait for), the link
   * drops, or `maxMs` (milliseconds) pass. Never rejects. Resolves `true` when the link is
   * up at the end (the stop reached the device and is over as far as it can say), `false`
   * when it dropped first or is down already: a stop the drop swallowed proves nothing.
   */
  awaitStopVerdict(maxMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      if (this.watch?.state !== 'waiting') return resolve(this.state === 'connected');
      let timer: unknown = null;
      const off = this.on('stop-state', (e) => {
        if (e.state === 'waiting') return;
        finish(true);
      });
      const offDown = this.on('disconnected', () => finish(false));
      const finish = (up = this.state === 'connected'): void => {
        this.verdictWaiters.delete(finish);
        off();
        offDown();
        if (timer !== null) this.clock.clearTimeout(timer);
        resolve(up);
      };
      // a new motor command ends the watch without a verdict: nothing more to wait for
      this.verdictWaiters.add(finish);
      timer = this.clock.setTimeout(() => finish(), maxMs);
    });
  }

  private async setup(isReconnect: boolean): Promise<LinkInfo> {
    const conn = await this.transport.connect(this.peripheralId, this.timeouts.connectMs);
    if (this.closing) {
      await conn.disconnect().catch(() => undefined);
      throw new LinkError('closed', 'The link was closed while connecting.');
    }
    let opened = false;
    try {
      const wanted = [...new Set([...this.protocol.services, ...STANDARD_SERVICES])];
      const services = await conn.discover(wanted, this.timeouts.discoveryMs);
      const ctx: ConnectionContext = { services, now: () => this.clock.now() };
      if (this.localName !== undefined) ctx.localName = this.localName;
      if (this.model !== undefined) ctx.model = this.model;
      const result = this.protocol.open(ctx);
      if (!result.ok) {
        throw new LinkError(
          'refused',
          `This device does not answer as a ${this.protocol.displayName}: ${result.reason}. Unknot wrote nothing to it.`,
        );
      }
      const session = result.session;
      this.conn = conn;
      this.currentSession = session;
      // The ramp bound starts from rest with each connection (a reconnect writes a stop first).
      this.received = { value: 0, atMs: this.rampNow() };
      this.riseAskedAt = null;
      this.releaseRampHeld('dropped');
      this.offDisconnect = conn.onDisconnect((reason) => {
        if (this.conn === conn) this.onLinkDown(reason);
      });
      opened = true;
      this.recordLink(isReconnect ? 'reconnected' : 'connected', `MTU ${conn.mtu}`);

      if (isReconnect) {
        // The device may still be running: the very first write is a stop.
        for (const w of session.encode({ type: 'stop' })) await this.writeOne(conn, w, 'stop');
        this.received = { value: 0, atMs: this.rampNow() };
        const notice = session.stopNotice?.();
        if (notice) this.emit('notice', notice);
        this.startWatch(session);
      }

      const notify = session.notify;
      await conn.subscribe(notify.service, notify.characteristic, (bytes) => this.onNotification(session, bytes, notify), this.timeouts.subscribeMs);

      const info: LinkInfo = {
        peripheralId: this.peripheralId,
        protocolId: this.protocol.id,
        model: session.model,
        capabilities: session.capabilities,
        mtu: conn.mtu,
        services,
      };
      const standardStatus = await this.readStandard(conn, services, info);
      // Battery level changes arrive as notifications where the peripheral offers them.
      const batteryNotifies = services.get(BATTERY_SERVICE)?.some((c) => c.uuid === BATTERY_LEVEL && c.properties.includes('notify'));
      if (batteryNotifies) {
        await conn.subscribe(
          BATTERY_SERVICE,
          BATTERY_LEVEL,
          (bytes) => {
            const decoded = decodeStandardRead(BATTERY_SERVICE, BATTERY_LEVEL, bytes);
            const ok = decoded?.status.batteryPercent !== undefined;
            if (this.tap) {
              this.record({
                type: 'notification',
                service: BATTERY_SERVICE,
                characteristic: BATTERY_LEVEL,
                ...recordedBytes(bytes),
                decoded: ok,
                ...(ok ? {} : { reason: 'not a battery level' }),
                atMs: this.clock.now(),
              });
            }
            if (decoded?.status.batteryPercent !== undefined) this.emit('status', { batteryPercent: decoded.status.batteryPercent });
          },
          this.timeouts.subscribeMs,
        );
      }
      this.currentInfo = info;
      this.lastSettledAt = this.clock.now();
      this.lastDelayAfterMs = 0;
      this.held = isReconnect;
      this.setState('connected');
      for (const a of this.early.splice(0)) this.answer(a);
      if (Object.keys(standardStatus).length > 0) this.emit('status', standardStatus);

      if (!isReconnect) {
        const init = this.unproven() ? [] : session.init();
        if (init.length > 0) await this.enqueue({ kind: 'init', writes: init, waiters: [] });
        this.startKeepalive(session);
      }
      return info;
    } catch (error) {
      if (opened && this.conn === conn) {
        this.offDisconnect?.();
        this.offDisconnect = null;
        this.conn = null;
        this.currentSession = null;
      }
      await conn.disconnect().catch(() => undefined);
      throw error;
    }
  }

  /** Reads battery and device information when the services were found; failures other than a lost link are skipped. */
  private async readStandard(conn: GattConnection, services: ReadonlyMap<string, readonly FoundCharacteristic[]>, info: LinkInfo): Promise<DeviceStatus> {
    const status: DeviceStatus = {};
    const reads: [string, string][] = [];
    const battery = services.get(BATTERY_SERVICE)?.find((c) => c.uuid === BATTERY_LEVEL && c.properties.includes('read'));
    if (battery) reads.push([BATTERY_SERVICE, BATTERY_LEVEL]);
    for (const c of services.get(DEVICE_INFORMATION_SERVICE) ?? []) {
      if (c.properties.includes('read')) reads.push([DEVICE_INFORMATION_SERVICE, c.uuid]);
    }
    for (const [service, characteristic] of reads) {
      const bytes = await conn.read(service, characteristic, this.timeouts.readMs);
      const decoded = decodeStandardRead(service, characteristic, bytes);
      if (!decoded) continue;
      Object.assign(status, decoded.status);
      if (decoded.model !== undefined) info.modelNumber = decoded.model;
      if (decoded.manufacturer !== undefined) info.manufacturer = decoded.manufacturer;
    }
    if (status.batteryPercent !== undefined) info.batteryPercent = status.batteryPercent;
    if (status.firmware !== undefined) info.firmware = status.firmware;
    return status;
  }

  // ---------------------------------------------------------------- commanding

  /**
   * Sets the intensity, 0..1 of the device's full range (0 = stop the motor at
   * speed 0; use {@link stop} for a stop that overtakes the queue). Coalesces with a
   * queued intensity update (latest wins; the earlier promise resolves `superseded`).
   * @throws RangeError when `value` is NaN or outside 0..1 (nothing is queued);
   *   LinkError('not-connected') when there is no link; GattError when the write fails.
   */
  setIntensity(value: number): Promise<WriteOutcome> {
    if (typeof value !== 'number' || Number.isNaN(value) || value < 0 || value > 1) {
      return Promise.reject(new RangeError(`intensity must be a number in 0..1, got ${String(value)}`));
    }
    const notConnected = this.requireConnected();
    if (notConnected) return Promise.reject(notConnected);
    this.held = false;
    if (value > 0) this.supersedeWatch();
    this.releaseRampHeld('superseded');
    if (value <= this.received.value) this.riseAskedAt = null;
    else this.riseAskedAt ??= this.rampNow(); // counts only from rest (see rampSince)
    const command: Command = { type: 'setIntensity', value };
    const pending = this.queue.find((j) => j.kind === 'intensity');
    if (pending) {
      pending.command = command;
      const previous = pending.waiters.splice(0);
      for (const w of previous) w.resolve('superseded');
      return new Promise((resolve, reject) => pending.waiters.push({ resolve, reject }));
    }
    return this.enqueue({ kind: 'intensity', command, waiters: [] });
  }

  /**
   * Stops the motor. The stop is written next — after the write in flight only —
   * without waiting for the write gap, and queued commands that could move the motor
   * are dropped (their promises resolve `dropped`); a command with several writes that
   * is under way is cut short after its write in flight (it resolves `dropped`).
   * Never coalesced away; a second stop while one is queued shares it.
   * @throws LinkError('not-connected') when there is no link (the device may still
   *   be running); GattError when the write fails.
   */
  stop(): Promise<WriteOutcome> {
    const notConnected = this.requireConnected();
    if (notConnected) return Promise.reject(notConnected);
    this.releaseRampHeld('dropped');
    this.stopSeq += 1;
    this.riseAskedAt = null;
    for (let i = this.queue.length - 1; i >= 0; i--) {
      const job = this.queue[i] as Job;
      if (!MOTION_KINDS.has(job.kind)) continue;
      this.queue.splice(i, 1);
      for (const w of job.waiters) w.resolve('dropped');
    }
    const first = this.queue[0];
    if (first?.kind === 'stop') {
      return new Promise((resolve, reject) => first.waiters.push({ resolve, reject }));
    }
    const job: Job = { kind: 'stop', command: { type: 'stop' }, waiters: [] };
    const promise = new Promise<WriteOutcome>((resolve, reject) => job.waiters.push({ resolve, reject }));
    this.queue.unshift(job);
    this.pump();
    return promise;
  }

  /**
   * Sends any normalised command (`setIntensity` and `stop` go through their own
   * methods, with their rules). Queued behind earlier commands, after the write gap.
   * @throws as {@link setIntensity}; RangeError from the protocol for invalid values.
   */
  send(command: Command): Promise<WriteOutcome> {
    if (command.type === 'setIntensity') return this.setIntensity(command.value);
    if (command.type === 'stop') return this.stop();
    const notConnected = this.requireConnected();
    if (notConnected) return Promise.reject(notConnected);
    this.held = false;
    return this.enqueue({ kind: jobKindOf(command), command, waiters: [] });
  }

  /**
   * Asks the device once for its status (the protocol's status request), without lifting
   * the hold a reconnect put on the motor: after "It is off", a device that runs on says so.
   * Does nothing when the protocol has no request, the link is down, a request already
   * waits, or the protocol's bytes are unproven ({@link DeviceLinkOptions.unproven}).
   */
  askStatus(): void {
    const session = this.currentSession;
    if (!session || this.linkState !== 'connected' || this.unproven()) return;
    if (this.queue.some((j) => j.watchQuery)) return;
    let writes: Write[];
    try {
      writes = session.encode({ type: 'queryStatus' });
    } catch {
      return;
    }
    if (writes.length > 0) this.enqueue({ kind: 'follow-up', writes, watchQuery: true, waiters: [] }).catch(() => undefined);
  }

  /**
   * Reads the battery level (Battery Service `2a19`), percent, through the queue.
   * @returns undefined when the device has no Battery Service or the value is invalid.
   */
  async readBattery(): Promise<number | undefined> {
    const notConnected = this.requireConnected();
    if (notConnected) throw notConnected;
    const has = this.currentInfo?.services.get(BATTERY_SERVICE)?.some((c) => c.uuid === BATTERY_LEVEL);
    if (!has) return undefined;
    let percent: number | undefined;
    await this.enqueue({
      kind: 'read',
      waiters: [],
      run: async (conn) => {
        const bytes = await conn.read(BATTERY_SERVICE, BATTERY_LEVEL, this.timeouts.readMs);
        percent = decodeStandardRead(BATTERY_SERVICE, BATTERY_LEVEL, bytes)?.status.batteryPercent;
      },
    });
    if (percent !== undefined && this.currentInfo) this.currentInfo.batteryPercent = percent;
    return percent;
  }

  private requireConnected(): LinkError | null {
    if (this.linkState === 'connected' && this.conn) return null;
    if (this.linkState === 'closed') return new LinkError('closed', 'The link is closed.');
    return new LinkError('not-connected', 'The device is not connected; if it is running, switch it off on the device.');
  }

  private enqueue(job: Job): Promise<WriteOutcome> {
    const promise = new Promise<WriteOutcome>((resolve, reject) => job.waiters.push({ resolve, reject }));
    this.queue.push(job);
    this.pump();
    return promise;
  }

  /** Starts the next job when the link is free and, except for a stop, the write gap has passed. */
  private pump(): void {
    if (this.inFlight || !this.conn || this.linkState !== 'connected') return;
    const job = this.queue[0];
    if (!job) return;
    if (job.kind !== 'stop') {
      const gap = Math.max(this.protocol.writeGapMs, this.lastDelayAfterMs);
      const wait = this.lastSettledAt + gap - this.clock.now();
      if (wait > 0) {
        if (this.gapTimer === null) {
          this.gapTimer = this.clock.setTimeout(() => {
            this.gapTimer = null;
            this.pump();
          }, wait);
        }
        return;
      }
    }
    if (this.gapTimer !== null) {
      this.clock.clearTimeout(this.gapTimer);
      this.gapTimer = null;
    }
    this.queue.shift();
    this.inFlight = job;
    const conn = this.conn;
    void this.runJob(conn, job).finally(() => {
      this.inFlight = null;
      this.pump();
    });
  }

  private async runJob(conn: GattConnection, job: Job): Promise<void> {
    // A stop asked for while this job is under way ends any rise it would hand on.
    const stopSeq = this.stopSeq;
    try {
      let outcome: WriteOutcome = 'written';
      if (job.run) {
        await job.run(conn);
      } else {
        const session = this.currentSession;
        if (!session) throw new LinkError('not-connected', 'The device is not connected.');
        let command = job.command;
        let heldBack: number | null = null;
        if (command?.type === 'setIntensity') {
          const bounded = this.rampBound(command.value, session.capabilities);
          if (bounded <= this.received.value && command.value > this.received.value) {
            // No higher step is allowed yet: the job waits (its waiters with it) until one is.
            this.holdForRamp(job, session.capabilities, stopSeq);
            return;
          }
          if (bounded < command.value) {
            heldBack = command.value;
            command = { type: 'setIntensity', value: bounded };
          }
        }
        const writes: LinkWrite[] = job.writes ?? (command ? session.encode(command) : []);
        if (writes.length === 0) outcome = 'nothing';
        for (let i = 0; i < writes.length; i++) {
          if (i > 0 && job.kind !== 'stop' && this.queue[0]?.kind === 'stop') {
            outcome = 'dropped'; // a stop arrived between this command's writes: it goes next
            break;
          }
          const w = writes[i] as LinkWrite;
          await this.writeOne(conn, w, purposeOf(job));
          const delay = w.delayAfterMs ?? 0;
          if (i < writes.length - 1 && delay > 0) await this.sleep(delay);
        }
        const notice = job.kind === 'stop' ? session.stopNotice?.() : session.takeNotice?.();
        if (notice) this.emit('notice', notice);
        if (job.kind === 'stop') {
          this.received = { value: 0, atMs: this.rampNow() };
          this.startWatch(session);
        } else if (command?.type === 'setIntensity' && outcome !== 'dropped') {
          if (outcome === 'written') {
            // From here the bound counts from this write's settling.
            const caps = session.capabilities;
            this.received = { value: intensityToStep(command.value, caps.steps) / caps.steps, atMs: this.rampNow() };
            this.riseAskedAt = null;
          }
          // The rest of the rise is asked for again once allowed (also when the protocol
          // wrote nothing now, e.g. a chair that holds commands while it returns to rest).
          if (heldBack !== null) this.holdForRamp({ kind: 'intensity', command: { type: 'setIntensity', value: heldBack }, waiters: [] }, session.capabilities, stopSeq);
        }
      }
      for (const w of job.waiters) w.resolve(outcome);
    } catch (error) {
      // Whether the device got it is unknown: the bound counts from now, from the lower value.
      if (job.command?.type === 'setIntensity') this.received = { ...this.received, atMs: this.rampNow() };
      for (const w of job.waiters) w.reject(error as Error);
    }
    // A further stop attempt, written or failed: its deadline starts now (a failure
    // ends in the verdict the protocol's remaining attempts allow, never in a stuck watch).
    if (job.stopAttempt && this.currentSession) this.attemptSettled(this.currentSession);
  }

  /**
   * The highest intensity (0..1) that may be written now toward `value`: the last value
   * the device received plus the ramp rate × the time since {@link rampSince}, rounded
   * down to a whole step, and never below the minimum running step. Decreases are never
   * bounded.
   */
  private rampBound(value: number, caps: Capabilities): number {
    const rate = this.rampPerSecond;
    if (rate === null || value <= this.received.value) return value;
    const allowedStep = Math.max(caps.minRunningStep, this.rampStep(rate, caps, this.rampNow()));
    return intensityToStep(value, caps.steps) <= allowedStep ? value : allowedStep / caps.steps;
  }

  /** The whole step the ramp allows at `now` (ramp clock): the received value plus `rate` × the time since {@link rampSince}, rounded down. */
  private rampStep(rate: number, caps: Capabilities, now: number): number {
    const allowed = this.received.value + (rate * Math.max(0, now - this.rampSince())) / 1000;
    return Math.floor(allowed * caps.steps + 1e-9);
  }

  /**
   * Where the ramp bound counts from: when the last write the device received settled;
   * from rest, when the motor was first asked to run again (if later), so a device that
   * stood still for a while does not get its ceiling at once.
   */
  private rampSince(): number {
    if (this.received.value > 0 || this.riseAskedAt === null) return this.received.atMs;
    return Math.max(this.received.atMs, this.riseAskedAt);
  }

  /**
   * Holds an intensity job the ramp bound does not allow yet, and queues it again at the
   * moment its next step is allowed (no earlier than 20 ms). A newer intensity supersedes
   * it and a stop drops it ({@link releaseRampHeld}).
   */
  private holdForRamp(job: Job, caps: Capabilities, stopSeq: number): void {
    const rate = this.rampPerSecond;
    const target = job.command?.type === 'setIntensity' ? job.command.value : null;
    if (rate === null || target === null) return;
    if (stopSeq !== this.stopSeq) {
      // a stop came while the job was under way: the rise is over
      for (const w of job.waiters) w.resolve('dropped');
      return;
    }
    this.releaseRampHeld('superseded');
    this.rampHeld = job;
    const now = this.rampNow();
    const nextStep = Math.min(intensityToStep(target, caps.steps), this.rampStep(rate, caps, now) + 1);
    const dueAt = this.rampSince() + ((nextStep / caps.steps - this.received.value) / rate) * 1000;
    this.rampTimer = this.clock.setTimeout(() => {
      this.rampTimer = null;
      const held = this.rampHeld;
      this.rampHeld = null;
      if (!held) return;
      const stopping = stopSeq !== this.stopSeq || this.inFlight?.kind === 'stop' || this.queue.some((j) => j.kind === 'stop');
      if (this.linkState !== 'connected' || this.held || stopping) {
        for (const w of held.waiters) w.resolve('dropped');
        return;
      }
      const queued = this.queue.find((j) => j.kind === 'intensity');
      if (queued) {
        for (const w of held.waiters) w.resolve('superseded');
        return;
      }
      this.queue.push(held);
      this.pump();
    }, Math.max(20, Math.ceil(dueAt - now)));
  }

  /** Ends the wait of an intensity the ramp bound held back: its waiters resolve with `outcome`. */
  private releaseRampHeld(outcome: WriteOutcome, error?: Error): void {
    if (this.rampTimer !== null) this.clock.clearTimeout(this.rampTimer);
    this.rampTimer = null;
    const held = this.rampHeld;
    this.rampHeld = null;
    if (!held) return;
    for (const w of held.waiters) {
      if (error) w.reject(error);
      else w.resolve(outcome);
    }
  }

  /** One write with the MTU check; records when it settled for the write gap, and (after it is handed on) the traffic. */
  private async writeOne(conn: GattConnection, w: LinkWrite, purpose: TrafficWritePurpose): Promise<void> {
    const max = conn.mtu - 3;
    const pieces: Uint8Array[] = [];
    if (w.bytes.length > max) {
      if (!w.splittable) {
        const error = new GattError('too-long', `A ${w.bytes.length}-byte write does not fit the link (at most ${max} bytes with MTU ${conn.mtu}); nothing was written.`);
        this.recordWrite(w, w.bytes, purpose, error);
        throw error;
      }
      if (w.withResponse) pieces.push(w.bytes);
      else for (let i = 0; i < w.bytes.length; i += max) pieces.push(w.bytes.subarray(i, i + max));
    } else {
      pieces.push(w.bytes);
    }
    try {
      for (const bytes of pieces) {
        try {
          await conn.write(w.service, w.characteristic, bytes, w.withResponse, this.timeouts.writeMs);
        } catch (error) {
          this.recordWrite(w, bytes, purpose, error);
          throw error;
        }
        this.recordWrite(w, bytes, purpose);
        this.emit('wrote', { service: w.service, characteristic: w.characteristic, bytes: bytes.slice(), withResponse: w.withResponse, atMs: this.clock.now() });
      }
    } finally {
      this.lastSettledAt = this.clock.now();
      this.lastDelayAfterMs = w.delayAfterMs ?? 0;
    }
  }

  /** Notes one write and how it ended (`error`: it failed or timed out). */
  private recordWrite(w: LinkWrite, bytes: Uint8Array, purpose: TrafficWritePurpose, error?: unknown): void {
    if (!this.tap) return;
    const outcome = error === undefined ? 'written' : error instanceof GattError && error.code === 'timeout' ? 'timed-out' : 'failed';
    this.record({
      type: 'write',
      service: w.service,
      characteristic: w.characteristic,
      ...recordedBytes(bytes),
      withResponse: w.withResponse,
      purpose,
      outcome,
      ...(error !== undefined ? { error: error instanceof Error ? error.message : String(error) } : {}),
      atMs: this.clock.now(),
    });
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.clock.setTimeout(resolve, ms));
  }

  private failQueue(error: Error): void {
    this.releaseRampHeld('dropped', error);
    this.stopSeq += 1;
    if (this.gapTimer !== null) {
      this.clock.clearTimeout(this.gapTimer);
      this.gapTimer = null;
    }
    for (const job of this.queue.splice(0)) for (const w of job.waiters) w.reject(error);
  }

  // ---------------------------------------------------------------- notifications and keepalive

  private onNotification(session: ProtocolSession, bytes: Uint8Array, from: { service: string; characteristic: string }): void {
    if (session !== this.currentSession) return;
    const atMs = this.clock.now();
    const note = (reason?: string): void => {
      if (!this.tap) return;
      this.record({
        type: 'notification',
        service: from.service,
        characteristic: from.characteristic,
        ...recordedBytes(bytes),
        decoded: reason === undefined,
        ...(reason !== undefined ? { reason } : {}),
        atMs,
      });
    };
    let result;
    try {
      result = session.decode(bytes);
    } catch (error) {
      const reason = `the protocol failed to decode it: ${String(error)}`;
      note(reason);
      this.emit('unrecognised', { bytes, reason });
      return;
    }
    if (result.kind === 'unknown') {
      note(result.reason);
      this.emit('unrecognised', { bytes, reason: result.reason });
      return;
    }
    note();
    this.emit('status', result.status);
    if (result.notice) this.emit('notice', result.notice);
    this.judgeStop(session, result.status);
    this.judgeOutsideWatch(session, result.status);
    const answer = { followUp: result.followUp ?? [], followUpIsStop: result.followUpIsStop === true, replay: result.replay ?? [] };
    if (answer.followUp.length === 0 && answer.replay.length === 0) return;
    // While (re)connecting, the link is not yet ready to write: the answer waits for it
    // (a chair's first status after a reconnect decides whether the reconnect's stop is made).
    if (this.linkState === 'connected') this.answer(answer);
    else this.early.push(answer);
  }

  /** Queues a notification's follow-up writes and replayed commands. */
  private answer(a: { followUp: Write[]; followUpIsStop: boolean; replay: Command[] }): void {
    if (a.followUp.length > 0) {
      const job: Job = { kind: 'follow-up', writes: a.followUp, waiters: [] };
      if (a.followUpIsStop) {
        job.stopAttempt = true;
        if (this.watch?.state === 'waiting') this.watch.attemptPending = true;
      }
      this.enqueue(job).catch(() => undefined);
    }
    if (a.replay.length > 0) this.replay(a.replay);
  }

  /**
   * Queues commands a protocol session held back and hands back now (the chair after its
   * reset). They are dropped while a stop is queued or under way (the stop wins), and
   * while the link holds after a reconnect (they were asked for before the drop); a
   * replayed stop goes through {@link stop}.
   */
  private replay(commands: Command[]): void {
    if (this.linkState !== 'connected') return;
    for (const command of commands) {
      if (command.type === 'stop') {
        this.stop().catch(() => undefined);
        continue;
      }
      if (this.held || this.inFlight?.kind === 'stop' || this.queue.some((j) => j.kind === 'stop')) continue;
      const kind = jobKindOf(command);
      // A queued intensity was asked for after the held one: it wins.
      if (kind === 'intensity' && this.queue.some((j) => j.kind === 'intensity')) continue;
      this.enqueue({ kind, command, waiters: [] }).catch(() => undefined);
    }
  }

  // ---------------------------------------------------------------- stop confirmation

  private stopEvent(w: StopWatch): StopStateEvent {
    const e: StopStateEvent = { state: w.state, attempts: w.attempts };
    if (w.state === 'confirmed' && w.confirmedAt !== undefined) e.latencyMs = Math.max(0, Math.round(w.confirmedAt - w.firstSettledAt));
    if (w.state === 'confirmed' && w.late) e.late = true;
    return e;
  }

  /**
   * The owner commands the motor on again (an intensity above 0; a mode or heat alone
   * does not count: the chair holds them while it stops): the stop being watched is history. Its
   * timers go, so no late repeat or escalation stops the new run.
   */
  private supersedeWatch(): void {
    // A stop that ended unconfirmed is history too: a status of the new run is no late proof of it.
    if (this.watch?.state === 'unconfirmed') this.watch = null;
    if (this.watch?.state !== 'waiting') return;
    this.clearWatchTimers();
    this.watch = null;
    this.dropWatchQueries();
    for (const waiter of [...this.verdictWaiters]) waiter();
  }

  /** Removes queued status requests of a stop watch (they would only delay what follows). */
  private dropWatchQueries(): void {
    for (let i = this.queue.length - 1; i >= 0; i--) {
      const job = this.queue[i] as Job;
      if (!job.watchQuery) continue;
      this.queue.splice(i, 1);
      for (const w of job.waiters) w.resolve('dropped');
    }
  }

  private clearWatchTimers(): void {
    if (this.watch) this.clearTimers(this.watch);
  }

  /** Cancels a watch's pending status requests, repeat and deadline timers. */
  private clearTimers(w: StopWatch): void {
    for (const t of w.timers) this.clock.clearTimeout(t);
    w.timers = [];
  }

  /**
   * Starts watching a stop whose writes just settled (or that had nothing to write):
   * asks for the device's status as its protocol says, and arms the deadline. A device
   * that has not reported its state yet gets the stop written once more after
   * {@link CANNOT_CONFIRM_REPEAT_MS}.
   */
  private startWatch(session: ProtocolSession): void {
    // Another Stop while this one still waits for its proof: the same stop, pressed again.
    // Its deadline and further attempts go on (restarting them would let repeated presses
    // put off the verdict for ever).
    if (this.watch?.state === 'waiting' && this.watch.session === session) return;
    this.clearWatchTimers();
    this.dropWatchQueries();
    const proof = session.stopProof;
    const now = this.clock.now();
    if (!proof) {
      // The protocol declares no proof: the settled write is all there is.
      this.watch = null;
      this.emit('stop-state', { state: 'cannot-confirm', attempts: 1 });
      return;
    }
    const w: StopWatch = {
      session,
      proof,
      firstSettledAt: now,
      settledAt: now,
      attempts: 1,
      silent: !proof.reportsState(),
      timers: [],
      state: 'waiting',
      attemptPending: false,
    };
    this.watch = w;
    this.emit('stop-state', this.stopEvent(w));
    if (w.silent) {
      w.timers.push(
        this.clock.setTimeout(() => {
          if (this.watch !== w || w.state !== 'waiting' || this.linkState !== 'connected') return;
          this.enqueue({ kind: 'follow-up', command: { type: 'stop' }, waiters: [] }).catch(() => undefined);
        }, CANNOT_CONFIRM_REPEAT_MS),
      );
    }
    this.armAttempt(w);
  }

  /** Arms the status requests and the deadline of the watch's latest attempt. */
  private armAttempt(w: StopWatch): void {
    for (const at of w.proof.askAtMs) {
      const ask = (): void => {
        if (this.watch !== w || w.state !== 'waiting' || this.linkState !== 'connected') return;
        if (this.unproven()) return; // a user's status request might be a motor command: not before its stop check
        if (this.queue.some((j) => j.watchQuery)) return; // one request waiting is enough
        const writes = w.session.encode({ type: 'queryStatus' });
        if (writes.length > 0) this.enqueue({ kind: 'follow-up', writes, watchQuery: true, waiters: [] }).catch(() => undefined);
      };
      if (at <= 0) ask();
      else w.timers.push(this.clock.setTimeout(ask, at));
    }
    w.timers.push(this.clock.setTimeout(() => this.attemptExpired(w), w.proof.deadlineMs));
  }

  /** A further stop attempt settled: its own deadline starts now. */
  private attemptSettled(session: ProtocolSession): void {
    const w = this.watch;
    if (!w || w.session !== session || w.state !== 'waiting') return;
    this.clearTimers(w);
    w.attemptPending = false;
    w.attempts += 1;
    w.settledAt = this.clock.now();
    this.emit('stop-state', this.stopEvent(w));
    this.armAttempt(w);
  }

  /** The latest attempt's deadline passed without proof: the next attempt, or the verdict. */
  private attemptExpired(w: StopWatch): void {
    if (this.watch !== w || w.state !== 'waiting') return;
    if (w.silent && !w.proof.reportsState()) {
      this.finishWatch(w, 'cannot-confirm');
      return;
    }
    w.escalation ??= w.session.stopEscalation?.() ?? [];
    const next = w.escalation.shift();
    if (next && next.length > 0 && this.linkState === 'connected') {
      w.attemptPending = true;
      this.enqueue({ kind: 'follow-up', writes: next, stopAttempt: true, waiters: [] }).catch(() => undefined);
      return;
    }
    this.finishWatch(w, 'unconfirmed');
  }

  private finishWatch(w: StopWatch, state: StopConfirmState): void {
    this.clearTimers(w);
    if (state === 'confirmed') this.dropWatchQueries();
    w.state = state;
    this.emit('stop-state', this.stopEvent(w));
  }

  /**
   * A status arrived: when it proves the watched stop, the stop is confirmed. A stop that
   * ended unconfirmed is confirmed late by such a status (`late` on its state): the device
   * went off after all (switched off by hand, or its own timer).
   */
  private judgeStop(session: ProtocolSession, status: DeviceStatus): void {
    const w = this.watch;
    if (!w || w.session !== session || w.attemptPending || (w.state !== 'waiting' && w.state !== 'cannot-confirm' && w.state !== 'unconfirmed')) return;
    const late = w.state === 'unconfirmed';
    let verdict;
    try {
      verdict = w.proof.judge(status, this.clock.now() - w.settledAt);
    } catch {
      return;
    }
    if (verdict !== 'off') return;
    w.confirmedAt = this.clock.now();
    if (late) w.late = true;
    this.finishWatch(w, 'confirmed');
  }

  /** Emits `stop-proof` for a status read while no stop waits for its proof (see {@link DeviceLinkEvents}). */
  private judgeOutsideWatch(session: ProtocolSession, status: DeviceStatus): void {
    const proof = session.stopProof;
    const w = this.watch;
    if (!proof || (w?.state === 'waiting' && w.session === session)) return;
    let verdict;
    try {
      // Long after any stop attempt (a proof's grace after its own toggles still applies).
      verdict = proof.judge(status, w ? this.clock.now() - w.settledAt : Number.MAX_SAFE_INTEGER);
    } catch {
      return;
    }
    if (verdict !== undefined) this.emit('stop-proof', verdict);
  }

  private startKeepalive(session: ProtocolSession): void {
    const keepalive = session.keepalive;
    if (!keepalive) return;
    const tick = (): void => {
      this.keepaliveTimer = this.clock.setTimeout(tick, keepalive.intervalMs);
      if (this.held || this.linkState !== 'connected' || session !== this.currentSession) return;
      // Only while the motor was last commanded to run: a keepalive is a motion write
      // (it may keep or start the motor), never sent after a stop or before the first step.
      if (this.received.value <= 0 || this.inFlight?.kind === 'stop' || this.queue.some((j) => j.kind === 'stop')) return;
      if (this.queue.some((j) => j.kind === 'keepalive')) return;
      this.enqueue({ kind: 'keepalive', writes: keepalive.writes(), waiters: [] }).catch(() => undefined);
    };
    this.keepaliveTimer = this.clock.setTimeout(tick, keepalive.intervalMs);
  }

  private stopKeepalive(): void {
    if (this.keepaliveTimer !== null) this.clock.clearTimeout(this.keepaliveTimer);
    this.keepaliveTimer = null;
  }

  // ---------------------------------------------------------------- drops and reconnecting

  private onLinkDown(reason: string): void {
    this.early.length = 0;
    // The device can no longer say anything about that stop; the reconnect makes and watches its own.
    this.clearWatchTimers();
    this.dropWatchQueries();
    this.watch = null;
    this.offDisconnect?.();
    this.offDisconnect = null;
    this.conn = null;
    this.currentSession = null;
    this.stopKeepalive();
    const expected = this.closing;
    this.failQueue(new GattError('disconnected', `The link to the device dropped: ${reason}.`));
    // While (re)connecting, the pending setup step fails and connect() or the reconnect loop reports it.
    if (this.linkState === 'connecting' || this.linkState === 'reconnecting') return;
    this.emit('disconnected', { reason, expected });
    if (!expected && this.policy.enabled) {
      void this.reconnectLoop();
    } else {
      this.setState('closed');
    }
  }

  private cancelReconnect(): void {
    if (this.reconnectTimer !== null) this.clock.clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    this.reconnectWake?.();
    this.reconnectWake = null;
  }

  private waitForReconnect(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.reconnectWake = resolve;
      this.reconnectTimer = this.clock.setTimeout(() => {
        this.reconnectTimer = null;
        this.reconnectWake = null;
        resolve();
      }, ms);
    });
  }

  private async reconnectLoop(): Promise<void> {
    this.setState('reconnecting');
    const started = this.clock.now();
    let delay = this.policy.initialDelayMs;
    let attempt = 0;
    let lastReason = 'the device did not come back';
    while (!this.closing) {
      attempt += 1;
      this.emit('reconnecting', { attempt, delayMs: delay });
      await this.waitForReconnect(delay);
      if (this.closing) return;
      if (this.clock.now() - started > this.policy.giveUpAfterMs) break;
      delay = Math.min(delay * 2, this.policy.maxDelayMs);
      if (this.policy.isAdvertising && !this.policy.isAdvertising()) {
        lastReason = 'the device is not advertising';
        continue;
      }
      try {
        const info = await this.setup(true);
        if (this.closing) {
          await this.conn?.disconnect().catch(() => undefined);
          return;
        }
        this.emit('reconnected', info);
        return;
      } catch (error) {
        lastReason = error instanceof Error ? error.message : String(error);
        if (error instanceof LinkError && error.code === 'refused') break;
      }
    }
    if (this.closing) return;
    this.setState('closed');
    this.emit('reconnect-failed', { attempts: attempt, reason: lastReason });
  }
}
