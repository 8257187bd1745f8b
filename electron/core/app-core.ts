/**
 * The app core: what both bridges (Electron IPC and the browser host) hand requests
 * to. It builds the safety governor over the store, and the concerns that answer the
 * channels, each filling its own slice of the typed handler map:
 * - devices and connection (`devices.ts`, the link's lifecycle in `device-connection.ts`):
 *   `adapter.get`, `scan.*`, `device.*`;
 * - sessions (`sessions.ts`): `session.*`;
 * - settings and screening (`settings.ts`): `settings.*`, `screening.set`;
 * - history and data (`history.ts`): `usage.*`, `data.delete`;
 * - the simulator (`simulator.ts`, demo mode): `sim.*`, `demo.enable`;
 * - user profiles (`profiles.ts`): `profiles.*`, and the registry the devices use;
 * - the stop check of a device on a user profile (`stop-check.ts`): `stopCheck.*`, and the
 *   block that keeps its motor off until the check passed;
 * - the device lab (`lab.ts`): `lab.*`, one read-only connection that is never the governor's motor;
 * - the draft editor (`draft.ts`): `draft.*`, a profile draft checked as it is typed and tried under the governor;
 * - a device's recent traffic (`traffic.ts`): `device.traffic`, `device.capture`, the `device.traffic` event;
 * and `app.info` here. It pushes events to every connected renderer.
 *
 * Its requests come through the main-process boundary (`electron/ipc/boundary.ts`),
 * which validates every payload against the IPC contract before anything runs; behind
 * it, one handler per channel takes the typed input and answers the channel's result
 * type. A failure never throws out of {@link Core.handle}: it is a refusal.
 */
import type { Transport } from '../ble/types';
import type { SimRadio } from '../ble/sim-radio';
import { loadSystemTransport } from '../ble/system';
import type { DeviceLink } from '../device/link';
import type { TrafficLog } from '../device/traffic';
import { Refusal, createBoundary, type Boundary, type Handlers } from '../ipc/boundary';
import type { AppInfo, EventChannel, EventPayload, Reply, SessionEndReason } from '../ipc/contract';
import { systemClock, type Clock } from '../lib/clock';
import { SafetyGovernor } from '../safety/governor';
import { SettingsError, SettingsStore } from '../store/settings';
import { USAGE_FILE, UsageLog } from '../store/usage';
import { usageLedger } from '../store/usage-ledger';
import type { StoreNotice } from '../store/json-file';
import { timeScaleOf, type CoreContext, type CoreOptions } from './context';
import { Devices } from './devices';
import { historyHandlers } from './history';
import { sessionHandlers } from './sessions';
import { motorBlock, settingsHandlers } from './settings';
import { Simulator } from './simulator';
import { UserProfiles } from './profiles';
import { StopChecks } from './stop-check';
import { Lab } from './lab';
import { Drafts } from './draft';
import { DeviceTraffic } from './traffic';
import type { Core, CoreConnection } from './types';

export type { CoreOptions } from './context';

/** See the module comment. */
export class AppCore implements Core {
  private readonly connections = new Map<string, CoreConnection>();
  private readonly notices: StoreNotice[] = [];
  private readonly governor: SafetyGovernor;
  private readonly runningListeners = new Set<(s: string | null) => void>();
  private readonly clock: Clock;
  private readonly devices: Devices;
  private readonly simulator: Simulator;
  private readonly profiles: UserProfiles;
  private readonly stopChecks: StopChecks;
  private readonly lab: Lab;
  private readonly drafts: Drafts;
  private readonly traffic: DeviceTraffic;
  /** Where every request is validated before its handler runs (both carriers come through here). */
  private readonly boundary: Boundary;

