/**
 * The lab's draft editor (issue 17, item 4): a profile draft for the device the lab
 * explored, filled in from its GATT table, checked by main as the user types (each problem
 * with its field path and line), saved as one of the user's profiles, or tried on the device.
 *
 * The try panel is the only way bytes reach an unknown device from the lab: main connects
 * it on the draft as a massager under the governor, so the stop check comes first, steps
 * above the intensity ceiling are not offered (and main would clamp them), and Stop stops
 * it. Beside the steps: what the device reports, and its latest writes and notifications
 * (the device's traffic, `device.traffic`).
 */
import { useEffect, useId, useRef, useState } from 'react';
import { MAX_PROFILE_TEXT, MUSCLE_GROUPS, type DraftCheck, type LabView, type MuscleGroup } from '../contract';
import { call } from '../api';
import { useActions } from '../controller';
import { useBusyAction } from '../hooks';
import { t } from '../i18n/en';
import { isRunActive } from '../run';
import { TrafficLog } from '../components/TrafficLog';
import { rulesOf, trafficOf, useStore } from '../store';
import { AreaSelect, StopCheck, ceilingOf, stopStateText } from './DevicePanel';

/** How long typing must pause before the draft is checked, ms. */
const CHECK_DELAY_MS = 250;
/** Where the draft's text is kept between visits (this browser profile only). */
const STORAGE_KEY = 'unknot.labDraft';

function loadText(): string {
  try {
    return localStorage.getItem(STORAGE_KEY) ?? '';
  } catch {
    return '';
  }
}

function saveText(text: string): void {
  try {
    if (text) localStorage.setItem(STORAGE_KEY, text);
    else localStorage.removeItem(STORAGE_KEY);
  } catch {
    /* storage full or off: the text stays in the editor */
  }
}

/**
 * The check of `text`, asked of main `CHECK_DELAY_MS` after the last keystroke (a newer
 * text's answer wins; an older answer arriving late is dropped). Null before the first answer.
 */
function useDraftCheck(text: string): DraftCheck | null {
  const [check, setCheck] = useState<DraftCheck | null>(null);
  const seq = useRef(0);
  useEffect(() => {
    const mine = ++seq.current;
    if (!text.trim()) {
      setCheck(null);
      return;
    }
    if (text.length > MAX_PROFILE_TEXT) {
      setCheck({ ok: false, errors: [{ path: '(file)', message: t.draft.tooLong(text.length, MAX_PROFILE_TEXT) }] });
      return;
    }
    const timer = setTimeout(() => {
      call('draft.check', { text }).then(
        (c) => {
          if (mine === seq.current) setCheck(c);
        },
        (err: unknown) => {
          // Not checked (the link to main is down, or too many checks at once): say so, keep the text.
          if (mine === seq.current) setCheck({ ok: false, errors: [{ path: '(file)', message: t.draft.notChecked((err as Error).message) }] });
        },
      );
    }, CHECK_DELAY_MS);
    return () => clearTimeout(timer);
  }, [text]);
  return text.trim() ? check : null;
}

