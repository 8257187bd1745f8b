/**
 * A virtual Bluetooth LE link for tests: one {@link VirtualController} per host (noble
 * as the central, bleno as each peripheral), joined by {@link VirtualLink}, the air
 * between them. The hosts talk to their controller over the HCI socket contract
 * (`virtual-socket.ts`), byte for byte as they would to a USB dongle or a kernel
 * raw socket, so their own HCI code (hci.js, gap.js, gatt.js, acl-stream.js,
 * signaling.js) runs unchanged.
 *
 * What the link models:
 * - advertising events every advertising interval, with a scan response for active
 *   scanners, duplicate filtering as asked;
 * - LE Create Connection (established at the target's next connectable advertising
 *   event) and its cancel; LE Connection Complete on both sides with the right roles;
 * - ACL data over the air at connection events only: a packet a host hands its
 *   controller waits for the next event of the link's connection interval (7.5–50 ms),
 *   at most `packetsPerEvent` per direction per event; the sending controller then
 *   reports Number of Completed Packets, and the receiving one delivers the packet
 *   with its packet-boundary flag rewritten (first fragment 0b10, as controllers do);
 * - Disconnect (the side that asked gets reason 0x16, the peer the reason given, at the
 *   next connection event), a dropped link (0x08 on both sides), a controller switched
 *   off (its host sees the device down; its peers lose the link after the supervision
 *   timeout) and on again.
 *
 * Faults a test can switch on per controller (where real radios fail, below the hosts):
 * {@link VirtualController.stallCompletedPackets} (a stalled controller that stops
 * reporting Number of Completed Packets), {@link VirtualController.refuseConnections}
 * (every connection attempt fails with 0x3E), {@link VirtualController.aclDelayMs} (what
 * its host sends crosses the air late: slow ATT responses) and
 * {@link VirtualController.loseOnNextWrite} (the device goes out of range right after
 * an ATT write reached it, before it could answer).
 *
 * It keeps a trace of every packet crossing each HCI boundary and a list of protocol
 * violations: a host overrunning its controller's ACL buffers (too many in flight, or
 * longer than a buffer), malformed packets (lengths that do not add up, a bad
 * packet-boundary sequence), commands with the wrong parameter length, ACL data on a
 * handle after the host was told it closed. Tests fail on any violation.
 */
import { ADV_REPORT, EVENT, LE_EVENT, OP, PACKET, PARAM_LENGTH, STATUS, addressToBytes, bytesToAddress, opcodeName } from './hci-codes';
import { LinkScheduler } from './scheduler';

// ---------------------------------------------------------------- public shapes

/** Options of one controller. */
export interface ControllerOptions {
  /** A name for the trace, e.g. `central` or `theragun`. */
  name: string;
  /** The HCI device id a host binds to (`hci<N>`); unique on the link. */
  deviceId: number;
  /** Public address `aa:bb:cc:dd:ee:ff`. */
  address: string;
  /** Bytes one ACL data buffer holds (LE Read Buffer Size; default 27, the LE minimum). */
  aclBufferLength?: number;
  /** Number of ACL data buffers (default 4). */
  aclBufferCount?: number;
  /** HCI version reported by Read Local Version (default 9, Bluetooth 5.0; below 6 hosts call it unsupported). */
  hciVersion?: number;
  /** Signal strength at which the others hear this controller's advertisements, dBm (default -60). */
  rssi?: number;
  /** Whether the controller is switched on at the start (default true). */
  powered?: boolean;
}

/** Options of the link. Times are milliseconds. */
export interface LinkOptions {
  /** Connection interval, 7.5–50 ms in 1.25 ms steps (default 30). */
  connectionIntervalMs?: number;
  /** ACL packets each side may send per connection event (default 6). */
  packetsPerEvent?: number;
  /** Supervision timeout when a peer's controller goes silent (default: the one the central asked for). */
  supervisionTimeoutMs?: number;
  /** Trace entries kept (default 200 000; older ones are dropped first). */
  traceLimit?: number;
}

/** One packet that crossed a controller's HCI boundary. */
export interface TraceEntry {
  /** `performance.now()` milliseconds. */
  atMs: number;
  /** The controller's name. */
  controller: string;
  /** `host`: the host wrote it to its controller; `controller`: the controller delivered it to its host. */
  from: 'host' | 'controller';
  /** The packet with its indicator byte, as on the socket. */
  bytes: Uint8Array;
  /** A one-line description, e.g. `command leSetScanEnable` or `acl handle 64 start 11 bytes`. */
  what: string;
}

/** A protocol violation by a host (or malformed traffic). */
export interface Violation {
  atMs: number;
  controller: string;
  rule: 'acl-buffer-overrun' | 'acl-too-long' | 'malformed' | 'bad-fragment' | 'closed-handle' | 'unbound';
  detail: string;
  bytes: Uint8Array;
}

/** Something that receives packets from a controller (the HCI socket a host holds). */
export interface HostPort {
  /** Called with each packet the controller delivers (indicator byte first). */
  deliver(packet: Buffer): void;
  /** Called when a write reaches a switched-off controller (the socket reports "Network is down"). */
  deviceDown(): void;
}

// ---------------------------------------------------------------- internals

