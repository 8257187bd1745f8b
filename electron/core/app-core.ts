/**
 * The app core: what both bridges (Electron IPC and the browser host) hand requests
 * to. It owns the transports (system noble and, in demo mode, the simulated radio),
 * the scanner, the one connected device link, the safety governor and the store, and
 * pushes events to every connected renderer.
 *
 * Its requests come through the main-process boundary (`electron/ipc/boundary.ts`),
 * which validates every payload against the IPC contract before anything runs; behind
 * it, one handler per channel takes the typed input and answers the channel's result
 * type. A failure never throws out of {@link Core.handle}: it is a refusal.
 */
import withBindings from '@abandonware/noble/with-bindings';
import { registry } from '../../protocols';
import type { Capabilities, DeviceKind, DeviceStatus, ProtocolModule } from '../../protocols/types';
import { loadSystemTransport } from '../ble/system';
import { NobleTransport, type NobleLike } from '../ble/noble-transport';
import { SIM_FAULTS, SimRadio, type SimFaultName } from '../ble/sim-radio';
import type { AdapterState, DiscoveredPeripheral, Transport } from '../ble/types';
import { DeviceLink, type LinkTimeouts, type ReconnectPolicy, type StopStateEvent } from '../device/link';
import { Scanner } from '../device/scanner';
import { Refusal, createBoundary, type Boundary, type Handlers } from '../ipc/boundary';
import {
  type AdapterInfo,
  type AppInfo,
  type DeviceStatusEvent,
  type ErrorCode,
  type EventChannel,
  type EventPayload,
  type MuscleGroup,
  type Reply,
  type RequestInput,
  type ScanEntry,
  type SessionEndReason,
  type SettingsView,
  type SimPeripheralState,
} from '../ipc/contract';
import { systemClock, type Clock } from '../lib/clock';
import { SafetyGovernor, type MotorPort } from '../safety/governor';
import { BASE_QUESTIONS, KIND_RULES, allQuestions, screeningBlock } from '../safety/rules';
import { SettingsError, SettingsStore, toSettingsView } from '../store/settings';
import { USAGE_FILE, UsageLog } from '../store/usage';
import { usageLedger } from '../store/usage-ledger';
import type { StoreNotice } from '../store/json-file';
import type { Core, CoreConnection } from './types';

/** How the core is built. */
export interface CoreOptions {
  dataDir: string;
  demo: boolean;
  /** Demo only: routine time runs this many times faster. */
  timeScale: number;
  host: 'electron' | 'browser';
  version: string;
  /** Injected for tests. */
  clock?: Clock;
  /** Injected for tests: the system transport (default: noble, loaded lazily). */
  systemTransport?: Transport;
  /** Injected for tests: the simulated radio's ATT latency, ms. */
  simLatencyMs?: number;
  /** Injected for tests: shorter GATT timeouts or reconnect delays. */
  linkTimeouts?: Partial<LinkTimeouts>;
  reconnect?: Partial<ReconnectPolicy>;
}

/** Status frames in the first moments after the motor was commanded on may predate the command. */
const DEVICE_SETTLE_MS = 1500;

const KIND_NAMES: Record<DeviceKind, string> = { percussive: 'massage gun', chair: 'chair', cushion: 'cushion', ems: 'EMS pad' };

/** How the user switches each kind of device off by hand (shown when the link drops). */
const HAND_OFF: Record<DeviceKind, string> = {
  percussive: 'Press the power button on the massage gun to switch it off.',
  chair: "Switch the chair off with its remote or power button.",
  cushion: 'Switch the cushion off with its button or unplug it.',
  ems: 'Press the power button on the EMS pad, or take the pads off your skin.',
};

interface Connected {
  link: DeviceLink;
  module: ProtocolModule;
  peripheralId: string;
  name: string;
  simulated: boolean;
  connection: DeviceStatusEvent['connection'];
  status: DeviceStatus;
  message?: string;
  model?: string;
  caps?: Capabilities;
  manufacturer?: string;
  modelNumber?: string;
  /** How the latest stop stands, from the link's stop watch. */
  stop?: StopStateEvent;
}

/** What the user reads when a massager did not confirm a stop. */
function unconfirmedMessage(kind: DeviceKind): string {
  return `The ${KIND_NAMES[kind]} did not confirm that it stopped. Switch it off by hand now: ${HAND_OFF[kind]}`;
}

