/**
 * The settings document, `settings.json` in the data folder (DESIGN §1 bounds).
 *
 * Times are seconds. Intensity ceilings are fractions 0.1..1 of a device's range.
 * Patches outside the bounds are refused with a {@link SettingsError}, never raised or
 * lowered silently; a hand-edited file with values out of bounds is brought to the safe
 * side on load (e.g. a daily budget of 900 s becomes 360 s) and a notice says so.
 */
import { z } from 'zod';
import { ScreeningAnswers, SettingsPatch, Sound, Theme, isScreeningQuestionId, type SafetyRules, type SettingsView, type UserSettings } from '../ipc/contract';
import type { DeviceKind } from '../../protocols/types';
import { DEFAULT_CEILING, EMS_DEFAULT_CEILING, LIMITS, defaultCeilingFor, rulesFor, type RulesOrigin } from '../safety/rules';
import { JsonFile, type LoadResult, type NoticeListener, type StoreNotice } from './json-file';

/**
 * The bounds and defaults of DESIGN §1, as the settings store applies them (from the rules
 * table, `electron/safety/rules.ts`). Seconds; ceilings as fractions of the device range.
 */
export const SETTINGS_LIMITS = Object.freeze({
  /** Session cap in seconds (the rules' session cap bounds and default). */
  sessionCapSeconds: LIMITS.sessionCapSeconds,
  /** Daily motor-time budget per muscle group in seconds (the rules' bounds and default). The user may lower it only. */
  dailyBudgetSeconds: LIMITS.dailyBudgetSeconds,
  /** Per-protocol intensity ceiling bounds. */
  ceiling: LIMITS.ceiling,
  /** Ceiling used for a protocol the user has not set. */
  defaultCeiling: DEFAULT_CEILING,
  /** Ceiling used for an EMS protocol the user has not set. */
  emsDefaultCeiling: EMS_DEFAULT_CEILING,
  /** Maximum length of the stop-shortcut accelerator string. */
  stopShortcutMaxLength: 60,
});

/** The default global stop shortcut (Electron accelerator syntax). */
export const DEFAULT_STOP_SHORTCUT = 'CommandOrControl+Shift+Space';

/** A device the user connected before. */
export interface RememberedDevice {
  protocolId: string;
  /** Advertised or user-visible name. */
  name: string;
  /** ISO time of the last successful connection. */
  lastConnected: string;
}

/** The user's answer to a stop check of one device on one version of a user profile. */
export interface StopCheckRecord {
  /** The profile's version (the digest of its file's text) the check ran on. */
  version: string;
  /** "Did it stop?": true for yes. */
  stopped: boolean;
  /** ISO time of the answer. */
  at: string;
}

/** The settings document as stored and as held in memory: the user's settings and the store's own records. */
export interface Settings extends UserSettings {
  version: 1;
  /** Remembered devices by peripheral id. */
  devices: Record<string, RememberedDevice>;
  /** Stop checks of devices on user profiles: by peripheral id, then protocol id (one record per profile; a new version replaces it). */
  stopChecks: Record<string, Record<string, StopCheckRecord>>;
  /**
   * A usage log has been written in this data folder. A folder whose settings say so
   * and whose `usage.json` is gone is treated like one with a corrupt log (issue 13).
   * Not a user setting: set by {@link SettingsStore.noteUsageLogKept}.
   */
  usageLogKept: boolean;
}

/** Returns a fresh copy of the default settings. */
export function defaultSettings(): Settings {
  return {
    version: 1,
    ceilings: {},
    sessionCapSeconds: SETTINGS_LIMITS.sessionCapSeconds.default,
    dailyBudgetSeconds: SETTINGS_LIMITS.dailyBudgetSeconds.default,
    theme: 'system',
    reducedMotion: false,
    sound: 'chime',
    doctorNoticeAcknowledged: false,
    stopShortcut: DEFAULT_STOP_SHORTCUT,
    screening: {},
    devices: {},
    stopChecks: {},
    usageLogKept: false,
  };
}

