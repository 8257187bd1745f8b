/** First run: what Unknot does and does not do, the health questions, the doctor notice. */
import { Screening } from '../components/Screening';
import { useActions } from '../controller';
import { t } from '../i18n/en';
import { rulesOf, useStore } from '../store';

export function FirstRun() {
  const acknowledged = useStore((s) => Boolean(s.settings?.doctorNoticeAcknowledged));
  const actions = useActions();
  const rules = useStore(rulesOf);
  return (
    <div className="screen">
      <h1>{t.firstRun.heading}</h1>
      <p className="lead">{t.tagline}</p>
      <div className="two-col">
        <section className="card" aria-labelledby="does-h">
          <h2 id="does-h">{t.firstRun.does}</h2>
          <ul>
            {t.firstRun.doesItems.map((x) => (
              <li key={x}>{x}</li>
            ))}
            {rules && <li>{t.firstRun.limitsItem(rules.sessionCapSeconds.max, rules.dailyBudgetSeconds.max)}</li>}
          </ul>
        </section>
        <section className="card" aria-labelledby="doesnt-h">
          <h2 id="doesnt-h">{t.firstRun.doesnt}</h2>
          <ul>
            {t.firstRun.doesntItems.map((x) => (
              <li key={x}>{x}</li>
            ))}
          </ul>
        </section>
      </div>
      <section className="card" aria-labelledby="doc-h">
        <h2 id="doc-h">{t.firstRun.doctorHeading}</h2>
        <p>{t.firstRun.doctor}</p>
        {acknowledged ? (
          <p className="hint">{t.firstRun.acknowledged}</p>
        ) : (
          <button type="button" className="btn" onClick={() => void actions.saveSettings({ doctorNoticeAcknowledged: true })}>
            {t.firstRun.acknowledge}
          </button>
        )}
      </section>
      <section className="card">
        <Screening headingLevel={2} />
      </section>
      <button type="button" className="btn primary" onClick={() => actions.go('devices')}>
        {t.firstRun.continue}
      </button>
    </div>
  );
}
