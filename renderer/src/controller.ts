/**
 * The renderer's actions: loading state from the main process, following its events,
 * and running a routine (or manual control) as a session — the runner decides the step
 * from elapsed monotonic time, the main process owns the motor. Also the global
 * Space/Escape stop and the heartbeat.
 *
 * One {@link Controller} per page (main.tsx creates it; tests create their own over a
 * fake bridge). It owns its timers and listeners ({@link Controller.dispose} ends them)
 * and changes the run only by dispatching run events (run.ts) to its store. Components
 * reach it through {@link useActions} and call only its named actions.
 */
import { createContext, useContext } from 'react';
import { MAX_PLANNED_MOTOR_SECONDS, type MuscleGroup, type ScanEntry, type SessionEndReason, type SessionEndedEvent, type SettingsPatch } from './contract';
import { BridgeError, call, devicesOf, on, onLinkState, tryCall } from './api';
import { t } from './i18n/en';
import { findRoutine } from './routines/library';
import { isRunActive, isRunLive, plannedSeconds, runPosition, runSessionId, stepIntensity, waterDue, type Run } from './run';
import { alarm, chime, speak, stopSpeaking, unlockAudio } from './sound';
import { budgetFor, observedSession, rulesOf, saveKnots, withTraffic, type AppStore, type Screen, type State } from './store';
import { saveTextFile } from './save-file';

/** Heartbeat period while a session of this page runs, ms (real time, DESIGN §2). */
const HEARTBEAT_MS = 1000;
/** How often the runner is asked where the routine is, ms. */
const TICK_MS = 100;
/** Manual intensity updates go out at most this often, ms (latest wins). */
const MANUAL_GAP_MS = 100;

const errorText = (err: unknown): string => (err instanceof Error && err.message ? err.message : t.errors.generic);
const errorCode = (err: unknown): string => (err instanceof BridgeError ? err.code : 'internal');

/** The bridge client's calls the controller uses (api.ts; tests pass a fake). */
export interface Bridge {
  call: typeof call;
  tryCall: typeof tryCall;
  on: typeof on;
  onLinkState: typeof onLinkState;
}

/** The page's bridge: the Electron preload or the browser host's WebSocket (api.ts). */
export const pageBridge: Bridge = { call, tryCall, on, onLinkState };

/** The sounds the controller plays (sound.ts). */
export interface Sounds {
  alarm: () => void;
  chime: () => void;
  speak: (text: string) => void;
  stopSpeaking: () => void;
  unlockAudio: () => void;
}

const pageSounds: Sounds = { alarm, chime, speak, stopSpeaking, unlockAudio };

/** What a controller works with. */
export interface ControllerOptions {
  store: AppStore;
  /** Default: {@link pageBridge}. */
  bridge?: Bridge;
  /** Default: the WebAudio and speech sounds of sound.ts. */
  sounds?: Sounds;
  /** The monotonic clock, ms (default `performance.now()`). */
  now?: () => number;
}

// ---------------- a page closed or reloaded mid-session ----------------

/** What a page remembers (sessionStorage, this tab only) when it goes away mid-session. */
export interface Interrupted {
  sessionId: string;
  mode: Run['mode'];
  routineId?: string;
  muscleGroup: MuscleGroup;
  /** Routine time run so far, seconds (an estimate; the main process keeps the real count). */
  usedSeconds?: number;
  /** When the note was left, ms since the epoch (`Date.now()`). */
  at: number;
}

const INTERRUPTED_KEY = 'unknot.interrupted';
/** A note older than this is from another visit, not from this reload. */
const INTERRUPTED_MAX_AGE_MS = 10 * 60_000;

function takeInterrupted(): Interrupted | null {
  try {
    const raw = sessionStorage.getItem(INTERRUPTED_KEY);
    sessionStorage.removeItem(INTERRUPTED_KEY);
    const v = raw ? (JSON.parse(raw) as Interrupted) : null;
    return v && typeof v === 'object' && typeof v.sessionId === 'string' && typeof v.at === 'number' ? v : null;
  } catch {
    return null;
  }
}

// ---------------- global stop keys ----------------

function isTextEntry(el: Element | null): boolean {
  if (!el) return false;
  if ((el as HTMLElement).isContentEditable) return true;
  if (el instanceof HTMLTextAreaElement) return true;
  if (el instanceof HTMLSelectElement) return false;
  if (el instanceof HTMLInputElement) {
    return !['button', 'submit', 'reset', 'checkbox', 'radio', 'range', 'color', 'file', 'image'].includes(el.type);
  }
  return false;
}

