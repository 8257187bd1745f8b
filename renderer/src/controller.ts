/**
 * The renderer's actions: loading state from the main process, following its
 * events, and running a routine (or manual control) as a session — the runner
 * decides the step from elapsed monotonic time, the main process owns the motor.
 * Also the global Space/Escape stop and the heartbeat.
 */
import type { MuscleGroup, ScanEntry, SessionEndReason, SettingsPatch, SettingsView } from './contract';
import { BridgeError, call, devicesOf, on, onLinkState, tryCall } from './api';
import { t } from './i18n/en';
import { findRoutine } from './routines/library';
import { clockElapsedMs, pauseClock, resumeClock, runnerState, scaleRoutine, startClock } from './routines/runner';
import { alarm, chime, speak, stopSpeaking, unlockAudio } from './sound';
import { announce, budgetFor, getState, observedSession, patchRun, setState, type Run, type Screen } from './store';

const HEARTBEAT_MS = 1000;
const TICK_MS = 100;

let heartbeatTimer: ReturnType<typeof setInterval> | null = null;
let tickTimer: ReturnType<typeof setInterval> | null = null;
let initialised = false;

const errorText = (err: unknown): string => (err instanceof Error && err.message ? err.message : t.errors.generic);
const errorCode = (err: unknown): string => (err instanceof BridgeError ? err.code : 'internal');

// ---------------- loading ----------------

export async function refreshAll(): Promise<void> {
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
  setState((s) => ({
    info: info ?? s.info,
    adapter: adapter ?? s.adapter,
    settings: settings ?? s.settings,
    usage: Array.isArray(usage) ? usage : s.usage,
    devices: list ? devicesOf(list) : s.devices,
    scanning: list && !Array.isArray(list) && typeof list.scanning === 'boolean' ? list.scanning : s.scanning,
    device: device && typeof device === 'object' && typeof device.connection === 'string' ? device : s.device,
    session: session ? session.v : s.session,
  }));
  if (info?.demo || adapter?.demo) await refreshSim();
}

// ---------------- a page closed or reloaded mid-session ----------------

/** What a page remembers (sessionStorage, this tab only) when it goes away mid-session. */
export interface Interrupted {
  sessionId: string;
  mode: Run['mode'];
  routineId?: string;
  muscleGroup: MuscleGroup;
  /** Routine time run so far (an estimate; the main process keeps the real count). */
  usedSeconds?: number;
  at: number;
}

const INTERRUPTED_KEY = 'unknot.interrupted';
/** A note older than this is from another visit, not from this reload. */
const INTERRUPTED_MAX_AGE_MS = 10 * 60_000;

/** The note to leave when the page goes away while `run` is active, or null. */
export function interruptedNote(run: Run | null, now = Date.now()): Interrupted | null {
  if (!run?.sessionId || !isActive(run)) return null;
  const pos = currentPosition(run);
  return {
    sessionId: run.sessionId,
    mode: run.mode,
    ...(run.routineId ? { routineId: run.routineId } : {}),
    muscleGroup: run.muscleGroup,
    ...(pos ? { usedSeconds: pos.routineElapsedMs / 1000 } : {}),
    at: now,
  };
}

/**
 * After a reload: the main process stopped the session the old page owned when its
 * connection went away. Says so, unless that session is still running (then the
 * page shows it as an observer and claims nothing).
 */
export function showInterrupted(note: Interrupted | null, now = Date.now()): void {
  if (!note || now - note.at > INTERRUPTED_MAX_AGE_MS || note.at > now) return;
  const s = getState();
  if (s.session && s.session.sessionId === note.sessionId && s.session.state !== 'ended') return;
  if (s.run) return;
  const planned = note.mode === 'routine' && note.routineId ? findRoutine(note.routineId) : undefined;
  if (!planned) {
    setState({ notice: t.summary.pageClosedManual });
    return;
  }
  setState({
    run: {
      mode: 'routine',
      routineId: planned.id,
      muscleGroup: planned.muscleGroup,
      planned,
      routine: planned,
      phase: 'summary',
      endReason: 'connection-lost',
      endMessage: t.summary.pageClosed,
      ...(typeof note.usedSeconds === 'number' ? { usedMotorSeconds: note.usedSeconds } : {}),
    },
    screen: 'guided',
  });
}

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

