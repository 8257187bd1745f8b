/**
 * The safety governor (DESIGN §1, §2): the main process's authority over the motor.
 *
 * The renderer asks; the governor decides. It grants or refuses sessions against the
 * session cap and the daily budget, clamps every intensity to the ceiling, ramps the
 * values written, counts motor-on time, ends a session when its granted time is used,
 * and runs the heartbeat watchdog. A stop always wins: it reaches the motor port
 * before any bookkeeping, and after it nothing restarts the motor without a new user
 * action (a new `startSession` or `resume`).
 *
 * Units: intensities are 0..1 of the device's full range; steps are device steps;
 * `*Ms` are milliseconds; everything else is seconds. Routine time (the ramp, the
 * session cap, motor-time accounting) runs `timeScale` times faster than real time in
 * demo mode; safety deadlines (the watchdog) always run in real time.
 */
import { ceilingStep, intensityToStep } from '../../protocols/intensity';
import type { DeviceKind, Motion } from '../../protocols/types';
import { systemClock, type Clock } from '../lib/clock';
import { Emitter } from '../lib/emitter';
import { Refusal } from '../ipc/boundary';
import type {
  ClampedEvent,
  ErrorCode,
  MuscleGroup,
  SessionEndReason,
  SessionEndedEvent,
  SessionStartResult,
  SessionStateEvent,
  WarningEvent,
} from '../ipc/contract';
import {
  DAILY_BUDGET_MAX_SECONDS,
  KIND_RULES,
  MIN_GRANT_SECONDS,
  PAIN_INTENSITY_FACTOR,
  RESERVE_AHEAD_SECONDS,
  RESERVE_RENEW_MS,
  SESSION_CAP_MAX_SECONDS,
  WATCHDOG_DEADLINE_MS,
} from './rules';

/**
 * The connected device as the governor sees it. Writes are fire-and-forget: the
 * device link queues and coalesces them; `stop` goes next on the wire.
 */
export interface MotorPort {
  kind: DeviceKind;
  /** The ramp for this device, fraction of full range per second of routine time (default: its kind's, `KIND_RULES`). */
  rampPerSecond?: number;
  /** Intensity steps above 0 and the lowest running step. */
  steps: number;
  minRunningStep: number;
  stepUnit: string;
  /** Writes a normalised intensity 0..1 (already clamped and ramped; > 0). */
  writeIntensity(value: number): void;
  /** Sets the mode for a routine motion, where the device has modes. */
  writeMotion(motion: Motion): void;
  /** Sets the device's own timer to cover `seconds` (device-side failsafe), where it has one. */
  writeTimer(seconds: number): void;
  /** Stops the motor; resolves when the stop is on the wire (or failed). */
  stop(): Promise<void>;
  /**
   * Resolves when the latest stop is over as far as the device can say, or at once when
   * there is nothing to wait for. Absent: a stop is over when its write settles. Resolves
   * `true` (or nothing) when the motor is off as far as can be known: confirmed, or the
   * device cannot confirm (the stop written is all there is), or a new motor command
   * superseded the stop. Resolves `false` when the link went down before the stop had its
   * verdict, and `'unconfirmed'` when the device did not confirm it (every attempt made, or
   * no verdict in time) with the link up: either way the motor may still run, and its time
   * is counted on until {@link SafetyGovernor.deviceReachable} names this device.
   */
  untilStopped?(): Promise<boolean | 'unconfirmed' | void>;
  /**
   * Whether a write can reach the device now (its link is up). Absent: always. A session
   * neither starts nor resumes while it is false.
   */
  reachable?(): boolean;
  /**
   * The peripheral this port drives (a new port is made on every connection). Names
   * whose link-down count {@link SafetyGovernor.deviceReachable} settles.
   */
  deviceId?: string;
}

/** Where motor time and pain events are recorded (the usage log). */
export interface UsageLedger {
  /** Motor-on seconds charged to `group`'s budget day in force at `wallMs` (DESIGN §1's day rule). */
  usedSeconds(group: MuscleGroup, wallMs: number): number;
  /** Charges motor time; the ledger splits an interval that spans local midnight. */
  addMotorTime(sessionId: string, group: MuscleGroup, fromWallMs: number, toWallMs: number): void;
  startSession(info: { sessionId: string; group: MuscleGroup; routineId?: string; wallMs: number }): void;
  endSession(sessionId: string, reason: SessionEndReason, wallMs: number): void;
  recordPain(sessionId: string, group: MuscleGroup, wallMs: number): void;
  /** Whether the last session of `group` ended in a pain event. */
  lastSessionHurt(group: MuscleGroup): boolean;
  /** Epoch ms when `group`'s budget resets, as seen at `wallMs` (a local midnight). */
  nextMidnight(wallMs: number, group: MuscleGroup): number;
  /** Why no new session may start (e.g. the usage log is full of entries it may not drop), or null. Optional. */
  startRefusal?(wallMs: number): { code: ErrorCode; message: string } | null;
  /**
   * Optional: makes the log on disk cover the session's motor seconds charged so far
   * plus `aheadSeconds` (a reservation, counted if the app dies); resolves once it is
   * on disk, rejects when it cannot be written. With it, the motor starts only once a
   * reservation of {@link RESERVE_AHEAD_SECONDS} is on disk, and it is renewed every
   * {@link RESERVE_RENEW_MS} while the motor may run.
   */
  reserve?(sessionId: string, group: MuscleGroup, aheadSeconds: number, wallMs: number): Promise<void>;
  /** Optional: drops the session's reservation (the motor is off and its time charged). */
  release?(sessionId: string): void;
}