/** Whether a stop key has something to stop: this page's run, the motor, or any session. */
function somethingRunning(s: State): boolean {
  return Boolean(isRunActive(s.run) || s.device.running || (s.session && s.session.state !== 'ended'));
}

/** The renderer's actions over one store and one bridge. Create with {@link createController}. */
export class Controller {
  readonly store: AppStore;
  private readonly bridge: Bridge;
  private readonly sounds: Sounds;
  private readonly now: () => number;

  private heartbeatTimer: ReturnType<typeof setInterval> | null = null;
  private tickTimer: ReturnType<typeof setInterval> | null = null;
  private manualTimer: ReturnType<typeof setTimeout> | null = null;
  private manualPending: number | null = null;
  private swallowSpaceUp = false;
  private initialised = false;
  private readonly undo: (() => void)[] = [];

  constructor(options: ControllerOptions) {
    this.store = options.store;
    this.bridge = options.bridge ?? pageBridge;
    this.sounds = options.sounds ?? pageSounds;
    this.now = options.now ?? (() => performance.now());
  }

  private state(): State {
    return this.store.getState();
  }

  private timeScale(): number {
    return this.state().info?.timeScale ?? 1;
  }

  // ---------------- loading ----------------

  /** Reads everything the page shows from the main process; a failed read keeps what was there. */
  async refreshAll(): Promise<void> {
    const { tryCall, call } = this.bridge;
    const [info, adapter, settings, usage, list, device, session] = await Promise.all([
      tryCall('app.info'),
      tryCall('adapter.get'),
      tryCall('settings.get'),
      tryCall('usage.today'),
      tryCall('device.list'),
      tryCall('device.get'),
      // null is an answer here (no session), so a failure is told apart from it
      call('session.get').then(
        (v) => ({ v }),
        () => null,
      ),
    ]);
    this.store.setState((s) => ({
      info: info ?? s.info,
      adapter: adapter ?? s.adapter,
      settings: settings ?? s.settings,
      usage: Array.isArray(usage) ? usage : s.usage,
      devices: list ? devicesOf(list) : s.devices,
      scanning: list && !Array.isArray(list) && typeof list.scanning === 'boolean' ? list.scanning : s.scanning,
      device: device && typeof device === 'object' && typeof device.connection === 'string' ? device : s.device,
      session: session ? session.v : s.session,
    }));
    if (info?.demo || adapter?.demo) await this.refreshSim();
    // the connected device's traffic so far (later entries come as device.traffic events)
    const current = this.state().device;
    if (current.peripheralId && current.connection !== 'disconnected') await this.refreshTraffic(current.peripheralId);
  }

  /** Reads what the simulated peripherals decoded (demo mode). */
  async refreshSim(): Promise<void> {
    const sim = await this.bridge.tryCall('sim.state');
    if (Array.isArray(sim)) this.store.setState({ sim });
  }

  /** Reads today's budgets per muscle group. */
  async refreshUsage(): Promise<void> {
    const usage = await this.bridge.tryCall('usage.today');
    if (Array.isArray(usage)) this.store.setState({ usage });
  }

  /** The note to leave when the page goes away while `run` is active, or null. `now`: ms since the epoch. */
  interruptedNote(run: Run | null, now = Date.now()): Interrupted | null {
    const sessionId = runSessionId(run);
    if (!run || !sessionId || !isRunActive(run)) return null;
    const pos = runPosition(run, this.now(), this.timeScale());
    return {
      sessionId,
      mode: run.mode,
      ...(run.mode === 'routine' ? { routineId: run.routineId } : {}),
      muscleGroup: run.muscleGroup,
      ...(pos ? { usedSeconds: pos.routineElapsedMs / 1000 } : {}),
      at: now,
    };
  }

  /**
   * After a reload: the main process stopped the session the old page owned when its
   * connection went away. Says so, unless that session is still running (then the
   * page shows it as an observer and claims nothing). `now`: ms since the epoch.
   */
  showInterrupted(note: Interrupted | null, now = Date.now()): void {
    if (!note || now - note.at > INTERRUPTED_MAX_AGE_MS || note.at > now) return;
    const s = this.state();
    if (s.session && s.session.sessionId === note.sessionId && s.session.state !== 'ended') return;
    if (s.run) return;
    const planned = note.mode === 'routine' && note.routineId ? findRoutine(note.routineId) : undefined;
    if (!planned) {
      this.store.setState({ notice: t.summary.pageClosedManual });
      return;
    }
    this.store.dispatch(
      { type: 'interrupted', routine: planned, message: t.summary.pageClosed, ...(typeof note.usedSeconds === 'number' ? { usedSeconds: note.usedSeconds } : {}) },
      { screen: 'guided' },
    );
  }