function leaveInterrupted(): void {
  const note = interruptedNote(getState().run);
  try {
    if (note) sessionStorage.setItem(INTERRUPTED_KEY, JSON.stringify(note));
  } catch {
    /* storage may be off: the page then opens without the note */
  }
}

export async function refreshSim(): Promise<void> {
  const sim = await tryCall('sim.state');
  if (Array.isArray(sim)) setState({ sim });
}

export async function refreshUsage(): Promise<void> {
  const usage = await tryCall('usage.today');
  if (Array.isArray(usage)) setState({ usage });
}

export function init(): void {
  if (initialised) return;
  initialised = true;

  let interrupted = takeInterrupted();
  window.addEventListener('pagehide', leaveInterrupted);

  onLinkState((link, wasLost) => {
    setState({ link, linkWasLost: wasLost || getState().linkWasLost });
    if (link === 'open') {
      if (wasLost) announce(t.link.back);
      void refreshAll().then(() => {
        showInterrupted(interrupted);
        interrupted = null;
      });
    } else if (link === 'lost') {
      announce(t.link.lost, true);
      // The host stops the motor when the connection that owns the session drops.
      const run = getState().run;
      if (run && isActive(run)) endLocally('connection-lost', t.summary.reasons['connection-lost']);
    }
  });

  on('adapter.state', (adapter) => setState({ adapter }));
  on('scan.results', (r) =>
    setState((s) => ({ devices: devicesOf(r), scanning: typeof r?.scanning === 'boolean' ? r.scanning : s.scanning })),
  );
  on('device.status', (device) => {
    const prev = getState().device;
    setState({ device: device ?? { connection: 'disconnected' } });
    if (device?.stop?.state === 'unconfirmed' && prev.stop?.state !== 'unconfirmed') {
      // Someone working on their own back may not be looking: say it with the step sound too.
      const sound = getState().settings?.sound ?? 'chime';
      if (sound !== 'off') alarm();
      if (sound === 'chime-and-voice') speak(t.stop.spoken(device.handOff ?? ''));
      announce(t.stop.unconfirmed, true);
    }
    if (device?.connection === 'connected' && prev.connection !== 'connected') {
      announce(t.announce.connected(device.name ?? ''));
      void refreshAll();
    } else if (device?.connection === 'disconnected' && prev.connection !== 'disconnected') {
      announce(t.announce.disconnected, true);
    }
  });
  on('session.state', (ev) => {
    setState({ session: ev });
    const run = getState().run;
    if (!run || !ev || run.sessionId !== ev.sessionId) return;
    if (ev.state === 'paused' && run.phase === 'running') {
      patchRun((r) => ({
        phase: 'paused',
        clock: r.clock ? pauseClock(r.clock, performance.now()) : r.clock,
        pausedReason: ev.pausedReason ?? r.pausedReason,
      }));
      announce(ev.pausedReason ? `${t.guided.announcePaused} ${ev.pausedReason}` : t.guided.announcePaused, true);
    }
  });
  on('session.ended', (ev) => {
    const observed = observedSession(getState());
    setState({ session: null });
    if (observed && ev && observed.sessionId === ev.sessionId) {
      setState({ notice: t.observer.ended(ev.message || t.summary.reasons[ev.reason] || '') });
    }
    const run = getState().run;
    if (run && ev && run.sessionId === ev.sessionId) {
      if (isActive(run) || run.phase === 'ending') {
        // The main process counts the same granted time: when its cap lands within the
        // last moments of the routine, the routine simply finished.
        const pos = currentPosition(run);
        const finished = (ev.reason === 'session-cap' || ev.reason === 'daily-budget') && pos !== null && pos.progress >= 0.95;
        if (finished) endLocally('completed', t.summary.reasons.completed, ev.usedMotorSeconds);
        else if (ev.reason === 'user-stop' && run.phase !== 'ending') {
          // Stopped, but not from this window: say where it may have come from.
          endLocally(ev.reason, t.summary.stoppedElsewhere, ev.usedMotorSeconds);
        } else endLocally(ev.reason, ev.message || t.summary.reasons[ev.reason] || '', ev.usedMotorSeconds);
      } else if (typeof ev.usedMotorSeconds === 'number') {
        patchRun({ usedMotorSeconds: ev.usedMotorSeconds });
      }
    }
    void refreshUsage();
  });
  on('safety.clamped', (clamped) => setState({ clamped }));
  on('safety.warning', (w) => {
    // An unconfirmed stop has its own alert (with "It is off"), from the device status.
    if (w?.code === 'stop-unconfirmed') return;
    setState({ warning: w?.message ?? null });
    if (w?.message) announce(w.message, true);
  });
  on('sim.state', (sim) => Array.isArray(sim) && setState({ sim }));
  on('store.notice', (n) => setState({ notice: n?.message ?? null }));

  document.addEventListener('keydown', onGlobalKey, true);
  document.addEventListener('keyup', onGlobalKeyUp, true);

  if (typeof matchMedia === 'function') {
    const dark = matchMedia('(prefers-color-scheme: dark)');
    dark.addEventListener?.('change', (e) => setState({ systemDark: e.matches }));
    const rm = matchMedia('(prefers-reduced-motion: reduce)');
    rm.addEventListener?.('change', (e) => setState({ systemReducedMotion: e.matches }));
  }
}