interface Advertising {
  enabled: boolean;
  intervalMs: number;
  /** Advertising type of Set Advertising Parameters: 0 ADV_IND, 1 direct, 2 scannable, 3 non-connectable. */
  type: number;
  data: Uint8Array;
  scanResponse: Uint8Array;
  timer: { cancel(): void } | null;
}

interface Scanning {
  enabled: boolean;
  active: boolean;
  filterDuplicates: boolean;
  reported: Set<string>;
}

interface Initiating {
  peer: string;
  supervisionTimeoutMs: number;
}

/** One side of a connection: the controller's view. */
interface Side {
  controller: VirtualController;
  handle: number;
  /** ACL packets handed over by this side's host, waiting for a connection event. */
  tx: Uint8Array[];
  /** Buffers this side's host has filled and not yet been told are free. */
  buffersInUse: number;
  /** L2CAP reassembly state of what this side's host sends: bytes still expected of the current PDU. */
  hostPduLeft: number;
  /** Packets sent over the air whose Number of Completed Packets a stalled controller withheld. */
  withheld: number;
}

interface Connection {
  id: number;
  central: Side;
  peripheral: Side;
  startedAt: number;
  intervalMs: number;
  supervisionTimeoutMs: number;
  nextEvent: { cancel(): void } | null;
  /** A termination waiting for the next connection event. */
  terminate: { by: Side; reason: number } | null;
  open: boolean;
}

const u16 = (v: number): number[] => [v & 0xff, (v >> 8) & 0xff];
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

// ---------------------------------------------------------------- the link

/**
 * The air between virtual controllers, with the trace and the violations. Create it,
 * add controllers with {@link addController}, then let hosts bind sockets to them
 * (`VirtualHciSocket`, by device id). Call {@link dispose} at the end.
 */
export class VirtualLink {
  readonly scheduler = new LinkScheduler();
  readonly connectionIntervalMs: number;
  readonly packetsPerEvent: number;
  private readonly supervisionOverrideMs: number | undefined;
  private readonly traceLimit: number;
  private readonly controllers = new Map<number, VirtualController>();
  private readonly traceEntries: TraceEntry[] = [];
  private readonly violationList: Violation[] = [];
  private readonly connections = new Set<Connection>();
  private connectionSeq = 0;
  private traceObservers = new Set<(entry: TraceEntry) => void>();

  /** @throws RangeError when the connection interval is outside 7.5–50 ms or not a multiple of 1.25 ms. */
  constructor(options: LinkOptions = {}) {
    const interval = options.connectionIntervalMs ?? 30;
    if (!(interval >= 7.5 && interval <= 50) || Math.abs(interval / 1.25 - Math.round(interval / 1.25)) > 1e-9) {
      throw new RangeError(`connection interval must be 7.5–50 ms in 1.25 ms steps; got ${interval}`);
    }
    this.connectionIntervalMs = interval;
    this.packetsPerEvent = options.packetsPerEvent ?? 6;
    this.supervisionOverrideMs = options.supervisionTimeoutMs;
    this.traceLimit = options.traceLimit ?? 200_000;
  }

  /**
   * Adds a controller.
   * @throws Error when its device id or address is already on the link.
   */
  addController(options: ControllerOptions): VirtualController {
    if (this.controllers.has(options.deviceId)) throw new Error(`device id ${options.deviceId} is already on the link`);
    for (const c of this.controllers.values()) if (c.address === options.address.toLowerCase()) throw new Error(`address ${options.address} is already on the link`);
    const controller = new VirtualController(this, options);
    this.controllers.set(options.deviceId, controller);
    return controller;
  }

  /** The controller with this HCI device id; `undefined` picks the lowest id (as the kernel picks hci0). */
  controller(deviceId?: number): VirtualController | undefined {
    if (deviceId !== undefined) return this.controllers.get(deviceId);
    const ids = [...this.controllers.keys()].sort((a, b) => a - b);
    return ids.length > 0 ? this.controllers.get(ids[0]!) : undefined;
  }

  /** Every controller on the link. */
  allControllers(): VirtualController[] {
    return [...this.controllers.values()];
  }

  /** The packets seen so far, oldest first (at most `traceLimit`). */
  trace(): readonly TraceEntry[] {
    return this.traceEntries;
  }

  /** Follows every trace entry as it is recorded; returns an unsubscribe function. */
  onTrace(observer: (entry: TraceEntry) => void): () => void {
    this.traceObservers.add(observer);
    return () => this.traceObservers.delete(observer);
  }

  /** Empties the trace (violations stay). */
  clearTrace(): void {
    this.traceEntries.length = 0;
  }

  /** Protocol violations so far. */
  violations(): readonly Violation[] {
    return this.violationList;
  }

  /** Errors a host threw while handling a packet (kept so a test can fail on them). */
  hostErrors(): readonly unknown[] {
    return this.scheduler.errors;
  }

  /** Open connections, as `{ central, peripheral }` controller names with their handles. */
  openConnections(): { central: string; centralHandle: number; peripheral: string; peripheralHandle: number; intervalMs: number }[] {
    return [...this.connections].map((c) => ({
      central: c.central.controller.name,
      centralHandle: c.central.handle,
      peripheral: c.peripheral.controller.name,
      peripheralHandle: c.peripheral.handle,
      intervalMs: c.intervalMs,
    }));
  }