/** See the module comment. */
export class AppCore implements Core {
  private readonly connections = new Map<string, CoreConnection>();
  private readonly notices: StoreNotice[] = [];
  private radio: SimRadio | null = null;
  private simTransport: Transport | null = null;
  private scanner: Scanner;
  private device: Connected | null = null;
  private demo: boolean;
  private readonly governor: SafetyGovernor;
  private readonly runningListeners = new Set<(s: string | null) => void>();
  private simStateTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly clock: Clock;
  /** Where every request is validated before its handler runs (both carriers come through here). */
  private readonly boundary: Boundary;
  /** Devices lost while they may have been running (reconnecting gave up, or closed while reconnecting): stopped first on the next connect. */
  private readonly mayBeRunning = new Set<string>();
  /** Devices whose last stop was not confirmed: no session starts on them until the user says they are off. */
  private readonly offUnconfirmed = new Set<string>();
  /** A `device.connect` is under way: a second one is refused (two links to one device fight over it). */
  private connecting = false;

  constructor(
    private readonly options: CoreOptions,
    private readonly settings: SettingsStore,
    private readonly usage: UsageLog,
    private readonly system: Transport,
  ) {
    this.clock = options.clock ?? systemClock;
    this.demo = options.demo;
    this.scanner = this.makeScanner([system]);
    system.onAdapterState(() => this.broadcast('adapter.state', this.adapterInfo()));

    this.governor = new SafetyGovernor(
      // After the usage log was lost (a corrupt file, or a missing one the settings say
      // was kept), the log itself records the day's use as unknown: each budget is spent.
      // A reservation is on disk before the motor starts, and so is the settings' note
      // that a usage log exists here (its failure is a settings notice, not a refusal).
      usageLedger(usage, { afterReserve: () => settings.noteUsageLogKept().catch(() => undefined) }),
      {
        ceiling: () => (this.device ? settings.ceilingFor(this.device.module.id, this.device.module.kind) : 0.6),
        sessionCapSeconds: () => settings.get().sessionCapSeconds,
        dailyBudgetSeconds: () => settings.get().dailyBudgetSeconds,
        motorBlock: (kind, group) => this.motorBlock(kind, group),
      },
      this.clock,
      options.demo ? options.timeScale : 1,
    );
    this.governor.on('state', (e) => {
      // "Reconnected, the motor stays off until you resume" is over once the session moves on.
      if (this.device && e.state !== 'paused' && this.device.connection === 'connected') delete this.device.message;
      this.broadcast('session.state', e);
      this.broadcastDevice();
      this.notifyRunning();
    });
    this.governor.on('ended', (e) => {
      this.broadcast('session.ended', e);
      void usage.flush().catch(() => undefined);
    });
    this.governor.on('clamped', (e) => this.broadcast('safety.clamped', e));
    this.governor.on('warning', (e) => this.broadcast('safety.warning', e));
    this.governor.on('output', (step) => {
      // The motor runs again: the last stop's confirmation is history.
      if (step > 0 && this.device) delete this.device.stop;
      this.broadcastDevice();
    });
    if (this.demo) this.enableDemo();
    this.boundary = createBoundary(this.handlers(), {
      refusalOf: (err) =>
        err instanceof SettingsError || err instanceof RangeError ? new Refusal('invalid-payload', err.message) : null,
      // Anything unexpected: stop the motor first, then report.
      onUnexpected: () => this.governor.stopAll('error').catch(() => undefined),
    });
  }

  // ---- Core ----

  attach(connection: CoreConnection): void {
    this.connections.set(connection.id, connection);
    for (const n of this.notices) safeSend(connection, 'store.notice', n);
  }

  async detach(connectionId: string, reason: SessionEndReason): Promise<void> {
    this.connections.delete(connectionId);
    await this.governor.connectionLost(connectionId, reason);
  }

  handle(connectionId: string, channel: string, payload: unknown): Promise<Reply> {
    return this.boundary(connectionId, channel, payload);
  }

  async stopAll(reason: SessionEndReason): Promise<void> {
    await this.governor.stopAll(reason);
  }

