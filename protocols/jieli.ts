/**
 * JieLi "hy" EMS massager, protocol v2 (JL6328-based pads and belts).
 *
 * Experimental: one public source, lan-feng/massager (an Android app), whose written
 * spec (`doc/prompt_014.md`) and code disagree, and whose code changed over time. This
 * module follows the code as it stands at the newest commit read (3482473, Jan 2026):
 * - `app/src/main/java/com/massager/app/data/bluetooth/protocol/EmsV2ProtocolAdapter.kt`:
 *   frame layout, command ids, the status body, battery 0–4 in quarters, the CRC read in
 *   either byte order;
 * - `app/src/main/java/com/massager/app/presentation/device/DeviceControlViewModel.kt`:
 *   how the app drives the pad — a level above 0 starts the output, level 0 stops it and
 *   the app then waits for a status saying the output is off; a heartbeat request after
 *   connecting; the timer sent as minutes × 60 seconds;
 * - `app/src/main/java/com/massager/app/domain/device/EmsDeviceSession.kt`: timer in
 *   seconds, the run-state command (cmd 0x0B) that earlier versions used to start and stop;
 * - `app/src/main/java/com/massager/app/data/bluetooth/session/EmsFrameExtractor.kt` and
 *   `ProtocolPayloadBuffer.kt`: notifications are buffered and cut into frames (the app
 *   cuts at the terminator; Unknot uses the length field), the buffer is bounded;
 * - `app/src/main/java/com/massager/app/data/bluetooth/protocol/HyAdvertisement.kt` and
 *   `advertisement/HyAdvertisementDecoder.kt`: `68 79 productId fw uid[4]` found anywhere in
 *   the raw advertisement, or a name `hy` + digit;
 * - `app/src/main/java/com/massager/app/data/bluetooth/protocol/Crc16Ccitt.kt`: CRC-16 seed 0,
 *   not reflected (= CRC-16/XMODEM).
 *
 * Frame: `68 79 | len u16 BE | dir | cmd | body | CRC u16 | 0D 0A`; len is the whole frame,
 * header to terminator (10 + body length) — the app also accepts a len two smaller (the
 * written spec's reading, without the terminator); dir 1 = to the device, 2 = from it; the
 * CRC is CRC-16/XMODEM over every byte before it, big-endian when the app sends it, either
 * order when it reads (newer boards send it little-endian).
 *
 * Commands: 0 status (the pad's own report every 5 s; the first app versions also sent
 * `cmd 0, 01 zone mode level minutes` to start and `cmd 0, 00 00 00 00 00` to stop),
 * 1 mode 0–7, 2 level 0–19, 3 zone 0–5, 7 buzzer, 8 timer (two bytes of seconds,
 * big-endian; one byte of minutes in older code), 0x0A heartbeat request (empty body),
 * 0x0B run state (`on/off, seconds u16 BE`; the app's December 2025 start and stop).
 */
import { at } from './bytes';
import { crc16Xmodem } from './checksum';
import { intensityToStep } from './intensity';
import { StandardServicesSim, canNotify, canWrite, findCharacteristic, writeTypeFor } from './standard';
import { SYSTEM_SIM_CLOCK } from './types';
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
  StopProof,
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

/** Longest frame accepted, bytes (the source's written spec: "a single frame is at most 128 bytes"). */
export const JIELI_MAX_FRAME = 128;
/**
 * Most bytes a session keeps between notifications while it waits for the rest of a frame
 * (the source's `ProtocolPayloadBuffer` clears its buffer beyond 256 bytes).
 */
export const JIELI_BUFFER_LIMIT = 256;

/** Direction byte. */
export const JIELI_TO_DEVICE = 1;
export const JIELI_FROM_DEVICE = 2;

/** Command ids (byte 5), as `EmsV2ProtocolAdapter.CommandId` names them. */
export const JIELI_CMD = {
  /** The pad's status report ("heartbeat"); also the first app versions' start/stop. */
  status: 0,
  mode: 1,
  intensity: 2,
  zone: 3,
  buzzer: 7,
  timer: 8,
  /** Heartbeat request: empty body; the pad answers with a status (cmd 0). */
  heartbeatRequest: 0x0a,
  /** Run state: body `on/off, seconds u16 BE`. */
  runState: 0x0b,
} as const;

/** Intensity levels above 0. */
export const JIELI_LEVELS = 19;
/** Modes (programs) 0–7, named `mode-0`…`mode-7`. */
export const JIELI_MODES: readonly string[] = Array.from({ length: 8 }, (_, i) => `mode-${i}`);
/**
 * Highest zone number. The source's UI names zones 0 shoulder, 1 waist, 2 legs, 3 arms,
 * 4 joint, 5 body; Unknot uses zone 0 (no command carries the muscle group).
 */
export const JIELI_MAX_ZONE = 5;

/**
 * Device-side timer used when the app has not set one, seconds (5 minutes). The session
 * cap is at most 5 minutes (DESIGN §1), so a pad left running by a crashed app stops by then.
 */
export const JIELI_DEFAULT_TIMER_SECONDS = 300;
/** Largest timer the two-byte field holds, rounded down to whole minutes, seconds. */
export const JIELI_MAX_TIMER_SECONDS = 65_520;

/** How long a stop attempt waits for the pad's status to say the output is off, ms (DESIGN §4). */
export const JIELI_STOP_DEADLINE_MS = 2_000;

/** How often the pad reports its status by itself, ms (the source's spec: a 5 s heartbeat). */
export const JIELI_STATUS_PERIOD_MS = 5_000;

