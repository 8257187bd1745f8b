/**
 * The renderer's one store: what the main process told us (adapter, devices,
 * settings, budgets, the simulated peripherals) and the UI's own state (screen,
 * the running routine). A tiny external store read with `useSyncExternalStore`.
 */
import { useSyncExternalStore } from 'react';
import type {
  AdapterInfo,
  AppInfo,
  BudgetInfo,
  ClampedEvent,
  DeviceStatusEvent,
  MuscleGroup,
  ScanEntry,
  SessionStateEvent,
  SettingsView,
  SimPeripheralState,
} from './contract';
import type { LinkState } from './api';
import type { Routine } from './routines/library';
import type { RunClock } from './routines/runner';

export type Screen = 'devices' | 'routines' | 'guided' | 'history' | 'settings' | 'first-run';

export type RunPhase = 'prep' | 'starting' | 'running' | 'paused' | 'ending' | 'summary';

/** The routine (or manual control) the user is in. */
export interface Run {
  mode: 'routine' | 'manual';
  routineId?: string;
  muscleGroup: MuscleGroup;
  /** The library routine as planned. */
  planned?: Routine;
  /** The routine actually run (scaled to the grant). */
  routine?: Routine;
  phase: RunPhase;
  sessionId?: string;
  grantedMotorSeconds?: number;
  shortened?: boolean;
  intensityFactor?: number;
  clock?: RunClock;
  /** Why the run is paused, from the main process (device lost…). */
  pausedReason?: string;
  /** Refusal or error text to show. */
  error?: string;
  errorCode?: string;
  /** The step the main process was last told about. */
  sentStep?: number;
  /** Filled when the session ends. */
  endReason?: string;
  endMessage?: string;
  usedMotorSeconds?: number;
  /** Manual control: the slider value 0..1. */
  manualIntensity?: number;
}

export interface State {
  link: LinkState;
  linkWasLost: boolean;
  info: AppInfo | null;
  adapter: AdapterInfo | null;
  scanning: boolean;
  devices: ScanEntry[];
  device: DeviceStatusEvent;
  settings: SettingsView | null;
  usage: BudgetInfo[];
  sim: SimPeripheralState[];
  session: SessionStateEvent | null;
  clamped: ClampedEvent | null;
  warning: string | null;
  notice: string | null;
  screen: Screen;
  groupFilter: MuscleGroup | null;
  run: Run | null;
  /** Knot marks per group, in body-map coordinates. */
  knots: Partial<Record<MuscleGroup, { x: number; y: number }>>;
  systemDark: boolean;
  systemReducedMotion: boolean;
  /** Live-region messages; `n` changes so the same text is announced again. */
  polite: { text: string; n: number };
  assertive: { text: string; n: number };
}

const KNOTS_KEY = 'unknot.knots';

function loadKnots(): State['knots'] {
  try {
    const raw = typeof localStorage !== 'undefined' ? localStorage.getItem(KNOTS_KEY) : null;
    const v = raw ? (JSON.parse(raw) as unknown) : null;
    return v && typeof v === 'object' ? (v as State['knots']) : {};
  } catch {
    return {};
  }
}

export function saveKnots(knots: State['knots']): void {
  try {
    localStorage.setItem(KNOTS_KEY, JSON.stringify(knots));
  } catch {
    /* storage may be off; the mark lasts for this visit */
  }
}

const mq = (q: string): boolean => typeof matchMedia === 'function' && matchMedia(q).matches;

let state: State = {
  link: 'connecting',
  linkWasLost: false,
  info: null,
  adapter: null,
  scanning: false,
  devices: [],
  device: { connection: 'disconnected' },
  settings: null,
  usage: [],
  sim: [],
  session: null,
  clamped: null,
  warning: null,
  notice: null,
  screen: 'devices',
  groupFilter: null,
  run: null,
  knots: loadKnots(),
  systemDark: mq('(prefers-color-scheme: dark)'),
  systemReducedMotion: mq('(prefers-reduced-motion: reduce)'),
  polite: { text: '', n: 0 },
  assertive: { text: '', n: 0 },
};

const listeners = new Set<() => void>();

export function getState(): State {
  return state;
}

export function setState(patch: Partial<State> | ((s: State) => Partial<State>)): void {
  const p = typeof patch === 'function' ? patch(state) : patch;
  state = { ...state, ...p };
  listeners.forEach((l) => l());
}

/** Updates the current run, if any. */
export function patchRun(patch: Partial<Run> | ((r: Run) => Partial<Run>)): void {
  setState((s) => {
    if (!s.run) return {};
    const p = typeof patch === 'function' ? patch(s.run) : patch;
    return { run: { ...s.run, ...p } };
  });
}

export function subscribe(l: () => void): () => void {
  listeners.add(l);
  return () => listeners.delete(l);
}

export function useStore<T>(select: (s: State) => T): T {
  return useSyncExternalStore(
    subscribe,
    () => select(state),
    () => select(state),
  );
}

// ---- derived values ----

export function budgetFor(s: State, group: MuscleGroup): BudgetInfo | undefined {
  return s.usage.find((b) => b.muscleGroup === group);
}

/** The main process refuses a session with less than this left today (DESIGN §1). */
export const MIN_SESSION_SECONDS = 60;

/** Whether today's budget for `group` is known to be too short for any session. */
export function budgetTooShort(s: State, group: MuscleGroup): boolean {
  const left = budgetFor(s, group)?.remainingSeconds;
  return left !== undefined && left < MIN_SESSION_SECONDS;
}

function runActive(run: Run | null): boolean {
  return Boolean(run && (run.phase === 'starting' || run.phase === 'running' || run.phase === 'paused' || run.phase === 'ending'));
}

/**
 * A running or paused session this page does not own (another window or tab started
 * it, or this page was reloaded): shown to observers with a Stop, never guided here.
 */
export function observedSession(s: State): SessionStateEvent | null {
  const ev = s.session;
  if (!ev || ev.state === 'ended') return null;
  if (runActive(s.run) || s.run?.sessionId === ev.sessionId) return null;
  return ev;
}

export function reducedMotion(s: State): boolean {
  return s.systemReducedMotion || Boolean(s.settings?.reducedMotion);
}

/** Questions that apply now: the general ones, plus those for the connected device's kind. */
export function applicableQuestions(s: State): string[] {
  const qs = s.settings?.screeningQuestions ?? [
    { id: 'pregnant' },
    { id: 'heart-condition' },
    { id: 'high-blood-pressure' },
  ];
  return qs.filter((q) => !q.deviceKind || q.deviceKind === s.device.kind).map((q) => q.id);
}

export function screeningComplete(s: State): boolean {
  const answers = s.settings?.screening ?? {};
  return applicableQuestions(s).every((id) => typeof answers[id] === 'boolean');
}

export function noticeAcknowledged(s: State): boolean {
  return Boolean(s.settings?.doctorNoticeAcknowledged);
}

export function motorBlocked(s: State): boolean {
  if (s.settings?.motorBlocked) return true;
  const answers = s.settings?.screening ?? {};
  return applicableQuestions(s).some((id) => answers[id] === true);
}

export function deviceConnected(s: State): boolean {
  return s.device.connection === 'connected' || s.device.connection === 'reconnecting';
}

/** Speaks `text` through the ARIA live regions. */
export function announce(text: string, assertive = false): void {
  setState((s) => (assertive ? { assertive: { text, n: s.assertive.n + 1 } } : { polite: { text, n: s.polite.n + 1 } }));
}
