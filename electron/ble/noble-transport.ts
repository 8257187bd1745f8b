/**
 * A {@link Transport} over a noble instance: the system one (`@abandonware/noble`)
 * or real noble classes on the simulated radio (`@abandonware/noble/with-bindings`).
 *
 * noble has no timeouts and its callback API leaves `once` listeners behind when
 * an answer never comes. This transport therefore never passes callbacks to noble:
 * it installs its own listeners, puts a timeout on every operation, and removes
 * every listener it added when the link goes down, so nothing doubles after a
 * reconnect.
 */
import type { EventEmitter } from 'node:events';
import type { Advertisement, FoundCharacteristic } from '../../protocols/types';
import { GattError } from './types';
import type { AdapterState, AdapterStateName, DiscoveredPeripheral, GattConnection, Transport } from './types';
import { HCI_REASON } from './sim-radio';

// ---------------------------------------------------------------- the parts of noble we use

/** The shape of a noble characteristic that this transport uses. */
export interface NobleCharacteristicLike extends EventEmitter {
  uuid: string;
  properties: string[];
  read(): void;
  write(data: Buffer, withoutResponse: boolean): void;
  notify(on: boolean): void;
  /** Asks for the characteristic's descriptors; answered by a `descriptorsDiscover` event with `{ uuid }` objects. */
  discoverDescriptors?(): void;
}

/** The shape of a noble service that this transport uses. */
export interface NobleServiceLike extends EventEmitter {
  uuid: string;
  characteristics: NobleCharacteristicLike[] | null;
  discoverCharacteristics(uuids: string[]): void;
}

/** The shape of a noble peripheral that this transport uses. */
export interface NoblePeripheralLike extends EventEmitter {
  id: string;
  address: string;
  rssi: number;
  mtu: number | null;
  state: string;
  advertisement: {
    localName?: string;
    serviceUuids?: string[];
    manufacturerData?: Buffer;
    serviceData?: { uuid: string; data: Buffer }[];
  };
  connect(): void;
  cancelConnect(): void;
  disconnect(): void;
  discoverServices(uuids: string[]): void;
}

/** The shape of a noble instance that this transport uses. */
export interface NobleLike extends EventEmitter {
  readonly state: string;
  startScanning(serviceUuids: string[], allowDuplicates: boolean): void;
  stopScanning(): void;
}

/** Options of {@link NobleTransport}. */
export interface NobleTransportOptions {
  /** true for noble on the simulated radio: discovered peripherals are marked simulated. */
  simulated?: boolean;
  /** Platform whose hints to give (default `process.platform`). */
  platform?: NodeJS.Platform;
  /** Wall clock for `lastSeenMs` (default `Date.now`). */
  wallClock?: () => number;
  /** How long `startScan` waits for the adapter to report its state, ms (default 3000). */
  adapterWaitMs?: number;
  /** How long `disconnect()` waits for the link to close before giving up on it, ms (default 2000). */
  disconnectWaitMs?: number;
}

// ---------------------------------------------------------------- adapter states

/**
 * The human message and hint for an adapter state.
 * @param platform decides the hint for `unauthorized` (capabilities on Linux, privacy settings elsewhere).
 */
export function describeAdapterState(state: AdapterStateName, platform: NodeJS.Platform = process.platform, reason?: string): AdapterState {
  switch (state) {
    case 'poweredOn':
      return { state, message: 'Bluetooth is on.', hint: '' };
    case 'poweredOff':
      return { state, message: 'Bluetooth is switched off.', hint: 'Switch Bluetooth on in your system settings, then scan again.' };
    case 'unauthorized':
      return {
        state,
        message: 'Unknot is not allowed to use Bluetooth.',
        hint:
          platform === 'linux'
            ? 'On Linux, give the app the raw network capability once (sudo setcap cap_net_raw+eip <path to the Unknot or node binary>) or run it with administrator rights.'
            : platform === 'darwin'
              ? 'Allow Bluetooth for Unknot in System Settings → Privacy & Security → Bluetooth.'
              : 'Allow apps to use Bluetooth in your system privacy settings.',
      };
    case 'unsupported':
      return {
        state,
        message: "This computer's Bluetooth adapter does not support Bluetooth Low Energy.",
        hint: 'Use a Bluetooth 4.0 (LE) adapter, for example a USB dongle, or try the simulated devices.',
      };
    case 'resetting':
      return { state, message: 'The Bluetooth adapter is restarting.', hint: 'Wait a moment; Unknot will continue when it is back.' };
    case 'unavailable':
      return {
        state,
        message: reason ?? 'This computer has no Bluetooth support that Unknot can use.',
        hint: 'Plug in a Bluetooth LE adapter and restart Unknot, or try the simulated devices.',
      };
    case 'unknown':
    default:
      return { state: 'unknown', message: 'Checking Bluetooth…', hint: '' };
  }
}

