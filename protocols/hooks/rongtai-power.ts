/**
 * The RongTai / Infinity chair's power rule, the one piece of its protocol that data cannot
 * say (DESIGN §3): power is a toggle with no explicit off, so every command that may toggle
 * it (stop, resume, heat, a routine step, reconnect) goes through one rule kept by the
 * connection's session. Everything else — names, GATT variants, keys, status layout, the
 * checksum — is data in `protocols/profiles/rongtai.json`, which names this hook
 * (`"hook": "rongtai-power-rule"`); the session writes the profile's frames (`power`,
 * `speed`, `mode`, `heat`, `timer`) and reads statuses with the profile's decoder.
 *
 * Sources of the rule's facts: Bread-Yang/RongTai (iOS app), `RTBleConnector.m` (the 1 s
 * wait after switching on; no power while it resets) and dallanwagz/hass-infinity-chair
 * v0.7.0, `custom_components/infinity_chair/protocol.py` (run states, no power while it
 * resets).
 */
import { intensityToStep } from '../intensity';
import type { HookContext, ProfileHook } from '../profile/engine';
import type { DeviceProfile } from '../profile/schema';
import type { Capabilities, Command, ConnectionContext, DecodeResult, DeviceStatus, ProtocolSession, RunState, StopProof, Write } from '../types';

/** The name a profile gives to use this hook. */
export const RONGTAI_POWER_RULE = 'rongtai-power-rule';

/**
 * Pause after a power-on toggle before a speed or technique key, ms: the iOS app waits
 * 1 s after switching the chair on (Bread-Yang/RongTai, `RTBleConnector.m`); the chair
 * ignores techniques until it is on.
 */
export const RONGTAI_POWER_ON_DELAY_MS = 1000;

/** A status frame this recent (ms, by `ctx.now()`) counts as knowing the power state. */
export const RONGTAI_STATUS_FRESH_MS = 3000;

/**
 * After a stop toggle, status frames of this many ms are not taken as knowledge: they
 * may have been sent before the chair acted on the toggle, and a corrective toggle on a
 * stale "running" would switch the chair back on (DESIGN §3).
 */
export const RONGTAI_STOP_GRACE_MS = 1000;

/**
 * After the one extra stop toggle: a chair still reporting "running" this many ms later
 * gets no further toggle; the user is told to switch it off by hand (DESIGN §3).
 */
export const RONGTAI_STOP_RETRY_MS = 3000;

/** Message for the user when a stop could not be sent because the power state is unknown. */
export const RONGTAI_STOP_NOTICE =
  'Unknot is waiting for the chair to report its state before it sends a stop (a power toggle could switch it on). If the chair is running and does not stop within a few seconds, switch it off with its remote or power button.';

/** Message for the user when the chair kept running after a stop and one more toggle. */
export const RONGTAI_BY_HAND_NOTICE =
  'The chair is still running after two power toggles from Unknot. Switch it off with its remote or power button now.';

/** Message for the user while a command waits for the chair to finish its reset. */
export const RONGTAI_RESETTING_NOTICE =
  'The chair is returning to rest. Unknot waits until it has finished before switching it on again.';

/** Message for the user while a command waits for the chair's first status. */
export const RONGTAI_WAIT_STATUS_NOTICE =
  'Waiting for the chair to report its state before switching it on.';


/**
 * The shortest work timer of the profile covering `seconds` (the longest when none does),
 * seconds. A negative time gets the shortest.
 * @throws RangeError for NaN or a non-number.
 */
export function timerFor(profile: DeviceProfile, seconds: number): number {
  if (typeof seconds !== 'number' || Number.isNaN(seconds)) throw new RangeError(`timer seconds must be a number, got ${String(seconds)}`);
  const t = profile.capabilities.timer;
  if (!t) throw new RangeError(`${profile.id} has no work timer`);
  const step = t.roundUpToSeconds;
  const rounded = seconds === Infinity ? t.maxSeconds : Math.ceil(seconds / step) * step;
  return Math.min(t.maxSeconds, Math.max(t.minSeconds, rounded));
}

/** Whether a run state means the chair is switched on (a power toggle would switch it off). */
function isOn(state: RunState): boolean {
  return state === 'running' || state === 'ready';
}

/** What was learnt about the chair's state, when, and in which order. */
interface Knowledge {
  /** From a status frame: its run state. From the app's own commands: `ready` (on) or `idle` (off). */
  state: RunState;
  /** `ctx.now()` when learnt. */
  at: number;
  /** Order in which things were learnt (the clock may not move between two). */
  seq: number;
}

/** A stop toggle on the wire whose effect is not yet seen. */
interface StopCheck {
  /** `ctx.now()` of the latest toggle. */
  at: number;
  /** The one extra toggle was sent. */
  retried: boolean;
}