  private leaveInterrupted = (): void => {
    const note = this.interruptedNote(this.state().run);
    try {
      if (note) sessionStorage.setItem(INTERRUPTED_KEY, JSON.stringify(note));
    } catch {
      /* storage may be off: the page then opens without the note */
    }
  };

  /** Follows the main process's events and the stop keys. Once per controller; {@link dispose} undoes it. */
  init(): void {
    if (this.initialised) return;
    this.initialised = true;
    const { on, onLinkState } = this.bridge;
    const store = this.store;

    let interrupted = takeInterrupted();
    window.addEventListener('pagehide', this.leaveInterrupted);
    this.undo.push(() => window.removeEventListener('pagehide', this.leaveInterrupted));

    this.undo.push(
      onLinkState((link, wasLost) => {
        store.setState({ link, linkWasLost: wasLost || this.state().linkWasLost });
        if (link === 'open') {
          if (wasLost) this.announce(t.link.back);
          void this.refreshAll().then(() => {
            this.showInterrupted(interrupted);
            interrupted = null;
          });
        } else if (link === 'lost') {
          this.announce(t.link.lost, true);
          // The host stops the motor when the connection that owns the session drops.
          if (isRunActive(this.state().run)) this.endLocally('connection-lost', t.summary.reasons['connection-lost']);
        }
      }),
      on('adapter.state', (adapter) => store.setState({ adapter })),
      on('scan.results', (r) => store.setState((s) => ({ devices: devicesOf(r), scanning: typeof r?.scanning === 'boolean' ? r.scanning : s.scanning }))),
      on('device.status', (device) => {
        const prev = this.state().device;
        store.setState({ device: device ?? { connection: 'disconnected' } });
        if (device?.stop?.state === 'unconfirmed' && prev.stop?.state !== 'unconfirmed') {
          // Someone working on their own back may not be looking: say it with the step sound too.
          const sound = this.state().settings?.sound ?? 'chime';
          if (sound !== 'off') this.sounds.alarm();
          if (sound === 'chime-and-voice') this.sounds.speak(t.stop.spoken(device.handOff ?? ''));
          this.announce(t.stop.unconfirmed, true);
        }
        if (device?.connection === 'connected' && prev.connection !== 'connected') {
          this.announce(t.announce.connected(device.name ?? ''));
          void this.refreshAll();
        } else if (device?.connection === 'disconnected' && prev.connection !== 'disconnected') {
          this.announce(t.announce.disconnected, true);
          // The settings view's rules were the device's: read the general ones again.
          void this.reloadSettings();
        }
      }),
      on('session.state', (ev) => {
        store.setState({ session: ev });
        const run = this.state().run;
        if (!run || !ev || runSessionId(run) !== ev.sessionId) return;
        if (ev.state === 'paused' && run.phase === 'running') {
          store.dispatch({ type: 'paused-by-main', now: this.now(), ...(ev.pausedReason !== undefined ? { reason: ev.pausedReason } : {}) });
          this.announce(ev.pausedReason ? `${t.guided.announcePaused} ${ev.pausedReason}` : t.guided.announcePaused, true);
        }
      }),
      on('session.ended', (ev) => {
        const observed = observedSession(this.state());
        store.setState({ session: null });
        if (observed && ev && observed.sessionId === ev.sessionId) {
          store.setState({ notice: t.observer.ended(ev.message || t.summary.reasons[ev.reason] || '') });
        }
        const run = this.state().run;
        if (run && ev && runSessionId(run) === ev.sessionId) {
          if (isRunLive(run)) {
            // The main process counts the same granted time: when its cap lands within the
            // last moments of the routine, the routine simply finished.
            const pos = runPosition(run, this.now(), this.timeScale());
            const finished = (ev.reason === 'session-cap' || ev.reason === 'daily-budget') && pos !== null && pos.progress >= 0.95;
            if (finished) this.endLocally('completed', t.summary.reasons.completed, ev.usedMotorSeconds);
            else if (ev.reason === 'user-stop' && run.phase !== 'ending') {
              // Stopped, but not from this window: say where it may have come from.
              this.endLocally(ev.reason, t.summary.stoppedElsewhere, ev.usedMotorSeconds);
            } else this.endLocally(ev.reason, ev.message || t.summary.reasons[ev.reason] || '', ev.usedMotorSeconds);
          } else if (typeof ev.usedMotorSeconds === 'number') {
            store.dispatch({ type: 'usage-counted', usedMotorSeconds: ev.usedMotorSeconds });
          }
        }
        void this.refreshUsage();
      }),
      on('safety.clamped', (clamped) => store.setState({ clamped })),
      on('safety.warning', (w) => {
        // An unconfirmed stop has its own alert (with "It is off"), from the device status.
        if (w?.code === 'stop-unconfirmed') return;
        store.setState({ warning: w?.message ?? null });
        if (w?.message) this.announce(w.message, true);
      }),
      on('sim.state', (sim) => Array.isArray(sim) && store.setState({ sim })),
      on('store.notice', (n) => store.setState({ notice: n?.message ?? null })),
      // a device's traffic, in batches (the device panel's report section, the lab's try panel)
      on('device.traffic', (b) => {
        if (b && typeof b.peripheralId === 'string' && Array.isArray(b.entries)) store.setState((s) => ({ traffic: withTraffic(s.traffic, b.peripheralId, b.entries) }));
      }),
    );

    document.addEventListener('keydown', this.onGlobalKey, true);
    document.addEventListener('keyup', this.onGlobalKeyUp, true);
    this.undo.push(() => {
      document.removeEventListener('keydown', this.onGlobalKey, true);
      document.removeEventListener('keyup', this.onGlobalKeyUp, true);
    });

    if (typeof matchMedia === 'function') {
      const dark = matchMedia('(prefers-color-scheme: dark)');
      const onDark = (e: MediaQueryListEvent): void => store.setState({ systemDark: e.matches });
      dark.addEventListener?.('change', onDark);
      const rm = matchMedia('(prefers-reduced-motion: reduce)');
      const onMotion = (e: MediaQueryListEvent): void => store.setState({ systemReducedMotion: e.matches });
      rm.addEventListener?.('change', onMotion);
      this.undo.push(() => {
        dark.removeEventListener?.('change', onDark);
        rm.removeEventListener?.('change', onMotion);
      });
    }
  }