/** Limits in force, read at every decision (settings may change at any time). */
export interface LimitsSource {
  /** Ceiling 0..1 for the attached device. */
  ceiling(): number;
  sessionCapSeconds(): number;
  dailyBudgetSeconds(): number;
  /** Why the motor may not run for this device kind and group (screening, excluded group), or null. */
  motorBlock(kind: DeviceKind, group: MuscleGroup): { code: ErrorCode; message: string } | null;
}

/** A refusal with a code from the IPC contract and a message for the user. */
export class GovernorRefusal extends Refusal {
  constructor(code: ErrorCode, message: string) {
    super(code, message);
    this.name = 'GovernorRefusal';
  }
}

/** Events the governor emits, with their payloads; the core forwards them to renderers. */
export interface GovernorEvents {
  state: SessionStateEvent;
  ended: SessionEndedEvent;
  clamped: ClampedEvent;
  warning: WarningEvent;
  /** Every step the governor commands (0 = stop); for the device status and for tests. */
  output: number;
}

interface Session {
  id: string;
  owner: string;
  group: MuscleGroup;
  routineId?: string;
  grantedSeconds: number;
  /** Which limit set the grant: the cap or the budget. */
  grantLimit: 'session-cap' | 'daily-budget';
  usedSeconds: number;
  state: 'running' | 'paused' | 'ended';
  pausedReason?: string;
  /** Requested intensity 0..1 before the ceiling. */
  target: number;
  motion?: Motion;
  /** The ceiling when the session started (a raised one waits for the next session). */
  ceilingAtStart?: number;
  /** The motion last sent to the device while its step was above 0. */
  writtenMotion?: Motion;
  /** Ramped output 0..1 (before quantising to a step). */
  output: number;
  /** Last step written (0 = stopped). */
  step: number;
  lastHeartbeatMs: number;
  lastTickMs: number;
  /** When the ramp last advanced (monotonic ms). */
  lastRampMs?: number;
  /** When the motor was last switched from off to on (monotonic ms). */
  onSinceMs?: number;
  /**
   * Set when the motor is switched from off to on; cleared by the device's first report
   * that it runs, which must show a level within the ceiling (a chair starts at its own
   * remembered speed until its speed key lands).
   */
  awaitingFirstRunReport?: boolean;
  deadline?: unknown;
  /** Motor seconds of this session the log on disk covers (charged plus reserved); absent: no reservation. */
  coveredSeconds?: number;
  /** A reservation is being written. */
  reserving?: boolean;
  /** When a reservation was last asked for (monotonic ms). */
  lastReserveMs?: number;
  /** Stop tails still being timed (their motor time is not charged yet). */
  tails?: number;
}

const TICK_MS = 50;

/** Why a session cannot start or resume while the device's link is down. */
const NOT_REACHABLE = 'The massager is not connected yet. Wait for it to reconnect.';

/** Why a session paused when its motor time could not be put on disk first (issue 13, 3d). */
const RESERVE_FAILED = 'Unknot could not save its usage log, so the massager was stopped. Check that the disk has space, then resume.';
const RESERVE_BEHIND = 'Saving the usage log fell behind, so the massager was stopped to keep the daily limit exact. Resume when ready.';

let counter = 0;
function newSessionId(): string {
  counter += 1;
  return `s-${Date.now().toString(36)}-${counter}`;
}

/** See the module comment. */
export class SafetyGovernor {
  private motor: MotorPort | null = null;
  private session: Session | null = null;
  private ticker: unknown = null;
  private readonly events = new Emitter<GovernorEvents>();
  private lastClampKey = '';
  /**
   * Motors that may run on uncounted by a session, per peripheral (undefined: a port that
   * names none): their link went down while they may have run ({@link devicePaused}), or
   * their stop ended unconfirmed. Each entry's motor time is counted until
   * {@link deviceReachable} settles that peripheral.
   */
  private readonly runOn = new Map<string | undefined, { done: () => void }>();
  /** Motor time being counted but not yet charged (stop tails awaiting a verdict, run-on counts): group and start (monotonic ms). */
  private readonly counting = new Set<{ group: MuscleGroup; fromMs: number }>();
  /**
   * The session whose motor may be running: a step above 0 was written for it, and no stop
   * has had the device's verdict since (a stop lost in a dropped link settles nothing).
   */
  private maybeOn: Session | null = null;
  /** Counts the writes that switched a motor from off to on (a stop's verdict settles only its own). */
  private motorOnSeq = 0;
  /** Stop tails being timed (see {@link idle}). */
  private readonly tailsPending = new Set<Promise<void>>();

  constructor(
    private readonly ledger: UsageLedger,
    private readonly limits: LimitsSource,
    private readonly clock: Clock = systemClock,
    /** Demo only: routine time runs this many times faster than real time. */
    private readonly timeScale = 1,
  ) {}

  /** Subscribes to an event; returns an unsubscribe function. A throwing listener never stops the governor. */
  on<K extends keyof GovernorEvents>(event: K, listener: (payload: GovernorEvents[K]) => void): () => void {
    return this.events.on(event, listener);
  }

