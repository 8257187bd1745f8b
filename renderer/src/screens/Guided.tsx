/**
 * The guided view: the preparation checklist, then the running routine (step, cue,
 * motion guide, countdown, progress, breathing pacer, next step, controls), then a
 * summary.
 */
import { useEffect, useRef, useState } from 'react';
import { BreathingPacer } from '../components/BreathingPacer';
import { MotionGuide } from '../components/MotionGuide';
import { ZONES } from '../components/BackFigure';
import { Screening } from '../components/Screening';
import { useActions } from '../controller';
import { useNow } from '../hooks';
import { t } from '../i18n/en';
import { motionText } from '../routines/library';
import { formatCountdown, routineDurationSec } from '../routines/runner';
import { runPosition, waterDue, type EndingRun, type PausedRun, type PrepRun, type RunningRun, type StartingRun, type SummaryRun } from '../run';
import {
  areaExcluded,
  budgetFor,
  budgetTooShort,
  deviceConnected,
  deviceLinkUp,
  motorBlocked,
  noticeAcknowledged,
  observedSession,
  reducedMotion,
  screeningComplete,
  useStore,
} from '../store';

type RoutineOnly<R> = Extract<R, { mode: 'routine' }>;
/** A routine before its session: on the checklist, or asking for the session. */
type PrepView = RoutineOnly<PrepRun | StartingRun>;
/** A routine with its session. */
type RunningView = RoutineOnly<RunningRun | PausedRun | EndingRun>;
type SummaryView = RoutineOnly<SummaryRun>;

function Prep({ run }: { run: PrepView }) {
  const actions = useActions();
  const routine = run.planned;
  const connected = useStore(deviceConnected);
  const linkUp = useStore(deviceLinkUp);
  const blocked = useStore(motorBlocked);
  const screened = useStore(screeningComplete);
  const acknowledged = useStore(noticeAcknowledged);
  const left = useStore((s) => budgetFor(s, routine.muscleGroup)?.remainingSeconds);
  const emsNeck = useStore((s) => areaExcluded(s, routine.muscleGroup));
  // Once shown, the questions and the notice stay until the user leaves this screen.
  const [showScreening] = useState(() => !screened || blocked);
  const [showNotice] = useState(() => !acknowledged);
  const noBudget = useStore((s) => budgetTooShort(s, routine.muscleGroup));
  const other = useStore((s) => observedSession(s) !== null);
  const planned = routineDurationSec(routine);
  // A start refused because the last stop was not confirmed: once the device is known to be
  // off again (its status, or "It is off"), that refusal no longer holds and is not shown.
  const offUnconfirmed = useStore((s) => s.device.offUnconfirmed === true);
  const staleOffRefusal = run.errorCode === 'device-not-confirmed-off' && !offUnconfirmed;
  const canStart = linkUp && !blocked && screened && acknowledged && !emsNeck && !noBudget && !other && run.phase === 'prep';
  const why = !connected
    ? t.prep.needDevice
    : !linkUp
      ? t.prep.reconnecting
      : other
      ? t.prep.otherSession
      : emsNeck
        ? t.prep.emsNeck
        : blocked
          ? t.prep.blocked
          : noBudget
            ? t.prep.noBudget
            : !screened
              ? t.prep.needScreening
              : !acknowledged
                ? t.prep.needNotice
                : '';

  return (
    <>
      <section className="card" aria-labelledby="prep-h">
        <h2 id="prep-h">{t.prep.heading}</h2>
        <p className="hint">{t.prep.intro}</p>
        <fieldset className="checklist">
          <legend className="sr-only">{t.prep.checklistLabel}</legend>
          {t.prep.items.map((item) => (
            <label key={item} className="check">
              <input type="checkbox" />
              {item}
            </label>
          ))}
        </fieldset>
        <p>
          {t.prep.plan(planned, t.groups[routine.muscleGroup])} {left !== undefined && t.prep.budgetLeft(left)}
        </p>
      </section>

      {(showScreening || !screened || blocked) && (
        <div className="card">
          <Screening headingLevel={2} />
        </div>
      )}
      {(showNotice || !acknowledged) && (
        <section className="card" aria-labelledby="notice-h">
          <h2 id="notice-h">{t.firstRun.doctorHeading}</h2>
          <p>{t.firstRun.doctor}</p>
          {acknowledged ? (
            <p className="hint" role="status">
              {t.firstRun.acknowledged}
            </p>
          ) : (
            <button type="button" className="btn" onClick={() => void actions.saveSettings({ doctorNoticeAcknowledged: true })}>
              {t.firstRun.acknowledge}
            </button>
          )}
        </section>
      )}

      <div className="card start-card">
        <ol className="step-preview">
          {routine.steps.map((s, i) => (
            <li key={i}>
              <strong>{s.title}</strong> · {formatCountdown(s.durationSec * 1000)} · {motionText(s)}
            </li>
          ))}
        </ol>
        {run.error && !staleOffRefusal && (
          <p className="error" role="alert">
            {run.error}
          </p>
        )}
        <div className="row">
          <button type="button" className="btn primary big" disabled={!canStart} aria-describedby={why ? 'start-why' : undefined} onClick={() => void actions.startRoutine()}>
            {run.phase === 'starting' ? t.prep.starting : t.prep.start}
          </button>
          <button type="button" className="btn" onClick={() => actions.closeRun()}>
            {t.prep.back}
          </button>
          {!connected && (
            <button type="button" className="btn" onClick={() => actions.go('devices')}>
              {t.prep.goConnect}
            </button>
          )}
        </div>
        {why && (
          <p id="start-why" className={blocked || noBudget || emsNeck || other ? 'warn-text' : 'hint'}>
            {why}
          </p>
        )}
        <p className="hint">{t.guided.keys}</p>
      </div>
    </>
  );
}

