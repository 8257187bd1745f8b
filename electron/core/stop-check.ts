/**
 * The stop check (issue 17): before a device on a user profile runs its motor for the
 * first time, manual control included, the user proves that the profile's stop works.
 * `stopCheck.run` starts a session under the governor like any other (the screening,
 * the area, the daily budget and the usage log all apply, and its motor time is charged
 * to the muscle group the user chose), commands the lowest running step for
 * {@link STOP_CHECK_RUN_MS} of real time, then stops. The user then answers "Did it stop?"
 * (`stopCheck.answer`); the answer is remembered in the settings per device and per
 * version of the profile (`stopChecks`). Until a "yes" for the version the device
 * connected with, {@link StopChecks.block} keeps every session off that device; after a
 * "no" the check itself is refused too, until the profile file changes.
 *
 * While the check runs, the only session that may start on the device is the check's own
 * (a flag set just around its `startSession`); any other `session.start` (or a resume)
 * is refused `stop-check-needed`. The check's session is owned by the check itself
 * ({@link checkOwner}), not by the window that asked for it: no window can step it above the
 * lowest step or end it. When it stops running before its 2 s are up (anyone's
 * `device.stop`, the watchdog, a dropped link), the check ends at once: it asks "Did it stop?" only when the device is
 * still connected and the session ended with a stop written to it (the check's own, the
 * user's, the watchdog's); after a drop (the stop could not be written) or an unconfirmed
 * stop it goes back to `needed`. Only the connection that ran the check may answer it.
 */
import { Refusal, type Handlers } from '../ipc/boundary';
import type { ErrorCode, MuscleGroup, SessionEndReason, StopCheckState } from '../ipc/contract';
import { MAX_PLANNED_MOTOR_SECONDS } from '../ipc/contract';
import { KIND_RULES } from '../safety/rules';
import { ignore, timeScaleOf, type CoreContext } from './context';
import type { DeviceConnection } from './device-connection';
import type { Devices } from './devices';

/** The channels this concern answers. */
export type StopCheckChannels = 'stopCheck.*';

/** How long the lowest step runs before the stop, ms of real time. */
export const STOP_CHECK_RUN_MS = 2000;
/** How often the check feeds the watchdog of its own session while it runs, ms. */
const HEARTBEAT_MS = 1000;

/** The check under way or waiting for its answer (one at a time: there is one device). */
interface Pending {
  /** The connection that ran the check: the only one that may answer it. */
  owner: string;
  peripheralId: string;
  protocolId: string;
  version: string;
  phase: 'running' | 'asking';
}

/** The governor's owner of the stop check's session run for connection `connectionId`. */
export function checkOwner(connectionId: string): string {
  return `stop-check:${connectionId}`;
}

/** See the module comment. */
export class StopChecks {
  private pending: Pending | null = null;
  /** True only while the check's own session is being started (the one session {@link block} lets through). */
  private admitting = false;
  /** The check's own session while it runs. */
  private checkSessionId: string | null = null;

  constructor(
    private readonly ctx: CoreContext,
    private readonly devices: Devices,
  ) {}

  /**
   * Where the connected device's stop check stands, or undefined for a built-in profile
   * (or no device). A check of another device or of an older version does not count.
   */
  state(d: DeviceConnection | null = this.devices.current()): StopCheckState | undefined {
    if (!d?.userProfile) return undefined;
    const p = this.pending;
    if (p && p.peripheralId === d.peripheralId && p.protocolId === d.module.id && p.version === d.userProfile.version) return p.phase;
    const record = this.ctx.settings.get().stopChecks[d.peripheralId]?.[d.module.id];
    if (!record || record.version !== d.userProfile.version) return 'needed';
    return record.stopped ? 'passed' : 'failed';
  }