  private emit<K extends keyof GovernorEvents>(event: K, payload: GovernorEvents[K]): void {
    this.events.emit(event, payload);
  }

  /**
   * The device the governor commands (null when none is connected). A device whose link
   * was lost while its motor may have run stays counted after another takes its place, until
   * it is settled ({@link deviceReachable}).
   */
  attachMotor(port: MotorPort | null): void {
    this.motor = port;
  }

  /** The running or paused session, for status displays. */
  current(): Readonly<SessionStateEvent> | null {
    return this.session && this.session.state !== 'ended' ? this.stateEvent(this.session) : null;
  }

  /** The highest step the ceiling allows on the attached device (0 when none). */
  maxStep(): number {
    if (!this.motor) return 0;
    return ceilingStep(this.ceilingInForce(), this.motor.steps);
  }

  /**
   * The ceiling (0..1) in force: the current setting, except that during a session a
   * raised one applies only from the next session (a lowered one applies at once), from
   * whichever window it was changed.
   */
  ceilingInForce(): number {
    const now = this.clampCeiling(this.limits.ceiling());
    const s = this.session;
    return s && s.state !== 'ended' && s.ceilingAtStart !== undefined ? Math.min(now, s.ceilingAtStart) : now;
  }

  /** The last step commanded (0 when stopped). */
  commandedStep(): number {
    return this.session?.state === 'running' ? this.session.step : 0;
  }

  /** Monotonic ms since when the motor has been commanded on without a break, or null when it is off. */
  runningSinceMs(): number | null {
    const s = this.session;
    return s && s.state === 'running' && s.step > 0 && s.onSinceMs !== undefined ? s.onSinceMs : null;
  }

  private clampCeiling(c: number): number {
    return Number.isFinite(c) ? Math.min(1, Math.max(0.1, c)) : 0.1;
  }

  /**
   * Grants a session or refuses it.
   * @returns the session id and the granted motor seconds (the plan shortened to the
   *   session cap and to what is left of today's budget).
   * @throws GovernorRefusal `not-connected`, `blocked-by-screening`, `refused` (another
   *   session runs, or the ceiling is below the device's minimum running step), the
   *   ledger's refusal (`usage-log-full`), or `budget-exhausted` (under 60 s left; the
   *   message says when it resets).
   */
  startSession(owner: string, req: { muscleGroup: MuscleGroup; plannedMotorSeconds: number; routineId?: string }): SessionStartResult {
    const motor = this.motor;
    if (!motor) throw new GovernorRefusal('not-connected', 'Connect a massager first.');
    if (motor.reachable?.() === false) throw new GovernorRefusal('not-connected', NOT_REACHABLE);
    if (this.session && this.session.state !== 'ended') {
      throw new GovernorRefusal('refused', 'A session is already running. Stop it before starting another.');
    }
    const block = this.limits.motorBlock(motor.kind, req.muscleGroup) ?? this.ledger.startRefusal?.(this.clock.wallNow()) ?? null;
    if (block) throw new GovernorRefusal(block.code, block.message);
    if (this.maxStep() < motor.minRunningStep) {
      throw new GovernorRefusal(
        'refused',
        'This massager cannot run as gently as your intensity ceiling asks. Raise the ceiling in Settings or use another device.',
      );
    }
    const wall = this.clock.wallNow();
    const budget = Math.min(this.limits.dailyBudgetSeconds(), DAILY_BUDGET_MAX_SECONDS);
    const left = Math.max(0, budget - this.ledger.usedSeconds(req.muscleGroup, wall) - this.pendingSeconds(req.muscleGroup));
    if (left < MIN_GRANT_SECONDS) {
      const minutes = Math.max(1, Math.ceil((this.ledger.nextMidnight(wall, req.muscleGroup) - wall) / 60_000));
      const wait = minutes >= 60 ? `${Math.floor(minutes / 60)} h ${minutes % 60} min` : `${minutes} min`;
      throw new GovernorRefusal(
        'budget-exhausted',
        `Less than a minute of today's time is left for this area. It resets at midnight, in ${wait}.`,
      );
    }
    const cap = Math.min(this.limits.sessionCapSeconds(), SESSION_CAP_MAX_SECONDS);
    const planned = Math.max(0, req.plannedMotorSeconds);
    const granted = Math.floor(Math.min(planned, cap, left));
    if (granted < 1) throw new GovernorRefusal('refused', 'The planned time is too short.');
    const now = this.clock.now();
    const s: Session = {
      id: newSessionId(),
      owner,
      group: req.muscleGroup,
      ...(req.routineId ? { routineId: req.routineId } : {}),
      grantedSeconds: granted,
      grantLimit: left < Math.min(planned, cap) ? 'daily-budget' : 'session-cap',
      usedSeconds: 0,
      state: 'running',
      target: 0,
      output: 0,
      step: 0,
      lastHeartbeatMs: now,
      lastTickMs: now,
    };
    s.ceilingAtStart = this.clampCeiling(this.limits.ceiling());
    // Read before this session is recorded: afterwards it would be the group's last one.
    const intensityFactor = this.ledger.lastSessionHurt(req.muscleGroup) ? PAIN_INTENSITY_FACTOR : 1;
    this.session = s;
    this.lastClampKey = '';
    this.ledger.startSession({ sessionId: s.id, group: s.group, ...(s.routineId ? { routineId: s.routineId } : {}), wallMs: wall });
    motor.writeTimer(granted / this.timeScale);
    this.startTicker();
    this.emit('state', this.stateEvent(s));
    return {
      sessionId: s.id,
      grantedMotorSeconds: granted,
      shortened: granted < planned,
      intensityFactor,
    };
  }

