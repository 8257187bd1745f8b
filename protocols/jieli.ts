/**
 * JieLi "hy" EMS massager, protocol v2 (JL6328-based pads and belts).
 *
 * Experimental: one public source, lan-feng/massager, whose written spec and later
 * code disagree; this module follows the code:
 * `app/src/main/java/com/massager/app/data/bluetooth/protocol/EmsV2ProtocolAdapter.kt`
 * (frame layout, command ids, status body, battery 0–4 in quarters),
 * `Crc16Ccitt.kt` (CRC-16 seed 0, not reflected = CRC-16/XMODEM) and
 * `HyAdvertisement.kt` (names `hy`+digit, advertisement bytes `68 79`).
 *
 * Frame: `68 79 | len u16 BE | dir | cmd | body | CRC u16 BE | 0D 0A`; len is the
 * whole frame, header to terminator (10 + body length); dir 1 = to the device,
 * 2 = from it; the CRC is CRC-16/XMODEM over every byte before it.
 * Commands: 0 run/stop (`01 zone mode level minutes` starts, `00 00 00 00 00`
 * stops), 1 mode 0–7, 2 intensity 0–19, 3 zone 0–5, 8 timer. The device reports
 * its state as cmd-0 notifications; this module sends no polls.
 */
import { at } from './bytes';
import { crc16Xmodem } from './checksum';
import { intensityToStep } from './intensity';
import { StandardServicesSim, canNotify, canWrite, findCharacteristic, writeTypeFor } from './standard';
import type {
  Advertisement,
  Capabilities,
  Command,
  ConnectionContext,
  DecodeResult,
  DeviceStatus,
  IdentifyMatch,
  OpenResult,
  ProtocolModule,
  ProtocolSession,
  SimOptions,
  SimReadout,
  SimService,
  SimulatedPeripheral,
  Write,
} from './types';

/** Service / write / notify UUID pairs the source lists, in order of preference. */
export const JIELI_PROFILES: readonly { service: string; write: string; notify: string }[] = [
  { service: 'ffe0', write: 'ffe1', notify: 'ffe2' },
  { service: 'fcc0', write: 'fcc1', notify: 'fcc2' },
];

/** Frame header `68 79` ("hy") and terminator `0D 0A`. */
const H0 = 0x68;
const H1 = 0x79;
const CR = 0x0d;
const LF = 0x0a;
/** Bytes of a frame that are not body: header 2, length 2, dir 1, cmd 1, CRC 2, terminator 2. */
const OVERHEAD = 10;

/** Direction byte. */
export const JIELI_TO_DEVICE = 1;
export const JIELI_FROM_DEVICE = 2;

/** Command ids (byte 5). */
export const JIELI_CMD = { runState: 0, mode: 1, intensity: 2, zone: 3, timer: 8 } as const;

/** Intensity levels above 0. */
export const JIELI_LEVELS = 19;
/** Modes (programs) 0–7, named `mode-0`…`mode-7`. */
export const JIELI_MODES: readonly string[] = Array.from({ length: 8 }, (_, i) => `mode-${i}`);
/** Highest zone number. The source does not say what each zone is; Unknot uses zone 0. */
export const JIELI_MAX_ZONE = 5;

/**
 * Device-side timer used when the app has not set one, minutes. The session cap is
 * at most 5 minutes (DESIGN §1), so a pad left running by a crashed app stops by then.
 */
export const JIELI_DEFAULT_MINUTES = 5;

/** The device timers offered to the governor: 1..30 minutes, in seconds. */
const TIMERS_SECONDS: readonly number[] = Array.from({ length: 30 }, (_, i) => (i + 1) * 60);

/**
 * Write gap, ms. The source states none. 100 ms leaves the pad's BLE-to-UART bridge
 * time to pass each frame on whole; electrical stimulation also ramps slowly, so
 * more frequent updates would add nothing.
 */
export const JIELI_WRITE_GAP_MS = 100;

/**
 * Builds a frame. `dir` defaults to 1 (to the device).
 * @param cmd command id 0..255.
 * @param body body bytes, each 0..255 (at most 65525 bytes).
 * @throws RangeError for a command id or direction outside 0..255 or a body too long.
 */
