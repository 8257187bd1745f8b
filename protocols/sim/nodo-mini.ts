/**
 * The "Nodo Mini": a made-up massage cushion that exists only in demo mode, so the device
 * lab can be tried without hardware. No built-in profile knows it (it is the "unknown
 * device" of issue 17); `test/fixtures/profiles/nodo-mini.json` is a user profile for it.
 *
 * Its own GATT table: service `4e4f0001…` with a write characteristic `4e4f0002`
 * (write, write without response), a notify characteristic `4e4f0003`, and a readable
 * `4e4f0004` that holds the text `NM-1 fw 0.3`; plus Battery and Device Information.
 * It advertises its name, its service and manufacturer data `FF FF 4E 4D 01` (company
 * 0xFFFF, the id reserved for tests; then "NM" and a product number).
 *
 * Its framed protocol (invented for the demo):
 * - to the device: `55 cmd len payload… cs`, `len` = payload bytes,
 *   `cs = (sum of every byte before it) & 0xFF`. Commands: `01 level` (0..10; 0 stops),
 *   `02` status request.
 * - from the device: `AA 81 03 running level battery cs`, same checksum; sent after each
 *   command and every second while the central listens.
 * A frame with a bad header, length or checksum is counted in `badFrames` and ignored.
 */
import { at } from '../bytes';
import { sum8 } from '../checksum';
import type { SimClock, SimOptions, SimReadout, SimulatedPeripheral } from '../types';
import { SYSTEM_SIM_CLOCK } from '../types';
import { STOP_FAULT_ACTIONS, SimLink, StopFaults, simulatedPeripheral } from './helper';

/** The Nodo Mini's own service and characteristics (noble form). */
export const NODO_SERVICE = '4e4f00010000100080004e4f444f0001';
export const NODO_WRITE = '4e4f00020000100080004e4f444f0001';
export const NODO_NOTIFY = '4e4f00030000100080004e4f444f0001';
export const NODO_INFO = '4e4f00040000100080004e4f444f0001';
/** The text its readable info characteristic holds. */
export const NODO_INFO_TEXT = 'NM-1 fw 0.3';
/** Its advertised name and manufacturer data (company 0xFFFF little-endian, then `4E 4D 01`). */
export const NODO_NAME = 'Nodo Mini';
export const NODO_MANUFACTURER_DATA = Uint8Array.of(0xff, 0xff, 0x4e, 0x4d, 0x01);
/** Its highest level. */
export const NODO_LEVELS = 10;
/** How often it reports its status by itself while the central listens, ms. */
export const NODO_REPORT_MS = 1000;

const TO_DEVICE = 0x55;
const FROM_DEVICE = 0xaa;
const CMD_LEVEL = 0x01;
const CMD_STATUS = 0x02;

/** A frame to the device: `55 cmd len payload… cs`. */
export function nodoCommand(cmd: number, payload: readonly number[] = []): Uint8Array {
  const f = Uint8Array.from([TO_DEVICE, cmd, payload.length, ...payload, 0]);
  f[f.length - 1] = sum8(f, 0, f.length - 1);
  return f;
}

/** A status notification: `AA 81 03 running level battery cs`. */
export function nodoStatus(running: boolean, level: number, battery: number): Uint8Array {
  const f = Uint8Array.of(FROM_DEVICE, 0x81, 0x03, running ? 1 : 0, level, battery, 0);
  f[6] = sum8(f, 0, 6);
  return f;
}

/**
 * A simulated Nodo Mini (address `sim-nodo-mini` unless given). Actions: `button-power`
 * (off, as by its own button), `ignore-next-stop`, `ignore-every-stop`, `no-status-replies`.
 */
export function simulateNodoMini(options: SimOptions = {}): SimulatedPeripheral {
  const clock: SimClock = options.clock ?? SYSTEM_SIM_CLOCK;
  const link = new SimLink(NODO_SERVICE, NODO_NOTIFY);
  const faults = new StopFaults();
  const state = { level: 0, running: false, framesReceived: 0, badFrames: 0, statusRequests: 0 };
  const battery = 64;
  let timer: unknown = null;
  const report = (): void => link.send(nodoStatus(state.running, state.level, battery));
  const tick = (): void => {
    timer = null;
    if (!link.subscribed) return;
    report();
    timer = clock.setTimeout(tick, NODO_REPORT_MS);
  };
  const setLevel = (level: number): void => {
    state.level = Math.min(NODO_LEVELS, level);
    state.running = state.level > 0;
  };
  const peripheral = simulatedPeripheral({
    // The id of its user profile (test/fixtures/profiles/nodo-mini.json): no built-in one knows it.
    protocolId: 'nodo-mini',
    address: options.address ?? 'sim-nodo-mini',
    localName: NODO_NAME,
    advertisement: { localName: NODO_NAME, serviceUuids: [NODO_SERVICE], manufacturerData: NODO_MANUFACTURER_DATA },
    rssi: -61,
    link,
    services: [
      {
        uuid: NODO_SERVICE,
        characteristics: [
          { uuid: NODO_WRITE, properties: ['write', 'writeWithoutResponse'] },
          { uuid: NODO_NOTIFY, properties: ['notify'] },
          { uuid: NODO_INFO, properties: ['read'] },
        ],
      },
    ],
    standard: { batteryPercent: battery, manufacturer: 'Nodo (made up)', model: 'NM-1' },
    onWrite(service, characteristic, bytes) {
      if (service !== NODO_SERVICE || characteristic !== NODO_WRITE) return false;
      const len = bytes.length >= 3 ? at(bytes, 2) : -1;
      if (bytes.length < 4 || bytes[0] !== TO_DEVICE || bytes.length !== 4 + len || at(bytes, bytes.length - 1) !== sum8(bytes, 0, bytes.length - 1)) {
        state.badFrames++;
        return true;
      }
      const cmd = at(bytes, 1);
      if (cmd === CMD_LEVEL && len === 1) {
        state.framesReceived++;
        const level = at(bytes, 3);
        if (!(level === 0 && faults.swallow(state.running))) setLevel(level);
        report();
      } else if (cmd === CMD_STATUS && len === 0) {
        state.framesReceived++;
        state.statusRequests++;
        report();
      } else {
        state.badFrames++;
      }
      return true;
    },
    onSubscribed(on) {
      if (on && timer === null) timer = clock.setTimeout(tick, NODO_REPORT_MS);
      if (!on && timer !== null) {
        clock.clearTimeout(timer);
        timer = null;
      }
    },
    onDisconnect() {
      if (timer !== null) clock.clearTimeout(timer);
      timer = null;
    },
    readout: (): SimReadout[] => [{ label: 'Level', value: `${state.level} of ${NODO_LEVELS}` }],
    state: () => ({ ...state, stopsIgnored: faults.swallowed }),
    actions: ['button-power', ...STOP_FAULT_ACTIONS, 'no-status-replies'],
    act(action) {
      if (faults.act(action)) return;
      if (action === 'no-status-replies') link.silent = true;
      else if (action === 'button-power') {
        faults.clear();
        setLevel(0);
        report();
      }
    },
  });
  const standardRead = peripheral.onRead;
  return {
    ...peripheral,
    onRead: (service, characteristic) =>
      service === NODO_SERVICE && characteristic === NODO_INFO ? new TextEncoder().encode(NODO_INFO_TEXT) : standardRead(service, characteristic),
  };
}