  private own(owner: string, sessionId: string): Session {
    const s = this.session;
    if (!s || s.id !== sessionId || s.state === 'ended') throw new GovernorRefusal('no-session', 'That session is not running.');
    if (s.owner !== owner) throw new GovernorRefusal('not-owner', 'Another window controls this session.');
    return s;
  }

  /** Records the owner's heartbeat (every second while the session lasts). */
  heartbeat(owner: string, sessionId: string): void {
    const s = this.own(owner, sessionId);
    s.lastHeartbeatMs = this.clock.now();
  }

  /**
   * Sets the requested intensity (0..1, before the ceiling) and motion for the current step.
   * @throws GovernorRefusal when the session is not running or not the caller's; RangeError for a non-finite or out-of-range intensity.
   */
  setStep(owner: string, sessionId: string, intensity: number, motion?: Motion): void {
    const s = this.own(owner, sessionId);
    if (typeof intensity !== 'number' || !Number.isFinite(intensity) || intensity < 0 || intensity > 1) {
      throw new RangeError('Intensity must be a number from 0 to 1.');
    }
    // Only session.heartbeat feeds the watchdog (DESIGN §2): a window that keeps sending
    // steps but has stopped its heartbeat is not known to be alive.
    this.account(s);
    s.target = intensity;
    if (motion) s.motion = motion;
    // A mode or technique is sent only while the motor runs under this session (step > 0):
    // on a chair a technique key alone runs the rollers at the chair's own speed. When the
    // step rises from 0, apply() sends the motion just before the intensity.
    if (s.state === 'running' && s.step > 0 && s.target > 0 && s.motion && s.motion !== s.writtenMotion) {
      s.writtenMotion = s.motion;
      this.motor?.writeMotion(s.motion);
    }
    if (s.state === 'running') this.apply(s);
  }

  /** Pauses: the motor stops and its clock with it. */
  pause(owner: string, sessionId: string): void {
    const s = this.own(owner, sessionId);
    this.pauseSession(s, 'Paused.');
  }

  /** Resumes a paused session (a user action); the ramp starts again from zero. */
  resume(owner: string, sessionId: string): void {
    const s = this.own(owner, sessionId);
    if (s.state !== 'paused') return;
    if (!this.motor) throw new GovernorRefusal('not-connected', 'The massager is not connected.');
    if (this.motor.reachable?.() === false) throw new GovernorRefusal('not-connected', NOT_REACHABLE);
    const block = this.limits.motorBlock(this.motor.kind, s.group);
    if (block) throw new GovernorRefusal(block.code, block.message);
    s.state = 'running';
    delete s.pausedReason;
    s.output = 0;
    s.step = 0;
    s.lastTickMs = this.clock.now();
    s.lastHeartbeatMs = s.lastTickMs;
    delete s.lastRampMs;
    delete s.writtenMotion; // sent again with the first step above 0
    this.apply(s);
    this.emit('state', this.stateEvent(s));
  }

  /**
   * Ends the caller's session (routine finished or user's choice). A paused session (the
   * user's pause, or a link that dropped) did not run to its end: `completed` becomes
   * `user-stop` there.
   */
  async end(owner: string, sessionId: string, reason: SessionEndReason = 'completed'): Promise<SessionEndedEvent> {
    const s = this.own(owner, sessionId);
    return this.finish(s, reason === 'completed' && s.state === 'paused' ? 'user-stop' : reason);
  }

  /** "Stop — it hurts": stops at once, records a pain event, ends the session. */
  async hurt(owner: string, sessionId: string): Promise<SessionEndedEvent> {
    const s = this.own(owner, sessionId);
    const stopped = this.finish(s, 'hurt');
    this.ledger.recordPain(s.id, s.group, this.clock.wallNow());
    return stopped;
  }

  /**
   * Stops the motor, whatever the state, and ends the session with `reason`.
   * The stop reaches the port first; it never throws.
   */
  async stopAll(reason: SessionEndReason): Promise<void> {
    const s = this.session;
    if (s && s.state !== 'ended') {
      await this.finish(s, reason);
      return;
    }
    await this.stopMotor();
  }

  /**
   * A stop the device did not confirm (its deadline and repeats passed): a running or
   * paused session ends with `stop-unconfirmed` and can no longer be resumed. No further
   * stop is written from here: the link has made every attempt the protocol allows.
   */
  async stopUnconfirmed(): Promise<void> {
    const s = this.session;
    if (s && s.state !== 'ended') await this.finish(s, 'stop-unconfirmed', false);
  }

  /**
   * The screening or settings changed: when the motor may no longer run for the running
   * or paused session's device and area, the session ends with a stop at once.
   */
  async recheckBlock(): Promise<void> {
    const s = this.session;
    if (!s || s.state === 'ended' || !this.motor) return;
    if (this.limits.motorBlock(this.motor.kind, s.group)) await this.finish(s, 'screening');
  }

