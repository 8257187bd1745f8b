/**
 * The run's state machine (renderer/src/run.ts): every event from every phase, the ones
 * a phase refuses (the run comes back as the very same object), what each transition
 * carries over, and a property: any sequence of events leaves a well-formed run.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { findRoutine, type Routine } from '../../../renderer/src/routines/library';
import { clockElapsedMs } from '../../../renderer/src/routines/runner';
import { isRunActive, isRunLive, runPosition, runReducer, runSessionId, type Run, type RunEvent, type RunPhase } from '../../../renderer/src/run';

const upper = findRoutine('upper-back-knot') as Routine; // 60 + 75 + 45 + 60 s
const neck = findRoutine('neck-knot') as Routine;
const GRANT = { sessionId: 's1', grantedMotorSeconds: 240, shortened: false, intensityFactor: 1 };

/** Applies events in order, from no run. */
function play(...events: RunEvent[]): Run | null {
  return events.reduce<Run | null>((run, e) => runReducer(run, e), null);
}

const E = {
  opened: { type: 'opened', routine: upper },
  closed: { type: 'closed' },
  start: { type: 'start-requested' },
  manual: { type: 'manual-requested', muscleGroup: 'shoulders', intensity: 0.3 },
  granted: { type: 'granted', result: GRANT, now: 1_000 },
  refused: { type: 'refused', error: 'No time left today.', errorCode: 'budget-exhausted' },
  step: { type: 'step', index: 1 },
  tick: { type: 'tick', now: 1_000 + 61_000, timeScale: 1 },
  paused: { type: 'paused', now: 11_000 },
  pausedByMain: { type: 'paused-by-main', reason: 'The massager went out of reach.', now: 11_000 },
  resumed: { type: 'resumed', now: 21_000 },
  manualIntensity: { type: 'manual-intensity', intensity: 0.5 },
  failed: { type: 'failed', error: 'Write timed out.', errorCode: 'gatt-timeout' },
  ending: { type: 'ending', reason: 'user-stop', message: 'You stopped the session.' },
  ended: { type: 'ended', reason: 'watchdog', message: 'The window went quiet.', usedMotorSeconds: 42, now: 30_000, timeScale: 1 },
  usageCounted: { type: 'usage-counted', usedMotorSeconds: 50 },
  interrupted: { type: 'interrupted', routine: neck, message: 'The page was closed or reloaded.', usedSeconds: 75 },
} satisfies Record<string, RunEvent>;

/** One run in each phase (and both modes where both exist), reached through the reducer. */
const FIXTURES: Record<string, Run | null> = {
  none: null,
  prep: play(E.opened),
  'starting routine': play(E.opened, E.start),
  'starting manual': play(E.manual),
  'running routine': play(E.opened, E.start, E.granted),
  'running manual': play(E.manual, E.granted),
  paused: play(E.opened, E.start, E.granted, E.paused),
  'paused by main': play(E.opened, E.start, E.granted, E.pausedByMain),
  ending: play(E.opened, E.start, E.granted, E.ending),
  summary: play(E.opened, E.start, E.granted, E.ending, E.ended),
};

const phaseOf = (run: Run | null): RunPhase | 'none' => run?.phase ?? 'none';

type Outcome = RunPhase | 'none' | 'refused' | 'same phase';
/**
 * What each event does from each fixture: the phase it leads to, 'same phase' (a new run
 * object in the same phase), or 'refused' (the very same object back).
 */
