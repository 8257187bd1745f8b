/**
 * The devices concern: the Bluetooth adapter, the scan, and the one connected massager.
 * It fills the `adapter.get`, `scan.*` and `device.*` slice of the handler map, owns the
 * scanner (over the system transport, and the simulated radio's once demo mode is on)
 * and the current {@link DeviceConnection}, and remembers, per peripheral, a device that
 * may still be running (stopped first on the next connect) and one whose stop was not
 * confirmed (no session on it before the user says it is off).
 */
import { toPlainHex } from '../../protocols/bytes';
import type { Advertisement, DeviceKind } from '../../protocols/types';
import type { AdapterState, DiscoveredPeripheral, Transport } from '../ble/types';
import { Scanner, type ScannerEntry } from '../device/scanner';
import { Refusal, type ChannelsMatching, type Handlers } from '../ipc/boundary';
import type { TrafficSink } from '../device/traffic';
import type { AdapterInfo, DeviceStatusEvent, RequestInput, ScanEntry, ScanResults } from '../ipc/contract';
import { KIND_RULES, defaultCeilingFor, rampFor, rulesFor } from '../safety/rules';
import type { AdvertisementView, SafetyRules, StopCheckState, UserProfileMark } from '../ipc/contract';
import { ignore, wallTimeoutClock, type CoreContext } from './context';
import { motorBlock } from './settings';
import { DeviceConnection, unconfirmedMessage, type ConnectionOwner } from './device-connection';

/** An advertisement as `scan.results` carries it (hex text for bytes), for the lab. */
export function advertisementView(a: Advertisement): AdvertisementView {
  return {
    serviceUuids: [...a.serviceUuids],
    ...(a.manufacturerData ? { manufacturerData: toPlainHex(a.manufacturerData) } : {}),
    ...(a.serviceData?.length ? { serviceData: a.serviceData.map((d) => ({ uuid: d.uuid, data: toPlainHex(d.data) })) } : {}),
  };
}

/** What a connection is to (for a device's traffic capture): the peripheral as the scan heard it and the protocol chosen. */
export interface DeviceConnectionInfo {
  peripheralId: string;
  name: string;
  address: string;
  rssi: number;
  /** When the scan last heard it, ms since the epoch. */
  lastSeenMs: number;
  advertisement: AdvertisementView;
  protocolId: string;
  protocolName: string;
  /** The user profile file the protocol comes from (absent: built-in). */
  userProfile?: UserProfileMark;
  simulated: boolean;
}

/** The channels this concern answers (a device's traffic has its own concern, `traffic.ts`). */
export type DeviceChannels = 'adapter.get' | 'scan.*' | Exclude<ChannelsMatching<'device.*'>, 'device.traffic' | 'device.capture'>;

/** See the module comment. */
export class Devices {
  private scanner: Scanner;
  private transports: Transport[];
  private device: DeviceConnection | null = null;
  /** Devices lost while they may have been running (reconnecting gave up, or closed while reconnecting): stopped first on the next connect. */
  private readonly mayBeRunning = new Set<string>();
  /** Devices whose last stop was not confirmed: no session starts on them until the user says they are off. */
  private readonly offUnconfirmed = new Set<string>();
  /** A `device.connect` is under way: a second one is refused (two links to one device fight over it). */
  private connecting = false;
  private readonly owner: ConnectionOwner;
  /** Set by the core: closes the device lab's read-only link to a peripheral before a massager connection takes it (one link per device). */
  releaseLab: (peripheralId: string) => Promise<void> = () => Promise.resolve();
  /** Set by the core: the traffic recorder of a connection about to open (`traffic.ts`), or undefined for none. */
  trafficFor: (d: DeviceConnectionInfo) => TrafficSink | undefined = () => undefined;
  /** Where a device's stop check stands (set by the core; undefined for a built-in profile), shown on `device.status`. */
  stopCheckOf: (d: DeviceConnection) => StopCheckState | undefined = () => undefined;

  /**
   * @param system the system transport (noble, or a test's)
   * @param demo whether demo mode is on (for `adapter.get`)
   */
  constructor(
    private readonly ctx: CoreContext,
    private readonly system: Transport,
    private readonly demo: () => boolean,
  ) {
    this.transports = [system];
    this.scanner = this.makeScanner();
    system.onAdapterState(() => ctx.broadcast('adapter.state', this.adapterInfo()));
    this.owner = {
      isCurrent: (c) => this.device === c,
      changed: () => this.broadcastStatus(),
      mayBeRunning: (id) => void this.mayBeRunning.add(id),
      offUnconfirmed: (id) => void this.offUnconfirmed.add(id),
      isOffUnconfirmed: (id) => this.offUnconfirmed.has(id),
      provenOff: (id) => void this.offUnconfirmed.delete(id),
      isAdvertising: (id) => !this.scanner.scanning || this.scanner.isFresh(id),
      unproven: (d) => {
        const check = this.stopCheckOf(d);
        return check === 'needed' || check === 'failed';
      },
    };
  }