  /** A renderer went away; when it owned the session, the motor stops. */
  async connectionLost(owner: string, reason: SessionEndReason): Promise<void> {
    const s = this.session;
    if (s && s.state !== 'ended' && s.owner === owner) await this.finish(s, reason);
  }

  /**
   * The link dropped or the adapter went off: nothing can be written, so the session
   * pauses (motor time counted up to now) and the user is warned the device may still run.
   */
  devicePaused(message: string): void {
    const s = this.session;
    if (s) this.pauseSession(s, message, false);
    // A dropped link stops nothing: the motor may run on at its last speed (also when the
    // session was paused or ended by a stop the drop swallowed), and its time is counted
    // (DESIGN §4) until the device is settled ({@link deviceReachable}).
    if (this.maybeOn) this.countRunOn(this.maybeOn, this.maybeOnDevice);
  }

  /**
   * A device that may have run on is settled: a stop reached it and has its verdict (the
   * reconnect's, a confirmed one later, or the first one on a later connection), or the
   * user said it is off. Its motor time since the count began (its link dropped, or its
   * stop ended unconfirmed) is charged now. `deviceId` names the peripheral: only its own
   * count ends (and a count of a port that names no peripheral); absent: every count
   * (the app is closing). Harmless when nothing is counted.
   */
  deviceReachable(deviceId?: string): void {
    for (const [key, count] of [...this.runOn]) {
      if (deviceId !== undefined && key !== undefined && key !== deviceId) continue;
      this.runOn.delete(key);
      if (this.maybeOn && this.maybeOnDevice === key) this.maybeOn = null;
      count.done();
    }
  }

  /**
   * Motor seconds of `group` (routine time) being counted but not yet charged to the
   * ledger: stop tails awaiting the device's verdict, and motors that may run on while out
   * of reach or after an unconfirmed stop. The daily budget counts them as used.
   */
  pendingSeconds(group: MuscleGroup): number {
    const now = this.clock.now();
    let total = 0;
    for (const c of this.counting) if (c.group === group) total += (Math.max(0, now - c.fromMs) / 1000) * this.timeScale;
    return total;
  }

  /** The peripheral of {@link maybeOn}'s motor. */
  private maybeOnDevice: string | undefined;

  /** The session that last switched each peripheral's motor on: the area a later run-on of it is charged to. */
  private readonly lastOn = new Map<string | undefined, Session>();

  /**
   * The device reports that its motor runs while no session has it on (after an unconfirmed
   * stop, or after the user said it is off): its motor time is counted again, to the area
   * of the last session that switched it on, until {@link deviceReachable} settles it.
   * Harmless when it is counted already, while a session has this motor on, or when no
   * session ran it (there is no area to charge).
   */
  deviceRunsOn(deviceId: string): void {
    if (this.runningSinceMs() !== null && this.motor?.deviceId === deviceId) return;
    const s = this.lastOn.get(deviceId);
    if (s) this.countRunOn(s, deviceId);
  }

  /** Starts counting `s`'s motor time on `deviceId`, which may run on unreached (once per peripheral; see {@link runOn}). */
  private countRunOn(s: Session, deviceId: string | undefined): void {
    if (this.disposed || this.runOn.has(deviceId)) return;
    let done!: () => void;
    const settled = new Promise<void>((resolve) => (done = resolve));
    this.runOn.set(deviceId, { done });
    s.tails = (s.tails ?? 0) + 1;
    // The count renews a reservation on disk: it is released with the last tail, also when
    // the session's own one was released already (a count begun again, deviceRunsOn).
    s.coveredSeconds ??= s.usedSeconds;
    this.keepPending(this.chargeTail(s, this.clock.now(), () => settled));
  }

  /**
   * A status from the device. `level` is in device steps (the unit of
   * {@link MotorPort.stepUnit}); it is compared with the ceiling only when
   * `levelIsIntensity`. The first report that the device runs (`deviceRunning`) after the
   * motor was switched on must show a level within the ceiling's step, or the session
   * ends at once with reason `above-ceiling` (a chair runs at its own remembered speed
   * until its speed key lands, issue 13). Any later report above the ceiling (set on the
   * device by its own buttons) is a warning `above-ceiling` (DESIGN §4).
   */
  reportDeviceLevel(level: number, levelIsIntensity: boolean, deviceRunning = false): void {
    if (!this.motor || !levelIsIntensity || !Number.isFinite(level)) return;
    const max = this.maxStep();
    const s = this.session;
    if (s && s.state === 'running' && s.awaitingFirstRunReport && deviceRunning) {
      delete s.awaitingFirstRunReport;
      if (level > max) {
        void this.finish(s, 'above-ceiling');
        return;
      }
    }
    if (level > max) {
      this.emit('warning', {
        code: 'above-ceiling',
        message: `The massager reports ${level} ${this.motor.stepUnit}, above your ceiling of ${max} ${this.motor.stepUnit}. It was set on the device itself; lower it there or press Stop.`,
      });
    }
  }

  /**
   * Releases timers; a motor counted while it may run on is charged up to now, and no new
   * count starts afterwards (a stop's verdict that comes in while the app closes, e.g. its
   * link closing, would otherwise start a count that nothing settles and {@link idle} waits for).
   */
  dispose(): void {
    this.disposed = true;
    this.deviceReachable();
    this.stopTicker();
  }