  runningSummary(): string | null {
    const s = this.governor.current();
    if (!s) return null;
    const left = Math.max(0, Math.round(s.grantedMotorSeconds - s.usedMotorSeconds));
    const what = s.routineId ? `Routine (${s.muscleGroup})` : `Manual (${s.muscleGroup})`;
    return `${what}: ${s.state === 'paused' ? 'paused' : 'running'}, ${Math.floor(left / 60)}:${String(left % 60).padStart(2, '0')} left`;
  }

  onRunningChange(listener: (summary: string | null) => void): () => void {
    this.runningListeners.add(listener);
    return () => this.runningListeners.delete(listener);
  }

  async shutdown(): Promise<void> {
    await this.governor.stopAll('app-quit');
    this.governor.dispose();
    if (this.device) await this.device.link.disconnect({ waitForProofMs: 2000 }).catch(() => undefined);
    this.device = null;
    this.radio?.dispose();
    await this.scanner.dispose().catch(() => undefined);
    await this.system.dispose?.().catch(() => undefined);
    // the stop tails charged and their reservations released, then the final save
    await this.governor.idle();
    await Promise.all([this.usage.flush(), this.settings.flush()]).catch(() => undefined);
    this.usage.dispose();
  }

  /** Store notices from loading (a corrupt file moved aside), shown to every renderer that attaches. */
  addNotices(notices: StoreNotice[]): void {
    notices = notices.map((n) => {
      // The usage log recorded the day's use as unknown (every budget spent): say so.
      if (n.kind !== 'reset' || n.file !== USAGE_FILE) return n;
      return { ...n, message: `${n.message} Today's massage time is unknown, so to be safe the motor stays off until midnight.` };
    });
    this.notices.push(...notices);
    for (const n of notices) this.broadcast('store.notice', n);
  }

  /** The simulated radio (demo mode), for tests and the benchmark. */
  simRadio(): SimRadio | null {
    return this.radio;
  }

  // ---- handlers ----