  /** The handlers of this concern's channels. */
  handlers(): Handlers<DeviceChannels> {
    const { governor } = this.ctx;
    return {
      'adapter.get': () => this.adapterInfo(),
      'scan.start': async () => {
        const report = await this.scanner.start();
        if (report.started.length === 0) {
          // The transports' messages already say "Cannot scan: …" and what to do.
          const why = [...new Set(report.failed.map((f) => f.message))].join(' ');
          throw new Refusal('refused', why || 'Cannot scan: no Bluetooth adapter is usable. Try the simulated devices.');
        }
        return this.scanResults();
      },
      'scan.stop': async () => {
        await this.scanner.stop();
        return this.scanResults();
      },
      'device.list': () => this.scanResults(),
      'device.get': () => this.status(),
      'device.connect': (req) => this.connect(req),
      'device.disconnect': async () => {
        await this.disconnect();
        return this.status();
      },
      'device.stop': async () => {
        await governor.stopAll('user-stop');
        return this.status();
      },
      'device.setHeat': async ({ on }) => {
        const d = this.requireDevice();
        if (on) {
          this.requireConfirmedOff();
          // Switching heat on may power the device on: that happens only under a running session.
          if (governor.current()?.state !== 'running') {
            throw new Refusal('refused', 'Heat comes on during a session: start a routine or manual control first.');
          }
        }
        if (!d.caps?.heat) throw new Refusal('refused', 'This device has no heat.');
        if (motorBlock(this.ctx, d.module.kind, 'upper-back')) throw new Refusal('blocked-by-screening', 'Answer the safety questions first.');
        await d.link.send({ type: 'setHeat', on });
        return this.status();
      },
      'device.confirmOff': () => {
        const d = this.requireDevice();
        this.offUnconfirmed.delete(d.peripheralId);
        d.confirmedOff();
        this.broadcastStatus();
        return this.status();
      },
    };
  }

  // ---- what the other concerns ask ----

  /** The connected (or connecting, or reconnecting) device, or null. */
  current(): DeviceConnection | null {
    return this.device;
  }

  /** A peripheral as the scan last heard it (with the transport to connect through), or undefined when it is not listed. For the lab. */
  scanEntry(peripheralId: string): ScannerEntry | undefined {
    return this.scanner.entry(peripheralId);
  }

  /** Stops the scan before a connection (a connected device stops advertising; its entry stays listed). Never throws. */
  async pauseScan(): Promise<void> {
    await this.scanner.deviceConnected().catch(ignore);
  }

  /** The connected device's kind, or undefined. */
  kind(): DeviceKind | undefined {
    return this.device?.module.kind;
  }

  /** The rules that apply to the connected device (the general ones without a device; a user profile's lower default ceiling). */
  rules(): SafetyRules {
    return rulesFor(this.kind(), { userProfile: this.device?.userProfile !== undefined });
  }

  /** The ceiling the user set for the connected device (or its kind's default, lower on a user profile); the general default without a device. */
  ceiling(): number {
    const d = this.device;
    return d ? this.ctx.settings.ceilingFor(d.module.id, d.module.kind, { userProfile: d.userProfile !== undefined }) : defaultCeilingFor(undefined);
  }

  /**
   * A device must be there (connected, connecting or reconnecting).
   * @throws Refusal `not-connected` otherwise.
   */
  requireDevice(): DeviceConnection {
    if (!this.device || this.device.connection === 'disconnected') throw new Refusal('not-connected', 'Connect a massager first.');
    return this.device;
  }

  /**
   * Refuses motor use on a device whose last stop it did not confirm, until the user says it is off.
   * @throws Refusal `device-not-confirmed-off`.
   */
  requireConfirmedOff(): void {
    const d = this.device;
    if (d && this.offUnconfirmed.has(d.peripheralId)) {
      throw new Refusal(
        'device-not-confirmed-off',
        `The ${KIND_RULES[d.module.kind].noun} did not confirm the last stop. Check that it is off, then press “It is off”.`,
      );
    }
  }