/** The device timers offered to the governor: whole minutes 1..60 (the source's UI offers 5–60), in seconds. */
const TIMERS_SECONDS: readonly number[] = Array.from({ length: 60 }, (_, i) => (i + 1) * 60);

/**
 * Write gap, ms. The source states none. 100 ms leaves the pad's BLE-to-UART bridge
 * time to pass each frame on whole; electrical stimulation also ramps slowly, so
 * more frequent updates would add nothing.
 */
export const JIELI_WRITE_GAP_MS = 100;

/** Byte order of a frame's CRC. */
export type JieliCrcOrder = 'big-endian' | 'little-endian';

/**
 * Builds a frame. `dir` defaults to 1 (to the device), the CRC to big-endian (what the app
 * sends; newer boards answer little-endian). Body values are taken modulo 256.
 * @param cmd command id 0..255.
 * @param body body bytes (at most 65525).
 * @throws RangeError for a command id or direction outside 0..255 or a body too long.
 */
export function jieliFrame(
  cmd: number,
  body: ArrayLike<number>,
  dir: number = JIELI_TO_DEVICE,
  crcOrder: JieliCrcOrder = 'big-endian',
): Uint8Array {
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
  const hi = crc >> 8;
  const lo = crc & 0xff;
  f[crcAt] = crcOrder === 'big-endian' ? hi : lo;
  f[crcAt + 1] = crcOrder === 'big-endian' ? lo : hi;
  f[length - 2] = CR;
  f[length - 1] = LF;
  return f;
}

function checkInteger(name: string, value: number, max: number): number {
  if (!Number.isInteger(value) || value < 0 || value > max) throw new RangeError(`${name} must be an integer 0..${max}, got ${String(value)}`);
  return value;
}

/**
 * The level frame: cmd 2, body `level` (`68 79 00 0B 01 02 ll CRC 0D 0A`). Level 0 stops
 * the output and a level above 0 starts it (source: `DeviceControlViewModel.kt`).
 * @param level 0..19.
 * @throws RangeError for anything but an integer 0..19.
 */
export function jieliLevelFrame(level: number): Uint8Array {
  return jieliFrame(JIELI_CMD.intensity, [checkInteger('level', level, JIELI_LEVELS)]);
}

/**
 * The mode frame: cmd 1, body `mode`.
 * @param mode 0..7.
 * @throws RangeError for anything but an integer 0..7.
 */
export function jieliModeFrame(mode: number): Uint8Array {
  return jieliFrame(JIELI_CMD.mode, [checkInteger('mode', mode, JIELI_MODES.length - 1)]);
}

/**
 * The zone frame: cmd 3, body `zone`.
 * @param zone 0..5.
 * @throws RangeError for anything but an integer 0..5.
 */
export function jieliZoneFrame(zone: number): Uint8Array {
  return jieliFrame(JIELI_CMD.zone, [checkInteger('zone', zone, JIELI_MAX_ZONE)]);
}

/**
 * The timer frame as the current source sends it: cmd 8, body two bytes of seconds,
 * big-endian (`EmsV2ProtocolAdapter.kt` `SetTimer`; `EmsDeviceSession.kt` passes minutes × 60).
 * @param seconds 0..65535.
 * @throws RangeError for anything but an integer 0..65535.
 */
export function jieliTimerFrame(seconds: number): Uint8Array {
  const s = checkInteger('timer seconds', seconds, 0xffff);
  return jieliFrame(JIELI_CMD.timer, [s >> 8, s & 0xff]);
}

/**
 * The stop the current source sends: level 0, `68 79 00 0B 01 02 00 62 84 0D 0A`
 * (`DeviceControlViewModel.kt` `stopSession` → `selectLevel(0)`). The app then ignores
 * "running" statuses until one says the output is off.
 */
export function jieliStopFrame(): Uint8Array {
  return jieliLevelFrame(0);
}

/**
 * The run-state-off frame, `68 79 00 0D 01 0B 00 00 00 C2 D2 0D 0A`: cmd 0x0B with body
 * `00` (off) and `00 00` (a duration of 0 seconds, u16 BE). `EmsDeviceSession.kt`
 * `stopProgram()` sends it (`SetRunState(running = false, durationSeconds = 0)`); from
 * December 2025 until January 2026 the app stopped with it (its `runProgram` sent
 * `01 ss ss` to start). The current app no longer calls it: Unknot keeps it as the first
 * fallback when the level-0 stop is not confirmed ({@link ProtocolSession.stopEscalation}).
 */
export function jieliRunStateOffFrame(): Uint8Array {
  return jieliFrame(JIELI_CMD.runState, [0, 0, 0]);
}

/**
 * The first app versions' stop (November 2025), `68 79 00 0F 01 00 00 00 00 00 00 D7 0D 0D 0A`:
 * cmd 0, body `00 00 00 00 00` (`EmsV2ProtocolAdapter.kt` `StopProgram`). Kept for old
 * firmware, as the second fallback of {@link ProtocolSession.stopEscalation}.
 */
export function jieliLegacyStopFrame(): Uint8Array {
  return jieliFrame(JIELI_CMD.status, [0, 0, 0, 0, 0]);
}

/**
 * The first app versions' start: cmd 0, body `01 zone mode level minutes`, each value
 * clamped to its range (`EmsV2ProtocolAdapter.kt` `RunProgram`). Unknot no longer sends it;
 * the simulator still accepts it, as old firmware would.
 */
