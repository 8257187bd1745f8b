/** The connected device: status, manual control with the ceiling on the slider, heat, a large Stop. */
import { useId, useState, type CSSProperties } from 'react';
import { MUSCLE_GROUPS, type MuscleGroup } from '../contract';
import { useActions } from '../controller';
import { t } from '../i18n/en';
import { isRunActive, waterDue } from '../run';
import { budgetFor, budgetTooShort, motorBlocked, observedSession, rulesOf, screeningComplete, trafficOf, useStore, type State } from '../store';
import { TrafficLog } from '../components/TrafficLog';

/**
 * The connected device's intensity ceiling (0..1): the one in force that main reports,
 * else the user's setting for its protocol, else the rules' default for its kind; 0 when
 * none is known yet (nothing is offered above it).
 */
export function ceilingOf(s: State): number {
  const d = s.device;
  if (typeof d.ceiling === 'number') return d.ceiling;
  const set = s.settings;
  if (d.protocolId && set?.ceilings?.[d.protocolId] !== undefined) return set.ceilings[d.protocolId] as number;
  return rulesOf(s)?.defaultCeiling ?? 0;
}

/** The words for a stop's state, as the device panel shows it. */
export function stopStateText(state: 'waiting' | 'confirmed' | 'unconfirmed' | 'cannot-confirm'): string {
  switch (state) {
    case 'waiting':
      return t.stop.waiting;
    case 'confirmed':
      return t.stop.confirmed;
    case 'cannot-confirm':
      return t.stop.cannotConfirm;
    default:
      return t.stop.unconfirmed;
  }
}

/**
 * A stop the massager did not confirm: the user is told to switch it off by hand, in that
 * device's own way, and says "It is off" before any new session can start on it.
 */
export function OffUnconfirmed() {
  const device = useStore((s) => s.device);
  const actions = useActions();
  return (
    <div className="stop-alert" role="alert">
      <p>
        <strong>{t.stop.unconfirmedTitle((device.kind && t.stop.kindNames[device.kind]) || t.stop.massager)}</strong> {device.handOff}
      </p>
      <p className="hint">{t.stop.itIsOffHint}</p>
      <button type="button" className="btn" onClick={() => void actions.confirmOff()}>
        {t.stop.itIsOff}
      </button>
    </div>
  );
}

/** The muscle group a session is counted against: a labelled select of `groups`. */
export function AreaSelect(props: {
  id: string;
  label: string;
  value: MuscleGroup;
  groups: readonly MuscleGroup[];
  disabled?: boolean;
  onChange: (group: MuscleGroup) => void;
}) {
  return (
    <>
      <label htmlFor={props.id}>{props.label}</label>
      <select id={props.id} value={props.value} disabled={props.disabled} onChange={(e) => props.onChange(e.target.value as MuscleGroup)}>
        {props.groups.map((g) => (
          <option key={g} value={g}>
            {t.groups[g]}
          </option>
        ))}
      </select>
    </>
  );
}

/**
 * The stop check of a device on a user profile (shown until it passed): run it (the lowest
 * step for 2 s, then the stop, counted against the chosen area), then "Did it stop?".
 */
export function StopCheck({ groups }: { groups: readonly MuscleGroup[] }) {
  const uid = useId();
  const actions = useActions();
  const state = useStore((s) => s.device.stopCheck);
  const [group, setGroup] = useState<MuscleGroup>('upper-back');
  if (!state || state === 'passed') return null;
  return (
    <section className="stop-check" aria-labelledby={`${uid}-h`}>
      <h3 id={`${uid}-h`}>{t.stopCheck.heading}</h3>
      {state === 'failed' ? (
        <p className="stop-alert" role="alert">
          {t.stopCheck.failed}
        </p>
      ) : (
        <p className="hint">{t.stopCheck.intro}</p>
      )}
      {(state === 'needed' || state === 'running') && (
        <div className="row">
          <AreaSelect id={`${uid}-group`} label={t.stopCheck.group} value={group} groups={groups} disabled={state === 'running'} onChange={setGroup} />
          <button type="button" className="btn primary" disabled={state === 'running'} onClick={() => void actions.runStopCheck(group)}>
            {t.stopCheck.run}
          </button>
        </div>
      )}
      {state === 'running' && (
        <p className="notice" role="status">
          {t.stopCheck.running}
        </p>
      )}
      {state === 'asking' && (
        <div role="group" aria-labelledby={`${uid}-q`}>
          <p id={`${uid}-q`}>
            <strong>{t.stopCheck.question}</strong>
          </p>
          <div className="row">
            <button type="button" className="btn primary" onClick={() => void actions.answerStopCheck(true)}>
              {t.stopCheck.yes}
            </button>
            <button type="button" className="btn stop" onClick={() => void actions.answerStopCheck(false)}>
              {t.stopCheck.no}
            </button>
          </div>
        </div>
      )}
    </section>
  );
}

