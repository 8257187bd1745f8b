/**
 * The renderer's run — a guided routine or manual control, from its preparation to its
 * summary — as a state machine: one type per phase, and a pure reducer over named
 * events. Nothing here calls the main process, reads a clock or sets a timer: the
 * controller (controller.ts) does those and tells the reducer what happened, with the
 * monotonic time (`performance.now()`, milliseconds) in the event where it matters.
 *
 * Phases, in order: `prep` (the checklist, no session), `starting` (asked the main
 * process for a session), `running`, `paused`, `ending` (the stop or the end is on its
 * way to the main process), `summary`. A refused transition returns the run unchanged
 * (the very same object), so callers can tell with `===`.
 */
import type { MuscleGroup, SessionStartResult } from './contract';
import type { Routine } from './routines/library';
import { clockElapsedMs, pauseClock, resumeClock, runnerState, scaleRoutine, startClock, type RunClock, type RunnerState } from './routines/runner';

export type RunPhase = 'prep' | 'starting' | 'running' | 'paused' | 'ending' | 'summary';

/** A guided routine: the library routine as planned, and the one actually run. */
export interface RoutinePlan {
  mode: 'routine';
  routineId: string;
  muscleGroup: MuscleGroup;
  /** The library routine as planned. */
  planned: Routine;
  /** The routine actually run: the plan until granted, then scaled to the grant. */
  routine: Routine;
}

/** Manual control: the user's slider, for one muscle group. */
export interface ManualPlan {
  mode: 'manual';
  muscleGroup: MuscleGroup;
  /** The slider value, normalised 0..1 of the device's range (before the ceiling). */
  manualIntensity: number;
}

/** A refusal or error text to show, with the main process's code when it gave one. */
export interface RunTrouble {
  error?: string;
  errorCode?: string;
}

/** The session the main process granted. */
export interface HeldSession {
  sessionId: string;
  /** Motor time granted, seconds. */
  grantedMotorSeconds: number;
  /** The pausable monotonic clock the runner reads (milliseconds of `performance.now()`). */
  clock: RunClock;
}

/** What a granted routine adds: how the grant changed it, and the step last sent. */
export interface RoutineGrant {
  /** The grant was shorter than the plan (the steps are scaled in proportion). */
  shortened: boolean;
  /** Multiplies every step's intensity, 0 < f ≤ 1 (below 1 after a pain event). */
  intensityFactor: number;
  /** Index of the step the main process was last told about; null before the first. */
  sentStep: number | null;
}

export type GrantedRoutine = RoutinePlan & HeldSession & RoutineGrant;
export type GrantedManual = ManualPlan & HeldSession;
/** A run that holds a session. */
export type Granted = GrantedRoutine | GrantedManual;

export type PrepRun = { phase: 'prep' } & RoutinePlan & RunTrouble;
export type StartingRun = { phase: 'starting' } & (RoutinePlan | ManualPlan) & RunTrouble;
export type RunningRun = { phase: 'running' } & Granted & RunTrouble;
export type PausedRun = {
  phase: 'paused';
  /** Why the main process paused it (device lost…); absent when the user paused. */
  pausedReason?: string;
} & Granted &
  RunTrouble;
export type EndingRun = {
  phase: 'ending';
  /** Set when the user stopped it (the summary keeps it over the main process's reason). */
  endReason?: string;
  endMessage?: string;
} & Granted &
  RunTrouble;
export type SummaryRun = {
  phase: 'summary';
  /** A SessionEndReason, or 'completed'. */
  endReason: string;
  endMessage: string;
  /** Motor time used, seconds (the main process's count where it gave one). */
  usedMotorSeconds?: number;
} & (Granted | RoutinePlan | ManualPlan) &
  RunTrouble;

/** The routine (or manual control) the user is in, by phase. */
export type Run = PrepRun | StartingRun | RunningRun | PausedRun | EndingRun | SummaryRun;

/** A run the user can still act on: asking for its session, running or paused. */
export type ActiveRun = StartingRun | RunningRun | PausedRun;