  /** The handler of every channel; each takes its channel's validated input and answers its result type. */
  private handlers(): Handlers {
    return {
      'app.info': () => this.appInfo(),
      'adapter.get': () => this.adapterInfo(),
      'demo.enable': () => {
        this.enableDemo();
        return this.adapterInfo();
      },
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
      'device.get': () => this.deviceStatus(),
      'session.get': () => this.governor.current(),
      'device.connect': (req) => this.connect(req),
      'device.disconnect': async () => {
        await this.disconnect();
        return this.deviceStatus();
      },
      'device.stop': async () => {
        await this.governor.stopAll('user-stop');
        return this.deviceStatus();
      },
      'device.setHeat': async ({ on }) => {
        const d = this.requireDevice();
        if (on) {
          this.requireConfirmedOff(d);
          // Switching heat on may power the device on: that happens only under a running session.
          if (this.governor.current()?.state !== 'running') {
            throw new Refusal('refused', 'Heat comes on during a session: start a routine or manual control first.');
          }
        }
        if (!d.caps?.heat) throw new Refusal('refused', 'This device has no heat.');
        if (this.motorBlock(d.module.kind, 'upper-back')) throw new Refusal('blocked-by-screening', 'Answer the safety questions first.');
        await d.link.send({ type: 'setHeat', on });
        return this.deviceStatus();
      },
      'session.start': (req, { connectionId }) => {
        this.requireConfirmedOff(this.requireDevice());
        return this.governor.startSession(connectionId, req);
      },
      'device.confirmOff': () => {
        const d = this.requireDevice();
        this.offUnconfirmed.delete(d.peripheralId);
        if (d.stop?.state === 'unconfirmed') delete d.stop;
        if (d.message === unconfirmedMessage(d.module.kind)) delete d.message;
        this.broadcastDevice();
        return this.deviceStatus();
      },
      'session.heartbeat': ({ sessionId }, { connectionId }) => {
        this.governor.heartbeat(connectionId, sessionId);
        return null;
      },
      'session.setStep': ({ sessionId, intensity, motion }, { connectionId }) => {
        this.governor.setStep(connectionId, sessionId, intensity, motion);
        return { commandedStep: this.governor.commandedStep(), maxStep: this.governor.maxStep() };
      },
      'session.pause': ({ sessionId }, { connectionId }) => {
        this.governor.pause(connectionId, sessionId);
        return this.governor.current();
      },
      'session.resume': ({ sessionId }, { connectionId }) => {
        if (this.device && this.device.connection !== 'connected') {
          throw new Refusal('not-connected', 'The massager is not connected yet. Wait for it to reconnect.');
        }
        if (this.device) this.requireConfirmedOff(this.device);
        this.governor.resume(connectionId, sessionId);
        return this.governor.current();
      },
      'session.end': ({ sessionId }, { connectionId }) => this.governor.end(connectionId, sessionId, 'completed'),
      'session.hurt': ({ sessionId }, { connectionId }) => this.governor.hurt(connectionId, sessionId),
      'settings.get': () => this.settingsView(),
      'settings.set': async (patch) => {
        const before = this.device ? this.settings.ceilingFor(this.device.module.id, this.device.module.kind) : undefined;
        await this.settings.update(patch);
        await this.governor.recheckBlock();
        const after = this.device ? this.settings.ceilingFor(this.device.module.id, this.device.module.kind) : undefined;
        if (before !== undefined && after !== undefined && after > before && this.governor.current()) {
          this.broadcast('safety.warning', {
            code: 'ceiling-next-session',
            message: `The higher ceiling (${Math.round(after * 100)}%) applies from the next session; this one stays at ${Math.round(this.governor.ceilingInForce() * 100)}%.`,
          });
        }
        this.broadcastDevice();
        return this.settingsView();
      },
      'screening.set': async ({ answers }) => {
        await this.settings.setScreening(answers);
        // A "yes" that blocks the running session's device or area stops it at once.
        await this.governor.recheckBlock();
        return this.settingsView();
      },
      'usage.today': () => this.usage.budgets(this.settings.get().dailyBudgetSeconds, this.clock.wallNow()),
      'usage.history': ({ days }) => ({
        ...this.usage.history(days, this.clock.wallNow()),
        csv: this.usage.toCsv(days, this.clock.wallNow()),
      }),
      'data.delete': async () => {
        await this.governor.stopAll('user-stop');
        // Each group's budget day in force survives the deletion (as one unnamed entry per
        // group), so deleting the history is not a way around the daily limit. Settings
        // first: the kept log's save records again that a usage log exists.
        await this.governor.idle();
        await this.settings.deleteAll();
        await this.usage.deleteAll({ keepBudgetsAt: this.clock.wallNow() });
        return this.settingsView();
      },
      'sim.state': () => this.simState(),
      'sim.fault': ({ peripheralId, fault }) => {
        if (!this.radio) throw new Refusal('refused', 'Simulated devices are off. Turn on demo mode first.');
        const sim = this.radio.peripheral(peripheralId);
        if (!sim) throw new Refusal('refused', `No simulated device "${peripheralId}".`);
        if (SIM_FAULTS.some((f) => f.name === fault)) this.radio.inject(peripheralId, fault as SimFaultName);
        else if (fault === 'clear') this.radio.clearFaults(peripheralId);
        else if (sim.actions?.includes(fault)) sim.act?.(fault);
        else throw new Refusal('invalid-payload', `Unknown fault "${fault}".`);
        return this.simState();
      },
    };
  }

  // ---- devices ----

  /** Refuses motor use on a device whose last stop it did not confirm, until the user says it is off. */
  private requireConfirmedOff(d: Connected): void {
    if (this.offUnconfirmed.has(d.peripheralId)) {
      throw new Refusal(
        'device-not-confirmed-off',
        `The ${KIND_NAMES[d.module.kind]} did not confirm the last stop. Check that it is off, then press “It is off”.`,
      );
    }
  }

  private requireDevice(): Connected {
    if (!this.device || this.device.connection === 'disconnected') throw new Refusal('not-connected', 'Connect a massager first.');
    return this.device;
  }

  private async connect(req: RequestInput<'device.connect'>): Promise<DeviceStatusEvent> {
    if (this.connecting) throw new Refusal('refused', 'Unknot is already connecting to a massager. Wait for it to finish.');
    this.connecting = true;
    try {
      return await this.connectNow(req);
    } finally {
      this.connecting = false;
    }
  }