const TABLE: Record<keyof typeof E, Partial<Record<keyof typeof FIXTURES, Outcome>> & { otherwise: Outcome }> = {
  opened: { none: 'prep', prep: 'prep', summary: 'prep', otherwise: 'refused' },
  closed: { prep: 'none', summary: 'none', otherwise: 'refused' },
  start: { prep: 'starting', otherwise: 'refused' },
  manual: { none: 'starting', prep: 'starting', summary: 'starting', otherwise: 'refused' },
  granted: { 'starting routine': 'running', 'starting manual': 'running', otherwise: 'refused' },
  refused: { 'starting routine': 'prep', 'starting manual': 'none', otherwise: 'refused' },
  step: { 'running routine': 'same phase', otherwise: 'refused' },
  tick: { 'running routine': 'same phase', otherwise: 'refused' },
  paused: { 'running routine': 'paused', 'running manual': 'paused', otherwise: 'refused' },
  pausedByMain: { 'running routine': 'paused', 'running manual': 'paused', otherwise: 'refused' },
  resumed: { paused: 'running', 'paused by main': 'running', otherwise: 'refused' },
  manualIntensity: { 'starting manual': 'same phase', 'running manual': 'same phase', otherwise: 'refused' },
  failed: { none: 'refused', otherwise: 'same phase' },
  ending: { 'running routine': 'ending', 'running manual': 'ending', paused: 'ending', 'paused by main': 'ending', otherwise: 'refused' },
  ended: { none: 'refused', prep: 'refused', otherwise: 'summary' },
  usageCounted: { summary: 'same phase', otherwise: 'refused' },
  interrupted: { none: 'summary', otherwise: 'refused' },
};

describe('run reducer: every event from every phase', () => {
  for (const [eventName, row] of Object.entries(TABLE) as [keyof typeof E, (typeof TABLE)[keyof typeof E]][]) {
    for (const [fixtureName, run] of Object.entries(FIXTURES)) {
      const expected = row[fixtureName as keyof typeof FIXTURES] ?? row.otherwise;
      it(`${eventName} from ${fixtureName}: ${expected}`, () => {
        const before = run === null ? null : structuredClone(run);
        const after = runReducer(run, E[eventName]);
        if (expected === 'refused') expect(after).toBe(run);
        else if (expected === 'same phase') {
          expect(after).not.toBe(run);
          expect(phaseOf(after)).toBe(phaseOf(run));
        } else expect(phaseOf(after)).toBe(expected);
        // pure: the run it was given is untouched
        expect(run).toEqual(before);
      });
    }
  }
});

