/**
 * One device connection's lifecycle, owned by one object: the link to the massager, what
 * it last reported, and the safety policy its events carry — a status feeds the governor
 * (the level the device reports; switched off by hand ends the session), an unconfirmed
 * stop asks the user to switch it off by hand, a dropped link pauses the session, a
 * reconnect keeps the motor off until the user resumes, a reconnect given up ends it.
 *
 * The devices concern (`devices.ts`) creates one per `device.connect`, opens it, and
 * drops it on disconnect; an object it dropped ignores its link's late events.
 */
import type { Capabilities, DeviceStatus, ProtocolModule } from '../../protocols/types';
import type { Transport } from '../ble/types';
import { DeviceLink, type StopStateEvent } from '../device/link';
import type { TrafficSink } from '../device/traffic';
import type { DeviceStatusEvent, UserProfileMark } from '../ipc/contract';
import type { MotorPort } from '../safety/governor';
import { KIND_RULES, rulesFor } from '../safety/rules';
import { ignore, timeScaleOf, type CoreContext } from './context';

/** How long the motor time counts after a reconnect or a stop while the device's verdict on the stop is awaited, ms. */
const STOP_VERDICT_MS = 10_000;
/** How many such waits a stop's verdict gets before it counts as unconfirmed. */
const STOP_VERDICT_WAITS = 6;

/** What the connection tells its owner, and asks of it. */
export interface ConnectionOwner {
  /** Whether this connection is still the current one (a dropped one ignores its link's events). */
  isCurrent(connection: DeviceConnection): boolean;
  /** Something the `device.status` event shows changed. */
  changed(): void;
  /** The device may still be running and the app lost it: the next connection to it stops it first. */
  mayBeRunning(peripheralId: string): void;
  /** The device did not confirm a stop: no session starts on it until the user says it is off. */
  offUnconfirmed(peripheralId: string): void;
  /** Whether the device is marked so (see {@link offUnconfirmed}). */
  isOffUnconfirmed(peripheralId: string): boolean;
  /** The device proved itself off (a confirmed stop, late or not): the mark of {@link offUnconfirmed} goes. */
  provenOff(peripheralId: string): void;
  /** Whether the device still advertises (the scan's view), for the link's reconnect policy. */
  isAdvertising(peripheralId: string): boolean;
  /**
   * Whether this connection's protocol bytes are unproven: a user profile whose stop check
   * has not run (or was answered "no") for this version. The check's own run counts as proving.
   */
  unproven(connection: DeviceConnection): boolean;
}

/** What `device.connect` found to connect to. */
export interface ConnectTarget {
  transport: Transport;
  peripheralId: string;
  module: ProtocolModule;
  localName?: string;
  simulated: boolean;
  /** The model the advertisement names, when the protocol told it. */
  model?: string;
  /** The user profile file the protocol comes from (absent: built-in). */
  userProfile?: UserProfileMark;
  /** The ramp, fraction of full range per second of routine time (default: the kind's). */
  rampPerSecond?: number;
  /** Where the link records its traffic (the device's ring buffer, `device/traffic.ts`). */
  traffic?: TrafficSink;
}

/** What the user reads when a massager did not confirm a stop. */
export function unconfirmedMessage(module: ProtocolModule): string {
  const kind = KIND_RULES[module.kind];
  return `The ${kind.noun} did not confirm that it stopped. Switch it off by hand now: ${kind.handOff}`;
}

/** What the user reads when a massager reports running after an unconfirmed stop or "It is off". */
export function runsOnMessage(module: ProtocolModule): string {
  const kind = KIND_RULES[module.kind];
  return `The ${kind.noun} reports that it is still running. Switch it off by hand now: ${kind.handOff} Then press “It is off”.`;
}

/** See the module comment. */
export class DeviceConnection {
  readonly link: DeviceLink;
  readonly module: ProtocolModule;
  readonly peripheralId: string;
  readonly name: string;
  readonly simulated: boolean;
  connection: DeviceStatusEvent['connection'] = 'connecting';
  /** What the device reported, merged over its notifications. */
  status: DeviceStatus = {};
  /** A message for the user on the status (a lost link, a reconnect, an unconfirmed stop). */
  message?: string;
  model?: string;
  caps?: Capabilities;
  manufacturer?: string;
  modelNumber?: string;
  /** How the latest stop stands, from the link's stop watch. */
  stop?: StopStateEvent;
  /** The user profile file this device runs on (absent: a built-in profile). */
  readonly userProfile?: UserProfileMark;
  /** The governor's ramp for this device, fraction of full range per second (routine time). */
  readonly rampPerSecond: number;
  /** The user said it is off ("It is off") and no status has proved it off since (see {@link runsOn}). */
  private saidOff = false;

