/**
 * A device's recent traffic (issue 17, part 5, from the device panel): the concern that
 * answers `device.traffic` and `device.capture` and pushes the `device.traffic` event.
 *
 * It owns the app's {@link TrafficLog} (`device/traffic.ts`: per peripheral, the last
 * 5 minutes and at most 5000 entries, memory only) and hands each massager connection the
 * sink its link records into; the link taps every write, notification and link event
 * there. New entries go to every renderer in batches, at most one `device.traffic` event
 * per device every {@link TRAFFIC_EVENT_GAP_MS}, so a device that notifies 50 times a
 * second does not send 50 messages a second. `device.capture` exports one device's
 * buffer as JSON lines, in the lab capture's shape, for a report about a device that
 * misbehaves.
 */
import { TRAFFIC_MAX_ENTRIES, TRAFFIC_WINDOW_MS, TrafficLog, type TrafficSink } from '../device/traffic';
import { Refusal, type Handlers } from '../ipc/boundary';
import { TRAFFIC_VIEW_SIZE, type DeviceTrafficView, type LabCapture, type RequestInput, type TrafficEntry } from '../ipc/contract';
import type { CoreContext } from './context';
import type { DeviceConnectionInfo, Devices } from './devices';
import { captureFile } from './lab';

/** The channels this concern answers. */
export type TrafficChannels = 'device.traffic' | 'device.capture';

/** The shortest time between two `device.traffic` events of one device, ms. */
export const TRAFFIC_EVENT_GAP_MS = 250;

/** The format name in a device capture's first line. */
export const DEVICE_CAPTURE_FORMAT = 'unknot-device-capture';

/** See the module comment. */
export class DeviceTraffic {
  /** Every device's traffic while the app runs. */
  readonly log: TrafficLog;
  /** What each recorded device was connected as (the latest connection). */
  private readonly info = new Map<string, DeviceConnectionInfo>();
  /** Entries not yet sent, per device. */
  private readonly pending = new Map<string, TrafficEntry[]>();
  /** When each device's last batch went out (core clock, ms). */
  private readonly lastSent = new Map<string, number>();
  private readonly timers = new Map<string, unknown>();
  private disposed = false;

  constructor(
    private readonly ctx: CoreContext,
    private readonly devices: Devices,
  ) {
    this.log = new TrafficLog(ctx.clock);
    this.log.onEntry((id, entry) => this.queue(id, entry));
  }

  /** The handlers of this concern's channels. */
  handlers(): Handlers<TrafficChannels> {
    return {
      'device.traffic': (req) => this.view(this.target(req)),
      'device.capture': (req) => this.capture(this.target(req)),
    };
  }

  /**
   * The sink for a massager connection about to open to `info.peripheralId`: the same
   * buffer for every connection to that device while the app runs. Remembers `info` for the
   * capture's header.
   */
  sinkFor(info: DeviceConnectionInfo): TrafficSink {
    this.info.set(info.peripheralId, info);
    this.log.open(info.peripheralId);
    return this.log.sinkFor(info.peripheralId);
  }

  /** What `device.traffic` answers for a recorded device. */
  view(peripheralId: string): DeviceTrafficView {
    return { peripheralId, name: this.info.get(peripheralId)?.name ?? peripheralId, entries: this.log.entries(peripheralId, TRAFFIC_VIEW_SIZE) };
  }

  /**
   * The capture of one recorded device as JSON lines: a `capture` header, its
   * `advertisement` as the scan last heard it before connecting, then every buffered entry,
   * oldest first. No other device is in it.
   */
  capture(peripheralId: string): LabCapture {
    const { clock, options } = this.ctx;
    const info = this.info.get(peripheralId);
    const entries = this.log.entries(peripheralId);
    const wall = clock.wallNow();
    const at = new Date(wall).toISOString();
    const nowT = entries.length ? Math.max(entries[entries.length - 1]!.t, 0) : 0;
    const name = info?.name ?? peripheralId;
    const header = {
      type: 'capture',
      t: nowT,
      at,
      format: DEVICE_CAPTURE_FORMAT,
      version: 1,
      app: options.version,
      peripheralId,
      name,
      ...(info
        ? {
            protocol: {
              id: info.protocolId,
              name: info.protocolName,
              // A user profile's version is its file's digest; a built-in profile ships with the app.
              version: info.userProfile ? info.userProfile.version : `built-in ${options.version}`,
            },
            ...(info.userProfile ? { userProfile: { file: info.userProfile.file, version: info.userProfile.version } } : {}),
            simulated: info.simulated,
          }
        : {}),
      windowMs: TRAFFIC_WINDOW_MS,
      maxEntries: TRAFFIC_MAX_ENTRIES,
      entries: entries.length,
    };
    const lines: Record<string, unknown>[] = [header];
    if (info) {
      lines.push({
        type: 'advertisement',
        t: entries.length ? Math.min(entries[0]!.t, nowT) : nowT,
        at: new Date(info.lastSeenMs).toISOString(),
        peripheralId,
        address: info.address,
        name: info.name,
        rssi: info.rssi,
        heardAt: new Date(info.lastSeenMs).toISOString(),
        ...info.advertisement,
      });
    }
    for (const e of entries) lines.push(e as unknown as Record<string, unknown>);
    return captureFile(name, wall, lines, 'traffic');
  }

  /** Stops the batching timers (app shutdown); nothing more is sent. */
  dispose(): void {
    this.disposed = true;
    for (const t of this.timers.values()) this.ctx.clock.clearTimeout(t);
    this.timers.clear();
    this.pending.clear();
  }

  /**
   * Which device a request means: its `peripheralId`, or the connected one.
   * @throws Refusal `not-connected` when that device was never connected while the app runs (or none is connected and none was named).
   */
  private target(req: RequestInput<'device.traffic'>): string {
    const id = req?.peripheralId ?? this.devices.current()?.peripheralId;
    if (id === undefined) throw new Refusal('not-connected', 'Connect a massager first: its traffic is recorded while it is connected.');
    if (!this.log.has(id)) throw new Refusal('not-connected', 'Unknot has not been connected to that device since it started, so it has no traffic to show.');
    return id;
  }

  /** Adds an entry to its device's next batch and makes sure the batch goes out. */
  private queue(id: string, entry: TrafficEntry): void {
    if (this.disposed) return;
    let list = this.pending.get(id);
    if (!list) this.pending.set(id, (list = []));
    list.push(entry);
    if (list.length > TRAFFIC_MAX_ENTRIES) list.splice(0, list.length - TRAFFIC_MAX_ENTRIES);
    if (this.timers.has(id)) return;
    const { clock } = this.ctx;
    const wait = Math.max(0, (this.lastSent.get(id) ?? Number.NEGATIVE_INFINITY) + TRAFFIC_EVENT_GAP_MS - clock.now());
    this.timers.set(
      id,
      clock.setTimeout(() => this.flush(id), wait),
    );
  }

  /** Sends the device's pending entries as one event (the latest {@link TRAFFIC_VIEW_SIZE}; `skipped` counts the rest). */
  private flush(id: string): void {
    this.timers.delete(id);
    const list = this.pending.get(id);
    this.pending.delete(id);
    if (!list?.length || this.disposed) return;
    this.lastSent.set(id, this.ctx.clock.now());
    const skipped = Math.max(0, list.length - TRAFFIC_VIEW_SIZE);
    this.ctx.broadcast('device.traffic', { peripheralId: id, entries: skipped ? list.slice(skipped) : list, ...(skipped ? { skipped } : {}) });
  }
}
