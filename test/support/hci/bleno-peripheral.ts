/**
 * Hosts a simulated peripheral (a `SimulatedPeripheral` from `protocols/`) as a real
 * GATT server on @abandonware/bleno, over a virtual controller: the same simulator that
 * answers on the simulated radio then answers over bleno's ATT server, with its
 * services, characteristics, properties and notifications.
 *
 * bleno is a process-wide singleton (`module.exports = new Bleno()`) that opens its HCI
 * socket when first initialised and picks its device from `BLENO_HCI_DEVICE_ID`. To
 * host several peripherals in one process, each gets a fresh bleno: its modules are
 * purged from `require.cache` and required again with the device id set.
 */
import { createRequire } from 'node:module';
import { dirname, sep } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Advertisement, SimulatedPeripheral } from '../../../protocols/types';
import type { SimWriteRecord } from '../../../electron/ble/sim-radio';

const require = createRequire(import.meta.url);

/** The parts of bleno this harness uses. */
interface BlenoLike {
  state: string;
  on(event: string, fn: (...args: never[]) => void): void;
  removeAllListeners(): void;
  PrimaryService: new (options: { uuid: string; characteristics: unknown[] }) => unknown;
  Characteristic: new (options: Record<string, unknown>) => unknown;
  setServices(services: unknown[], callback?: (error?: Error | null) => void): void;
  startAdvertisingWithEIRData(advertisement: Buffer, scanResponse: Buffer, callback?: (error?: Error | null) => void): void;
  stopAdvertising(callback?: () => void): void;
  disconnect(): void;
}

/** bleno's ATT result codes (Characteristic.RESULT_*). */
const RESULT = { success: 0x00, invalidOffset: 0x07, unlikely: 0x0e } as const;

/** One write the peripheral received over ATT: the simulated radio's record, `atMs` when bleno handed it to the simulator. */
export type BlenoWriteRecord = Omit<SimWriteRecord, 'peripheralId'>;

/** A simulated peripheral on its own bleno. */
export interface BlenoPeripheral {
  readonly sim: SimulatedPeripheral;
  /** The HCI device id of the controller bleno is bound to. */
  readonly deviceId: number;
  /** Whether a central is connected. */
  readonly connected: boolean;
  /** bleno's adapter state. */
  readonly state: string;
  /** Number of times bleno reported `poweredOn` (again after each power cycle). */
  readonly poweredOnCount: number;
  /** Writes that reached the simulator, oldest first. */
  writes(): readonly BlenoWriteRecord[];
  /** Follows every write as it reaches the simulator; returns an unsubscribe function. */
  onWrite(listener: (write: BlenoWriteRecord) => void): () => void;
  /** Notifications bleno was asked to send (subscribed ones only), with their characteristic. */
  notificationsSent(): number;
  /** Closes the connection from the peripheral's side (bleno sends Disconnect, reason 0x13). */
  disconnect(): void;
  /** Stops advertising (the peripheral can no longer be found or connected to). */
  stopAdvertising(): void;
  /** Advertises again. */
  startAdvertising(): void;
}

/** Purges bleno from `require.cache`, so the next `require` builds a new one (with its own socket). */
function purgeBleno(): void {
  const root = dirname(require.resolve('@abandonware/bleno/package.json')) + sep;
  for (const key of Object.keys(require.cache)) if (key.startsWith(root)) delete require.cache[key];
}

/** The 16-bit form of a noble-style UUID when it is a 4-digit one, else undefined. */
function short(uuid: string): number | undefined {
  return /^[0-9a-f]{4}$/.test(uuid) ? parseInt(uuid, 16) : undefined;
}

/** A noble-style 128-bit UUID (32 hex digits) as the 16 bytes the air carries (least significant first). */
function long(uuid: string): number[] {
  return [...Buffer.from(uuid, 'hex')].reverse();
}

/**
 * The advertising data (flags, service UUIDs, manufacturer and service data) and scan
 * response (the complete local name) for an advertisement.
 * @throws RangeError when either exceeds 31 bytes.
 */
export function advertisingData(adv: Advertisement): { advertisement: Buffer; scanResponse: Buffer } {
  const ad: number[] = [0x02, 0x01, 0x06];
  const shorts = adv.serviceUuids.map(short).filter((u): u is number => u !== undefined);
  const longs = adv.serviceUuids.filter((u) => short(u) === undefined);
  if (shorts.length > 0) ad.push(1 + 2 * shorts.length, 0x03, ...shorts.flatMap((u) => [u & 0xff, u >> 8]));
  if (longs.length > 0) ad.push(1 + 16 * longs.length, 0x07, ...longs.flatMap(long));
  if (adv.manufacturerData) ad.push(1 + adv.manufacturerData.length, 0xff, ...adv.manufacturerData);
  for (const sd of adv.serviceData ?? []) {
    const u = short(sd.uuid);
    if (u !== undefined) ad.push(3 + sd.data.length, 0x16, u & 0xff, u >> 8, ...sd.data);
    else ad.push(17 + sd.data.length, 0x21, ...long(sd.uuid), ...sd.data);
  }
  const sr: number[] = [];
  if (adv.localName !== undefined) {
    const name = Buffer.from(adv.localName, 'utf8');
    sr.push(1 + name.length, 0x09, ...name);
  }
  if (ad.length > 31 || sr.length > 31) throw new RangeError(`advertisement does not fit 31 bytes (${ad.length} + scan response ${sr.length})`);
  return { advertisement: Buffer.from(ad), scanResponse: Buffer.from(sr) };
}

