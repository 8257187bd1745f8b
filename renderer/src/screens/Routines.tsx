/** The routine screen: the body map and the routine library, filtered by area. */
import { useId } from 'react';
import { BodyMap } from '../components/BodyMap';
import { useActions } from '../controller';
import { t } from '../i18n/en';
import { routinesFor, type Routine } from '../routines/library';
import { routineDurationSec } from '../routines/runner';
import { areaExcluded, budgetFor, budgetTooShort, rulesOf, useStore } from '../store';

function RoutineCard({ routine }: { routine: Routine }) {
  const uid = useId();
  const actions = useActions();
  const left = useStore((s) => budgetFor(s, routine.muscleGroup)?.remainingSeconds);
  const emsNeck = useStore((s) => areaExcluded(s, routine.muscleGroup));
  const none = useStore((s) => budgetTooShort(s, routine.muscleGroup));
  return (
    <li className={`routine-card ${none || emsNeck ? 'dim' : ''}`}>
      <button type="button" className="routine-open" aria-describedby={`${uid}-d`} onClick={() => actions.openRoutine(routine.id)}>
        {routine.name}
      </button>
      <div id={`${uid}-d`} className="routine-meta">
        <span className="badge">{t.groups[routine.muscleGroup]}</span>
        {routine.gentle && <span className="badge">{t.routines.gentle}</span>}
        <span>
          {t.routines.minutes(routineDurationSec(routine))} · {t.routines.steps(routine.steps.length)}
        </span>
        <span className="routine-summary">{routine.summary}</span>
        {left !== undefined && <span className={none ? 'warn-text' : 'hint'}>{t.routines.left(left)}</span>}
        {emsNeck && <span className="warn-text">{t.routines.emsNeck}</span>}
      </div>
    </li>
  );
}

export function Routines() {
  const filter = useStore((s) => s.groupFilter);
  const list = routinesFor(filter);
  const maxBudget = useStore((s) => rulesOf(s)?.dailyBudgetSeconds.max);
  return (
    <div className="screen">
      <h1>{t.routines.heading}</h1>
      <p className="lead">{t.routines.intro}</p>
      <div className="routines-grid">
        <BodyMap />
        <section className="card" aria-labelledby="lib-h">
          <h2 id="lib-h">{filter ? t.groups[filter] : t.routines.all}</h2>
          <ul className="routine-list">
            {list.map((r) => (
              <RoutineCard key={r.id} routine={r} />
            ))}
          </ul>
          {maxBudget !== undefined && <p className="hint">{t.routines.budgetNote(maxBudget)}</p>}
        </section>
      </div>
    </div>
  );
}
