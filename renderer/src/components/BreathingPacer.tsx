/** A breathing pacer: in for 4 s, out for 6 s, in real time (never scaled). Still while paused. */
import { useState } from 'react';
import { t } from '../i18n/en';
import { useNow } from '../hooks';

const CYCLE_MS = 10_000;
const IN_MS = 4_000;

/** The moving ring and its words; mounted only while it runs, so it starts where the clock is. */
function Pacing() {
  const now = useNow(250);
  // Start the CSS cycle where the text's clock is, so ring and words agree.
  const [delay] = useState(() => -(performance.now() % CYCLE_MS));
  const phase = now % CYCLE_MS < IN_MS ? 'in' : 'out';
  return (
    <>
      <div className="pacer-ring" aria-hidden="true">
        <div className="pacer-ball" style={{ animationDelay: `${Math.round(delay)}ms` }} />
      </div>
      <p className="pacer-text">{phase === 'in' ? t.breath.in : t.breath.out}</p>
    </>
  );
}

export function BreathingPacer({ reduced, paused = false }: { reduced: boolean; paused?: boolean }) {
  return (
    <div className="pacer" role="group" aria-label={t.breath.label}>
      {reduced || paused ? <p className="pacer-text">{t.breath.still}</p> : <Pacing />}
    </div>
  );
}
