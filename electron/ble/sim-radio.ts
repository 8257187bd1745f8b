/**
 * The simulated radio: a noble *bindings* object that hosts simulated peripherals
 * (from `protocols/`), so that `require('@abandonware/noble/with-bindings')(radio)`
 * gives the real noble classes on a fake radio (DESIGN §4). Tests, benchmarks and
 * demo mode use it.
 *
 * What it models of noble's HCI binding:
 * - one ATT request in flight per link: discovery, reads, writes with response and
 *   subscriptions (CCCD writes) queue behind each other; a write without response is
 *   never acknowledged but still takes its turn on the link;
 * - a configurable latency per operation (milliseconds);
 * - a write that the peripheral rejects gets no `write` event at all (noble's HCI
 *   binding drops ATT error responses to writes), so only a timeout above notices;
 * - a read the peripheral cannot answer yields empty data (as noble does);
 * - connected peripherals do not advertise; after a drop they advertise again.
 *
 * Faults are injected by name ({@link SIM_FAULTS}); observers can follow every write
 * that reached a peripheral and every change of a peripheral's state.
 */
import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import type { SimReadout, SimulatedPeripheral } from '../../protocols/types';

/** HCI disconnect reason codes the radio reports (the values a real controller uses). */
export const HCI_REASON = {
  /** Supervision timeout: the peripheral went silent (out of range, switched off). */
  connectionTimeout: 0x08,
  /** The peripheral closed the connection. */
  remoteUserTerminated: 0x13,
  /** This computer closed the connection. */
  localHostTerminated: 0x16,
  /** The connection could not be established. */
  failedToEstablish: 0x3e,
} as const;

/** Names of the faults the radio can inject. */
export type SimFaultName =
  | 'drop-link'
  | 'drop-link-mid-write'
  | 'no-write-response'
  | 'no-discovery-response'
  | 'slow'
  | 'garbage-notifications'
  | 'truncated-notifications'
  | 'adapter-off'
  | 'adapter-on'
  | 'refuse-connection'
  | 'stop-advertising'
  | 'resume-advertising';

/** A fault with what it does, for the demo panel and for tests. */
export interface SimFaultInfo {
  name: SimFaultName;
  /** `radio`: affects the whole adapter (the peripheral id is ignored). */
  scope: 'peripheral' | 'radio';
  /** `once`: happens now or at the next opportunity; `sticky`: stays until cleared. */
  kind: 'once' | 'sticky';
  description: string;
}

/** Every fault the radio knows, in a stable order. */
export const SIM_FAULTS: readonly SimFaultInfo[] = [
  { name: 'drop-link', scope: 'peripheral', kind: 'once', description: 'Drops the link now (supervision timeout); the peripheral advertises again.' },
  {
    name: 'drop-link-mid-write',
    scope: 'peripheral',
    kind: 'once',
    description: 'The next write never completes and the link drops while it is pending.',
  },
  {
    name: 'no-write-response',
    scope: 'peripheral',
    kind: 'sticky',
    description: 'Writes with response are lost: the peripheral never sees them and no answer comes.',
  },
  { name: 'no-discovery-response', scope: 'peripheral', kind: 'sticky', description: 'Service and characteristic discovery is never answered.' },
  { name: 'slow', scope: 'peripheral', kind: 'sticky', description: 'Every operation is answered only after the slow latency (500 ms by default).' },
  {
    name: 'garbage-notifications',
    scope: 'peripheral',
    kind: 'sticky',
    description: 'Sends one garbage notification now and replaces the payload of every later notification with random bytes.',
  },
  { name: 'truncated-notifications', scope: 'peripheral', kind: 'sticky', description: 'Cuts every later notification to half its length.' },
  { name: 'adapter-off', scope: 'radio', kind: 'once', description: 'Switches the adapter off: every link drops and scanning stops.' },
  { name: 'adapter-on', scope: 'radio', kind: 'once', description: 'Switches the adapter back on.' },
  { name: 'refuse-connection', scope: 'peripheral', kind: 'sticky', description: 'Connection attempts fail (connection failed to be established).' },
  { name: 'stop-advertising', scope: 'peripheral', kind: 'sticky', description: 'The peripheral stops advertising: it is not heard and cannot be connected to.' },
  { name: 'resume-advertising', scope: 'peripheral', kind: 'once', description: 'The peripheral advertises again.' },
];

