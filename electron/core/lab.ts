/**
 * The device lab (issue 17, part 3 and the capture of part 5): one read-only connection to
 * any device in the scan list, known or not, beside (never instead of) the massager the
 * governor drives. It discovers the whole GATT table (every service, characteristic and
 * its properties, descriptors where the transport has them), reads readable
 * characteristics, subscribes to notifying ones and keeps a live log. It has no write path
 * at all: no channel takes bytes for a device, it never attaches to the governor, moves no
 * motor and holds no session.
 *
 * Everything the lab sees of its device goes into a capture ({@link LabCaptureLog}),
 * exported as JSON lines by `lab.capture`: the device's advertisement, its GATT table, every
 * read and notification and every write the app made to it (the lab's only ones are the
 * notification subscriptions, which the Bluetooth stack makes by writing the CCCD), with
 * times. Only that device is in it.
 */
import { toPlainHex } from '../../protocols/bytes';
import type { DiscoveredPeripheral, GattConnection } from '../ble/types';
import { DEFAULT_LINK_TIMEOUTS, type LinkTimeouts } from '../device/link';
import { Refusal, type Handlers } from '../ipc/boundary';
import type { LabCapture, LabNotification, LabReadResult, LabService, LabView, RequestInput } from '../ipc/contract';
import { ignore, type CoreContext } from './context';
import { advertisementView, type Devices } from './devices';

/** The channels this concern answers. */
export type LabChannels = 'lab.*';

/** How many notifications `LabView.log` keeps (the capture keeps more). */
export const LAB_LOG_SIZE = 200;
/** How many lines a capture holds at most; notifications past it are counted, not kept. */
export const LAB_CAPTURE_MAX_LINES = 5000;

/** The CCCD's UUID (noble form): a subscription is a write of it. */
const CCCD = '2902';


/**
 * A capture as `lab.capture` and `device.capture` answer it: `lines` as JSON lines, and the
 * file name `unknot-capture-<name>[-<suffix>]-<time>.jsonl` with only letters, digits, `_`
 * and `-`, the name cut at 60 characters (what Electron's save-dialog check,
 * `CAPTURE_EXPORT_NAME` in `electron/main/window.ts`, lets through). `wallMs`: ms since the epoch.
 */
export function captureFile(name: string, wallMs: number, lines: readonly Record<string, unknown>[], suffix?: string): LabCapture {
  const stamp = new Date(wallMs).toISOString().replace(/[:.]/g, '-');
  const safe = name.replace(/[^A-Za-z0-9_-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 60) || 'device';
  return {
    fileName: `unknot-capture-${safe}${suffix ? `-${suffix}` : ''}-${stamp}.jsonl`,
    text: lines.map((l) => JSON.stringify(l)).join('\n') + '\n',
    lines: lines.length,
  };
}

/** The bytes as text when they are valid UTF-8 without control characters (tab and line breaks allowed), else null. */
export function printableText(bytes: Uint8Array): string | null {
  if (bytes.length === 0) return null;
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return null;
  }
  return /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(text) ? null : text;
}

/**
 * One device's capture: JSON-serialisable lines, each with `type`, `t` (ms since the
 * capture began, on the core's monotonic clock) and `at` (wall-clock ISO time).
 */
export class LabCaptureLog {
  private readonly lines: Record<string, unknown>[] = [];
  private dropped = 0;
  private readonly t0: number;

  constructor(
    private readonly ctx: CoreContext,
    readonly peripheral: DiscoveredPeripheral,
  ) {
    this.t0 = ctx.clock.now();
    const a = advertisementView(peripheral.advertisement);
    this.add('capture', {
      format: 'unknot-lab-capture',
      version: 1,
      app: ctx.options.version,
      peripheralId: peripheral.id,
      simulated: peripheral.simulated,
    });
    this.add('advertisement', {
      peripheralId: peripheral.id,
      address: peripheral.address,
      ...(peripheral.localName !== undefined ? { name: peripheral.localName } : {}),
      rssi: peripheral.rssi,
      heardAt: new Date(peripheral.lastSeenMs).toISOString(),
      ...a,
    });
  }

  /** Adds one line (a notification past {@link LAB_CAPTURE_MAX_LINES} is only counted). */
  add(type: string, fields: Record<string, unknown>): void {
    if (this.lines.length >= LAB_CAPTURE_MAX_LINES - 1) {
      this.dropped++;
      return;
    }
    this.lines.push({ type, t: Math.round(this.ctx.clock.now() - this.t0), at: new Date(this.ctx.clock.wallNow()).toISOString(), ...fields });
  }

  /** The capture as JSON lines (a final `dropped` line when notifications were left out). */
  export(): LabCapture {
    const lines = this.dropped ? [...this.lines, { type: 'dropped', t: Math.round(this.ctx.clock.now() - this.t0), count: this.dropped }] : this.lines;
    return captureFile(this.peripheral.localName ?? this.peripheral.address, this.ctx.clock.wallNow(), lines);
  }
}