  private async connectNow(req: RequestInput<'device.connect'>): Promise<DeviceStatusEvent> {
    const entry = this.scanner.entry(req.peripheralId);
    if (!entry) throw new Refusal('refused', 'That device is no longer in range. Scan again.');
    if (!entry.simulated && this.options.timeScale !== 1) {
      throw new Refusal('refused', 'Demo time scaling is on; restart Unknot without --time-scale to use a real massager.');
    }
    const candidates = registry.identify(entry.advertisement);
    const remembered = this.settings.get().devices?.[req.peripheralId]?.protocolId;
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
    if (this.device) await this.disconnect();
    await this.scanner.deviceConnected().catch(() => undefined);
    const model = candidates.find((c) => c.module.id === module.id)?.model;
    const link = new DeviceLink({
      transport: entry.transport,
      peripheralId: req.peripheralId,
      protocol: module,
      ...(entry.localName ? { localName: entry.localName } : {}),
      ...(this.options.linkTimeouts ? { timeouts: this.options.linkTimeouts } : {}),
      // The scan stops once the device connects, so its results say whether the device
      // advertises only while a scan runs; otherwise every attempt is made (a pending
      // connection completes as soon as the device advertises, or times out).
      reconnect: { ...this.options.reconnect, isAdvertising: () => !this.scanner.scanning || this.scanner.isFresh(req.peripheralId) },
      ...(model ? { model } : {}),
      // The governor's ramp, held at the device too: writes bunched by a slow link that
      // recovers are bounded when their turn comes (routine time runs faster in the demo).
      rampPerSecond: KIND_RULES[module.kind].rampPerSecond * (this.options.demo ? this.options.timeScale : 1),
      rampNow: () => this.clock.now(),
    });
    const d: Connected = {
      link,
      module,
      peripheralId: req.peripheralId,
      name: entry.localName ?? req.peripheralId,
      simulated: entry.simulated,
      connection: 'connecting',
      status: {},
    };
    this.device = d;
    this.broadcastDevice();
    link.on('notice', (message) => {
      d.message = message;
      this.broadcast('safety.warning', { code: 'device-notice', message });
      this.broadcastDevice();
    });
    link.on('status', (s: DeviceStatus) => {
      d.status = { ...d.status, ...s };
      delete d.status.offByHand;
      if (s.runState !== undefined && s.runState !== 'running') {
        // The chair's speed and time left are only reported while its rollers move.
        delete d.status.level;
        delete d.status.secondsLeft;
      }
      if (s.level !== undefined) {
        this.governor.reportDeviceLevel(s.level, s.levelIsIntensity === true, s.runState === 'running' || (s.runState === undefined && s.running === true));
      }
      // Switched off on the device itself (its button or remote) while Unknot had it
      // running: that is the user's stop, and no later step may switch it back on. The
      // chair's session says so itself (it knows whether the app sent a stop; a
      // resetting chair still sets its powered bit); a gun reporting "not running" does.
      const offByHand = s.offByHand === true || (module.kind === 'percussive' && s.running === false);
      const since = this.governor.runningSinceMs();
      if (offByHand && since !== null && (s.offByHand === true || this.clock.now() - since > DEVICE_SETTLE_MS)) {
        const message = `The ${KIND_NAMES[module.kind]} was switched off on the device itself, so the session stopped.`;
        void this.governor.stopAll('user-stop');
        this.broadcast('safety.warning', { code: 'off-by-hand', message });
      }
      this.broadcastDevice();
    });
    link.on('stop-state', (e) => {
      if (this.device !== d) return;
      d.stop = e;
      if (e.state === 'unconfirmed') {
        // Every attempt the protocol allows was made: the user must switch it off by hand,
        // the session stays ended, and a new one waits for "It is off".
        this.offUnconfirmed.add(d.peripheralId);
        d.message = unconfirmedMessage(module.kind);
        void this.governor.stopUnconfirmed();
        this.broadcast('safety.warning', { code: 'stop-unconfirmed', message: d.message });
      }
      this.broadcastDevice();
    });
    link.on('disconnected', (info: { reason: string; expected: boolean }) => {
      if (this.device !== d) return;
      if (info.expected) return;
      d.connection = 'reconnecting';
      delete d.stop;
      // What the device last reported is no longer known (and the reconnect writes a stop).
      delete d.status.level;
      delete d.status.running;
      d.message = `Lost contact with the massager: ${info.reason}. It may still be running. ${HAND_OFF[module.kind]}`;
      this.governor.devicePaused(d.message);
      this.broadcastDevice();
    });
    link.on('reconnected', () => {
      if (this.device !== d) return;
      d.connection = 'connected';
      d.message = 'Reconnected. The motor stays off until you resume.';
      this.broadcastDevice();
      // The motor time while the link was down counts until the reconnect's stop has its verdict.
      void link.awaitStopVerdict(10_000).then(() => {
        if (this.device === d) this.governor.deviceReachable();
      });
    });
    link.on('reconnect-failed', () => {
      if (this.device !== d) return;
      d.connection = 'disconnected';
      this.mayBeRunning.add(d.peripheralId);
      this.governor.deviceReachable();
      void this.governor.stopAll('device-lost');
      this.broadcastDevice();
    });
    let info;
    try {
      info = await link.connect();
    } catch (err) {
      if (this.device === d) {
        this.device = null;
        this.governor.attachMotor(null);
        this.broadcastDevice();
      }
      throw new Refusal('device-error', `Could not connect: ${(err as Error).message}`);
    }
    if (this.device !== d) {
      // Disconnected while connecting: this link must not stay open unseen.
      await link.disconnect().catch(ignore);
      throw new Refusal('refused', 'The connection was cancelled.');
    }
    // The app lost this device while it may have been running: as after a reconnect,
    // the first command is a stop, and the motor stays off until the user starts.
    if (this.mayBeRunning.delete(req.peripheralId)) await link.stop().catch(ignore);
    d.connection = 'connected';
    d.model = info.model;
    d.caps = info.capabilities;
    if (info.manufacturer !== undefined) d.manufacturer = info.manufacturer;
    if (info.modelNumber !== undefined) d.modelNumber = info.modelNumber;
    d.status = {
      ...d.status,
      ...(info.batteryPercent !== undefined ? { batteryPercent: info.batteryPercent } : {}),
      ...(info.firmware !== undefined ? { firmware: info.firmware } : {}),
    };
    const caps = info.capabilities;
    const port: MotorPort = {
      kind: module.kind,
      steps: caps.steps,
      minRunningStep: caps.minRunningStep,
      stepUnit: caps.stepUnit,
      // Writes are fire-and-forget: a failed write is the link's to report (it drops
      // the link and the session pauses); it must not become an unhandled rejection.
      writeIntensity: (v) => void link.setIntensity(v).catch(ignore),
      writeMotion: (m) => void link.send({ type: 'setMotion', motion: m }).catch(ignore),
      writeTimer: (s) => {
        if (caps.timersSeconds.length) void link.send({ type: 'setTimer', seconds: s }).catch(ignore);
      },
      stop: async () => {
        await link.stop();
      },
      // Motor time runs until the device confirms the stop (at most the longest escalation).
      untilStopped: () => link.awaitStopVerdict(10_000),
    };
    this.governor.attachMotor(port);
    await this.settings.rememberDevice(req.peripheralId, { protocolId: module.id, name: d.name }).catch(() => undefined);
    this.broadcastDevice();
    return this.deviceStatus();
  }