const STICKY = new Set<SimFaultName>(SIM_FAULTS.filter((f) => f.kind === 'sticky').map((f) => f.name));

/** One write that reached a simulated peripheral. */
export interface SimWriteRecord {
  peripheralId: string;
  service: string;
  characteristic: string;
  bytes: Uint8Array;
  withResponse: boolean;
  /** `performance.now()` when the peripheral received it, in milliseconds. */
  atMs: number;
  /** false when the peripheral rejected it (an ATT error). */
  accepted: boolean;
}

/** One notification a simulated peripheral sent to its central (after any fault changed it). */
export interface SimNotificationRecord {
  peripheralId: string;
  service: string;
  characteristic: string;
  bytes: Uint8Array;
  /** `performance.now()` when the peripheral sent it, in milliseconds. */
  atMs: number;
}

/** How many sent notifications {@link SimRadio.notifications} keeps (the oldest go first). */
export const SIM_NOTIFICATION_LOG_SIZE = 10_000;

/** What the demo panel shows of one simulated peripheral. */
export interface SimPeripheralSnapshot {
  id: string;
  localName: string;
  connected: boolean;
  advertising: boolean;
  /** Sticky faults in force. */
  faults: SimFaultName[];
  readout: SimReadout[];
  state: Record<string, number | string | boolean>;
}

/** Options of {@link SimRadio}. All times in milliseconds. */
export interface SimRadioOptions {
  /** Time for one ATT operation (request to response); default 4 ms. */
  latencyMs?: number;
  /** Latency while the `slow` fault is in force; default 500 ms. */
  slowLatencyMs?: number;
  /** Interval between advertisements while scanning; default 100 ms. */
  advertiseIntervalMs?: number;
  /** ATT MTU negotiated on connect unless a peripheral overrides it; default 23 (no negotiation). */
  mtu?: number;
  /** Whether the adapter starts powered on; default true. */
  adapterOn?: boolean;
  /** Seed of the pseudo-random bytes (RSSI jitter, garbage); default 1. */
  seed?: number;
}

interface AttOp {
  label: string;
  /** Decides at the op's turn whether it is never answered (and does side effects). */
  hangs?: () => boolean;
  /** Runs when the op's turn comes (before any latency). */
  onStart?: () => void;
  /** Runs at half latency: the request reaches the peripheral. */
  deliver?: () => void;
  /** Runs at full latency: the response reaches the central. Omitted: the op ends at delivery. */
  respond?: () => void;
}

interface Link {
  closed: boolean;
  busy: boolean;
  queue: AttOp[];
  subscribed: Set<string>;
  timers: Set<ReturnType<typeof setTimeout>>;
}

interface Hosted {
  id: string;
  sim: SimulatedPeripheral;
  mtu: number;
  advertising: boolean;
  pendingConnect: boolean;
  link: Link | null;
  faults: Set<SimFaultName>;
  dropNextWrite: boolean;
}

type WriteListener = (record: SimWriteRecord) => void;
type StateListener = (snapshot: SimPeripheralSnapshot) => void;

/**
 * A noble bindings object hosting simulated peripherals.
 *
 * Pass it to `@abandonware/noble/with-bindings` and give the resulting noble to
 * `NobleTransport` with `{ simulated: true }`. Peripheral ids start with `sim-`.
 */
export class SimRadio extends EventEmitter {
  private readonly latencyMs: number;
  private readonly slowLatencyMs: number;
  private readonly advertiseIntervalMs: number;
  private readonly defaultMtu: number;
  private readonly hosted = new Map<string, Hosted>();
  private readonly log: SimWriteRecord[] = [];
  private readonly sent: SimNotificationRecord[] = [];
  private readonly observer = new EventEmitter();
  private adapterOn: boolean;
  private initialised = false;
  private scanning = false;
  private scanFilter: string[] = [];
  private advertiseTimer: ReturnType<typeof setInterval> | null = null;
  private seed: number;