  /**
   * Drops every connection of `controller` as a lost radio link would: both hosts get
   * Disconnection Complete with reason `reason` (default 0x08, connection timeout) at once.
   */
  dropConnections(controller: VirtualController, reason: number = STATUS.connectionTimeout): number {
    let n = 0;
    for (const c of [...this.connections]) {
      if (c.central.controller === controller || c.peripheral.controller === controller) {
        this.close(c, reason, reason);
        n++;
      }
    }
    return n;
  }

  /** Stops every timer. Hosts keep their sockets but nothing more arrives. */
  dispose(): void {
    for (const c of this.connections) c.nextEvent?.cancel();
    this.connections.clear();
    for (const controller of this.controllers.values()) controller.stopAdvertisingTimer();
    this.scheduler.dispose();
  }

  // ------------------------------------------------------------ used by controllers

  /** @internal */
  record(controller: VirtualController, from: TraceEntry['from'], bytes: Uint8Array, what: string): void {
    const entry: TraceEntry = { atMs: this.scheduler.now(), controller: controller.name, from, bytes: bytes.slice(), what };
    this.traceEntries.push(entry);
    if (this.traceEntries.length > this.traceLimit) this.traceEntries.splice(0, this.traceEntries.length - this.traceLimit);
    for (const o of this.traceObservers) o(entry);
  }

  /** @internal */
  violation(controller: VirtualController, rule: Violation['rule'], detail: string, bytes: Uint8Array): void {
    this.violationList.push({ atMs: this.scheduler.now(), controller: controller.name, rule, detail, bytes: bytes.slice() });
  }

  /** @internal An advertising event of `advertiser`: scanners hear it, an initiator may connect. */
  advertisingEvent(advertiser: VirtualController, adv: Advertising): void {
    const connectable = adv.type === 0x00 || adv.type === 0x01;
    for (const other of this.controllers.values()) {
      if (other === advertiser || !other.powered) continue;
      if (connectable && other.initiating?.peer === advertiser.address) {
        if (advertiser.refuseConnections) {
          // the connection request is heard, but the first connection events fail: 0x3E
          other.initiating = null;
          other.sendEvent(EVENT.leMeta, [LE_EVENT.connectionComplete, STATUS.connectionFailedToBeEstablished, ...new Array<number>(17).fill(0)]);
          continue;
        }
        this.connect(other, advertiser, other.initiating.supervisionTimeoutMs);
        return; // the advertiser is now connected and stops advertising
      }
    }
    for (const other of this.controllers.values()) {
      if (other === advertiser || !other.powered || !other.scanning.enabled) continue;
      other.hearAdvertisement(advertiser, adv);
    }
  }

  /** @internal A host asked to disconnect `handle`. */
  requestDisconnect(controller: VirtualController, handle: number, reason: number): boolean {
    const conn = this.findConnection(controller, handle);
    if (!conn || conn.terminate) return false;
    const by = conn.central.controller === controller ? conn.central : conn.peripheral;
    conn.terminate = { by, reason };
    this.scheduleEvent(conn);
    return true;
  }

  /** @internal A host handed over an ACL packet (already checked by the controller). */
  queueAcl(controller: VirtualController, handle: number, packet: Uint8Array): boolean {
    const conn = this.findConnection(controller, handle);
    if (!conn) return false;
    const side = conn.central.controller === controller ? conn.central : conn.peripheral;
    side.buffersInUse++;
    if (controller.aclDelayMs > 0) {
      // a slow device: the packet waits before it may cross the air (order kept: equal delays)
      this.scheduler.at(this.scheduler.now() + controller.aclDelayMs, () => {
        if (!conn.open) return;
        side.tx.push(packet);
        this.scheduleEvent(conn);
      });
      return true;
    }
    side.tx.push(packet);
    this.scheduleEvent(conn);
    return true;
  }

  /** @internal A stalled controller resumes: the completions it withheld are reported now. */
  releaseCompletions(controller: VirtualController): void {
    for (const c of this.connections) {
      for (const side of [c.central, c.peripheral]) {
        if (side.controller !== controller || side.withheld === 0) continue;
        const n = side.withheld;
        side.withheld = 0;
        side.buffersInUse -= n;
        controller.sendEvent(EVENT.numberOfCompletedPackets, [1, ...u16(side.handle), ...u16(n)]);
      }
    }
  }

  /** @internal The side of `controller` on the connection with `handle`. */
  side(controller: VirtualController, handle: number): Side | undefined {
    const conn = this.findConnection(controller, handle);
    if (!conn) return undefined;
    return conn.central.controller === controller ? conn.central : conn.peripheral;
  }

  /** @internal The controller was switched off: its peers lose their links after the supervision timeout. */
  controllerOff(controller: VirtualController): void {
    for (const c of [...this.connections]) {
      const mine = c.central.controller === controller ? c.central : c.peripheral.controller === controller ? c.peripheral : null;
      if (!mine) continue;
      const peer = mine === c.central ? c.peripheral : c.central;
      c.open = false;
      c.nextEvent?.cancel();
      this.connections.delete(c);
      // The switched-off host hears nothing; the peer notices when the supervision timeout passes.
      controller.lostHandles.add(mine.handle);
      this.scheduler.at(this.scheduler.now() + c.supervisionTimeoutMs, () => {
        peer.controller.closedHandles.add(peer.handle);
        peer.controller.sendEvent(EVENT.disconnectionComplete, [STATUS.success, ...u16(peer.handle), STATUS.connectionTimeout]);
      });
    }
  }