  private async disconnect(): Promise<void> {
    const d = this.device;
    if (!d) return;
    await this.governor.stopAll('user-stop');
    if (d.connection !== 'connected') this.mayBeRunning.add(d.peripheralId);
    this.device = null;
    this.governor.attachMotor(null);
    const verdict = await d.link.disconnect().catch(() => null);
    if (verdict && (verdict.state === 'waiting' || verdict.state === 'unconfirmed')) {
      // Closed with a stop the device did not confirm: it may still run. The next
      // connection stops it first, and no session starts on it before "It is off".
      this.mayBeRunning.add(d.peripheralId);
      this.offUnconfirmed.add(d.peripheralId);
      this.broadcast('safety.warning', { code: 'stop-unconfirmed-disconnected', message: `${unconfirmedMessage(d.module.kind)} Unknot has disconnected from it.` });
    }
    this.broadcastDevice();
  }

  private motorBlock(kind: DeviceKind, group: MuscleGroup): { code: ErrorCode; message: string } | null {
    const s = this.settings.get();
    const block = screeningBlock(s.screening, s.doctorNoticeAcknowledged, kind);
    if (block) return block;
    if (KIND_RULES[kind].excludedGroups.includes(group)) {
      return { code: 'refused', message: 'Electrical stimulation is never used on this area. Pick another area or device.' };
    }
    return null;
  }

