/**
 * The history and data concern: fills the `usage.*` and `data.delete` slice of the
 * handler map — today's budget per muscle group, the history with its CSV export, and
 * "delete my data" (which keeps each group's budget day in force).
 */
import type { Handlers } from '../ipc/boundary';
import type { CoreContext } from './context';
import type { Devices } from './devices';
import { settingsView } from './settings';

/** The channels this concern answers. */
export type HistoryChannels = 'usage.*' | 'data.delete';

/** The handlers of this concern's channels. */
export function historyHandlers(ctx: CoreContext, devices: Devices): Handlers<HistoryChannels> {
  const { usage, settings, governor, clock } = ctx;
  return {
    // Motor time still being counted (a stop awaiting its proof, a device out of reach or
    // not confirmed off) is used time too, charged or not yet.
    'usage.today': () =>
      usage.budgets(settings.get().dailyBudgetSeconds, clock.wallNow()).map((b) => {
        const pending = governor.pendingSeconds(b.muscleGroup);
        if (pending <= 0) return b;
        const used = Math.round((b.usedSeconds + pending) * 1000) / 1000;
        return { ...b, usedSeconds: used, remainingSeconds: Math.max(0, Math.round((b.budgetSeconds - used) * 1000) / 1000) };
      }),
    'usage.history': ({ days }) => ({
      ...usage.history(days, clock.wallNow()),
      csv: usage.toCsv(days, clock.wallNow()),
    }),
    'data.delete': async () => {
      await governor.stopAll('user-stop');
      // Each group's budget day in force survives the deletion (as one unnamed entry per
      // group), so deleting the history is not a way around the daily limit. Settings
      // first: the kept log's save records again that a usage log exists.
      await governor.idle();
      await settings.deleteAll();
      await usage.deleteAll({ keepBudgetsAt: clock.wallNow() });
      return settingsView(ctx, devices);
    },
  };
}