// ---------------- navigation ----------------

export function go(screen: Screen): void {
  setState({ screen });
}

export function setGroupFilter(group: MuscleGroup | null): void {
  setState({ groupFilter: group });
}

// ---------------- pairing ----------------

export async function enableDemo(): Promise<void> {
  try {
    await call('demo.enable');
    await refreshAll();
    await refreshSim();
    await scan();
  } catch (err) {
    setState({ warning: errorText(err) });
  }
}

export async function scan(): Promise<void> {
  setState({ scanning: true, warning: null });
  try {
    const r = await call('scan.start');
    const list = devicesOf(r);
    if (list.length) setState({ devices: list });
  } catch (err) {
    setState({ scanning: false, warning: errorText(err) });
  }
}

export async function connect(entry: ScanEntry, protocolId?: string): Promise<void> {
  setState((s) => ({ warning: null, device: { ...s.device, connection: 'connecting', peripheralId: entry.peripheralId, name: entry.name } }));
  try {
    await call('device.connect', protocolId ? { peripheralId: entry.peripheralId, protocolId } : { peripheralId: entry.peripheralId });
  } catch (err) {
    setState({ warning: errorText(err), device: { connection: 'disconnected' } });
  }
  await refreshAll();
}

export async function disconnect(): Promise<void> {
  await stopEverything();
  await tryCall('device.disconnect');
  await refreshAll();
}

export async function simFault(peripheralId: string, fault: string, name: string): Promise<void> {
  try {
    await call('sim.fault', { peripheralId, fault });
    announce(t.sim.faultSent(t.sim.faultNames[fault] ?? fault, name));
  } catch (err) {
    setState({ warning: errorText(err) });
  }
  void refreshSim();
}

/** "It is off": the user checked that a massager whose stop was not confirmed is off. */
export async function confirmOff(): Promise<void> {
  try {
    const device = await call('device.confirmOff');
    if (device) setState({ device });
    announce(t.stop.confirmedOff);
  } catch (err) {
    setState({ warning: errorText(err) });
  }
}

export async function setHeat(on: boolean): Promise<void> {
  try {
    await call('device.setHeat', { on });
  } catch (err) {
    setState({ warning: errorText(err) });
  }
}

// ---------------- settings ----------------

export async function saveSettings(patch: SettingsPatch): Promise<boolean> {
  try {
    const view = await call('settings.set', patch);
    if (view && typeof view === 'object' && 'sessionCapSeconds' in view) setState({ settings: view });
    else await reloadSettings();
    // A changed daily limit changes what is left today for every area.
    if (patch.dailyBudgetSeconds !== undefined) await refreshUsage();
    return true;
  } catch (err) {
    setState({ warning: errorText(err) });
    await reloadSettings();
    return false;
  }
}

export async function reloadSettings(): Promise<void> {
  const settings = await tryCall('settings.get');
  if (settings) setState({ settings });
}

export async function answerScreening(id: string, yes: boolean): Promise<void> {
  const answers = { ...(getState().settings?.screening ?? {}), [id]: yes };
  // Show the answer at once; the main process's view replaces it.
  setState((s) => (s.settings ? { settings: { ...s.settings, screening: answers } } : {}));
  try {
    const view = await call('screening.set', { answers });
    if (view && typeof view === 'object' && 'screening' in (view as SettingsView)) setState({ settings: view as SettingsView });
    else await reloadSettings();
  } catch (err) {
    setState({ warning: errorText(err) });
    await reloadSettings();
  }
}