  constructor(options: SimRadioOptions = {}) {
    super();
    this.latencyMs = options.latencyMs ?? 4;
    this.slowLatencyMs = options.slowLatencyMs ?? 500;
    this.advertiseIntervalMs = options.advertiseIntervalMs ?? 100;
    this.defaultMtu = options.mtu ?? 23;
    this.adapterOn = options.adapterOn ?? true;
    this.seed = options.seed ?? 1;
    this.observer.setMaxListeners(0);
  }

  // ---------------------------------------------------------------- hosting

  /**
   * Hosts a simulated peripheral and returns its id (its address, `sim-` prefixed
   * when it is not already). It starts advertising at once.
   * @throws Error when a peripheral with the same id is already hosted.
   */
  addPeripheral(sim: SimulatedPeripheral, options: { mtu?: number } = {}): string {
    const id = sim.address.startsWith('sim-') ? sim.address : `sim-${sim.address}`;
    if (this.hosted.has(id)) throw new Error(`A simulated peripheral with id ${id} is already on the radio.`);
    const h: Hosted = {
      id,
      sim,
      mtu: options.mtu ?? this.defaultMtu,
      advertising: true,
      pendingConnect: false,
      link: null,
      faults: new Set(),
      dropNextWrite: false,
    };
    this.hosted.set(id, h);
    sim.setNotifier((service, characteristic, bytes) => this.notifyFromPeripheral(h, service, characteristic, bytes));
    this.changed(h);
    return id;
  }

  /** Removes a hosted peripheral (its link drops first). */
  removePeripheral(id: string): void {
    const h = this.hosted.get(id);
    if (!h) return;
    if (h.link) this.closeLink(h, HCI_REASON.connectionTimeout);
    this.hosted.delete(id);
  }

  /** Ids of the hosted peripherals, in the order they were added. */
  peripheralIds(): string[] {
    return [...this.hosted.keys()];
  }

  /** The simulated peripheral behind an id (to read its decoded state in tests). */
  peripheral(id: string): SimulatedPeripheral | undefined {
    return this.hosted.get(id)?.sim;
  }

  /** Whether a link to the peripheral is up. */
  isConnected(id: string): boolean {
    return this.hosted.get(id)?.link != null;
  }

  /** Whether the simulated adapter is powered on. */
  isAdapterOn(): boolean {
    return this.adapterOn;
  }

  /** The panel's view of one peripheral, or undefined for an unknown id. */
  snapshot(id: string): SimPeripheralSnapshot | undefined {
    const h = this.hosted.get(id);
    return h ? this.snapshotOf(h) : undefined;
  }

  /** The panel's view of every hosted peripheral. */
  snapshots(): SimPeripheralSnapshot[] {
    return [...this.hosted.values()].map((h) => this.snapshotOf(h));
  }

  // ---------------------------------------------------------------- faults and log

  /** Every fault the radio can inject. */
  faults(): readonly SimFaultInfo[] {
    return SIM_FAULTS;
  }

