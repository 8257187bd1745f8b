/**
 * The safety rules of DESIGN §1 as data, said once: the limits every session keeps (the
 * session cap, the daily budget, the shortest grant, the ceiling's bounds), and per device
 * kind what changes (the default ceiling, the ramp, extra screening questions, areas it
 * never works, how the user switches it off). When a device counts as switched off by hand
 * is the protocol's to say (its session marks the status `offByHand`; a profile's
 * `offByHand` key, `protocols/profile/schema.ts`).
 *
 * Main enforces these (the governor, the settings store, the core); it sends the rules
 * that apply to the connected device to the renderer ({@link rulesFor}, the `rules` of the
 * `device.status` event and of the settings view), which shows them and never re-derives
 * them. Times are seconds unless a name ends in `Ms`; ceilings are fractions 0..1 of a
 * device's range.
 */
import type { DeviceKind } from '../../protocols/types';
import type { MuscleGroup, SafetyRules, ScreeningAnswers } from '../ipc/contract';
import { LIMITS } from '../ipc/limits';

// The limits every session keeps (session cap, daily budget, shortest grant, ceiling
// bounds) are the first part of this table; they live in the contract's project
// (`electron/ipc/limits.ts`) so the boundary validates settings with the same numbers.
export { LIMITS, type Bounds } from '../ipc/limits';

/** Default intensity ceiling (0..1 of the device's range). */
export const DEFAULT_CEILING = 0.6;
/** Default intensity ceiling for electrical stimulation. */
export const EMS_DEFAULT_CEILING = 0.4;
/** Bounds a user may set a ceiling within. */
export const CEILING_MIN = LIMITS.ceiling.min;
export const CEILING_MAX = LIMITS.ceiling.max;
/** Session cap: default and maximum motor-on seconds per session. */
export const SESSION_CAP_MAX_SECONDS = LIMITS.sessionCapSeconds.max;
/** Daily budget: default and maximum motor-on seconds per muscle group per local day. */
export const DAILY_BUDGET_MAX_SECONDS = LIMITS.dailyBudgetSeconds.max;
/** Under this many seconds left in the daily budget, a session is refused. */
export const MIN_GRANT_SECONDS = LIMITS.minGrantSeconds;
/** The renderer's heartbeat period and the watchdog deadline, real milliseconds. */
export const HEARTBEAT_PERIOD_MS = 1000;
export const WATCHDOG_DEADLINE_MS = 3000;
/**
 * Safe-side accounting across a crash (issue 13, 3d): before the motor starts and every
 * `RESERVE_RENEW_MS` after, the usage log on disk covers the motor time used plus the
 * next `RESERVE_AHEAD_SECONDS` (real seconds).
 */
export const RESERVE_AHEAD_SECONDS = 3;
export const RESERVE_RENEW_MS = 1000;
/** Factor proposed for the next session of a group after a pain event. */
export const PAIN_INTENSITY_FACTOR = 0.7;

/** A screening question: its id (texts live in the renderer's string table). */
export interface ScreeningQuestion {
  id: string;
  /** Only asked when a device of this kind is used. */
  deviceKind?: DeviceKind;
}

/** Questions everybody answers before the first motor start (DESIGN §1). */
export const BASE_QUESTIONS: ScreeningQuestion[] = [{ id: 'pregnant' }, { id: 'heart-condition' }, { id: 'high-blood-pressure' }];

/** What each device kind changes in the rules. */
export interface KindRules {
  /** What the user calls it, e.g. "massage gun" (in messages from main). */
  noun: string;
  /** Intensity ceiling 0..1 for a device of this kind the user has not set. */
  defaultCeiling: number;
  /** Fastest rise of the written value, fraction of full range per second (routine time). */
  rampPerSecond: number;
  /** Screening questions asked only for this kind (besides {@link BASE_QUESTIONS}). */
  extraQuestions: ScreeningQuestion[];
  /** Muscle groups this kind never works. */
  excludedGroups: MuscleGroup[];
  /** Why the motor is refused on an excluded group (for the user). */
  excludedMessage?: string;
  /** How the user switches it off by hand (shown when the link drops or a stop is unconfirmed). */
  handOff: string;
}

const STANDARD = { defaultCeiling: DEFAULT_CEILING, rampPerSecond: 0.2, extraQuestions: [], excludedGroups: [] };

/** Rules per device kind; EMS has a lower ceiling, a slower ramp, its own questions, and never works the neck. */
export const KIND_RULES: Record<DeviceKind, KindRules> = {
  percussive: {
    ...STANDARD,
    noun: 'massage gun',
    handOff: 'Press the power button on the massage gun to switch it off.',
  },
  chair: {
    ...STANDARD,
    noun: 'chair',
    handOff: 'Switch the chair off with its remote or power button.',
  },
  cushion: {
    ...STANDARD,
    noun: 'cushion',
    handOff: 'Switch the cushion off with its button or unplug it.',
  },
  ems: {
    noun: 'EMS pad',
    defaultCeiling: EMS_DEFAULT_CEILING,
    rampPerSecond: 0.1,
    extraQuestions: [
      { id: 'implant', deviceKind: 'ems' },
      { id: 'epilepsy', deviceKind: 'ems' },
    ],
    excludedGroups: ['neck'],
    excludedMessage: 'Electrical stimulation is never used on this area. Pick another area or device.',
    handOff: 'Press the power button on the EMS pad, or take the pads off your skin.',
  },
};