  /** @internal Whether `address` belongs to a powered controller that advertises connectably. */
  isConnectable(address: string): boolean {
    for (const c of this.controllers.values()) if (c.address === address && c.powered && c.advertising.enabled && (c.advertising.type === 0 || c.advertising.type === 1)) return true;
    return false;
  }

  // ------------------------------------------------------------ connections

  private findConnection(controller: VirtualController, handle: number): Connection | undefined {
    for (const c of this.connections) {
      if ((c.central.controller === controller && c.central.handle === handle) || (c.peripheral.controller === controller && c.peripheral.handle === handle)) return c;
    }
    return undefined;
  }

  private connect(central: VirtualController, peripheral: VirtualController, supervisionTimeoutMs: number): void {
    central.initiating = null;
    peripheral.advertising.enabled = false;
    peripheral.stopAdvertisingTimer();
    const side = (controller: VirtualController): Side => ({
      controller,
      handle: controller.allocateHandle(),
      tx: [],
      buffersInUse: 0,
      hostPduLeft: 0,
      withheld: 0,
    });
    const conn: Connection = {
      id: ++this.connectionSeq,
      central: side(central),
      peripheral: side(peripheral),
      startedAt: this.scheduler.now(),
      intervalMs: this.connectionIntervalMs,
      supervisionTimeoutMs: this.supervisionOverrideMs ?? supervisionTimeoutMs,
      nextEvent: null,
      terminate: null,
      open: true,
    };
    this.connections.add(conn);
    const interval = Math.round(conn.intervalMs / 1.25);
    const timeout = Math.round(conn.supervisionTimeoutMs / 10);
    const complete = (me: Side, peer: VirtualController, role: number): number[] => [
      LE_EVENT.connectionComplete,
      STATUS.success,
      ...u16(me.handle),
      role,
      0x00, // peer address type: public
      ...addressToBytes(peer.address),
      ...u16(interval),
      ...u16(0), // latency
      ...u16(timeout),
      0x00, // central clock accuracy
    ];
    central.sendEvent(EVENT.leMeta, complete(conn.central, peripheral, 0x00));
    peripheral.sendEvent(EVENT.leMeta, complete(conn.peripheral, central, 0x01));
  }

  private scheduleEvent(conn: Connection): void {
    if (conn.nextEvent || !conn.open) return;
    const now = this.scheduler.now();
    const k = Math.floor((now - conn.startedAt) / conn.intervalMs) + 1;
    conn.nextEvent = this.scheduler.at(conn.startedAt + k * conn.intervalMs, () => this.connectionEvent(conn));
  }

  /** One connection event: each side sends what it has (up to packetsPerEvent), or the termination goes. */
  private connectionEvent(conn: Connection): void {
    conn.nextEvent = null;
    if (!conn.open) return;
    if (conn.terminate) {
      // the side that asked gets 0x16, the peer the reason given
      const { by, reason } = conn.terminate;
      if (by === conn.central) this.close(conn, STATUS.localHostTerminated, reason);
      else this.close(conn, reason, STATUS.localHostTerminated);
      return;
    }
    for (const [from, to] of [
      [conn.central, conn.peripheral],
      [conn.peripheral, conn.central],
    ] as const) {
      const sent = from.tx.splice(0, this.packetsPerEvent);
      if (sent.length === 0) continue;
      if (from.controller.completedPacketsStalled) {
        // sent, but the host is never told: its buffers stay full
        from.withheld += sent.length;
      } else {
        from.buffersInUse -= sent.length;
        from.controller.sendEvent(EVENT.numberOfCompletedPackets, [1, ...u16(from.handle), ...u16(sent.length)]);
      }
      for (const packet of sent) to.controller.deliverAcl(to, packet);
    }
    if (conn.central.tx.length > 0 || conn.peripheral.tx.length > 0) this.scheduleEvent(conn);
  }

  /** @internal ACL buffers of `controller` its host has filled and not yet been told are free. */
  buffersInUse(controller: VirtualController): number {
    let n = 0;
    for (const c of this.connections) {
      if (c.central.controller === controller) n += c.central.buffersInUse;
      if (c.peripheral.controller === controller) n += c.peripheral.buffersInUse;
    }
    return n;
  }

  /** Ends a connection: Disconnection Complete to the central's host with `centralReason` and to the peripheral's with `peripheralReason`. */
  private close(conn: Connection, centralReason: number, peripheralReason: number): void {
    if (!conn.open) return;
    conn.open = false;
    conn.nextEvent?.cancel();
    this.connections.delete(conn);
    for (const [side, reason] of [
      [conn.central, centralReason],
      [conn.peripheral, peripheralReason],
    ] as const) {
      // packets not yet sent are flushed; the host counts their buffers free on Disconnection Complete
      side.tx.length = 0;
      side.buffersInUse = 0;
      side.withheld = 0;
      side.controller.closedHandles.add(side.handle);
      side.controller.sendEvent(EVENT.disconnectionComplete, [STATUS.success, ...u16(side.handle), reason]);
    }
  }
}