  /** Set by {@link dispose}: the app is closing. */
  private disposed = false;

  // ---- internals ----

  private stateEvent(s: Session): SessionStateEvent {
    return {
      sessionId: s.id,
      state: s.state,
      muscleGroup: s.group,
      ...(s.routineId ? { routineId: s.routineId } : {}),
      grantedMotorSeconds: s.grantedSeconds,
      usedMotorSeconds: Math.round(s.usedSeconds * 10) / 10,
      ...(s.pausedReason ? { pausedReason: s.pausedReason } : {}),
    };
  }

  private startTicker(): void {
    if (this.ticker === null) this.ticker = this.clock.setInterval(() => this.tick(), TICK_MS);
  }

  private stopTicker(): void {
    if (this.ticker !== null) this.clock.clearInterval(this.ticker);
    this.ticker = null;
  }

  /** Advances time: motor accounting, limits, watchdog and ramp. Exposed for tests. */
  tick(): void {
    const s = this.session;
    if (!s || s.state === 'ended') return;
    if (s.state === 'running' && this.clock.now() - s.lastHeartbeatMs > WATCHDOG_DEADLINE_MS) {
      void this.finish(s, 'watchdog');
      return;
    }
    this.account(s);
    if (s.state === 'running') this.apply(s);
    if (s.state === 'running' && s.step > 0) this.keepCovered(s);
  }

  /**
   * While the motor runs: renews the reservation every second, and stops the motor
   * (a pause) when the log on disk no longer covers the time it has run.
   */
  private keepCovered(s: Session): void {
    if (!this.ledger.reserve) return;
    if (s.coveredSeconds === undefined || s.coveredSeconds - s.usedSeconds < 0.5 * this.timeScale) {
      this.pauseSession(s, RESERVE_BEHIND);
      return;
    }
    if (this.clock.now() - (s.lastReserveMs ?? -Infinity) >= RESERVE_RENEW_MS) this.reserveFor(s);
  }

  /** Whether the log on disk covers the next seconds of motor time, so the motor may start (always, without reservations). */
  private startCovered(s: Session): boolean {
    if (!this.ledger.reserve) return true;
    return s.coveredSeconds !== undefined && s.coveredSeconds - s.usedSeconds >= RESERVE_AHEAD_SECONDS * this.timeScale - 1e-6;
  }

  /**
   * Asks the ledger to cover the session's motor time so far plus the next
   * {@link RESERVE_AHEAD_SECONDS} on disk (one request at a time). A motor start waiting
   * for it goes ahead once it is written; a failed write pauses the session.
   */
  private reserveFor(s: Session): void {
    const ledger = this.ledger;
    if (!ledger.reserve || s.reserving) return;
    s.reserving = true;
    s.lastReserveMs = this.clock.now();
    const ahead = RESERVE_AHEAD_SECONDS * this.timeScale;
    const used = s.usedSeconds;
    let request: Promise<void>;
    try {
      request = ledger.reserve(s.id, s.group, ahead, this.clock.wallNow());
    } catch (error) {
      request = Promise.reject(error);
    }
    request.then(
      () => {
        s.reserving = false;
        s.coveredSeconds = Math.max(s.coveredSeconds ?? 0, used + ahead);
        if (this.session === s && s.state === 'running' && s.step === 0) this.apply(s);
        else this.maybeRelease(s);
      },
      () => {
        s.reserving = false;
        if (this.session === s && s.state === 'running') this.pauseSession(s, RESERVE_FAILED);
        this.maybeRelease(s);
      },
    );
  }

  /** Drops the reservation once the motor is off, its time charged and no reservation is being written. */
  private maybeRelease(s: Session): void {
    if (s.reserving || (s.tails ?? 0) > 0 || (s.state === 'running' && s.step > 0)) return;
    if (s.coveredSeconds === undefined) return;
    delete s.coveredSeconds;
    try {
      this.ledger.release?.(s.id);
    } catch {
      // the reservation stays: it is charged on the next start (the safe side)
    }
  }

  /** Resolves when every stop tail still being timed has been charged (call before a final save). */
  async idle(): Promise<void> {
    while (this.tailsPending.size > 0) await Promise.all([...this.tailsPending]);
  }

  /** Counts motor-on time since the last tick and ends the session at its limits. */
  private account(s: Session, enforce = true): void {
    const now = this.clock.now();
    const dtReal = Math.max(0, now - s.lastTickMs);
    s.lastTickMs = now;
    if (s.state !== 'running' || s.step === 0 || dtReal === 0) return;
    // The cap in force now: the user may lower it during a session (limits are read at every decision).
    const cap = Math.min(this.limits.sessionCapSeconds(), SESSION_CAP_MAX_SECONDS);
    const left = Math.min(s.grantedSeconds, cap) - s.usedSeconds;
    const dt = Math.min((dtReal / 1000) * this.timeScale, Math.max(0, left));
    if (dt > 0) {
      s.usedSeconds += dt;
      const wall = this.clock.wallNow();
      this.ledger.addMotorTime(s.id, s.group, wall - dt * 1000, wall);
    }
    // finish() counts the last interval without enforcing: ending from here again would
    // recurse finish → account → finish until the stack overflows.
    if (!enforce) return;
    if (s.usedSeconds >= s.grantedSeconds - 1e-9) {
      void this.finish(s, s.grantLimit);
      return;
    }
    if (s.usedSeconds >= cap - 1e-9) {
      void this.finish(s, 'session-cap');
      return;
    }
    const budget = Math.min(this.limits.dailyBudgetSeconds(), DAILY_BUDGET_MAX_SECONDS);
    if (this.ledger.usedSeconds(s.group, this.clock.wallNow()) + this.pendingSeconds(s.group) >= budget) void this.finish(s, 'daily-budget');
  }