export async function deleteData(): Promise<boolean> {
  try {
    await stopEverything();
    await call('data.delete', { confirm: 'delete my data' });
    setState({ knots: {} });
    try {
      localStorage.clear();
    } catch {
      /* ignore */
    }
    await refreshAll();
    return true;
  } catch (err) {
    setState({ warning: errorText(err) });
    return false;
  }
}

// ---------------- runs ----------------

function isActive(run: Run): boolean {
  return run.phase === 'starting' || run.phase === 'running' || run.phase === 'paused';
}

export function activeRun(): Run | null {
  const run = getState().run;
  return run && isActive(run) ? run : null;
}

/** Opens a routine's preparation screen. */
export function openRoutine(routineId: string): void {
  const current = getState().run;
  if (current && isActive(current)) {
    go(current.mode === 'routine' ? 'guided' : 'devices');
    return;
  }
  const planned = findRoutine(routineId);
  if (!planned) return;
  setState({
    run: { mode: 'routine', routineId, muscleGroup: planned.muscleGroup, planned, routine: planned, phase: 'prep' },
    screen: 'guided',
    clamped: null,
  });
}

export function closeRun(): void {
  const run = getState().run;
  if (run && isActive(run)) return;
  setState({ run: null, screen: run?.mode === 'manual' ? 'devices' : 'routines' });
}

function startTimers(): void {
  stopTimers();
  heartbeatTimer = setInterval(() => {
    const run = getState().run;
    if (!run?.sessionId || !isActive(run)) return;
    void call('session.heartbeat', { sessionId: run.sessionId }).catch((err: unknown) => {
      if (errorCode(err) === 'no-session') endLocally('error', errorText(err));
    });
  }, HEARTBEAT_MS);
  tickTimer = setInterval(tick, TICK_MS);
}

function stopTimers(): void {
  if (heartbeatTimer) clearInterval(heartbeatTimer);
  if (tickTimer) clearInterval(tickTimer);
  heartbeatTimer = tickTimer = null;
}

/** The elapsed routine position now, or null when no routine runs. */
export function currentPosition(run: Run, now = performance.now()) {
  if (!run.routine || !run.clock) return null;
  return runnerState(run.routine, clockElapsedMs(run.clock, now), getState().info?.timeScale ?? 1);
}

function tick(): void {
  const run = getState().run;
  if (!run || run.mode !== 'routine' || run.phase !== 'running' || !run.routine) return;
  const pos = currentPosition(run);
  if (!pos) return;
  if (pos.done) {
    void finish('completed');
    return;
  }
  if (pos.stepIndex !== run.sentStep) void sendStep(pos.stepIndex, true);
}

async function sendStep(index: number, announceIt: boolean): Promise<void> {
  const run = getState().run;
  if (!run?.routine || !run.sessionId) return;
  const step = run.routine.steps[index];
  if (!step) return;
  patchRun({ sentStep: index });
  const intensity = Math.min(1, Math.max(0, step.intensity * (run.intensityFactor ?? 1)));
  if (announceIt) {
    const text = t.guided.announceStep(index + 1, run.routine.steps.length, step.title, step.cue);
    announce(text);
    const sound = getState().settings?.sound ?? 'chime';
    if (sound !== 'off') chime();
    if (sound === 'chime-and-voice') speak(`${step.title}. ${step.cue}`);
  }
  try {
    await call('session.setStep', { sessionId: run.sessionId, intensity, motion: step.motion });
  } catch (err) {
    patchRun({ error: errorText(err), errorCode: errorCode(err) });
  }
}