// ---------------------------------------------------------------- one controller

/**
 * One virtual controller: answers its host's HCI commands, keeps its scan, advertising
 * and initiating state, and checks what its host sends.
 */
export class VirtualController {
  readonly name: string;
  readonly deviceId: number;
  readonly address: string;
  readonly aclBufferLength: number;
  readonly aclBufferCount: number;
  readonly hciVersion: number;
  rssi: number;
  /** Whether the controller is on (`isDevUp`). */
  powered: boolean;
  /** @internal */
  scanning: Scanning = { enabled: false, active: false, filterDuplicates: false, reported: new Set() };
  /** @internal */
  advertising: Advertising = { enabled: false, intervalMs: 100, type: 0, data: new Uint8Array(0), scanResponse: new Uint8Array(0), timer: null };
  /** @internal */
  initiating: Initiating | null = null;
  /** @internal Handles whose Disconnection Complete the host has been sent. */
  closedHandles = new Set<number>();
  /** @internal Handles that ended when this controller was switched off (its host was never told). */
  lostHandles = new Set<number>();
  private readonly ports = new Set<HostPort>();
  private nextHandle = 0x0040;
  /** Commands received, by opcode name, for tests. */
  readonly commandCounts = new Map<string, number>();
  /** The last filter its host set (16 bytes), if any. */
  filter: Uint8Array | null = null;
  /** Fault: every connection attempt to this (advertising) controller fails with 0x3E, Connection Failed to be Established. */
  refuseConnections = false;
  /** Fault: ACL packets this controller's host sends wait this long (ms) before they may cross the air (a slow device). */
  aclDelayMs = 0;
  /** @internal Whether Number of Completed Packets is withheld (see {@link stallCompletedPackets}). */
  completedPacketsStalled = false;
  private loseArmed = false;

  constructor(
    private readonly link: VirtualLink,
    options: ControllerOptions,
  ) {
    this.name = options.name;
    this.deviceId = options.deviceId;
    this.address = options.address.toLowerCase();
    addressToBytes(this.address); // validates
    this.aclBufferLength = options.aclBufferLength ?? 27;
    this.aclBufferCount = options.aclBufferCount ?? 4;
    this.hciVersion = options.hciVersion ?? 9;
    this.rssi = options.rssi ?? -60;
    this.powered = options.powered ?? true;
  }

  /** Attaches a host's socket; returns a function that detaches it. */
  attach(port: HostPort): () => void {
    this.ports.add(port);
    return () => this.ports.delete(port);
  }

  /** Number of sockets bound to this controller. */
  get hostCount(): number {
    return this.ports.size;
  }

  /** Switches the controller off: connections end (peers after their supervision timeout), scanning and advertising stop. */
  powerOff(): void {
    if (!this.powered) return;
    this.powered = false;
    this.link.controllerOff(this);
    this.resetState();
  }

  /** Switches the controller on again; its host notices on its next `isDevUp` poll and initialises it. */
  powerOn(): void {
    this.powered = true;
  }

  /**
   * Fault: a stalled controller. While `on`, it still sends what its host handed it but
   * never reports Number of Completed Packets, so the host's ACL buffers stay full and
   * the host queues everything after them. Switching it off reports what was withheld.
   */
  stallCompletedPackets(on: boolean): void {
    this.completedPacketsStalled = on;
    if (!on) this.link.releaseCompletions(this);
  }

  /**
   * Fault: the next ATT write (Write Request or Write Command) delivered to this
   * controller's host reaches it, and then the controller is switched off at once, as a
   * device carried out of range: its answer never leaves, and the peer loses the link
   * after the supervision timeout. One shot.
   */
  loseOnNextWrite(): void {
    this.loseArmed = true;
  }

  /** @internal */
  allocateHandle(): number {
    const h = this.nextHandle;
    this.nextHandle = this.nextHandle >= 0x0eff ? 0x0040 : this.nextHandle + 1;
    return h;
  }

  /** @internal */
  stopAdvertisingTimer(): void {
    this.advertising.timer?.cancel();
    this.advertising.timer = null;
  }

  /** A packet from the host (indicator byte first). Checks it, answers it later. */
  receiveFromHost(packet: Uint8Array): void {
    const type = packet[0];
    if (!this.powered) {
      this.link.record(this, 'host', packet, 'dropped: controller off');
      for (const p of this.ports) p.deviceDown();
      return;
    }
    if (type === PACKET.command) this.onCommand(packet);
    else if (type === PACKET.acl) this.onAcl(packet);
    else {
      this.link.record(this, 'host', packet, `unknown packet type ${type}`);
      this.link.violation(this, 'malformed', `unknown HCI packet type ${type}`, packet);
    }
  }

  /** @internal Sends an event to the host (delivered after what is already queued). */
  sendEvent(code: number, params: number[]): void {
    const packet = Uint8Array.from([PACKET.event, code, params.length, ...params]);
    this.link.scheduler.soon(() => this.toHost(packet, describeEvent(packet)));
  }