  /**
   * Injects a fault by name. Radio-wide faults (`adapter-off`, `adapter-on`) ignore
   * `peripheralId`.
   * @throws Error for an unknown fault name or peripheral id.
   */
  inject(peripheralId: string, name: SimFaultName): void {
    const info = SIM_FAULTS.find((f) => f.name === name);
    if (!info) throw new Error(`Unknown fault "${String(name)}". Known: ${SIM_FAULTS.map((f) => f.name).join(', ')}.`);
    if (name === 'adapter-off') return this.setAdapter(false);
    if (name === 'adapter-on') return this.setAdapter(true);
    const h = this.hosted.get(peripheralId);
    if (!h) throw new Error(`No simulated peripheral with id ${peripheralId}.`);
    switch (name) {
      case 'drop-link':
        if (h.link) this.closeLink(h, HCI_REASON.connectionTimeout);
        break;
      case 'drop-link-mid-write':
        h.dropNextWrite = true;
        break;
      case 'resume-advertising':
        h.faults.delete('stop-advertising');
        h.advertising = true;
        this.tryCompleteConnect(h);
        break;
      case 'stop-advertising':
        h.faults.add(name);
        h.advertising = false;
        break;
      case 'garbage-notifications':
        h.faults.add(name);
        for (const key of h.link?.subscribed ?? []) {
          const [service, characteristic] = key.split('/') as [string, string];
          this.notifyFromPeripheral(h, service, characteristic, new Uint8Array(8));
        }
        break;
      default:
        if (STICKY.has(name)) h.faults.add(name);
    }
    this.changed(h);
  }

  /** Clears the sticky faults of one peripheral, or of all when no id is given (the adapter stays as it is). */
  clearFaults(peripheralId?: string): void {
    for (const h of this.hosted.values()) {
      if (peripheralId !== undefined && h.id !== peripheralId) continue;
      h.faults.clear();
      h.dropNextWrite = false;
      h.advertising = true;
      this.tryCompleteConnect(h);
      this.changed(h);
    }
  }

  /** Every write that reached a peripheral so far, oldest first (copies). */
  writes(peripheralId?: string): SimWriteRecord[] {
    return this.log.filter((r) => peripheralId === undefined || r.peripheralId === peripheralId).map((r) => ({ ...r }));
  }

  /** Every notification a peripheral sent to a subscribed central so far (the latest {@link SIM_NOTIFICATION_LOG_SIZE}), oldest first (copies). */
  notifications(peripheralId?: string): SimNotificationRecord[] {
    return this.sent.filter((r) => peripheralId === undefined || r.peripheralId === peripheralId).map((r) => ({ ...r, bytes: r.bytes.slice() }));
  }

  /** Empties the write log. */
  clearWriteLog(): void {
    this.log.length = 0;
  }

  /** Calls `listener` for every write that reaches a peripheral; returns an unsubscribe function. */
  onWrite(listener: WriteListener): () => void {
    this.observer.on('write', listener);
    return () => this.observer.off('write', listener);
  }

  /**
   * Calls `listener` whenever a peripheral's state changes (connection, advertising,
   * faults, decoded state); returns an unsubscribe function.
   */
  onStateChange(listener: StateListener): () => void {
    this.observer.on('state change', listener);
    return () => this.observer.off('state change', listener);
  }

  /** Switches the simulated adapter on or off (off drops every link and stops scanning). */
  setAdapter(on: boolean): void {
    if (on === this.adapterOn) return;
    this.adapterOn = on;
    if (!on) {
      this.stopAdvertisingLoop();
      const wasScanning = this.scanning;
      this.scanning = false;
      this.emit('stateChange', 'poweredOff');
      if (wasScanning) this.emit('scanStop');
      for (const h of this.hosted.values()) {
        h.pendingConnect = false;
        if (h.link) this.closeLink(h, HCI_REASON.connectionTimeout);
      }
    } else {
      this.emit('stateChange', 'poweredOn');
    }
    for (const h of this.hosted.values()) this.changed(h);
  }

  /** Stops every timer of the radio and drops every link (for the end of a test or the app). */
  dispose(): void {
    this.stopAdvertisingLoop();
    this.scanning = false;
    for (const h of this.hosted.values()) if (h.link) this.closeLink(h, HCI_REASON.localHostTerminated);
    this.observer.removeAllListeners();
  }

  // ---------------------------------------------------------------- noble bindings interface

  /** @internal noble bindings: powers the radio up (emits `stateChange`). */
  init(): void {
    this.initialised = true;
    setImmediate(() => {
      this.emit('addressChange', 'de:ad:be:ef:00:00');
      this.emit('stateChange', this.adapterOn ? 'poweredOn' : 'poweredOff');
    });
  }