  /** Ends this controller's timers and listeners (the run's state stays as it is). */
  dispose(): void {
    this.stopTimers();
    if (this.manualTimer) clearTimeout(this.manualTimer);
    this.manualTimer = null;
    this.manualPending = null;
    while (this.undo.length) this.undo.pop()?.();
    this.initialised = false;
  }

  // ---------------- page state ----------------

  /** Speaks `text` through the ARIA live regions (`assertive` interrupts). */
  announce(text: string, assertive = false): void {
    this.store.setState((s) => (assertive ? { assertive: { text, n: s.assertive.n + 1 } } : { polite: { text, n: s.polite.n + 1 } }));
  }

  /** Shows `screen`. */
  go(screen: Screen): void {
    this.store.setState({ screen });
  }

  /** Filters the routine library to `group` (null: every area). */
  setGroupFilter(group: MuscleGroup | null): void {
    this.store.setState({ groupFilter: group });
  }

  /** Hides the warning banner. */
  dismissWarning(): void {
    this.store.setState({ warning: null });
  }

  /** Hides the notice banner. */
  dismissNotice(): void {
    this.store.setState({ notice: null });
  }

  /** Marks (or, with `at` null, unmarks) where the knot is for `group`, in body-map coordinates; kept in localStorage. */
  markKnot(group: MuscleGroup, at: { x: number; y: number } | null): void {
    const next = { ...this.state().knots };
    if (at) next[group] = at;
    else delete next[group];
    this.store.setState({ knots: next });
    saveKnots(next);
  }

  // ---------------- pairing ----------------

  /** Turns on the simulated devices and scans for them. */
  async enableDemo(): Promise<void> {
    try {
      await this.bridge.call('demo.enable');
      await this.refreshAll();
      await this.refreshSim();
      await this.scan();
    } catch (err) {
      this.store.setState({ warning: errorText(err) });
    }
  }

  /** Starts a scan; results also arrive as `scan.results` events. */
  async scan(): Promise<void> {
    this.store.setState({ scanning: true, warning: null });
    try {
      const r = await this.bridge.call('scan.start');
      const list = devicesOf(r);
      if (list.length) this.store.setState({ devices: list });
    } catch (err) {
      this.store.setState({ scanning: false, warning: errorText(err) });
    }
  }

