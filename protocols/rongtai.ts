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
 * Status frame (notify `0734594a…`): 17 bytes `F0 b1..b15 F1`; b1 bit 0x40 powered,
 * b2 bit 0x40 heat, b7 ≠ 0 running, b12 airbag bits, b14 a level 1–5 (not proven to
 * be the speed), b15 = `(~(b1 + … + b14)) & 0x7F` (worked out from the captures).
 *
 * Power is a toggle and there is no explicit off, so this module tracks what it knows
 * about the power state (see {@link openRongTai}).
 */
import { at } from './bytes';
import { rongtaiChecksum } from './checksum';
import { intensityToStep } from './intensity';
import { StandardServicesSim, canNotify, canWrite, findCharacteristic, hasBattery, writeTypeFor } from './standard';
import type {
  Advertisement,
  Capabilities,
  Command,
  ConnectionContext,
  DecodeResult,
  DeviceStatus,
  IdentifyMatch,
  Motion,
  OpenResult,
  ProtocolModule,
  ProtocolSession,
  SimOptions,
  SimReadout,
  SimService,
  SimulatedPeripheral,
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
 * Pause after a power-on toggle before the next key, ms: an assumption (the chair
 * ignores technique keys until it is on, and neither source says how long it takes).
 */
export const RONGTAI_POWER_ON_DELAY_MS = 500;

/** A status frame this recent (ms, by `ctx.now()`) counts as knowing the power state. */
export const RONGTAI_STATUS_FRESH_MS = 3000;

/**
 * After a stop toggle, status frames arriving sooner than this (ms) may have been sent
 * before the chair acted on the toggle: one that still shows "powered" is not taken as
 * proof that the toggle was lost (a corrective toggle on a stale frame would switch
 * the chair back on). A "not powered" frame confirms the stop at any time.
 */
export const RONGTAI_STOP_SETTLE_MS = 1000;

/** Message for the user when a stop could not be sent because the power state is unknown. */
export const RONGTAI_STOP_NOTICE =
  'The chair has not reported its power state lately, so Unknot did not send a power toggle (a toggle could switch the chair on). Check the chair and switch it off with its remote or power button if it is running.';

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

/** Everything a status frame carries: the contract's fields plus the airbag zones. */
export interface RongTaiStatus extends DeviceStatus {
  powered: boolean;
  running: boolean;
  heat: boolean;
  /** Byte 14, 1–5; not proven to be the speed, so `levelIsIntensity` is false. */
  level: number;
  levelIsIntensity: false;
  /** Airbag zones inflating now. */
  airbags: RongTaiAirbag[];
}

/** Length of a status frame. */
export const RONGTAI_STATUS_LENGTH = 17;

/**
 * Parses a 17-byte status frame. Returns undefined (never throws) when the length,
 * either marker or the checksum (byte 15) is wrong.
 */
export function parseStatusFrame(bytes: Uint8Array): RongTaiStatus | undefined {
  if (!(bytes instanceof Uint8Array) || bytes.length !== RONGTAI_STATUS_LENGTH) return undefined;
  if (bytes[0] !== SOF || bytes[16] !== EOF_) return undefined;
  if (at(bytes, 15) !== rongtaiChecksum(bytes, 1, 15)) return undefined;
  const airbagByte = at(bytes, 12);
  return {
    powered: (at(bytes, 1) & 0x40) !== 0,
    running: at(bytes, 7) !== 0,
    heat: (at(bytes, 2) & 0x40) !== 0,
    level: at(bytes, 14),
    levelIsIntensity: false,
    airbags: AIRBAG_BITS.filter(([, bit]) => (airbagByte & bit) !== 0).map(([name]) => name),
  };
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
  running: boolean;
  heat: boolean;
  /** Byte 14, 0..0x7F. */
  level: number;
  airbags?: RongTaiAirbag[];
}

/** Builds a valid status frame (for the simulator and tests). Other bytes take values seen in the captures. */
export function statusFrame(fields: RongTaiStatusFields): Uint8Array {
  const f = new Uint8Array(RONGTAI_STATUS_LENGTH);
  f[0] = SOF;
  f[1] = 0x05 | (fields.powered ? 0x40 : 0);
  f[2] = 0x03 | (fields.heat ? 0x40 : 0);
  f[7] = fields.running ? 0x02 : 0x00;
  f[8] = 0x2b;
  let airbags = 0x03;
  for (const [name, bit] of AIRBAG_BITS) if (fields.airbags?.includes(name)) airbags |= bit;
  f[12] = airbags;
  f[14] = Math.max(0, Math.min(0x7f, Math.round(fields.level)));
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

/** What the session believes about the power state, and where that came from. */
interface PowerKnowledge {
  powered: boolean;
  /** `ctx.now()` when learnt. */
  at: number;
  /** Order in which things were learnt (the clock may not move between two). */
  seq: number;
}

/**
 * One connection to a chair. Power rules (DESIGN §3):
 * - Technique, speed, heat-on and power-on commands first send a power toggle unless
 *   the latest thing learnt about the power (a status frame of any age, or this
 *   connection's own commands, whichever is newer) says the chair is on. A toggle on a
 *   chair that is on would switch it off.
 * - `stop` toggles power only when the chair is known to be on (DESIGN §3): from a
 *   status frame of the last {@link RONGTAI_STATUS_FRESH_MS}, or from this connection's
 *   own commands when no later status contradicts them. When it is not known (a new
 *   connection without a recent status frame) it sends nothing and {@link stopNotice}
 *   asks the user to check the chair.
 * - After a stop toggle, the first status frame that still shows the chair powered
 *   (once {@link RONGTAI_STOP_SETTLE_MS} has passed) gets one corrective toggle as
 *   `followUp`; only one per stop.
 */
class RongTaiSession implements ProtocolSession {
  readonly model: string;
  readonly capabilities: Capabilities;
  readonly notify = { service: RONGTAI_SERVICE, characteristic: RONGTAI_NOTIFY };
  /** The latest status frame's power state. */
  private statusPower: PowerKnowledge | undefined;
  /** The power state this connection's own commands left the chair in. */
  private ownPower: PowerKnowledge | undefined;
  private learnt = 0;
  private heatOn: boolean | undefined;
  private mode: RongTaiMode | undefined;
  private timerKey: number | undefined;
  private stopCheck: { at: number } | undefined;
  private notice: string | undefined;

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
   * Whether the chair is known to be on, for a stop (DESIGN §3): a status frame of the
   * last few seconds decides; otherwise this connection's own commands, unless a later
   * status frame said otherwise. undefined when not known.
   */
  knownPowered(): boolean | undefined {
    const status = this.statusPower;
    const own = this.ownPower;
    if (status && this.ctx.now() - status.at <= RONGTAI_STATUS_FRESH_MS) return status.powered;
    if (own && (!status || status.seq < own.seq || status.powered === own.powered)) return own.powered;
    return undefined;
  }

  /** The latest power state learnt from any source and of any age (undefined before any). */
  private latestPowered(): boolean | undefined {
    const status = this.statusPower;
    const own = this.ownPower;
    if (status && own) return status.seq > own.seq ? status.powered : own.powered;
    return (status ?? own)?.powered;
  }

  private remember(powered: boolean): void {
    this.ownPower = { powered, at: this.ctx.now(), seq: ++this.learnt };
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

  /** Writes that make sure the chair is on (power toggle, then the pending work timer). */
  private ensurePowered(): Write[] {
    if (this.latestPowered() === true) {
      this.remember(true);
      return [];
    }
    this.remember(true);
    this.stopCheck = undefined;
    this.heatOn = false;
    this.mode = undefined;
    const out = [this.write(RONGTAI_KEYS.power, RONGTAI_POWER_ON_DELAY_MS)];
    if (this.timerKey !== undefined) out.push(this.write(this.timerKey));
    return out;
  }

  private technique(mode: RongTaiMode): Write[] {
    const out = this.ensurePowered();
    out.push(this.write(MODE_KEYS[mode]));
    this.mode = mode;
    return out;
  }

  private stop(): Write[] {
    const known = this.knownPowered();
    if (known === true) {
      this.remember(false);
      this.notice = undefined;
      this.stopCheck = { at: this.ctx.now() };
      this.mode = undefined;
      this.heatOn = false;
      return [this.write(RONGTAI_KEYS.power)];
    }
    // Nothing suggests the chair is on when the latest report said off: no warning then.
    this.notice = known === false || this.latestPowered() === false ? undefined : RONGTAI_STOP_NOTICE;
    return [];
  }

  /**
   * Encodes a command. `setIntensity` maps 0..1 to speed 1..6 (`ceil(value × 6)`, keys
   * `2E`..`33`); 0 stops. When no technique was chosen in this connection, knead is
   * sent first (the chair needs a technique to run). `setTimer` picks the shortest work
   * timer covering the time, sent at once when the chair is on, else after the next
   * power-on. `queryStatus`/`queryFirmware` emit nothing (status is pushed).
   * @throws RangeError for an intensity that is NaN or outside 0..1 (nothing is emitted
   * and no state changes), or an unknown mode name.
   */
  encode(command: Command): Write[] {
    switch (command.type) {
      case 'setIntensity': {
        const speed = intensityToStep(command.value, RONGTAI_SPEEDS);
        if (speed === 0) return this.stop();
        const out = this.ensurePowered();
        if (this.mode === undefined) {
          out.push(this.write(MODE_KEYS.knead));
          this.mode = 'knead';
        }
        out.push(this.write(RONGTAI_KEYS.speed1 + speed - 1));
        return out;
      }
      case 'setMode':
        if (!isMode(command.mode)) throw new RangeError(`unknown RongTai mode ${JSON.stringify(command.mode)}`);
        return this.technique(command.mode);
      case 'setMotion': {
        const mode = RONGTAI_MOTION_MODES[command.motion];
        if (mode === undefined) throw new RangeError(`unknown motion ${JSON.stringify(command.motion)}`);
        return this.technique(mode);
      }
      case 'setHeat': {
        if (command.on) {
          if (this.latestPowered() === true && this.heatOn === true) return [];
          const out = this.ensurePowered();
          out.push(this.write(RONGTAI_KEYS.heat));
          this.heatOn = true;
          return out;
        }
        if (this.latestPowered() === true && this.heatOn === true) {
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
        return this.latestPowered() === true ? [this.write(this.timerKey)] : [];
      }
      case 'powerOn':
        return this.ensurePowered();
      case 'stop':
        return this.stop();
      default:
        return [];
    }
  }

  decode(bytes: Uint8Array): DecodeResult {
    const status = parseStatusFrame(bytes);
    if (!status) return decodeRongTai(bytes);
    const now = this.ctx.now();
    this.heatOn = status.heat;
    const check = this.stopCheck;
    if (check) {
      if (!status.powered) {
        this.stopCheck = undefined;
      } else if (now - check.at >= RONGTAI_STOP_SETTLE_MS) {
        // The stop toggle was lost (or undone): one corrective toggle, once.
        this.stopCheck = undefined;
        this.remember(false);
        return { kind: 'status', status, followUp: [this.write(RONGTAI_KEYS.power)] };
      } else {
        // Possibly sent before the chair acted on the toggle: keep believing it is off.
        return { kind: 'status', status };
      }
    }
    this.statusPower = { powered: status.powered, at: now, seq: ++this.learnt };
    return { kind: 'status', status };
  }

  stopNotice(): string | undefined {
    return this.notice;
  }
}

/**
 * Accepts the chair when service `fff0` has the status characteristic and one of the
 * write characteristics. `fff1` selects type byte `83` (preferred when both exist: its
 * source was checked on hardware), else `8b00…` selects `84`. The write type follows
 * the characteristic's declared properties (with response when both are allowed).
 */
export function openRongTai(ctx: ConnectionContext): OpenResult {
  if (!ctx.services.has(RONGTAI_SERVICE)) return { ok: false, reason: 'service fff0 not found' };
  if (!canNotify(findCharacteristic(ctx, RONGTAI_SERVICE, RONGTAI_NOTIFY))) {
    return { ok: false, reason: 'status characteristic 0734594a… (notify) not found in service fff0' };
  }
  const w83 = findCharacteristic(ctx, RONGTAI_SERVICE, RONGTAI_WRITE_83);
  const w84 = findCharacteristic(ctx, RONGTAI_SERVICE, RONGTAI_WRITE_84);
  const battery = hasBattery(ctx);
  if (canWrite(w83)) return { ok: true, session: new RongTaiSession(ctx, 0x83, RONGTAI_WRITE_83, writeTypeFor(w83, true), battery) };
  if (canWrite(w84)) return { ok: true, session: new RongTaiSession(ctx, 0x84, RONGTAI_WRITE_84, writeTypeFor(w84, false), battery) };
  return { ok: false, reason: 'no write characteristic (fff1 or 8b00ace7…) in service fff0' };
}

/** Simulated chair state, as `state()` reports it. */
interface RongTaiSimState {
  [key: string]: number | string | boolean;
  powered: boolean;
  running: boolean;
  /** Technique or `auto-N`; empty when none. */
  mode: string;
  /** Speed 1..6. */
  speed: number;
  heat: boolean;
  /** Work timer in minutes; 0 when none. */
  timerMinutes: number;
  /** Status byte 14 (a level 1–5 the chair reports; the simulator keeps it at 3). */
  level: number;
  framesReceived: number;
  badFrames: number;
  /** Keys ignored because the chair was off. */
  ignoredWhileOff: number;
  powerToggles: number;
}

/**
 * A simulated chair with the same state machine as the real one as far as the sources
 * tell: power toggles; techniques, speed, heat and timer keys are ignored while off;
 * power off clears the program, heat and timer. It sends a status frame after every
 * valid command and on subscribe.
 * Model `RT8600S` simulates the iOS variant (type `84`, write `8b00…` without
 * response); any other model (default `EVOLUTION-1`) the `83` variant (write `fff1`).
 * Actions: `remote-power` (the chair's own remote toggles power) and
 * `lose-next-power` (the next power toggle written is lost, to test the corrective toggle).
 */
export function simulateRongTai(options: SimOptions = {}): SimulatedPeripheral {
  const model = options.model ?? 'EVOLUTION-1';
  const variant: RongTaiVariant = model === 'RT8600S' ? 0x84 : 0x83;
  const writeUuid = variant === 0x84 ? RONGTAI_WRITE_84 : RONGTAI_WRITE_83;
  const standard = new StandardServicesSim({ manufacturer: 'RongTai (simulated)', model });
  const s: RongTaiSimState = {
    powered: false,
    running: false,
    mode: '',
    speed: 3,
    heat: false,
    timerMinutes: 0,
    level: 3,
    framesReceived: 0,
    badFrames: 0,
    ignoredWhileOff: 0,
    powerToggles: 0,
  };
  let notifier: ((service: string, characteristic: string, bytes: Uint8Array) => void) | undefined;
  let subscribed = false;
  let loseNextPower = false;

  const sendStatus = (): void => {
    if (subscribed && notifier) {
      notifier(RONGTAI_SERVICE, RONGTAI_NOTIFY, statusFrame({ powered: s.powered, running: s.running, heat: s.heat, level: s.level }));
    }
  };
  const togglePower = (): void => {
    s.powerToggles++;
    s.powered = !s.powered;
    if (!s.powered) {
      s.running = false;
      s.mode = '';
      s.heat = false;
      s.timerMinutes = 0;
    }
  };
  const apply = (key: number): boolean => {
    if (key === RONGTAI_KEYS.power) {
      if (loseNextPower) loseNextPower = false;
      else togglePower();
      return true;
    }
    const technique = (Object.entries(MODE_KEYS) as [RongTaiMode, number][]).find(([, k]) => k === key)?.[0];
    const isAuto = key >= RONGTAI_KEYS.autoFirst && key <= RONGTAI_KEYS.autoLast;
    const isSpeed = key >= RONGTAI_KEYS.speed1 && key < RONGTAI_KEYS.speed1 + RONGTAI_SPEEDS;
    const timer = TIMERS.findIndex((t) => t.key === key);
    if (technique === undefined && !isAuto && !isSpeed && key !== RONGTAI_KEYS.heat && timer < 0) return false;
    if (!s.powered) {
      s.ignoredWhileOff++;
      return true;
    }
    if (technique !== undefined) {
      s.mode = technique;
      s.running = true;
    } else if (isAuto) {
      s.mode = `auto-${key - RONGTAI_KEYS.autoFirst + 1}`;
      s.running = true;
    } else if (isSpeed) {
      s.speed = key - RONGTAI_KEYS.speed1 + 1;
    } else if (key === RONGTAI_KEYS.heat) {
      s.heat = !s.heat;
    } else {
      s.timerMinutes = (timer + 1) * 10;
    }
    return true;
  };

  const services: SimService[] = [
    {
      uuid: RONGTAI_SERVICE,
      characteristics: [
        { uuid: writeUuid, properties: variant === 0x84 ? ['writeWithoutResponse'] : ['write', 'writeWithoutResponse'] },
        { uuid: RONGTAI_NOTIFY, properties: ['notify'] },
      ],
    },
    ...standard.services(),
  ];

  return {
    address: options.address ?? `sim-rongtai-${model.toLowerCase()}`,
    localName: model,
    advertisement: { localName: model, serviceUuids: [RONGTAI_SERVICE] },
    rssi: -60,
    services,
    onWrite(service, characteristic, bytes) {
      if (service !== RONGTAI_SERVICE || characteristic !== writeUuid) return false;
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
      if (on) sendStatus();
    },
    onDisconnect() {
      // The chair keeps its program when the link drops.
      subscribed = false;
    },
    readout: (): SimReadout[] => [
      { label: 'Power', value: s.powered ? 'on' : 'off' },
      { label: 'Mode', value: s.mode === '' ? '—' : s.mode },
      { label: 'Speed', value: `${s.speed} of ${RONGTAI_SPEEDS}` },
      { label: 'Heat', value: s.heat ? 'on' : 'off' },
      { label: 'Timer', value: s.timerMinutes === 0 ? 'off' : `${s.timerMinutes} min` },
    ],
    state: () => ({ ...s, variant: variant === 0x84 ? '84' : '83' }),
    actions: ['remote-power', 'lose-next-power'],
    act(action) {
      if (action === 'remote-power') {
        togglePower();
        sendStatus();
      } else if (action === 'lose-next-power') {
        loseNextPower = true;
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
    'Two public sources (a Home Assistant integration and an iOS app) that agree on the frame but differ in details; the speed keys come from the iOS source only and are used for both variants. Power is a toggle: Unknot switches the chair off only when it knows the chair is on.',
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