/** See the module comment. */
export class Lab {
  private conn: GattConnection | null = null;
  private state: LabView['state'] = 'idle';
  private peripheral: DiscoveredPeripheral | null = null;
  private services: LabService[] = [];
  private message: string | undefined;
  private log: LabNotification[] = [];
  private capture: LabCaptureLog | null = null;
  /** Bumped by every connect and close: a late answer of an older connection changes nothing. */
  private generation = 0;
  private readonly timeouts: LinkTimeouts;

  constructor(
    private readonly ctx: CoreContext,
    private readonly devices: Devices,
  ) {
    this.timeouts = { ...DEFAULT_LINK_TIMEOUTS, ...ctx.options.linkTimeouts };
  }

  /** The handlers of this concern's channels. */
  handlers(): Handlers<LabChannels> {
    return {
      'lab.get': () => this.view(),
      'lab.connect': (req) => this.connect(req.peripheralId),
      'lab.disconnect': async () => {
        await this.close();
        return this.view();
      },
      'lab.read': (req) => this.read(req),
      'lab.subscribe': (req) => this.subscribe(req),
      'lab.capture': () => {
        if (!this.capture) throw new Refusal('not-connected', 'Connect to a device in the lab first.');
        return this.capture.export();
      },
    };
  }

  /** What `lab.get` answers and `lab.state` carries. */
  view(): LabView {
    const p = this.peripheral;
    return {
      state: this.state,
      ...(p ? { peripheralId: p.id, name: p.localName ?? p.address } : {}),
      services: this.services,
      ...(this.message ? { message: this.message } : {}),
      log: this.log,
      captureReady: this.capture !== null,
    };
  }

  /**
   * The device the lab explored last and its GATT table as discovered (kept after the lab's
   * link closes, until the next `lab.connect`), or null before any table was discovered.
   */
  explored(): { peripheral: DiscoveredPeripheral; services: readonly LabService[] } | null {
    return this.peripheral && this.services.length > 0 ? { peripheral: this.peripheral, services: this.services } : null;
  }

  /** Closes the lab's link when it is to `peripheralId` (a massager connection is about to take that device). */
  async release(peripheralId: string): Promise<void> {
    if (this.peripheral?.id === peripheralId && this.conn) {
      await this.close();
      this.message = 'Unknot connected to it as a massager. Look inside again once that connection has ended.';
      this.changed();
    }
  }

  /** Closes the lab's link (app shutdown). */
  async shutdown(): Promise<void> {
    await this.close();
  }

  // ---- connecting ----

  private async connect(peripheralId: string): Promise<LabView> {
    if (this.state === 'connecting') throw new Refusal('refused', 'The lab is already connecting to a device. Wait for it to finish.');
    const massager = this.devices.current();
    if (massager && massager.peripheralId === peripheralId && massager.connection !== 'disconnected') {
      throw new Refusal('refused', 'Unknot is connected to this device as a massager. Disconnect it on the Devices screen first.');
    }
    const entry = this.devices.scanEntry(peripheralId);
    if (!entry) throw new Refusal('refused', 'That device is no longer in range. Scan again.');
    await this.close();
    const generation = ++this.generation;
    this.state = 'connecting';
    this.peripheral = entry;
    this.services = [];
    this.message = undefined;
    this.log = [];
    this.capture = new LabCaptureLog(this.ctx, entry);
    this.changed();
    // A connected device stops advertising: the scan stops, as for a massager.
    await this.devices.pauseScan();
    let conn: GattConnection | null = null;
    try {
      conn = await entry.transport.connect(peripheralId, this.timeouts.connectMs);
      if (generation !== this.generation) {
        await conn.disconnect().catch(ignore);
        throw new Refusal('refused', 'The lab connection was cancelled.');
      }
      this.conn = conn;
      const capture = this.capture;
      conn.onDisconnect((reason) => {
        if (this.conn !== conn) return;
        this.conn = null;
        this.generation++;
        this.state = 'disconnected';
        this.message = `The link dropped: ${reason}.`;
        capture.add('disconnected', { reason });
        this.changed();
      });
      const table = await conn.discover([], this.timeouts.discoveryMs);
      const services: LabService[] = [];
      for (const [uuid, characteristics] of table) {
        const list = [];
        for (const c of characteristics) {
          const descriptors = conn.descriptors ? await conn.descriptors(uuid, c.uuid, this.timeouts.discoveryMs) : undefined;
          list.push({ uuid: c.uuid, properties: [...c.properties], ...(descriptors ? { descriptors } : {}), subscribed: false });
        }
        services.push({ uuid, characteristics: list });
      }
      if (generation !== this.generation) throw new Refusal('refused', 'The lab connection was closed.');
      this.services = services;
      this.state = 'connected';
      capture.add('gatt', { services: services.map((s) => ({ uuid: s.uuid, characteristics: s.characteristics.map(({ subscribed: _s, ...c }) => c) })) });
      this.changed();
      return this.view();
    } catch (err) {
      if (generation === this.generation) {
        const c = this.conn ?? conn;
        this.conn = null;
        this.generation++;
        await c?.disconnect().catch(ignore);
        this.state = 'disconnected';
        this.message = `Could not connect: ${(err as Error).message}`;
        this.capture?.add('failed', { message: (err as Error).message });
        this.changed();
      }
      if (err instanceof Refusal) throw err;
      throw new Refusal('device-error', `Could not connect: ${(err as Error).message}`);
    }
  }

