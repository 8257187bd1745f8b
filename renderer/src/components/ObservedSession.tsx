/**
 * A session this page does not own (another window or tab started it, or this page
 * was reloaded): what runs, and a Stop. Observers never guide it; stop works from anywhere.
 */
import { useActions } from '../controller';
import { t } from '../i18n/en';
import { findRoutine } from '../routines/library';
import { observedSession, useStore } from '../store';

export function ObservedSession() {
  const session = useStore(observedSession);
  const actions = useActions();
  if (!session) return null;
  const routine = session.routineId ? findRoutine(session.routineId) : undefined;
  const heading = session.state === 'paused' ? t.observer.pausedHeading : routine ? t.observer.routineHeading : t.observer.manualHeading;
  return (
    <div className="banner warn observer" role="region" aria-label={heading}>
      <div className="observer-text">
        <strong>{heading}</strong>
        <span>
          {t.observer.what(routine?.name ?? t.observer.manual, t.groups[session.muscleGroup])}. {t.observer.granted(session.grantedMotorSeconds)}
        </span>
        <span>{t.observer.hint}</span>
      </div>
      <button type="button" className="btn stop big" onClick={() => void actions.stopEverything()}>
        {t.observer.stop}
      </button>
    </div>
  );
}
