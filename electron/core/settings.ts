/**
 * The settings and screening concern: fills the `settings.*` and `screening.set` slice of
 * the handler map, builds the settings view (with the rules that apply to the connected
 * device), and says when the screening answers or the area keep the motor off.
 */
import type { DeviceKind } from '../../protocols/types';
import type { Handlers } from '../ipc/boundary';
import type { ErrorCode, MuscleGroup, SettingsView } from '../ipc/contract';
import { allQuestions, areaBlock, questionsFor, screeningBlock } from '../safety/rules';
import { toSettingsView } from '../store/settings';
import type { CoreContext } from './context';
import type { Devices } from './devices';

/** The channels this concern answers. */
export type SettingsChannels = 'settings.*' | 'screening.set';

/**
 * Why the motor may not run on a device of `kind` for `group`: a screening answer or one
 * missing (or the health notice not acknowledged), or an area the kind never works; null
 * when it may.
 */
export function motorBlock(ctx: Pick<CoreContext, 'settings'>, kind: DeviceKind, group: MuscleGroup): { code: ErrorCode; message: string } | null {
  const s = ctx.settings.get();
  return screeningBlock(s.screening, s.doctorNoticeAcknowledged, kind) ?? areaBlock(kind, group);
}

/** The settings view: the user's settings, every question, and the rules that apply to the connected device. */
export function settingsView(ctx: CoreContext, devices: Devices): SettingsView {
  const settings = ctx.settings.get();
  const kind = devices.kind();
  const view = toSettingsView(settings, { dataDir: ctx.options.dataDir, screeningQuestions: allQuestions(), rules: devices.rules() });
  // Blocked by a "yes" to a question that applies: the base ones, plus the connected
  // device kind's own (a "yes" to an EMS-only question does not block a massage gun).
  return { ...view, motorBlocked: questionsFor(kind).some((q) => settings.screening[q.id] === true) };
}

/** The handlers of this concern's channels. */
export function settingsHandlers(ctx: CoreContext, devices: Devices): Handlers<SettingsChannels> {
  const { settings, governor } = ctx;
  return {
    'settings.get': () => settingsView(ctx, devices),
    'settings.set': async (patch) => {
      const before = devices.current() ? devices.ceiling() : undefined;
      await settings.update(patch);
      await governor.recheckBlock();
      const after = devices.current() ? devices.ceiling() : undefined;
      if (before !== undefined && after !== undefined && after > before && governor.current()) {
        ctx.broadcast('safety.warning', {
          code: 'ceiling-next-session',
          message: `The higher ceiling (${Math.round(after * 100)}%) applies from the next session; this one stays at ${Math.round(governor.ceilingInForce() * 100)}%.`,
        });
      }
      devices.broadcastStatus();
      return settingsView(ctx, devices);
    },
    'screening.set': async ({ answers }) => {
      await settings.setScreening(answers);
      // A "yes" that blocks the running session's device or area stops it at once.
      await governor.recheckBlock();
      return settingsView(ctx, devices);
    },
  };
}