const RememberedDeviceSchema = z.object({
  protocolId: z.string().min(1),
  name: z.string(),
  lastConnected: z.string(),
});

/**
 * What a settings file must look like to be used at all. Fields may be missing (older
 * files; filled with defaults) and numbers may be out of bounds (clamped on load); a
 * wrong type anywhere makes the file invalid (moved aside, defaults used).
 */
const SettingsFileSchema = z.object({
  version: z.literal(1).optional(),
  ceilings: z.record(z.string(), z.number()).optional(),
  sessionCapSeconds: z.number().optional(),
  dailyBudgetSeconds: z.number().optional(),
  theme: Theme.optional(),
  reducedMotion: z.boolean().optional(),
  sound: Sound.optional(),
  doctorNoticeAcknowledged: z.boolean().optional(),
  stopShortcut: z.string().optional(),
  screening: z.record(z.string(), z.boolean()).optional(),
  devices: z.record(z.string(), RememberedDeviceSchema).optional(),
  stopChecks: z
    .record(z.string(), z.record(z.string(), z.object({ version: z.string().min(1).max(200), stopped: z.boolean(), at: z.string() })))
    .optional(),
  usageLogKept: z.boolean().optional(),
});
/** A settings file as parsed from disk, before {@link normalizeSettings}. */
export type SettingsFile = z.infer<typeof SettingsFileSchema>;

/** Why a change was refused. `field` names the setting (e.g. `dailyBudgetSeconds`, `ceilings.theragun`). */
export class SettingsError extends Error {
  override readonly name = 'SettingsError';
  /** `out-of-bounds`: a number outside its range; `invalid`: a wrong type, unknown key or malformed value. */
  readonly code: 'out-of-bounds' | 'invalid';
  readonly field: string;

  constructor(code: 'out-of-bounds' | 'invalid', field: string, message: string) {
    super(message);
    this.code = code;
    this.field = field;
  }
}

/**
 * Brings a parsed settings file inside the bounds, on the safe side: numbers above a
 * maximum become the maximum, below a minimum the minimum, non-integer seconds are
 * rounded down; a ceiling that is not finite is dropped (the default applies); an empty
 * or over-long stop shortcut becomes the default; screening answers to anything but the
 * app's own questions ({@link isScreeningQuestionId}) are dropped. Returns the settings
 * and one line per adjustment.
 */