/**
 * A device on a user profile (a file of the user's, not verified by anyone): whatever kind
 * it declares, its ceiling defaults to this (0..1), and until the user sets a higher
 * ceiling for it its ramp is the slowest any kind has. Its kind's other rules all apply
 * (an EMS profile gets the EMS questions, areas and hand-off).
 */
export const USER_PROFILE_DEFAULT_CEILING = 0.3;

/** The slowest ramp of any kind in {@link KIND_RULES}, fraction of full range per second. */
export const SLOWEST_RAMP_PER_SECOND = Math.min(...Object.values(KIND_RULES).map((r) => r.rampPerSecond));

/** Whose rules a device gets besides its kind's: a user profile's (see {@link USER_PROFILE_DEFAULT_CEILING}). */
export interface RulesOrigin {
  userProfile?: boolean;
}

/**
 * The ramp (fraction of full range per second, routine time) for a device of `kind`: the
 * kind's, or for a user profile the slowest of any kind until `ceiling` (the one the user
 * set, 0..1) is above {@link USER_PROFILE_DEFAULT_CEILING}.
 */
export function rampFor(kind: DeviceKind, origin: RulesOrigin = {}, ceiling?: number): number {
  const own = KIND_RULES[kind].rampPerSecond;
  if (!origin.userProfile) return own;
  return ceiling !== undefined && ceiling > USER_PROFILE_DEFAULT_CEILING ? own : SLOWEST_RAMP_PER_SECOND;
}

/** Every question the app may ask, base first. */
export function allQuestions(): ScreeningQuestion[] {
  const extra = Object.values(KIND_RULES).flatMap((r) => r.extraQuestions);
  const seen = new Set<string>();
  return [...BASE_QUESTIONS, ...extra].filter((q) => (seen.has(q.id) ? false : (seen.add(q.id), true)));
}

/** The questions that apply to a device kind: the base ones and the kind's own; the base ones alone without a kind. */
export function questionsFor(kind: DeviceKind | undefined): ScreeningQuestion[] {
  return [...BASE_QUESTIONS, ...(kind ? KIND_RULES[kind].extraQuestions : [])];
}

/**
 * The default ceiling (0..1) for a device of `kind`; the general one without a kind. On a
 * user profile: the lower of {@link USER_PROFILE_DEFAULT_CEILING} and the kind's.
 */
export function defaultCeilingFor(kind: DeviceKind | undefined, origin: RulesOrigin = {}): number {
  const own = kind ? KIND_RULES[kind].defaultCeiling : DEFAULT_CEILING;
  return origin.userProfile ? Math.min(own, USER_PROFILE_DEFAULT_CEILING) : own;
}

/**
 * Why motor control is blocked for a device kind, or null when it is allowed:
 * an unanswered question, any "yes", or the doctor notice not yet acknowledged.
 */
export function screeningBlock(
  answers: ScreeningAnswers,
  doctorNoticeAcknowledged: boolean,
  kind: DeviceKind | undefined,
): { code: 'blocked-by-screening'; message: string } | null {
  const questions = questionsFor(kind);
  if (questions.some((q) => answers[q.id] === true)) {
    return {
      code: 'blocked-by-screening',
      message: 'Motor control is off because of your screening answers. Please consult a doctor before using a massager.',
    };
  }
  const missing = questions.filter((q) => answers[q.id] === undefined);
  if (missing.length > 0) {
    return { code: 'blocked-by-screening', message: 'Answer the safety questions before the first start.' };
  }
  if (!doctorNoticeAcknowledged) {
    return { code: 'blocked-by-screening', message: 'Read and acknowledge the health notice before the first start.' };
  }
  return null;
}

/** Why a device of `kind` may not work `group` (an excluded area), or null. */
export function areaBlock(kind: DeviceKind, group: MuscleGroup): { code: 'refused'; message: string } | null {
  const rules = KIND_RULES[kind];
  if (!rules.excludedGroups.includes(group)) return null;
  return { code: 'refused', message: rules.excludedMessage ?? 'This device is never used on this area. Pick another area or device.' };
}

/**
 * The rules that apply to a device of `kind` (or, without one, before any device is
 * connected), as main sends them to the renderer: a fresh copy, plain data. `origin`: a
 * device on a user profile gets its default ceiling.
 */
export function rulesFor(kind: DeviceKind | undefined, origin: RulesOrigin = {}): SafetyRules {
  const k = kind ? KIND_RULES[kind] : undefined;
  return {
    ...(kind ? { kind } : {}),
    ...(origin.userProfile ? { userProfile: true as const } : {}),
    defaultCeiling: defaultCeilingFor(kind, origin),
    ceilingRange: { ...LIMITS.ceiling },
    sessionCapSeconds: { ...LIMITS.sessionCapSeconds },
    dailyBudgetSeconds: { ...LIMITS.dailyBudgetSeconds },
    minGrantSeconds: LIMITS.minGrantSeconds,
    excludedGroups: [...(k?.excludedGroups ?? [])],
    screeningQuestions: questionsFor(kind).map((q) => ({ ...q })),
    ...(k ? { handOff: k.handOff } : {}),
  };
}
