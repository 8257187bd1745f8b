/** A breathing pacer: in for 4 s, out for 6 s, in real time (never scaled). */
import { useState } from 'react';
import { t } from '../i18n/en';
import { useNow } from '../hooks';

const CYCLE_MS = 10_000;
const IN_MS = 4_000;

export function BreathingPacer({ reduced }: { reduced: boolean }) {
  const now = useNow(reduced ? 0 : 250);
  // Start the CSS cycle where the text's clock is, so ring and words agree.
  const [delay] = useState(() => -(performance.now() % CYCLE_MS));
  if (reduced) {
    return (
      <div className="pacer" role="group" aria-label={t.breath.label}>
        <p className="pacer-text">{t.breath.still}</p>
      </div>
    );
  }
  const phase = now % CYCLE_MS < IN_MS ? 'in' : 'out';
  return (
    <div className="pacer" role="group" aria-label={t.breath.label}>
      <div className="pacer-ring" aria-hidden="true">
        <div className="pacer-ball" style={{ animationDelay: `${Math.round(delay)}ms` }} />
      </div>
      <p className="pacer-text">{phase === 'in' ? t.breath.in : t.breath.out}</p>
    </div>
  );
}