export function normalizeSettings(file: SettingsFile): { settings: Settings; adjustments: string[] } {
  const settings = defaultSettings();
  const adjustments: string[] = [];

  const seconds = (key: 'sessionCapSeconds' | 'dailyBudgetSeconds'): number => {
    const limits = SETTINGS_LIMITS[key];
    const raw = file[key];
    if (raw === undefined) return limits.default;
    if (!Number.isFinite(raw)) {
      adjustments.push(`${key} ${raw} is not a number; set to ${limits.default} s`);
      return limits.default;
    }
    const value = Math.min(limits.max, Math.max(limits.min, Math.floor(raw)));
    if (value !== raw) adjustments.push(`${key} ${raw} s is outside ${limits.min}..${limits.max} s; set to ${value} s`);
    return value;
  };
  settings.sessionCapSeconds = seconds('sessionCapSeconds');
  settings.dailyBudgetSeconds = seconds('dailyBudgetSeconds');

  for (const [protocolId, raw] of Object.entries(file.ceilings ?? {})) {
    if (!Number.isFinite(raw)) {
      adjustments.push(`ceilings.${protocolId} ${raw} is not a number; the default applies`);
      continue;
    }
    const { min, max } = SETTINGS_LIMITS.ceiling;
    const value = Math.min(max, Math.max(min, raw));
    if (value !== raw) adjustments.push(`ceilings.${protocolId} ${raw} is outside ${min}..${max}; set to ${value}`);
    settings.ceilings[protocolId] = value;
  }

  if (file.stopShortcut !== undefined) {
    const shortcut = file.stopShortcut.trim();
    if (shortcut.length === 0 || shortcut.length > SETTINGS_LIMITS.stopShortcutMaxLength) {
      adjustments.push(`stopShortcut ${JSON.stringify(file.stopShortcut)} is not usable; set to ${DEFAULT_STOP_SHORTCUT}`);
    } else {
      settings.stopShortcut = shortcut;
    }
  }

  if (file.theme !== undefined) settings.theme = file.theme;
  if (file.reducedMotion !== undefined) settings.reducedMotion = file.reducedMotion;
  if (file.sound !== undefined) settings.sound = file.sound;
  if (file.doctorNoticeAcknowledged !== undefined) settings.doctorNoticeAcknowledged = file.doctorNoticeAcknowledged;
  if (file.screening) {
    // Only the app's own questions are kept: a file that gathered other keys (an older
    // version let any through, and a page could make it grow without bound) shrinks back.
    let unknown = 0;
    for (const [id, answer] of Object.entries(file.screening)) {
      if (isScreeningQuestionId(id)) settings.screening[id] = answer;
      else unknown += 1;
    }
    if (unknown > 0) {
      adjustments.push(
        `${unknown} screening ${unknown === 1 ? 'entry' : 'entries'} not belonging to any of Unknot's questions ${unknown === 1 ? 'was' : 'were'} removed (your answers to its own questions are kept; nothing that mattered was lost)`,
      );
    }
  }
  if (file.usageLogKept !== undefined) settings.usageLogKept = file.usageLogKept;
  if (file.devices) {
    for (const [id, device] of Object.entries(file.devices)) settings.devices[id] = { ...device };
  }
  if (file.stopChecks) settings.stopChecks = cloneStopChecks(file.stopChecks);
  return { settings, adjustments };
}

/** Validates a patch against the bounds; throws {@link SettingsError}; returns the parsed patch. */
export function validateSettingsPatch(patch: unknown): SettingsPatch {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) {
    throw new SettingsError('invalid', 'patch', 'A settings change must be an object.');
  }
  const record = patch as Record<string, unknown>;
  // Clear messages for the bounds first; the contract schema then checks everything else.
  for (const key of ['sessionCapSeconds', 'dailyBudgetSeconds'] as const) {
    const value = record[key];
    if (typeof value !== 'number') continue;
    const { min, max } = SETTINGS_LIMITS[key];
    if (!Number.isFinite(value) || !Number.isInteger(value)) {
      throw new SettingsError('invalid', key, `${key} must be a whole number of seconds (got ${value}).`);
    }
    if (value > max) {
      throw new SettingsError(
        'out-of-bounds',
        key,
        `${key} must be at most ${max} seconds (got ${value}); it can be lowered but never raised above ${max}.`,
      );
    }
    if (value < min) {
      throw new SettingsError('out-of-bounds', key, `${key} must be at least ${min} seconds (got ${value}).`);
    }
  }
  const ceilings = record.ceilings;
  if (typeof ceilings === 'object' && ceilings !== null) {
    for (const [protocolId, value] of Object.entries(ceilings)) {
      if (typeof value !== 'number') continue;
      const { min, max } = SETTINGS_LIMITS.ceiling;
      if (!Number.isFinite(value) || value < min || value > max) {
        throw new SettingsError(
          'out-of-bounds',
          `ceilings.${protocolId}`,
          `The intensity ceiling for ${protocolId} must be between ${min * 100}% and ${max * 100}% (got ${value}).`,
        );
      }
    }
  }
  const parsed = SettingsPatch.safeParse(patch);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue && issue.path.length > 0 ? issue.path.join('.') : 'patch';
    throw new SettingsError('invalid', field, `Invalid setting ${field}: ${issue?.message ?? 'invalid value'}.`);
  }
  return parsed.data;
}

