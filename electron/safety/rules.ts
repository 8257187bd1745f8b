/**
 * The safety rules of DESIGN §1 as data: defaults, bounds, per-kind additions
 * (EMS: lower ceiling, slower ramp, extra screening questions, no neck).
 */
import type { DeviceKind } from '../../protocols/types';
import type { MuscleGroup, ScreeningAnswers } from '../ipc/contract';

/** Default intensity ceiling (0..1 of the device's range). */
export const DEFAULT_CEILING = 0.6;
/** Default intensity ceiling for electrical stimulation. */
export const EMS_DEFAULT_CEILING = 0.4;
/** Bounds a user may set a ceiling within. */
export const CEILING_MIN = 0.1;
export const CEILING_MAX = 1;
/** Session cap: default and maximum motor-on seconds per session. */
export const SESSION_CAP_MAX_SECONDS = 300;
/** Daily budget: default and maximum motor-on seconds per muscle group per local day. */
export const DAILY_BUDGET_MAX_SECONDS = 360;
/** Under this many seconds left in the daily budget, a session is refused. */
export const MIN_GRANT_SECONDS = 60;
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
  defaultCeiling: number;
  /** Fastest rise of the written value, fraction of full range per second (routine time). */
  rampPerSecond: number;
  extraQuestions: ScreeningQuestion[];
  excludedGroups: MuscleGroup[];
}

const STANDARD: KindRules = { defaultCeiling: DEFAULT_CEILING, rampPerSecond: 0.2, extraQuestions: [], excludedGroups: [] };

/** Rules per device kind; EMS adds its questions and never works the neck. */
export const KIND_RULES: Record<DeviceKind, KindRules> = {
  percussive: STANDARD,
  chair: STANDARD,
  cushion: STANDARD,
  ems: {
    defaultCeiling: EMS_DEFAULT_CEILING,
    rampPerSecond: 0.1,
    extraQuestions: [
      { id: 'implant', deviceKind: 'ems' },
      { id: 'epilepsy', deviceKind: 'ems' },
    ],
    excludedGroups: ['neck'],
  },
};

/** Every question the app may ask, base first. */
export function allQuestions(): ScreeningQuestion[] {
  const extra = Object.values(KIND_RULES).flatMap((r) => r.extraQuestions);
  const seen = new Set<string>();
  return [...BASE_QUESTIONS, ...extra].filter((q) => (seen.has(q.id) ? false : (seen.add(q.id), true)));
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
  const questions = [...BASE_QUESTIONS, ...(kind ? KIND_RULES[kind].extraQuestions : [])];
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