describe('run reducer: what the transitions carry', () => {
  it('opens the plan as it is, with no session', () => {
    expect(play(E.opened)).toEqual({ phase: 'prep', mode: 'routine', routineId: 'upper-back-knot', muscleGroup: 'upper-back', planned: upper, routine: upper });
  });

  it('Start clears a refusal shown on the preparation screen; a refusal brings the plan back with its message', () => {
    const refused = play(E.opened, E.start, E.refused);
    expect(refused).toMatchObject({ phase: 'prep', error: 'No time left today.', errorCode: 'budget-exhausted' });
    const again = runReducer(refused, E.start);
    expect(again).toMatchObject({ phase: 'starting', routineId: 'upper-back-knot' });
    expect(again).not.toHaveProperty('error');
    expect(again).not.toHaveProperty('errorCode');
  });

  it('a grant shorter than the plan scales the steps and says so; the clock starts at the grant', () => {
    const run = play(E.opened, E.start, { type: 'granted', result: { ...GRANT, grantedMotorSeconds: 120, shortened: true }, now: 500 });
    expect(run).toMatchObject({ phase: 'running', sessionId: 's1', grantedMotorSeconds: 120, shortened: true, intensityFactor: 1, sentStep: null });
    if (run?.phase !== 'running' || run.mode !== 'routine') throw new Error('not a running routine');
    expect(run.routine.steps.map((s) => s.durationSec)).toEqual([30, 37.5, 22.5, 30]);
    expect(run.planned).toBe(upper);
    expect(run.clock).toEqual({ startedAt: 500, pausedTotalMs: 0, pausedAt: null });
  });

  it('a grant below the plan counts as shortened even when the flag says not; a longer one runs the plan', () => {
    const short = play(E.opened, E.start, { type: 'granted', result: { ...GRANT, grantedMotorSeconds: 200, shortened: false }, now: 0 });
    expect(short).toMatchObject({ shortened: true });
    const long = play(E.opened, E.start, { type: 'granted', result: { ...GRANT, grantedMotorSeconds: 900 }, now: 0 });
    expect(long).toMatchObject({ shortened: false, grantedMotorSeconds: 900 });
    expect(long && 'routine' in long && long.routine).toBe(upper);
  });

  it('keeps the intensity factor within 0 < f ≤ 1 (anything else counts as 1)', () => {
    const factor = (f: unknown) => {
      const run = play(E.opened, E.start, { type: 'granted', result: { ...GRANT, intensityFactor: f as number }, now: 0 });
      return run && 'intensityFactor' in run ? run.intensityFactor : undefined;
    };
    expect(factor(0.7)).toBe(0.7);
    expect(factor(1.5)).toBe(1);
    expect(factor(0)).toBe(1);
    expect(factor(-1)).toBe(1);
    expect(factor(Number.NaN)).toBe(1);
    expect(factor(undefined)).toBe(1);
  });

  it('a manual grant holds the session and the slider value, nothing of a routine', () => {
    expect(play(E.manual, E.granted)).toEqual({
      phase: 'running',
      mode: 'manual',
      muscleGroup: 'shoulders',
      manualIntensity: 0.3,
      sessionId: 's1',
      grantedMotorSeconds: 240,
      clock: { startedAt: 1_000, pausedTotalMs: 0, pausedAt: null },
    });
    expect(runReducer(play(E.manual, E.granted), E.manualIntensity)).toMatchObject({ manualIntensity: 0.5 });
  });

  it('tick: the step the runner is at (once), then the end', () => {
    const running = play(E.opened, E.start, E.granted);
    const first = runReducer(running, { type: 'tick', now: 1_000 + 100, timeScale: 1 });
    expect(first).toMatchObject({ phase: 'running', sentStep: 0 });
    expect(runReducer(first, { type: 'tick', now: 1_000 + 59_000, timeScale: 1 })).toBe(first); // still step 0: unchanged
    expect(runReducer(first, { type: 'tick', now: 1_000 + 60_000, timeScale: 1 })).toMatchObject({ phase: 'running', sentStep: 1 });
    // demo mode's time scale: 240 s of routine in 12 s
    expect(runReducer(first, { type: 'tick', now: 1_000 + 12_000, timeScale: 20 })).toMatchObject({ phase: 'ending', sessionId: 's1' });
    const ended = runReducer(first, { type: 'tick', now: 1_000 + 240_000, timeScale: 1 });
    expect(ended).toMatchObject({ phase: 'ending' });
    expect(ended).not.toHaveProperty('endReason'); // the routine finished: no one stopped it
  });

  it('step: records the step sent; an index the routine lacks is refused, the same step again changes nothing', () => {
    const running = play(E.opened, E.start, E.granted);
    const sent = runReducer(running, { type: 'step', index: 2 });
    expect(sent).toMatchObject({ sentStep: 2 });
    expect(runReducer(sent, { type: 'step', index: 2 })).toBe(sent);
    expect(runReducer(running, { type: 'step', index: 4 })).toBe(running);
    expect(runReducer(running, { type: 'step', index: -1 })).toBe(running);
  });

  it('pause stops the clock, resume excludes the paused time; a pause by main carries its reason, resume clears it', () => {
    const paused = play(E.opened, E.start, E.granted, E.pausedByMain);
    expect(paused).toMatchObject({ phase: 'paused', pausedReason: 'The massager went out of reach.' });
    if (!paused || !('clock' in paused)) throw new Error('no clock');
    expect(clockElapsedMs(paused.clock, 999_999)).toBe(10_000); // granted at 1 s, paused at 11 s
    const resumed = runReducer(paused, E.resumed);
    expect(resumed).toMatchObject({ phase: 'running' });
    expect(resumed).not.toHaveProperty('pausedReason');
    if (!resumed || !('clock' in resumed)) throw new Error('no clock');
    expect(clockElapsedMs(resumed.clock, 31_000)).toBe(20_000); // 10 s before the pause, 10 s after it
    expect(play(E.opened, E.start, E.granted, E.paused)).not.toHaveProperty('pausedReason');
  });

  it('resume clears the error text but keeps its code; a failure without a code keeps the one before', () => {
    const failed = play(E.opened, E.start, E.granted, E.failed, E.paused);
    expect(failed).toMatchObject({ error: 'Write timed out.', errorCode: 'gatt-timeout' });
    const resumed = runReducer(failed, E.resumed);
    expect(resumed).not.toHaveProperty('error');
    expect(resumed).toMatchObject({ errorCode: 'gatt-timeout' });
    expect(runReducer(failed, { type: 'failed', error: 'Pause refused.' })).toMatchObject({ error: 'Pause refused.', errorCode: 'gatt-timeout' });
  });

  it('ended: the user’s own reason wins over the main process’s; its count of motor time wins over the estimate', () => {
    const stopped = play(E.opened, E.start, E.granted, E.ending, E.ended);
    expect(stopped).toMatchObject({ phase: 'summary', endReason: 'user-stop', endMessage: 'You stopped the session.', usedMotorSeconds: 42, sessionId: 's1' });
    const cut = play(E.opened, E.start, E.granted, E.ended);
    expect(cut).toMatchObject({ phase: 'summary', endReason: 'watchdog', endMessage: 'The window went quiet.' });
    // a second end (the main process's event after our own) changes neither reason nor count
    expect(runReducer(stopped, { ...E.ended, reason: 'session-cap', message: 'cap', usedMotorSeconds: undefined })).toMatchObject({
      endReason: 'user-stop',
      usedMotorSeconds: 42,
    });
    // and the main process's count, when it comes later, is shown
    expect(runReducer(stopped, E.usageCounted)).toMatchObject({ usedMotorSeconds: 50 });
  });

  it('ended without a count: the routine time run so far stands in, the clock stops, a pause reason goes', () => {
    const run = play(E.opened, E.start, E.granted, E.pausedByMain, { type: 'ended', reason: 'connection-lost', message: 'Lost contact.', now: 90_000, timeScale: 1 });
    expect(run).toMatchObject({ phase: 'summary', endReason: 'connection-lost', usedMotorSeconds: 10 }); // 1 s → 11 s, then paused
    expect(run).not.toHaveProperty('pausedReason');
    const running = play(E.opened, E.start, E.granted, { type: 'ended', reason: 'device-lost', message: '', now: 31_000, timeScale: 1 });
    expect(running).toMatchObject({ usedMotorSeconds: 30 });
    if (!running || !('clock' in running)) throw new Error('no clock');
    expect(clockElapsedMs(running.clock, 1e9)).toBe(30_000); // stopped at the end
    // manual control has no routine position: no estimate
    expect(play(E.manual, E.granted, { type: 'ended', reason: 'watchdog', message: '', now: 31_000, timeScale: 1 })).not.toHaveProperty('usedMotorSeconds');
    // contact lost while asking for the session: a summary without a session
    const early = play(E.opened, E.start, { type: 'ended', reason: 'connection-lost', message: 'Lost contact.', now: 5, timeScale: 1 });
    expect(early).toMatchObject({ phase: 'summary', routineId: 'upper-back-knot' });
    expect(runSessionId(early)).toBeUndefined();
  });

  it('after a reload: a summary of the routine the old page ran, only when this page has no run', () => {
    expect(play(E.interrupted)).toEqual({
      phase: 'summary',
      mode: 'routine',
      routineId: 'neck-knot',
      muscleGroup: 'neck',
      planned: neck,
      routine: neck,
      endReason: 'connection-lost',
      endMessage: 'The page was closed or reloaded.',
      usedMotorSeconds: 75,
    });
  });
});

