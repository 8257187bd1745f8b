/**
 * A hand-written simulated RongTai / Infinity massage chair, written from the sources
 * (dallanwagz/hass-infinity-chair v0.7.0 `protocol.py` and its hardware-checked tests;
 * Bread-Yang/RongTai `RTBleConnector.m`, `RTCommand.h`; DESIGN §3), not from the profile:
 * it checks the key frames the chair's session writes against its own reading.
 * Command frame: `F0 type key cs F1`, `cs = (~(type + key)) & 0x7F`; status frame: 17 bytes
 * `F0 b1..b15 F1` (see {@link statusFrame}).
 */
import { at } from '../bytes';
import { rongtaiChecksum } from '../checksum';
import { SYSTEM_SIM_CLOCK } from '../types';
import type { RunState, SimOptions, SimReadout, SimService, SimulatedPeripheral } from '../types';
import { STOP_FAULT_ACTIONS, SimLink, StopFaults, simulatedPeripheral } from './helper';

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
const SOF = 0xf0;
const EOF_ = 0xf1;
/** Speed steps (keys `2E`..`33`). */
export const RONGTAI_SPEEDS = 6;
/** Length of a status frame. */
export const RONGTAI_STATUS_LENGTH = 17;

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

/** Work timers in seconds and their keys, shortest first. */
const TIMERS: readonly { seconds: number; key: number }[] = [
  { seconds: 600, key: RONGTAI_KEYS.timer10 },
  { seconds: 1200, key: RONGTAI_KEYS.timer20 },
  { seconds: 1800, key: RONGTAI_KEYS.timer30 },
];

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


/** Whether a run state means the chair is switched on (a power toggle would switch it off). */
function isOn(state: RunState): boolean {
  return state === 'running' || state === 'ready';
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
  const link = new SimLink(RONGTAI_SERVICE, RONGTAI_NOTIFY);
  const faults = new StopFaults();
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
    if (!link.subscribed) return;
    if (s.running) s.secondsLeft = currentSecondsLeft();
    const fields: RongTaiStatusFields = { powered: s.powered, runState: s.runState, heat: s.heat, strength3d: s.strength3d };
    if (s.running) Object.assign(fields, { speed: s.speed, secondsLeft: s.secondsLeft });
    link.send(statusFrame(fields));
  };
  const stream = (): void => {
    streamTimer = undefined;
    if (!link.subscribed) return;
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
      if (faults.swallow(isOn(s.runState))) {
        s.stopsIgnored = faults.swallowed;
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
  ];

  const stopStream = (): void => {
    if (streamTimer !== undefined) clock.clearTimeout(streamTimer);
    streamTimer = undefined;
  };

  return simulatedPeripheral({
    protocolId: 'rongtai',
    address: options.address ?? `sim-rongtai-${model.toLowerCase()}`,
    localName: model,
    advertisement: { localName: model, serviceUuids: [RONGTAI_SERVICE] },
    rssi: -60,
    link,
    services,
    standard: { manufacturer: 'RongTai (simulated)', model },
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
    onSubscribed(on) {
      stopStream();
      if (on) stream();
    },
    // The chair keeps its program when the link drops.
    onDisconnect: stopStream,
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
    actions: ['remote-power', 'remote-speed-max', 'speed-keys-need-running', ...STOP_FAULT_ACTIONS],
    actionLabels: {
      'remote-power': 'Press its power button',
      'remote-speed-max': 'Set speed 6 on its remote',
      'speed-keys-need-running': 'Take speed keys only while the rollers run',
    },
    act(action) {
      if (faults.act(action)) return;
      if (action === 'remote-speed-max') {
        s.speed = RONGTAI_SPEEDS;
        noteSpeed();
        sendStatus();
      } else if (action === 'speed-keys-need-running') {
        speedNeedsRunning = true;
      } else if (action === 'remote-power') {
        faults.clear();
        togglePower();
        sendStatus();
      }
    },
  });
}