  /** @internal noble bindings. */
  setScanParameters(): void {
    setImmediate(() => this.emit('scanParametersSet'));
  }

  /** @internal noble bindings. */
  reset(): void {}

  /** @internal noble bindings: starts the advertisement loop. */
  startScanning(serviceUuids?: string[], allowDuplicates?: boolean): void {
    if (!this.adapterOn) return;
    this.scanFilter = serviceUuids ?? [];
    this.scanning = true;
    setImmediate(() => {
      this.emit('scanStart', !allowDuplicates);
      this.advertiseOnce();
    });
    this.stopAdvertisingLoop();
    this.advertiseTimer = setInterval(() => this.advertiseOnce(), this.advertiseIntervalMs);
  }

  /** @internal noble bindings. */
  stopScanning(): void {
    const was = this.scanning;
    this.scanning = false;
    this.stopAdvertisingLoop();
    if (was) setImmediate(() => this.emit('scanStop'));
  }

  /** @internal noble bindings: starts a connection; completes once the peripheral advertises. */
  connect(peripheralId: string): void {
    const h = this.hosted.get(peripheralId);
    if (!this.adapterOn) {
      setImmediate(() => this.emit('connect', peripheralId, new Error('Command Disallowed (0xc): the adapter is off')));
      return;
    }
    if (!h) return; // like a controller waiting for an address that never advertises
    if (h.link) {
      setImmediate(() => this.emit('connect', peripheralId, new Error('Connection Already Exists (0xb)')));
      return;
    }
    h.pendingConnect = true;
    this.tryCompleteConnect(h);
  }

  /** @internal noble bindings. */
  cancelConnect(peripheralId: string): void {
    const h = this.hosted.get(peripheralId);
    if (h) h.pendingConnect = false;
  }

  /** @internal noble bindings: closes the link after one latency. */
  disconnect(peripheralId: string): void {
    const h = this.hosted.get(peripheralId);
    if (!h) return;
    if (h.pendingConnect && !h.link) {
      h.pendingConnect = false;
      return;
    }
    const link = h.link;
    if (!link) return;
    this.later(link, this.latencyFor(h), () => {
      if (h.link === link) this.closeLink(h, HCI_REASON.localHostTerminated);
    });
  }

  /** @internal noble bindings. */
  updateRssi(peripheralId: string): void {
    const h = this.hosted.get(peripheralId);
    if (!h?.link) return;
    const link = h.link;
    this.later(link, this.latencyFor(h), () => this.emit('rssiUpdate', peripheralId, this.jitteredRssi(h)));
  }

  /** @internal noble bindings. */
  discoverServices(peripheralId: string, uuids?: string[]): void {
    const h = this.linked(peripheralId);
    if (!h) return;
    const wanted = uuids ?? [];
    this.enqueue(h, {
      label: 'discover services',
      hangs: () => h.faults.has('no-discovery-response'),
      respond: () => {
        const found = h.sim.services.map((s) => s.uuid).filter((u) => wanted.length === 0 || wanted.includes(u));
        this.emit('servicesDiscover', peripheralId, found);
      },
    });
  }

  /** @internal noble bindings. */
  discoverIncludedServices(peripheralId: string, serviceUuid: string): void {
    const h = this.linked(peripheralId);
    if (!h) return;
    this.enqueue(h, { label: 'discover included services', respond: () => this.emit('includedServicesDiscover', peripheralId, serviceUuid, []) });
  }

  /** @internal noble bindings. */
  discoverCharacteristics(peripheralId: string, serviceUuid: string, characteristicUuids?: string[]): void {
    const h = this.linked(peripheralId);
    if (!h) return;
    const wanted = characteristicUuids ?? [];
    this.enqueue(h, {
      label: 'discover characteristics',
      hangs: () => h.faults.has('no-discovery-response'),
      respond: () => {
        const service = h.sim.services.find((s) => s.uuid === serviceUuid);
        const found = (service?.characteristics ?? [])
          .filter((c) => wanted.length === 0 || wanted.includes(c.uuid))
          .map((c) => ({ uuid: c.uuid, properties: [...c.properties] }));
        this.emit('characteristicsDiscover', peripheralId, serviceUuid, found);
      },
    });
  }