  /** The `device.status` view (what `device.get` answers). */
  status(): DeviceStatusEvent {
    const d = this.device;
    if (!d) return { connection: 'disconnected' };
    const { governor } = this.ctx;
    const view = d.view({
      // The ceiling in force (a raised one waits for the next session).
      ceiling: Math.min(this.ceiling(), governor.ceilingInForce()),
      maxStep: governor.maxStep(),
      commandedStep: governor.commandedStep(),
      offUnconfirmed: this.offUnconfirmed.has(d.peripheralId),
    });
    const stopCheck = this.stopCheckOf(d);
    return stopCheck ? { ...view, stopCheck } : view;
  }

  /** Pushes the `device.status` event to every renderer. */
  broadcastStatus(): void {
    this.ctx.broadcast('device.status', this.status());
  }

  /** What `adapter.get` answers. */
  adapterInfo(): AdapterInfo {
    const a: AdapterState = this.system.adapterState();
    return { state: a.state, message: a.message, hint: a.hint, demo: this.demo() };
  }

  /** Adds a transport to the scan (the simulated radio's, when demo mode comes on); a running scan goes on over both. */
  addTransport(transport: Transport): void {
    this.transports = [...this.transports, transport];
    const wasScanning = this.scanner.scanning;
    void this.scanner.dispose();
    this.scanner = this.makeScanner();
    if (wasScanning) void this.scanner.start();
  }

  /** Stops nothing: closes the link (waiting up to 2 s for a stop's proof) and the scanner. The governor stops the motor first. */
  async shutdown(): Promise<void> {
    if (this.device) await this.device.link.disconnect({ waitForProofMs: 2000 }).catch(ignore);
    this.device = null;
    await this.scanner.dispose().catch(ignore);
    await this.system.dispose?.().catch(ignore);
  }

  // ---- connecting ----

  /**
   * Connects a device of the scan list as the massager (what `device.connect` does; the
   * draft's try uses it with the draft's protocol id). Ends the connection to any other device first.
   * @throws Refusal as `device.connect` documents.
   */
  async connect(req: RequestInput<'device.connect'>): Promise<DeviceStatusEvent> {
    if (this.connecting) throw new Refusal('refused', 'Unknot is already connecting to a massager. Wait for it to finish.');
    this.connecting = true;
    try {
      return await this.connectNow(req);
    } finally {
      this.connecting = false;
    }
  }

  private async connectNow(req: RequestInput<'device.connect'>): Promise<DeviceStatusEvent> {
    const { options, settings, governor } = this.ctx;
    const entry = this.scanner.entry(req.peripheralId);
    if (!entry) throw new Refusal('refused', 'That device is no longer in range. Scan again.');
    if (!entry.simulated && options.timeScale !== 1) {
      throw new Refusal('refused', 'Demo time scaling is on; restart Unknot without --time-scale to use a real massager.');
    }
    const registry = this.ctx.protocols.registry();
    const candidates = registry.identify(entry.advertisement);
    // A remembered protocol that is gone (a user profile removed, a draft no longer tried) is no pick.
    const rememberedId = settings.get().devices?.[req.peripheralId]?.protocolId;
    const remembered = rememberedId !== undefined && registry.get(rememberedId) ? rememberedId : undefined;
    // The user's pick, else the pick remembered for this device, else a single strong
    // match, else a single candidate (confirmed or refused by the protocol after
    // connecting); several matches without a pick: the user chooses (issue: identification).
    const strong = candidates.filter((c) => c.confidence === 'strong');
    const automatic = strong.length === 1 ? strong[0] : strong.length === 0 && candidates.length === 1 ? candidates[0] : undefined;
    const chosenId = req.protocolId ?? remembered ?? automatic?.module.id;
    if (!chosenId) {
      throw new Refusal(
        candidates.length ? 'choose-protocol' : 'refused',
        candidates.length
          ? `This device could be ${candidates.map((c) => c.module.displayName).join(' or ')}. Pick which one it is.`
          : 'Unknot does not know this device.',
      );
    }
    const module = registry.get(chosenId);
    if (!module) throw new Refusal('invalid-payload', `Unknown protocol "${chosenId}".`);
    // Which user file (or draft) and version this module was built from, read with the module:
    // the registry may change while the old connection closes below.
    const userProfile = this.ctx.protocols.userProfile(module.id);
    if (this.device) await this.disconnect();
    await this.releaseLab(req.peripheralId).catch(ignore);
    await this.scanner.deviceConnected().catch(ignore);
    const model = candidates.find((c) => c.module.id === module.id)?.model;
    const traffic = this.trafficFor({
      peripheralId: req.peripheralId,
      name: entry.localName ?? req.peripheralId,
      address: entry.address,
      rssi: entry.rssi,
      lastSeenMs: entry.lastSeenMs,
      advertisement: advertisementView(entry.advertisement),
      protocolId: module.id,
      protocolName: module.displayName,
      ...(userProfile ? { userProfile } : {}),
      simulated: entry.simulated,
    });
    const d = new DeviceConnection(this.ctx, this.owner, {
      ...(traffic ? { traffic } : {}),
      ...(userProfile ? { userProfile } : {}),
      // A user profile ramps at the slowest rate of any kind until the user raises its ceiling.
      rampPerSecond: rampFor(module.kind, { userProfile: userProfile !== undefined }, settings.get().ceilings[module.id]),
      transport: entry.transport,
      peripheralId: req.peripheralId,
      module,
      ...(entry.localName ? { localName: entry.localName } : {}),
      simulated: entry.simulated,
      ...(model ? { model } : {}),
    });
    this.device = d;
    this.broadcastStatus();
    let port;
    try {
      // The app lost this device while it may have been running: as after a reconnect,
      // the first command is a stop, and the motor stays off until the user starts. A
      // user profile's own bytes (its init writes) are unproven: it is stopped first too.
      port = await d.open(this.mayBeRunning.has(req.peripheralId) || userProfile !== undefined);
    } catch (err) {
      if (this.device === d) {
        this.device = null;
        governor.attachMotor(null);
        this.broadcastStatus();
      }
      throw new Refusal('device-error', `Could not connect: ${(err as Error).message}`);
    }
    if (this.device !== d) {
      // Disconnected while connecting: this link must not stay open unseen.
      await d.link.disconnect().catch(ignore);
      throw new Refusal('refused', 'The connection was cancelled.');
    }
    this.mayBeRunning.delete(req.peripheralId);
    governor.attachMotor(port);
    await settings.rememberDevice(req.peripheralId, { protocolId: module.id, name: d.name }).catch(ignore);
    this.broadcastStatus();
    return this.status();
  }

