/**
 * Intensity ↔ device step conversions shared by protocols and the safety governor.
 *
 * Convention (DESIGN §3, after buttplug.io): a normalised intensity 0..1 maps to
 * step `ceil(value × steps)`; 0 means stop. A tiny tolerance absorbs floating-point
 * error so that `stepToIntensity(s)` maps back to exactly `s`.
 */

const EPSILON = 1e-9;

/**
 * Maps a normalised intensity (0..1) to a device step (0..steps).
 * @throws RangeError when `value` is NaN, below 0 or above 1, or `steps` is not a positive integer.
 */
export function intensityToStep(value: number, steps: number): number {
  if (!Number.isInteger(steps) || steps < 1) throw new RangeError(`steps must be a positive integer, got ${steps}`);
  if (typeof value !== 'number' || Number.isNaN(value) || value < 0 || value > 1) {
    throw new RangeError(`intensity must be a number in 0..1, got ${String(value)}`);
  }
  if (value === 0) return 0;
  return Math.min(steps, Math.max(1, Math.ceil(value * steps - EPSILON)));
}

/** Maps a device step back to the normalised intensity `step / steps` (0..1). */
export function stepToIntensity(step: number, steps: number): number {
  return Math.max(0, Math.min(1, step / steps));
}

/**
 * The highest step the app may command under an intensity ceiling (0..1):
 * `floor(ceiling × steps)`, at least 1 (DESIGN §1).
 */
export function ceilingStep(ceiling: number, steps: number): number {
  return Math.max(1, Math.floor(ceiling * steps + EPSILON));
}