  /** @internal noble bindings. */
  discoverDescriptors(peripheralId: string, serviceUuid: string, characteristicUuid: string): void {
    const h = this.linked(peripheralId);
    if (!h) return;
    this.enqueue(h, {
      label: 'discover descriptors',
      respond: () => {
        const props = this.propertiesOf(h, serviceUuid, characteristicUuid);
        const descriptors = props.includes('notify') || props.includes('indicate') ? ['2902'] : [];
        this.emit('descriptorsDiscover', peripheralId, serviceUuid, characteristicUuid, descriptors);
      },
    });
  }

  /** @internal noble bindings: a read; an unreadable characteristic answers empty data (as noble does on an ATT error). */
  read(peripheralId: string, serviceUuid: string, characteristicUuid: string): void {
    const h = this.linked(peripheralId);
    if (!h) return;
    let value: Uint8Array | undefined;
    this.enqueue(h, {
      label: 'read',
      deliver: () => {
        value = h.sim.onRead(serviceUuid, characteristicUuid);
      },
      respond: () => this.emit('read', peripheralId, serviceUuid, characteristicUuid, Buffer.from(value ?? new Uint8Array(0)), false),
    });
  }

  /** @internal noble bindings: a write with response (acknowledged) or without response (not acknowledged). */
  write(peripheralId: string, serviceUuid: string, characteristicUuid: string, data: Buffer, withoutResponse: boolean): void {
    const h = this.linked(peripheralId);
    if (!h) return;
    const bytes = new Uint8Array(data);
    const withResponse = !withoutResponse;
    let accepted = false;
    const link = h.link as Link;
    const op: AttOp = {
      label: withResponse ? 'write request' : 'write command',
      hangs: () => {
        if (h.dropNextWrite) {
          h.dropNextWrite = false;
          this.later(link, this.latencyFor(h) / 2, () => {
            if (h.link === link) this.closeLink(h, HCI_REASON.connectionTimeout);
          });
          return true;
        }
        return withResponse && h.faults.has('no-write-response');
      },
      deliver: () => {
        accepted = h.sim.onWrite(serviceUuid, characteristicUuid, bytes, withResponse);
        const record: SimWriteRecord = {
          peripheralId,
          service: serviceUuid,
          characteristic: characteristicUuid,
          bytes: bytes.slice(),
          withResponse,
          atMs: performance.now(),
          accepted,
        };
        this.log.push(record);
        this.observer.emit('write', { ...record, bytes: bytes.slice() });
        this.changed(h);
      },
    };
    if (withResponse) {
      // noble's HCI binding emits `write` only for a Write Response; an ATT error is dropped.
      op.respond = () => {
        if (accepted) this.emit('write', peripheralId, serviceUuid, characteristicUuid);
      };
    } else {
      // A write command is reported as done as soon as it is sent.
      op.onStart = () => this.emit('write', peripheralId, serviceUuid, characteristicUuid);
    }
    this.enqueue(h, op);
  }

  /** @internal noble bindings. */
  broadcast(peripheralId: string, serviceUuid: string, characteristicUuid: string, state: boolean): void {
    setImmediate(() => this.emit('broadcast', peripheralId, serviceUuid, characteristicUuid, state));
  }

  /** @internal noble bindings: (un)subscribes; two ATT round trips (find the CCCD, write it). */
  notify(peripheralId: string, serviceUuid: string, characteristicUuid: string, on: boolean): void {
    const h = this.linked(peripheralId);
    if (!h) return;
    const key = `${serviceUuid}/${characteristicUuid}`;
    this.enqueue(h, { label: 'find CCCD' });
    this.enqueue(h, {
      label: 'write CCCD',
      deliver: () => {
        const props = this.propertiesOf(h, serviceUuid, characteristicUuid);
        if (!props.includes('notify') && !props.includes('indicate')) return;
        if (on) h.link?.subscribed.add(key);
        else h.link?.subscribed.delete(key);
        h.sim.onSubscribe?.(serviceUuid, characteristicUuid, on);
      },
      respond: () => this.emit('notify', peripheralId, serviceUuid, characteristicUuid, on),
    });
  }

