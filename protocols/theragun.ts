/**
 * Theragun Gen 4 percussive massage guns (Pro, Elite, Prime).
 *
 * Experimental: every fact here comes from one public write-up, buttplug.io's
 * protocol notes (repository buttplugio/stpihkal, the Theragun protocol page, and the
 * decompiled-app excerpts quoted in buttplugio/stpihkal issue #127), summarised in
 * DESIGN §3. Nothing was checked on hardware.
 *
 * Frames to the gun (written to `ffe2`): `AA cs cmd len payload…`, where
 * `cs = (sum of bytes 2..end) & 0xFF`.
 * - speed: `AA cs 01 03 rpmHi rpmLo 03` (1750 rpm → `AA E3 01 03 06 D6 03`); 0 rpm
 *   stops (inferred by the source, not stated by the maker);
 * - firmware query `AA 20 20 00` (written without response);
 * - status request `AA 10 10 00` (written with response; issue #127).
 * Notifications (from `ffe1`): `BB cs kind …`, `cs = (sum of bytes 2..end) & 0xFF`;
 * kind `10` status (byte 4 running, bytes 13–14 rpm big-endian), kind `20` firmware
 * (bytes 12–13 a number v → `v/100 . (v%100)/10 . v%10`).
 */
import { sum8 } from './checksum';
import { at } from './bytes';
import { intensityToStep } from './intensity';
import { StandardServicesSim, canNotify, canWrite, findCharacteristic, hasBattery, writeTypeFor } from './standard';
import type {
  Advertisement,
  Capabilities,
  Command,
  ConnectionContext,
  DecodeResult,
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

/** The Theragun's GATT service (found after connecting; not necessarily advertised). */
export const THERAGUN_SERVICE = 'ffe0';
/** Characteristic the app writes command frames to. */
export const THERAGUN_WRITE = 'ffe2';
/** Characteristic the gun notifies status and firmware replies on. */
export const THERAGUN_NOTIFY = 'ffe1';

/** Gen 4 models the protocol notes name, which are also their advertised local names. */
export type TheragunModel = 'Pro' | 'Elite' | 'Prime';

/** Top speed per model in rpm (stpihkal Theragun page). One rpm is one intensity step. */
export const THERAGUN_MAX_RPM: Readonly<Record<TheragunModel, number>> = { Pro: 3616, Elite: 3616, Prime: 3584 };

/** Advertised names, matched exactly (case-sensitive): too generic to be more than a candidate. */
const MODEL_NAMES: readonly TheragunModel[] = ['Pro', 'Elite', 'Prime'];

/**
 * Advertised names that are not a model name, and the model they mean: older Prime
 * firmware advertises `liv2` (DESIGN §3, after buttplug.io's Theragun notes).
 */
const NAME_ALIASES: Readonly<Record<string, TheragunModel>> = { liv2: 'Prime' };

/** The model an advertised name means, or undefined when it is none of the gun's names. */
function modelForName(name: string | undefined): TheragunModel | undefined {
  if (isModel(name)) return name;
  return name !== undefined && Object.hasOwn(NAME_ALIASES, name) ? NAME_ALIASES[name] : undefined;
}

/** First byte of frames to the gun / from the gun. */
const TO_GUN = 0xaa;
const FROM_GUN = 0xbb;
/** Frame kinds (byte 2). */
const CMD_SPEED = 0x01;
const KIND_STATUS = 0x10;
const KIND_FIRMWARE = 0x20;
/** Shortest notification that carries each kind's fields (status: rpm at 13–14; firmware: version at 12–13). */
const STATUS_LENGTH = 15;
const FIRMWARE_LENGTH = 14;

/**
 * Stop proof (DESIGN §4): a kind-`10` status with byte 4 = 0 or 0 rpm, asked for with
 * `AA 10 10 00` right after the stop and again at 500 ms, within 1 s. The status reply has
 * never been captured from hardware (buttplugio/stpihkal issue #127 quotes the app's code),
 * so a gun that never answers it is treated as one that cannot confirm.
 */
export const THERAGUN_STOP_DEADLINE_MS = 1000;
/** When to ask for the gun's status after a stop, ms after the stop write settled. */
export const THERAGUN_STOP_ASK_AT_MS: readonly number[] = [0, 500];

/**
 * Write gap, ms. The source documents none. Speed frames are single acknowledged
 * writes, so the link never has more than one in flight; 50 ms (20 updates a second)
 * is ample for the governor's ramp and stays above typical connection intervals
 * (7.5–50 ms), so frames cannot queue up inside the gun faster than it can act on them.
 */
export const THERAGUN_WRITE_GAP_MS = 50;

function isModel(name: string | undefined): name is TheragunModel {
  return name !== undefined && (MODEL_NAMES as readonly string[]).includes(name);
}

/** Fills byte 1 of a frame with `(sum of bytes 2..end) & 0xFF` and returns the frame. */
function seal(frame: Uint8Array): Uint8Array {
  frame[1] = sum8(frame, 2);
  return frame;
}

/**
 * Builds the set-speed frame `AA cs 01 03 rpmHi rpmLo 03`.
 * @param rpm target speed in revolutions per minute, integer 0..65535 (0 stops).
 * @throws RangeError when `rpm` is not an integer in 0..65535.
 */
export function speedFrame(rpm: number): Uint8Array {
  if (!Number.isInteger(rpm) || rpm < 0 || rpm > 0xffff) throw new RangeError(`rpm must be an integer 0..65535, got ${rpm}`);
  return seal(Uint8Array.of(TO_GUN, 0, CMD_SPEED, 0x03, rpm >> 8, rpm & 0xff, 0x03));
}

/** The firmware query frame `AA 20 20 00` (written without response). */
export function firmwareQueryFrame(): Uint8Array {
  return Uint8Array.of(TO_GUN, 0x20, KIND_FIRMWARE, 0x00);
}

/** The status request frame `AA 10 10 00` (written with response). */
export function statusRequestFrame(): Uint8Array {
  return Uint8Array.of(TO_GUN, 0x10, KIND_STATUS, 0x00);
}

/** A gun status as carried by a kind-`10` notification. */
export interface TheragunStatusFields {
  running: boolean;
  /** Motor speed in rpm. */
  rpm: number;
}

/**
 * Builds a status notification `BB cs 10 0B running 00… rpmHi rpmLo` (15 bytes), as the
 * simulator sends it. Byte 3 carries the payload length, by analogy with the command
 * frames (an assumption: the source does not name it, and {@link decodeTheragun} ignores it).
 */
export function statusNotification(fields: TheragunStatusFields): Uint8Array {
  const frame = new Uint8Array(STATUS_LENGTH);
  frame[0] = FROM_GUN;
  frame[2] = KIND_STATUS;
  frame[3] = STATUS_LENGTH - 4;
  frame[4] = fields.running ? 1 : 0;
  const rpm = Math.max(0, Math.min(0xffff, Math.round(fields.rpm)));
  frame[13] = rpm >> 8;
  frame[14] = rpm & 0xff;
  return seal(frame);
}

/**
 * Builds a firmware notification (14 bytes) for version number `v` (e.g. 415 → `4.1.5`).
 * @throws RangeError when `v` is not an integer in 0..65535.
 */
export function firmwareNotification(v: number): Uint8Array {
  if (!Number.isInteger(v) || v < 0 || v > 0xffff) throw new RangeError(`firmware number must be 0..65535, got ${v}`);
  const frame = new Uint8Array(FIRMWARE_LENGTH);
  frame[0] = FROM_GUN;
  frame[2] = KIND_FIRMWARE;
  frame[3] = FIRMWARE_LENGTH - 4;
  frame[12] = v >> 8;
  frame[13] = v & 0xff;
  return seal(frame);
}

/** Formats a firmware number `v` as `major.minor.patch` = `v/100 . (v%100)/10 . v%10` (integer division). */
export function formatFirmware(v: number): string {
  return `${Math.floor(v / 100)}.${Math.floor((v % 100) / 10)}.${v % 10}`;
}

/**
 * Decodes one notification from the gun. Never throws.
 * Status frames give `running`, `level` (rpm; `levelIsIntensity` true because the
 * steps are rpm); firmware frames give `firmware`. Anything else, a wrong first byte,
 * a short frame or a bad checksum is `unknown`.
 */
export function decodeTheragun(bytes: Uint8Array): DecodeResult {
  if (!(bytes instanceof Uint8Array) || bytes.length < 4) return { kind: 'unknown', reason: 'frame too short' };
  if (bytes[0] !== FROM_GUN) return { kind: 'unknown', reason: 'frame does not start with BB' };
  if (at(bytes, 1) !== sum8(bytes, 2)) return { kind: 'unknown', reason: 'bad checksum' };
  const kind = at(bytes, 2);
  if (kind === KIND_STATUS) {
    if (bytes.length < STATUS_LENGTH) return { kind: 'unknown', reason: 'status frame too short' };
    const rpm = (at(bytes, 13) << 8) | at(bytes, 14);
    return { kind: 'status', status: { running: at(bytes, 4) !== 0, level: rpm, levelIsIntensity: true } };
  }
  if (kind === KIND_FIRMWARE) {
    if (bytes.length < FIRMWARE_LENGTH) return { kind: 'unknown', reason: 'firmware frame too short' };
    return { kind: 'status', status: { firmware: formatFirmware((at(bytes, 12) << 8) | at(bytes, 13)) } };
  }
  return { kind: 'unknown', reason: `unknown frame kind 0x${kind.toString(16)}` };
}

/**
 * Recognises a Theragun Gen 4 by its exact advertised name (`Pro`, `Elite`, `Prime`,
 * or `liv2`, an older Prime firmware's name, which gets the Prime's range).
 * Always a `candidate`: the names are too generic, so {@link theragun}.open confirms
 * by finding service `ffe0` after connecting.
 */
export function identifyTheragun(adv: Advertisement): IdentifyMatch | null {
  const model = modelForName(adv.localName);
  return model ? { confidence: 'candidate', model } : null;
}

/** Capabilities for one model: steps are rpm (Pro/Elite 3616, Prime 3584). */
export function theragunCapabilities(model: TheragunModel, battery: boolean): Capabilities {
  return {
    steps: THERAGUN_MAX_RPM[model],
    minRunningStep: 1,
    stepUnit: 'rpm',
    modes: [],
    battery,
    heat: false,
    timersSeconds: [],
  };
}

/**
 * Accepts the connected peripheral only when service `ffe0` has a writable `ffe2` and
 * a notifying `ffe1`. The model comes from `ctx.model` or the local name; when neither
 * names one (`liv2` names the Prime), the Prime's smaller range (3584 rpm) is assumed, so a step never means
 * a faster speed than intended. Battery is reported only when Battery Service `180f`
 * was found (the protocol itself documents none).
 */
export function openTheragun(ctx: ConnectionContext): OpenResult {
  const write = findCharacteristic(ctx, THERAGUN_SERVICE, THERAGUN_WRITE);
  const notify = findCharacteristic(ctx, THERAGUN_SERVICE, THERAGUN_NOTIFY);
  if (!ctx.services.has(THERAGUN_SERVICE)) return { ok: false, reason: 'service ffe0 not found: not a Theragun Gen 4' };
  if (!canWrite(write)) return { ok: false, reason: 'characteristic ffe2 (write) not found in service ffe0' };
  if (!canNotify(notify)) return { ok: false, reason: 'characteristic ffe1 (notify) not found in service ffe0' };
  const model: TheragunModel = modelForName(ctx.model) ?? modelForName(ctx.localName) ?? 'Prime';
  const capabilities = theragunCapabilities(model, hasBattery(ctx));
  // The source writes speed frames and the status request with response and the
  // firmware query without; fall back to what the characteristic declares.
  const withResponse = writeTypeFor(write, true);
  const queryFirmwareWithResponse = !write.properties.includes('writeWithoutResponse');
  const out = (bytes: Uint8Array, ack: boolean): Write => ({
    service: THERAGUN_SERVICE,
    characteristic: THERAGUN_WRITE,
    bytes,
    withResponse: ack,
  });
  // Whether a kind-10 status arrived in this connection (the answer to a status request).
  let reported = false;
  const session: ProtocolSession = {
    model,
    capabilities,
    notify: { service: THERAGUN_SERVICE, characteristic: THERAGUN_NOTIFY },
    init: () => [out(firmwareQueryFrame(), queryFirmwareWithResponse), out(statusRequestFrame(), withResponse)],
    encode(command: Command): Write[] {
      switch (command.type) {
        case 'setIntensity': {
          const rpm = intensityToStep(command.value, capabilities.steps);
          return [out(speedFrame(rpm), withResponse)];
        }
        case 'stop':
          return [out(speedFrame(0), withResponse)];
        case 'queryFirmware':
          return [out(firmwareQueryFrame(), queryFirmwareWithResponse)];
        case 'queryStatus':
          return [out(statusRequestFrame(), withResponse)];
        default:
          // No modes, heat, timer or power command on this device.
          return [];
      }
    },
    decode(bytes: Uint8Array): DecodeResult {
      const result = decodeTheragun(bytes);
      if (result.kind === 'status' && result.status.running !== undefined) reported = true;
      return result;
    },
    // One repeat of the 0-rpm frame when the first is not confirmed.
    stopEscalation: () => [[out(speedFrame(0), withResponse)]],
    stopProof: {
      deadlineMs: THERAGUN_STOP_DEADLINE_MS,
      askAtMs: THERAGUN_STOP_ASK_AT_MS,
      judge: (status) => {
        if (status.running === false || status.level === 0) return 'off';
        return status.running === true ? 'running' : undefined;
      },
      reportsState: () => reported,
    },
  };
  return { ok: true, session };
}

/** State a simulated gun keeps, as `state()` reports it. */
interface TheragunSimState {
  rpm: number;
  running: boolean;
  firmwareQueries: number;
  statusRequests: number;
  framesReceived: number;
  badFrames: number;
  /** 0-rpm frames ignored by the `ignore-next-stop` / `ignore-every-stop` faults. */
  stopsIgnored: number;
}

/** Firmware number the simulated gun reports (→ `4.1.5`). */
const SIM_FIRMWARE = 415;

/**
 * A simulated Theragun Gen 4. Address `sim-theragun-<model>` unless given; local name
 * = model (`Pro` by default). Like the real gun it does not advertise `ffe0`.
 * It decodes every frame written to `ffe2`: speed frames set the rpm (clamped to the
 * model's top speed) and answer with a status notification; the status request and the
 * firmware query are answered with well-formed `BB` frames. Frames with a bad
 * checksum or an unknown kind are counted in `badFrames` and otherwise ignored (the
 * ATT write itself succeeds, as a GATT server accepts any bytes). Notifications are
 * sent synchronously from `onWrite`, only while the central is subscribed to `ffe1`.
 * Actions: `button-max` sets full speed as if the gun's own button were pressed,
 * `button-power` stops it; `ignore-next-stop` and `ignore-every-stop` make it ignore the
 * next (or every) 0-rpm frame while it runs (its status still says it runs), until its
 * power button; `no-status-replies` silences every notification (a gun that does not
 * report its state).
 */
export function simulateTheragun(options: SimOptions = {}): SimulatedPeripheral {
  const model: TheragunModel = isModel(options.model) ? options.model : 'Pro';
  const maxRpm = THERAGUN_MAX_RPM[model];
  const standard = new StandardServicesSim({ batteryPercent: 80 });
  const state: TheragunSimState = { rpm: 0, running: false, firmwareQueries: 0, statusRequests: 0, framesReceived: 0, badFrames: 0, stopsIgnored: 0 };
  let notifier: ((service: string, characteristic: string, bytes: Uint8Array) => void) | undefined;
  let subscribed = false;
  let ignoreNextStop = false;
  let ignoreEveryStop = false;
  let silent = false;

  const send = (bytes: Uint8Array): void => {
    if (subscribed && notifier && !silent) notifier(THERAGUN_SERVICE, THERAGUN_NOTIFY, bytes);
  };
  const sendStatus = (): void => send(statusNotification({ running: state.running, rpm: state.rpm }));
  const setRpm = (rpm: number): void => {
    state.rpm = Math.min(maxRpm, rpm);
    state.running = state.rpm > 0;
  };

  const services: SimService[] = [
    {
      uuid: THERAGUN_SERVICE,
      characteristics: [
        { uuid: THERAGUN_NOTIFY, properties: ['notify'] },
        { uuid: THERAGUN_WRITE, properties: ['write', 'writeWithoutResponse'] },
      ],
    },
    ...standard.services(),
  ];

  return {
    address: options.address ?? `sim-theragun-${model.toLowerCase()}`,
    localName: model,
    advertisement: { localName: model, serviceUuids: [] },
    rssi: -55,
    services,
    onWrite(service, characteristic, bytes) {
      if (service !== THERAGUN_SERVICE || characteristic !== THERAGUN_WRITE) return false;
      if (bytes.length < 4 || bytes[0] !== TO_GUN || at(bytes, 1) !== sum8(bytes, 2)) {
        state.badFrames++;
        return true;
      }
      const kind = at(bytes, 2);
      if (kind === CMD_SPEED && bytes.length === 7 && at(bytes, 3) === 0x03) {
        state.framesReceived++;
        const rpm = (at(bytes, 4) << 8) | at(bytes, 5);
        if (rpm === 0 && state.running && (ignoreNextStop || ignoreEveryStop)) {
          ignoreNextStop = false;
          state.stopsIgnored++;
        } else {
          setRpm(rpm);
        }
        sendStatus();
      } else if (kind === KIND_STATUS && bytes.length === 4) {
        state.framesReceived++;
        state.statusRequests++;
        sendStatus();
      } else if (kind === KIND_FIRMWARE && bytes.length === 4) {
        state.framesReceived++;
        state.firmwareQueries++;
        send(firmwareNotification(SIM_FIRMWARE));
      } else {
        state.badFrames++;
      }
      return true;
    },
    onRead: (service, characteristic) => standard.read(service, characteristic),
    setNotifier(sendFn) {
      notifier = sendFn;
    },
    onSubscribe(service, characteristic, on) {
      if (service === THERAGUN_SERVICE && characteristic === THERAGUN_NOTIFY) subscribed = on;
    },
    onDisconnect() {
      // The gun keeps running when the link drops (DESIGN §4); only the subscription goes.
      subscribed = false;
    },
    readout: (): SimReadout[] => [{ label: 'Motor', value: `${state.rpm} rpm` }],
    state: () => ({ ...state }),
    actions: ['button-max', 'button-power', 'ignore-next-stop', 'ignore-every-stop', 'no-status-replies'],
    act(action) {
      switch (action) {
        case 'ignore-next-stop':
          ignoreNextStop = true;
          return;
        case 'ignore-every-stop':
          ignoreEveryStop = true;
          return;
        case 'no-status-replies':
          silent = true;
          return;
        // The gun's own buttons: full speed, or off (which also ends the stop faults).
        case 'button-max':
          setRpm(maxRpm);
          break;
        case 'button-power':
          ignoreEveryStop = false;
          setRpm(0);
          break;
        default:
          return;
      }
      sendStatus();
    },
  };
}

/** The Theragun Gen 4 protocol module (DESIGN §3). */
export const theragun: ProtocolModule = {
  id: 'theragun',
  displayName: 'Theragun (Gen 4)',
  kind: 'percussive',
  experimental:
    'Single public source (buttplug.io protocol notes), not checked on hardware. The names Pro, Elite and Prime are generic: the device is confirmed only when service FFE0 is found after connecting. Stopping sends 0 rpm, which the source infers rather than states.',
  sources: [
    { title: 'buttplug.io protocol notes (STPIHKAL): Theragun', where: 'github.com/buttplugio/stpihkal — Theragun protocol page' },
    { title: 'Decompiled app excerpts: status request AA 10 10 00', where: 'github.com/buttplugio/stpihkal issue #127' },
  ],
  writeGapMs: THERAGUN_WRITE_GAP_MS,
  services: [THERAGUN_SERVICE],
  identify: identifyTheragun,
  open: openTheragun,
  simulate: simulateTheragun,
};
