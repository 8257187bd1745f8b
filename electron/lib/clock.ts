/**
 * The one clock interface of the main process: time and timers, injectable for tests
 * (the safety governor, the device link and the scanner take it). Times are milliseconds.
 * Simulated peripherals use the same three timer methods (`SimClock`, `protocols/types.ts`,
 * which cannot import from here).
 */

/** Time sources and timers. */
export interface Clock {
  /** Monotonic milliseconds (`performance.now()`), unless a user of the clock says otherwise. */
  now(): number;
  /** Wall-clock epoch milliseconds (`Date.now()`); for calendar days only. */
  wallNow(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  setInterval(fn: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
}

/** The part of a {@link Clock} that only reads the time and sets timeouts (the link's and the scanner's). */
export type TimeoutClock = Pick<Clock, 'now' | 'setTimeout' | 'clearTimeout'>;

/** The real clock: `now()` is `performance.now()`. */
export const systemClock: Clock = Object.freeze({
  now: () => performance.now(),
  wallNow: () => Date.now(),
  setTimeout: (fn: () => void, ms: number) => setTimeout(fn, ms),
  clearTimeout: (handle: unknown) => clearTimeout(handle as NodeJS.Timeout),
  setInterval: (fn: () => void, ms: number) => setInterval(fn, ms),
  clearInterval: (handle: unknown) => clearInterval(handle as NodeJS.Timeout),
});