const KNOWN_STATES = new Set<AdapterStateName>(['unknown', 'resetting', 'unsupported', 'unauthorized', 'poweredOff', 'poweredOn']);

function toStateName(state: string): AdapterStateName {
  return KNOWN_STATES.has(state as AdapterStateName) ? (state as AdapterStateName) : 'unknown';
}

/** A human sentence for noble's disconnect reason (an HCI status code on Linux, anything elsewhere). */
export function describeDisconnectReason(reason: unknown): string {
  switch (reason) {
    case HCI_REASON.connectionTimeout:
      return 'the connection timed out (the device went out of range, was switched off or its battery ran out)';
    case HCI_REASON.remoteUserTerminated:
      return 'the device closed the connection';
    case HCI_REASON.localHostTerminated:
      return 'this computer closed the connection';
    case HCI_REASON.failedToEstablish:
      return 'the connection could not be established';
    case undefined:
    case null:
      return 'the link dropped';
    default:
      return typeof reason === 'number' ? `the link dropped (HCI code 0x${reason.toString(16)})` : `the link dropped (${String(reason)})`;
  }
}

function toAdvertisement(p: NoblePeripheralLike): Advertisement {
  const adv = p.advertisement ?? {};
  const out: Advertisement = { serviceUuids: [...(adv.serviceUuids ?? [])] };
  if (adv.localName !== undefined) out.localName = adv.localName;
  if (adv.manufacturerData) out.manufacturerData = new Uint8Array(adv.manufacturerData);
  const serviceData = (Array.isArray(adv.serviceData) ? adv.serviceData : []).filter(
    (d): d is { uuid: string; data: Buffer } => typeof d?.uuid === 'string' && d.data instanceof Uint8Array,
  );
  if (serviceData.length > 0) out.serviceData = serviceData.map((d) => ({ uuid: d.uuid, data: new Uint8Array(d.data) }));
  return out;
}

// ---------------------------------------------------------------- listener bookkeeping

type Listener = (...args: never[]) => void;

/** Remembers every listener added to noble objects so that all can be removed at once. */
class ListenerBag {
  private readonly entries: { emitter: EventEmitter; event: string; fn: Listener }[] = [];

  add(emitter: EventEmitter, event: string, fn: Listener): () => void {
    emitter.on(event, fn as (...args: unknown[]) => void);
    const entry = { emitter, event, fn };
    this.entries.push(entry);
    return () => {
      const i = this.entries.indexOf(entry);
      if (i >= 0) this.entries.splice(i, 1);
      emitter.off(event, fn as (...args: unknown[]) => void);
    };
  }

  removeAll(): void {
    for (const { emitter, event, fn } of this.entries.splice(0)) emitter.off(event, fn as (...args: unknown[]) => void);
  }

  get size(): number {
    return this.entries.length;
  }
}

// ---------------------------------------------------------------- the connection

interface Pending {
  reject: (error: GattError) => void;
}

/** Per-characteristic state: one listener of each kind, answers matched first-in first-out. */
interface CharacteristicSlot {
  characteristic: NobleCharacteristicLike;
  writes: (() => void)[];
  reads: ((data: Uint8Array) => void)[];
  notifyAcks: (() => void)[];
  onNotification: ((bytes: Uint8Array) => void) | null;
}

