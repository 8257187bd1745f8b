import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { StoreNotice } from '../../../electron/store/json-file';
import {
  DEFAULT_STOP_SHORTCUT,
  SettingsError,
  SettingsStore,
  defaultSettings,
  toSettingsView,
  validateSettingsPatch,
} from '../../../electron/store/settings';
import { tempDir } from './helpers';

async function open(dir: string, notices: StoreNotice[] = []) {
  const store = new SettingsStore({ dir, onNotice: (n) => notices.push(n) });
  const loaded = await store.load();
  return { store, loaded, notices };
}
const readFile = (dir: string) => JSON.parse(readFileSync(path.join(dir, 'settings.json'), 'utf8'));

describe('SettingsStore', () => {
  it('starts from the defaults of DESIGN §1 when the file is missing', async () => {
    const dir = tempDir();
    const { store, loaded, notices } = await open(dir);
    expect(loaded.notices).toEqual([]);
    expect(notices).toEqual([]);
    expect(loaded.settings).toEqual(defaultSettings());
    expect(loaded.settings).toMatchObject({
      sessionCapSeconds: 300,
      dailyBudgetSeconds: 360,
      theme: 'system',
      reducedMotion: false,
      sound: 'chime',
      doctorNoticeAcknowledged: false,
      stopShortcut: 'CommandOrControl+Shift+Space',
      screening: {},
      devices: {},
    });
    expect(store.ceilingFor('theragun-gen4')).toBe(0.6);
    expect(store.ceilingFor('some-ems', 'ems')).toBe(0.4);
    expect(existsSync(store.path)).toBe(false); // nothing written until a change
  });

  it('applies and persists a valid patch; a new instance reads it back', async () => {
    const dir = tempDir();
    const { store } = await open(dir);
    const next = await store.update({
      dailyBudgetSeconds: 120,
      sessionCapSeconds: 60,
      ceilings: { 'theragun-gen4': 0.5 },
      theme: 'dark',
      reducedMotion: true,
      sound: 'chime-and-voice',
      doctorNoticeAcknowledged: true,
      stopShortcut: 'Alt+S',
    });
    expect(next).toMatchObject({ dailyBudgetSeconds: 120, sessionCapSeconds: 60, theme: 'dark', stopShortcut: 'Alt+S' });
    await store.update({ ceilings: { other: 1 } });
    const { loaded } = await open(dir);
    expect(loaded.settings.ceilings).toEqual({ 'theragun-gen4': 0.5, other: 1 });
    expect(loaded.settings).toMatchObject({ dailyBudgetSeconds: 120, sound: 'chime-and-voice', doctorNoticeAcknowledged: true });
  });

  it.each([
    [{ dailyBudgetSeconds: 361 }, 'dailyBudgetSeconds', /at most 360 seconds.*never raised above 360/],
    [{ dailyBudgetSeconds: 900 }, 'dailyBudgetSeconds', /at most 360/],
    [{ dailyBudgetSeconds: 59 }, 'dailyBudgetSeconds', /at least 60/],
    [{ sessionCapSeconds: 301 }, 'sessionCapSeconds', /at most 300/],
    [{ sessionCapSeconds: 0 }, 'sessionCapSeconds', /at least 60/],
    [{ ceilings: { theragun: 1.01 } }, 'ceilings.theragun', /between 10% and 100%/],
    [{ ceilings: { theragun: 0.05 } }, 'ceilings.theragun', /between 10% and 100%/],
  ])('refuses the out-of-bound patch %j and changes nothing', async (patch, field, message) => {
    const dir = tempDir();
    const { store } = await open(dir);
    await store.update({ dailyBudgetSeconds: 300 });
    const before = readFileSync(store.path, 'utf8');
    const error = await store.update(patch).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SettingsError);
    expect(error).toMatchObject({ code: 'out-of-bounds', field });
    expect((error as Error).message).toMatch(message);
    expect(store.get().dailyBudgetSeconds).toBe(300);
    expect(store.get().ceilings).toEqual({});
    expect(readFileSync(store.path, 'utf8')).toBe(before);
  });

  it.each([
    [{ dailyBudgetSeconds: 120.5 }, 'dailyBudgetSeconds'],
    [{ theme: 'neon' }, 'theme'],
    [{ sound: true }, 'sound'],
    [{ doctorNoticeAcknowledged: false }, 'doctorNoticeAcknowledged'],
    [{ stopShortcut: '' }, 'stopShortcut'],
    [{ unknownKey: 1 }, 'patch'],
    [null, 'patch'],
    [[1], 'patch'],
  ])('refuses the invalid patch %j', async (patch, field) => {
    const { store } = await open(tempDir());
    await expect(store.update(patch)).rejects.toMatchObject({ name: 'SettingsError', code: 'invalid', field });
  });

  it('validateSettingsPatch returns the parsed patch', () => {
    expect(validateSettingsPatch({ dailyBudgetSeconds: 60 })).toEqual({ dailyBudgetSeconds: 60 });
  });

  it('clamps a hand-edited file to the safe side, says so, and writes the corrected file', async () => {
    const dir = tempDir();
    writeFileSync(
      path.join(dir, 'settings.json'),
      JSON.stringify({
        dailyBudgetSeconds: 900,
        sessionCapSeconds: 1000.7,
        ceilings: { theragun: 3, quiet: 0.01, fine: 0.7 },
        stopShortcut: '   ',
        theme: 'light',
        screening: { pregnant: false },
      }),
    );
    const { loaded, notices } = await open(dir);
    expect(loaded.settings).toMatchObject({
      dailyBudgetSeconds: 360,
      sessionCapSeconds: 300,
      ceilings: { theragun: 1, quiet: 0.1, fine: 0.7 },
      stopShortcut: DEFAULT_STOP_SHORTCUT,
      theme: 'light',
      screening: { pregnant: false },
      sound: 'chime',
    });
    expect(loaded.notices).toHaveLength(1);
    expect(loaded.notices[0]).toMatchObject({ kind: 'adjusted', reason: 'out-of-bounds', file: 'settings.json', movedTo: null });
    expect(loaded.notices[0]!.message).toContain('dailyBudgetSeconds 900 s');
    expect(notices).toEqual(loaded.notices);
    expect(readFile(dir)).toMatchObject({ version: 1, dailyBudgetSeconds: 360, sessionCapSeconds: 300 });
  });

  it('rounds seconds down and clamps below the minimum up to it', async () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'settings.json'), JSON.stringify({ dailyBudgetSeconds: 100.9, sessionCapSeconds: 10 }));
    const { loaded } = await open(dir);
    expect(loaded.settings.dailyBudgetSeconds).toBe(100);
    expect(loaded.settings.sessionCapSeconds).toBe(60);
  });

  it('moves a corrupt or wrongly-shaped file aside and uses the defaults', async () => {
    for (const content of ['{"dailyBudgetSeconds": 12', JSON.stringify({ dailyBudgetSeconds: 'lots' }), JSON.stringify({ screening: { q: 'yes' } })]) {
      const dir = tempDir();
      writeFileSync(path.join(dir, 'settings.json'), content);
      const { loaded, notices } = await open(dir);
      expect(loaded.settings).toEqual(defaultSettings());
      expect(loaded.notices).toHaveLength(1);
      expect(loaded.notices[0]).toMatchObject({ kind: 'reset', file: 'settings.json' });
      expect(readFileSync(loaded.notices[0]!.movedTo!, 'utf8')).toBe(content);
      expect(notices).toHaveLength(1);
    }
  });

  it('merges screening answers and refuses malformed ones', async () => {
    const dir = tempDir();
    const { store } = await open(dir);
    await store.setScreening({ pregnant: false, 'heart-condition': false });
    await store.setScreening({ 'heart-condition': true });
    expect(store.get().screening).toEqual({ pregnant: false, 'heart-condition': true });
    await expect(store.setScreening({ 'heart-condition': 'yes' })).rejects.toBeInstanceOf(SettingsError);
    expect((await open(dir)).loaded.settings.screening).toEqual({ pregnant: false, 'heart-condition': true });
  });

  it('remembers and forgets devices', async () => {
    const dir = tempDir();
    const { store } = await open(dir);
    await store.rememberDevice('aa:bb', { protocolId: 'theragun-gen4', name: 'Pro' }, Date.UTC(2024, 0, 2, 3, 4, 5));
    expect((await open(dir)).loaded.settings.devices).toEqual({
      'aa:bb': { protocolId: 'theragun-gen4', name: 'Pro', lastConnected: '2024-01-02T03:04:05.000Z' },
    });
    await store.forgetDevice('aa:bb');
    await store.forgetDevice('unknown');
    expect((await open(dir)).loaded.settings.devices).toEqual({});
  });

  it('returns copies, not its own state', async () => {
    const { store } = await open(tempDir());
    const copy = store.get();
    copy.dailyBudgetSeconds = 9999;
    copy.ceilings.x = 5;
    expect(store.get().dailyBudgetSeconds).toBe(360);
    expect(store.get().ceilings).toEqual({});
  });

  it('deleteAll removes the file and returns to the defaults', async () => {
    const dir = tempDir();
    const { store } = await open(dir);
    await store.update({ dailyBudgetSeconds: 60 });
    await store.setScreening({ 'heart-condition': true });
    expect(await store.deleteAll()).toEqual(defaultSettings());
    expect(existsSync(store.path)).toBe(false);
    expect((await open(dir)).loaded.settings).toEqual(defaultSettings());
  });

  it('refuses changes before load()', async () => {
    const store = new SettingsStore({ dir: tempDir() });
    await expect(store.update({ theme: 'dark' })).rejects.toThrow(/load\(\)/);
  });

  it('builds the settings view; any "yes" blocks the motor', () => {
    const settings = { ...defaultSettings(), screening: { pregnant: false } };
    const view = toSettingsView(settings, { dataDir: '/data', screeningQuestions: [{ id: 'pregnant' }] });
    expect(view).toMatchObject({ defaultCeiling: 0.6, emsDefaultCeiling: 0.4, motorBlocked: false, dataDir: '/data' });
    expect(toSettingsView({ ...settings, screening: { heart: true } }, { dataDir: '/d', screeningQuestions: [] }).motorBlocked).toBe(true);
  });
});