  constructor(
    private readonly ctx: CoreContext,
    private readonly owner: ConnectionOwner,
    target: ConnectTarget,
  ) {
    const { options, clock } = ctx;
    this.module = target.module;
    this.peripheralId = target.peripheralId;
    this.name = target.localName ?? target.peripheralId;
    this.simulated = target.simulated;
    this.rampPerSecond = target.rampPerSecond ?? KIND_RULES[target.module.kind].rampPerSecond;
    if (target.userProfile) this.userProfile = target.userProfile;
    this.link = new DeviceLink({
      transport: target.transport,
      peripheralId: target.peripheralId,
      protocol: target.module,
      ...(target.localName ? { localName: target.localName } : {}),
      ...(options.linkTimeouts ? { timeouts: options.linkTimeouts } : {}),
      // The scan stops once the device connects, so its results say whether the device
      // advertises only while a scan runs; otherwise every attempt is made (a pending
      // connection completes as soon as the device advertises, or times out).
      reconnect: { ...options.reconnect, isAdvertising: () => owner.isAdvertising(target.peripheralId) },
      ...(target.model ? { model: target.model } : {}),
      // The core's clock: GATT timeouts, the write gap and the ramp run on it (the
      // governor's too, so a governor on routine time and its link agree).
      clock,
      // The governor's ramp, held at the device too: writes bunched by a slow link that
      // recovers are bounded when their turn comes (routine time runs faster in the demo).
      rampPerSecond: this.rampPerSecond * timeScaleOf(options),
      ...(target.traffic ? { traffic: target.traffic } : {}),
      // A user profile's own frames (init, status requests) wait for a passed stop check.
      ...(target.userProfile ? { unproven: () => owner.unproven(this) } : {}),
    });
    this.wire();
  }

  private get current(): boolean {
    return this.owner.isCurrent(this);
  }

  /** The link's five events and what the app does on each. */
  private wire(): void {
    const { link, module, ctx, owner } = this;
    const { governor } = ctx;
    link.on('notice', (message) => {
      this.message = message;
      ctx.broadcast('safety.warning', { code: 'device-notice', message });
      owner.changed();
    });
    link.on('status', (s: DeviceStatus) => {
      this.status = { ...this.status, ...s };
      delete this.status.offByHand;
      if (s.runState !== undefined && s.runState !== 'running') {
        // The chair's speed and time left are only reported while its rollers move.
        delete this.status.level;
        delete this.status.secondsLeft;
      }
      if (s.level !== undefined) {
        governor.reportDeviceLevel(s.level, s.levelIsIntensity === true, s.runState === 'running' || (s.runState === undefined && s.running === true));
      }
      // Switched off on the device itself (its button or remote) while Unknot had it
      // running — the protocol session says so (`offByHand`, by its profile's rule or its
      // hook): that is the user's stop, and no later step may switch it back on.
      if (s.offByHand === true && governor.runningSinceMs() !== null) {
        const message = `The ${KIND_RULES[module.kind].noun} was switched off on the device itself, so the session stopped.`;
        void governor.stopAll('user-stop');
        ctx.broadcast('safety.warning', { code: 'off-by-hand', message });
      }
      owner.changed();
    });
    link.on('stop-state', (e) => {
      if (!this.current) return;
      this.stop = e;
      if (e.state === 'unconfirmed') {
        // Every attempt the protocol allows was made: the user must switch it off by hand,
        // the session stays ended, and a new one waits for "It is off".
        owner.offUnconfirmed(this.peripheralId);
        this.message = unconfirmedMessage(module);
        void governor.stopUnconfirmed();
        ctx.broadcast('safety.warning', { code: 'stop-unconfirmed', message: this.message });
      }
      // A stop the device confirmed settles any count of its motor running on (its link
      // was down, or an earlier stop ended unconfirmed): it is off now. A stop that ended
      // unconfirmed and is confirmed late (a status says off: switched off by hand) also
      // lifts the "did not confirm" mark: the device proved it is off.
      if (e.state === 'confirmed') {
        governor.deviceReachable(this.peripheralId);
        owner.provenOff(this.peripheralId);
        this.saidOff = false;
        this.clearStopMessage();
      }
      owner.changed();
    });
    link.on('stop-proof', (verdict) => {
      if (!this.current) return;
      if (verdict === 'off') this.saidOff = false;
      else this.runsOn();
    });
    link.on('disconnected', (info: { reason: string; expected: boolean }) => {
      if (!this.current || info.expected) return;
      this.connection = 'reconnecting';
      delete this.stop;
      // What the device last reported is no longer known (and the reconnect writes a stop).
      delete this.status.level;
      delete this.status.running;
      this.message = `Lost contact with the massager: ${info.reason}. It may still be running. ${KIND_RULES[module.kind].handOff}`;
      governor.devicePaused(this.message);
      owner.changed();
    });
    link.on('reconnected', () => {
      if (!this.current) return;
      this.connection = 'connected';
      this.message = 'Reconnected. The motor stays off until you resume.';
      owner.changed();
      // The motor time while the link was down counts until the reconnect's stop has its
      // verdict; a link that dropped again first proves nothing, and the count goes on.
      this.settleWhenStopped();
    });
    link.on('reconnect-failed', () => {
      if (!this.current) return;
      this.connection = 'disconnected';
      // Given up while it may still run: its motor time counts on until a stop reaches it
      // on a later connection, the user says it is off, or the app closes.
      owner.mayBeRunning(this.peripheralId);
      void governor.stopAll('device-lost');
      owner.changed();
    });
  }