class NobleGattConnection implements GattConnection {
  readonly id: string;
  private readonly bag = new ListenerBag();
  private readonly pending = new Set<Pending>();
  private readonly slots = new Map<string, CharacteristicSlot>();
  private readonly disconnectListeners = new Set<(reason: string) => void>();
  private down = false;
  private closing = false;

  constructor(
    private readonly peripheral: NoblePeripheralLike,
    private readonly disconnectWaitMs: number,
    private readonly onGone: (connection: NobleGattConnection) => void,
  ) {
    this.id = peripheral.id;
    this.bag.add(peripheral, 'disconnect', (reason: unknown) => {
      this.teardown(this.closing ? 'closed by Unknot' : describeDisconnectReason(reason), 'disconnected', false);
    });
  }

  get mtu(): number {
    return this.peripheral.mtu ?? 23;
  }

  /** Number of listeners this connection holds on noble objects (for tests). */
  get listenerCount(): number {
    return this.bag.size;
  }

  get isUp(): boolean {
    return !this.down;
  }

  discover(serviceUuids: string[], timeoutMs: number): Promise<Map<string, FoundCharacteristic[]>> {
    return this.operation<Map<string, FoundCharacteristic[]>>('Service discovery', timeoutMs, (resolve, fail, local) => {
      local(this.peripheral, 'servicesDiscover', (services: NobleServiceLike[]) => {
        const result = new Map<string, FoundCharacteristic[]>();
        if (services.length === 0) return resolve(result);
        let remaining = services.length;
        for (const service of services) {
          local(service, 'characteristicsDiscover', (characteristics: NobleCharacteristicLike[]) => {
            result.set(
              service.uuid,
              characteristics.map((c) => ({ uuid: c.uuid, properties: [...c.properties] })),
            );
            for (const c of characteristics) this.slotFor(service.uuid, c);
            remaining -= 1;
            if (remaining === 0) resolve(result);
          });
          try {
            service.discoverCharacteristics([]);
          } catch (error) {
            fail(new GattError('rejected', `Characteristic discovery failed: ${String(error)}`));
          }
        }
      });
      this.peripheral.discoverServices(serviceUuids);
    });
  }

  write(service: string, characteristic: string, bytes: Uint8Array, withResponse: boolean, timeoutMs: number): Promise<void> {
    const slot = this.slots.get(`${service}/${characteristic}`);
    if (!slot) return Promise.reject(this.notFound(service, characteristic));
    return this.operation<void>(withResponse ? 'A write' : 'A write without response', timeoutMs, (resolve, fail) => {
      const done = (): void => resolve();
      slot.writes.push(done);
      try {
        slot.characteristic.write(Buffer.from(bytes), !withResponse);
      } catch (error) {
        slot.writes.splice(slot.writes.indexOf(done), 1);
        fail(new GattError('rejected', `The write could not be sent: ${String(error)}`));
      }
    });
  }

  read(service: string, characteristic: string, timeoutMs: number): Promise<Uint8Array> {
    const slot = this.slots.get(`${service}/${characteristic}`);
    if (!slot) return Promise.reject(this.notFound(service, characteristic));
    return this.operation<Uint8Array>('A read', timeoutMs, (resolve) => {
      slot.reads.push(resolve);
      slot.characteristic.read();
    });
  }

  descriptors(service: string, characteristic: string, timeoutMs: number): Promise<string[]> {
    const slot = this.slots.get(`${service}/${characteristic}`);
    if (!slot) return Promise.reject(this.notFound(service, characteristic));
    const c = slot.characteristic;
    if (typeof c.discoverDescriptors !== 'function') return Promise.resolve([]);
    return this.operation<string[]>('Descriptor discovery', timeoutMs, (resolve, _fail, local) => {
      local(c, 'descriptorsDiscover', (descriptors: { uuid: string }[] | null) => resolve((descriptors ?? []).map((d) => d.uuid)));
      c.discoverDescriptors!();
    });
  }

  subscribe(service: string, characteristic: string, onData: (bytes: Uint8Array) => void, timeoutMs: number): Promise<void> {
    const slot = this.slots.get(`${service}/${characteristic}`);
    if (!slot) return Promise.reject(this.notFound(service, characteristic));
    slot.onNotification = onData;
    return this.operation<void>('Subscribing to notifications', timeoutMs, (resolve) => {
      slot.notifyAcks.push(() => resolve());
      slot.characteristic.notify(true);
    });
  }

