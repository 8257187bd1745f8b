/**
 * RongTai / Infinity massage chairs (`RT8600S`, `EVOLUTION-…`).
 *
 * Experimental: two public sources that agree on the frame but differ in details:
 * - dallanwagz/hass-infinity-chair, `custom_components/infinity_chair/protocol.py`
 *   (from the Android app; status layout checked on hardware; captures in
 *   `tests/test_protocol.py` and `README.md`): write `fff1`, type byte `83`;
 * - Bread-Yang/RongTai (iOS app), `rongtai/Classes/Ble/RTCommand.h` and
 *   `RTBleConnector.m`: write `8b00ace7-eb0b-49b0-bbe9-9aee0a26e1a3` without
 *   response, type byte `84`, and the speed keys `2E`–`33` (this source only).
 *
 * Command frame: `F0 type key cs F1`, `cs = (~(type + key)) & 0x7F`.
 * Status frame (notify `0734594a…`): 17 bytes `F0 b1..b15 F1`; b7's low nibble is the
 * run state (0 idle, 1 resetting, 2 ready, 3 running), and only "running" means the
 * rollers move; see {@link parseStatusFrame}. b15 = `(~(b1 + … + b14)) & 0x7F` (worked
 * out from the captures).
 *
 * Power is a toggle and there is no explicit off, so one power rule, kept by the
 * connection's session, decides every toggle (see the session class below).
 */
import { at } from './bytes';
import { rongtaiChecksum } from './checksum';
import { intensityToStep } from './intensity';
import { StandardServicesSim, canNotify, canWrite, findCharacteristic, hasBattery } from './standard';
import { SYSTEM_SIM_CLOCK } from './types';
import type {
  Advertisement,
  Capabilities,
  Command,
  ConnectionContext,
  DecodeResult,
  DeviceStatus,
  FoundCharacteristic,
  IdentifyMatch,
  Motion,
  OpenResult,
  ProtocolModule,
  ProtocolSession,
  RunState,
  SimOptions,
  SimReadout,
  SimService,
  SimulatedPeripheral,
  StopProof,
  Write,
} from './types';

/** The chair's vendor service. */
export const RONGTAI_SERVICE = 'fff0';
/** Status notifications. */
export const RONGTAI_NOTIFY = '0734594aa8e74b1aa6b1cd5243059a57';
/** Write characteristic of the `83` variant (hass-infinity-chair). */
export const RONGTAI_WRITE_83 = 'fff1';
/** Write characteristic of the `84` variant (iOS app), written without response. */
export const RONGTAI_WRITE_84 = '8b00ace7eb0b49b0bbe99aee0a26e1a3';

/** The type byte of a command frame: `0x83` (fff1 variant) or `0x84` (iOS variant). */
export type RongTaiVariant = 0x83 | 0x84;

/** Frame markers. */
const SOF = 0xf0;
const EOF_ = 0xf1;

/** Command keys (byte 2 of a command frame). */
export const RONGTAI_KEYS = {
  /** Power toggle; also stops a running program. */
  power: 0x01,
  /** Automatic programs 1..6 are `0x10`..`0x15`. */
  autoFirst: 0x10,
  autoLast: 0x15,
  knead: 0x20,
  knock: 0x21,
  shiatsu: 0x22,
  tap: 0x23,
  kneadKnock: 0x24,
  /** Heat toggle. */
  heat: 0x27,
  /** Speed 1..6 is `0x2E`..`0x33` (iOS source only). */
  speed1: 0x2e,
  /** Work timers 10, 20, 30 minutes. */
  timer10: 0x50,
  timer20: 0x51,
  timer30: 0x52,
} as const;

/** Manual techniques this module can set, in the order of {@link Capabilities.modes}. */
export const RONGTAI_MODES = ['knead', 'knock', 'shiatsu', 'tap', 'knead-knock'] as const;
export type RongTaiMode = (typeof RONGTAI_MODES)[number];

const MODE_KEYS: Readonly<Record<RongTaiMode, number>> = {
  knead: RONGTAI_KEYS.knead,
  knock: RONGTAI_KEYS.knock,
  shiatsu: RONGTAI_KEYS.shiatsu,
  tap: RONGTAI_KEYS.tap,
  'knead-knock': RONGTAI_KEYS.kneadKnock,
};