  constructor(
    private readonly options: CoreOptions,
    private readonly settings: SettingsStore,
    private readonly usage: UsageLog,
    system: Transport,
  ) {
    this.clock = options.clock ?? systemClock;
    this.governor = new SafetyGovernor(
      // After the usage log was lost (a corrupt file, or a missing one the settings say
      // was kept), the log itself records the day's use as unknown: each budget is spent.
      // A reservation is on disk before the motor starts, and so is the settings' note
      // that a usage log exists here (its failure is a settings notice, not a refusal).
      usageLedger(usage, { afterReserve: () => settings.noteUsageLogKept().catch(() => undefined) }),
      {
        ceiling: () => this.devices.ceiling(),
        sessionCapSeconds: () => settings.get().sessionCapSeconds,
        dailyBudgetSeconds: () => settings.get().dailyBudgetSeconds,
        // A device on a user profile runs only after its stop check (stop-check.ts).
        motorBlock: (kind, group) => motorBlock(ctx, kind, group) ?? this.stopChecks.block(),
      },
      this.clock,
      timeScaleOf(options),
    );
    const broadcast: CoreContext['broadcast'] = (event, payload) => this.broadcast(event, payload);
    this.profiles = new UserProfiles({ options, broadcast });
    const ctx: CoreContext = {
      options,
      clock: this.clock,
      settings,
      usage,
      governor: this.governor,
      protocols: this.profiles,
      broadcast,
    };
    this.devices = new Devices(ctx, system, () => this.simulator.enabled);
    this.stopChecks = new StopChecks(ctx, this.devices);
    this.devices.stopCheckOf = (d) => this.stopChecks.state(d);
    this.lab = new Lab(ctx, this.devices);
    this.devices.releaseLab = (id) => this.lab.release(id);
    this.drafts = new Drafts(ctx, this.devices, this.lab, this.profiles);
    this.traffic = new DeviceTraffic(ctx, this.devices);
    this.devices.trafficFor = (info) => this.traffic.sinkFor(info);
    this.simulator = new Simulator(ctx, (t) => this.devices.addTransport(t), () => this.devices.adapterInfo());

    this.governor.on('state', (e) => {
      this.devices.current()?.sessionMoved(e.state);
      this.broadcast('session.state', e);
      this.devices.broadcastStatus();
      this.notifyRunning();
    });
    this.governor.on('ended', (e) => {
      this.broadcast('session.ended', e);
      void usage.flush().catch(() => undefined);
    });
    this.governor.on('clamped', (e) => this.broadcast('safety.clamped', e));
    this.governor.on('warning', (e) => this.broadcast('safety.warning', e));
    this.governor.on('output', (step) => {
      this.devices.current()?.motorCommanded(step);
      this.devices.broadcastStatus();
    });
    if (options.demo) this.simulator.enable();

    const handlers: Handlers = {
      'app.info': () => this.appInfo(),
      ...this.devices.handlers(),
      ...sessionHandlers(ctx, this.devices),
      ...settingsHandlers(ctx, this.devices),
      ...historyHandlers(ctx, this.devices),
      ...this.simulator.handlers(),
      ...this.profiles.handlers(),
      ...this.stopChecks.handlers(),
      ...this.lab.handlers(),
      ...this.drafts.handlers(),
      ...this.traffic.handlers(),
    };
    this.boundary = createBoundary(handlers, {
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
    await this.lab.shutdown();
    await this.devices.shutdown();
    this.traffic.dispose();
    this.simulator.dispose();
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

  /** Loads the user profiles of the data folder (at start; `profiles.reload` does it again). */
  async loadProfiles(): Promise<void> {
    await this.profiles.load();
  }

  /** The simulated radio (demo mode), for tests and the benchmark. */
  simRadio(): SimRadio | null {
    return this.simulator.simRadio();
  }

  /** For tests: the connected device's link (null without one) and the simulated transport (null before demo mode). */
  internals(): { link: DeviceLink | null; simTransport: Transport | null } {
    return { link: this.devices.current()?.link ?? null, simTransport: this.simulator.simTransport() };
  }

  /** For tests: every device's traffic (`device.traffic`, `device.capture`). */
  trafficLog(): TrafficLog {
    return this.traffic.log;
  }

  private appInfo(): AppInfo {
    const demo = this.simulator.enabled;
    return {
      version: this.options.version,
      host: this.options.host,
      demo,
      timeScale: demo ? this.options.timeScale : 1,
      dataDir: this.options.dataDir,
    };
  }

  // ---- events ----

  private broadcast<E extends EventChannel>(event: E, payload: EventPayload<E>): void {
    for (const c of this.connections.values()) safeSend(c, event, payload);
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

function safeSend<E extends EventChannel>(c: CoreConnection, event: E, payload: EventPayload<E>): void {
  try {
    c.send(event, payload);
  } catch {
    /* a broken renderer must not break the others */
  }
}

/**
 * Builds the core: loads settings and the usage log from `dataDir` (a corrupt file is
 * moved aside and reported as a notice) and the user profiles of its `profiles/`, loads the system transport lazily, and in
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
  await core.loadProfiles();
  const seen = new Set<StoreNotice>();
  core.addNotices([...early, ...s.notices, ...u.notices].filter((n) => (seen.has(n) ? false : (seen.add(n), true))));
  return core;
}