  onDisconnect(listener: (reason: string) => void): () => void {
    if (this.down) {
      return () => {};
    }
    this.disconnectListeners.add(listener);
    return () => this.disconnectListeners.delete(listener);
  }

  async disconnect(): Promise<void> {
    if (this.down) return;
    this.closing = true;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.teardown('closed by Unknot', 'disconnected', false);
        resolve();
      }, this.disconnectWaitMs);
      this.disconnectListeners.add(() => {
        clearTimeout(timer);
        resolve();
      });
      try {
        this.peripheral.disconnect();
      } catch {
        clearTimeout(timer);
        this.teardown('closed by Unknot', 'disconnected', false);
        resolve();
      }
    });
  }

  /**
   * Ends the connection: rejects every pending operation with `code`, removes every
   * listener, tells the disconnect listeners. `hangUp` also asks noble to close the
   * link (when it is still up, e.g. after a timeout).
   */
  teardown(reason: string, code: 'disconnected' | 'adapter-off', hangUp: boolean): void {
    if (this.down) return;
    this.down = true;
    this.bag.removeAll();
    for (const slot of this.slots.values()) slot.onNotification = null;
    this.slots.clear();
    const pending = [...this.pending];
    this.pending.clear();
    const message =
      code === 'adapter-off' ? `Bluetooth was switched off; the link to the device is gone.` : `The link to the device dropped: ${reason}.`;
    for (const p of pending) p.reject(new GattError(code, message));
    if (hangUp) {
      try {
        this.peripheral.disconnect();
      } catch {
        // the link is gone or going; nothing more to do
      }
    }
    this.onGone(this);
    const listeners = [...this.disconnectListeners];
    this.disconnectListeners.clear();
    for (const l of listeners) {
      try {
        l(reason);
      } catch {
        // a listener's failure must not stop the others
      }
    }
  }

  private notFound(service: string, characteristic: string): GattError {
    if (this.down) return new GattError('disconnected', 'The link to the device is closed.');
    return new GattError('not-found', `Characteristic ${characteristic} of service ${service} was not found; discover it first.`);
  }

  private slotFor(service: string, characteristic: NobleCharacteristicLike): void {
    const key = `${service}/${characteristic.uuid}`;
    const old = this.slots.get(key);
    if (old?.characteristic === characteristic) return;
    const slot: CharacteristicSlot = { characteristic, writes: [], reads: [], notifyAcks: [], onNotification: old?.onNotification ?? null };
    this.slots.set(key, slot);
    this.bag.add(characteristic, 'write', () => slot.writes.shift()?.());
    this.bag.add(characteristic, 'notify', () => slot.notifyAcks.shift()?.());
    this.bag.add(characteristic, 'data', (data: Buffer, isNotification: boolean) => {
      const bytes = new Uint8Array(data ?? Buffer.alloc(0));
      if (isNotification) slot.onNotification?.(bytes);
      else slot.reads.shift()?.(bytes);
    });
  }

  /**
   * Runs one GATT operation with a timeout. `start` gets resolve, fail and `local`,
   * which adds a listener that is removed when the operation settles. A timeout
   * rejects with GattError('timeout') and tears the link down.
   */
  private operation<T>(
    what: string,
    timeoutMs: number,
    start: (resolve: (value: T) => void, fail: (error: GattError) => void, local: (emitter: EventEmitter, event: string, fn: Listener) => void) => void,
  ): Promise<T> {
    if (this.down) return Promise.reject(new GattError('disconnected', 'The link to the device is closed.'));
    return new Promise<T>((resolve, reject) => {
      const removers: (() => void)[] = [];
      let settled = false;
      const entry: Pending = {
        reject: (error) => settle(() => reject(error)),
      };
      const settle = (fn: () => void): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.pending.delete(entry);
        for (const r of removers.splice(0)) r();
        fn();
      };
      const timer = setTimeout(() => {
        settle(() =>
          reject(new GattError('timeout', `${what} got no answer within ${timeoutMs} ms; Unknot closed the link to the device.`)),
        );
        this.teardown(`${what.toLowerCase()} timed out`, 'disconnected', true);
      }, timeoutMs);
      this.pending.add(entry);
      const local = (emitter: EventEmitter, event: string, fn: Listener): void => {
        removers.push(this.bag.add(emitter, event, fn));
      };
      try {
        start(
          (value) => settle(() => resolve(value)),
          (error) => settle(() => reject(error)),
          local,
        );
      } catch (error) {
        settle(() => reject(error instanceof GattError ? error : new GattError('rejected', `${what} failed: ${String(error)}`)));
      }
    });
  }
}