export function jieliLegacyStartFrame(zone: number, mode: number, level: number, minutes: number): Uint8Array {
  const clamp = (v: number, hi: number) => Math.max(0, Math.min(hi, Math.round(v) || 0));
  return jieliFrame(JIELI_CMD.status, [1, clamp(zone, JIELI_MAX_ZONE), clamp(mode, 7), clamp(level, JIELI_LEVELS), clamp(minutes, 255)]);
}

/**
 * The heartbeat request, `68 79 00 0A 01 0A B2 1A 0D 0A`: cmd 0x0A, empty body. The source
 * sends it once the link is ready, when no traffic came within 1.2 s, and near the end of
 * the timer; the pad answers with a status (cmd 0).
 */
export function jieliHeartbeatRequestFrame(): Uint8Array {
  return jieliFrame(JIELI_CMD.heartbeatRequest, []);
}

/**
 * Device timer for a wanted duration: the shortest whole number of minutes covering it,
 * in seconds, 60..65520 (the source only ever sends minutes × 60; a whole minute also
 * leaves the app's own end of session time to act before the pad's).
 * @param seconds wanted duration in seconds; +Infinity gives the largest timer.
 * @throws RangeError for NaN, a non-number or a negative duration.
 */
export function jieliTimerSecondsFor(seconds: number): number {
  if (typeof seconds !== 'number' || Number.isNaN(seconds) || seconds < 0) {
    throw new RangeError(`timer seconds must be a number ≥ 0, got ${String(seconds)}`);
  }
  return Math.min(JIELI_MAX_TIMER_SECONDS, Math.max(60, Math.ceil(seconds / 60) * 60));
}

/** A frame read back: direction, command id and body. */
export interface JieliFrame {
  dir: number;
  cmd: number;
  body: Uint8Array;
}

function crcMatches(bytes: Uint8Array, start: number, crcAt: number, acceptLittleEndian: boolean): boolean {
  const crc = crc16Xmodem(bytes, start, crcAt);
  const be = (at(bytes, crcAt) << 8) | at(bytes, crcAt + 1);
  const le = (at(bytes, crcAt + 1) << 8) | at(bytes, crcAt);
  return crc === be || (acceptLittleEndian && crc === le);
}

/**
 * Parses exactly one whole frame. Checks the header, the terminator, the length field
 * (the whole frame, or two less — the source accepts both) and the CRC (big-endian;
 * with `acceptLittleEndianCrc`, the default, also little-endian, as the source's decoder
 * does for newer boards). Returns undefined for anything malformed. Never throws.
 */
export function parseJieliFrame(bytes: Uint8Array, acceptLittleEndianCrc = true): JieliFrame | undefined {
  if (!(bytes instanceof Uint8Array) || bytes.length < OVERHEAD) return undefined;
  if (bytes[0] !== H0 || bytes[1] !== H1 || bytes[bytes.length - 2] !== CR || bytes[bytes.length - 1] !== LF) return undefined;
  const length = (at(bytes, 2) << 8) | at(bytes, 3);
  if (length !== bytes.length && length !== bytes.length - 2) return undefined;
  const crcAt = bytes.length - 4;
  if (!crcMatches(bytes, 0, crcAt, acceptLittleEndianCrc)) return undefined;
  return { dir: at(bytes, 4), cmd: at(bytes, 5), body: bytes.slice(6, crcAt) };
}

/** What one {@link JieliFrameAssembler.push} found. */
export interface JieliPushResult {
  /** Whole, valid frames, in arrival order. */
  frames: JieliFrame[];
  /** Bytes dropped as not belonging to any frame (noise before a header, rejected frames). */
  discarded: number;
  /** Headers whose frame was rejected (length out of range, direction not 1 or 2, markers or CRC wrong). */
  rejected: number;
  /** True when the buffer now holds the start of a frame waiting for more bytes. */
  pending: boolean;
}

/**
 * Reassembles frames from notifications: a notification may hold part of a frame, one
 * frame, several, or noise. Bytes are buffered across pushes; frames are cut by their
 * length field (the source's extractor cuts at the first `0D 0A`, which a CRC or body
 * byte pair can also contain). A header with a length outside 10..128, a direction other
 * than 1 or 2, or a frame failing its markers or CRC is skipped byte by byte until the next
 * `68 79` (resync). A length field two short of the frame (no terminator counted) is taken
 * when its CRC fits. At most {@link JIELI_BUFFER_LIMIT} bytes are kept. Never throws.
 */
export class JieliFrameAssembler {
  private buffer = new Uint8Array(0);

  /** Bytes held back waiting for the rest of a frame (a lone trailing `68` included). */
  get bufferedBytes(): number {
    return this.buffer.length;
  }

  /** Forgets buffered bytes (e.g. on a new connection). */
  reset(): void {
    this.buffer = new Uint8Array(0);
  }