  /** Ramps toward the clamped target and writes the step when it changes. */
  private apply(s: Session): void {
    const motor = this.motor;
    if (!motor || s.state !== 'running') return;
    const steps = motor.steps;
    const max = this.maxStep();
    const requested = intensityToStep(s.target, steps);
    const targetValue = Math.min(s.target, max / steps);
    // The motor starts only once the log on disk covers its next seconds (issue 13, 3d);
    // until then it stays off and the ramp waits at zero.
    if (s.step === 0 && targetValue > 0 && !this.startCovered(s)) {
      s.output = 0;
      delete s.lastRampMs;
      this.reserveFor(s);
      return;
    }
    if (targetValue <= s.output) {
      s.output = targetValue; // decreases are immediate
    } else {
      const rate = (motor.rampPerSecond ?? KIND_RULES[motor.kind].rampPerSecond) * this.timeScale;
      // The rise is measured from the last ramp update; the first update after a
      // start or resume only sets the reference point, so no value jumps.
      const dt = Math.max(0, this.clock.now() - (s.lastRampMs ?? this.clock.now())) / 1000;
      s.output = Math.min(targetValue, s.output + rate * dt);
    }
    s.lastRampMs = this.clock.now();
    let step = s.output > 0 ? intensityToStep(Math.min(1, s.output), steps) : 0;
    if (step > 0 && step < motor.minRunningStep) step = motor.minRunningStep;
    step = Math.min(step, max);
    if (requested > max) {
      const key = `${s.id}:${requested}`;
      if (key !== this.lastClampKey) {
        this.lastClampKey = key;
        this.emit('clamped', { requestedStep: requested, commandedStep: max, maxStep: max, stepUnit: motor.stepUnit });
      }
    }
    if (step === s.step) return;
    const wasOff = s.step === 0;
    if (wasOff && step > 0) {
      s.lastTickMs = this.clock.now();
      s.onSinceMs = s.lastTickMs;
      s.awaitingFirstRunReport = true;
      this.motorOnSeq++;
      this.maybeOn = s;
      this.maybeOnDevice = motor.deviceId;
      this.lastOn.set(motor.deviceId, s);
    }
    s.step = step;
    this.emit('output', step);
    if (step === 0) {
      delete s.writtenMotion;
      void this.stopMotor(wasOff ? undefined : s);
    } else {
      if (wasOff && s.motion && s.motion !== s.writtenMotion) {
        s.writtenMotion = s.motion;
        motor.writeMotion(s.motion);
      }
      motor.writeIntensity(step / steps);
      this.armDeadline(s);
    }
  }

  /** Arms a timer for the moment the granted time runs out, so the stop does not wait for a tick. */
  private armDeadline(s: Session): void {
    this.clearDeadline(s);
    const leftMs = ((s.grantedSeconds - s.usedSeconds) * 1000) / this.timeScale;
    s.deadline = this.clock.setTimeout(() => {
      delete s.deadline;
      this.tick();
    }, Math.max(0, leftMs));
  }

  /**
   * Pauses a running session: motor time counted up to now, output 0, no end-of-time
   * timer. `writeStop` is false when nothing can be written (the link is down).
   */
  private pauseSession(s: Session, reason: string, writeStop = true): void {
    if (s.state !== 'running') return;
    this.account(s);
    if (this.session !== s || s.state !== 'running') return;
    const wasOn = s.step > 0;
    s.state = 'paused';
    s.pausedReason = reason;
    s.output = 0;
    s.step = 0;
    this.clearDeadline(s);
    this.emit('output', 0);
    if (writeStop) void this.stopMotor(wasOn ? s : undefined);
    this.emit('state', this.stateEvent(s));
  }

  private clearDeadline(s: Session): void {
    if (s.deadline !== undefined) this.clock.clearTimeout(s.deadline);
    delete s.deadline;
  }

  /**
   * Stops the motor; resolves once the stop is on the wire. When the motor ran under
   * `chargeTo`, the time until the device confirms the stop (DESIGN §4: motor time runs
   * until then) is charged to that session's group afterwards, in the background.
   */
  private async stopMotor(chargeTo?: Session): Promise<void> {
    const motor = this.motor;
    if (!motor) return;
    const fromMs = this.clock.now();
    const onSeq = this.motorOnSeq;
    // counted from now, so the reservation is not released before the tail is charged
    if (chargeTo) chargeTo.tails = (chargeTo.tails ?? 0) + 1;
    try {
      await motor.stop();
    } catch {
      // The link reports its own failures; the governor has done all it can.
    }
    // The stop's verdict settles the motor it stopped, unless it was switched on again
    // since; a stop lost in a dropped link settles nothing: the count goes on as the
    // link-down count ({@link devicePaused}).
    // An unconfirmed stop settles nothing either: the device may still run, and its time is
    // counted until the user says it is off or a later stop is confirmed.
    const verdict = async (): Promise<void> => {
      const over = motor.untilStopped ? await motor.untilStopped() : true;
      if (over === false || over === 'unconfirmed') {
        const ran = this.maybeOn && this.maybeOnDevice === motor.deviceId ? this.maybeOn : chargeTo;
        if (ran) this.countRunOn(ran, motor.deviceId);
      } else if (this.motorOnSeq === onSeq && this.maybeOnDevice === motor.deviceId && !this.runOn.has(motor.deviceId)) this.maybeOn = null;
    };
    if (chargeTo) this.keepPending(this.chargeTail(chargeTo, fromMs, verdict));
    else void verdict().catch(() => undefined);
  }