describe('run predicates', () => {
  it('active means starting, running or paused; live adds ending', () => {
    const phases = Object.values(FIXTURES).map((run) => [phaseOf(run), isRunActive(run), isRunLive(run)]);
    expect(phases).toEqual([
      ['none', false, false],
      ['prep', false, false],
      ['starting', true, true],
      ['starting', true, true],
      ['running', true, true],
      ['running', true, true],
      ['paused', true, true],
      ['paused', true, true],
      ['ending', false, true],
      ['summary', false, false],
    ]);
  });

  it('the position is the runner’s at the clock, for granted routines only', () => {
    const running = play(E.opened, E.start, E.granted) as Run;
    expect(runPosition(running, 1_000 + 60_000, 1)).toMatchObject({ stepIndex: 1, stepElapsedMs: 0 });
    expect(runPosition(play(E.opened) as Run, 1e6, 1)).toBeNull();
    expect(runPosition(play(E.manual, E.granted) as Run, 1e6, 1)).toBeNull();
  });
});

describe('run reducer: any sequence of events', () => {
  const eventArb: fc.Arbitrary<RunEvent> = fc.oneof(
    fc.constantFrom<RunEvent>(E.opened, E.closed, E.start, E.manual, E.refused, E.failed, E.ending, E.usageCounted, E.interrupted, E.manualIntensity),
    fc.record({ type: fc.constant('granted' as const), now: fc.integer({ min: 0, max: 1e6 }), result: fc.record({ sessionId: fc.constantFrom('a', 'b'), grantedMotorSeconds: fc.integer({ min: 0, max: 400 }), shortened: fc.boolean(), intensityFactor: fc.double({ min: -1, max: 2, noNaN: false }) }) }),
    fc.record({ type: fc.constant('step' as const), index: fc.integer({ min: -1, max: 5 }) }),
    fc.record({ type: fc.constant('tick' as const), now: fc.integer({ min: 0, max: 2e6 }), timeScale: fc.constantFrom(1, 20) }),
    fc.record({ type: fc.constantFrom('paused' as const, 'resumed' as const), now: fc.integer({ min: 0, max: 2e6 }) }),
    fc.record({ type: fc.constant('paused-by-main' as const), reason: fc.constantFrom('Device lost.', undefined), now: fc.integer({ min: 0, max: 2e6 }) }).map((e) => {
      const { reason, ...rest } = e;
      return reason === undefined ? rest : e;
    }),
    fc.record({ type: fc.constant('ended' as const), reason: fc.constantFrom('completed', 'watchdog'), message: fc.constant('m'), now: fc.integer({ min: 0, max: 2e6 }), timeScale: fc.constant(1) }),
  );

  it('leaves a well-formed run: a session where the phase needs one, a stopped clock when paused, a reason in the summary', () => {
    fc.assert(
      fc.property(fc.array(eventArb, { maxLength: 40 }), (events) => {
        let run: Run | null = null;
        for (const e of events) {
          run = runReducer(run, e);
          if (!run) continue;
          if (run.phase === 'running' || run.phase === 'paused' || run.phase === 'ending') {
            expect(typeof run.sessionId).toBe('string');
            expect(run.clock).toBeDefined();
          }
          if (run.phase === 'running') expect(run.clock.pausedAt).toBeNull();
          if (run.phase === 'paused') expect(run.clock.pausedAt).not.toBeNull();
          // a summary's clock, if any, is stopped: the countdown no longer moves
          if (run.phase === 'summary' && 'clock' in run) expect(run.clock.pausedAt).not.toBeNull();
          if (run.phase === 'prep' || run.phase === 'starting') expect(run).not.toHaveProperty('sessionId');
          if (run.phase === 'summary') expect(typeof run.endReason).toBe('string');
          if (run.mode === 'routine' && 'intensityFactor' in run) {
            expect(run.intensityFactor).toBeGreaterThan(0);
            expect(run.intensityFactor).toBeLessThanOrEqual(1);
          }
          if (run.mode === 'routine' && 'sentStep' in run && run.sentStep !== null) {
            expect(run.routine.steps[run.sentStep]).toBeDefined();
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});