  // ---- views ----

  private appInfo(): AppInfo {
    return {
      version: this.options.version,
      host: this.options.host,
      demo: this.demo,
      timeScale: this.demo ? this.options.timeScale : 1,
      dataDir: this.options.dataDir,
    };
  }

  private adapterInfo(): AdapterInfo {
    const a: AdapterState = this.system.adapterState();
    return { state: a.state, message: a.message, hint: a.hint, demo: this.demo };
  }

  private scanResults(): { scanning: boolean; devices: ScanEntry[] } {
    const remembered = this.settings.get().devices ?? {};
    const devices = this.scanner.entries().map((p: DiscoveredPeripheral): ScanEntry => ({
      peripheralId: p.id,
      name: p.localName ?? p.address,
      rssi: p.rssi,
      simulated: p.simulated,
      remembered: p.id in remembered,
      ...(remembered[p.id] ? { rememberedProtocolId: remembered[p.id]!.protocolId } : {}),
      lastSeenMs: p.lastSeenMs,
      candidates: registry.identify(p.advertisement).map((c) => ({
        protocolId: c.module.id,
        displayName: c.module.displayName,
        confidence: c.confidence,
        kind: c.module.kind,
        ...(c.module.experimental ? { experimental: c.module.experimental } : {}),
      })),
    }));
    devices.sort((a, b) => Number(b.peripheralId in remembered) - Number(a.peripheralId in remembered) || b.rssi - a.rssi);
    return { scanning: this.scanner.scanning, devices };
  }

  private deviceStatus(): DeviceStatusEvent {
    const d = this.device;
    if (!d) return { connection: 'disconnected' };
    const caps = d.caps;
    // The ceiling in force (a raised one waits for the next session).
    const ceiling = Math.min(this.settings.ceilingFor(d.module.id, d.module.kind), this.governor.ceilingInForce());
    return {
      connection: d.connection,
      peripheralId: d.peripheralId,
      name: d.name,
      protocolId: d.module.id,
      kind: d.module.kind,
      ...(d.module.experimental ? { experimental: d.module.experimental } : {}),
      simulated: d.simulated,
      ...(caps
        ? {
            ...(d.model ? { model: d.model } : {}),
            steps: caps.steps,
            stepUnit: caps.stepUnit,
            maxStep: this.governor.maxStep(),
            modes: caps.modes,
            hasHeat: caps.heat,
          }
        : {}),
      ceiling,
      running: this.governor.commandedStep() > 0,
      commandedStep: this.governor.commandedStep(),
      ...(d.status.level !== undefined ? { reportedLevel: d.status.level } : {}),
      ...(d.status.batteryPercent !== undefined ? { batteryPercent: d.status.batteryPercent } : {}),
      ...(d.status.firmware !== undefined ? { firmware: d.status.firmware } : {}),
      ...(d.manufacturer !== undefined ? { manufacturer: d.manufacturer } : {}),
      ...(d.modelNumber !== undefined ? { modelNumber: d.modelNumber } : {}),
      ...(d.status.mode !== undefined ? { mode: d.status.mode } : {}),
      ...(d.status.heat !== undefined ? { heat: d.status.heat } : {}),
      ...(d.status.runState !== undefined ? { runState: d.status.runState } : {}),
      ...(d.stop ? { stop: { ...d.stop } } : {}),
      ...(this.offUnconfirmed.has(d.peripheralId) ? { offUnconfirmed: true } : {}),
      handOff: HAND_OFF[d.module.kind],
      ...(d.status.secondsLeft !== undefined ? { secondsLeft: d.status.secondsLeft } : {}),
      ...(d.message ? { message: d.message } : {}),
    };
  }

  private settingsView(): SettingsView {
    const settings = this.settings.get();
    const view = toSettingsView(settings, { dataDir: this.options.dataDir, screeningQuestions: allQuestions() });
    // Blocked by a "yes" to a question that applies: the base ones, plus the connected
    // device kind's own (a "yes" to an EMS-only question does not block a massage gun).
    const kind = this.device?.module.kind;
    const applies = [...BASE_QUESTIONS, ...(kind ? KIND_RULES[kind].extraQuestions : [])];
    return { ...view, motorBlocked: applies.some((q) => settings.screening[q.id] === true) };
  }