/**
 * Routine motion → technique (DESIGN §1: circular ⇒ knead, back-and-forth ⇒ knock).
 * - `on-knot` ⇒ knead: the routine works the knot at low intensity; shiatsu imitates
 *   pressing into it but is the most forceful technique, so the gentle one is chosen.
 * - `long-strokes` (finish over the whole back, relax) ⇒ knead-knock: the chair's
 *   combined technique covers the back broadly; tap alone is more stimulating than relaxing.
 */
export const RONGTAI_MOTION_MODES: Readonly<Record<Motion, RongTaiMode>> = {
  circular: 'knead',
  'back-and-forth': 'knock',
  'on-knot': 'knead',
  'long-strokes': 'knead-knock',
};

/** Work timers in seconds and their keys, shortest first. */
const TIMERS: readonly { seconds: number; key: number }[] = [
  { seconds: 600, key: RONGTAI_KEYS.timer10 },
  { seconds: 1200, key: RONGTAI_KEYS.timer20 },
  { seconds: 1800, key: RONGTAI_KEYS.timer30 },
];

/** Speed steps (keys `2E`..`33`). */
export const RONGTAI_SPEEDS = 6;

/**
 * Write gap, ms. Neither source states one. The chair's controller is a slow serial
 * board behind a BLE bridge and the `84` variant writes without acknowledgement, so
 * 150 ms keeps key presses apart the way a person pressing the remote would.
 */
