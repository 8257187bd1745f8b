import { describe, expect, it } from 'vitest';
import {
  clockElapsedMs,
  formatCountdown,
  pauseClock,
  resumeClock,
  routineDurationMs,
  runnerState,
  scaleRoutine,
  startClock,
} from '../../../renderer/src/routines/runner';
import { findRoutine, ROUTINES, type Routine } from '../../../renderer/src/routines/library';
import { MUSCLE_GROUPS } from '../../../electron/ipc/contract';

const upper = findRoutine('upper-back-knot') as Routine;

describe('routine library', () => {
  it('has the Upper back knot routine with four steps in the article order, 3–5 minutes', () => {
    expect(upper.name).toBe('Upper back');
    expect(upper.muscleGroup).toBe('upper-back');
    expect(upper.steps.map((s) => s.motion)).toEqual(['circular', 'back-and-forth', 'on-knot', 'long-strokes']);
    expect(upper.steps.map((s) => s.durationSec)).toEqual([60, 75, 45, 60]);
    expect(routineDurationMs(upper)).toBe(240_000);
  });

  it('covers every muscle group, each routine 3–5 minutes with gentle intensities', () => {
    for (const g of MUSCLE_GROUPS) expect(ROUTINES.some((r) => r.muscleGroup === g)).toBe(true);
    expect(ROUTINES.some((r) => r.muscleGroup === 'upper-back' && r.gentle)).toBe(true);
    for (const r of ROUTINES) {
      const ms = routineDurationMs(r);
      expect(ms).toBeGreaterThanOrEqual(180_000);
      expect(ms).toBeLessThanOrEqual(300_000);
      for (const s of r.steps) {
        expect(s.intensity).toBeGreaterThan(0);
        expect(s.intensity).toBeLessThanOrEqual(0.6);
        expect(s.title.length).toBeGreaterThan(0);
        expect(s.cue.length).toBeGreaterThan(0);
      }
    }
    expect(new Set(ROUTINES.map((r) => r.id)).size).toBe(ROUTINES.length);
  });
});

describe('runnerState', () => {
  it('starts at step 0', () => {
    const s = runnerState(upper, 0);
    expect(s).toMatchObject({ stepIndex: 0, stepElapsedMs: 0, stepRemainingMs: 60_000, progress: 0, done: false });
  });

  it('puts step boundaries exactly at the cumulative durations', () => {
    expect(runnerState(upper, 59_999).stepIndex).toBe(0);
    expect(runnerState(upper, 59_999).stepRemainingMs).toBe(1);
    expect(runnerState(upper, 60_000)).toMatchObject({ stepIndex: 1, stepElapsedMs: 0, stepRemainingMs: 75_000 });
    expect(runnerState(upper, 134_999).stepIndex).toBe(1);
    expect(runnerState(upper, 135_000).stepIndex).toBe(2);
    expect(runnerState(upper, 180_000).stepIndex).toBe(3);
    expect(runnerState(upper, 239_999)).toMatchObject({ stepIndex: 3, done: false });
    expect(runnerState(upper, 240_000)).toMatchObject({ stepIndex: 3, stepRemainingMs: 0, progress: 1, done: true });
    expect(runnerState(upper, 10_000_000).done).toBe(true);
  });

  it('reports progress over the whole routine', () => {
    expect(runnerState(upper, 120_000).progress).toBeCloseTo(0.5, 10);
    expect(runnerState(upper, 60_000).progress).toBeCloseTo(0.25, 10);
  });

  it('treats negative or non-finite elapsed time as zero', () => {
    expect(runnerState(upper, -5).stepElapsedMs).toBe(0);
    expect(runnerState(upper, Number.NaN).stepIndex).toBe(0);
  });

  it('runs routine time faster by the time scale', () => {
    expect(runnerState(upper, 6_000, 10)).toMatchObject({ stepIndex: 1, stepElapsedMs: 0 });
    expect(runnerState(upper, 24_000, 10).done).toBe(true);
    expect(runnerState(upper, 23_999, 10).done).toBe(false);
    expect(runnerState(upper, 1_000, 60).stepIndex).toBe(1);
    // a nonsense scale falls back to real time
    expect(runnerState(upper, 6_000, 0).stepIndex).toBe(0);
  });
});

describe('pausable clock', () => {
  it('excludes paused time', () => {
    let c = startClock(1_000);
    expect(clockElapsedMs(c, 31_000)).toBe(30_000);
    c = pauseClock(c, 31_000);
    expect(clockElapsedMs(c, 91_000)).toBe(30_000); // frozen while paused
    c = resumeClock(c, 91_000);
    expect(clockElapsedMs(c, 121_000)).toBe(60_000);
    expect(runnerState(upper, clockElapsedMs(c, 121_000))).toMatchObject({ stepIndex: 1, stepElapsedMs: 0 });
  });

  it('ignores a double pause or resume', () => {
    let c = startClock(0);
    c = pauseClock(c, 10);
    c = pauseClock(c, 50);
    c = resumeClock(c, 100);
    c = resumeClock(c, 200);
    expect(clockElapsedMs(c, 300)).toBe(210);
  });
});

describe('scaleRoutine', () => {
  it('leaves the routine alone when the grant covers it', () => {
    expect(scaleRoutine(upper, 240).steps.map((s) => s.durationSec)).toEqual([60, 75, 45, 60]);
    expect(scaleRoutine(upper, 300).steps.map((s) => s.durationSec)).toEqual([60, 75, 45, 60]);
  });

  it('shortens every step in proportion', () => {
    const half = scaleRoutine(upper, 120);
    expect(half.steps.map((s) => s.durationSec)).toEqual([30, 37.5, 22.5, 30]);
    expect(routineDurationMs(half)).toBe(120_000);
    expect(half.steps.map((s) => s.intensity)).toEqual(upper.steps.map((s) => s.intensity));
  });

  it('adds up to exactly the granted time when the ratio is awkward', () => {
    const r = scaleRoutine(upper, 97);
    expect(routineDurationMs(r)).toBe(97_000);
    const ratio = 97 / 240;
    r.steps.forEach((s, i) => expect(Math.abs(s.durationSec - (upper.steps[i]?.durationSec ?? 0) * ratio)).toBeLessThan(0.002));
  });

  it('does not mutate the library routine', () => {
    scaleRoutine(upper, 60);
    expect(upper.steps[0]?.durationSec).toBe(60);
  });
});

describe('formatCountdown', () => {
  it('shows mm:ss rounded up', () => {
    expect(formatCountdown(60_000)).toBe('01:00');
    expect(formatCountdown(59_001)).toBe('01:00');
    expect(formatCountdown(59_000)).toBe('00:59');
    expect(formatCountdown(0)).toBe('00:00');
    expect(formatCountdown(-3)).toBe('00:00');
  });
});
