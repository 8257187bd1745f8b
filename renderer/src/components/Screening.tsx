/** The health questions as Yes/No radio groups, nothing preselected. Each answer is saved at once. */
import { useId } from 'react';
import { useActions } from '../controller';
import { t } from '../i18n/en';
import { applicableQuestions, motorBlocked, screeningComplete, useStore } from '../store';

const NO_ANSWERS: Record<string, boolean> = {};
const NO_QUESTIONS: { id: string; deviceKind?: string }[] = [];

export function Screening({ all = false, headingLevel = 2 }: { all?: boolean; headingLevel?: 2 | 3 }) {
  const uid = useId();
  const answers = useStore((s) => s.settings?.screening ?? NO_ANSWERS);
  const actions = useActions();
  const questionsKey = useStore((s) =>
    (all ? (s.settings?.screeningQuestions ?? []).map((q) => q.id) : applicableQuestions(s)).join('|'),
  );
  const fallback = useStore((s) => applicableQuestions(s).join('|'));
  const kinds = useStore((s) => s.settings?.screeningQuestions ?? NO_QUESTIONS);
  const blocked = useStore(motorBlocked);
  const complete = useStore(screeningComplete);
  const ids = (questionsKey || fallback).split('|').filter(Boolean);
  // The EMS-only questions matter once an EMS pad is used; until then they may stay open.
  const emsPending = ids.some((id) => kinds.find((k) => k.id === id)?.deviceKind === 'ems' && typeof answers[id] !== 'boolean');
  const H = headingLevel === 2 ? 'h2' : 'h3';
  return (
    <section className="screening" aria-labelledby={`${uid}-h`}>
      <H id={`${uid}-h`}>{t.screening.heading}</H>
      <p className="hint">{all ? t.screening.introHere : t.screening.intro}</p>
      {ids.map((id) => {
        const q = t.screening.questions[id] ?? id.replace(/-/g, ' ');
        const value = answers[id];
        const kind = kinds.find((k) => k.id === id)?.deviceKind;
        return (
          <fieldset key={id} className="question">
            <legend>
              {q}
              {kind === 'ems' && <span className="sub"> ({t.screening.emsOnly})</span>}
            </legend>
            <label>
              <input type="radio" name={`${uid}-${id}`} checked={value === true} onChange={() => void actions.answerScreening(id, true)} />
              {t.screening.yes}
            </label>
            <label>
              <input type="radio" name={`${uid}-${id}`} checked={value === false} onChange={() => void actions.answerScreening(id, false)} />
              {t.screening.no}
            </label>
          </fieldset>
        );
      })}
      <p role="status" className={blocked ? 'warn-text' : 'hint'}>
        {blocked ? t.screening.blocked : complete ? (emsPending ? `${t.screening.ok} ${t.screening.emsPending}` : t.screening.ok) : ''}
      </p>
    </section>
  );
}