  /**
   * Connects the link and reads what the device offers. `stopFirst`: the app lost this
   * device while it may have been running, so (as after a reconnect) the first command is
   * a stop. Resolves to the motor port the governor drives.
   * @throws the link's error when connecting fails.
   */
  async open(stopFirst: boolean): Promise<MotorPort> {
    const info = await this.link.connect();
    if (!this.current) return this.port(info.capabilities);
    if (stopFirst) {
      await this.link.stop().catch(ignore);
      this.settleWhenStopped();
    }
    this.connection = 'connected';
    this.model = info.model;
    this.caps = info.capabilities;
    if (info.manufacturer !== undefined) this.manufacturer = info.manufacturer;
    if (info.modelNumber !== undefined) this.modelNumber = info.modelNumber;
    this.status = {
      ...this.status,
      ...(info.batteryPercent !== undefined ? { batteryPercent: info.batteryPercent } : {}),
      ...(info.firmware !== undefined ? { firmware: info.firmware } : {}),
    };
    return this.port(info.capabilities);
  }

  /**
   * Settles this device's link-down count in the governor once the stop just written has
   * the device's verdict with the link still up (the motor time while it was out of reach
   * is charged then). A link that drops first settles nothing, nor does a stop that ended
   * unconfirmed or still waits for its proof: the device may still run, and the count goes
   * on until the user says it is off or a later stop is confirmed.
   */
  private settleWhenStopped(): void {
    void this.untilStopped().then((over) => {
      if (over === true) this.ctx.governor.deviceReachable(this.peripheralId);
    });
  }

  /**
   * Waits for the latest stop's verdict (its watch always ends: deadline, then the attempts
   * its protocol allows; after {@link STOP_VERDICT_WAITS} × {@link STOP_VERDICT_MS} without
   * one it counts as unconfirmed). Resolves `true` when the motor is off as far as the
   * device can say (confirmed; cannot confirm; or a new motor command ended the watch),
   * `'unconfirmed'` when the link is up but the device did not confirm the stop, `false`
   * when the link is down.
   */
  private async untilStopped(): Promise<boolean | 'unconfirmed'> {
    for (let wait = 0; wait < STOP_VERDICT_WAITS; wait++) {
      const up = await this.link.awaitStopVerdict(STOP_VERDICT_MS);
      if (!up) return false;
      const state = this.link.stopState?.state;
      if (state !== 'waiting') return state === 'unconfirmed' ? 'unconfirmed' : true;
    }
    return 'unconfirmed';
  }

  /** The governor's way to the motor of this device. */
  private port(caps: Capabilities): MotorPort {
    const link = this.link;
    return {
      kind: this.module.kind,
      rampPerSecond: this.rampPerSecond,
      steps: caps.steps,
      minRunningStep: caps.minRunningStep,
      stepUnit: caps.stepUnit,
      deviceId: this.peripheralId,
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
      // Motor time runs until the device confirms the stop (at most the longest escalation);
      // after an unconfirmed stop it runs on until the user says it is off.
      untilStopped: () => this.untilStopped(),
      reachable: () => link.state === 'connected',
    };
  }

  /** The session moved on from a pause: "reconnected, the motor stays off until you resume" is over. */
  sessionMoved(state: 'running' | 'paused' | 'ended'): void {
    if (state !== 'paused' && this.connection === 'connected') delete this.message;
  }