/**
 * "Report a problem": the connected device's recent traffic (the latest 20 entries) and a
 * button that saves the capture of its last minutes (a download in the browser host, a
 * save dialog in Electron) to attach to a report.
 */
export function DeviceReport() {
  const uid = useId();
  const actions = useActions();
  const entries = useStore((s) => trafficOf(s));
  const [busy, setBusy] = useState(false);
  return (
    <section className="device-report" aria-labelledby={`${uid}-h`}>
      <h3 id={`${uid}-h`}>{t.traffic.heading}</h3>
      <p className="hint">{t.traffic.intro}</p>
      <TrafficLog entries={entries} limit={20} />
      <button
        type="button"
        className="btn"
        disabled={busy}
        onClick={() => {
          setBusy(true);
          void actions.saveDeviceCapture().finally(() => setBusy(false));
        }}
      >
        {t.traffic.save}
      </button>
    </section>
  );
}

export function DevicePanel() {
  const uid = useId();
  const actions = useActions();
  const device = useStore((s) => s.device);
  const ceiling = useStore(ceilingOf);
  const run = useStore((s) => s.run);
  const clamped = useStore((s) => s.clamped);
  const blocked = useStore(motorBlocked);
  const screened = useStore(screeningComplete);
  const [group, setGroup] = useState<MuscleGroup>('upper-back');
  const [level, setLevel] = useState(0.3);

  const manual = isRunActive(run) && run.mode === 'manual' ? run : null;
  const routineRunning = isRunActive(run) && run.mode === 'routine';
  const value = manual ? manual.manualIntensity : level;
  const pct = Math.round(value * 100);
  const ceilPct = Math.round(ceiling * 100);
  const excluded = useStore((s) => rulesOf(s)?.excludedGroups);
  const groups = MUSCLE_GROUPS.filter((g) => !excluded?.includes(g));
  const left = useStore((s) => budgetFor(s, group)?.remainingSeconds);
  const tooShort = useStore((s) => budgetTooShort(s, group));
  const other = useStore((s) => observedSession(s) !== null);
  const ended = run?.mode === 'manual' && run.phase === 'summary' ? run : null;
  const unit = device.stepUnit ?? '';
  const sessionRunning = useStore((s) => s.session?.state === 'running');
  // A device on a user profile runs nothing before its stop check passed (main refuses it too).
  const checkPending = device.stopCheck !== undefined && device.stopCheck !== 'passed';

  const onSlide = (v: number): void => {
    setLevel(v);
    if (manual) void actions.setManualIntensity(v);
  };

  const rows: [string, string][] = [
    [t.device.state, device.running ? t.device.running : t.device.stopped],
    [t.device.battery, typeof device.batteryPercent === 'number' ? `${device.batteryPercent}%` : t.device.unknown],
    [t.device.firmware, device.firmware ?? t.device.unknown],
  ];
  if (device.model) rows.push([t.device.model, device.modelNumber && device.modelNumber !== device.model ? `${device.model} (${device.modelNumber})` : device.model]);
  if (device.manufacturer) rows.push([t.device.maker, device.manufacturer]);
  if (typeof device.commandedStep === 'number') rows.push([t.device.commanded, t.device.step(device.commandedStep, unit)]);
  if (device.runState) rows.push([t.device.runStateLabel(device.kind), t.device.runStates[device.runState]]);
  if (typeof device.reportedLevel === 'number') {
    rows.push(
      device.kind === 'chair'
        ? [t.device.chairSpeed, t.device.ofSteps(device.reportedLevel, device.steps)]
        : [t.device.reported, `${device.reportedLevel}`],
    );
  }
  if (typeof device.secondsLeft === 'number') rows.push([t.device.deviceTimer, t.device.timeLeft(device.secondsLeft)]);
  const stopText = device.stop ? stopStateText(device.stop.state) : undefined;

  return (
    <section className="card device-panel" aria-labelledby={`${uid}-h`}>
      <h2 id={`${uid}-h`}>
        {device.name ?? t.device.heading}
        {device.kind ? <span className="sub"> · {t.kinds[device.kind]}</span> : null}
      </h2>
      {device.experimental && (
        <p className="hint">
          <span className="badge exp">{t.pairing.experimental}</span> {device.experimental}
        </p>
      )}
      {device.userProfile && (
        <p className="hint">
          {device.userProfile.draft ? (
            <>
              <span className="badge exp">{t.profiles.draftNotVerified}</span> {t.profiles.draftHint}
            </>
          ) : (
            <>
              <span className="badge exp">{t.profiles.notVerified}</span> {device.userProfile.file}
            </>
          )}
        </p>
      )}
      {device.message && !device.offUnconfirmed && <p className="hint">{device.message}</p>}
      {device.runState === 'resetting' && (
        <p className="notice" role="status">
          {t.device.resetting}
        </p>
      )}
      <dl className="facts">
        {rows.map(([k, v]) => (
          <div key={k}>
            <dt>{k}</dt>
            <dd>{v}</dd>
          </div>
        ))}
      </dl>

      <button type="button" className="btn stop big" onClick={() => void actions.stopEverything()}>
        {t.device.stop}
      </button>
      {stopText && !device.offUnconfirmed && (
        <p className={`stop-state ${device.stop?.state ?? ''}`} role="status">
          {stopText}
        </p>
      )}
      {device.offUnconfirmed && <OffUnconfirmed />}

      <StopCheck groups={groups} />

      {typeof device.maxStep === 'number' && (
        <p className="hint">{t.device.ceilingNote(ceilPct, device.maxStep, unit)}</p>
      )}
      {clamped && <p className="notice">{t.device.clamped(clamped.requestedStep, clamped.commandedStep, clamped.stepUnit)}</p>}

      <h3>{t.device.manualHeading}</h3>
      <p className="hint">{t.device.manualIntro}</p>
      <div className="field">
        <AreaSelect id={`${uid}-group`} label={t.device.manualGroup} value={manual?.muscleGroup ?? group} groups={groups} disabled={Boolean(manual)} onChange={setGroup} />
        {typeof left === 'number' && !manual && <span className={tooShort ? 'warn-text' : 'hint'}>{t.routines.left(left)}</span>}
      </div>
      <div className="field">
        <label htmlFor={`${uid}-level`}>{t.device.intensity}</label>
        <div className="slider-wrap" style={{ '--ceiling': `${ceilPct}%`, '--value': `${pct}%` } as CSSProperties}>
          <input
            id={`${uid}-level`}
            type="range"
            min={0}
            max={100}
            step={1}
            value={pct}
            aria-valuetext={`${pct}%${value > ceiling ? `, ${t.device.aboveCeiling(ceilPct)}` : ''}`}
            aria-describedby={`${uid}-ceil`}
            onChange={(e) => onSlide(Number(e.target.value) / 100)}
          />
          <span className="ceiling-mark" aria-hidden="true" />
        </div>
        <output htmlFor={`${uid}-level`} className="slider-value">
          {t.device.intensityValue(pct)}
        </output>
        <span id={`${uid}-ceil`} className="hint">
          {value > ceiling ? t.device.aboveCeiling(ceilPct) : t.device.ceilingIs(ceilPct)}
        </span>
      </div>
      <div className="row">
        {manual ? (
          <button type="button" className="btn" onClick={() => void actions.endManualOrStop()}>
            {t.device.manualEnd}
          </button>
        ) : (
          <button
            type="button"
            className="btn primary"
            disabled={blocked || !screened || routineRunning || tooShort || other || checkPending || device.connection !== 'connected'}
            onClick={() => void actions.startManual(group, level)}
          >
            {t.device.manualStart}
          </button>
        )}
        {blocked && <span className="hint">{t.prep.blocked}</span>}
        {!blocked && !screened && <span className="hint">{t.firstRun.banner}</span>}
        {!blocked && screened && other && <span className="hint">{t.prep.otherSession}</span>}
        {!blocked && screened && checkPending && <span className="hint">{t.stopCheck.needed}</span>}
      </div>
      {ended && (
        <p className="hint" role="status">
          {ended.endReason === 'user-stop' ? t.summary.manualEnded : ended.endMessage}
          {typeof ended.usedMotorSeconds === 'number' && ` ${t.summary.used(ended.usedMotorSeconds)}`}
          {waterDue(ended) && ` ${t.summary.water}`}
        </p>
      )}

      {device.modes && device.modes.length > 0 && (
        <p className="hint">
          {t.device.mode}: {device.mode ?? t.device.unknown} ({device.modes.join(', ')}). {t.device.modesNote}
        </p>
      )}
      {device.hasHeat && (
        <>
          <label className="check">
            <input
              type="checkbox"
              checked={Boolean(device.heat)}
              disabled={!sessionRunning && !device.heat}
              onChange={(e) => void actions.setHeat(e.target.checked)}
            />
            {t.device.heat}
          </label>
          {!sessionRunning && !device.heat && <p className="hint">{t.device.heatNeedsSession}</p>}
        </>
      )}
      {device.peripheralId && device.connection !== 'connecting' && <DeviceReport />}
    </section>
  );
}
