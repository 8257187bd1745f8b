/**
 * The renderer shows the safety rules main sends (issue 15, part 2): the shortest grant,
 * the areas a device never works, the questions that apply, the default ceiling, the
 * session cap and the settings' bounds come from the `rules` of `device.status` or of the
 * settings view, never from numbers of its own. Each test sends rules that differ from
 * the defaults and checks that what the user sees follows them.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { rulesFor } from '../../../electron/safety/rules';
import type { DeviceStatusEvent, SafetyRules, SettingsView } from '../../../electron/ipc/contract';
import { createController, type Controller } from '../../../renderer/src/controller';
import { t } from '../../../renderer/src/i18n/en';
import { ceilingOf } from '../../../renderer/src/screens/DevicePanel';
import {
  applicableQuestions,
  areaExcluded,
  budgetTooShort,
  createStore,
  onlyDeviceQuestionsLeft,
  rulesOf,
  screeningComplete,
} from '../../../renderer/src/store';
import { bridgeOver } from './support';

/** Rules unlike any default: a 2-minute shortest grant, no shoulders, one odd question, a 50% ceiling, a 200 s cap. */
const ODD: SafetyRules = {
  kind: 'percussive',
  defaultCeiling: 0.5,
  ceilingRange: { min: 0.2, max: 0.9 },
  sessionCapSeconds: { min: 120, max: 200, default: 200 },
  dailyBudgetSeconds: { min: 120, max: 480, default: 480 },
  minGrantSeconds: 120,
  excludedGroups: ['shoulders'],
  screeningQuestions: [{ id: 'pregnant' }, { id: 'made-up', deviceKind: 'percussive' }],
};

const gun = (rules?: SafetyRules): DeviceStatusEvent => ({
  connection: 'connected',
  name: 'Pro',
  protocolId: 'theragun-gen4',
  kind: 'percussive',
  ...(rules ? { rules } : {}),
});

let controller: Controller | undefined;
afterEach(() => {
  controller?.dispose();
  controller = undefined;
  vi.useRealTimers();
});