  /**
   * Why no session may start on the connected device: its stop check is needed or was
   * failed, or is running (null when it passed, on a built-in profile, for the check's own
   * session as it starts, and for that session while it runs, so that a settings change
   * does not end it as if the screening had). The governor asks this with the screening
   * (`LimitsSource.motorBlock`), at `startSession`, `resume` and `recheckBlock`.
   */
  block(): { code: ErrorCode; message: string } | null {
    const state = this.state();
    if (state === undefined || state === 'passed') return null;
    if (state === 'running') {
      if (this.admitting) return null;
      const s = this.ctx.governor.current();
      if (s && s.sessionId === this.checkSessionId && s.state === 'running') return null;
      return { code: 'stop-check-needed', message: 'The stop check is running on this device. Wait for it to finish and answer it.' };
    }
    if (state === 'failed') {
      return {
        code: 'stop-check-needed',
        message: 'You said this device did not stop when Unknot stopped it, so motor control stays off for it until its profile changes.',
      };
    }
    return { code: 'stop-check-needed', message: 'Run the stop check for this device first: it is on your own profile.' };
  }

  /** The handlers of this concern's channels. */
  handlers(): Handlers<StopCheckChannels> {
    return {
      'stopCheck.run': async ({ muscleGroup }, { connectionId }) => {
        await this.run(connectionId, muscleGroup);
        return this.devices.status();
      },
      'stopCheck.answer': async ({ stopped }, { connectionId }) => {
        await this.answer(connectionId, stopped);
        return this.devices.status();
      },
    };
  }

  private async run(owner: string, muscleGroup: MuscleGroup): Promise<void> {
    const { governor } = this.ctx;
    const d = this.devices.requireDevice();
    if (!d.userProfile) throw new Refusal('refused', 'The stop check is for devices on your own profiles; this one runs on a built-in profile.');
    if (d.connection !== 'connected') throw new Refusal('not-connected', 'The massager is not connected yet. Wait for it to connect.');
    this.devices.requireConfirmedOff();
    const state = this.state(d);
    if (state === 'running') throw new Refusal('refused', 'The stop check is already running.');
    if (state === 'failed') throw new Refusal('stop-check-needed', this.block()!.message);
    const steps = d.caps?.steps ?? 0;
    if (steps < 1) throw new Refusal('refused', 'This profile declares no intensity steps, so there is no lowest step to run.');
    const lowest = Math.min(1, Math.max(1, d.caps?.minRunningStep ?? 1) / steps);
    const pending: Pending = { owner, peripheralId: d.peripheralId, protocolId: d.module.id, version: d.userProfile.version, phase: 'running' };
    this.pending = pending;
    this.devices.broadcastStatus();
    let sessionId: string | undefined;
    let endedEarly: SessionEndReason | 'paused' | undefined;
    // The check's session belongs to the check, not to the window that asked for it: that
    // window cannot step it above the lowest step (any window can still stop it).
    const sessionOwner = checkOwner(owner);
    try {
      // Routine time: with demo mode's time scale the grant must still cover 2 s of real time (and some).
      const planned = Math.min(MAX_PLANNED_MOTOR_SECONDS, Math.ceil(((STOP_CHECK_RUN_MS + HEARTBEAT_MS) / 1000) * timeScaleOf(this.ctx.options)));
      this.admitting = true;
      try {
        sessionId = governor.startSession(sessionOwner, { muscleGroup, plannedMotorSeconds: planned }).sessionId;
      } finally {
        this.admitting = false;
      }
      this.checkSessionId = sessionId;
      governor.setStep(sessionOwner, sessionId, lowest);
      endedEarly = await this.runFor(sessionOwner, sessionId);
      const s = governor.current();
      if (s && s.sessionId === sessionId) await governor.end(sessionOwner, sessionId, 'completed');
    } catch (err) {
      this.checkSessionId = null;
      if (this.pending === pending) this.pending = null;
      if (sessionId) await governor.stopAll('user-stop').catch(ignore);
      this.devices.broadcastStatus();
      throw err;
    }
    this.checkSessionId = null;
    // Stopped, by the check or earlier (the user's stop, the watchdog): the user saw the
    // motor run and a stop written to it. Still the same device and link, and a stop that
    // was written and not left unconfirmed: ask. Otherwise the check is needed again.
    const now = this.devices.current();
    const stopUnproven = endedEarly === 'paused' || endedEarly === 'stop-unconfirmed' || endedEarly === 'device-lost';
    if (this.pending !== pending || now !== d || d.connection !== 'connected' || stopUnproven) {
      if (this.pending === pending) this.pending = null;
      this.devices.broadcastStatus();
      throw new Refusal('refused', 'The device went away during the stop check. Connect it again and run the check again.');
    }
    pending.phase = 'asking';
    this.devices.broadcastStatus();
  }