  /** Connects `entry`, as `protocolId` when the user picked one of several candidates. */
  async connect(entry: ScanEntry, protocolId?: string): Promise<void> {
    this.store.setState((s) => ({ warning: null, device: { ...s.device, connection: 'connecting', peripheralId: entry.peripheralId, name: entry.name } }));
    try {
      await this.bridge.call('device.connect', protocolId ? { peripheralId: entry.peripheralId, protocolId } : { peripheralId: entry.peripheralId });
    } catch (err) {
      this.store.setState({ warning: errorText(err), device: { connection: 'disconnected' } });
    }
    await this.refreshAll();
  }

  /** Stops everything, then disconnects the device. */
  async disconnect(): Promise<void> {
    await this.stopEverything();
    await this.bridge.tryCall('device.disconnect');
    await this.refreshAll();
  }

  /** Injects `fault` into the simulated peripheral `peripheralId` (`name` for the announcement). */
  async simFault(peripheralId: string, fault: string, name: string): Promise<void> {
    try {
      await this.bridge.call('sim.fault', { peripheralId, fault });
      // The words the panel's button showed, as main sent them in `sim.state`.
      const label = this.store.getState().sim.find((p) => p.peripheralId === peripheralId)?.faultLabels[fault] ?? fault;
      this.announce(t.sim.faultSent(label, name));
    } catch (err) {
      this.store.setState({ warning: errorText(err) });
    }
    void this.refreshSim();
  }

  // ---------------- a device's traffic ----------------

  /** Reads the recent traffic of `peripheralId` (default: the connected device) into the store; a refusal leaves what was there. */
  async refreshTraffic(peripheralId?: string): Promise<void> {
    const view = await this.bridge.tryCall('device.traffic', peripheralId ? { peripheralId } : {});
    if (view && Array.isArray(view.entries)) this.store.setState((s) => ({ traffic: withTraffic(s.traffic, view.peripheralId, view.entries, true) }));
  }

  /**
   * Saves the capture of `peripheralId`'s traffic (default: the connected device) as a file:
   * a download in the browser host, Electron's save dialog (the lab's path, save-file.ts).
   * @returns whether a file was offered; a refusal is shown as the warning.
   */
  async saveDeviceCapture(peripheralId?: string): Promise<boolean> {
    try {
      const capture = await this.bridge.call('device.capture', peripheralId ? { peripheralId } : {});
      saveTextFile(capture.fileName, capture.text);
      this.announce(t.traffic.saved(capture.fileName));
      return true;
    } catch (err) {
      this.store.setState({ warning: errorText(err) });
      return false;
    }
  }

  /** "It is off": the user checked that a massager whose stop was not confirmed is off. */
  async confirmOff(): Promise<void> {
    try {
      const device = await this.bridge.call('device.confirmOff');
      if (device) this.store.setState({ device });
      this.announce(t.stop.confirmedOff);
    } catch (err) {
      this.store.setState({ warning: errorText(err) });
    }
  }

  /** Runs the stop check of a device on a user profile, its motor time counted against `group`. */
  async runStopCheck(group: MuscleGroup): Promise<void> {
    try {
      const device = await this.bridge.call('stopCheck.run', { muscleGroup: group });
      this.store.setState({ device });
      this.announce(t.stopCheck.question);
    } catch (err) {
      this.store.setState({ warning: errorText(err) });
    }
  }

  /** The user's answer to "Did it stop?" after the stop check. */
  async answerStopCheck(stopped: boolean): Promise<void> {
    try {
      const device = await this.bridge.call('stopCheck.answer', { stopped });
      this.store.setState({ device });
      this.announce(stopped ? t.stopCheck.passed : t.stopCheck.failed, !stopped);
    } catch (err) {
      this.store.setState({ warning: errorText(err) });
    }
  }

  /** Switches the device's heat on or off (the main process decides whether it may). */
  async setHeat(on: boolean): Promise<void> {
    try {
      await this.bridge.call('device.setHeat', { on });
    } catch (err) {
      this.store.setState({ warning: errorText(err) });
    }
  }

  // ---------------- settings ----------------

  /** Saves a settings change; resolves false (with the warning shown) when the main process refused it. */
  async saveSettings(patch: SettingsPatch): Promise<boolean> {
    try {
      const view = await this.bridge.call('settings.set', patch);
      if (view && typeof view === 'object' && 'sessionCapSeconds' in view) this.store.setState({ settings: view });
      else await this.reloadSettings();
      // A changed daily limit changes what is left today for every area.
      if (patch.dailyBudgetSeconds !== undefined) await this.refreshUsage();
      return true;
    } catch (err) {
      this.store.setState({ warning: errorText(err) });
      await this.reloadSettings();
      return false;
    }
  }