  private simState(): SimPeripheralState[] {
    if (!this.radio) return [];
    return this.radio.snapshots().map((s) => {
      const sim = this.radio!.peripheral(s.id);
      const protocol = sim ? registry.identify(sim.advertisement)[0]?.module.id : undefined;
      return {
        peripheralId: s.id,
        name: s.localName,
        protocolId: protocol ?? 'unknown',
        connected: s.connected,
        readout: s.readout,
        state: s.state,
        faults: [...SIM_FAULTS.map((f) => f.name), ...(sim?.actions ?? [])],
      };
    });
  }

  // ---- demo mode ----

  private enableDemo(): void {
    if (this.radio) return;
    this.demo = true;
    const radio = new SimRadio({ ...(this.options.simLatencyMs !== undefined ? { latencyMs: this.options.simLatencyMs } : {}) });
    for (const sim of registry.simulateAll()) radio.addPeripheral(sim);
    this.radio = radio;
    const noble = withBindings(radio) as unknown as NobleLike;
    this.simTransport = new NobleTransport(noble, { simulated: true });
    const wasScanning = this.scanner.scanning;
    void this.scanner.dispose();
    this.scanner = this.makeScanner([this.system, this.simTransport]);
    if (wasScanning) void this.scanner.start();
    radio.onStateChange(() => this.scheduleSimState());
    radio.onWrite(() => this.scheduleSimState());
    this.broadcast('adapter.state', this.adapterInfo());
  }

  private makeScanner(transports: Transport[]): Scanner {
    const scanner = new Scanner({ transports });
    scanner.on('results', () => this.broadcast('scan.results', this.scanResults()));
    scanner.on('stopped', () => this.broadcast('scan.results', this.scanResults()));
    return scanner;
  }

  private scheduleSimState(): void {
    if (this.simStateTimer) return;
    this.simStateTimer = setTimeout(() => {
      this.simStateTimer = null;
      this.broadcast('sim.state', this.simState());
    }, 30);
  }

  // ---- events ----

  private broadcast<E extends EventChannel>(event: E, payload: EventPayload<E>): void {
    for (const c of this.connections.values()) safeSend(c, event, payload);
  }

  private broadcastDevice(): void {
    this.broadcast('device.status', this.deviceStatus());
  }

  private notifyRunning(): void {
    const s = this.runningSummary();
    for (const l of this.runningListeners) {
      try {
        l(s);
      } catch {
        /* a tray failure never reaches the motor */
      }
    }
  }
}

function ignore(): void {}

function safeSend<E extends EventChannel>(c: CoreConnection, event: E, payload: EventPayload<E>): void {
  try {
    c.send(event, payload);
  } catch {
    /* a broken renderer must not break the others */
  }
}

/**
 * Builds the core: loads settings and the usage log from `dataDir` (a corrupt file is
 * moved aside and reported as a notice), loads the system transport lazily, and in
 * demo mode adds the simulated devices.
 */
export async function createCore(options: CoreOptions): Promise<AppCore> {
  let core: AppCore | null = null;
  const early: StoreNotice[] = [];
  const onNotice = (n: StoreNotice): void => (core ? core.addNotices([n]) : void early.push(n));
  const settings = new SettingsStore({ dir: options.dataDir, onNotice });
  // Every save of the usage log is noted in the settings (once), so a log deleted later is noticed.
  const noteKept = (): void => void settings.noteUsageLogKept().catch(() => undefined);
  const usage = new UsageLog({ dir: options.dataDir, onNotice, onSaved: noteKept });
  const s = await settings.load();
  const u = await usage.load({ expectFile: s.settings.usageLogKept });
  if (u.source === 'file') noteKept();
  const system = options.systemTransport ?? loadSystemTransport();
  core = new AppCore(options, settings, usage, system);
  const seen = new Set<StoreNotice>();
  core.addNotices([...early, ...s.notices, ...u.notices].filter((n) => (seen.has(n) ? false : (seen.add(n), true))));
  return core;
}
