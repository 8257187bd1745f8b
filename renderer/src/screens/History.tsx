/** History: motor minutes per area per day as an SVG bar chart with the daily limit, a table, and CSV export. */
import { useEffect, useState } from 'react';
import { MUSCLE_GROUPS, type MuscleGroup } from '../contract';
import { tryCall } from '../api';
import { t } from '../i18n/en';
import { rulesOf, useStore } from '../store';

export interface DayUsage {
  date: string;
  seconds: Partial<Record<MuscleGroup, number>>;
  /** "Stop — it hurts" events per area that day. */
  pain?: Partial<Record<MuscleGroup, number>>;
}

const isGroup = (g: unknown): g is MuscleGroup => typeof g === 'string' && (MUSCLE_GROUPS as readonly string[]).includes(g);
const num = (...xs: unknown[]): number => {
  for (const x of xs) if (typeof x === 'number' && Number.isFinite(x)) return x;
  return 0;
};

/**
 * The days of a `usage.history` result (the contract's `UsageHistory`: `{ days: [{ date,
 * groups: { [group]: { motorSeconds, painEvents } } }] }`). Tolerant of other row shapes
 * too (`{date|day, muscleGroup, seconds|usedSeconds}` rows, `byGroup` maps, `{entries}`),
 * and of anything else, which gives no days.
 */
export function normaliseHistory(raw: unknown): DayUsage[] {
  const list: unknown[] = Array.isArray(raw)
    ? raw
    : raw && typeof raw === 'object'
      ? ((raw as { days?: unknown[]; entries?: unknown[] }).days ?? (raw as { entries?: unknown[] }).entries ?? [])
      : [];
  const byDate = new Map<string, DayUsage>();
  for (const item of list) {
    if (!item || typeof item !== 'object') continue;
    const o = item as Record<string, unknown>;
    const date = String(o.date ?? o.day ?? o.localDate ?? '').slice(0, 10);
    if (!date) continue;
    const day = byDate.get(date) ?? { date, seconds: {} };
    byDate.set(date, day);
    const map = (o.groups ?? o.byGroup ?? o.perGroup) as Record<string, unknown> | undefined;
    if (map && typeof map === 'object') {
      for (const [g, v] of Object.entries(map)) {
        if (isGroup(g)) {
          const o2 = (v ?? {}) as { motorSeconds?: unknown; usedSeconds?: unknown; seconds?: unknown; painEvents?: unknown };
          day.seconds[g] = (day.seconds[g] ?? 0) + num(v, o2.motorSeconds, o2.usedSeconds, o2.seconds);
          const pain = num(o2.painEvents);
          if (pain > 0) day.pain = { ...day.pain, [g]: (day.pain?.[g] ?? 0) + pain };
        }
      }
    } else if (isGroup(o.muscleGroup)) {
      day.seconds[o.muscleGroup] = (day.seconds[o.muscleGroup] ?? 0) + num(o.seconds, o.usedSeconds, o.motorSeconds);
    }
  }
  return [...byDate.values()].sort((a, b) => a.date.localeCompare(b.date));
}

export function historyCsv(days: DayUsage[]): string {
  const head = ['date', ...MUSCLE_GROUPS.map((g) => `${g}_seconds`)].join(',');
  const rows = days.map((d) => [d.date, ...MUSCLE_GROUPS.map((g) => String(Math.round(d.seconds[g] ?? 0)))].join(','));
  return [head, ...rows].join('\n') + '\n';
}