  /** Reads the settings again. */
  async reloadSettings(): Promise<void> {
    const settings = await this.bridge.tryCall('settings.get');
    if (settings) this.store.setState({ settings });
  }

  /** Saves one screening answer (`yes` disables motor control). */
  async answerScreening(id: string, yes: boolean): Promise<void> {
    const answers = { ...(this.state().settings?.screening ?? {}), [id]: yes };
    // Show the answer at once; the main process's view replaces it.
    this.store.setState((s) => (s.settings ? { settings: { ...s.settings, screening: answers } } : {}));
    try {
      const view = await this.bridge.call('screening.set', { answers });
      // The contract types the reply; a reply without the screening answers is not trusted.
      if (view && typeof view === 'object' && 'screening' in view) this.store.setState({ settings: view });
      else await this.reloadSettings();
    } catch (err) {
      this.store.setState({ warning: errorText(err) });
      await this.reloadSettings();
    }
  }

  /** Stops everything, then deletes the user's data; resolves false (warning shown) on failure. */
  async deleteData(): Promise<boolean> {
    try {
      await this.stopEverything();
      await this.bridge.call('data.delete', { confirm: 'delete my data' });
      this.store.setState({ knots: {} });
      try {
        localStorage.clear();
      } catch {
        /* ignore */
      }
      await this.refreshAll();
      return true;
    } catch (err) {
      this.store.setState({ warning: errorText(err) });
      return false;
    }
  }

  // ---------------- runs ----------------

  /** Opens a routine's preparation screen (or, while a run is active, goes back to it). */
  openRoutine(routineId: string): void {
    const current = this.state().run;
    if (isRunActive(current)) {
      this.go(current.mode === 'routine' ? 'guided' : 'devices');
      return;
    }
    const planned = findRoutine(routineId);
    if (!planned) return;
    this.store.dispatch({ type: 'opened', routine: planned }, { screen: 'guided', clamped: null });
  }

  /** Leaves the preparation screen or the summary (not an active run). */
  closeRun(): void {
    const run = this.state().run;
    if (isRunActive(run)) return;
    this.store.dispatch({ type: 'closed' }, { screen: run?.mode === 'manual' ? 'devices' : 'routines' });
  }

  private startTimers(): void {
    this.stopTimers();
    this.heartbeatTimer = setInterval(() => {
      const run = this.state().run;
      const sessionId = runSessionId(run);
      if (!sessionId || !isRunActive(run)) return;
      void this.bridge.call('session.heartbeat', { sessionId }).catch((err: unknown) => {
        if (errorCode(err) === 'no-session') this.endLocally('error', errorText(err));
      });
    }, HEARTBEAT_MS);
    this.tickTimer = setInterval(() => this.tick(), TICK_MS);
  }

  private stopTimers(): void {
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    if (this.tickTimer) clearInterval(this.tickTimer);
    this.heartbeatTimer = this.tickTimer = null;
  }

  private tick(): void {
    const before = this.state().run;
    const after = this.store.dispatch({ type: 'tick', now: this.now(), timeScale: this.timeScale() });
    if (after === before || !after) return;
    if (after.phase === 'ending') void this.finish();
    else if (after.phase === 'running' && after.mode === 'routine' && after.sentStep !== null) void this.sendStep(after.sentStep, true);
  }

  private async sendStep(index: number, announceIt: boolean): Promise<void> {
    const run = this.state().run;
    if (run?.phase !== 'running' || run.mode !== 'routine') return;
    const step = run.routine.steps[index];
    const intensity = stepIntensity(run, index);
    if (!step || intensity === null) return;
    this.store.dispatch({ type: 'step', index });
    if (announceIt) {
      this.announce(t.guided.announceStep(index + 1, run.routine.steps.length, step.title, step.cue));
      const sound = this.state().settings?.sound ?? 'chime';
      if (sound !== 'off') this.sounds.chime();
      if (sound === 'chime-and-voice') this.sounds.speak(`${step.title}. ${step.cue}`);
    }
    try {
      await this.bridge.call('session.setStep', { sessionId: run.sessionId, intensity, motion: step.motion });
    } catch (err) {
      this.store.dispatch({ type: 'failed', error: errorText(err), errorCode: errorCode(err) });
    }
  }