  /** @internal noble bindings (descriptor and handle access are not simulated: answered empty). */
  readValue(peripheralId: string, serviceUuid: string, characteristicUuid: string, descriptorUuid: string): void {
    const h = this.linked(peripheralId);
    if (!h) return;
    this.enqueue(h, {
      label: 'read descriptor',
      respond: () => this.emit('valueRead', peripheralId, serviceUuid, characteristicUuid, descriptorUuid, Buffer.alloc(0)),
    });
  }

  /** @internal noble bindings. */
  writeValue(peripheralId: string, serviceUuid: string, characteristicUuid: string, descriptorUuid: string): void {
    const h = this.linked(peripheralId);
    if (!h) return;
    this.enqueue(h, { label: 'write descriptor', respond: () => this.emit('valueWrite', peripheralId, serviceUuid, characteristicUuid, descriptorUuid) });
  }

  /** @internal noble bindings. */
  readHandle(peripheralId: string, handle: number): void {
    const h = this.linked(peripheralId);
    if (!h) return;
    this.enqueue(h, { label: 'read handle', respond: () => this.emit('handleRead', peripheralId, handle, Buffer.alloc(0)) });
  }

  /** @internal noble bindings. */
  writeHandle(peripheralId: string, handle: number): void {
    const h = this.linked(peripheralId);
    if (!h) return;
    this.enqueue(h, { label: 'write handle', respond: () => this.emit('handleWrite', peripheralId, handle) });
  }

  // ---------------------------------------------------------------- internals

  private linked(peripheralId: string): Hosted | undefined {
    const h = this.hosted.get(peripheralId);
    return h?.link ? h : undefined; // like noble's HCI binding: no link, the request goes nowhere
  }

  private latencyFor(h: Hosted): number {
    return h.faults.has('slow') ? this.slowLatencyMs : this.latencyMs;
  }

  private propertiesOf(h: Hosted, service: string, characteristic: string): string[] {
    return h.sim.services.find((s) => s.uuid === service)?.characteristics.find((c) => c.uuid === characteristic)?.properties ?? [];
  }