/**
 * One connection to a chair, with one power rule for every command (DESIGN §3):
 * - **Stop** toggles power only when the chair is on and not resetting: run state
 *   running or ready from a status frame of the last {@link RONGTAI_STATUS_FRESH_MS},
 *   or, without one, from this connection's own commands when no later status
 *   contradicts them. Off, resetting, or a toggle already out: nothing is sent. Not
 *   known (a new connection before its first status): nothing is sent and
 *   {@link stopNotice} asks the user to check the chair; the stop is remembered and
 *   made (as a follow-up) if the first status shows the chair on.
 * - **After a stop toggle**, status frames of the next {@link RONGTAI_STOP_GRACE_MS} are
 *   not taken as knowledge (they may predate it). After that, resetting, idle or ready
 *   means the stop was taken; running gets exactly one more toggle, and if running
 *   persists {@link RONGTAI_STOP_RETRY_MS} after it, no toggle follows and nothing held is
 *   replayed (the link's stop watch tells the user to switch the chair off by hand; a later
 *   stop repeats {@link RONGTAI_BY_HAND_NOTICE}).
 * - **Switching on** (a speed, heat, power on) while the chair is resetting, while a
 *   stop toggle's effect is not yet seen, or before the first status of a connection:
 *   nothing is sent; the command is held and handed back as `replay` once a status
 *   shows the chair idle, ready or running ({@link takeNotice} says why it waits).
 * - **Start order**: power toggle (when off), wait {@link RONGTAI_POWER_ON_DELAY_MS},
 *   speed key, technique key, speed key again, then the pending work timer. A technique
 *   asked for before any speed (`setMotion` while the step is 0) is remembered, not sent:
 *   a technique key runs the rollers at the chair's own remembered speed.
 * - A status that leaves `running` without a stop from the app is marked `offByHand`.
 */
export class RongTaiSession implements ProtocolSession {
  readonly model: string;
  readonly capabilities: Capabilities;
  readonly notify: { service: string; characteristic: string };
  /** The latest status frame taken as knowledge. */
  private fromStatus: Knowledge | undefined;
  /** What this connection's own commands left the chair in. */
  private fromOwn: Knowledge | undefined;
  private learnt = 0;
  private heatOn: boolean | undefined;
  /** Technique to send with the next start (or the one running). */
  private technique: string | undefined;
  /** The speed 1–6 the app commands; undefined while the app has the rollers stopped. */
  private speed: number | undefined;
  /** The work timer to send with the next start, seconds (undefined: none asked for). */
  private timerSeconds: number | undefined;
  private stopCheck: StopCheck | undefined;
  /** A stop and its retry were not taken: no further toggle until a status shows the chair stopped. */
  private stopFailed = false;
  /** Commands held back until the chair's state allows them (see the class comment). */
  private held: Command[] = [];
  private notice: string | undefined;
  private pendingNotice: string | undefined;
  private lastRunState: RunState | undefined;
  private readonly ctx: ConnectionContext;
  private readonly decodeFrame: (bytes: Uint8Array) => DecodeResult;

  constructor(private readonly h: HookContext) {
    this.ctx = h.ctx;
    this.model = h.model;
    this.capabilities = h.capabilities;
    this.notify = { service: h.variant.service, characteristic: h.variant.notify };
    this.decodeFrame = h.decoder();
  }

  /** The code of a technique in the profile's modes. */
  private modeCode(mode: string): number {
    const m = this.h.profile.capabilities.modes.find((x) => x.name === mode);
    if (!m) throw new RangeError(`unknown chair mode ${JSON.stringify(mode)}`);
    return m.code;
  }

  init(): Write[] {
    return [];
  }

  /**
   * Whether the chair is known to be on and not resetting, for a stop: a status frame of
   * the last few seconds decides; otherwise this connection's own commands, unless a later
   * status said otherwise. undefined when not known.
   */
  knownOn(): boolean | undefined {
    const status = this.fromStatus;
    const own = this.fromOwn;
    if (status && this.ctx.now() - status.at <= RONGTAI_STATUS_FRESH_MS) return isOn(status.state);
    if (own && (!status || status.seq < own.seq || isOn(status.state) === isOn(own.state))) return isOn(own.state);
    return undefined;
  }

  /** The latest state learnt from any source and of any age (undefined before any). */
  private latest(): RunState | undefined {
    const status = this.fromStatus;
    const own = this.fromOwn;
    if (status && own) return status.seq > own.seq ? status.state : own.state;
    return (status ?? own)?.state;
  }

  private rememberOwn(state: RunState): void {
    this.fromOwn = { state, at: this.ctx.now(), seq: ++this.learnt };
  }

  /** One key press: a frame of the profile (`power`, `speed`, `mode`, `heat`, `timer`). */
  private write(frame: string, values: Record<string, number> = {}, delayAfterMs?: number): Write {
    return this.h.write(frame, values, delayAfterMs);
  }

