/**
 * The routine library: data only. Each routine targets one muscle group, and all of
 * its motor time (its "whole back" step included) is charged to that group
 * (DESIGN §1). Texts come from the i18n module.
 */
import type { Motion, MuscleGroup } from '../contract';
import { t } from '../i18n/en';

export interface RoutineStep {
  title: string;
  cue: string;
  motion: Motion;
  /** How to move for this step, when the motion's general label does not fit it. */
  motionText?: string;
  /** Normalised intensity 0..1 of the device's range, before the ceiling. */
  intensity: number;
  durationSec: number;
}

export interface Routine {
  id: string;
  name: string;
  summary: string;
  muscleGroup: MuscleGroup;
  /** A softer, shorter routine for a first try. */
  gentle?: boolean;
  steps: RoutineStep[];
}

type StepText = { title: string; cue: string; motion?: string };
const step = (text: StepText, motion: Motion, intensity: number, durationSec: number): RoutineStep => ({
  title: text.title,
  cue: text.cue,
  motion,
  ...(text.motion ? { motionText: text.motion } : {}),
  intensity,
  durationSec,
});

/** What the motion guide says for a step: its own words, or the motion's general label. */
export function motionText(s: Pick<RoutineStep, 'motion' | 'motionText'>): string {
  return s.motionText ?? t.motions[s.motion];
}

const routine = (id: string, muscleGroup: MuscleGroup, steps: RoutineStep[], gentle = false): Routine => {
  const text = t.library[id] ?? { name: id, summary: '' };
  return { id, name: text.name, summary: text.summary, muscleGroup, steps, ...(gentle ? { gentle } : {}) };
};

const s = t.steps;

export const ROUTINES: readonly Routine[] = [
  routine('upper-back-knot', 'upper-back', [
    step(s.around, 'circular', 0.35, 60),
    step(s.toward, 'back-and-forth', 0.45, 75),
    step(s.on, 'on-knot', 0.3, 45),
    step(s.whole, 'long-strokes', 0.25, 60),
  ]),
  routine(
    'upper-back-gentle',
    'upper-back',
    [
      step(s.around, 'circular', 0.25, 45),
      step(s.toward, 'back-and-forth', 0.3, 60),
      step(s.on, 'on-knot', 0.2, 30),
      step(s.whole, 'long-strokes', 0.2, 45),
    ],
    true,
  ),
  routine('neck-knot', 'neck', [
    step(s.neckAround, 'circular', 0.25, 45),
    step(s.toward, 'back-and-forth', 0.3, 60),
    step(s.on, 'on-knot', 0.2, 30),
    step(s.neckWhole, 'long-strokes', 0.2, 45),
  ]),
  routine('shoulders-knot', 'shoulders', [
    step(s.around, 'circular', 0.35, 60),
    step(s.toward, 'back-and-forth', 0.4, 60),
    step(s.on, 'on-knot', 0.3, 45),
    step(s.whole, 'long-strokes', 0.25, 45),
  ]),
  routine('rhomboids-knot', 'rhomboids', [
    step(s.around, 'circular', 0.35, 60),
    step(s.toward, 'back-and-forth', 0.45, 75),
    step(s.on, 'on-knot', 0.3, 45),
    step(s.whole, 'long-strokes', 0.25, 60),
  ]),
  routine('lower-back-knot', 'lower-back', [
    step(s.around, 'circular', 0.4, 60),
    step(s.toward, 'back-and-forth', 0.45, 90),
    step(s.on, 'on-knot', 0.3, 45),
    step(s.lowerWhole, 'long-strokes', 0.3, 75),
  ]),
];

export function findRoutine(id: string): Routine | undefined {
  return ROUTINES.find((r) => r.id === id);
}

export function routinesFor(group: MuscleGroup | null): Routine[] {
  return ROUTINES.filter((r) => group === null || r.muscleGroup === group);
}