export const RONGTAI_WRITE_GAP_MS = 150;

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
 * Builds a command frame `F0 type key cs F1`.
 * @param type 0x83 or 0x84 (the variant's type byte).
 * @param key command key 0x00..0x7F (see {@link RONGTAI_KEYS}).
 * @throws RangeError when `key` is outside 0..0x7F or `type` is not a variant's byte.
 */
export function commandFrame(type: RongTaiVariant, key: number): Uint8Array {
  if (type !== 0x83 && type !== 0x84) throw new RangeError(`unknown RongTai frame type ${String(type)}`);
  if (!Number.isInteger(key) || key < 0 || key > 0x7f) throw new RangeError(`RongTai key must be 0..0x7F, got ${key}`);
  return Uint8Array.of(SOF, type, key, rongtaiChecksum(Uint8Array.of(type, key)), EOF_);
}

/** Reads a command frame back (for the simulator): `{ type, key }`, or undefined when malformed. Never throws. */
export function parseCommandFrame(bytes: Uint8Array): { type: number; key: number } | undefined {
  if (bytes.length !== 5 || bytes[0] !== SOF || bytes[4] !== EOF_) return undefined;
  const type = at(bytes, 1);
  const key = at(bytes, 2);
  if (at(bytes, 3) !== rongtaiChecksum(bytes, 1, 3)) return undefined;
  return { type, key };
}

/** Airbag zones of status byte 12 (hass-infinity-chair). */
export type RongTaiAirbag = 'arm-shoulder' | 'back-waist' | 'leg-foot' | 'buttock';
const AIRBAG_BITS: readonly [RongTaiAirbag, number][] = [
  ['arm-shoulder', 0x10],
  ['back-waist', 0x08],
  ['leg-foot', 0x04],
  ['buttock', 0x20],
];

/** Run states by the low nibble of status byte 7 (hass-infinity-chair v0.7.0, protocol.py `_RUN_STATES`). */
const RUN_STATES: readonly RunState[] = ['idle', 'resetting', 'ready', 'running'];

/** Roller width by status byte 2 bits 0–1 while running (hass-infinity-chair v0.7.0, `_WIDTHS`). */
export type RongTaiWidth = 'narrow' | 'medium' | 'wide';
const WIDTHS: Readonly<Record<number, RongTaiWidth>> = { 1: 'narrow', 2: 'medium', 3: 'wide' };

/**
 * Everything a status frame carries: the contract's fields plus the chair's own.
 * While the chair is not `running`, the speed, width and seconds left are absent (those
 * bytes hold leftovers then); `level` is the speed 1–6, the scale of the speed keys the
 * app sends, so it can be compared with the ceiling (`levelIsIntensity`).
 */
export interface RongTaiStatus extends DeviceStatus {
  powered: boolean;
  /** Low nibble of b7; undefined for a nibble above 3 (not seen in any capture). */
  runState?: RunState;
  /** True only in run state `running`: the rollers move. */
  running: boolean;
  heat: boolean;
  /** b2 bits 2–4 while running: 1–6. */
  speed?: number;
  level?: number;
  levelIsIntensity?: true;
  width?: RongTaiWidth;
  /** `((b4 & 0x1F) << 7) | (b5 & 0x7F)` while running. */
  secondsLeft?: number;
  /** b10 bit 0x40. */
  zeroGravity: boolean;
  /** b14: the 3D roller strength (1–5 in manual programs); not the speed. */
  strength3d: number;
  /** Airbag zones inflating now (b12). */
  airbags: RongTaiAirbag[];
}

/** Length of a status frame. */
export const RONGTAI_STATUS_LENGTH = 17;

/**
 * Parses a 17-byte status frame. Returns undefined (never throws) when the length,
 * either marker or the checksum (byte 15) is wrong.
 *
 * Layout (positions from 0): b1 bit 0x40 powered; b2 bit 0x40 heat, and while running
 * bits 2–4 the speed and bits 0–1 the width; b4/b5 the seconds left while running;
 * b7 low nibble the run state (its high bits carry airbag flags, so `23` is running);
 * b10 bit 0x40 zero gravity; b12 airbag zones; b14 3D strength. Source:
 * dallanwagz/hass-infinity-chair v0.7.0, `custom_components/infinity_chair/protocol.py`
 * (which compares all of b7 with 3; the low nibble is used here because a capture in
 * its own tests shows `23` while the rollers run). The checksum rule was worked out
 * from the captures (DESIGN §3).
 */
export function parseStatusFrame(bytes: Uint8Array): RongTaiStatus | undefined {
  if (!(bytes instanceof Uint8Array) || bytes.length !== RONGTAI_STATUS_LENGTH) return undefined;
  if (bytes[0] !== SOF || bytes[16] !== EOF_) return undefined;
  if (at(bytes, 15) !== rongtaiChecksum(bytes, 1, 15)) return undefined;
  const airbagByte = at(bytes, 12);
  const runState = RUN_STATES[at(bytes, 7) & 0x0f];
  const running = runState === 'running';
  const b2 = at(bytes, 2);
  const status: RongTaiStatus = {
    powered: (at(bytes, 1) & 0x40) !== 0,
    running,
    heat: (b2 & 0x40) !== 0,
    zeroGravity: (at(bytes, 10) & 0x40) !== 0,
    strength3d: at(bytes, 14),
    airbags: AIRBAG_BITS.filter(([, bit]) => (airbagByte & bit) !== 0).map(([name]) => name),
  };
  if (runState !== undefined) status.runState = runState;
  if (running) {
    const speed = (b2 >> 2) & 0x07;
    if (speed >= 1 && speed <= RONGTAI_SPEEDS) {
      status.speed = speed;
      status.level = speed;
      status.levelIsIntensity = true;
    }
    const width = WIDTHS[b2 & 0x03];
    if (width) status.width = width;
    status.secondsLeft = ((at(bytes, 4) & 0x1f) << 7) | (at(bytes, 5) & 0x7f);
  }
  return status;
}

/**
 * Decodes one notification without session state: a status, or `unknown` for a bad
 * length, marker or checksum. Never throws.
 */
export function decodeRongTai(bytes: Uint8Array): DecodeResult {
  const status = parseStatusFrame(bytes);
  if (!status) return { kind: 'unknown', reason: 'not a valid 17-byte F0…F1 status frame (length, marker or checksum)' };
  return { kind: 'status', status };
}

/** Fields the simulator puts into a status frame. */
export interface RongTaiStatusFields {
  powered: boolean;
  runState: RunState;
  heat: boolean;
  /** Speed 1–6, written only while running (bits 2–4 of b2 are 0 otherwise). */
  speed?: number;
  /** Seconds left 0..4095, written only while running. */
  secondsLeft?: number;
  zeroGravity?: boolean;
  /** b14, 0..0x7F (default 3). */
  strength3d?: number;
  airbags?: RongTaiAirbag[];
}

/** Builds a valid status frame (for the simulator and tests). Other bytes take values seen in the captures. */
export function statusFrame(fields: RongTaiStatusFields): Uint8Array {
  const f = new Uint8Array(RONGTAI_STATUS_LENGTH);
  const running = fields.runState === 'running';
  f[0] = SOF;
  f[1] = 0x05 | (fields.powered ? 0x40 : 0);
  const speed = running ? Math.max(1, Math.min(RONGTAI_SPEEDS, Math.round(fields.speed ?? 1))) : 0;
  f[2] = (running ? 0x02 | (speed << 2) : 0x03) | (fields.heat ? 0x40 : 0);
  if (running) {
    const left = Math.max(0, Math.min(0xfff, Math.round(fields.secondsLeft ?? 0)));
    f[4] = left >> 7;
    f[5] = left & 0x7f;
  }
  f[7] = RUN_STATES.indexOf(fields.runState);
  f[8] = 0x2b;
  f[10] = fields.zeroGravity ? 0x40 : 0;
  let airbags = 0x03;
  for (const [name, bit] of AIRBAG_BITS) if (fields.airbags?.includes(name)) airbags |= bit;
  f[12] = airbags;
  f[13] = running ? 0x1c : 0;
  f[14] = Math.max(0, Math.min(0x7f, Math.round(fields.strength3d ?? 3)));
  f[15] = rongtaiChecksum(f, 1, 15);
  f[16] = EOF_;
  return f;
}

/** Recognises the chair: exact name `RT8600S` or a name starting `EVOLUTION-` (strong). */
export function identifyRongTai(adv: Advertisement): IdentifyMatch | null {
  const name = adv.localName;
  if (name === 'RT8600S') return { confidence: 'strong', model: name };
  if (name?.startsWith('EVOLUTION-')) return { confidence: 'strong', model: name };
  return null;
}

/** The chair's capabilities (the same for both variants). */
export function rongtaiCapabilities(battery = false): Capabilities {
  return {
    steps: RONGTAI_SPEEDS,
    minRunningStep: 1,
    stepUnit: 'speed',
    modes: [...RONGTAI_MODES],
    battery,
    heat: true,
    timersSeconds: TIMERS.map((t) => t.seconds),
  };
}

/** The shortest work timer covering `seconds` (the 30-minute one when none does). */
export function timerKeyFor(seconds: number): number {
  return (TIMERS.find((t) => seconds <= t.seconds) ?? TIMERS[TIMERS.length - 1]!).key;
}

function isMode(mode: string): mode is RongTaiMode {
  return (RONGTAI_MODES as readonly string[]).includes(mode);
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
class RongTaiSession implements ProtocolSession {
  readonly model: string;
  readonly capabilities: Capabilities;
  readonly notify = { service: RONGTAI_SERVICE, characteristic: RONGTAI_NOTIFY };
  /** The latest status frame taken as knowledge. */
  private fromStatus: Knowledge | undefined;
  /** What this connection's own commands left the chair in. */
  private fromOwn: Knowledge | undefined;
  private learnt = 0;
  private heatOn: boolean | undefined;
  /** Technique to send with the next start (or the one running). */
  private technique: RongTaiMode | undefined;
  /** The speed 1–6 the app commands; undefined while the app has the rollers stopped. */
  private speed: number | undefined;
  private timerKey: number | undefined;
  private stopCheck: StopCheck | undefined;
  /** A stop and its retry were not taken: no further toggle until a status shows the chair stopped. */
  private stopFailed = false;
  /** Commands held back until the chair's state allows them (see the class comment). */
  private held: Command[] = [];
  private notice: string | undefined;
  private pendingNotice: string | undefined;
  private lastRunState: RunState | undefined;

  constructor(
    private readonly ctx: ConnectionContext,
    readonly variant: RongTaiVariant,
    private readonly writeCharacteristic: string,
    private readonly withResponse: boolean,
    battery: boolean,
  ) {
    this.model = ctx.model ?? ctx.localName ?? (variant === 0x84 ? 'RT8600S' : 'EVOLUTION');
    this.capabilities = rongtaiCapabilities(battery);
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

  private write(key: number, delayAfterMs?: number): Write {
    const w: Write = {
      service: RONGTAI_SERVICE,
      characteristic: this.writeCharacteristic,
      bytes: commandFrame(this.variant, key),
      withResponse: this.withResponse,
    };
    if (delayAfterMs !== undefined) w.delayAfterMs = delayAfterMs;
    return w;
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
    return [this.write(RONGTAI_KEYS.power, RONGTAI_POWER_ON_DELAY_MS)];
  }

  /** The start order: power (when off) and its pause, speed, technique, speed again, timer. */
  private start(speed: number): Write[] {
    const out = this.powerUp();
    const technique = this.technique ?? 'knead';
    this.technique = technique;
    this.speed = speed;
    const speedKey = RONGTAI_KEYS.speed1 + speed - 1;
    out.push(this.write(speedKey), this.write(MODE_KEYS[technique]), this.write(speedKey));
    if (this.timerKey !== undefined) out.push(this.write(this.timerKey));
    this.rememberOwn('running');
    return out;
  }

  private setTechnique(mode: RongTaiMode): Write[] {
    this.technique = mode;
    // Not running under the app's speed: remembered for the next start, nothing sent.
    if (this.speed === undefined) return [];
    if (this.mustWait()) return this.hold({ type: 'setMode', mode });
    return [this.write(MODE_KEYS[mode]), this.write(RONGTAI_KEYS.speed1 + this.speed - 1)];
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
      return [this.write(RONGTAI_KEYS.power)];
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
   * Encodes a command. `setIntensity` maps 0..1 to speed 1..6 (`ceil(value × 6)`, keys
   * `2E`..`33`); 0 stops. `setTimer` picks the shortest work timer covering the time,
   * sent at once while the rollers run, else with the next start. `queryStatus` and
   * `queryFirmware` emit nothing (the chair pushes its status).
   * @throws RangeError for an intensity that is NaN or outside 0..1 (nothing is emitted
   * and no state changes), an unknown mode or motion, or a timer that is not a number.
   */
  encode(command: Command): Write[] {
    switch (command.type) {
      case 'setIntensity': {
        const speed = intensityToStep(command.value, RONGTAI_SPEEDS);
        if (speed === 0) return this.stop();
        if (this.mustWait()) return this.hold(command);
        if (this.speed !== undefined && this.latest() === 'running') {
          if (speed === this.speed) return [];
          this.speed = speed;
          return [this.write(RONGTAI_KEYS.speed1 + speed - 1)];
        }
        return this.start(speed);
      }
      case 'setMode':
        if (!isMode(command.mode)) throw new RangeError(`unknown RongTai mode ${JSON.stringify(command.mode)}`);
        return this.setTechnique(command.mode);
      case 'setMotion': {
        const mode = RONGTAI_MOTION_MODES[command.motion];
        if (mode === undefined) throw new RangeError(`unknown motion ${JSON.stringify(command.motion)}`);
        return this.setTechnique(mode);
      }
      case 'setHeat': {
        if (command.on) {
          if (this.mustWait()) return this.hold(command);
          if (this.heatOn === true && isOn(this.latest()!)) return [];
          const out = this.powerUp();
          out.push(this.write(RONGTAI_KEYS.heat));
          this.heatOn = true;
          return out;
        }
        this.held = this.held.filter((c) => c.type !== 'setHeat');
        const latest = this.latest();
        if (latest !== undefined && isOn(latest) && this.heatOn === true) {
          this.heatOn = false;
          return [this.write(RONGTAI_KEYS.heat)];
        }
        return [];
      }
      case 'setTimer': {
        if (typeof command.seconds !== 'number' || Number.isNaN(command.seconds)) {
          throw new RangeError(`timer seconds must be a number, got ${String(command.seconds)}`);
        }
        this.timerKey = timerKeyFor(command.seconds);
        return this.speed !== undefined && this.latest() === 'running' && !this.mustWait() ? [this.write(this.timerKey)] : [];
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
    const status = parseStatusFrame(bytes);
    if (!status) return decodeRongTai(bytes);
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
          return { kind: 'status', status, followUp: [this.write(RONGTAI_KEYS.power)], followUpIsStop: true };
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
    this.heatOn = status.heat;
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

/**
 * Accepts the chair when service `fff0` has the status characteristic and one of the
 * write characteristics. `8b00…` with type byte `84` is preferred whenever it exists
 * (the iOS app always uses it, and it is the only source for the RT8600S); else `fff1`
 * with type `83`. Writes go without response, as both sources send them, unless the
 * characteristic allows only acknowledged writes.
 */
export function openRongTai(ctx: ConnectionContext): OpenResult {
  if (!ctx.services.has(RONGTAI_SERVICE)) return { ok: false, reason: 'service fff0 not found' };
  if (!canNotify(findCharacteristic(ctx, RONGTAI_SERVICE, RONGTAI_NOTIFY))) {
    return { ok: false, reason: 'status characteristic 0734594a… (notify) not found in service fff0' };
  }
  const w83 = findCharacteristic(ctx, RONGTAI_SERVICE, RONGTAI_WRITE_83);
  const w84 = findCharacteristic(ctx, RONGTAI_SERVICE, RONGTAI_WRITE_84);
  const battery = hasBattery(ctx);
  const withResponse = (c: FoundCharacteristic): boolean => !c.properties.includes('writeWithoutResponse');
  if (canWrite(w84)) return { ok: true, session: new RongTaiSession(ctx, 0x84, RONGTAI_WRITE_84, withResponse(w84), battery) };
  if (canWrite(w83)) return { ok: true, session: new RongTaiSession(ctx, 0x83, RONGTAI_WRITE_83, withResponse(w83), battery) };
  return { ok: false, reason: 'no write characteristic (fff1 or 8b00ace7…) in service fff0' };
}

/** Simulated chair state, as `state()` reports it. */
interface RongTaiSimState {
  [key: string]: number | string | boolean;
  powered: boolean;
  runState: RunState;
  /** True only in run state `running`. */
  running: boolean;
  /** Technique or `auto-N`; empty when none. */
  mode: string;
  /** The chair's speed 1..6 (remembered while off, as a chair's controller does). */
  speed: number;
  heat: boolean;
  /** Work timer in minutes; 0 when none. */
  timerMinutes: number;
  /** Seconds left of the work timer while running. */
  secondsLeft: number;
  strength3d: number;
  framesReceived: number;
  badFrames: number;
  /** Frames written to the write characteristic this variant does not use. */
  wrongCharacteristic: number;
  /** Keys ignored because the chair was off, resetting, or (techniques aside) not running. */
  ignored: number;
  /** Power toggles that reached the chair (lost ones not counted). */
  powerToggles: number;
  /** Power toggles that arrived while resetting: they do nothing visible. */
  togglesWhileResetting: number;
  /** Toggles that would have switched the chair off, lost to the `ignore-*-stop` faults. */
  stopsIgnored: number;
  /** The highest speed the rollers have run at since the simulation began (0 when never). */
  topRunningSpeed: number;
}

/** How long the simulated chair takes to return to rest after a power-off, ms. */
export const RONGTAI_SIM_RESET_MS = 4000;
/** How often the simulated chair pushes its status while subscribed, ms (a real chair streams them). */
export const RONGTAI_SIM_STATUS_MS = 1000;

/**
 * A simulated chair that follows the run states the hardware-checked source reports:
 * idle → power toggle → ready (speed bits 0) → a technique → running (speed bits set)
 * → power toggle → resetting (powered bit still set) for {@link RONGTAI_SIM_RESET_MS} →
 * idle. A power toggle while resetting does nothing visible but is counted
 * (`togglesWhileResetting`). Speed keys work while ready or running; techniques start
 * the rollers from ready; heat works while on; a work timer counts down while running
 * and ends the program (resetting). It pushes a status after every valid command, on
 * subscribe, and every {@link RONGTAI_SIM_STATUS_MS} while subscribed.
 * Model `RT8600S` simulates the iOS variant: the full characteristic table (both
 * `fff1` and `8b00…`), type `84` accepted on `8b00…` only. Any other model (default
 * `EVOLUTION-1`) has `fff1` only, type `83`.
 * Actions: `remote-power` (the chair's own remote toggles power), `remote-speed-max`
 * (the remote sets speed 6, which the chair keeps for its next start),
 * `speed-keys-need-running` (from now on the chair ignores speed keys until its rollers
 * run: a controller the public sources do not rule out, under which a start runs at the
 * remembered speed until the second speed key), `ignore-next-stop`
 * (the next toggle that would switch it off is lost) and `ignore-every-stop` (every such
 * toggle is lost until `remote-power`).
 */
export function simulateRongTai(options: SimOptions = {}): SimulatedPeripheral {
  const model = options.model ?? 'EVOLUTION-1';
  const clock = options.clock ?? SYSTEM_SIM_CLOCK;
  const variant: RongTaiVariant = model === 'RT8600S' ? 0x84 : 0x83;
  const writeUuid = variant === 0x84 ? RONGTAI_WRITE_84 : RONGTAI_WRITE_83;
  const standard = new StandardServicesSim({ manufacturer: 'RongTai (simulated)', model });
  const s: RongTaiSimState = {
    powered: false,
    runState: 'idle',
    running: false,
    mode: '',
    speed: 3,
    heat: false,
    timerMinutes: 0,
    secondsLeft: 0,
    strength3d: 3,
    framesReceived: 0,
    badFrames: 0,
    wrongCharacteristic: 0,
    ignored: 0,
    powerToggles: 0,
    togglesWhileResetting: 0,
    stopsIgnored: 0,
    topRunningSpeed: 0,
  };
  let notifier: ((service: string, characteristic: string, bytes: Uint8Array) => void) | undefined;
  let subscribed = false;
  let ignoreNextStop = false;
  let ignoreEveryStop = false;
  let speedNeedsRunning = false;
  let streamTimer: unknown;
  let runStartedAt = 0;
  let runSecondsAtStart = 0;

  const setRunState = (state: RunState): void => {
    s.runState = state;
    s.running = state === 'running';
    s.powered = state !== 'idle';
    noteSpeed();
  };
  const noteSpeed = (): void => {
    if (s.running) s.topRunningSpeed = Math.max(s.topRunningSpeed, s.speed);
  };
  const currentSecondsLeft = (): number =>
    s.timerMinutes === 0 ? 0 : Math.max(0, runSecondsAtStart - Math.floor((clock.now() - runStartedAt) / 1000));
  const sendStatus = (): void => {
    if (!subscribed || !notifier) return;
    if (s.running) s.secondsLeft = currentSecondsLeft();
    const fields: RongTaiStatusFields = { powered: s.powered, runState: s.runState, heat: s.heat, strength3d: s.strength3d };
    if (s.running) Object.assign(fields, { speed: s.speed, secondsLeft: s.secondsLeft });
    notifier(RONGTAI_SERVICE, RONGTAI_NOTIFY, statusFrame(fields));
  };
  const stream = (): void => {
    streamTimer = undefined;
    if (!subscribed) return;
    if (s.running && s.timerMinutes > 0 && currentSecondsLeft() === 0) powerOff(); // its own timer ended the program
    sendStatus();
    streamTimer = clock.setTimeout(stream, RONGTAI_SIM_STATUS_MS);
  };
  const powerOff = (): void => {
    setRunState('resetting');
    s.mode = '';
    s.heat = false;
    s.timerMinutes = 0;
    s.secondsLeft = 0;
    clock.setTimeout(() => {
      setRunState('idle');
      sendStatus();
    }, RONGTAI_SIM_RESET_MS);
  };
  const togglePower = (): void => {
    if (s.runState === 'resetting') {
      s.togglesWhileResetting++;
      return;
    }
    s.powerToggles++;
    if (s.runState === 'idle') setRunState('ready');
    else powerOff();
  };
  const startTimer = (minutes: number): void => {
    s.timerMinutes = minutes;
    runStartedAt = clock.now();
    runSecondsAtStart = minutes * 60;
    s.secondsLeft = runSecondsAtStart;
  };
  const apply = (key: number): boolean => {
    if (key === RONGTAI_KEYS.power) {
      // The stop faults lose a toggle that would switch the chair off; switching on still works.
      if (isOn(s.runState) && (ignoreNextStop || ignoreEveryStop)) {
        ignoreNextStop = false;
        s.stopsIgnored++;
      } else {
        togglePower();
      }
      return true;
    }
    const technique = (Object.entries(MODE_KEYS) as [RongTaiMode, number][]).find(([, k]) => k === key)?.[0];
    const isAuto = key >= RONGTAI_KEYS.autoFirst && key <= RONGTAI_KEYS.autoLast;
    const isSpeed = key >= RONGTAI_KEYS.speed1 && key < RONGTAI_KEYS.speed1 + RONGTAI_SPEEDS;
    const timer = TIMERS.findIndex((t) => t.key === key);
    if (technique === undefined && !isAuto && !isSpeed && key !== RONGTAI_KEYS.heat && timer < 0) return false;
    if (!isOn(s.runState)) {
      s.ignored++;
      return true;
    }
    if (technique !== undefined || isAuto) {
      s.mode = technique ?? `auto-${key - RONGTAI_KEYS.autoFirst + 1}`;
      if (!s.running) {
        setRunState('running');
        if (s.timerMinutes === 0) startTimer(10); // a program runs on the chair's default timer
      }
    } else if (isSpeed) {
      if (speedNeedsRunning && !s.running) s.ignored++;
      else s.speed = key - RONGTAI_KEYS.speed1 + 1;
      noteSpeed();
    } else if (key === RONGTAI_KEYS.heat) {
      s.heat = !s.heat;
    } else if (s.running) {
      startTimer((timer + 1) * 10);
    } else {
      s.ignored++;
    }
    return true;
  };

  const services: SimService[] = [
    {
      uuid: RONGTAI_SERVICE,
      characteristics:
        variant === 0x84
          ? [
              { uuid: RONGTAI_WRITE_83, properties: ['write', 'writeWithoutResponse'] },
              { uuid: RONGTAI_WRITE_84, properties: ['writeWithoutResponse'] },
              { uuid: RONGTAI_NOTIFY, properties: ['notify'] },
            ]
          : [
              { uuid: RONGTAI_WRITE_83, properties: ['write', 'writeWithoutResponse'] },
              { uuid: RONGTAI_NOTIFY, properties: ['notify'] },
            ],
    },
    ...standard.services(),
  ];

  const stopStream = (): void => {
    if (streamTimer !== undefined) clock.clearTimeout(streamTimer);
    streamTimer = undefined;
  };

  return {
    address: options.address ?? `sim-rongtai-${model.toLowerCase()}`,
    localName: model,
    advertisement: { localName: model, serviceUuids: [RONGTAI_SERVICE] },
    rssi: -60,
    services,
    onWrite(service, characteristic, bytes) {
      if (service !== RONGTAI_SERVICE) return false;
      if (characteristic !== writeUuid) {
        if (characteristic === RONGTAI_WRITE_83) {
          s.wrongCharacteristic++;
          return true;
        }
        return false;
      }
      const frame = parseCommandFrame(bytes);
      if (!frame || frame.type !== variant || !apply(frame.key)) {
        s.badFrames++;
        return true;
      }
      s.framesReceived++;
      sendStatus();
      return true;
    },
    onRead: (service, characteristic) => standard.read(service, characteristic),
    setNotifier(send) {
      notifier = send;
    },
    onSubscribe(service, characteristic, on) {
      if (service !== RONGTAI_SERVICE || characteristic !== RONGTAI_NOTIFY) return;
      subscribed = on;
      stopStream();
      if (on) stream();
    },
    onDisconnect() {
      // The chair keeps its program when the link drops.
      subscribed = false;
      stopStream();
    },
    readout: (): SimReadout[] => [
      { label: 'Power', value: s.powered ? 'on' : 'off' },
      { label: 'State', value: s.runState === 'resetting' ? 'returning to rest' : s.runState },
      { label: 'Mode', value: s.mode === '' ? '—' : s.mode },
      { label: 'Speed', value: `${s.speed} of ${RONGTAI_SPEEDS}` },
      { label: 'Heat', value: s.heat ? 'on' : 'off' },
      { label: 'Timer', value: s.timerMinutes === 0 ? 'off' : `${s.timerMinutes} min` },
      { label: 'Power presses', value: `${s.powerToggles} (${s.togglesWhileResetting} while returning to rest)` },
    ],
    state: () => ({ ...s, secondsLeft: s.running ? currentSecondsLeft() : 0, variant: variant === 0x84 ? '84' : '83' }),
    actions: ['remote-power', 'remote-speed-max', 'speed-keys-need-running', 'ignore-next-stop', 'ignore-every-stop'],
    act(action) {
      if (action === 'remote-speed-max') {
        s.speed = RONGTAI_SPEEDS;
        noteSpeed();
        sendStatus();
      } else if (action === 'speed-keys-need-running') {
        speedNeedsRunning = true;
      } else if (action === 'remote-power') {
        ignoreEveryStop = false;
        togglePower();
        sendStatus();
      } else if (action === 'ignore-next-stop') {
        ignoreNextStop = true;
      } else if (action === 'ignore-every-stop') {
        ignoreEveryStop = true;
      }
    },
  };
}

/** The RongTai / Infinity chair protocol module (DESIGN §3). */
export const rongtai: ProtocolModule = {
  id: 'rongtai',
  displayName: 'RongTai / Infinity massage chair',
  kind: 'chair',
  experimental:
    'Two public sources (a Home Assistant integration and an iOS app) that agree on the frame but differ in details; the speed keys come from the iOS source only and are used for both variants. Power is a toggle: Unknot switches the chair off only when it knows the chair is on, and sends no power command while it returns to rest.',
  sources: [
    { title: 'hass-infinity-chair: wire protocol and hardware-checked status layout', where: 'github.com/dallanwagz/hass-infinity-chair — custom_components/infinity_chair/protocol.py, tests/test_protocol.py' },
    { title: 'RongTai iOS app: type 84 variant, speed keys', where: 'github.com/Bread-Yang/RongTai — rongtai/Classes/Ble/RTCommand.h, RTBleConnector.m' },
  ],
  writeGapMs: RONGTAI_WRITE_GAP_MS,
  services: [RONGTAI_SERVICE],
  identify: identifyRongTai,
  open: openRongTai,
  simulate: simulateRongTai,
};