/** Starts the open routine: asks the main process for a session and runs it. */
export async function startRoutine(): Promise<void> {
  const run = getState().run;
  if (!run || run.mode !== 'routine' || !run.planned || run.phase !== 'prep') return;
  unlockAudio();
  const planned = run.planned;
  const plannedSeconds = planned.steps.reduce((a, s) => a + s.durationSec, 0);
  patchRun({ phase: 'starting', error: undefined, errorCode: undefined });
  try {
    const res = await call('session.start', {
      muscleGroup: planned.muscleGroup,
      plannedMotorSeconds: plannedSeconds,
      routineId: planned.id,
    });
    const granted = Math.min(res.grantedMotorSeconds, plannedSeconds);
    const routine = granted < plannedSeconds ? scaleRoutine(planned, granted) : planned;
    patchRun({
      phase: 'running',
      sessionId: res.sessionId,
      grantedMotorSeconds: res.grantedMotorSeconds,
      shortened: res.shortened || granted < plannedSeconds,
      intensityFactor: typeof res.intensityFactor === 'number' && res.intensityFactor > 0 ? Math.min(1, res.intensityFactor) : 1,
      routine,
      clock: startClock(performance.now()),
      sentStep: undefined,
      pausedReason: undefined,
    });
    startTimers();
    await sendStep(0, true);
  } catch (err) {
    patchRun({ phase: 'prep', error: errorText(err), errorCode: errorCode(err) });
    announce(errorText(err), true);
    void refreshUsage();
  }
}

export async function pauseRun(): Promise<void> {
  const run = getState().run;
  if (!run?.sessionId || run.phase !== 'running') return;
  patchRun((r) => ({ phase: 'paused', clock: r.clock ? pauseClock(r.clock, performance.now()) : r.clock }));
  announce(t.guided.announcePaused, true);
  try {
    await call('session.pause', { sessionId: run.sessionId });
  } catch (err) {
    // Pausing must never leave the motor on: stop it outright.
    await tryCall('device.stop');
    patchRun({ error: errorText(err) });
  }
}

export async function resumeRun(): Promise<void> {
  const run = getState().run;
  if (!run?.sessionId || run.phase !== 'paused') return;
  try {
    await call('session.resume', { sessionId: run.sessionId });
  } catch (err) {
    patchRun({ error: errorText(err), errorCode: errorCode(err) });
    return;
  }
  patchRun((r) => ({ phase: 'running', clock: r.clock ? resumeClock(r.clock, performance.now()) : r.clock, pausedReason: undefined, error: undefined }));
  announce(t.guided.announceResumed);
  const after = getState().run;
  if (after?.mode === 'routine') {
    const pos = currentPosition(after);
    if (pos && !pos.done) await sendStep(pos.stepIndex, false);
  } else if (after?.mode === 'manual') {
    await setManualIntensity(after.manualIntensity ?? 0);
  }
}

/** Marks the run ended on our side (timers off, summary shown). */
function endLocally(reason: SessionEndReason | string, message: string, used?: number): void {
  stopTimers();
  stopSpeaking();
  const run = getState().run;
  if (!run) return;
  const pos = currentPosition(run);
  const fallbackUsed = pos ? pos.routineElapsedMs / 1000 : undefined;
  patchRun((r) => ({
    phase: 'summary',
    endReason: r.endReason ?? reason,
    endMessage: r.endMessage ?? message,
    usedMotorSeconds: used ?? r.usedMotorSeconds ?? fallbackUsed,
    clock: r.clock ? pauseClock(r.clock, performance.now()) : r.clock,
  }));
  void refreshUsage();
}

async function finish(reason: 'completed'): Promise<void> {
  const run = getState().run;
  if (!run?.sessionId || !isActive(run)) return;
  stopTimers();
  patchRun({ phase: 'ending' });
  const result = await tryCall('session.end', { sessionId: run.sessionId });
  const used = result && typeof result === 'object' && 'usedMotorSeconds' in result ? Number((result as { usedMotorSeconds: unknown }).usedMotorSeconds) : undefined;
  endLocally(reason, t.summary.reasons[reason], Number.isFinite(used) ? used : undefined);
  const sound = getState().settings?.sound ?? 'chime';
  if (sound !== 'off') chime();
  const after = getState().run;
  announce(after && waterDue(after) ? `${t.summary.reasons.completed} ${t.summary.water}` : t.summary.reasons.completed);
}

/** The water reminder is for a real massage: at least a minute of motor time. */
export function waterDue(run: Run): boolean {
  return (run.usedMotorSeconds ?? 0) >= 60;
}