/** Returns `settings` with a validated patch applied (a new object; ceilings merge per protocol). */
export function applySettingsPatch(settings: Settings, patch: SettingsPatch): Settings {
  const next = cloneSettings(settings);
  if (patch.ceilings) Object.assign(next.ceilings, patch.ceilings);
  if (patch.sessionCapSeconds !== undefined) next.sessionCapSeconds = patch.sessionCapSeconds;
  if (patch.dailyBudgetSeconds !== undefined) next.dailyBudgetSeconds = patch.dailyBudgetSeconds;
  if (patch.theme !== undefined) next.theme = patch.theme;
  if (patch.reducedMotion !== undefined) next.reducedMotion = patch.reducedMotion;
  if (patch.sound !== undefined) next.sound = patch.sound;
  if (patch.doctorNoticeAcknowledged !== undefined) next.doctorNoticeAcknowledged = patch.doctorNoticeAcknowledged;
  if (patch.stopShortcut !== undefined) next.stopShortcut = patch.stopShortcut.trim() || DEFAULT_STOP_SHORTCUT;
  return next;
}

/** Options of a {@link SettingsStore}. */
export interface SettingsStoreOptions {
  /** The data folder; the file is `<dir>/settings.json`. */
  dir: string;
  /** Called with every notice (reset of a corrupt file, values adjusted on load, failed write). */
  onNotice?: NoticeListener;
  /** Wall clock in milliseconds since the epoch. Defaults to `Date.now`. */
  now?: () => number;
}

/** The file name of the settings document. */
export const SETTINGS_FILE = 'settings.json';

/**
 * The settings store. Call {@link load} once before anything else; every change is
 * validated, applied in memory at once and written atomically before its promise
 * resolves. Reads return copies.
 */
export class SettingsStore {
  private readonly file: JsonFile<SettingsFile>;
  private readonly now: () => number;
  private current: Settings = defaultSettings();
  private loaded = false;

  constructor(options: SettingsStoreOptions) {
    this.now = options.now ?? Date.now;
    this.file = new JsonFile<SettingsFile>({
      dir: options.dir,
      name: SETTINGS_FILE,
      label: 'settings',
      // The file schema is lenient; load() clamps. What the store writes is always normalised.
      schema: SettingsFileSchema,
      defaults: defaultSettings,
      onNotice: options.onNotice,
      now: this.now,
    });
  }

  /** Absolute path of `settings.json`. */
  get path(): string {
    return this.file.path;
  }

  /**
   * Reads `settings.json`: missing ⇒ defaults; unusable ⇒ moved aside, defaults and a
   * `reset` notice; values out of bounds ⇒ clamped to the safe side and an `adjusted`
   * notice (the corrected file is written back); the same for screening answers to
   * questions the app does not ask (dropped; the known ones are kept). Never throws for
   * a bad file.
   * Returns the settings and the notices raised (also passed to `onNotice`).
   */
  async load(): Promise<{ settings: Settings; notices: StoreNotice[] }> {
    const result: LoadResult<SettingsFile> = await this.file.load();
    const notices: StoreNotice[] = result.notice ? [result.notice] : [];
    const { settings, adjustments } = normalizeSettings(result.value);
    this.current = settings;
    this.loaded = true;
    if (adjustments.length > 0) {
      const notice: StoreNotice = {
        kind: 'adjusted',
        file: this.file.name,
        path: this.file.path,
        movedTo: null,
        reason: 'out-of-bounds',
        detail: adjustments.join('; '),
        message: `Some values in your settings file (${this.file.name}) were outside the safe limits or not Unknot's own and were corrected: ${adjustments.join('; ')}.`,
        at: new Date(this.now()).toISOString(),
      };
      notices.push(notice);
      this.file.emit(notice);
      // Write the corrected values back; a failure is reported by persist() and the
      // corrected values still apply in memory.
      await this.persist().catch(() => undefined);
    }
    return { settings: this.get(), notices };
  }

  /** A copy of the current settings. */
  get(): Settings {
    return cloneSettings(this.current);
  }

  /**
   * The intensity ceiling (0.1..1) for a protocol: the user's value, else the default of
   * the device kind in the rules table (`KIND_RULES[kind].defaultCeiling`); for a user
   * profile (`origin.userProfile`) the lower user-profile default.
   */
  ceilingFor(protocolId: string, kind?: DeviceKind, origin: RulesOrigin = {}): number {
    return this.current.ceilings[protocolId] ?? defaultCeilingFor(kind, origin);
  }

