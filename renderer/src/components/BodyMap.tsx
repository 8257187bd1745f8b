/**
 * The body map: five areas, each with today's budget left; choosing one filters the
 * routines. A mark can be placed where the knot is; the motion guide uses it.
 */
import { useRef, useState, type MouseEvent } from 'react';
import { MUSCLE_GROUPS, type MuscleGroup } from '../contract';
import { useActions } from '../controller';
import { t } from '../i18n/en';
import { budgetFor, useStore } from '../store';
import { BackOutline, VIEWBOX, ZONES } from './BackFigure';

/** The area a point on the figure falls in (nearest zone centre). */
function zoneAt(x: number, y: number): MuscleGroup {
  let best: MuscleGroup = 'upper-back';
  let bestD = Infinity;
  for (const g of MUSCLE_GROUPS) {
    const c = ZONES[g].center;
    const d = (c.x - x) ** 2 + (c.y - y) ** 2 * 1.5;
    if (d < bestD) {
      bestD = d;
      best = g;
    }
  }
  return best;
}

export function BodyMap() {
  const filter = useStore((s) => s.groupFilter);
  const knots = useStore((s) => s.knots);
  const usage = useStore((s) => s.usage);
  const [marking, setMarking] = useState(false);
  const svgRef = useRef<SVGSVGElement>(null);
  const actions = useActions();

  const leftText = (g: MuscleGroup): string => {
    const b = budgetFor({ usage }, g);
    return b ? t.routines.left(b.remainingSeconds) : '';
  };

  const onSvgClick = (e: MouseEvent<SVGSVGElement>): void => {
    const svg = svgRef.current;
    if (!svg) return;
    const rect = svg.getBoundingClientRect();
    const x = ((e.clientX - rect.left) / rect.width) * 200;
    const y = ((e.clientY - rect.top) / rect.height) * 300;
    const g = marking ? (filter ?? zoneAt(x, y)) : zoneAt(x, y);
    if (marking) {
      actions.markKnot(g, { x: Math.round(x), y: Math.round(y) });
      setMarking(false);
      actions.setGroupFilter(g);
    } else {
      actions.setGroupFilter(filter === g ? null : g);
    }
  };

  return (
    <section className="card body-map" aria-labelledby="bodymap-h">
      <h2 id="bodymap-h">{t.bodyMap.heading}</h2>
      <div className="body-map-grid">
        <svg ref={svgRef} viewBox={VIEWBOX} className={`figure-svg ${marking ? 'marking' : ''}`} role="img" aria-label={t.bodyMap.label} onClick={onSvgClick}>
          <BackOutline />
          {MUSCLE_GROUPS.map((g) => {
            const b = budgetFor({ usage }, g);
            const empty = b ? b.remainingSeconds <= 0 : false;
            return <path key={g} d={ZONES[g].d} className={`zone ${filter === g ? 'selected' : ''} ${empty ? 'empty' : ''}`} />;
          })}
          {MUSCLE_GROUPS.map((g) => {
            const k = knots[g];
            return k ? <circle key={g} cx={k.x} cy={k.y} r="5" className="knot" /> : null;
          })}
        </svg>
        <div>
          <fieldset className="zone-radios">
            <legend>{t.routines.filterLabel}</legend>
            <label className="zone-radio">
              <input type="radio" name="zone" checked={filter === null} onChange={() => actions.setGroupFilter(null)} />
              <span>{t.routines.all}</span>
            </label>
            {MUSCLE_GROUPS.map((g) => (
              <label key={g} className="zone-radio">
                <input type="radio" name="zone" checked={filter === g} onChange={() => actions.setGroupFilter(g)} />
                <span>{t.groups[g]}</span>
                <span className="zone-left">{leftText(g)}</span>
              </label>
            ))}
          </fieldset>
          <div className="row">
            {marking ? (
              <>
                <span className="hint" role="status">
                  {t.bodyMap.marking}
                </span>
                <button type="button" className="btn small" onClick={() => setMarking(false)}>
                  {t.bodyMap.cancelMark}
                </button>
              </>
            ) : (
              <button type="button" className="btn small" onClick={() => setMarking(true)}>
                {t.bodyMap.markKnot}
              </button>
            )}
            {filter && knots[filter] && !marking && (
              <button
                type="button"
                className="btn small"
                onClick={() => actions.markKnot(filter, null)}
              >
                {t.bodyMap.clearKnot}
              </button>
            )}
          </div>
        </div>
      </div>
    </section>
  );
}
