/**
 * The renderer's store: what the main process told us (adapter, devices, settings,
 * budgets, the simulated peripherals) and the UI's own state (screen, the run). A tiny
 * external store, one instance per page ({@link createStore}), handed to components
 * through {@link StoreContext} and read with {@link useStore}. The run changes only
 * through its reducer ({@link AppStore.dispatch}, run.ts); components change nothing
 * here themselves, they call the controller's actions.
 */
import { createContext, useContext, useSyncExternalStore } from 'react';
import type {
  AdapterInfo,
  AppInfo,
  BudgetInfo,
  ClampedEvent,
  DeviceStatusEvent,
  MuscleGroup,
  SafetyRules,
  ScanEntry,
  SessionStateEvent,
  SettingsView,
  SimPeripheralState,
  TrafficEntry,
} from './contract';
import type { LinkState } from './api';
import { isRunLive, runReducer, runSessionId, type Run, type RunEvent } from './run';

export type Screen = 'devices' | 'routines' | 'guided' | 'history' | 'settings' | 'profiles' | 'lab' | 'first-run';

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
  /** Each device's recent traffic as main sent it (`device.traffic`), by peripheral id, oldest first, at most {@link TRAFFIC_KEPT}. */
  traffic: Record<string, TrafficEntry[]>;
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

/** The state a page starts with (knots from localStorage, the system's theme and motion). */
export function initialState(): State {
  return {
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
    traffic: {},
  };
}

/** A patch of everything but the run (which changes only through {@link AppStore.dispatch}). */
export type StatePatch = Partial<Omit<State, 'run'>>;

/** One page's store. */
export interface AppStore {
  getState(): State;
  /** Merges `patch` (or what `patch(state)` returns) into the state and notifies subscribers. */
  setState(patch: StatePatch | ((s: State) => StatePatch)): void;
  /**
   * Applies one run event through {@link runReducer}, together with `also` (other state
   * changed in the same step, such as the screen), and returns the run after it. A refused
   * event leaves the run as it was (the same object).
   */
  dispatch(event: RunEvent, also?: StatePatch): Run | null;
  /** Calls `listener` after every change; returns the unsubscribe function. */
  subscribe(listener: () => void): () => void;
}

