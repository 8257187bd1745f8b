/**
 * A hand-written simulated Theragun Gen 4, written from the source's description
 * (buttplugio/stpihkal, the Theragun page and issue #127; DESIGN §3), not from the profile:
 * it checks the bytes the profile engine writes against its own reading of the frames.
 * Frames to the gun: `AA cs cmd len payload…`, `cs = (sum of bytes 2..end) & 0xFF`; speed
 * `AA cs 01 03 rpmHi rpmLo 03`, status request `AA 10 10 00`, firmware query `AA 20 20 00`.
 * Notifications: `BB cs kind …`; kind `10` status (byte 4 running, bytes 13–14 rpm),
 * kind `20` firmware (bytes 12–13 a version number).
 */
import { at } from '../bytes';
import { sum8 } from '../checksum';
import type { SimOptions, SimReadout, SimulatedPeripheral } from '../types';
import { STOP_FAULT_ACTIONS, SimLink, StopFaults, simulatedPeripheral } from './helper';

const SERVICE = 'ffe0';
const WRITE = 'ffe2';
const NOTIFY = 'ffe1';
const TO_GUN = 0xaa;
const FROM_GUN = 0xbb;
const CMD_SPEED = 0x01;
const KIND_STATUS = 0x10;
const KIND_FIRMWARE = 0x20;
const STATUS_LENGTH = 15;
const FIRMWARE_LENGTH = 14;
/** Top speed per model in rpm (stpihkal Theragun page). */
const MAX_RPM: Readonly<Record<string, number>> = { Pro: 3616, Elite: 3616, Prime: 3584 };
/** Firmware number the simulated gun reports (→ `4.1.5`). */
const SIM_FIRMWARE = 415;

function seal(frame: Uint8Array): Uint8Array {
  frame[1] = sum8(frame, 2);
  return frame;
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
 * frames (an assumption: the source does not name it, and the profile ignores it).
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
  const model = options.model !== undefined && Object.hasOwn(MAX_RPM, options.model) ? options.model : 'Pro';
  const maxRpm = MAX_RPM[model]!;
  const link = new SimLink(SERVICE, NOTIFY);
  const faults = new StopFaults();
  const state = { rpm: 0, running: false, firmwareQueries: 0, statusRequests: 0, framesReceived: 0, badFrames: 0 };
  const sendStatus = (): void => link.send(statusNotification({ running: state.running, rpm: state.rpm }));
  const setRpm = (rpm: number): void => {
    state.rpm = Math.min(maxRpm, rpm);
    state.running = state.rpm > 0;
  };
  return simulatedPeripheral({
    protocolId: 'theragun',
    address: options.address ?? `sim-theragun-${model.toLowerCase()}`,
    localName: model,
    advertisement: { localName: model, serviceUuids: [] },
    rssi: -55,
    link,
    services: [
      {
        uuid: SERVICE,
        characteristics: [
          { uuid: NOTIFY, properties: ['notify'] },
          { uuid: WRITE, properties: ['write', 'writeWithoutResponse'] },
        ],
      },
    ],
    standard: { batteryPercent: 80 },
    onWrite(service, characteristic, bytes) {
      if (service !== SERVICE || characteristic !== WRITE) return false;
      if (bytes.length < 4 || bytes[0] !== TO_GUN || at(bytes, 1) !== sum8(bytes, 2)) {
        state.badFrames++;
        return true;
      }
      const kind = at(bytes, 2);
      if (kind === CMD_SPEED && bytes.length === 7 && at(bytes, 3) === 0x03) {
        state.framesReceived++;
        const rpm = (at(bytes, 4) << 8) | at(bytes, 5);
        if (!(rpm === 0 && faults.swallow(state.running))) setRpm(rpm);
        sendStatus();
      } else if (kind === KIND_STATUS && bytes.length === 4) {
        state.framesReceived++;
        state.statusRequests++;
        sendStatus();
      } else if (kind === KIND_FIRMWARE && bytes.length === 4) {
        state.framesReceived++;
        state.firmwareQueries++;
        link.send(firmwareNotification(SIM_FIRMWARE));
      } else {
        state.badFrames++;
      }
      return true;
    },
    readout: (): SimReadout[] => [{ label: 'Motor', value: `${state.rpm} rpm` }],
    state: () => ({ ...state, stopsIgnored: faults.swallowed }),
    actions: ['button-max', 'button-power', ...STOP_FAULT_ACTIONS, 'no-status-replies'],
    act(action) {
      if (faults.act(action)) return;
      if (action === 'no-status-replies') {
        link.silent = true;
        return;
      }
      // The gun's own buttons: full speed, or off (which also ends the stop faults).
      if (action === 'button-max') setRpm(maxRpm);
      else if (action === 'button-power') {
        faults.clear();
        setRpm(0);
      } else return;
      sendStatus();
    },
  });
}