/** Everything that moves a run from one phase to another (or changes it within one). */
export type RunEvent =
  /** The user opened a routine's preparation screen. */
  | { type: 'opened'; routine: Routine }
  /** The user left the preparation screen or the summary. */
  | { type: 'closed' }
  /** The user pressed Start on the preparation screen. */
  | { type: 'start-requested' }
  /** The user started manual control (`intensity` 0..1). */
  | { type: 'manual-requested'; muscleGroup: MuscleGroup; intensity: number }
  /** The main process granted the session; `now` in ms of `performance.now()`. */
  | { type: 'granted'; result: SessionStartResult; now: number }
  /** The main process refused the session (or the request failed). */
  | { type: 'refused'; error: string; errorCode: string }
  /** The step with this index was sent to the main process. */
  | { type: 'step'; index: number }
  /** The clock moved on (`now` ms, `timeScale` from app.info): maybe a new step, maybe the end. */
  | { type: 'tick'; now: number; timeScale: number }
  /** The user paused. */
  | { type: 'paused'; now: number }
  /** The main process paused the session (its `session.state`), with its reason. */
  | { type: 'paused-by-main'; reason?: string; now: number }
  /** The main process accepted `session.resume`. */
  | { type: 'resumed'; now: number }
  /** The manual slider moved (0..1). */
  | { type: 'manual-intensity'; intensity: number }
  /** A request for the run failed; `errorCode` only when the failure had one. */
  | { type: 'failed'; error: string; errorCode?: string }
  /** The stop (reason given) or the end (no reason) is on its way to the main process. */
  | { type: 'ending'; reason?: string; message?: string }
  /**
   * The run is over on this side: the main process ended it, it was stopped, or contact was
   * lost. `usedMotorSeconds` is the main process's count when known; otherwise the
   * routine time run so far stands in (from `now` and `timeScale`).
   */
  | { type: 'ended'; reason: string; message: string; usedMotorSeconds?: number; now: number; timeScale: number }
  /** The main process's count of motor time for a run already in its summary. */
  | { type: 'usage-counted'; usedMotorSeconds: number }
  /** After a reload: the routine the old page ran was stopped when it went away. */
  | { type: 'interrupted'; routine: Routine; message: string; usedSeconds?: number };

/** Whether a run is active: starting, running or paused (not ending, not in its summary). */
export function isRunActive(run: Run | null | undefined): run is ActiveRun {
  return Boolean(run && (run.phase === 'starting' || run.phase === 'running' || run.phase === 'paused'));
}

/**
 * Whether the main process may still hold this run's session: active, or ending (its stop
 * or end sent, the answer not yet back).
 */
export function isRunLive(run: Run | null | undefined): run is ActiveRun | EndingRun {
  return isRunActive(run) || run?.phase === 'ending';
}

/** The session id of a run that holds (or held) one, else undefined. */
export function runSessionId(run: Run | null | undefined): string | undefined {
  return run && 'sessionId' in run ? run.sessionId : undefined;
}

/** Total planned motor time of a routine, seconds. */
export function plannedSeconds(routine: Routine): number {
  return routine.steps.reduce((a, s) => a + s.durationSec, 0);
}

/**
 * Where a granted routine is at `now` (ms of `performance.now()`), with demo mode's
 * `timeScale`; null for manual control or before the grant.
 */
export function runPosition(run: Run, now: number, timeScale: number): RunnerState | null {
  if (run.mode !== 'routine' || !('clock' in run)) return null;
  return runnerState(run.routine, clockElapsedMs(run.clock, now), timeScale);
}

/** The water reminder is for a real massage: at least a minute of motor time. */
export function waterDue(run: SummaryRun): boolean {
  return (run.usedMotorSeconds ?? 0) >= 60;
}

/** The intensity (0..1) to ask for step `index` of a granted routine, or null when there is none. */
export function stepIntensity(run: GrantedRoutine, index: number): number | null {
  const step = run.routine.steps[index];
  return step ? Math.min(1, Math.max(0, step.intensity * run.intensityFactor)) : null;
}

/** The routine plan of a library routine, as the preparation screen opens it. */
function routinePlan(routine: Routine): RoutinePlan {
  return { mode: 'routine', routineId: routine.id, muscleGroup: routine.muscleGroup, planned: routine, routine };
}

/** The session part of a run, without its phase fields. */
function grantedPart(run: RunningRun | PausedRun | EndingRun): Granted & RunTrouble {
  const { phase: _phase, ...rest } = run as RunningRun & { pausedReason?: string; endReason?: string; endMessage?: string };
  delete rest.pausedReason;
  delete rest.endReason;
  delete rest.endMessage;
  return rest;
}

function grant(run: StartingRun, result: SessionStartResult, now: number): RunningRun {
  const held: HeldSession = { sessionId: result.sessionId, grantedMotorSeconds: result.grantedMotorSeconds, clock: startClock(now) };
  const { error, errorCode } = run;
  const trouble: RunTrouble = { ...(error !== undefined ? { error } : {}), ...(errorCode !== undefined ? { errorCode } : {}) };
  if (run.mode === 'manual') {
    return { phase: 'running', mode: 'manual', muscleGroup: run.muscleGroup, manualIntensity: run.manualIntensity, ...held, ...trouble };
  }
  const planned = plannedSeconds(run.planned);
  const granted = Math.min(result.grantedMotorSeconds, planned);
  const f = result.intensityFactor;
  return {
    phase: 'running',
    mode: 'routine',
    routineId: run.routineId,
    muscleGroup: run.muscleGroup,
    planned: run.planned,
    routine: granted < planned ? scaleRoutine(run.planned, granted) : run.planned,
    ...held,
    shortened: Boolean(result.shortened) || granted < planned,
    intensityFactor: typeof f === 'number' && f > 0 ? Math.min(1, f) : 1,
    sentStep: null,
    ...trouble,
  };
}