  /** @internal Delivers an ACL packet that crossed the air, with the packet-boundary flag a controller gives its host. */
  deliverAcl(side: Side, packet: Uint8Array): void {
    const header = packet[1]! | (packet[2]! << 8);
    const pb = (header >> 12) & 0x3;
    const first = pb === 0b00 || pb === 0b10;
    const out = packet.slice();
    const rewritten = (side.handle & 0x0fff) | ((first ? 0b10 : 0b01) << 12);
    out[1] = rewritten & 0xff;
    out[2] = (rewritten >> 8) & 0xff;
    // an ATT write (L2CAP CID 4, opcode 0x12 or 0x52) in a first fragment
    const isWrite = first && out.length >= 10 && out[7] === 0x04 && out[8] === 0x00 && (out[9] === 0x12 || out[9] === 0x52);
    this.link.scheduler.soon(() => {
      this.toHost(out, `acl handle ${side.handle} ${first ? 'start' : 'continuation'} ${out.length - 5} bytes`);
      if (isWrite && this.loseArmed && this.powered) {
        this.loseArmed = false;
        this.link.record(this, 'controller', out, 'fault: out of range right after this write');
        this.powerOff();
      }
    });
  }

  private toHost(packet: Uint8Array, what: string): void {
    if (!this.powered) return;
    this.link.record(this, 'controller', packet, what);
    if (!this.passesFilter(packet)) return;
    const buffer = Buffer.from(packet);
    for (const p of [...this.ports]) p.deliver(buffer);
  }

  /** The kernel's socket filter: packet types and event codes the host asked for. */
  private passesFilter(packet: Uint8Array): boolean {
    const f = this.filter;
    if (!f) return true;
    const view = Buffer.from(f);
    const typeMask = view.readUInt32LE(0);
    const type = packet[0]!;
    if (!(typeMask & (1 << type))) return false;
    if (type !== PACKET.event) return true;
    const code = packet[1]!;
    const mask = code < 32 ? view.readUInt32LE(4) : view.readUInt32LE(8);
    return (mask & (1 << (code % 32))) !== 0;
  }

  private resetState(): void {
    this.scanning = { enabled: false, active: false, filterDuplicates: false, reported: new Set() };
    this.stopAdvertisingTimer();
    this.advertising = { enabled: false, intervalMs: 100, type: 0, data: new Uint8Array(0), scanResponse: new Uint8Array(0), timer: null };
    this.initiating = null;
  }

  // ------------------------------------------------------------ commands

  private complete(opcode: number, status: number, returns: number[] = []): void {
    this.sendEvent(EVENT.commandComplete, [1, ...u16(opcode), status, ...returns]);
  }

  private status(opcode: number, status: number): void {
    this.sendEvent(EVENT.commandStatus, [status, 1, ...u16(opcode)]);
  }

