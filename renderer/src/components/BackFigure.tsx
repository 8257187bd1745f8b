/**
 * A person seen from behind, drawn once and shared by the body map and the motion
 * guide. Coordinates: viewBox 0 0 200 300.
 */
import type { MuscleGroup } from '../contract';

export const VIEWBOX = '0 0 200 300';

export const ZONES: Record<MuscleGroup, { d: string; center: { x: number; y: number } }> = {
  neck: { d: 'M90 44 H110 V66 H90 Z', center: { x: 106, y: 56 } },
  shoulders: {
    d: 'M54 74 C66 68 80 66 88 66 L88 82 C76 82 64 84 52 88 Z M146 74 C134 68 120 66 112 66 L112 82 C124 82 136 84 148 88 Z',
    center: { x: 130, y: 75 },
  },
  'upper-back': { d: 'M70 84 C82 84 118 84 130 84 L128 116 C116 118 84 118 72 116 Z', center: { x: 114, y: 100 } },
  rhomboids: { d: 'M84 118 H116 V164 H84 Z', center: { x: 108, y: 140 } },
  'lower-back': { d: 'M70 186 H130 L132 228 H68 Z', center: { x: 114, y: 206 } },
};

/** The outline only; children draw on top. */
export function BackOutline() {
  return (
    <g className="figure">
      <circle cx="100" cy="26" r="17" className="figure-body" />
      <path
        className="figure-body"
        d="M92 42 L92 58 C82 64 64 66 50 72 C40 76 36 86 36 98 L30 178 C30 184 38 186 40 180 L48 118 L52 170 C54 200 58 232 62 256 L138 256 C142 232 146 200 148 170 L152 118 L160 180 C162 186 170 184 170 178 L164 98 C164 86 160 76 150 72 C136 66 118 64 108 58 L108 42 Z"
      />
      <path className="figure-line" d="M100 60 V246" strokeDasharray="3 4" />
      <path className="figure-line" d="M72 96 C76 120 84 140 92 150 M128 96 C124 120 116 140 108 150" />
    </g>
  );
}