  /** Adds one notification's bytes and takes out every complete frame. */
  push(bytes: Uint8Array): JieliPushResult {
    const buf = new Uint8Array(this.buffer.length + bytes.length);
    buf.set(this.buffer, 0);
    buf.set(bytes, this.buffer.length);
    const frames: JieliFrame[] = [];
    let discarded = 0;
    let rejected = 0;
    let i = 0;
    const reject = (): void => {
      rejected++;
      discarded++;
      i++;
    };
    for (;;) {
      let h = i;
      while (h < buf.length - 1 && !(buf[h] === H0 && buf[h + 1] === H1)) h++;
      if (h >= buf.length - 1) {
        // No header: keep a trailing 68, which may be the first half of one.
        const keep = buf.length > i && buf[buf.length - 1] === H0 ? 1 : 0;
        discarded += buf.length - i - keep;
        i = buf.length - keep;
        break;
      }
      discarded += h - i;
      i = h;
      const avail = buf.length - i;
      if (avail < 4) break;
      const len = (at(buf, i + 2) << 8) | at(buf, i + 3);
      if (len < OVERHEAD || len > JIELI_MAX_FRAME) {
        reject();
        continue;
      }
      if (avail >= 5 && buf[i + 4] !== JIELI_TO_DEVICE && buf[i + 4] !== JIELI_FROM_DEVICE) {
        reject();
        continue;
      }
      if (avail < len) break;
      const whole = parseJieliFrame(buf.subarray(i, i + len));
      if (whole) {
        frames.push(whole);
        i += len;
        continue;
      }
      // The length may leave out the terminator: then the CRC sits just before byte len.
      if (crcMatches(buf, i, i + len - 2, true)) {
        if (avail < len + 2) break;
        const longer = parseJieliFrame(buf.subarray(i, i + len + 2));
        if (longer) {
          frames.push(longer);
          i += len + 2;
          continue;
        }
      }
      reject();
    }
    let rest = buf.slice(i);
    if (rest.length > JIELI_BUFFER_LIMIT) {
      discarded += rest.length;
      rest = new Uint8Array(0);
    }
    this.buffer = rest;
    const pending = rest.length >= 2 && rest[0] === H0 && rest[1] === H1;
    return { frames, discarded, rejected, pending };
  }
}

/** Battery byte 0–4 (quarters) → percent, or undefined outside 0–4 (source: `toBatteryPercent`). */
function batteryPercent(raw: number | undefined): number | undefined {
  return raw !== undefined && raw >= 0 && raw <= 4 ? raw * 25 : undefined;
}

/**
 * What one frame says about the pad. Only frames from the pad (dir 2) carry anything:
 * a frame marked "to the device" is a request, not a report.
 * - cmd 0, the status ("heartbeat"; the reply to the heartbeat request and the 5 s report):
 *   body[0] output running (1) or not, body[1] battery 0–4 (×25 %), body[2] mode 0–7,
 *   body[3] level (the intensity step, so `levelIsIntensity`), body[4] zone; then, in a
 *   body of 8 bytes or more, body[5..6] seconds left (u16 BE), body[7] buzzer (0 = off),
 *   body[8] charging; in a shorter body, body[5] minutes left, body[6] buzzer, body[7]
 *   charging (source: `EmsV2ProtocolAdapter.decode`). Zone, timer, buzzer and charging have
 *   no place in {@link DeviceStatus} and are not reported.
 * - cmd 1: the mode. cmd 2: the level, reported when the pad's own buttons change it; level
 *   0 means the output stopped and a level above 0 that it runs, as the source's
 *   `handleRemoteLevelCommand` reads it.
 * - anything else (zone, timer, buzzer, echoes): nothing.
 */
export function jieliFrameStatus(frame: JieliFrame): DeviceStatus {
  const status: DeviceStatus = {};
  if (frame.dir !== JIELI_FROM_DEVICE) return status;
  const b = frame.body;
  const v = b[0];
  if (v === undefined) return status;
  if (frame.cmd === JIELI_CMD.status) {
    status.running = v === 1;
    const battery = batteryPercent(b[1]);
    if (battery !== undefined) status.batteryPercent = battery;
    const mode = b[2];
    if (mode !== undefined && mode < JIELI_MODES.length) status.mode = `mode-${mode}`;
    const level = b[3];
    if (level !== undefined) {
      status.level = level;
      status.levelIsIntensity = true;
    }
  } else if (frame.cmd === JIELI_CMD.mode) {
    if (v < JIELI_MODES.length) status.mode = `mode-${v}`;
  } else if (frame.cmd === JIELI_CMD.intensity) {
    status.level = v;
    status.levelIsIntensity = true;
    status.running = v > 0;
  }
  return status;
}

/**
 * Turns one push of the assembler into one result: the statuses of all frames found,
 * merged (later fields win); `pending` when a frame is still incomplete. A notification
 * that only starts a frame gives a status with no fields and `pending: true`; `unknown`
 * only when no valid frame was found and none is pending.
 */
function resultOf(push: JieliPushResult): DecodeResult {
  if (push.frames.length === 0 && !push.pending) {
    return {
      kind: 'unknown',
      reason: `no valid 68 79 … 0D 0A frame (${push.discarded} bytes of noise, ${push.rejected} frames with a bad length, direction, markers or CRC)`,
    };
  }
  const status: DeviceStatus = {};
  for (const frame of push.frames) Object.assign(status, jieliFrameStatus(frame));
  return push.pending ? { kind: 'status', status, pending: true } : { kind: 'status', status };
}

/**
 * Decodes one notification on its own, without carrying bytes over to the next (a
 * session does carry them: see {@link JieliFrameAssembler}). Several frames are merged,
 * later fields winning (see {@link jieliFrameStatus}). Never throws.
 */
export function decodeJieli(bytes: Uint8Array): DecodeResult {
  if (!(bytes instanceof Uint8Array)) return { kind: 'unknown', reason: 'not bytes' };
  return resultOf(new JieliFrameAssembler().push(bytes));
}

/** What the `68 79` advertisement bytes say (source: `HyAdvertisement.parse`). */
export interface HyAdvertisementInfo {
  /** Product type: an ASCII digit is read as its value, any other byte as itself; the EMS v2 pad is 1. */
  productId: number;
  /** The firmware byte: a letter, digit, `.` or `-` as that character, else its decimal value. */
  firmware?: string;
  /** The four unique-id bytes as upper-case hex, when present. */
  uniqueId?: string;
  /** Where `68 79` was found: at the start of a field (manufacturer or service data) or further in. */
  offset: number;
}