  /**
   * Applies a settings patch (the `settings.set` payload) and saves it.
   *
   * @throws SettingsError `out-of-bounds` when a number is outside its range (e.g. a daily
   *   budget above 360 s: refused, never clamped), `invalid` for wrong types or unknown keys.
   *   Nothing is changed when it throws.
   * @throws the file-system error when the save fails (the change stays applied in memory).
   */
  async update(patch: unknown): Promise<Settings> {
    this.assertLoaded();
    const valid = validateSettingsPatch(patch);
    this.current = applySettingsPatch(this.current, valid);
    await this.persist();
    return this.get();
  }

  /**
   * Merges screening answers (question id → true for "yes", false for "no") and saves.
   *
   * @throws SettingsError `invalid` when `answers` is not such a record.
   */
  async setScreening(answers: unknown): Promise<Settings> {
    this.assertLoaded();
    const parsed = ScreeningAnswers.safeParse(answers);
    if (!parsed.success) {
      throw new SettingsError('invalid', 'screening', `Invalid screening answers: ${parsed.error.issues[0]?.message ?? 'invalid'}.`);
    }
    this.current = { ...cloneSettings(this.current), screening: { ...this.current.screening, ...parsed.data } };
    await this.persist();
    return this.get();
  }

  /**
   * Remembers (or refreshes) a device the user connected to; `connectedAtMs` is
   * milliseconds since the epoch (defaults to now).
   *
   * @throws SettingsError `invalid` for an empty peripheral or protocol id.
   */
  async rememberDevice(
    peripheralId: string,
    device: { protocolId: string; name: string },
    connectedAtMs: number = this.now(),
  ): Promise<Settings> {
    this.assertLoaded();
    if (!peripheralId || !device.protocolId) {
      throw new SettingsError('invalid', 'devices', 'A remembered device needs a peripheral id and a protocol id.');
    }
    const next = cloneSettings(this.current);
    next.devices[peripheralId] = {
      protocolId: device.protocolId,
      name: device.name,
      lastConnected: new Date(connectedAtMs).toISOString(),
    };
    this.current = next;
    await this.persist();
    return this.get();
  }

  /**
   * Records that a usage log exists in this data folder (no-op when already recorded)
   * and saves: from then on a missing `usage.json` counts as a lost log.
   *
   * @throws the file-system error when the save fails (the flag stays set in memory).
   */
  async noteUsageLogKept(): Promise<void> {
    this.assertLoaded();
    if (this.current.usageLogKept) return;
    this.current = { ...cloneSettings(this.current), usageLogKept: true };
    await this.persist();
  }

  /**
   * Records the user's answer to the stop check of a device (`peripheralId`) on a user
   * profile (`protocolId` at `version`), replacing any earlier one for that profile, and
   * saves; `atMs` is milliseconds since the epoch (defaults to now).
   *
   * @throws SettingsError `invalid` for an empty id or version; the file-system error when the save fails.
   */
  async recordStopCheck(
    peripheralId: string,
    check: { protocolId: string; version: string; stopped: boolean },
    atMs: number = this.now(),
  ): Promise<Settings> {
    this.assertLoaded();
    if (!peripheralId || !check.protocolId || !check.version) {
      throw new SettingsError('invalid', 'stopChecks', 'A stop check needs a peripheral id, a protocol id and a version.');
    }
    const next = cloneSettings(this.current);
    next.stopChecks[peripheralId] = {
      ...next.stopChecks[peripheralId],
      [check.protocolId]: { version: check.version, stopped: check.stopped, at: new Date(atMs).toISOString() },
    };
    this.current = next;
    await this.persist();
    return this.get();
  }

