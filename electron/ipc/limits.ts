/**
 * The limits every session keeps, whatever the device (DESIGN §1): the first part of the
 * safety rules table (`electron/safety/rules.ts`, which re-exports them), kept here, plain
 * data in the contract's project, so the IPC boundary refuses out-of-bounds settings with
 * the same numbers the main process enforces. Seconds; ceilings as fractions 0..1 of a
 * device's range.
 */

/** A number setting's bounds and default. */
export interface Bounds {
  min: number;
  max: number;
  default: number;
}

/** The limits every session keeps, whatever the device (DESIGN §1). */
export const LIMITS = Object.freeze({
  /** Motor-on seconds per session: the user may set 60..300 (1 to 5 minutes), default 300. */
  sessionCapSeconds: Object.freeze({ min: 60, max: 300, default: 300 }) as Readonly<Bounds>,
  /** Motor-on seconds per muscle group per local day: 60..360 (1 to 6 minutes), default 360; lowered only. */
  dailyBudgetSeconds: Object.freeze({ min: 60, max: 360, default: 360 }) as Readonly<Bounds>,
  /** Under this many seconds left in the daily budget a session is refused; a grant is never shorter. */
  minGrantSeconds: 60,
  /** The intensity ceiling a user may set per device: 10%..100% of its range. */
  ceiling: Object.freeze({ min: 0.1, max: 1 }),
});