/** The editor, under the lab's table of `view`'s device. */
export function LabDraft({ view }: { view: LabView }) {
  const uid = useId();
  const [text, setText] = useState(loadText);
  const [saved, setSaved] = useState<string | null>(null);
  const { busy, error, act } = useBusyAction();
  const check = useDraftCheck(text);
  const device = useStore((s) => s.device);
  const session = useStore((s) => s.session);
  const trying = device.userProfile?.draft === true && device.connection !== 'disconnected';
  const target = view.peripheralId;

  const edit = (next: string): void => {
    setText(next);
    saveText(next);
    setSaved(null);
  };


  const fill = (): Promise<void> =>
    act(async () => {
      const template = await call('draft.template');
      edit(template.text);
    });

  const editor = useRef<HTMLTextAreaElement>(null);
  /** Selects line `line` (1-based) of the draft and scrolls it into view. */
  const goToLine = (line: number): void => {
    const el = editor.current;
    if (!el) return;
    const lines = text.split('\n');
    const start = lines.slice(0, line - 1).reduce((n, l) => n + l.length + 1, 0);
    el.focus();
    el.setSelectionRange(start, start + (lines[line - 1]?.length ?? 0));
    const lineHeight = el.scrollHeight / Math.max(1, lines.length);
    el.scrollTop = Math.max(0, (line - 3) * lineHeight);
  };

  const canTry = Boolean(check?.ok && target && !session && !busy);
  const problems = check && !check.ok ? check.errors : [];

  return (
    <section className="card lab-draft" aria-labelledby={`${uid}-h`}>
      <h2 id={`${uid}-h`}>{t.draft.heading}</h2>
      <p className="hint">{t.draft.intro}</p>
      <div className="row">
        <button type="button" className="btn" disabled={busy || view.services.length === 0} onClick={() => void fill()}>
          {text.trim() ? t.draft.refill : t.draft.fill}
        </button>
      </div>
      <div className="field draft-field">
        <label htmlFor={`${uid}-text`}>{t.draft.label}</label>
        <textarea
          ref={editor}
          id={`${uid}-text`}
          className="mono draft-text"
          value={text}
          rows={22}
          spellCheck={false}
          autoCapitalize="off"
          autoCorrect="off"
          aria-describedby={`${uid}-check`}
          aria-invalid={problems.length > 0}
          onChange={(e) => edit(e.target.value)}
        />
      </div>
      <div id={`${uid}-check`} className="draft-check" role="status" aria-live="polite">
        {!text.trim() ? (
          <p className="hint">{t.draft.empty}</p>
        ) : !check ? (
          <p className="hint">{t.draft.checking}</p>
        ) : check.ok && check.profile ? (
          <>
            <p className="ok-text">
              {t.draft.valid(check.profile.name, t.kinds[check.profile.kind], check.profile.steps)}{' '}
              {check.identifiesLabDevice === true && t.draft.identifies(view.name ?? '')}
              {check.identifiesLabDevice === false && t.draft.doesNotIdentify(view.name ?? '')}
            </p>
            {check.warnings && check.warnings.length > 0 && (
              <ul className="draft-problems" aria-label={t.draft.warningsLabel}>
                {check.warnings.map((w) => (
                  <li key={w.path}>
                    <span className="badge warn">{t.draft.warning}</span> <code>{w.path}</code>: {w.message}
                  </li>
                ))}
              </ul>
            )}
          </>
        ) : (
          <>
            <p className="warn-text">{t.draft.problems(problems.length)}</p>
            <ul className="draft-problems">
              {problems.map((p, i) => (
                <li key={`${p.path}-${i}`}>
                  {p.line !== undefined && (
                    <button type="button" className="link draft-where" aria-label={t.draft.goToLine(p.line)} onClick={() => goToLine(p.line!)}>
                      {t.draft.line(p.line, p.column)}
                    </button>
                  )}{' '}
                  <code>{p.path}</code>: {p.message}
                </li>
              ))}
            </ul>
          </>
        )}
      </div>
      <div className="row">
        <button
          type="button"
          className="btn primary"
          disabled={!canTry}
          onClick={() => void act(async () => void (await call('draft.try', { text, peripheralId: target! })))}
        >
          {trying && device.peripheralId === target ? t.draft.tryAgain : t.draft.tryOn(view.name ?? '')}
        </button>
        <button
          type="button"
          className="btn"
          disabled={!check?.ok || busy}
          onClick={() =>
            void act(async () => {
              const id = check?.profile?.id ?? 'my-profile';
              const res = await call('profiles.import', { fileName: `${id}.json`, text });
              if (!res.result.ok) throw new Error(t.draft.notSaved(res.result.errors.length));
              setSaved(res.result.file);
            })
          }
        >
          {t.draft.save}
        </button>
        {trying && (
          <button type="button" className="btn" disabled={busy} onClick={() => void act(async () => void (await call('draft.end')))}>
            {t.draft.end}
          </button>
        )}
        {session && !trying && <span className="hint">{t.draft.sessionRuns}</span>}
        {!target && <span className="hint">{t.draft.noDevice}</span>}
      </div>
      {saved && (
        <p className="notice" role="status">
          {t.draft.saved(saved)}
        </p>
      )}
      {error && (
        <p className="notice warn" role="alert">
          {error}
        </p>
      )}
      {trying && <TryPanel />}
    </section>
  );
}