  private speedKey(speed: number): Write {
    return this.write('speed', { step: speed });
  }

  private techniqueKey(mode: string): Write {
    return this.write('mode', { mode: this.modeCode(mode) });
  }

  /**
   * Whether a command that may need the power toggle must wait: the chair is resetting
   * (no toggle of any kind then), a stop toggle's effect is not seen yet, or nothing is
   * known of its state in this connection.
   */
  private mustWait(): boolean {
    if (this.stopCheck) return true;
    const latest = this.latest();
    return latest === undefined || latest === 'resetting';
  }

  private hold(command: Command): Write[] {
    // Latest wins per kind of command; order is kept otherwise.
    const same = (c: Command): boolean =>
      c.type === command.type || (isTechnique(c) && isTechnique(command));
    this.held = [...this.held.filter((c) => !same(c)), command];
    this.pendingNotice =
      this.latest() === undefined ? RONGTAI_WAIT_STATUS_NOTICE : RONGTAI_RESETTING_NOTICE;
    return [];
  }

  /** Writes that switch the chair on when it is off (power toggle and the pause after it). */
  private powerUp(): Write[] {
    if (this.latest() !== undefined && isOn(this.latest()!)) return [];
    this.rememberOwn('ready');
    this.heatOn = false;
    return [this.write('power', {}, RONGTAI_POWER_ON_DELAY_MS)];
  }

  /** The start order: power (when off) and its pause, speed, technique, speed again, timer. */
  private start(speed: number): Write[] {
    const out = this.powerUp();
    const technique = this.technique ?? 'knead';
    this.technique = technique;
    this.speed = speed;
    out.push(this.speedKey(speed), this.techniqueKey(technique), this.speedKey(speed));
    if (this.timerSeconds !== undefined) out.push(this.write('timer', { timer: this.timerSeconds }));
    this.rememberOwn('running');
    return out;
  }

  private setTechnique(mode: string): Write[] {
    this.technique = mode;
    // Not running under the app's speed: remembered for the next start, nothing sent.
    if (this.speed === undefined) return [];
    if (this.mustWait()) return this.hold({ type: 'setMode', mode });
    return [this.techniqueKey(mode), this.speedKey(this.speed)];
  }

  private stop(): Write[] {
    this.held = [];
    this.pendingNotice = undefined;
    this.speed = undefined;
    this.technique = undefined;
    if (this.stopCheck) {
      // A toggle is already out and its effect not yet seen: a second one could switch the chair back on.
      this.notice = undefined;
      return [];
    }
    if (this.stopFailed) {
      this.notice = RONGTAI_BY_HAND_NOTICE;
      return [];
    }
    const known = this.knownOn();
    if (known === true) {
      this.rememberOwn('idle');
      this.notice = undefined;
      this.stopCheck = { at: this.ctx.now(), retried: false };
      this.heatOn = false;
      return [this.write('power')];
    }
    if (known === undefined && this.latest() === undefined) {
      // A new connection before its first status: make the stop once a status shows the chair on.
      this.held = [{ type: 'stop' }];
    }
    // Nothing suggests the chair is on when the latest report said off or resetting: no warning then.
    const latest = this.latest();
    this.notice = known === false || (latest !== undefined && !isOn(latest)) ? undefined : RONGTAI_STOP_NOTICE;
    return [];
  }

  /**
   * Encodes a command. `setIntensity` maps 0..1 to speed 1..6 (`ceil(value × 6)`, the
   * profile's `speed` frame); 0 stops. `setTimer` picks the shortest work timer covering the time,
   * sent at once while the rollers run, else with the next start. `queryStatus` and
   * `queryFirmware` emit nothing (the chair pushes its status).
   * @throws RangeError for an intensity that is NaN or outside 0..1 (nothing is emitted
   * and no state changes), an unknown mode or motion, or a timer that is not a number.
   */
  encode(command: Command): Write[] {
    switch (command.type) {
      case 'setIntensity': {
        const speed = intensityToStep(command.value, this.capabilities.steps);
        if (speed === 0) return this.stop();
        if (this.mustWait()) return this.hold(command);
        if (this.speed !== undefined && this.latest() === 'running') {
          if (speed === this.speed) return [];
          this.speed = speed;
          return [this.speedKey(speed)];
        }
        return this.start(speed);
      }
      case 'setMode':
        this.modeCode(command.mode);
        return this.setTechnique(command.mode);
      case 'setMotion': {
        const mode = this.h.profile.capabilities.modes.find((m) => m.motions.includes(command.motion));
        if (mode === undefined) throw new RangeError(`unknown motion ${JSON.stringify(command.motion)}`);
        return this.setTechnique(mode.name);
      }
      case 'setHeat': {
        if (command.on) {
          if (this.mustWait()) return this.hold(command);
          if (this.heatOn === true && isOn(this.latest()!)) return [];
          const out = this.powerUp();
          out.push(this.write('heat'));
          this.heatOn = true;
          return out;
        }
        this.held = this.held.filter((c) => c.type !== 'setHeat');
        const latest = this.latest();
        if (latest !== undefined && isOn(latest) && this.heatOn === true) {
          this.heatOn = false;
          return [this.write('heat')];
        }
        return [];
      }
      case 'setTimer': {
        if (typeof command.seconds !== 'number' || Number.isNaN(command.seconds)) {
          throw new RangeError(`timer seconds must be a number, got ${String(command.seconds)}`);
        }
        this.timerSeconds = timerFor(this.h.profile, command.seconds);
        return this.speed !== undefined && this.latest() === 'running' && !this.mustWait() ? [this.write('timer', { timer: this.timerSeconds })] : [];
      }
      case 'powerOn':
        if (this.mustWait()) return this.hold(command);
        return this.powerUp();
      case 'stop':
        return this.stop();
      default:
        return [];
    }
  }