  /** Keeps a tail being charged in {@link tailsPending} until it is done (see {@link idle}). */
  private keepPending(tail: Promise<void>): void {
    this.tailsPending.add(tail);
    void tail.finally(() => this.tailsPending.delete(tail));
  }

  /**
   * Charges the motor time from `fromMs` (monotonic) until `until` resolves (at once when
   * absent), to the session's group, and to a paused session's own clock; the reservation
   * on disk is renewed meanwhile, then released. `s.tails` must already count this tail.
   */
  private async chargeTail(s: Session, fromMs: number, until?: () => Promise<void>): Promise<void> {
    const pending = until ? { group: s.group, fromMs } : null;
    if (pending) this.counting.add(pending);
    const reserve = this.ledger.reserve;
    const renew =
      reserve && until
        ? this.clock.setInterval(() => {
            const ahead = ((Math.max(0, this.clock.now() - fromMs) / 1000) + RESERVE_AHEAD_SECONDS) * this.timeScale;
            reserve.call(this.ledger, s.id, s.group, ahead, this.clock.wallNow()).catch(() => undefined);
          }, RESERVE_RENEW_MS)
        : null;
    try {
      await until?.();
    } catch {
      // counted up to now all the same
    } finally {
      if (renew !== null) this.clock.clearInterval(renew);
      if (pending) this.counting.delete(pending);
      s.tails = Math.max(0, (s.tails ?? 1) - 1);
    }
    const dt = (Math.max(0, this.clock.now() - fromMs) / 1000) * this.timeScale;
    if (dt > 0) {
      const wall = this.clock.wallNow();
      try {
        this.ledger.addMotorTime(s.id, s.group, wall - dt * 1000, wall);
        // A paused session's clock stops when the motor does: the tail is its time too.
        if (s.state === 'paused') s.usedSeconds += dt;
      } catch {
        // not charged; the reservation stays (the safe side)
        return;
      }
    }
    this.maybeRelease(s);
  }

  private async finish(s: Session, reason: SessionEndReason, writeStop = true): Promise<SessionEndedEvent> {
    // Stop first: the motor hears about it before any bookkeeping.
    const stopping = writeStop ? this.stopMotor(s.state === 'running' && s.step > 0 ? s : undefined) : Promise.resolve();
    if (s.state === 'ended') {
      await stopping;
      return { sessionId: s.id, reason, message: END_MESSAGES[reason], usedMotorSeconds: s.usedSeconds };
    }
    this.account(s, false);
    s.state = 'ended';
    s.step = 0;
    s.output = 0;
    this.clearDeadline(s);
    this.stopTicker();
    this.emit('output', 0);
    this.ledger.endSession(s.id, reason, this.clock.wallNow());
    const ended: SessionEndedEvent = {
      sessionId: s.id,
      reason,
      message: END_MESSAGES[reason],
      usedMotorSeconds: Math.round(s.usedSeconds * 10) / 10,
    };
    this.emit('state', this.stateEvent(s));
    this.emit('ended', ended);
    // With the motor off (no stop tail to time), the reservation goes now; after an
    // unconfirmed stop it stays (the device may still run).
    if (writeStop) this.maybeRelease(s);
    await stopping;
    return ended;
  }
}


/** What the user reads when a session ends, per reason. */
export const END_MESSAGES: Record<SessionEndReason, string> = {
  completed: 'Routine finished.',
  'user-stop': 'Stopped.',
  hurt: 'Stopped. We noted the discomfort; next time this area starts gentler.',
  'session-cap': 'Stopped: this session reached its time limit.',
  'daily-budget': "Stopped: today's time for this area is used up.",
  watchdog: 'Stopped: Unknot lost contact with the window for more than 3 seconds.',
  'connection-lost': 'Stopped: the window lost its connection to Unknot.',
  'window-closed': 'Stopped: the window was closed.',
  'device-lost': 'The massager disconnected.',
  'app-quit': 'Stopped: Unknot is quitting.',
  suspend: 'Stopped: the computer went to sleep or was locked, or Unknot was suspended (Ctrl+Z in its terminal).',
  'stop-unconfirmed': 'The massager did not confirm that it stopped. Switch it off by hand.',
  screening: 'Stopped: a health answer changed. Talk to a doctor before massaging this way.',
  'above-ceiling':
    'Stopped: the massager started above your ceiling (at a setting it remembered from earlier). Lower it on the device itself, then start again.',
  error: 'Stopped because of an error.',
};
