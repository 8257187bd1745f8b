/**
 * A hand-written simulated JieLi "hy" EMS v2 pad, written from the source's current app
 * (lan-feng/massager, commit 3482473: `EmsV2ProtocolAdapter.kt`, `DeviceControlViewModel.kt`,
 * `EmsDeviceSession.kt`; DESIGN §3), not from the profile: it checks the bytes the profile
 * engine writes against its own reading of the frames.
 *
 * Frame: `68 79 | len u16 BE | dir | cmd | body | CRC u16 | 0D 0A`; len is the whole frame
 * (10 + body length); dir 1 = to the device, 2 = from it; the CRC is CRC-16/XMODEM over
 * every byte before it. Commands: 0 status (and the first app versions' start/stop), 1 mode
 * 0–7, 2 level 0–19, 3 zone 0–5, 8 timer (two bytes of seconds; one byte of minutes in
 * older code), 0x0A heartbeat request, 0x0B run state.
 */
import { at } from '../bytes';
import { crc16Xmodem } from '../checksum';
import { SYSTEM_SIM_CLOCK } from '../types';
import type { SimOptions, SimReadout, SimulatedPeripheral } from '../types';
import { STOP_FAULT_ACTIONS, SimLink, StopFaults, simulatedPeripheral } from './helper';

const H0 = 0x68;
const H1 = 0x79;
const CR = 0x0d;
const LF = 0x0a;
/** Bytes of a frame that are not body. */
const OVERHEAD = 10;
const SERVICE = 'ffe0';
const WRITE = 'ffe1';
const NOTIFY = 'ffe2';

/** Direction byte. */
export const JIELI_TO_DEVICE = 1;
export const JIELI_FROM_DEVICE = 2;

/** Command ids (byte 5), as `EmsV2ProtocolAdapter.CommandId` names them. */
export const JIELI_CMD = {
  status: 0,
  mode: 1,
  intensity: 2,
  zone: 3,
  buzzer: 7,
  timer: 8,
  heartbeatRequest: 0x0a,
  runState: 0x0b,
} as const;

/** Intensity levels above 0. */
export const JIELI_LEVELS = 19;
/** Highest zone number. */
export const JIELI_MAX_ZONE = 5;
/** How often the pad reports its status by itself, ms (the source's spec: a 5 s heartbeat). */
export const JIELI_STATUS_PERIOD_MS = 5_000;

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

/**
 * The first app versions' start: cmd 0, body `01 zone mode level minutes`, each value
 * clamped to its range (`EmsV2ProtocolAdapter.kt` `RunProgram`). Unknot no longer sends it;
 * the simulator still accepts it, as old firmware would.
 */
export function jieliLegacyStartFrame(zone: number, mode: number, level: number, minutes: number): Uint8Array {
  const clamp = (v: number, hi: number) => Math.max(0, Math.min(hi, Math.round(v) || 0));
  return jieliFrame(JIELI_CMD.status, [1, clamp(zone, JIELI_MAX_ZONE), clamp(mode, 7), clamp(level, JIELI_LEVELS), clamp(minutes, 255)]);
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
  ...STOP_FAULT_ACTIONS,
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
  const link = new SimLink(SERVICE, NOTIFY);
  const faults = new StopFaults();
  let splitNext = false;
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
    const swallowed = faults.swallow(s.running);
    s.stopsIgnored = faults.swallowed;
    return swallowed;
  };

  const send = (bytes: Uint8Array): void => {
    if (!link.listening) return;
    if (splitNext) {
      splitNext = false;
      const cut = Math.ceil(bytes.length / 2);
      link.send(bytes.slice(0, cut));
      link.send(bytes.slice(cut));
    } else {
      link.send(bytes);
    }
  };
  const frameFromPad = (cmd: number, body: number[]): Uint8Array =>
    jieliFrame(cmd, body, JIELI_FROM_DEVICE, s.crcLittleEndian ? 'little-endian' : 'big-endian');
  const sendStatus = (): void => {
    if (!link.subscribed) return;
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
      if (!link.subscribed) return;
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

  // Four unique-id bytes derived from the address, so two simulated pads differ.
  let hash = 0x811c9dc5;
  for (const ch of address) hash = Math.imul(hash ^ ch.charCodeAt(0), 0x01000193) >>> 0;
  const uid = [hash >>> 24, (hash >>> 16) & 0xff, (hash >>> 8) & 0xff, hash & 0xff];

  return simulatedPeripheral({
    protocolId: 'jieli-ems',
    address,
    localName: model,
    advertisement: {
      localName: model,
      serviceUuids: [SERVICE],
      manufacturerData: Uint8Array.of(H0, H1, product.charCodeAt(0), 0x32, ...uid),
    },
    rssi: -65,
    link,
    services: [
      {
        uuid: SERVICE,
        characteristics: [
          { uuid: WRITE, properties: ['write', 'writeWithoutResponse'] },
          { uuid: NOTIFY, properties: ['notify'] },
        ],
      },
    ],
    standard: {},
    onWrite(service, characteristic, bytes) {
      if (service !== SERVICE || characteristic !== WRITE) return false;
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
    onSubscribed(on) {
      if (on) scheduleReport();
      else stopReports();
    },
    // The pad keeps stimulating until its own timer ends when the link drops.
    onDisconnect: stopReports,
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
    actions: JIELI_SIM_ACTIONS,
    actionLabels: {
      'crc-little-endian': 'Send its checksum little-endian',
      'crc-big-endian': 'Send its checksum big-endian',
      'split-next-frame': 'Split its next report in two',
    },
    act(action) {
      advance();
      if (faults.act(action)) return;
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
          faults.clear();
          setLevel(0);
          send(frameFromPad(JIELI_CMD.intensity, [0]));
          break;
        case 'no-status-replies':
          link.silent = true;
          break;
        default:
          break;
      }
    },
  });
}