/** Steps within the ceiling, Stop, the stop check and what the device reports, for the device on the draft. */
function TryPanel() {
  const uid = useId();
  const actions = useActions();
  const device = useStore((s) => s.device);
  const run = useStore((s) => s.run);
  const ceiling = useStore(ceilingOf);
  const excluded = useStore((s) => rulesOf(s)?.excludedGroups);
  const groups = MUSCLE_GROUPS.filter((g) => !excluded?.includes(g));
  const [group, setGroup] = useState<MuscleGroup>('upper-back');
  const manual = isRunActive(run) && run.mode === 'manual' ? run : null;
  const steps = device.steps ?? 0;
  const maxStep = device.maxStep ?? 0;
  const checkPending = device.stopCheck !== undefined && device.stopCheck !== 'passed';
  const unit = device.stepUnit ?? '';
  const ceilPct = Math.round(ceiling * 100);
  const traffic = useStore((s) => trafficOf(s));

  const step = (k: number): void => {
    const intensity = steps > 0 ? k / steps : 0;
    if (manual) void actions.setManualIntensity(intensity);
    else void actions.startManual(group, intensity);
  };

  const facts: [string, string][] = [
    [t.device.state, device.running ? t.device.running : t.device.stopped],
    [t.device.commanded, typeof device.commandedStep === 'number' ? t.device.step(device.commandedStep, unit) : '—'],
    [t.device.reported, typeof device.reportedLevel === 'number' ? String(device.reportedLevel) : t.device.unknown],
    [t.device.battery, typeof device.batteryPercent === 'number' ? `${device.batteryPercent}%` : t.device.unknown],
  ];

  return (
    <section className="try-panel" aria-labelledby={`${uid}-h`}>
      <h3 id={`${uid}-h`}>{t.draft.tryHeading(device.name ?? '')}</h3>
      <p className="hint">{t.draft.tryIntro(ceilPct)}</p>
      <div className="try-grid">
        <div>
          <StopCheck groups={groups} />
          <div className="field">
            <AreaSelect id={`${uid}-group`} label={t.device.manualGroup} value={manual?.muscleGroup ?? group} groups={groups} disabled={Boolean(manual)} onChange={setGroup} />
          </div>
          <div role="group" aria-label={t.draft.stepsLabel} className="try-steps">
            {Array.from({ length: steps }, (_, i) => i + 1).map((k) => (
              <button
                key={k}
                type="button"
                className={`btn small${device.commandedStep === k ? ' primary' : ''}`}
                disabled={checkPending || k > maxStep || device.connection !== 'connected'}
                aria-label={t.draft.stepNamed(k, unit)}
                title={k > maxStep ? t.device.aboveCeiling(ceilPct) : undefined}
                onClick={() => step(k)}
              >
                {k}
              </button>
            ))}
          </div>
          {checkPending && <p className="hint">{t.stopCheck.needed}</p>}
          {!checkPending && maxStep < steps && <p className="hint">{t.draft.aboveCeilingNote(maxStep, steps, ceilPct)}</p>}
          <button type="button" className="btn stop big" onClick={() => void actions.stopEverything()}>
            {t.device.stop}
          </button>
          {device.stop && (
            <p className={`stop-state ${device.stop.state}`} role="status">
              {stopStateText(device.stop.state)}
            </p>
          )}
        </div>
        <div>
          <h4>{t.draft.reports}</h4>
          <dl className="facts">
            {facts.map(([k, v]) => (
              <div key={k}>
                <dt>{k}</dt>
                <dd>{v}</dd>
              </div>
            ))}
          </dl>
        </div>
      </div>
      <TrafficLog entries={traffic} limit={15} caption={t.draft.notifications} />
    </section>
  );
}