export function jieliFrame(cmd: number, body: ArrayLike<number>, dir: number = JIELI_TO_DEVICE): Uint8Array {
  if (!Number.isInteger(cmd) || cmd < 0 || cmd > 0xff) throw new RangeError(`command id must be 0..255, got ${cmd}`);
  if (!Number.isInteger(dir) || dir < 0 || dir > 0xff) throw new RangeError(`direction must be 0..255, got ${dir}`);
  const length = OVERHEAD + body.length;
  if (length > 0xffff) throw new RangeError('frame body too long');
  const f = new Uint8Array(length);
  f[0] = H0;
  f[1] = H1;
  f[2] = length >> 8;
  f[3] = length & 0xff;
  f[4] = dir;
  f[5] = cmd;
  f.set(Array.from(body, (b) => b & 0xff), 6);
  const crcAt = length - 4;
  const crc = crc16Xmodem(f, 0, crcAt);
  f[crcAt] = crc >> 8;
  f[crcAt + 1] = crc & 0xff;
  f[length - 2] = CR;
  f[length - 1] = LF;
  return f;
}

/** The start frame: cmd 0, body `01 zone mode level minutes` (each clamped to its range). */
export function jieliStartFrame(zone: number, mode: number, level: number, minutes: number): Uint8Array {
  const clamp = (v: number, hi: number) => Math.max(0, Math.min(hi, Math.round(v)));
  return jieliFrame(JIELI_CMD.runState, [1, clamp(zone, JIELI_MAX_ZONE), clamp(mode, 7), clamp(level, JIELI_LEVELS), clamp(minutes, 255)]);
}

/** The stop frame: cmd 0, body `00 00 00 00 00` (15 bytes). */
export function jieliStopFrame(): Uint8Array {
  return jieliFrame(JIELI_CMD.runState, [0, 0, 0, 0, 0]);
}

/** A frame read back: direction, command id and body. */
export interface JieliFrame {
  dir: number;
  cmd: number;
  body: Uint8Array;
}

/**
 * Parses a frame. Checks the header, the terminator, the length field (the whole
 * frame; the source also tolerates a length without the terminator) and the CRC
 * (big-endian; with `acceptLittleEndianCrc`, also little-endian, as the source's
 * decoder does because the device's byte order differs from the app's).
 * Returns undefined for anything malformed. Never throws.
 */
export function parseJieliFrame(bytes: Uint8Array, acceptLittleEndianCrc = true): JieliFrame | undefined {
  if (!(bytes instanceof Uint8Array) || bytes.length < OVERHEAD) return undefined;
  if (bytes[0] !== H0 || bytes[1] !== H1 || bytes[bytes.length - 2] !== CR || bytes[bytes.length - 1] !== LF) return undefined;
  const length = (at(bytes, 2) << 8) | at(bytes, 3);
  if (length !== bytes.length && length !== bytes.length - 2) return undefined;
  const crcAt = bytes.length - 4;
  const crc = crc16Xmodem(bytes, 0, crcAt);
  const be = (at(bytes, crcAt) << 8) | at(bytes, crcAt + 1);
  const le = (at(bytes, crcAt + 1) << 8) | at(bytes, crcAt);
  if (crc !== be && !(acceptLittleEndianCrc && crc === le)) return undefined;
  return { dir: at(bytes, 4), cmd: at(bytes, 5), body: bytes.slice(6, crcAt) };
}

/** Battery byte 0–4 (quarters) → percent, or undefined outside 0–4 (source: `toBatteryPercent`). */
function batteryPercent(raw: number | undefined): number | undefined {
  return raw !== undefined && raw >= 0 && raw <= 4 ? raw * 25 : undefined;
}

/**
 * Decodes one notification. A cmd-0 frame is the device's status: body[0] = 1 running,
 * body[1] battery 0–4 (×25 %), body[2] mode, body[3] level (the intensity step, so
 * `levelIsIntensity`), body[4] zone. cmd 1 and 2 frames report the mode and the level.
 * Other valid frames give an empty status; anything malformed is `unknown`. Never throws.
 */