  /** The motor was commanded (`step` above 0): the last stop's confirmation is history. */
  motorCommanded(step: number): void {
    if (step > 0) {
      delete this.stop;
      this.saidOff = false;
    }
  }

  /**
   * The user said the device is off (after an unconfirmed stop, or while its link was down):
   * that stop and its message are cleared, and its motor time stops counting. Until a status
   * proves it off, a status saying it runs puts all of that back ({@link runsOn}).
   */
  confirmedOff(): void {
    this.ctx.governor.deviceReachable(this.peripheralId);
    this.saidOff = true;
    if (this.stop?.state === 'unconfirmed') delete this.stop;
    this.clearStopMessage();
    // A device that reports only when asked (the gun) is asked once: if it still runs, it says so.
    this.link.askStatus();
  }

  /** Takes away the message that asks the user to switch the device off by hand (the device is known to be off). */
  private clearStopMessage(): void {
    if (this.message === unconfirmedMessage(this.module) || this.message === runsOnMessage(this.module)) delete this.message;
  }

  /**
   * A status the stop proof reads as `running`, outside a stop's watch. When no session has
   * the motor on and the device is not known to be off (its last stop ended unconfirmed, it
   * is marked so, or "It is off" was pressed and no status proved it since), it runs on:
   * marked off-unconfirmed again (a live session at step 0 ends `stop-unconfirmed`), and its
   * motor time counted again to the area of the last session that ran it, until a status
   * proves it off, "It is off" again, or the app closes. The stop is written again once per
   * marking (without awaiting it).
   */
  private runsOn(): void {
    const { governor } = this.ctx;
    const id = this.peripheralId;
    const marked = this.owner.isOffUnconfirmed(id);
    if (!marked && !this.saidOff && this.link.stopState?.state !== 'unconfirmed') return;
    if (governor.commandedStep() > 0) return; // our session has it on
    this.saidOff = false;
    governor.deviceRunsOn(id);
    if (marked) return;
    this.owner.offUnconfirmed(id);
    this.message = runsOnMessage(this.module);
    if (governor.current()) void governor.stopUnconfirmed();
    // A motor the app can still reach is not left running: the stop is written again, once
    // per marking (a device that ignores stops is not sent one per report).
    else void this.link.stop().catch(ignore);
    this.ctx.broadcast('safety.warning', { code: 'stop-unconfirmed', message: this.message });
    this.owner.changed();
  }

  /**
   * The `device.status` view of this connection. `ceiling`: the one in force; `offUnconfirmed`:
   * whether the user still has to say it is off.
   */
  view(extra: { ceiling: number; maxStep: number; commandedStep: number; offUnconfirmed: boolean }): DeviceStatusEvent {
    const { caps, status, module } = this;
    const rules = rulesFor(module.kind, { userProfile: this.userProfile !== undefined });
    return {
      connection: this.connection,
      peripheralId: this.peripheralId,
      name: this.name,
      protocolId: module.id,
      kind: module.kind,
      ...(module.experimental ? { experimental: module.experimental } : {}),
      simulated: this.simulated,
      ...(caps
        ? {
            ...(this.model ? { model: this.model } : {}),
            steps: caps.steps,
            stepUnit: caps.stepUnit,
            maxStep: extra.maxStep,
            modes: caps.modes,
            hasHeat: caps.heat,
          }
        : {}),
      ceiling: extra.ceiling,
      running: extra.commandedStep > 0,
      commandedStep: extra.commandedStep,
      ...(status.level !== undefined ? { reportedLevel: status.level } : {}),
      ...(status.batteryPercent !== undefined ? { batteryPercent: status.batteryPercent } : {}),
      ...(status.firmware !== undefined ? { firmware: status.firmware } : {}),
      ...(this.manufacturer !== undefined ? { manufacturer: this.manufacturer } : {}),
      ...(this.modelNumber !== undefined ? { modelNumber: this.modelNumber } : {}),
      ...(status.mode !== undefined ? { mode: status.mode } : {}),
      ...(status.heat !== undefined ? { heat: status.heat } : {}),
      ...(status.runState !== undefined ? { runState: status.runState } : {}),
      ...(this.stop ? { stop: { ...this.stop } } : {}),
      ...(extra.offUnconfirmed ? { offUnconfirmed: true } : {}),
      handOff: KIND_RULES[module.kind].handOff,
      ...(status.secondsLeft !== undefined ? { secondsLeft: status.secondsLeft } : {}),
      ...(this.message ? { message: this.message } : {}),
      rules,
      ...(this.userProfile ? { userProfile: { ...this.userProfile } } : {}),
    };
  }
}