function Running({ run }: { run: RunningView }) {
  const actions = useActions();
  const now = useNow(200);
  const timeScale = useStore((s) => s.info?.timeScale ?? 1);
  const reduced = useStore(reducedMotion);
  const knot = useStore((s) => s.knots[run.muscleGroup]);
  const clamped = useStore((s) => s.clamped);
  const deviceGone = useStore((s) => s.device.connection !== 'connected');
  // Paused by the app when the link dropped; the main process keeps the motor off after it is back.
  const pausedReason = run.phase === 'paused' ? run.pausedReason : undefined;
  const reconnected = Boolean(pausedReason) && !deviceGone;
  const routine = run.routine;
  const pos = runPosition(run, now, timeScale);
  const headingRef = useRef<HTMLHeadingElement>(null);
  const stepIndex = pos?.stepIndex ?? 0;
  useEffect(() => {
    window.scrollTo(0, 0);
    headingRef.current?.focus({ preventScroll: true });
  }, []);
  if (!pos) return null;
  const step = routine.steps[stepIndex]!;
  const next = routine.steps[stepIndex + 1];
  const pct = Math.round(pos.progress * 100);
  const paused = run.phase === 'paused';
  const ending = run.phase === 'ending';

  return (
    <div className="guided-grid">
      <section className="card step-card" aria-labelledby="step-h">
        <p className="step-of">{t.guided.stepOf(stepIndex + 1, routine.steps.length)}</p>
        <h2 id="step-h" ref={headingRef} tabIndex={-1}>
          {step.title}
        </h2>
        <p className="cue">{step.cue}</p>
        <div className="timer-row">
          <div>
            <span className="sr-only">{t.guided.remaining}: </span>
            <span className="countdown" aria-hidden="false" role="timer">
              {formatCountdown(pos.stepRemainingMs)}
            </span>
          </div>
          <BreathingPacer reduced={reduced} paused={paused} />
        </div>
        <div className="progress-wrap">
          <span id="progress-label" className="hint">
            {t.guided.progress}
          </span>
          <div
            className="progress"
            role="progressbar"
            aria-labelledby="progress-label"
            aria-valuemin={0}
            aria-valuemax={100}
            aria-valuenow={pct}
            aria-valuetext={t.guided.progressText(pct)}
          >
            <div className="progress-fill" style={{ width: `${pos.progress * 100}%` }} />
          </div>
        </div>
        {run.shortened && <p className="notice">{t.guided.shortened(run.grantedMotorSeconds, routineDurationSec(run.planned))}</p>}
        {run.intensityFactor < 1 && <p className="notice">{t.guided.softer}</p>}
        {clamped && <p className="notice">{t.device.clamped(clamped.requestedStep, clamped.commandedStep, clamped.stepUnit)}</p>}
        {paused && (
          <div className="paused-box" role="alert">
            {reconnected ? (
              <p>{t.guided.reconnected}</p>
            ) : (
              <>
                <p>{pausedReason ? t.guided.pausedByApp : t.guided.paused}</p>
                {pausedReason && <p className="warn-text">{pausedReason}</p>}
                {deviceGone && !pausedReason && <p className="warn-text">{t.guided.deviceLost}</p>}
              </>
            )}
          </div>
        )}
        {run.error && (
          <p className="error" role="alert">
            {run.error}
          </p>
        )}
        <p className="next">
          <strong>{t.guided.next}: </strong>
          {next ? `${next.title} — ${motionText(next)}` : t.guided.lastStep}
        </p>
        <div className="controls">
          {paused ? (
            <button type="button" className="btn primary" disabled={ending} onClick={() => void actions.resumeRun()}>
              {t.guided.resume}
            </button>
          ) : (
            <button type="button" className="btn" disabled={ending || run.phase !== 'running'} onClick={() => void actions.pauseRun()}>
              {t.guided.pause}
            </button>
          )}
          <button type="button" className="btn stop" disabled={ending} onClick={() => void actions.stopRun('stop')}>
            {t.guided.stop}
          </button>
          <button type="button" className="btn hurt" disabled={ending} onClick={() => void actions.stopRun('hurt')}>
            {t.guided.hurt}
          </button>
        </div>
        <p className="hint">{t.guided.keys}</p>
      </section>
      <section className="card" aria-label={t.guided.motionLabel}>
        <MotionGuide motion={step.motion} label={motionText(step)} knot={knot ?? ZONES[run.muscleGroup].center} reduced={reduced} paused={paused} />
      </section>
    </div>
  );
}