  /** Stops every motor, then closes the massager's link (what `device.disconnect` does). */
  async disconnect(): Promise<void> {
    const d = this.device;
    if (!d) return;
    const { governor } = this.ctx;
    await governor.stopAll('user-stop');
    if (d.connection !== 'connected') this.mayBeRunning.add(d.peripheralId);
    this.device = null;
    governor.attachMotor(null);
    const verdict = await d.link.disconnect().catch(() => null);
    if (verdict && (verdict.state === 'waiting' || verdict.state === 'unconfirmed')) {
      // Closed with a stop the device did not confirm: it may still run. The next
      // connection stops it first, and no session starts on it before "It is off".
      this.mayBeRunning.add(d.peripheralId);
      this.offUnconfirmed.add(d.peripheralId);
      this.ctx.broadcast('safety.warning', {
        code: 'stop-unconfirmed-disconnected',
        message: `${unconfirmedMessage(d.module)} Unknot has disconnected from it.`,
      });
    }
    this.broadcastStatus();
  }

  // ---- the scan ----

  private scanResults(): ScanResults {
    const remembered = this.ctx.settings.get().devices ?? {};
    const registry = this.ctx.protocols.registry();
    const devices = this.scanner.entries().map((p: DiscoveredPeripheral): ScanEntry => ({
      peripheralId: p.id,
      name: p.localName ?? p.address,
      rssi: p.rssi,
      simulated: p.simulated,
      remembered: p.id in remembered,
      ...(remembered[p.id] && registry.get(remembered[p.id]!.protocolId) ? { rememberedProtocolId: remembered[p.id]!.protocolId } : {}),
      lastSeenMs: p.lastSeenMs,
      advertisement: advertisementView(p.advertisement),
      candidates: registry.identify(p.advertisement).map((c) => {
        const mark = this.ctx.protocols.userProfile(c.module.id);
        return {
          protocolId: c.module.id,
          displayName: c.module.displayName,
          confidence: c.confidence,
          kind: c.module.kind,
          ...(c.module.experimental ? { experimental: c.module.experimental } : {}),
          ...(mark ? { userProfile: mark } : {}),
        };
      }),
    }));
    devices.sort((a, b) => Number(b.peripheralId in remembered) - Number(a.peripheralId in remembered) || b.rssi - a.rssi);
    return { scanning: this.scanner.scanning, devices };
  }

  private makeScanner(): Scanner {
    // The core's clock, with the wall clock's `now()` (what the transports' `lastSeenMs` are on).
    const scanner = new Scanner({ transports: this.transports, clock: wallTimeoutClock(this.ctx.clock) });
    scanner.on('results', () => this.ctx.broadcast('scan.results', this.scanResults()));
    scanner.on('stopped', () => this.ctx.broadcast('scan.results', this.scanResults()));
    return scanner;
  }
}