  /**
   * Waits {@link STOP_CHECK_RUN_MS} on the core's clock, feeding the session's watchdog.
   * Resolves early, at once, when the session stops running (the governor's `state` event):
   * with the end reason, or `'paused'` when it was paused (by its owner or a dropped link);
   * undefined when the time ran out.
   */
  private runFor(owner: string, sessionId: string): Promise<SessionEndReason | 'paused' | undefined> {
    const { clock, governor } = this.ctx;
    return new Promise((resolve) => {
      let done = false;
      let endReason: SessionEndReason | undefined;
      const finish = (how: SessionEndReason | 'paused' | undefined): void => {
        if (done) return;
        done = true;
        offState();
        offEnded();
        resolve(how);
      };
      const offEnded = governor.on('ended', (e) => {
        if (e.sessionId === sessionId) {
          endReason = e.reason;
          finish(e.reason);
        }
      });
      const offState = governor.on('state', (e) => {
        if (e.sessionId !== sessionId || e.state === 'running') return;
        // 'ended' is followed at once by the ended event with its reason.
        if (e.state === 'paused') finish('paused');
      });
      const started = clock.now();
      const beat = (): void => {
        if (done) return;
        const s = governor.current();
        if (!s || s.sessionId !== sessionId) return finish(endReason ?? 'user-stop');
        if (s.state !== 'running') return finish(s.state === 'paused' ? 'paused' : (endReason ?? 'user-stop'));
        const left = STOP_CHECK_RUN_MS - (clock.now() - started);
        if (left <= 0) return finish(undefined);
        try {
          governor.heartbeat(owner, sessionId);
        } catch {
          return finish(endReason ?? 'user-stop');
        }
        clock.setTimeout(beat, Math.min(HEARTBEAT_MS, left));
      };
      clock.setTimeout(beat, Math.min(HEARTBEAT_MS, STOP_CHECK_RUN_MS));
    });
  }

  private async answer(connectionId: string, stopped: boolean): Promise<void> {
    const d = this.devices.requireDevice();
    const p = this.pending;
    if (!p || p.phase !== 'asking' || this.state(d) !== 'asking') {
      throw new Refusal('refused', 'Run the stop check first: the answer is for a check you just watched.');
    }
    if (p.owner !== connectionId) {
      throw new Refusal('refused', 'Only the window that ran the stop check can answer it: answer "Did it stop?" there, or run the check again here.');
    }
    this.pending = null;
    try {
      await this.ctx.settings.recordStopCheck(p.peripheralId, { protocolId: p.protocolId, version: p.version, stopped });
    } finally {
      this.devices.broadcastStatus();
    }
    if (!stopped) {
      // The motor may still run: stop everything again and say how to switch it off.
      await this.ctx.governor.stopAll('user-stop').catch(ignore);
      this.ctx.broadcast('safety.warning', {
        code: 'stop-check-failed',
        message: `Switch the ${KIND_RULES[d.module.kind].noun} off by hand now: ${KIND_RULES[d.module.kind].handOff} Motor control stays off for it until its profile changes.`,
      });
    }
  }
}