function Summary({ run }: { run: SummaryView }) {
  const actions = useActions();
  const left = useStore((s) => budgetFor(s, run.muscleGroup)?.remainingSeconds);
  const ref = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    window.scrollTo(0, 0);
    ref.current?.focus({ preventScroll: true });
  }, []);
  const completed = run.endReason === 'completed';
  return (
    <section className="card summary" aria-labelledby="sum-h">
      <h2 id="sum-h" ref={ref} tabIndex={-1}>
        {completed ? t.summary.heading : t.summary.stoppedHeading}
      </h2>
      {run.endMessage && <p className="lead">{run.endMessage}</p>}
      {typeof run.usedMotorSeconds === 'number' && <p>{t.summary.used(run.usedMotorSeconds)}</p>}
      {left !== undefined && <p>{t.summary.left(left, t.groups[run.muscleGroup])}</p>}
      {waterDue(run) && <p className="water">{t.summary.water}</p>}
      {run.endReason === 'hurt' && <p>{t.summary.hurt}</p>}
      <button type="button" className="btn primary" onClick={() => actions.closeRun()}>
        {t.summary.again}
      </button>
    </section>
  );
}

export function Guided() {
  const run = useStore((s) => s.run);
  const actions = useActions();
  if (!run || run.mode !== 'routine') {
    return (
      <div className="screen">
        <button type="button" className="btn" onClick={() => actions.go('routines')}>
          {t.prep.back}
        </button>
      </div>
    );
  }
  return (
    <div className="screen">
      <h1>
        {run.planned.name}
        {run.planned.name !== t.groups[run.muscleGroup] && <span className="sub"> · {t.groups[run.muscleGroup]}</span>}
      </h1>
      {run.phase === 'prep' || run.phase === 'starting' ? <Prep run={run} /> : run.phase === 'summary' ? <Summary run={run} /> : <Running run={run} />}
    </div>
  );
}
