/**
 * The "Simulated devices" panel: what each simulated peripheral decoded, and fault buttons.
 * The protocol id and the buttons' words come from main (`sim.state`), as each simulator says them.
 */
import { useId } from 'react';
import { useActions } from '../controller';
import { t } from '../i18n/en';
import { useStore } from '../store';

export function SimPanel() {
  const sim = useStore((s) => s.sim);
  const actions = useActions();
  const uid = useId();
  return (
    <section aria-label={t.sim.heading} className="card sim-panel">
      <h2>{t.sim.heading}</h2>
      <p className="hint">{t.sim.intro}</p>
      {sim.length === 0 && <p className="empty">{t.sim.none}</p>}
      <ul className="sim-list">
        {sim.map((p) => (
          <li key={p.peripheralId}>
            <div role="group" aria-labelledby={`${uid}-${p.peripheralId}`} className="sim-item">
              <h3 id={`${uid}-${p.peripheralId}`}>
                {p.name} <span className="sub">· {p.protocolId}</span>
              </h3>
              <p className={`status-line ${p.connected ? 'ok' : ''}`}>
                <span className="dot" aria-hidden="true" />
                {p.connected ? t.sim.connected : t.sim.idle}
              </p>
              <ul className="readout">
                {p.readout.map((r) => (
                  <li key={r.label}>
                    {`${r.label}: ${r.value}`}
                  </li>
                ))}
              </ul>
              {p.faults.length > 0 && (
                <details className="faults" open={p.connected}>
                  <summary>{t.sim.faults}</summary>
                  <div className="fault-buttons">
                    {p.faults.map((f) => (
                      <button key={f} type="button" className="btn small" onClick={() => void actions.simFault(p.peripheralId, f, p.name)}>
                        {p.faultLabels[f] ?? f}
                      </button>
                    ))}
                  </div>
                </details>
              )}
            </div>
          </li>
        ))}
      </ul>
    </section>
  );
}