  decode(bytes: Uint8Array): DecodeResult {
    const decoded = this.decodeFrame(bytes);
    if (decoded.kind !== 'status') return decoded;
    const status: DeviceStatus = { ...decoded.status };
    const state = status.runState;
    if (state === undefined) return { kind: 'status', status };
    const now = this.ctx.now();
    const check = this.stopCheck;
    if (check) {
      // Possibly sent before the chair acted on the toggle: shown, but not taken as knowledge.
      if (now - check.at < RONGTAI_STOP_GRACE_MS) return { kind: 'status', status };
      if (state === 'running') {
        if (!check.retried) {
          // The stop toggle was lost (or undone): exactly one more.
          this.stopCheck = { at: now, retried: true };
          return { kind: 'status', status, followUp: [this.write('power')], followUpIsStop: true };
        }
        if (now - check.at < RONGTAI_STOP_RETRY_MS) return { kind: 'status', status };
        // Still running 3 s after the extra toggle: no further toggle (the link's stop
        // watch tells the user to switch the chair off by hand).
        this.stopCheck = undefined;
        this.stopFailed = true;
        this.learn(state, now);
        return { kind: 'status', status };
      }
      // Resetting, idle or ready: the stop was taken.
      this.stopCheck = undefined;
    }
    if (this.stopFailed && state !== 'running') this.stopFailed = false;
    if (this.lastRunState === 'running' && state !== 'running' && this.speed !== undefined && !check) {
      // Left running without the app's stop: switched off on the chair (or its timer ended).
      status.offByHand = true;
      this.speed = undefined;
      this.technique = undefined;
      this.held = this.held.filter((c) => c.type === 'stop');
    }
    this.learn(state, now);
    this.heatOn = status.heat === true;
    if (this.stopFailed) {
      // A chair that would not stop gets nothing more from the app until it is off.
      this.held = [];
      this.pendingNotice = undefined;
      return { kind: 'status', status };
    }
    if (this.held.length > 0 && state !== 'resetting') {
      const replay = this.held;
      this.held = [];
      this.pendingNotice = undefined;
      // A held stop matters only when the chair turned out to be on.
      const commands = replay.filter((c) => c.type !== 'stop' || isOn(state));
      if (commands.length > 0) return { kind: 'status', status, replay: commands };
    }
    return { kind: 'status', status };
  }

  private learn(state: RunState, now: number): void {
    this.fromStatus = { state, at: now, seq: ++this.learnt };
    this.lastRunState = state;
  }

  /**
   * A stop is proven by a status that is not "running", outside the grace second after a
   * toggle; 3 s per attempt (the first toggle, then the one extra). The chair pushes its
   * status by itself, so there is nothing to ask.
   */
  readonly stopProof: StopProof = {
    deadlineMs: RONGTAI_STOP_RETRY_MS,
    askAtMs: [],
    judge: (status) => {
      if (status.runState === undefined) return undefined;
      if (this.stopCheck && this.ctx.now() - this.stopCheck.at < RONGTAI_STOP_GRACE_MS) return undefined;
      return status.runState === 'running' ? 'running' : 'off';
    },
    reportsState: () => this.fromStatus !== undefined,
  };

  stopNotice(): string | undefined {
    return this.notice;
  }

  takeNotice(): string | undefined {
    const n = this.pendingNotice;
    this.pendingNotice = undefined;
    return n;
  }
}

function isTechnique(c: Command): boolean {
  return c.type === 'setMode' || c.type === 'setMotion';
}


/** The hook: one {@link RongTaiSession} per connection. */
export const rongtaiPowerRule: ProfileHook = (h) => new RongTaiSession(h);