/** A new store, from {@link initialState} with `initial` over it (tests start a run this way). */
export function createStore(initial: Partial<State> = {}): AppStore {
  let state: State = { ...initialState(), ...initial };
  const listeners = new Set<() => void>();
  const notify = (): void => listeners.forEach((l) => l());
  return {
    getState: () => state,
    setState(patch) {
      const p = typeof patch === 'function' ? patch(state) : patch;
      // the run has its own door, whatever a caller's types say
      const { run: _run, ...rest } = p as Partial<State>;
      state = { ...state, ...rest };
      notify();
    },
    dispatch(event, also = {}) {
      const run = runReducer(state.run, event);
      const { run: _run, ...rest } = also as Partial<State>;
      if (run === state.run && Object.keys(rest).length === 0) return run;
      state = { ...state, ...rest, run };
      notify();
      return run;
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

/** The page's store, for components (main.tsx provides it). */
export const StoreContext = createContext<AppStore | null>(null);

/** The store from {@link StoreContext}; throws when no provider is above the component. */
export function useAppStore(): AppStore {
  const store = useContext(StoreContext);
  if (!store) throw new Error('No store: render inside <StoreContext.Provider>.');
  return store;
}

/** A value selected from the page's store; the component re-renders when it changes. */
export function useStore<T>(select: (s: State) => T): T {
  const store = useAppStore();
  return useSyncExternalStore(
    store.subscribe,
    () => select(store.getState()),
    () => select(store.getState()),
  );
}

// ---- derived values ----

export function budgetFor(s: Pick<State, 'usage'>, group: MuscleGroup): BudgetInfo | undefined {
  return s.usage.find((b) => b.muscleGroup === group);
}

/**
 * The safety rules that apply now, as the main process sent them: the connected device's
 * (its `device.status`), else those of the last settings view; undefined before either
 * arrived. The renderer shows these and never derives its own.
 */
export function rulesOf(s: Pick<State, 'device' | 'settings'>): SafetyRules | undefined {
  return s.device.rules ?? s.settings?.rules;
}

/** Whether today's budget for `group` is known to be too short for any session (under the rules' shortest grant). */
export function budgetTooShort(s: State, group: MuscleGroup): boolean {
  const left = budgetFor(s, group)?.remainingSeconds;
  const min = rulesOf(s)?.minGrantSeconds;
  return left !== undefined && min !== undefined && left < min;
}

/** Whether the rules in force say the connected device is never used on `group` (EMS: the neck). */
export function areaExcluded(s: Pick<State, 'device' | 'settings'>, group: MuscleGroup): boolean {
  return rulesOf(s)?.excludedGroups.includes(group) ?? false;
}

/**
 * A running or paused session this page does not own (another window or tab started
 * it, or this page was reloaded): shown to observers with a Stop, never guided here.
 */
export function observedSession(s: State): SessionStateEvent | null {
  const ev = s.session;
  if (!ev || ev.state === 'ended') return null;
  if (isRunLive(s.run) || runSessionId(s.run) === ev.sessionId) return null;
  return ev;
}

export function reducedMotion(s: State): boolean {
  return s.systemReducedMotion || Boolean(s.settings?.reducedMotion);
}

/** Questions that apply now (ids): the general ones, plus those for the connected device's kind, as the rules say. */
export function applicableQuestions(s: Pick<State, 'device' | 'settings'>): string[] {
  return (rulesOf(s)?.screeningQuestions ?? []).map((q) => q.id);
}

/**
 * Whether only the connected device's own questions are left: every general question and
 * the health notice answered, and some question of the device kind's still open.
 */
export function onlyDeviceQuestionsLeft(s: Pick<State, 'device' | 'settings'>): boolean {
  const answers = s.settings?.screening ?? {};
  const qs = rulesOf(s)?.screeningQuestions ?? [];
  return (
    Boolean(s.settings?.doctorNoticeAcknowledged) &&
    qs.some((q) => q.deviceKind !== undefined) &&
    qs.filter((q) => q.deviceKind === undefined).every((q) => typeof answers[q.id] === 'boolean')
  );
}

/** Whether every question that applies is answered (false before the rules are known). */
export function screeningComplete(s: State): boolean {
  const answers = s.settings?.screening ?? {};
  return rulesOf(s) !== undefined && applicableQuestions(s).every((id) => typeof answers[id] === 'boolean');
}

export function noticeAcknowledged(s: State): boolean {
  return Boolean(s.settings?.doctorNoticeAcknowledged);
}

export function motorBlocked(s: State): boolean {
  if (s.settings?.motorBlocked) return true;
  const answers = s.settings?.screening ?? {};
  return applicableQuestions(s).some((id) => answers[id] === true);
}

/** A device is connected, or its link dropped and is being restored (the panel stays). */
export function deviceConnected(s: State): boolean {
  return s.device.connection === 'connected' || s.device.connection === 'reconnecting';
}

/** The device's link is up: a session may start (main refuses one while it reconnects). */
export function deviceLinkUp(s: State): boolean {
  return s.device.connection === 'connected';
}

// ---- a device's traffic (the device panel's report section; the lab's try panel) ----

/** How many traffic entries the page keeps per device (main keeps more: `device.capture` has them all). */
export const TRAFFIC_KEPT = 200;

const NO_TRAFFIC: readonly TrafficEntry[] = Object.freeze([]);

/** The recent traffic of `peripheralId` (the connected device's when absent), oldest first; the same empty list when none. */
export function trafficOf(s: Pick<State, 'traffic' | 'device'>, peripheralId = s.device.peripheralId): readonly TrafficEntry[] {
  return (peripheralId !== undefined ? s.traffic[peripheralId] : undefined) ?? NO_TRAFFIC;
}

/**
 * The traffic slice after `entries` of `peripheralId` arrived: `replace` (a `device.traffic`
 * answer, everything main had) keeps the entries already here that are newer than its last
 * one (events that overtook the answer); otherwise they are appended. At most
 * {@link TRAFFIC_KEPT} per device, the oldest dropped.
 */
export function withTraffic(traffic: State['traffic'], peripheralId: string, entries: readonly TrafficEntry[], replace = false): State['traffic'] {
  const had = traffic[peripheralId] ?? [];
  let next: TrafficEntry[];
  if (replace) {
    const lastT = entries.length ? entries[entries.length - 1]!.t : Number.NEGATIVE_INFINITY;
    next = [...entries, ...had.filter((e) => e.t > lastT)];
  } else {
    next = [...had, ...entries];
  }
  if (next.length > TRAFFIC_KEPT) next = next.slice(next.length - TRAFFIC_KEPT);
  return { ...traffic, [peripheralId]: next };
}