/** Stop (or "Stop — it hurts"): the motor stops first, then the session ends. */
export async function stopRun(kind: 'stop' | 'hurt' = 'stop'): Promise<void> {
  const run = getState().run;
  announce(t.guided.announceStopped, true);
  if (!run?.sessionId || !isActive(run)) {
    await tryCall('device.stop');
    return;
  }
  stopTimers();
  const sessionId = run.sessionId;
  const reason: SessionEndReason = kind === 'hurt' ? 'hurt' : 'user-stop';
  patchRun({ phase: 'ending', endReason: reason, endMessage: t.summary.reasons[reason] });
  if (kind === 'hurt') {
    const hurt = await tryCall('session.hurt', { sessionId });
    if (hurt === null) await tryCall('device.stop');
  } else {
    await tryCall('device.stop');
  }
  const result = await tryCall('session.end', { sessionId });
  const used = result && typeof result === 'object' && 'usedMotorSeconds' in result ? Number((result as { usedMotorSeconds: unknown }).usedMotorSeconds) : undefined;
  endLocally(reason, t.summary.reasons[reason], Number.isFinite(used) ? used : undefined);
}

/** Stops the motor and any session, wherever the user is. */
export async function stopEverything(): Promise<void> {
  const run = getState().run;
  if (run && isActive(run)) await stopRun('stop');
  else {
    announce(t.guided.announceStopped, true);
    await tryCall('device.stop');
  }
}

// ---------------- manual control ----------------

export async function startManual(group: MuscleGroup, intensity: number): Promise<void> {
  const s = getState();
  if (s.run && isActive(s.run)) return;
  unlockAudio();
  const cap = s.settings?.sessionCapSeconds ?? 300;
  const left = budgetFor(s, group)?.remainingSeconds ?? cap;
  const planned = Math.max(1, Math.min(cap, left));
  setState({ run: { mode: 'manual', muscleGroup: group, phase: 'starting', manualIntensity: intensity }, clamped: null });
  try {
    const res = await call('session.start', { muscleGroup: group, plannedMotorSeconds: planned });
    patchRun({
      phase: 'running',
      sessionId: res.sessionId,
      grantedMotorSeconds: res.grantedMotorSeconds,
      clock: startClock(performance.now()),
    });
    startTimers();
    await setManualIntensity(intensity);
  } catch (err) {
    setState({ run: null, warning: errorText(err) });
    announce(errorText(err), true);
  }
}

let manualTimer: ReturnType<typeof setTimeout> | null = null;
let manualPending: number | null = null;

/** Sets the manual intensity; updates go out at most every 100 ms, latest wins. */
export async function setManualIntensity(intensity: number): Promise<void> {
  patchRun({ manualIntensity: intensity });
  manualPending = intensity;
  if (manualTimer) return;
  const flush = async (): Promise<void> => {
    const run = getState().run;
    const value = manualPending;
    manualPending = null;
    if (value === null || !run?.sessionId || run.mode !== 'manual' || run.phase !== 'running') return;
    try {
      await call('session.setStep', { sessionId: run.sessionId, intensity: value });
    } catch (err) {
      setState({ warning: errorText(err) });
    }
  };
  await flush();
  manualTimer = setTimeout(() => {
    manualTimer = null;
    if (manualPending !== null) void flush();
  }, 100);
}

/** Ends manual control (the motor stops first); its short summary stays on the panel. */
export async function endManualOrStop(): Promise<void> {
  await stopRun('stop');
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

let swallowSpaceUp = false;

function somethingRunning(): boolean {
  const s = getState();
  return Boolean((s.run && isActive(s.run)) || s.device.running || (s.session && s.session.state !== 'ended'));
}

/**
 * Escape always stops. Space stops unless focus is in a text field; when nothing
 * runs, Space keeps its usual job (pressing the focused button).
 */
function onGlobalKey(e: KeyboardEvent): void {
  if (e.key === 'Escape') {
    void stopEverything();
    return;
  }
  if (e.key === ' ' || e.code === 'Space') {
    if (isTextEntry(document.activeElement)) return;
    if (!somethingRunning()) return;
    e.preventDefault();
    e.stopPropagation();
    swallowSpaceUp = true;
    if (!e.repeat) void stopEverything();
  }
}

function onGlobalKeyUp(e: KeyboardEvent): void {
  if ((e.key === ' ' || e.code === 'Space') && swallowSpaceUp) {
    swallowSpaceUp = false;
    e.preventDefault();
    e.stopPropagation();
  }
}
