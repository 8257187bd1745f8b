/**
 * The routine runner: a pure function of elapsed monotonic time (DESIGN §2).
 * Nothing here counts timer ticks; the caller measures elapsed time with
 * `performance.now()` (minus paused time, see {@link clockElapsedMs}) and asks
 * where in the routine that time falls.
 */
import type { Routine } from './library';

export interface RunnerState {
  /** Index of the current step (the last step once done). */
  stepIndex: number;
  /** Routine time spent in the current step, ms. */
  stepElapsedMs: number;
  /** Routine time left in the current step, ms. */
  stepRemainingMs: number;
  /** Routine time elapsed, ms (after the time scale). */
  routineElapsedMs: number;
  /** Fraction of the whole routine done, 0..1. */
  progress: number;
  done: boolean;
}

/** Step durations in whole milliseconds. */
export function stepDurationsMs(routine: Routine): number[] {
  return routine.steps.map((s) => Math.max(0, Math.round(s.durationSec * 1000)));
}

export function routineDurationMs(routine: Routine): number {
  return stepDurationsMs(routine).reduce((a, b) => a + b, 0);
}

export function routineDurationSec(routine: Routine): number {
  return routineDurationMs(routine) / 1000;
}

/**
 * Where `elapsedMs` of real (unpaused) time falls in the routine. `timeScale` (demo
 * mode only, from `app.info`) makes routine time run that many times faster.
 * A step boundary belongs to the next step: at exactly the end of step 0 the
 * runner is at step 1 with 0 ms elapsed in it.
 */
export function runnerState(routine: Routine, elapsedMs: number, timeScale = 1): RunnerState {
  const scale = Number.isFinite(timeScale) && timeScale > 0 ? timeScale : 1;
  const durations = stepDurationsMs(routine);
  const total = durations.reduce((a, b) => a + b, 0);
  const t = Math.max(0, Number.isFinite(elapsedMs) ? elapsedMs : 0) * scale;
  let start = 0;
  for (let i = 0; i < durations.length; i++) {
    const d = durations[i] ?? 0;
    if (t < start + d) {
      return {
        stepIndex: i,
        stepElapsedMs: t - start,
        stepRemainingMs: start + d - t,
        routineElapsedMs: t,
        progress: total > 0 ? t / total : 1,
        done: false,
      };
    }
    start += d;
  }
  const last = Math.max(0, durations.length - 1);
  return {
    stepIndex: last,
    stepElapsedMs: durations[last] ?? 0,
    stepRemainingMs: 0,
    routineElapsedMs: total,
    progress: 1,
    done: true,
  };
}

/**
 * Shortens a routine to `grantedSeconds` of motor time, every step in proportion.
 * Step boundaries are rounded to whole milliseconds from the cumulative plan, so
 * the scaled steps add up to exactly the granted time. A grant at or above the
 * plan returns the routine unchanged.
 */
export function scaleRoutine(routine: Routine, grantedSeconds: number): Routine {
  const totalMs = routineDurationMs(routine);
  const grantedMs = Math.max(0, Math.round(grantedSeconds * 1000));
  if (totalMs === 0 || grantedMs >= totalMs) return { ...routine, steps: routine.steps.map((s) => ({ ...s })) };
  const factor = grantedMs / totalMs;
  const durations = stepDurationsMs(routine);
  let cum = 0;
  let prevEnd = 0;
  const steps = routine.steps.map((s, i) => {
    cum += durations[i] ?? 0;
    const end = i === durations.length - 1 ? grantedMs : Math.round(cum * factor);
    const d = end - prevEnd;
    prevEnd = end;
    return { ...s, durationSec: d / 1000 };
  });
  return { ...routine, steps };
}

// ---- the pausable monotonic clock ----

export interface RunClock {
  /** `performance.now()` when the run started. */
  startedAt: number;
  /** Total ms spent paused before the current pause. */
  pausedTotalMs: number;
  /** `performance.now()` when the current pause began, or null when running. */
  pausedAt: number | null;
}

export function startClock(now: number): RunClock {
  return { startedAt: now, pausedTotalMs: 0, pausedAt: null };
}

/** Real running time so far, paused time excluded. */
export function clockElapsedMs(clock: RunClock, now: number): number {
  const until = clock.pausedAt ?? now;
  return Math.max(0, until - clock.startedAt - clock.pausedTotalMs);
}

export function pauseClock(clock: RunClock, now: number): RunClock {
  if (clock.pausedAt !== null) return clock;
  return { ...clock, pausedAt: now };
}

export function resumeClock(clock: RunClock, now: number): RunClock {
  if (clock.pausedAt === null) return clock;
  return { ...clock, pausedTotalMs: clock.pausedTotalMs + Math.max(0, now - clock.pausedAt), pausedAt: null };
}

/** "mm:ss" for a number of milliseconds, rounded up to the next second (a countdown). */
export function formatCountdown(ms: number): string {
  const s = Math.max(0, Math.ceil(ms / 1000 - 1e-9));
  return `${String(Math.floor(s / 60)).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}`;
}

/** "mm:ss" for a number of seconds, rounded down. */
export function formatSeconds(sec: number): string {
  const s = Math.max(0, Math.floor(sec + 1e-9));
  return `${String(Math.floor(s / 60)).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}`;
}