export function decodeJieli(bytes: Uint8Array): DecodeResult {
  const frame = parseJieliFrame(bytes);
  if (!frame) return { kind: 'unknown', reason: 'not a valid 68 79 … 0D 0A frame (length, markers or CRC)' };
  const b = frame.body;
  const status: DeviceStatus = {};
  if (frame.cmd === JIELI_CMD.runState) {
    if (b.length === 0) return { kind: 'unknown', reason: 'status frame without body' };
    status.running = b[0] === 1;
    const battery = batteryPercent(b[1]);
    if (battery !== undefined) status.batteryPercent = battery;
    if (b[2] !== undefined && b[2] <= 7) status.mode = `mode-${b[2]}`;
    if (b[3] !== undefined) {
      status.level = b[3];
      status.levelIsIntensity = true;
    }
  } else if (frame.cmd === JIELI_CMD.mode && b[0] !== undefined && b[0] <= 7) {
    status.mode = `mode-${b[0]}`;
  } else if (frame.cmd === JIELI_CMD.intensity && b[0] !== undefined) {
    status.level = b[0];
    status.levelIsIntensity = true;
  }
  return { kind: 'status', status };
}

/**
 * Recognises the pad: manufacturer/advertisement bytes starting `68 79` → strong;
 * a local name `hy` followed by a digit (any case) → candidate (short and generic, and
 * the GATT UUIDs are the common HM-10 ones). The model is `hy<product>`.
 */
export function identifyJieli(adv: Advertisement): IdentifyMatch | null {
  const data = adv.manufacturerData;
  if (data && data.length >= 2 && data[0] === H0 && data[1] === H1) {
    const p = data[2];
    const product = p === undefined ? '' : p >= 0x30 && p <= 0x39 ? String.fromCharCode(p) : String(p);
    return { confidence: 'strong', model: `hy${product}` };
  }
  const name = adv.localName?.trim();
  const m = name ? /^hy(\d)/i.exec(name) : null;
  if (m) return { confidence: 'candidate', model: `hy${m[1]}` };
  return null;
}

/** Capabilities: 19 levels, eight modes, battery from status, device timers 1–30 min. */
export function jieliCapabilities(): Capabilities {
  return {
    steps: JIELI_LEVELS,
    minRunningStep: 1,
    stepUnit: 'level',
    modes: [...JIELI_MODES],
    battery: true,
    heat: false,
    timersSeconds: [...TIMERS_SECONDS],
  };
}

/** Minutes for the device timer: the shortest whole number covering `seconds`, 1..255. */
export function jieliMinutesFor(seconds: number): number {
  return Math.max(1, Math.min(255, Math.ceil(seconds / 60)));
}

/**
 * One connection to a pad. It remembers zone, mode, level, timer minutes and whether
 * the output runs (from its own commands and the device's status frames).
 * - `setIntensity`: 0 stops; otherwise a start frame when not running (carrying the
 *   device-side timer), else a cmd-2 level frame.
 * - `setMode`: a cmd-1 frame when running; otherwise remembered for the next start.
 * - `setTimer`: remembered; when running, the start frame is sent again so the device
 *   timer changes (cmd 8 is not used: its body is one byte of minutes in one version
 *   of the source and two bytes of seconds in another).
 * - `stop`: always the stop frame. `setMotion`, `setHeat`, `powerOn` and the queries
 *   emit nothing (no motion, heat or power commands; no polls).
 */
class JieliSession implements ProtocolSession {
  readonly capabilities = jieliCapabilities();
  readonly notify: { service: string; characteristic: string };
  private running = false;
  private zone = 0;
  private mode = 0;
  private level = 0;
  private minutes = JIELI_DEFAULT_MINUTES;

  constructor(
    readonly model: string,
    private readonly service: string,
    private readonly writeUuid: string,
    notifyUuid: string,
    private readonly withResponse: boolean,
  ) {
    this.notify = { service, characteristic: notifyUuid };
  }

  init(): Write[] {
    return [];
  }

  private write(bytes: Uint8Array): Write {
    return { service: this.service, characteristic: this.writeUuid, bytes, withResponse: this.withResponse };
  }

  private start(): Write[] {
    this.running = true;
    return [this.write(jieliStartFrame(this.zone, this.mode, this.level, this.minutes))];
  }