/**
 * The run after `event`. Pure: the same run and event give the same result. A transition
 * the current phase does not allow (a grant while not starting, a resume while not
 * paused, closing a run that still holds a session…) returns `run` itself, unchanged.
 */
export function runReducer(run: Run | null, event: RunEvent): Run | null {
  switch (event.type) {
    case 'opened':
      if (isRunLive(run)) return run;
      return { phase: 'prep', ...routinePlan(event.routine) };

    case 'closed':
      return run && (run.phase === 'prep' || run.phase === 'summary') ? null : run;

    case 'start-requested': {
      if (run?.phase !== 'prep') return run;
      const { phase: _phase, error: _error, errorCode: _code, ...plan } = run;
      return { ...plan, phase: 'starting' };
    }

    case 'manual-requested':
      if (isRunLive(run)) return run;
      return { phase: 'starting', mode: 'manual', muscleGroup: event.muscleGroup, manualIntensity: event.intensity };

    case 'granted':
      return run?.phase === 'starting' ? grant(run, event.result, event.now) : run;

    case 'refused': {
      if (run?.phase !== 'starting') return run;
      if (run.mode === 'manual') return null;
      const { phase: _phase, ...plan } = run;
      return { ...plan, phase: 'prep', error: event.error, errorCode: event.errorCode };
    }

    case 'step':
      if (run?.phase !== 'running' || run.mode !== 'routine' || !run.routine.steps[event.index] || run.sentStep === event.index) return run;
      return { ...run, sentStep: event.index };

    case 'tick': {
      if (run?.phase !== 'running' || run.mode !== 'routine') return run;
      const pos = runPosition(run, event.now, event.timeScale);
      if (!pos) return run;
      if (pos.done) return { ...grantedPart(run), phase: 'ending' };
      return pos.stepIndex !== run.sentStep ? { ...run, sentStep: pos.stepIndex } : run;
    }

    case 'paused':
      if (run?.phase !== 'running') return run;
      return { ...grantedPart(run), phase: 'paused', clock: pauseClock(run.clock, event.now) };

    case 'paused-by-main':
      if (run?.phase !== 'running') return run;
      return {
        ...grantedPart(run),
        phase: 'paused',
        clock: pauseClock(run.clock, event.now),
        ...(event.reason !== undefined ? { pausedReason: event.reason } : {}),
      };

    case 'resumed': {
      if (run?.phase !== 'paused') return run;
      const rest = grantedPart(run);
      delete rest.error;
      return { ...rest, phase: 'running', clock: resumeClock(run.clock, event.now) };
    }

    case 'manual-intensity':
      if (!isRunActive(run) || run.mode !== 'manual') return run;
      return { ...run, manualIntensity: event.intensity };

    case 'failed':
      if (!run) return run;
      return { ...run, error: event.error, ...(event.errorCode !== undefined ? { errorCode: event.errorCode } : {}) };

    case 'ending':
      if (run?.phase !== 'running' && run?.phase !== 'paused') return run;
      return {
        ...grantedPart(run),
        phase: 'ending',
        ...(event.reason !== undefined ? { endReason: event.reason } : {}),
        ...(event.message !== undefined ? { endMessage: event.message } : {}),
      };

    case 'ended': {
      if (!run || run.phase === 'prep') return run;
      const pos = runPosition(run, event.now, event.timeScale);
      const { phase: _phase, ...rest } = run as Exclude<Run, PrepRun> & { pausedReason?: string; endReason?: string; endMessage?: string; usedMotorSeconds?: number };
      delete rest.pausedReason;
      const used = event.usedMotorSeconds ?? rest.usedMotorSeconds ?? (pos ? pos.routineElapsedMs / 1000 : undefined);
      const summary: SummaryRun = {
        ...rest,
        ...('clock' in rest ? { clock: pauseClock(rest.clock, event.now) } : {}),
        phase: 'summary',
        endReason: rest.endReason ?? event.reason,
        endMessage: rest.endMessage ?? event.message,
      };
      if (used !== undefined) summary.usedMotorSeconds = used;
      else delete summary.usedMotorSeconds;
      return summary;
    }

    case 'usage-counted':
      return run?.phase === 'summary' ? { ...run, usedMotorSeconds: event.usedMotorSeconds } : run;

    case 'interrupted':
      if (run) return run;
      return {
        phase: 'summary',
        ...routinePlan(event.routine),
        endReason: 'connection-lost',
        endMessage: event.message,
        ...(event.usedSeconds !== undefined ? { usedMotorSeconds: event.usedSeconds } : {}),
      };
  }
}