  /** Starts the open routine: asks the main process for a session and runs it. */
  async startRoutine(): Promise<void> {
    const run = this.state().run;
    if (run?.phase !== 'prep') return;
    this.sounds.unlockAudio();
    const planned = run.planned;
    this.store.dispatch({ type: 'start-requested' });
    try {
      const res = await this.bridge.call('session.start', {
        muscleGroup: planned.muscleGroup,
        plannedMotorSeconds: plannedSeconds(planned),
        routineId: planned.id,
      });
      const after = this.store.dispatch({ type: 'granted', result: res, now: this.now() });
      if (after?.phase !== 'running' || after.sessionId !== res.sessionId) {
        // The run moved on while the grant was on its way: this page will not run that session.
        await this.bridge.tryCall('session.end', { sessionId: res.sessionId });
        return;
      }
      this.startTimers();
      await this.sendStep(0, true);
    } catch (err) {
      this.store.dispatch({ type: 'refused', error: errorText(err), errorCode: errorCode(err) });
      this.announce(errorText(err), true);
      void this.refreshUsage();
    }
  }

  /** Pauses the running session (the main process stops the motor and its clock). */
  async pauseRun(): Promise<void> {
    const run = this.state().run;
    if (run?.phase !== 'running') return;
    this.store.dispatch({ type: 'paused', now: this.now() });
    this.announce(t.guided.announcePaused, true);
    try {
      await this.bridge.call('session.pause', { sessionId: run.sessionId });
    } catch (err) {
      // Pausing must never leave the motor on: stop it outright.
      await this.bridge.tryCall('device.stop');
      this.store.dispatch({ type: 'failed', error: errorText(err) });
    }
  }

  /** Resumes a paused session, then asks again for the current step (or the manual intensity). */
  async resumeRun(): Promise<void> {
    const run = this.state().run;
    if (run?.phase !== 'paused') return;
    try {
      await this.bridge.call('session.resume', { sessionId: run.sessionId });
    } catch (err) {
      this.store.dispatch({ type: 'failed', error: errorText(err), errorCode: errorCode(err) });
      return;
    }
    const after = this.store.dispatch({ type: 'resumed', now: this.now() });
    if (after?.phase !== 'running') return;
    this.announce(t.guided.announceResumed);
    if (after.mode === 'routine') {
      const pos = runPosition(after, this.now(), this.timeScale());
      if (pos && !pos.done) await this.sendStep(pos.stepIndex, false);
    } else {
      await this.setManualIntensity(after.manualIntensity);
    }
  }

  /** Marks the run ended on our side (timers off, summary shown). `used`: motor seconds, when the main process said. */
  private endLocally(reason: SessionEndReason | string, message: string, used?: number): void {
    this.stopTimers();
    this.sounds.stopSpeaking();
    if (!this.state().run) return;
    this.store.dispatch({
      type: 'ended',
      reason,
      message,
      now: this.now(),
      timeScale: this.timeScale(),
      ...(used !== undefined ? { usedMotorSeconds: used } : {}),
    });
    void this.refreshUsage();
  }

  /** The routine reached its end (the tick moved it to `ending`): ends the session. */
  private async finish(): Promise<void> {
    const run = this.state().run;
    if (run?.phase !== 'ending') return;
    this.stopTimers();
    const used = usedOf(await this.bridge.tryCall('session.end', { sessionId: run.sessionId }));
    this.endLocally('completed', t.summary.reasons.completed, used);
    const sound = this.state().settings?.sound ?? 'chime';
    if (sound !== 'off') this.sounds.chime();
    const after = this.state().run;
    this.announce(after?.phase === 'summary' && waterDue(after) ? `${t.summary.reasons.completed} ${t.summary.water}` : t.summary.reasons.completed);
  }

  /** Stop (or "Stop — it hurts"): the motor stops first, then the session ends. */
  async stopRun(kind: 'stop' | 'hurt' = 'stop'): Promise<void> {
    const run = this.state().run;
    this.announce(t.guided.announceStopped, true);
    const sessionId = runSessionId(run);
    if (!sessionId || !isRunActive(run)) {
      await this.bridge.tryCall('device.stop');
      return;
    }
    this.stopTimers();
    const reason: SessionEndReason = kind === 'hurt' ? 'hurt' : 'user-stop';
    this.store.dispatch({ type: 'ending', reason, message: t.summary.reasons[reason] });
    if (kind === 'hurt') {
      const hurt = await this.bridge.tryCall('session.hurt', { sessionId });
      if (hurt === null) await this.bridge.tryCall('device.stop');
    } else {
      await this.bridge.tryCall('device.stop');
    }
    const used = usedOf(await this.bridge.tryCall('session.end', { sessionId }));
    this.endLocally(reason, t.summary.reasons[reason], used);
  }