  /** @throws RangeError for an intensity that is NaN or outside 0..1, an unknown mode, or a timer that is not a number. */
  encode(command: Command): Write[] {
    switch (command.type) {
      case 'setIntensity': {
        const level = intensityToStep(command.value, JIELI_LEVELS);
        if (level === 0) return this.encode({ type: 'stop' });
        this.level = level;
        if (!this.running) return this.start();
        return [this.write(jieliFrame(JIELI_CMD.intensity, [level]))];
      }
      case 'stop':
        this.running = false;
        this.level = 0;
        return [this.write(jieliStopFrame())];
      case 'setMode': {
        const index = JIELI_MODES.indexOf(command.mode);
        if (index < 0) throw new RangeError(`unknown EMS mode ${JSON.stringify(command.mode)}`);
        this.mode = index;
        return this.running ? [this.write(jieliFrame(JIELI_CMD.mode, [index]))] : [];
      }
      case 'setTimer': {
        if (typeof command.seconds !== 'number' || Number.isNaN(command.seconds)) {
          throw new RangeError(`timer seconds must be a number, got ${String(command.seconds)}`);
        }
        this.minutes = jieliMinutesFor(command.seconds);
        return this.running ? this.start() : [];
      }
      default:
        return [];
    }
  }

  decode(bytes: Uint8Array): DecodeResult {
    const result = decodeJieli(bytes);
    if (result.kind === 'status' && result.status.running !== undefined) {
      this.running = result.status.running;
      if (result.status.level !== undefined) this.level = result.status.level;
    }
    return result;
  }
}

/**
 * Accepts the pad when a service of {@link JIELI_PROFILES} has its writable and
 * notifying characteristics. Writes with response when the characteristic allows it.
 * The model comes from `ctx.model`, else the local name, else `hy`.
 */
export function openJieli(ctx: ConnectionContext): OpenResult {
  for (const p of JIELI_PROFILES) {
    if (!ctx.services.has(p.service)) continue;
    const w = findCharacteristic(ctx, p.service, p.write);
    const n = findCharacteristic(ctx, p.service, p.notify);
    if (!canWrite(w) || !canNotify(n)) continue;
    const model = ctx.model ?? ctx.localName ?? 'hy';
    const session = new JieliSession(model, p.service, p.write, p.notify, writeTypeFor(w, true));
    return { ok: true, session };
  }
  return { ok: false, reason: 'no EMS v2 profile found (service ffe0 with write ffe1 and notify ffe2, or fcc0/fcc1/fcc2)' };
}

/** Simulated pad state, as `state()` reports it. */
interface JieliSimState {
  [key: string]: number | string | boolean;
  running: boolean;
  level: number;
  mode: number;
  zone: number;
  minutes: number;
  /** Battery 0–4 quarters as the device reports it. */
  batteryQuarters: number;
  framesReceived: number;
  badFrames: number;
}

/**
 * A simulated pad. Address `sim-jieli-hy1`, name `hy1` (model option), advertising
 * `ffe0` and manufacturer bytes `68 79 31`. It checks every frame written to `ffe1`
 * (markers, length, big-endian CRC, direction 1, value ranges), applies start, stop,
 * mode, level, zone and timer (cmd 8: one byte of minutes, or two bytes of seconds),
 * counts malformed frames in `badFrames`, and answers each valid frame, and each
 * subscription, with a cmd-0 status notification
 * `running battery mode level zone minutes`. Action `button-max` raises the level to
 * 19 as the pad's own + button would.
 */