  private onCommand(packet: Uint8Array): void {
    if (packet.length < 4) {
      this.link.record(this, 'host', packet, 'command (truncated)');
      this.link.violation(this, 'malformed', `a command packet of ${packet.length} bytes has no complete header`, packet);
      return;
    }
    const opcode = packet[1]! | (packet[2]! << 8);
    const plen = packet[3]!;
    const name = opcodeName(opcode);
    this.link.record(this, 'host', packet, `command ${name}`);
    this.commandCounts.set(name, (this.commandCounts.get(name) ?? 0) + 1);
    if (packet.length !== 4 + plen) {
      this.link.violation(this, 'malformed', `command ${name} says ${plen} parameter bytes but carries ${packet.length - 4}`, packet);
      return;
    }
    const expected = PARAM_LENGTH[opcode];
    if (expected !== undefined && expected !== plen) {
      this.link.violation(this, 'malformed', `command ${name} needs ${expected} parameter bytes, got ${plen}`, packet);
      this.complete(opcode, STATUS.invalidParameters);
      return;
    }
    const p = packet.subarray(4);
    const rd16 = (i: number): number => p[i]! | (p[i + 1]! << 8);
    switch (opcode) {
      case OP.reset:
        this.resetState();
        this.complete(opcode, STATUS.success);
        return;
      case OP.setEventMask:
      case OP.leSetEventMask:
      case OP.writeLeHostSupported:
        this.complete(opcode, STATUS.success);
        return;
      case OP.readLeHostSupported:
        this.complete(opcode, STATUS.success, [0x01, 0x00]);
        return;
      case OP.readLocalVersion:
        // HCI version, revision, LMP version, manufacturer (0xffff: none), LMP subversion
        this.complete(opcode, STATUS.success, [this.hciVersion, ...u16(0), this.hciVersion, ...u16(0xffff), ...u16(0)]);
        return;
      case OP.readSupportedCommands:
        this.complete(opcode, STATUS.success, new Array<number>(64).fill(0));
        return;
      case OP.readBufferSize:
        this.complete(opcode, STATUS.success, [...u16(this.aclBufferLength), 0, ...u16(this.aclBufferCount), ...u16(0)]);
        return;
      case OP.readBdAddr:
        this.complete(opcode, STATUS.success, [...addressToBytes(this.address)]);
        return;
      case OP.leReadBufferSize:
        this.complete(opcode, STATUS.success, [...u16(this.aclBufferLength), this.aclBufferCount]);
        return;
      case OP.readRssi: {
        const handle = rd16(0) & 0x0fff;
        const side = this.link.side(this, handle);
        if (!side) this.complete(opcode, STATUS.unknownConnectionId, [...u16(handle), 0]);
        else this.complete(opcode, STATUS.success, [...u16(handle), this.rssi & 0xff]);
        return;
      }
      case OP.leSetAdvertisingParameters: {
        if (this.advertising.enabled) return this.complete(opcode, STATUS.commandDisallowed);
        this.advertising.intervalMs = Math.max(20, rd16(0) * 0.625);
        this.advertising.type = p[4]!;
        this.complete(opcode, STATUS.success);
        return;
      }
      case OP.leSetAdvertisingData:
      case OP.leSetScanResponseData: {
        const len = p[0]!;
        if (len > 31) {
          this.link.violation(this, 'malformed', `${name} says ${len} data bytes (at most 31)`, packet);
          return this.complete(opcode, STATUS.invalidParameters);
        }
        const data = p.slice(1, 1 + len);
        if (opcode === OP.leSetAdvertisingData) this.advertising.data = data;
        else this.advertising.scanResponse = data;
        this.complete(opcode, STATUS.success);
        return;
      }
      case OP.leSetAdvertiseEnable: {
        const on = p[0] === 1;
        this.complete(opcode, STATUS.success);
        if (on && !this.advertising.enabled) {
          this.advertising.enabled = true;
          this.scheduleAdvertising(true);
        } else if (!on) {
          this.advertising.enabled = false;
          this.stopAdvertisingTimer();
        }
        return;
      }
      case OP.leSetScanParameters:
        if (this.scanning.enabled) return this.complete(opcode, STATUS.commandDisallowed);
        this.scanning.active = p[0] === 1;
        this.complete(opcode, STATUS.success);
        return;
      case OP.leSetScanEnable: {
        const on = p[0] === 1;
        if (on && !this.scanning.enabled) this.scanning.reported = new Set();
        this.scanning.enabled = on;
        this.scanning.filterDuplicates = p[1] === 1;
        this.complete(opcode, STATUS.success);
        return;
      }
      case OP.leCreateConnection: {
        if (this.initiating) return this.status(opcode, STATUS.commandDisallowed);
        const peer = bytesToAddress(p.subarray(6, 12));
        const supervisionTimeoutMs = rd16(19) * 10;
        this.initiating = { peer, supervisionTimeoutMs: supervisionTimeoutMs || 420 };
        this.status(opcode, STATUS.success);
        return;
      }
      case OP.leCreateConnectionCancel:
        if (!this.initiating) return this.complete(opcode, STATUS.commandDisallowed);
        this.initiating = null;
        this.complete(opcode, STATUS.success);
        // the pending connection ends with status "unknown connection identifier"
        this.sendEvent(EVENT.leMeta, [LE_EVENT.connectionComplete, STATUS.unknownConnectionId, ...new Array<number>(17).fill(0)]);
        return;
      case OP.disconnect: {
        const handle = rd16(0) & 0x0fff;
        const reason = p[2]!;
        if (this.link.requestDisconnect(this, handle, reason)) this.status(opcode, STATUS.success);
        else this.status(opcode, STATUS.unknownConnectionId);
        return;
      }
      case OP.leConnectionUpdate: {
        const handle = rd16(0) & 0x0fff;
        const side = this.link.side(this, handle);
        this.status(opcode, side ? STATUS.success : STATUS.unknownConnectionId);
        // The link keeps its own interval (as a peripheral's preferred parameters would): report it.
        if (side) {
          this.sendEvent(EVENT.leMeta, [LE_EVENT.connectionUpdateComplete, STATUS.success, ...u16(handle), ...u16(Math.round(this.link.connectionIntervalMs / 1.25)), ...u16(0), ...u16(42)]);
        }
        return;
      }
      case OP.leLtkNegativeReply:
        this.complete(opcode, STATUS.success, [...u16(rd16(0))]);
        return;
      default:
        this.complete(opcode, STATUS.unknownCommand);
    }
  }

  private scheduleAdvertising(first: boolean): void {
    this.stopAdvertisingTimer();
    const delay = first ? 1 : this.advertising.intervalMs;
    this.advertising.timer = this.link.scheduler.at(this.link.scheduler.now() + delay, () => {
      this.advertising.timer = null;
      if (!this.powered || !this.advertising.enabled) return;
      this.link.advertisingEvent(this, this.advertising);
      if (this.advertising.enabled) this.scheduleAdvertising(false);
    });
  }

  /** @internal An advertisement of `advertiser` reaches this (scanning) controller. */
  hearAdvertisement(advertiser: VirtualController, adv: Advertising): void {
    const reportType = adv.type === 0x00 ? ADV_REPORT.advInd : adv.type === 0x01 ? ADV_REPORT.advDirectInd : adv.type === 0x02 ? ADV_REPORT.advScanInd : ADV_REPORT.advNonconnInd;
    const send = (type: number, data: Uint8Array): void => {
      const key = `${advertiser.address}/${type}`;
      if (this.scanning.filterDuplicates) {
        if (this.scanning.reported.has(key)) return;
        this.scanning.reported.add(key);
      }
      this.sendEvent(EVENT.leMeta, [LE_EVENT.advertisingReport, 1, type, 0x00, ...addressToBytes(advertiser.address), data.length, ...data, advertiser.rssi & 0xff]);
    };
    send(reportType, adv.data);
    // an active scanner asks for the scan response of scannable advertisements
    if (this.scanning.active && (adv.type === 0x00 || adv.type === 0x02)) send(ADV_REPORT.scanRsp, adv.scanResponse);
  }