describe('the renderer reads the rules main sends', () => {
  it('a budget is too short under the shortest grant main sends, not under a number of its own', () => {
    const usage = [{ muscleGroup: 'neck' as const, usedSeconds: 270, budgetSeconds: 360, remainingSeconds: 90, resetsAt: '' }];
    const odd = createStore({ device: gun(ODD), usage });
    expect(budgetTooShort(odd.getState(), 'neck')).toBe(true); // 90 s < 120 s
    const usual = createStore({ device: gun(rulesFor('percussive')), usage });
    expect(budgetTooShort(usual.getState(), 'neck')).toBe(false); // 90 s ≥ 60 s
    // without rules the renderer does not guess: main decides
    expect(budgetTooShort(createStore({ device: gun(), usage }).getState(), 'neck')).toBe(false);
  });

  it('an area is offered or not as the device rules say (an EMS pad never works the neck)', () => {
    expect(areaExcluded(createStore({ device: gun(ODD) }).getState(), 'shoulders')).toBe(true);
    expect(areaExcluded(createStore({ device: gun(ODD) }).getState(), 'neck')).toBe(false);
    const ems = createStore({ device: { ...gun(rulesFor('ems')), kind: 'ems' } });
    expect(areaExcluded(ems.getState(), 'neck')).toBe(true);
    expect(areaExcluded(createStore({ device: gun(rulesFor('percussive')) }).getState(), 'neck')).toBe(false);
  });

  it('the questions that apply are those main sends; none are complete before the rules arrive', () => {
    const settings = { screening: { pregnant: false }, doctorNoticeAcknowledged: true, rules: rulesFor(undefined) } as unknown as SettingsView;
    const s = createStore({ device: gun(ODD), settings });
    expect(applicableQuestions(s.getState())).toEqual(['pregnant', 'made-up']);
    expect(screeningComplete(s.getState())).toBe(false);
    expect(onlyDeviceQuestionsLeft(s.getState())).toBe(true); // only the device's own "made-up" is open
    s.setState({ settings: { ...settings, screening: { pregnant: false, 'made-up': false } } });
    expect(screeningComplete(s.getState())).toBe(true);
    // no device: the settings view's rules (the general ones)
    const none = createStore({ device: { connection: 'disconnected' }, settings });
    expect(rulesOf(none.getState())).toEqual(rulesFor(undefined));
    expect(applicableQuestions(none.getState())).toEqual(['pregnant', 'heart-condition', 'high-blood-pressure']);
    expect(onlyDeviceQuestionsLeft(none.getState())).toBe(false);
    expect(screeningComplete(createStore({ device: { connection: 'disconnected' }, settings: null }).getState())).toBe(false);
  });

  it('a device without a ceiling of its own shows the default ceiling main sends for its kind', () => {
    expect(ceilingOf(createStore({ device: gun(ODD) }).getState())).toBe(0.5);
    expect(ceilingOf(createStore({ device: { ...gun(rulesFor('ems')), kind: 'ems' } }).getState())).toBe(0.4);
    expect(ceilingOf(createStore({ device: { ...gun(ODD), ceiling: 0.3 } }).getState())).toBe(0.3);
  });

  it('manual control asks for the session cap main sends when the settings are not loaded', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'setInterval', 'clearTimeout', 'clearInterval', 'Date', 'performance'] });
    const starts: unknown[] = [];
    const bridge = {
      sessionStart: async (payload: unknown) => {
        starts.push(payload);
        return { ok: true, result: { sessionId: 's1', grantedMotorSeconds: 200, shortened: false, intensityFactor: 1 } };
      },
      sessionSetStep: async () => ({ ok: true, result: { commandedStep: 1, maxStep: 2 } }),
      sessionHeartbeat: async () => ({ ok: true, result: null }),
      sessionEnd: async () => ({ ok: true, result: { sessionId: 's1', reason: 'completed', message: '', usedMotorSeconds: 0 } }),
    };
    const store = createStore({ device: gun(ODD), settings: null });
    controller = createController({ store, bridge: bridgeOver(bridge) });
    await controller.startManual('upper-back', 0.3);
    expect(starts).toEqual([{ muscleGroup: 'upper-back', plannedMotorSeconds: 200 }]);
  });

  it('the limits the screens state are the ones main sends (the defaults read as before)', () => {
    const r = rulesFor(undefined);
    expect(t.settings.sessionCapHint(r.sessionCapSeconds.min, r.sessionCapSeconds.max)).toBe('1 to 5 minutes.');
    expect(t.settings.dailyBudgetHint(r.dailyBudgetSeconds.min, r.dailyBudgetSeconds.max)).toBe('1 to 6 minutes. It can be lowered, never raised above 6.');
    expect(t.settings.ceilingHint(r.ceilingRange.min * 100, r.ceilingRange.max * 100)).toBe('The highest intensity the app will ever command, 10–100% of the device’s range.');
    expect(t.routines.budgetNote(r.dailyBudgetSeconds.max)).toMatch(/^At most 6 minutes a day per area/);
    expect(t.firstRun.limitsItem(r.sessionCapSeconds.max, r.dailyBudgetSeconds.max)).toBe('Keeps hard limits: gentle intensity, 5 minutes a session, 6 minutes a day per area.');
    expect(t.settings.sessionCapHint(ODD.sessionCapSeconds.min, ODD.sessionCapSeconds.max)).toBe('2 to 3 minutes.');
  });

  it('renderer/src holds none of the rules: no shortest-grant constant, no default ceilings, no fallback cap or budget', () => {
    const root = join(__dirname, '..', '..', '..', 'renderer', 'src');
    const files = (function walk(dir: string): string[] {
      return readdirSync(dir).flatMap((f) => (statSync(join(dir, f)).isDirectory() ? walk(join(dir, f)) : [join(dir, f)]));
    })(root).filter((f) => /\.tsx?$/.test(f));
    const offending = files.flatMap((f) =>
      readFileSync(f, 'utf8')
        .split('\n')
        .map((line, i) => ({ where: `${f.slice(root.length + 1)}:${i + 1}`, line }))
        .filter(
          ({ where, line }) =>
            /MIN_SESSION_SECONDS|emsDefaultCeiling|\?\? *(0\.6|0\.4|60|300|360)\b|device\.kind === 'ems'/.test(line) ||
            // the question ids: only the string table (their texts) names them
            (!where.startsWith('i18n/') && /'heart-condition'|'high-blood-pressure'/.test(line)),
        ),
    );
    expect(offending).toEqual([]);
  });
});
