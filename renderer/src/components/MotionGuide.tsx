/**
 * How to move the massager for a step: an SVG animation on the back outline
 * (circles around the knot, strokes toward it, long strokes over the whole back),
 * or static arrows when motion is reduced.
 */
import { useId } from 'react';
import type { Motion } from '../contract';
import { t } from '../i18n/en';
import { BackOutline, VIEWBOX } from './BackFigure';

interface Props {
  motion: Motion;
  knot: { x: number; y: number };
  reduced: boolean;
  paused?: boolean;
  /** The step's own words for the motion (defaults to the motion's general label). */
  label?: string;
}

export function MotionGuide({ motion, knot, reduced, paused, label = t.motions[motion] }: Props) {
  const id = useId().replace(/[^a-zA-Z0-9_-]/g, '');
  const arrow = `arrow-${id}`;
  const { x, y } = knot;
  const r = 18;
  const circle = `M${x + r} ${y} a${r} ${r} 0 1 1 ${-2 * r} 0 a${r} ${r} 0 1 1 ${2 * r} 0`;
  const leftIn = `M${x - 40} ${y + 16} L${x - 9} ${y + 3}`;
  const rightIn = `M${x + 26} ${y + 34} L${x + 5} ${y + 8}`;
  const strokes = ['M78 70 V236', 'M122 70 V236'];
  // A moving dot has no position of its own (animateMotion places it); when paused it
  // rests at its path's start instead of falling back to the figure's corner (0, 0).
  const rest = (px: number, py: number) => (paused ? { cx: px, cy: py } : {});

  return (
    <figure className="motion-guide">
      <svg viewBox={VIEWBOX} role="img" aria-label={`${t.guided.motionLabel}: ${label}`} className={paused ? 'paused' : ''}>
        <defs>
          <marker id={arrow} viewBox="0 0 10 10" refX="8" refY="5" markerWidth="5" markerHeight="5" orient="auto-start-reverse">
            <path d="M0 0 L10 5 L0 10 Z" className="arrow-head" />
          </marker>
        </defs>
        <BackOutline />
        <circle cx={x} cy={y} r="6" className="knot" />
        {motion === 'circular' &&
          (reduced ? (
            <path d={`M${x + r} ${y} A${r} ${r} 0 1 1 ${x} ${y - r}`} className="guide-arrow" markerEnd={`url(#${arrow})`} />
          ) : (
            <>
              <path d={circle} className="guide-track" />
              <circle r="7" className="guide-dot" {...rest(x + r, y)}>
                {!paused && <animateMotion dur="2.4s" repeatCount="indefinite" path={circle} />}
              </circle>
            </>
          ))}
        {motion === 'back-and-forth' &&
          (reduced ? (
            <>
              <path d={leftIn} className="guide-arrow" markerStart={`url(#${arrow})`} markerEnd={`url(#${arrow})`} />
              <path d={rightIn} className="guide-arrow" markerStart={`url(#${arrow})`} markerEnd={`url(#${arrow})`} />
            </>
          ) : (
            <>
              <path d={leftIn} className="guide-track" />
              <path d={rightIn} className="guide-track" />
              <circle r="7" className="guide-dot" {...rest(x - 40, y + 16)}>
                {!paused && <animateMotion dur="1.6s" repeatCount="indefinite" path={leftIn} keyPoints="0;1;0" keyTimes="0;0.5;1" calcMode="linear" />}
              </circle>
              <circle r="7" className="guide-dot alt" {...rest(x + 26, y + 34)}>
                {!paused && <animateMotion dur="1.6s" begin="0.8s" repeatCount="indefinite" path={rightIn} keyPoints="0;1;0" keyTimes="0;0.5;1" calcMode="linear" />}
              </circle>
            </>
          ))}
        {motion === 'on-knot' &&
          (reduced ? (
            <>
              <circle cx={x} cy={y} r="13" className="guide-track" />
              <path d={`M${x + 30} ${y - 30} L${x + 12} ${y - 12}`} className="guide-arrow" markerEnd={`url(#${arrow})`} />
            </>
          ) : (
            <circle cx={x} cy={y} r="8" className="guide-pulse">
              {!paused && (
                <>
                  <animate attributeName="r" values="8;17;8" dur="1.8s" repeatCount="indefinite" />
                  <animate attributeName="opacity" values="0.9;0.25;0.9" dur="1.8s" repeatCount="indefinite" />
                </>
              )}
            </circle>
          ))}
        {motion === 'long-strokes' &&
          (reduced
            ? strokes.map((d) => <path key={d} d={d} className="guide-arrow" markerEnd={`url(#${arrow})`} />)
            : strokes.map((d, i) => (
                <g key={d}>
                  <path d={d} className="guide-track" />
                  <circle r="7" className="guide-dot" {...rest(i === 0 ? 78 : 122, 70)}>
                    {!paused && <animateMotion dur="3.2s" begin={`${i * 1.6}s`} repeatCount="indefinite" path={d} keyPoints="0;1;0" keyTimes="0;0.5;1" calcMode="linear" />}
                  </circle>
                </g>
              )))}
      </svg>
      <figcaption>{label}</figcaption>
    </figure>
  );
}