export function simulateJieli(options: SimOptions = {}): SimulatedPeripheral {
  const model = options.model ?? 'hy1';
  const product = /^hy(\d)/i.exec(model)?.[1] ?? '1';
  const profile = JIELI_PROFILES[0]!;
  const standard = new StandardServicesSim({});
  const s: JieliSimState = { running: false, level: 0, mode: 0, zone: 0, minutes: 0, batteryQuarters: 3, framesReceived: 0, badFrames: 0 };
  let notifier: ((service: string, characteristic: string, bytes: Uint8Array) => void) | undefined;
  let subscribed = false;

  const sendStatus = (): void => {
    if (!subscribed || !notifier) return;
    const body = [s.running ? 1 : 0, s.batteryQuarters, s.mode, s.level, s.zone, Math.min(255, s.minutes)];
    notifier(profile.service, profile.notify, jieliFrame(JIELI_CMD.runState, body, JIELI_FROM_DEVICE));
  };

  const apply = (f: JieliFrame): boolean => {
    const b = f.body;
    const v = b[0];
    if (f.dir !== JIELI_TO_DEVICE || v === undefined) return false;
    switch (f.cmd) {
      case JIELI_CMD.runState: {
        if (b.length !== 5) return false;
        if (v === 0) {
          s.running = false;
          s.level = 0;
          return true;
        }
        const [, zone = 0, mode = 0, level = 0, minutes = 0] = b;
        if (v !== 1 || zone > JIELI_MAX_ZONE || mode > 7 || level > JIELI_LEVELS) return false;
        Object.assign(s, { running: true, zone, mode, level, minutes });
        return true;
      }
      case JIELI_CMD.mode:
        if (b.length !== 1 || v > 7) return false;
        s.mode = v;
        return true;
      case JIELI_CMD.intensity:
        if (b.length !== 1 || v > JIELI_LEVELS) return false;
        s.level = v;
        return true;
      case JIELI_CMD.zone:
        if (b.length !== 1 || v > JIELI_MAX_ZONE) return false;
        s.zone = v;
        return true;
      case JIELI_CMD.timer:
        if (b.length === 1) s.minutes = v;
        else if (b.length === 2) s.minutes = Math.ceil(((v << 8) | at(b, 1)) / 60);
        else return false;
        return true;
      default:
        return false;
    }
  };

  const services: SimService[] = [
    {
      uuid: profile.service,
      characteristics: [
        { uuid: profile.write, properties: ['write', 'writeWithoutResponse'] },
        { uuid: profile.notify, properties: ['notify'] },
      ],
    },
    ...standard.services(),
  ];

  return {
    address: options.address ?? `sim-jieli-${model.toLowerCase()}`,
    localName: model,
    advertisement: { localName: model, serviceUuids: [profile.service], manufacturerData: Uint8Array.of(H0, H1, product.charCodeAt(0)) },
    rssi: -65,
    services,
    onWrite(service, characteristic, bytes) {
      if (service !== profile.service || characteristic !== profile.write) return false;
      const frame = parseJieliFrame(bytes, false);
      if (!frame || !apply(frame)) {
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
      if (service !== profile.service || characteristic !== profile.notify) return;
      subscribed = on;
      if (on) sendStatus();
    },
    onDisconnect() {
      // The pad keeps stimulating until its own timer ends when the link drops.
      subscribed = false;
    },
    readout: (): SimReadout[] => [
      { label: 'Output', value: s.running ? 'on' : 'off' },
      { label: 'Level', value: `${s.level} of ${JIELI_LEVELS}` },
      { label: 'Mode', value: `mode-${s.mode}` },
      { label: 'Zone', value: String(s.zone) },
      { label: 'Timer', value: s.minutes === 0 ? 'off' : `${s.minutes} min` },
    ],
    state: () => ({ ...s }),
    actions: ['button-max'],
    act(action) {
      if (action !== 'button-max') return;
      s.level = JIELI_LEVELS;
      s.running = true;
      sendStatus();
    },
  };
}

/** The JieLi "hy" EMS v2 protocol module (DESIGN §3). */
export const jieli: ProtocolModule = {
  id: 'jieli-ems',
  displayName: 'JieLi "hy" EMS massager',
  kind: 'ems',
  experimental:
    'Single public source (an Android app) whose written spec and later code disagree; Unknot follows the code. Not checked on hardware. The name "hy" plus a digit is generic, so a device found by name alone is confirmed only by its GATT profile.',
  sources: [
    { title: 'massager app: EMS v2 frame, commands, status', where: 'github.com/lan-feng/massager — app/src/main/java/com/massager/app/data/bluetooth/protocol/EmsV2ProtocolAdapter.kt' },
    { title: 'massager app: CRC-16 (seed 0, not reflected)', where: 'github.com/lan-feng/massager — app/src/main/java/com/massager/app/data/bluetooth/protocol/Crc16Ccitt.kt' },
    { title: 'massager app: "hy" advertisement', where: 'github.com/lan-feng/massager — app/src/main/java/com/massager/app/data/bluetooth/protocol/HyAdvertisement.kt' },
  ],
  writeGapMs: JIELI_WRITE_GAP_MS,
  services: JIELI_PROFILES.map((p) => p.service),
  identify: identifyJieli,
  open: openJieli,
  simulate: simulateJieli,
};
