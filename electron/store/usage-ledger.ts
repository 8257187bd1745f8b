/**
 * The usage log as the safety governor's ledger: budget days (DESIGN §1's day rule),
 * motor-time charges, the entry-limit refusal and the reservations that keep the
 * accounting on the safe side across a crash (issue 13, 3).
 */
import type { UsageLedger } from '../safety/governor';
import type { UsageLog } from './usage';

/** Hooks of {@link usageLedger}. */
export interface UsageLedgerHooks {
  /**
   * Awaited after each reservation is on disk, before the motor may start: e.g. the
   * settings recording that a usage log exists. A rejection refuses the start.
   */
  afterReserve?: () => Promise<void>;
}

/**
 * Wraps `usage` (loaded) as a {@link UsageLedger}. Writes the governor does not wait for
 * (session end, pain) report their failures as the log's own notices.
 */
export function usageLedger(usage: UsageLog, hooks: UsageLedgerHooks = {}): UsageLedger {
  return {
    usedSeconds: (group, wallMs) => usage.budgetDay(group, wallMs).usedSeconds,
    nextMidnight: (wallMs, group) => usage.budgetDay(group, wallMs).resetsAtMs,
    addMotorTime: (id, group, from, to) => usage.addMotorTime(id, group, from, to),
    startSession: ({ sessionId, group, routineId, wallMs }) => usage.startSession(sessionId, group, wallMs, routineId),
    endSession: (id, reason, wallMs) => void usage.endSession(id, reason, wallMs).catch(() => undefined),
    recordPain: (id, group, wallMs) => void usage.recordPain(id, group, wallMs).catch(() => undefined),
    lastSessionHurt: (group) => usage.latestSession(group)?.endReason === 'hurt',
    startRefusal: (wallMs) => usage.entryLimitRefusal(wallMs),
    reserve: async (id, group, aheadSeconds, wallMs) => {
      await usage.reserve(id, group, aheadSeconds, wallMs);
      await hooks.afterReserve?.();
    },
    release: (id) => usage.release(id),
  };
}