  /** Stops the motor and any session, wherever the user is. */
  async stopEverything(): Promise<void> {
    if (isRunActive(this.state().run)) await this.stopRun('stop');
    else {
      this.announce(t.guided.announceStopped, true);
      await this.bridge.tryCall('device.stop');
    }
  }

  // ---------------- manual control ----------------

  /** Starts manual control for `group` at `intensity` (0..1), asking for the session cap or what is left today. */
  async startManual(group: MuscleGroup, intensity: number): Promise<void> {
    const s = this.state();
    if (isRunActive(s.run)) return;
    this.sounds.unlockAudio();
    // The user's session cap, else the longest the rules allow; main grants at most that anyway.
    const cap = s.settings?.sessionCapSeconds ?? rulesOf(s)?.sessionCapSeconds.max ?? MAX_PLANNED_MOTOR_SECONDS;
    const left = budgetFor(s, group)?.remainingSeconds ?? cap;
    const planned = Math.max(1, Math.min(cap, left));
    const run = this.store.dispatch({ type: 'manual-requested', muscleGroup: group, intensity }, { clamped: null });
    if (run?.phase !== 'starting' || run.mode !== 'manual') return;
    try {
      const res = await this.bridge.call('session.start', { muscleGroup: group, plannedMotorSeconds: planned });
      const after = this.store.dispatch({ type: 'granted', result: res, now: this.now() });
      if (after?.phase !== 'running' || after.sessionId !== res.sessionId) {
        await this.bridge.tryCall('session.end', { sessionId: res.sessionId });
        return;
      }
      this.startTimers();
      await this.setManualIntensity(intensity);
    } catch (err) {
      this.store.dispatch({ type: 'refused', error: errorText(err), errorCode: errorCode(err) }, { warning: errorText(err) });
      this.announce(errorText(err), true);
    }
  }

  /** Sets the manual intensity (0..1); updates go out at most every 100 ms, latest wins. */
  async setManualIntensity(intensity: number): Promise<void> {
    this.store.dispatch({ type: 'manual-intensity', intensity });
    this.manualPending = intensity;
    if (this.manualTimer) return;
    const flush = async (): Promise<void> => {
      const run = this.state().run;
      const value = this.manualPending;
      this.manualPending = null;
      if (value === null || run?.phase !== 'running' || run.mode !== 'manual') return;
      try {
        await this.bridge.call('session.setStep', { sessionId: run.sessionId, intensity: value });
      } catch (err) {
        this.store.setState({ warning: errorText(err) });
      }
    };
    await flush();
    this.manualTimer = setTimeout(() => {
      this.manualTimer = null;
      if (this.manualPending !== null) void flush();
    }, MANUAL_GAP_MS);
  }

  /** Ends manual control (the motor stops first); its short summary stays on the panel. */
  async endManualOrStop(): Promise<void> {
    await this.stopRun('stop');
  }

  // ---------------- global stop keys ----------------

  /**
   * Escape always stops. Space stops unless focus is in a text field; when nothing
   * runs, Space keeps its usual job (pressing the focused button).
   */
  private onGlobalKey = (e: KeyboardEvent): void => {
    if (e.key === 'Escape') {
      void this.stopEverything();
      return;
    }
    if (e.key === ' ' || e.code === 'Space') {
      if (isTextEntry(document.activeElement)) return;
      if (!somethingRunning(this.state())) return;
      e.preventDefault();
      e.stopPropagation();
      this.swallowSpaceUp = true;
      if (!e.repeat) void this.stopEverything();
    }
  };

  private onGlobalKeyUp = (e: KeyboardEvent): void => {
    if ((e.key === ' ' || e.code === 'Space') && this.swallowSpaceUp) {
      this.swallowSpaceUp = false;
      e.preventDefault();
      e.stopPropagation();
    }
  };
}

/** The motor seconds a `session.end` reply reports (null: the request failed), if finite. */
function usedOf(result: SessionEndedEvent | null): number | undefined {
  const used = result?.usedMotorSeconds;
  return typeof used === 'number' && Number.isFinite(used) ? used : undefined;
}

/** A controller over `options.store` (see {@link ControllerOptions} for the defaults). */
export function createController(options: ControllerOptions): Controller {
  return new Controller(options);
}

/** The page's controller, for components (main.tsx provides it). */
export const ControllerContext = createContext<Controller | null>(null);

/** The controller from {@link ControllerContext}; throws when no provider is above the component. */
export function useActions(): Controller {
  const controller = useContext(ControllerContext);
  if (!controller) throw new Error('No controller: render inside <ControllerContext.Provider>.');
  return controller;
}