/**
 * Reads `68 79 productId fw uid[4]` from advertisement bytes, wherever the header first
 * occurs with at least a product byte after it (the source searches the whole raw scan
 * record). Returns undefined when there is none. Never throws.
 */
export function parseHyAdvertisement(bytes: Uint8Array): HyAdvertisementInfo | undefined {
  if (!(bytes instanceof Uint8Array)) return undefined;
  for (let i = 0; i + 2 < bytes.length; i++) {
    if (bytes[i] !== H0 || bytes[i + 1] !== H1) continue;
    const p = at(bytes, i + 2);
    const info: HyAdvertisementInfo = { productId: p >= 0x30 && p <= 0x39 ? p - 0x30 : p, offset: i };
    const fw = bytes[i + 3];
    if (fw !== undefined) info.firmware = /^[A-Za-z0-9.-]$/.test(String.fromCharCode(fw)) ? String.fromCharCode(fw) : String(fw);
    if (bytes.length >= i + 8) {
      info.uniqueId = Array.from(bytes.subarray(i + 4, i + 8), (b) => b.toString(16).toUpperCase().padStart(2, '0')).join('');
    }
    return info;
  }
  return undefined;
}

/**
 * Recognises the pad.
 * - `68 79 productId …` in the manufacturer data or any service data: **strong** when it
 *   opens the field (in manufacturer data that is company id 0x7968, which no assigned
 *   company has) and the product is 1 (the EMS v2 pad); **candidate** when found further in
 *   (a chance match is possible) or for another product id (another JL6328 product).
 * - a local name `hy` followed by a digit (any case), or exactly `BLE_EMS` (a name these
 *   pads are sold with, seen in the source's notes): candidate (short and generic, and the
 *   GATT UUIDs are the common HM-10 ones). The model is `hy<product>`, or the name.
 */
export function identifyJieli(adv: Advertisement): IdentifyMatch | null {
  const fields: Uint8Array[] = [];
  if (adv.manufacturerData instanceof Uint8Array) fields.push(adv.manufacturerData);
  for (const d of adv.serviceData ?? []) if (d && d.data instanceof Uint8Array) fields.push(d.data);
  let weak: IdentifyMatch | null = null;
  for (const field of fields) {
    const info = parseHyAdvertisement(field);
    if (!info) continue;
    const model = `hy${info.productId}`;
    if (info.offset === 0 && info.productId === 1) return { confidence: 'strong', model };
    weak ??= { confidence: 'candidate', model };
  }
  if (weak) return weak;
  const name = typeof adv.localName === 'string' ? adv.localName.trim() : '';
  const m = /^hy(\d)/i.exec(name);
  if (m) return { confidence: 'candidate', model: `hy${m[1]}` };
  if (/^ble_ems$/i.test(name)) return { confidence: 'candidate', model: name };
  return null;
}

/** Capabilities: 19 levels, eight modes, battery from status, device timers in whole minutes 1–60. */
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

/**
 * One connection to a pad, driving it the way the source's current app does.
 * - `init`: the heartbeat request, so the pad reports its state at once.
 * - `setIntensity` above 0 while the output is off: the timer (cmd 8, the last `setTimer`
 *   in whole minutes, else {@link JIELI_DEFAULT_TIMER_SECONDS}), the mode (cmd 1), the
 *   zone (cmd 3), then the level (cmd 2), which starts the output. While it runs: the
 *   level frame only. 0 is a stop. Throws RangeError for NaN or values outside 0..1.
 * - `stop`: level 0, always (`68 79 00 0B 01 02 00 62 84 0D 0A`). Proof of "off" is a
 *   decoded `running: false` — a status (cmd 0) whose body[0] is not 1, or a level-0 report;
 *   the pad reports every 5 s by itself and answers the heartbeat request (`queryStatus`);
 *   if the proof does not come, {@link stopEscalation} gives the fallbacks.
 * - `setMode`: a cmd-1 frame while running; otherwise remembered for the next start.
 * - `setTimer`: a cmd-8 frame while running; otherwise remembered for the next start.
 * - `queryStatus`: the heartbeat request. `setMotion`, `setHeat`, `powerOn`,
 *   `queryFirmware`: nothing.
 * Whether the output is on comes from the session's own commands. A status saying it is
 * off (its timer ended, its button) is believed once the pad has confirmed the session's
 * start with a "running" status — before that it may answer a write that preceded the
 * level frame; one saying it is on is not believed, so a start always re-sends the timer
 * unless the session itself started the output.
 * `decode` keeps partial frames between notifications ({@link JieliFrameAssembler}).
 */