  private async close(): Promise<void> {
    const conn = this.conn;
    this.generation++;
    if (!conn && this.state !== 'connecting') return;
    this.conn = null;
    this.state = 'disconnected';
    this.message = undefined;
    this.capture?.add('disconnected', { reason: 'closed by the user' });
    this.services = this.services.map((s) => ({ ...s, characteristics: s.characteristics.map((c) => ({ ...c, subscribed: false })) }));
    this.changed();
    await conn?.disconnect().catch(ignore);
  }

  // ---- reading and listening ----

  private requireConnected(): GattConnection {
    if (!this.conn || this.state !== 'connected') throw new Refusal('not-connected', 'Connect to a device in the lab first.');
    return this.conn;
  }

  private characteristic(req: RequestInput<'lab.read'>, needs: string[], what: string): { properties: string[] } {
    const c = this.services.find((s) => s.uuid === req.service)?.characteristics.find((x) => x.uuid === req.characteristic);
    if (!c) throw new Refusal('refused', `The device has no characteristic ${req.characteristic} in service ${req.service}.`);
    if (!needs.some((n) => c.properties.includes(n))) throw new Refusal('refused', `Characteristic ${req.characteristic} cannot be ${what}: it declares ${c.properties.join(', ') || 'no properties'}.`);
    return c;
  }

  private async read(req: RequestInput<'lab.read'>): Promise<LabReadResult> {
    const conn = this.requireConnected();
    this.characteristic(req, ['read'], 'read');
    let bytes: Uint8Array;
    try {
      bytes = await conn.read(req.service, req.characteristic, this.timeouts.readMs);
    } catch (err) {
      throw new Refusal('device-error', `The read failed: ${(err as Error).message}`);
    }
    const result: LabReadResult = { service: req.service, characteristic: req.characteristic, atMs: this.ctx.clock.wallNow(), hex: toPlainHex(bytes), text: printableText(bytes) };
    this.capture?.add('read', { service: req.service, characteristic: req.characteristic, hex: result.hex });
    return result;
  }

  private async subscribe(req: RequestInput<'lab.subscribe'>): Promise<LabView> {
    const conn = this.requireConnected();
    const c = this.characteristic(req, ['notify', 'indicate'], 'subscribed to');
    const entry = this.services.find((s) => s.uuid === req.service)!.characteristics.find((x) => x.uuid === req.characteristic)!;
    if (entry.subscribed) return this.view();
    const capture = this.capture!;
    const peripheralId = this.peripheral!.id;
    // What the Bluetooth stack writes to subscribe: the CCCD, 0100 for notifications, 0200 for indications.
    capture.add('write', {
      service: req.service,
      characteristic: req.characteristic,
      descriptor: CCCD,
      hex: c.properties.includes('notify') ? '0100' : '0200',
      by: 'subscribe',
    });
    try {
      await conn.subscribe(
        req.service,
        req.characteristic,
        (bytes) => {
          if (this.conn !== conn) return;
          const n: LabNotification = { peripheralId, atMs: this.ctx.clock.wallNow(), service: req.service, characteristic: req.characteristic, hex: toPlainHex(bytes) };
          capture.add('notification', { service: n.service, characteristic: n.characteristic, hex: n.hex });
          this.log = this.log.length >= LAB_LOG_SIZE ? [...this.log.slice(this.log.length - LAB_LOG_SIZE + 1), n] : [...this.log, n];
          this.ctx.broadcast('lab.notification', n);
        },
        this.timeouts.subscribeMs,
      );
    } catch (err) {
      throw new Refusal('device-error', `Subscribing failed: ${(err as Error).message}`);
    }
    if (this.conn !== conn) throw new Refusal('not-connected', 'The lab connection closed.');
    this.services = this.services.map((s) =>
      s.uuid !== req.service ? s : { ...s, characteristics: s.characteristics.map((x) => (x.uuid === req.characteristic ? { ...x, subscribed: true } : x)) },
    );
    this.changed();
    return this.view();
  }

  private changed(): void {
    this.ctx.broadcast('lab.state', this.view());
  }
}