// ---------------------------------------------------------------- the transport

/**
 * A {@link Transport} over a noble instance.
 *
 * `new NobleTransport(require('@abandonware/noble/with-bindings')(new SimRadio()), { simulated: true })`
 * runs the real noble classes on the simulated radio.
 */
export class NobleTransport implements Transport {
  readonly name: 'noble' | 'simulated';
  private readonly simulated: boolean;
  private readonly platform: NodeJS.Platform;
  private readonly wallClock: () => number;
  private readonly adapterWaitMs: number;
  private readonly disconnectWaitMs: number;
  private readonly known = new Map<string, NoblePeripheralLike>();
  private readonly connections = new Set<NobleGattConnection>();
  private readonly stateListeners = new Set<(state: AdapterState) => void>();
  private readonly own = new ListenerBag();
  private state: AdapterStateName = 'unknown';
  private scanListener: (() => void) | null = null;

  constructor(
    private readonly noble: NobleLike,
    options: NobleTransportOptions = {},
  ) {
    this.simulated = options.simulated ?? false;
    this.name = this.simulated ? 'simulated' : 'noble';
    this.platform = options.platform ?? process.platform;
    this.wallClock = options.wallClock ?? Date.now;
    this.adapterWaitMs = options.adapterWaitMs ?? 3000;
    this.disconnectWaitMs = options.disconnectWaitMs ?? 2000;
    // Listening for stateChange makes noble initialise its bindings (on the next tick).
    this.own.add(noble, 'stateChange', (state: string) => this.onStateChange(toStateName(state)));
  }

  adapterState(): AdapterState {
    return describeAdapterState(this.state, this.platform);
  }

  onAdapterState(listener: (state: AdapterState) => void): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  /**
   * Starts scanning with duplicates allowed (so RSSI updates arrive). A second call
   * replaces `onDiscover`. Waits up to `adapterWaitMs` for the adapter to report.
   * @throws GattError('adapter-off') when the adapter is not powered on.
   */
  async startScan(onDiscover: (peripheral: DiscoveredPeripheral) => void): Promise<void> {
    await this.waitForState();
    if (this.state !== 'poweredOn') {
      const s = this.adapterState();
      throw new GattError('adapter-off', `Cannot scan: ${s.message} ${s.hint}`.trim());
    }
    this.scanListener?.();
    this.scanListener = this.own.add(this.noble, 'discover', (p: NoblePeripheralLike) => {
      this.known.set(p.id, p);
      const adv = toAdvertisement(p);
      const found: DiscoveredPeripheral = {
        id: p.id,
        address: p.address,
        rssi: p.rssi,
        advertisement: adv,
        simulated: this.simulated,
        lastSeenMs: this.wallClock(),
      };
      if (adv.localName !== undefined) found.localName = adv.localName;
      onDiscover(found);
    });
    this.noble.startScanning([], true);
  }

  async stopScan(): Promise<void> {
    if (!this.scanListener) return;
    this.scanListener();
    this.scanListener = null;
    if (this.state === 'poweredOn') this.noble.stopScanning();
  }

  /** Whether a scan is running. */
  get scanning(): boolean {
    return this.scanListener !== null;
  }