/** Fills the days with no use, so the chart's axis is continuous. */
function lastDays(data: DayUsage[], n: number): DayUsage[] {
  const map = new Map(data.map((d) => [d.date, d]));
  const out: DayUsage[] = [];
  const today = new Date();
  for (let i = n - 1; i >= 0; i--) {
    const d = new Date(today.getFullYear(), today.getMonth(), today.getDate() - i);
    const key = `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
    out.push(map.get(key) ?? { date: key, seconds: {} });
  }
  return out;
}

function Chart({ days, budget, maxBudget }: { days: DayUsage[]; budget: number; maxBudget: number }) {
  const W = 640;
  const H = 240;
  const pad = { l: 36, r: 8, t: 12, b: 28 };
  // The axis reaches the highest budget the rules allow (or the user's, whichever is more).
  const maxMin = Math.max(maxBudget, budget) / 60 || 1;
  const y = (min: number): number => pad.t + (H - pad.t - pad.b) * (1 - min / maxMin);
  const slot = (W - pad.l - pad.r) / days.length;
  const barW = Math.max(1.5, (slot - 4) / MUSCLE_GROUPS.length);
  return (
    <svg viewBox={`0 0 ${W} ${H}`} className="chart" role="img" aria-label={t.history.chartLabel(days.length)}>
      {[0, 2, 4, 6].map((m) => (
        <g key={m}>
          <line x1={pad.l} x2={W - pad.r} y1={y(m)} y2={y(m)} className="grid" />
          <text x={pad.l - 6} y={y(m) + 4} className="axis" textAnchor="end">
            {m}
          </text>
        </g>
      ))}
      {days.map((d, i) =>
        MUSCLE_GROUPS.map((g, j) => {
          const min = (d.seconds[g] ?? 0) / 60;
          if (min <= 0) return null;
          return <rect key={`${d.date}-${g}`} x={pad.l + i * slot + 2 + j * barW} y={y(min)} width={barW - 0.5} height={y(0) - y(min)} className={`bar g-${g}`} />;
        }),
      )}
      {days.map((d, i) =>
        MUSCLE_GROUPS.map((g, j) => {
          const pain = d.pain?.[g] ?? 0;
          if (pain <= 0) return null;
          const cx = pad.l + i * slot + 2 + j * barW + barW / 2;
          const top = y((d.seconds[g] ?? 0) / 60) - 4;
          return (
            <path key={`pain-${d.date}-${g}`} d={`M ${cx} ${top} l -5 -9 h 10 z`} className="pain-mark">
              <title>{t.history.painTitle(t.groups[g], d.date, pain)}</title>
            </path>
          );
        }),
      )}
      {days.map((d, i) =>
        i % Math.ceil(days.length / 7) === 0 ? (
          <text key={d.date} x={pad.l + i * slot + slot / 2} y={H - 8} className="axis" textAnchor="middle">
            {d.date.slice(5)}
          </text>
        ) : null,
      )}
      <line x1={pad.l} x2={W - pad.r} y1={y(budget / 60)} y2={y(budget / 60)} className="budget-line" />
      <text x={W - pad.r} y={y(budget / 60) - 4} className="axis budget-label" textAnchor="end">
        {t.history.budgetLine}
      </text>
    </svg>
  );
}

export function History() {
  const maxBudget = useStore((s) => rulesOf(s)?.dailyBudgetSeconds.max ?? 0);
  const budget = useStore((s) => s.settings?.dailyBudgetSeconds ?? maxBudget);
  const [n, setN] = useState(14);
  const [data, setData] = useState<DayUsage[] | null>(null);
  const [serverCsv, setServerCsv] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    void tryCall('usage.history', { days: n }).then((r) => {
      if (!live) return;
      setData(normaliseHistory(r));
      setServerCsv(typeof r?.csv === 'string' ? r.csv : null);
    });
    return () => {
      live = false;
    };
  }, [n]);
  const days = lastDays(data ?? [], n);
  const any = (data ?? []).some((d) => Object.values(d.seconds).some((v) => (v ?? 0) > 0));

  const exportCsv = (): void => {
    const blob = new Blob([serverCsv ?? historyCsv(days)], { type: 'text/csv' });
    const url = URL.createObjectURL(blob);
    const a = document.createElement('a');
    a.href = url;
    a.download = `unknot-history-${days[days.length - 1]?.date ?? 'export'}.csv`;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  };

  return (
    <div className="screen">
      <h1>{t.history.heading}</h1>
      <p className="lead">{t.history.intro}</p>
      <section className="card" aria-labelledby="hist-h">
        <h2 id="hist-h" className="sr-only">
          {t.history.heading}
        </h2>
        <div className="row">
          <label htmlFor="hist-days">{t.history.days}</label>
          <select id="hist-days" value={n} onChange={(e) => setN(Number(e.target.value))}>
            {[7, 14, 30, 90].map((d) => (
              <option key={d} value={d}>
                {d}
              </option>
            ))}
          </select>
          <button type="button" className="btn" onClick={exportCsv}>
            {t.history.export}
          </button>
        </div>
        <Chart days={days} budget={budget} maxBudget={maxBudget} />
        <ul className="legend" aria-hidden="true">
          {MUSCLE_GROUPS.map((g) => (
            <li key={g}>
              <span className={`swatch g-${g}`} />
              {t.groups[g]}
            </li>
          ))}
          <li>
            <svg className="pain-swatch" viewBox="0 0 12 10" width="12" height="10">
              <path d="M 6 10 l -6 -10 h 12 z" className="pain-mark" />
            </svg>
            {t.history.painLegend}
          </li>
        </ul>
        {!any && data !== null && <p className="empty">{t.history.empty}</p>}
        {any && (
          <details>
            <summary>{t.history.tableCaption}</summary>
            <table className="table">
              <thead>
                <tr>
                  <th scope="col">{t.history.date}</th>
                  {MUSCLE_GROUPS.map((g) => (
                    <th key={g} scope="col">
                      {t.groups[g]} ({t.history.minutes})
                    </th>
                  ))}
                  <th scope="col">{t.history.painColumn}</th>
                </tr>
              </thead>
              <tbody>
                {days
                  .filter((d) => Object.values(d.seconds).some((v) => (v ?? 0) > 0))
                  .map((d) => (
                    <tr key={d.date}>
                      <th scope="row">{d.date}</th>
                      {MUSCLE_GROUPS.map((g) => (
                        <td key={g}>{((d.seconds[g] ?? 0) / 60).toFixed(1)}</td>
                      ))}
                      <td>
                        {MUSCLE_GROUPS.filter((g) => (d.pain?.[g] ?? 0) > 0)
                          .map((g) => `${t.groups[g]} ×${d.pain![g]}`)
                          .join(', ') || '—'}
                      </td>
                    </tr>
                  ))}
              </tbody>
            </table>
          </details>
        )}
      </section>
    </div>
  );
}