  // ------------------------------------------------------------ ACL from the host

  private onAcl(packet: Uint8Array): void {
    if (packet.length < 5) {
      this.link.record(this, 'host', packet, 'acl (truncated)');
      this.link.violation(this, 'malformed', `an ACL packet of ${packet.length} bytes has no complete header`, packet);
      return;
    }
    const header = packet[1]! | (packet[2]! << 8);
    const handle = header & 0x0fff;
    const pb = (header >> 12) & 0x3;
    const length = packet[3]! | (packet[4]! << 8);
    const start = pb === 0b00 || pb === 0b10;
    this.link.record(this, 'host', packet, `acl handle ${handle} ${start ? 'start' : pb === 0b01 ? 'continuation' : `pb ${pb}`} ${length} bytes`);
    if (packet.length !== 5 + length) {
      this.link.violation(this, 'malformed', `ACL packet on handle ${handle} says ${length} data bytes but carries ${packet.length - 5}`, packet);
      return;
    }
    if (pb === 0b11) {
      this.link.violation(this, 'malformed', `ACL packet on handle ${handle} has packet-boundary flag 0b11`, packet);
      return;
    }
    const side = this.link.side(this, handle);
    if (!side) {
      if (this.lostHandles.has(handle)) this.link.record(this, 'host', packet, `dropped: handle ${handle} ended when the controller was switched off`);
      else if (this.closedHandles.has(handle)) this.link.violation(this, 'closed-handle', `ACL data on handle ${handle} after its Disconnection Complete`, packet);
      else this.link.violation(this, 'malformed', `ACL data on handle ${handle}, which was never connected`, packet);
      return;
    }
    if (length > this.aclBufferLength) {
      this.link.violation(this, 'acl-too-long', `ACL packet of ${length} bytes on handle ${handle}; a buffer holds ${this.aclBufferLength}`, packet);
      return;
    }
    if (this.link.buffersInUse(this) >= this.aclBufferCount) {
      this.link.violation(this, 'acl-buffer-overrun', `ACL packet on handle ${handle} while all ${this.aclBufferCount} buffers are in use`, packet);
      return;
    }
    // L2CAP framing: a start carries the basic L2CAP header; continuations complete it
    if (start) {
      if (side.hostPduLeft > 0) this.link.violation(this, 'bad-fragment', `a new L2CAP PDU on handle ${handle} starts while ${side.hostPduLeft} bytes of the last are missing`, packet);
      if (length < 4) {
        this.link.violation(this, 'bad-fragment', `the first fragment on handle ${handle} is shorter than an L2CAP header`, packet);
        return;
      }
      const l2capLength = packet[5]! | (packet[6]! << 8);
      side.hostPduLeft = l2capLength - (length - 4);
      if (side.hostPduLeft < 0) {
        this.link.violation(this, 'bad-fragment', `the L2CAP PDU on handle ${handle} says ${l2capLength} bytes but its first fragment carries ${length - 4}`, packet);
        side.hostPduLeft = 0;
      }
    } else {
      if (side.hostPduLeft <= 0) {
        this.link.violation(this, 'bad-fragment', `a continuation fragment on handle ${handle} with no L2CAP PDU under way`, packet);
        return;
      }
      side.hostPduLeft -= length;
      if (side.hostPduLeft < 0) {
        this.link.violation(this, 'bad-fragment', `continuation fragments on handle ${handle} overrun their L2CAP PDU by ${-side.hostPduLeft} bytes`, packet);
        side.hostPduLeft = 0;
      }
    }
    this.link.queueAcl(this, handle, packet.slice());
  }
}

/** A one-line description of an event packet, for the trace. */
function describeEvent(packet: Uint8Array): string {
  const code = packet[1];
  const rd16 = (i: number): number => packet[i]! | (packet[i + 1]! << 8);
  switch (code) {
    case EVENT.commandComplete:
      return `event commandComplete ${opcodeName(rd16(4))} status ${packet[6]}`;
    case EVENT.commandStatus:
      return `event commandStatus ${opcodeName(rd16(5))} status ${packet[3]}`;
    case EVENT.disconnectionComplete:
      return `event disconnectionComplete handle ${rd16(4)} reason 0x${packet[6]!.toString(16)}`;
    case EVENT.numberOfCompletedPackets:
      return `event numberOfCompletedPackets handle ${rd16(4)} count ${rd16(6)}`;
    case EVENT.leMeta:
      if (packet[3] === LE_EVENT.advertisingReport) return `event advertisingReport type ${packet[5]} ${bytesToAddress(packet.subarray(7, 13))}`;
      if (packet[3] === LE_EVENT.connectionComplete) return `event leConnectionComplete status ${packet[4]} handle ${rd16(5)} role ${packet[7]}`;
      if (packet[3] === LE_EVENT.connectionUpdateComplete) return `event leConnectionUpdateComplete handle ${rd16(5)}`;
      return `event leMeta ${packet[3]}`;
    default:
      return `event 0x${(code ?? 0).toString(16)} ${hex(packet)}`;
  }
}