  /**
   * Connects to a peripheral heard while scanning.
   * @throws GattError 'adapter-off' (adapter not on), 'not-found' (never heard),
   *   'rejected' (the connection failed or the device is already connected), 'timeout'.
   */
  connect(peripheralId: string, timeoutMs: number): Promise<GattConnection> {
    if (this.state !== 'poweredOn') {
      const s = this.adapterState();
      return Promise.reject(new GattError('adapter-off', `Cannot connect: ${s.message} ${s.hint}`.trim()));
    }
    const peripheral = this.known.get(peripheralId) ?? this.lookup(peripheralId);
    if (!peripheral) {
      return Promise.reject(new GattError('not-found', `No device with id ${peripheralId} has been heard; scan first.`));
    }
    for (const c of this.connections) {
      if (c.id === peripheralId && c.isUp) {
        return Promise.reject(new GattError('rejected', 'Unknot is already connected to this device.'));
      }
    }
    if (peripheral.state === 'connected' || peripheral.state === 'disconnecting') {
      // No live connection of ours holds it: noble missed the end of the last link
      // (e.g. the adapter went off without a disconnect event). Without this, noble
      // would answer "Peripheral already connected".
      peripheral.state = 'disconnected';
    }
    return new Promise<GattConnection>((resolve, reject) => {
      let removeConnect: () => void = () => {};
      let removeState: () => void = () => {};
      const finish = (): void => {
        clearTimeout(timer);
        removeConnect();
        removeState();
      };
      const timer = setTimeout(() => {
        finish();
        try {
          peripheral.cancelConnect();
        } catch {
          // nothing to cancel
        }
        reject(new GattError('timeout', `The device did not answer within ${timeoutMs} ms. Is it switched on and near this computer?`));
      }, timeoutMs);
      removeState = this.onAdapterState((s) => {
        if (s.state === 'poweredOn') return;
        finish();
        reject(new GattError('adapter-off', `Bluetooth went away while connecting: ${s.message}`));
      });
      removeConnect = this.own.add(peripheral, 'connect', (error?: Error | null) => {
        finish();
        if (error) {
          reject(new GattError('rejected', `The device refused the connection (${error.message}).`));
          return;
        }
        const connection = new NobleGattConnection(peripheral, this.disconnectWaitMs, (c) => this.connections.delete(c));
        this.connections.add(connection);
        resolve(connection);
      });
      try {
        peripheral.connect();
      } catch (error) {
        finish();
        reject(new GattError('rejected', `Could not start connecting: ${String(error)}`));
      }
    });
  }

  /** Closes every connection and stops scanning; the noble instance stays usable. */
  async dispose(): Promise<void> {
    await this.stopScan();
    await Promise.all([...this.connections].map((c) => c.disconnect()));
    this.own.removeAll();
    this.stateListeners.clear();
  }

  /** Listeners this transport and its connections hold on noble objects (for tests of listener hygiene). */
  listenerCount(): number {
    let n = this.own.size;
    for (const c of this.connections) n += c.listenerCount;
    return n;
  }

  private lookup(peripheralId: string): NoblePeripheralLike | undefined {
    const table = (this.noble as unknown as { _peripherals?: Record<string, NoblePeripheralLike> })._peripherals;
    return table?.[peripheralId];
  }

  private waitForState(): Promise<void> {
    if (this.state !== 'unknown' && this.state !== 'resetting') return Promise.resolve();
    // Reading noble.state initialises the bindings when nothing else has.
    try {
      this.state = toStateName(this.noble.state);
    } catch {
      // noble failed to open the adapter while initialising; it stays `unknown` and scanning is refused below
    }
    if (this.state !== 'unknown' && this.state !== 'resetting') return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        off();
        resolve();
      }, this.adapterWaitMs);
      const off = this.onAdapterState((s) => {
        if (s.state === 'unknown' || s.state === 'resetting') return;
        clearTimeout(timer);
        off();
        resolve();
      });
    });
  }

  private onStateChange(state: AdapterStateName): void {
    if (state === this.state) return;
    this.state = state;
    if (state !== 'poweredOn') {
      // Scanning has ended with the adapter; links cannot survive it.
      this.scanListener?.();
      this.scanListener = null;
      for (const c of [...this.connections]) c.teardown('Bluetooth was switched off', 'adapter-off', false);
    }
    const described = this.adapterState();
    for (const l of [...this.stateListeners]) {
      try {
        l(described);
      } catch {
        // one listener's failure must not stop the others
      }
    }
  }
}