/**
 * Starts a fresh bleno on HCI device `deviceId` (a controller of the active virtual link)
 * and serves `sim` on it: its GATT table once bleno is powered on, and its advertisement.
 * After a controller power cycle it serves and advertises again.
 */
export function hostOnBleno(sim: SimulatedPeripheral, deviceId: number): BlenoPeripheral {
  purgeBleno();
  const saved = { id: process.env.BLENO_HCI_DEVICE_ID, name: process.env.BLENO_DEVICE_NAME };
  process.env.BLENO_HCI_DEVICE_ID = String(deviceId);
  let bleno: BlenoLike;
  try {
    bleno = require('@abandonware/bleno') as BlenoLike;
  } finally {
    if (saved.id === undefined) delete process.env.BLENO_HCI_DEVICE_ID;
    else process.env.BLENO_HCI_DEVICE_ID = saved.id;
  }
  const writes: BlenoWriteRecord[] = [];
  const writeListeners = new Set<(w: BlenoWriteRecord) => void>();
  const subscriptions = new Map<string, (data: Buffer) => void>();
  let connected = false;
  let poweredOnCount = 0;
  let notifications = 0;
  let wantAdvertising = true;

  const key = (s: string, c: string): string => `${s}/${c}`;
  const services = sim.services.map(
    (service) =>
      new bleno.PrimaryService({
        uuid: service.uuid,
        characteristics: service.characteristics.map(
          (c) =>
            new bleno.Characteristic({
              uuid: c.uuid,
              properties: [...c.properties],
              onReadRequest: (offset: number, callback: (result: number, data: Buffer | null) => void) => {
                const value = sim.onRead(service.uuid, c.uuid);
                if (!value) return callback(RESULT.unlikely, null);
                if (offset > value.length) return callback(RESULT.invalidOffset, null);
                callback(RESULT.success, Buffer.from(value.subarray(offset)));
              },
              onWriteRequest: (data: Buffer, _offset: number, withoutResponse: boolean, callback: (result: number) => void) => {
                const bytes = new Uint8Array(data);
                const accepted = sim.onWrite(service.uuid, c.uuid, bytes, !withoutResponse);
                const record: BlenoWriteRecord = { service: service.uuid, characteristic: c.uuid, bytes: bytes.slice(), withResponse: !withoutResponse, atMs: performance.now(), accepted };
                writes.push(record);
                for (const l of writeListeners) l(record);
                callback(accepted ? RESULT.success : RESULT.unlikely);
              },
              onSubscribe: (_maxValueSize: number, updateValueCallback: (data: Buffer) => void) => {
                subscriptions.set(key(service.uuid, c.uuid), updateValueCallback);
                sim.onSubscribe?.(service.uuid, c.uuid, true);
              },
              onUnsubscribe: () => {
                if (subscriptions.delete(key(service.uuid, c.uuid))) sim.onSubscribe?.(service.uuid, c.uuid, false);
              },
            }),
        ),
      }),
  );
  sim.setNotifier((service, characteristic, bytes) => {
    const send = subscriptions.get(key(service, characteristic));
    if (!send) return;
    notifications++;
    send(Buffer.from(bytes));
  });
  const { advertisement, scanResponse } = advertisingData(sim.advertisement);

  const serve = (): void => {
    // bleno's GAP service takes its device name from BLENO_DEVICE_NAME while setting services
    process.env.BLENO_DEVICE_NAME = sim.localName;
    try {
      bleno.setServices(services);
    } finally {
      if (saved.name === undefined) delete process.env.BLENO_DEVICE_NAME;
      else process.env.BLENO_DEVICE_NAME = saved.name;
    }
    if (wantAdvertising) bleno.startAdvertisingWithEIRData(advertisement, scanResponse);
  };

  bleno.on('accept', () => {
    connected = true;
  });
  bleno.on('disconnect', () => {
    connected = false;
    sim.onDisconnect?.();
  });
  // Registering for stateChange makes bleno open its socket (with BLENO_HCI_DEVICE_ID read just above).
  // bleno's init also adds a SIGINT listener that exits the process when it is the last one:
  // this peripheral stands in for another device, so it must not decide how the process
  // hosting it (a test worker, or the Bluetooth helper under test) meets a Ctrl+C.
  const sigintBefore = new Set(process.listeners('SIGINT'));
  process.env.BLENO_HCI_DEVICE_ID = String(deviceId);
  try {
    bleno.on('stateChange', (state: string) => {
      if (state !== 'poweredOn') {
        connected = false;
        return;
      }
      poweredOnCount++;
      serve();
    });
  } finally {
    if (saved.id === undefined) delete process.env.BLENO_HCI_DEVICE_ID;
    else process.env.BLENO_HCI_DEVICE_ID = saved.id;
    for (const l of process.listeners('SIGINT')) if (!sigintBefore.has(l)) process.off('SIGINT', l);
  }

  return {
    sim,
    deviceId,
    get connected() {
      return connected;
    },
    get state() {
      return bleno.state;
    },
    get poweredOnCount() {
      return poweredOnCount;
    },
    writes: () => writes,
    onWrite(listener) {
      writeListeners.add(listener);
      return () => writeListeners.delete(listener);
    },
    notificationsSent: () => notifications,
    disconnect: () => bleno.disconnect(),
    stopAdvertising() {
      wantAdvertising = false;
      bleno.stopAdvertising();
    },
    startAdvertising() {
      wantAdvertising = true;
      if (bleno.state === 'poweredOn') bleno.startAdvertisingWithEIRData(advertisement, scanResponse);
    },
  };
}