class JieliSession implements ProtocolSession {
  readonly capabilities = jieliCapabilities();
  readonly notify: { service: string; characteristic: string };
  private readonly assembler = new JieliFrameAssembler();
  private running = false;
  /** Set by a start until a status says "running": "off" statuses until then may predate the level frame. */
  private awaitingRun = false;
  private readonly zone = 0;
  private mode = 0;
  private timerSeconds = JIELI_DEFAULT_TIMER_SECONDS;

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
    return [this.write(jieliHeartbeatRequestFrame())];
  }

  private write(bytes: Uint8Array): Write {
    return { service: this.service, characteristic: this.writeUuid, bytes, withResponse: this.withResponse };
  }

  /** @throws RangeError for an intensity that is NaN or outside 0..1, an unknown mode, or a timer that is NaN or negative. */
  encode(command: Command): Write[] {
    switch (command.type) {
      case 'setIntensity': {
        const level = intensityToStep(command.value, JIELI_LEVELS);
        if (level === 0) return this.encode({ type: 'stop' });
        if (this.running) return [this.write(jieliLevelFrame(level))];
        this.running = true;
        this.awaitingRun = true;
        return [
          this.write(jieliTimerFrame(this.timerSeconds)),
          this.write(jieliModeFrame(this.mode)),
          this.write(jieliZoneFrame(this.zone)),
          this.write(jieliLevelFrame(level)),
        ];
      }
      case 'stop':
        this.running = false;
        this.awaitingRun = false;
        return [this.write(jieliStopFrame())];
      case 'setMode': {
        const index = JIELI_MODES.indexOf(command.mode);
        if (index < 0) throw new RangeError(`unknown EMS mode ${JSON.stringify(command.mode)}`);
        this.mode = index;
        return this.running ? [this.write(jieliModeFrame(index))] : [];
      }
      case 'setTimer':
        this.timerSeconds = jieliTimerSecondsFor(command.seconds);
        return this.running ? [this.write(jieliTimerFrame(this.timerSeconds))] : [];
      case 'queryStatus':
        return [this.write(jieliHeartbeatRequestFrame())];
      default:
        return [];
    }
  }

  /**
   * The follow-up stops for when the level-0 stop was written but no status said "off"
   * by the deadline, in the order to try them, one group at a time (wait for a status
   * after each): the run-state-off frame (cmd 0x0B `00 00 00`), then the first app
   * versions' cmd-0 stop. Each group is one write. Marks the output off.
   */
  stopEscalation(): Write[][] {
    this.running = false;
    this.awaitingRun = false;
    return [[this.write(jieliRunStateOffFrame())], [this.write(jieliLegacyStopFrame())]];
  }

  /** Whether the pad reported its output state in this connection (a status or a level report). */
  private reported = false;

  /**
   * A stop is proven by a status saying the output is off (a status whose running flag
   * is not set, or a level-0 report), asked for with the heartbeat request right after
   * the stop, within 2 s per attempt (DESIGN §4; the source's current app waits for the same
   * status after its level-0 stop); the attempts after the first are {@link stopEscalation}.
   */
  readonly stopProof: StopProof = {
    deadlineMs: JIELI_STOP_DEADLINE_MS,
    askAtMs: [0],
    judge: (status) => (status.running === false ? 'off' : status.running === true ? 'running' : undefined),
    reportsState: () => this.reported,
  };

  decode(bytes: Uint8Array): DecodeResult {
    if (!(bytes instanceof Uint8Array)) return { kind: 'unknown', reason: 'not bytes' };
    const result = resultOf(this.assembler.push(bytes));
    if (result.kind === 'status' && result.status.running !== undefined) this.reported = true;
    if (result.kind === 'status') {
      if (result.status.running === true) this.awaitingRun = false;
      else if (result.status.running === false && !this.awaitingRun) this.running = false;
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
  /** Seconds left on the pad's timer (0: none). */
  timerSeconds: number;
  /** Battery 0–4 quarters as the device reports it. */
  batteryQuarters: number;
  /** Whether the pad sends its CRC little-endian (as newer boards do). */
  crcLittleEndian: boolean;
  framesReceived: number;
  badFrames: number;
  heartbeatRequests: number;
  /** Frames of the first app versions (cmd 0 start, stop or status request) received. */
  legacyFrames: number;
  /** Status frames sent (answers and 5 s reports). */
  statusReports: number;
  /** Stop frames swallowed by the `ignore-next-stop` / `ignore-every-stop` faults. */
  stopsIgnored: number;
}

/** Simulator actions (see {@link simulateJieli}). */
export const JIELI_SIM_ACTIONS: readonly string[] = [
  'button-max',
  'button-power',
  'crc-little-endian',
  'crc-big-endian',
  'split-next-frame',
  'ignore-next-stop',
  'ignore-every-stop',
  'no-status-replies',
];

/**
 * A simulated pad that follows the source's current app, not Unknot's encoder. Address
 * `sim-jieli-hy1`, name `hy1` (model option), advertising `ffe0` and manufacturer bytes
 * `68 79 31 32 uid[4]` (product 1, firmware "2"). It checks every frame written to `ffe1`
 * (markers, length, big-endian CRC, direction 1, value ranges) and counts malformed ones
 * in `badFrames`. Level 0 stops the output, a level above 0 starts it; cmd 8 with two bytes
 * sets the timer in seconds (one byte: minutes, old firmware); the timer counts down while
 * the output runs and stops it at 0 (0: no timer). Still accepted: the run-state frame
 * (cmd 0x0B, `00 …` off, `01 ss ss` on with a timer, on only at a level above 0) and the
 * first app versions' cmd-0 start, stop and status request. It answers the heartbeat
 * request and every other valid frame with a status (cmd 0, body `running battery mode
 * level zone secondsHi secondsLo buzzer charging`; answering every write is this
 * simulator's choice — the source does not show whether a pad does), and reports its status every
 * {@link JIELI_STATUS_PERIOD_MS} while subscribed (`options.clock` drives the timers; they
 * stop on unsubscribe and disconnect).
 * Actions: `button-max` (the pad's + button up to 19: a cmd-2 report from the pad),
 * `button-power` (its power button: output off, reported as level 0),
 * `crc-little-endian` / `crc-big-endian` (the byte order of its CRC from then on),
 * `split-next-frame` (its next frame comes as two notifications), `ignore-next-stop` /
 * `ignore-every-stop` (the next, or every, stop frame — level 0, run-state off or the old
 * cmd-0 stop — is swallowed while the output runs) and `no-status-replies` (it sends no
 * notification at all).
 */
export function simulateJieli(options: SimOptions = {}): SimulatedPeripheral {
  const clock = options.clock ?? SYSTEM_SIM_CLOCK;
  const model = options.model ?? 'hy1';
  const product = /^hy(\d)/i.exec(model)?.[1] ?? '1';
  const address = options.address ?? `sim-jieli-${model.toLowerCase()}`;
  const profile = JIELI_PROFILES[0]!;
  const standard = new StandardServicesSim({});
  const s: JieliSimState = {
    running: false,
    level: 0,
    mode: 0,
    zone: 0,
    timerSeconds: 0,
    batteryQuarters: 3,
    crcLittleEndian: false,
    framesReceived: 0,
    badFrames: 0,
    heartbeatRequests: 0,
    legacyFrames: 0,
    statusReports: 0,
    stopsIgnored: 0,
  };
  let notifier: ((service: string, characteristic: string, bytes: Uint8Array) => void) | undefined;
  let subscribed = false;
  let splitNext = false;
  let ignoreNextStop = false;
  let ignoreEveryStop = false;
  let silent = false;
  let reportTimer: unknown;
  let hasReportTimer = false;
  /** Timer left in ms, and when it was last brought up to date. */
  let timerMs = 0;
  let lastAt = clock.now();

  /** Brings the countdown up to now; at 0 the output stops. */
  const advance = (): void => {
    const now = clock.now();
    if (s.running && timerMs > 0) {
      timerMs -= Math.max(0, now - lastAt);
      if (timerMs <= 0) {
        timerMs = 0;
        s.running = false;
        s.level = 0;
      }
    }
    lastAt = now;
    s.timerSeconds = Math.ceil(timerMs / 1000);
  };
  const setTimer = (seconds: number): void => {
    timerMs = seconds * 1000;
    s.timerSeconds = seconds;
  };
  const setLevel = (level: number): void => {
    s.level = level;
    s.running = level > 0;
  };
  /** Whether the `ignore-*-stop` faults swallow this stop (any of the three stop frames) while the output runs. */
  const stopSwallowed = (): boolean => {
    if (!s.running || !(ignoreNextStop || ignoreEveryStop)) return false;
    ignoreNextStop = false;
    s.stopsIgnored++;
    return true;
  };

  const send = (bytes: Uint8Array): void => {
    if (!subscribed || !notifier || silent) return;
    if (splitNext) {
      splitNext = false;
      const cut = Math.ceil(bytes.length / 2);
      notifier(profile.service, profile.notify, bytes.slice(0, cut));
      notifier(profile.service, profile.notify, bytes.slice(cut));
    } else {
      notifier(profile.service, profile.notify, bytes);
    }
  };
  const frameFromPad = (cmd: number, body: number[]): Uint8Array =>
    jieliFrame(cmd, body, JIELI_FROM_DEVICE, s.crcLittleEndian ? 'little-endian' : 'big-endian');
  const sendStatus = (): void => {
    if (!subscribed || !notifier) return;
    advance();
    s.statusReports++;
    const t = Math.min(0xffff, s.timerSeconds);
    send(frameFromPad(JIELI_CMD.status, [s.running ? 1 : 0, s.batteryQuarters, s.mode, s.level, s.zone, t >> 8, t & 0xff, 1, 0]));
  };

  const stopReports = (): void => {
    if (hasReportTimer) clock.clearTimeout(reportTimer);
    hasReportTimer = false;
    reportTimer = undefined;
  };
  const scheduleReport = (): void => {
    stopReports();
    reportTimer = clock.setTimeout(() => {
      hasReportTimer = false;
      if (!subscribed) return;
      sendStatus();
      scheduleReport();
    }, JIELI_STATUS_PERIOD_MS);
    hasReportTimer = true;
  };

  /** Applies a frame written to the pad; false when its content is not acceptable. */
  const apply = (f: JieliFrame): boolean => {
    const b = f.body;
    const v = b[0];
    if (f.dir !== JIELI_TO_DEVICE) return false;
    switch (f.cmd) {
      case JIELI_CMD.intensity:
        if (b.length !== 1 || v === undefined || v > JIELI_LEVELS) return false;
        if (v === 0 && stopSwallowed()) return true;
        setLevel(v);
        return true;
      case JIELI_CMD.mode:
        if (b.length !== 1 || v === undefined || v > 7) return false;
        s.mode = v;
        return true;
      case JIELI_CMD.zone:
        if (b.length !== 1 || v === undefined || v > JIELI_MAX_ZONE) return false;
        s.zone = v;
        return true;
      case JIELI_CMD.timer:
        if (b.length === 2) setTimer((at(b, 0) << 8) | at(b, 1));
        else if (b.length === 1) setTimer(at(b, 0) * 60);
        else return false;
        return true;
      case JIELI_CMD.heartbeatRequest:
        if (b.length !== 0) return false;
        s.heartbeatRequests++;
        return true;
      case JIELI_CMD.runState: {
        if (b.length !== 3 || (v !== 0 && v !== 1)) return false;
        if (v === 0) {
          if (!stopSwallowed()) setLevel(0);
          return true;
        }
        const seconds = (at(b, 1) << 8) | at(b, 2);
        if (seconds > 0) setTimer(seconds);
        s.running = s.level > 0;
        return true;
      }
      case JIELI_CMD.status: {
        // The first app versions: 5-byte start/stop, 1-byte status request.
        if (b.length === 1 && v === 0) {
          s.legacyFrames++;
          return true;
        }
        if (b.length !== 5) return false;
        if (v === 0) {
          s.legacyFrames++;
          if (!stopSwallowed()) setLevel(0);
          return true;
        }
        const [, zone = 0, mode = 0, level = 0, minutes = 0] = b;
        if (v !== 1 || zone > JIELI_MAX_ZONE || mode > 7 || level > JIELI_LEVELS) return false;
        s.legacyFrames++;
        s.zone = zone;
        s.mode = mode;
        if (minutes > 0) setTimer(minutes * 60);
        setLevel(level);
        return true;
      }
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

  // Four unique-id bytes derived from the address, so two simulated pads differ.
  let hash = 0x811c9dc5;
  for (const ch of address) hash = Math.imul(hash ^ ch.charCodeAt(0), 0x01000193) >>> 0;
  const uid = [hash >>> 24, (hash >>> 16) & 0xff, (hash >>> 8) & 0xff, hash & 0xff];

  return {
    address,
    localName: model,
    advertisement: {
      localName: model,
      serviceUuids: [profile.service],
      manufacturerData: Uint8Array.of(H0, H1, product.charCodeAt(0), 0x32, ...uid),
    },
    rssi: -65,
    services,
    onWrite(service, characteristic, bytes) {
      if (service !== profile.service || characteristic !== profile.write) return false;
      advance();
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
      if (on) scheduleReport();
      else stopReports();
    },
    onDisconnect() {
      // The pad keeps stimulating until its own timer ends when the link drops.
      subscribed = false;
      stopReports();
    },
    readout: (): SimReadout[] => {
      advance();
      const t = s.timerSeconds;
      return [
        { label: 'Output', value: s.running ? 'on' : 'off' },
        { label: 'Level', value: `${s.level} of ${JIELI_LEVELS}` },
        { label: 'Mode', value: `mode-${s.mode}` },
        { label: 'Zone', value: String(s.zone) },
        { label: 'Timer', value: t === 0 ? 'off' : `${Math.floor(t / 60)}:${String(t % 60).padStart(2, '0')} left` },
        { label: 'CRC', value: s.crcLittleEndian ? 'little-endian' : 'big-endian' },
      ];
    },
    state: () => {
      advance();
      return { ...s };
    },
    actions: [...JIELI_SIM_ACTIONS],
    act(action) {
      advance();
      switch (action) {
        case 'button-max':
          setLevel(JIELI_LEVELS);
          send(frameFromPad(JIELI_CMD.intensity, [JIELI_LEVELS]));
          break;
        case 'crc-little-endian':
          s.crcLittleEndian = true;
          break;
        case 'crc-big-endian':
          s.crcLittleEndian = false;
          break;
        case 'split-next-frame':
          splitNext = true;
          break;
        case 'button-power':
          // The pad's own power button: output off, and the stop faults end.
          ignoreEveryStop = false;
          setLevel(0);
          send(frameFromPad(JIELI_CMD.intensity, [0]));
          break;
        case 'ignore-next-stop':
          ignoreNextStop = true;
          break;
        case 'ignore-every-stop':
          ignoreEveryStop = true;
          break;
        case 'no-status-replies':
          silent = true;
          break;
        default:
          break;
      }
    },
  };
}

/** The JieLi "hy" EMS v2 protocol module (DESIGN §3). */
export const jieli: ProtocolModule = {
  id: 'jieli-ems',
  displayName: 'JieLi "hy" EMS massager',
  kind: 'ems',
  experimental:
    'Single public source (an Android app) whose written spec and later code disagree and whose code changed over time; Unknot follows its current code (level 0 stops, a level above 0 starts). Not checked on hardware. The name "hy" plus a digit is generic, so a device found by name alone is confirmed only by its GATT profile.',
  sources: [
    { title: 'massager app: EMS v2 frame, commands, status', where: 'github.com/lan-feng/massager — app/src/main/java/com/massager/app/data/bluetooth/protocol/EmsV2ProtocolAdapter.kt' },
    { title: 'massager app: start by level, stop by level 0, heartbeat request', where: 'github.com/lan-feng/massager — app/src/main/java/com/massager/app/presentation/device/DeviceControlViewModel.kt' },
    { title: 'massager app: timer in seconds, run-state command', where: 'github.com/lan-feng/massager — app/src/main/java/com/massager/app/domain/device/EmsDeviceSession.kt' },
    { title: 'massager app: frame reassembly', where: 'github.com/lan-feng/massager — app/src/main/java/com/massager/app/data/bluetooth/session/EmsFrameExtractor.kt, ProtocolPayloadBuffer.kt' },
    { title: 'massager app: CRC-16 (seed 0, not reflected)', where: 'github.com/lan-feng/massager — app/src/main/java/com/massager/app/data/bluetooth/protocol/Crc16Ccitt.kt' },
    { title: 'massager app: "hy" advertisement', where: 'github.com/lan-feng/massager — app/src/main/java/com/massager/app/data/bluetooth/protocol/HyAdvertisement.kt, advertisement/HyAdvertisementDecoder.kt' },
  ],
  writeGapMs: JIELI_WRITE_GAP_MS,
  services: JIELI_PROFILES.map((p) => p.service),
  identify: identifyJieli,
  open: openJieli,
  simulate: simulateJieli,
};