  /** Forgets a remembered device (no-op if unknown) and saves. */
  async forgetDevice(peripheralId: string): Promise<Settings> {
    this.assertLoaded();
    if (peripheralId in this.current.devices) {
      const next = cloneSettings(this.current);
      delete next.devices[peripheralId];
      this.current = next;
      await this.persist();
    }
    return this.get();
  }

  /**
   * Deletes `settings.json` and returns to the defaults (screening answers included,
   * so the screening is asked again), except stop checks the user answered "no" (the file
   * then holds only those). Part of "delete my data".
   *
   * @throws the file-system error when the file cannot be removed.
   */
  async deleteAll(): Promise<Settings> {
    // A "no" to a stop check outlives the deletion (like the budget day in force): deleting
    // one's data must not switch the motor of a device that did not stop back on.
    const failed: Settings['stopChecks'] = {};
    for (const [peripheralId, byProtocol] of Object.entries(this.current.stopChecks)) {
      const kept = Object.entries(byProtocol).filter(([, r]) => !r.stopped);
      if (kept.length) failed[peripheralId] = Object.fromEntries(kept.map(([id, r]) => [id, { ...r }]));
    }
    this.current = { ...defaultSettings(), stopChecks: failed };
    if (Object.keys(failed).length) await this.persist();
    else await this.file.remove();
    return this.get();
  }

  /** Resolves when every save started so far is on disk (or has failed). Never rejects. */
  async flush(): Promise<void> {
    await this.file.idle();
  }

  private async persist(): Promise<void> {
    try {
      await this.file.save(this.current);
    } catch (error) {
      this.file.writeFailed(error, `Your settings could not be saved to ${this.file.path}; they apply until the app quits.`);
      throw error;
    }
  }

  private assertLoaded(): void {
    if (!this.loaded) throw new Error('SettingsStore: call load() before changing settings');
  }
}

/**
 * Builds the `settings.get` view. `motorBlocked` is true when any screening answer is
 * "yes" (the core may also block while questions are unanswered). `extra.rules`: the rules
 * that apply to the connected device (default: the general rules, no device).
 */
export function toSettingsView(
  settings: Settings,
  extra: { dataDir: string; screeningQuestions: { id: string; deviceKind?: string }[]; rules?: SafetyRules },
): SettingsView {
  return {
    ceilings: { ...settings.ceilings },
    defaultCeiling: SETTINGS_LIMITS.defaultCeiling,
    emsDefaultCeiling: SETTINGS_LIMITS.emsDefaultCeiling,
    sessionCapSeconds: settings.sessionCapSeconds,
    dailyBudgetSeconds: settings.dailyBudgetSeconds,
    theme: settings.theme,
    reducedMotion: settings.reducedMotion,
    sound: settings.sound,
    doctorNoticeAcknowledged: settings.doctorNoticeAcknowledged,
    stopShortcut: settings.stopShortcut,
    screening: { ...settings.screening },
    screeningQuestions: extra.screeningQuestions.map((q) => ({ ...q })),
    rules: extra.rules ?? rulesFor(undefined),
    motorBlocked: Object.values(settings.screening).some((answer) => answer),
    dataDir: extra.dataDir,
  };
}

function cloneSettings(settings: Settings): Settings {
  const devices: Record<string, RememberedDevice> = {};
  for (const [id, device] of Object.entries(settings.devices)) devices[id] = { ...device };
  return {
    ...settings,
    ceilings: { ...settings.ceilings },
    screening: { ...settings.screening },
    devices,
    stopChecks: cloneStopChecks(settings.stopChecks),
  };
}

function cloneStopChecks(checks: Record<string, Record<string, StopCheckRecord>>): Record<string, Record<string, StopCheckRecord>> {
  const out: Record<string, Record<string, StopCheckRecord>> = {};
  for (const [peripheralId, byProtocol] of Object.entries(checks)) {
    if (peripheralId === '__proto__') continue;
    const copy: Record<string, StopCheckRecord> = {};
    for (const [protocolId, record] of Object.entries(byProtocol)) if (protocolId !== '__proto__') copy[protocolId] = { ...record };
    out[peripheralId] = copy;
  }
  return out;
}