  private later(link: Link, ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      link.timers.delete(t);
      if (!link.closed) fn();
    }, ms);
    link.timers.add(t);
  }

  private enqueue(h: Hosted, op: AttOp): void {
    const link = h.link;
    if (!link) return;
    link.queue.push(op);
    this.pump(h, link);
  }

  private pump(h: Hosted, link: Link): void {
    if (link.busy || link.closed) return;
    const op = link.queue.shift();
    if (!op) return;
    link.busy = true;
    if (op.hangs?.()) return; // never answered: the link stays busy until it drops
    op.onStart?.();
    const latency = this.latencyFor(h);
    const finish = (): void => {
      link.busy = false;
      this.pump(h, link);
    };
    // The response timer starts at delivery, so a late timer never lets the answer
    // overtake the request's half of the round trip (ordering holds under load).
    this.later(link, latency / 2, () => {
      op.deliver?.();
      const respond = op.respond;
      if (!respond) return finish();
      this.later(link, latency / 2, () => {
        respond();
        finish();
      });
    });
  }

  private tryCompleteConnect(h: Hosted): void {
    if (!h.pendingConnect || h.link || !h.advertising || !this.adapterOn) return;
    h.pendingConnect = false;
    const latency = this.latencyFor(h);
    const refuse = h.faults.has('refuse-connection');
    setTimeout(() => {
      if (!this.adapterOn) return;
      if (refuse) {
        this.emit('connect', h.id, new Error('Connection Failed to be Established (0x3e)'));
        return;
      }
      if (h.link) return;
      const link: Link = { closed: false, busy: false, queue: [], subscribed: new Set(), timers: new Set() };
      h.link = link;
      this.emit('connect', h.id, null);
      this.enqueue(h, { label: 'exchange MTU', respond: () => this.emit('onMtu', h.id, h.mtu) });
      this.changed(h);
    }, latency);
  }

  private closeLink(h: Hosted, reason: number): void {
    const link = h.link;
    if (!link) return;
    link.closed = true;
    for (const t of link.timers) clearTimeout(t);
    link.timers.clear();
    link.queue.length = 0;
    link.subscribed.clear();
    h.link = null;
    try {
      h.sim.onDisconnect?.();
    } finally {
      this.emit('disconnect', h.id, reason);
      this.changed(h);
    }
  }

  private notifyFromPeripheral(h: Hosted, service: string, characteristic: string, bytes: Uint8Array): void {
    // A peripheral may change state by itself (a chair's reset ends, a pad's timer runs
    // out); it then reports it, so each notification refreshes what observers show.
    this.changed(h);
    const link = h.link;
    if (!link || !link.subscribed.has(`${service}/${characteristic}`)) return;
    let payload: Uint8Array = bytes.slice();
    if (h.faults.has('garbage-notifications')) payload = this.randomBytes(Math.max(1, payload.length));
    if (h.faults.has('truncated-notifications')) payload = payload.slice(0, Math.floor(payload.length / 2));
    if (this.sent.length >= SIM_NOTIFICATION_LOG_SIZE) this.sent.shift();
    this.sent.push({ peripheralId: h.id, service, characteristic, bytes: payload.slice(), atMs: performance.now() });
    this.later(link, this.latencyFor(h) / 2, () => this.emit('read', h.id, service, characteristic, Buffer.from(payload), true));
  }

  private advertiseOnce(): void {
    if (!this.scanning || !this.adapterOn) return;
    for (const h of this.hosted.values()) {
      if (!h.advertising || h.link) continue;
      const adv = h.sim.advertisement;
      if (this.scanFilter.length > 0 && !adv.serviceUuids.some((u) => this.scanFilter.includes(u))) continue;
      const nobleAdvertisement = {
        localName: adv.localName ?? h.sim.localName,
        txPowerLevel: undefined,
        manufacturerData: adv.manufacturerData ? Buffer.from(adv.manufacturerData) : undefined,
        serviceData: (adv.serviceData ?? []).map((d) => ({ uuid: d.uuid, data: Buffer.from(d.data) })),
        serviceUuids: [...adv.serviceUuids],
        serviceSolicitationUuids: [],
        solicitationServiceUuids: [],
      };
      this.emit('discover', h.id, h.id, 'random', true, nobleAdvertisement, this.jitteredRssi(h), true);
    }
  }

  private stopAdvertisingLoop(): void {
    if (this.advertiseTimer) clearInterval(this.advertiseTimer);
    this.advertiseTimer = null;
  }

  private nextRandom(): number {
    // mulberry32: small, deterministic, good enough for jitter and garbage
    this.seed = (this.seed + 0x6d2b79f5) | 0;
    let t = this.seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  private randomBytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = Math.floor(this.nextRandom() * 256);
    return out;
  }

  private jitteredRssi(h: Hosted): number {
    return Math.round(h.sim.rssi + (this.nextRandom() * 6 - 3));
  }

  private snapshotOf(h: Hosted): SimPeripheralSnapshot {
    return {
      id: h.id,
      localName: h.sim.localName,
      connected: h.link != null,
      advertising: h.advertising && this.adapterOn && h.link == null,
      faults: [...h.faults],
      readout: h.sim.readout(),
      state: h.sim.state(),
    };
  }

  private changed(h: Hosted): void {
    if (this.observer.listenerCount('state change') === 0) return;
    this.observer.emit('state change', this.snapshotOf(h));
  }

  /** Whether noble has initialised the radio (for diagnostics). */
  get isInitialised(): boolean {
    return this.initialised;
  }
}
