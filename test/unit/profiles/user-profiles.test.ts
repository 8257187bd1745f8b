/**
 * User profiles (issue 17, part 1): files in the data folder's `profiles/`, checked on load,
 * a broken one refused whole with its field errors and named, the others unaffected; a
 * device on a user profile is marked, runs at the 30% default ceiling with the slowest
 * ramp, and an EMS one gets every EMS rule. Demo mode's Nodo Mini is the device.
 */
import { copyFileSync, existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { DeviceStatusEvent, ProfileImportResult, ProfilesView, ScanResults, SessionStartResult } from '../../../electron/ipc/contract';
import { MAX_PROFILE_TEXT } from '../../../electron/ipc/contract';
import { MAX_PROFILES_BYTES, MAX_PROFILE_FILES } from '../../../electron/store/user-profiles';
import { KIND_RULES, SLOWEST_RAMP_PER_SECOND, rampFor, rulesFor } from '../../../electron/safety/rules';
import { ALL_NO, startCore, until, type CoreHarness } from '../helpers/core-harness';
import { FIXTURES, NODO, dataDirWith } from './support';

const BROKEN = readFileSync(join(FIXTURES, 'broken-cushion.json'), 'utf8');

let h: CoreHarness | null = null;
afterEach(async () => {
  await h?.core.shutdown();
  h = null;
});

async function scanEntry(c: CoreHarness, name: RegExp): Promise<ScanResults['devices'][number]> {
  const id = await c.find(name);
  const list = await c.ok<ScanResults>('device.list');
  return list.devices.find((d) => d.peripheralId === id)!;
}

describe('user profiles on disk', () => {
  it('accepts a valid file, refuses a broken one whole with each field path and reason, and names it', async () => {
    const clash = NODO.replace('"id": "nodo-mini"', '"id": "theragun"');
    h = await startCore(dataDirWith({ 'nodo-mini.json': NODO, 'broken-cushion.json': BROKEN, 'clash.json': clash, 'notes.txt': 'not a profile', 'garbage.json': '{ "format": 1,' }));
    const view = await h.ok<ProfilesView>('profiles.list');
    expect(view.files.map((f) => f.file)).toEqual(['broken-cushion.json', 'clash.json', 'garbage.json', 'nodo-mini.json']);
    const [broken, clashed, garbage, nodo] = view.files;
    expect(nodo).toMatchObject({ ok: true, id: 'nodo-mini', kind: 'cushion', version: expect.stringMatching(/^[0-9a-f]{16}$/) });
    expect(broken!.ok).toBe(false);
    const paths = broken!.ok ? [] : broken!.errors.map((e) => e.path);
    // every mistake of the file, each at its field
    expect(paths).toEqual(expect.arrayContaining(['id', 'kind', 'writeGapMs', 'gatt.variants.0.service', 'commands.stop']));
    const stop = broken!.ok ? undefined : broken!.errors.find((e) => e.path === 'commands.stop');
    expect(stop?.message).toMatch(/stop/);
    expect(clashed).toMatchObject({ ok: false, errors: [{ path: 'id', message: expect.stringMatching(/built-in/) }] });
    expect(garbage).toMatchObject({ ok: false, errors: [{ path: '(file)', message: expect.stringMatching(/JSON/) }] });
    // nothing else is affected: the built-in gun is still known, the valid file is used
    expect((await scanEntry(h, /^Pro$/)).candidates.map((c) => c.protocolId)).toEqual(['theragun']);
    const entry = await scanEntry(h, /^Nodo Mini$/);
    expect(entry.candidates).toEqual([
      expect.objectContaining({ protocolId: 'nodo-mini', confidence: 'strong', userProfile: { file: 'nodo-mini.json', version: nodo!.ok ? nodo!.version : '' } }),
    ]);
  });

  it('without a profile the Nodo Mini is unknown; dropped in and reloaded, it is a supported device', async () => {
    const dir = dataDirWith({});
    h = await startCore(dir);
    const before = await scanEntry(h, /^Nodo Mini$/);
    expect(before.candidates).toEqual([]);
    // the lab's view of an unknown device: listed with its RSSI, advertised service and manufacturer data in hex
    expect(before.rssi).toBeLessThan(0);
    expect(before.advertisement).toEqual({ serviceUuids: ['4e4f00010000100080004e4f444f0001'], manufacturerData: 'ffff4e4d01' });
    expect(await h.call('device.connect', { peripheralId: before.peripheralId })).toMatchObject({ ok: false, error: { code: 'refused' } });
    copyFileSync(join(FIXTURES, 'nodo-mini.json'), join(dir, 'profiles', 'nodo-mini.json'));
    const view = await h.ok<ProfilesView>('profiles.reload');
    expect(view.files).toEqual([expect.objectContaining({ file: 'nodo-mini.json', ok: true })]);
    expect(h.events.some((e) => e.event === 'profiles.changed')).toBe(true);
    const after = await scanEntry(h, /^Nodo Mini$/);
    expect(after.candidates.map((c) => c.protocolId)).toEqual(['nodo-mini']);
  });

  it('runs a user profile at the 30% default ceiling: the simulated device never receives more than level 3 of 10, and the ramp is the slowest', async () => {
    h = await startCore(dataDirWith({ 'nodo-mini.json': NODO }));
    await h.ok('screening.set', { answers: ALL_NO });
    await h.ok('settings.set', { doctorNoticeAcknowledged: true });
    const id = await h.find(/^Nodo Mini$/);
    const status = await h.ok<DeviceStatusEvent>('device.connect', { peripheralId: id });
    expect(status).toMatchObject({ protocolId: 'nodo-mini', userProfile: { file: 'nodo-mini.json' }, ceiling: 0.3, maxStep: 3 });
    expect(status.rules).toMatchObject({ userProfile: true, defaultCeiling: 0.3 });
    // its first motor use comes after the stop check (stop-check.test.ts)
    await h.ok('stopCheck.run', { muscleGroup: 'upper-back' });
    await h.ok('stopCheck.answer', { stopped: true });
    const radio = h.core.simRadio()!;
    const levels: { ms: number; level: number }[] = [];
    radio.onWrite(() => {
      const s = radio.peripheral('sim-nodo-mini')!.state();
      levels.push({ ms: performance.now(), level: Number(s.level) });
    });
    const started = performance.now();
    const session = await h.ok<SessionStartResult>('session.start', { muscleGroup: 'upper-back', plannedMotorSeconds: 60 });
    const beat = setInterval(() => void h?.call('session.heartbeat', { sessionId: session.sessionId }), 500);
    try {
      await h.ok('session.setStep', { sessionId: session.sessionId, intensity: 1 });
      await until(() => levels.some((l) => l.level === 3), 15_000, 'level 3 at the device');
    } finally {
      clearInterval(beat);
    }
    await h.ok('session.end', { sessionId: session.sessionId });
    expect(Math.max(...levels.map((l) => l.level))).toBe(3);
    // 0.1 of the range per second (the slowest kind's ramp): step = ceil(output × 10) reaches 3 after 2 s; a cushion's own 0.2/s would reach it after 1 s
    const firstAt3 = levels.find((l) => l.level === 3)!.ms - started;
    expect(firstAt3).toBeGreaterThan(1800);
  });

  it('an EMS user profile gets every EMS rule and the lower of the two default ceilings', async () => {
    const ems = NODO.replace('"id": "nodo-mini"', '"id": "nodo-ems"').replace('"kind": "cushion"', '"kind": "ems"');
    h = await startCore(dataDirWith({ 'nodo-ems.json': ems }));
    await h.ok('screening.set', { answers: { pregnant: false, 'heart-condition': false, 'high-blood-pressure': false } });
    await h.ok('settings.set', { doctorNoticeAcknowledged: true });
    const id = await h.find(/^Nodo Mini$/);
    const status = await h.ok<DeviceStatusEvent>('device.connect', { peripheralId: id });
    expect(status.rules).toMatchObject({ kind: 'ems', userProfile: true, defaultCeiling: 0.3, excludedGroups: ['neck'], handOff: KIND_RULES.ems.handOff });
    expect(status.rules!.screeningQuestions.map((q) => q.id)).toEqual(expect.arrayContaining(['implant', 'epilepsy']));
    // the EMS questions are unanswered: no start
    expect(await h.call('session.start', { muscleGroup: 'upper-back', plannedMotorSeconds: 60 })).toMatchObject({ ok: false, error: { code: 'blocked-by-screening' } });
    await h.ok('screening.set', { answers: ALL_NO });
    expect(await h.call('session.start', { muscleGroup: 'neck', plannedMotorSeconds: 60 })).toMatchObject({ ok: false, error: { code: 'refused' } });
  });

  it('imports a profile through the channel: a broken one is not saved and lists its errors, a valid one is saved and used', async () => {
    const dir = dataDirWith({});
    h = await startCore(dir);
    const bad = await h.ok<ProfileImportResult>('profiles.import', { fileName: 'C:\\Users\\me\\broken-cushion.json', text: BROKEN });
    expect(bad.result).toMatchObject({ file: 'broken-cushion.json', ok: false });
    expect(bad.result.ok ? [] : bad.result.errors.map((e) => e.path)).toContain('commands.stop');
    expect(existsSync(join(dir, 'profiles', 'broken-cushion.json'))).toBe(false);
    const good = await h.ok<ProfileImportResult>('profiles.import', { fileName: '../../nodo.json', text: NODO });
    expect(good.result).toMatchObject({ file: 'nodo.json', ok: true, id: 'nodo-mini' });
    expect(readFileSync(join(dir, 'profiles', 'nodo.json'), 'utf8')).toBe(NODO);
    expect((await scanEntry(h, /^Nodo Mini$/)).candidates.map((c) => c.protocolId)).toEqual(['nodo-mini']);
    // a second file with the same id is refused; replacing the same file is not
    const again = await h.ok<ProfileImportResult>('profiles.import', { fileName: 'other.json', text: NODO });
    expect(again.result).toMatchObject({ ok: false, errors: [{ path: 'id', message: expect.stringMatching(/nodo\.json/) }] });
    const replaced = await h.ok<ProfileImportResult>('profiles.import', { fileName: 'nodo.json', text: NODO.replace('Nodo Mini cushion', 'Nodo Mini (mine)') });
    expect(replaced.result).toMatchObject({ ok: true, name: 'Nodo Mini (mine)' });
    expect(replaced.result.ok && good.result.ok && replaced.result.version !== good.result.version).toBe(true);
  });

  /** The Nodo Mini's profile under another id (and name), padded with trailing spaces to `padTo` characters. */
  const nodoAs = (i: number, padTo = 0): string => {
    const text = NODO.replace('"nodo-mini"', `"nodo-${i}"`).replace('Nodo Mini cushion', `Cushion ${i}`);
    return text + ' '.repeat(Math.max(0, padTo - text.length));
  };

  it(`F7: an import past ${MAX_PROFILE_FILES} files or ${MAX_PROFILES_BYTES / (1024 * 1024)} MB in profiles/ is refused and writes nothing; replacing a file still works`, async () => {
    const dir = dataDirWith({});
    h = await startCore(dir);
    for (let i = 0; i < MAX_PROFILE_FILES; i++) {
      const r = await h.ok<ProfileImportResult>('profiles.import', { fileName: `p${i}.json`, text: nodoAs(i) });
      expect(r.result.ok).toBe(true);
    }
    const over = await h.call('profiles.import', { fileName: 'one-more.json', text: nodoAs(99) });
    expect(over).toMatchObject({ ok: false, error: { code: 'refused', message: expect.stringMatching(/at most 50/) } });
    expect(existsSync(join(dir, 'profiles', 'one-more.json'))).toBe(false);
    expect(readdirSync(join(dir, 'profiles')).filter((n) => n.endsWith('.json'))).toHaveLength(MAX_PROFILE_FILES);
    expect((await h.ok<ProfileImportResult>('profiles.import', { fileName: 'p3.json', text: nodoAs(3).replace('Cushion 3', 'Cushion three') })).result).toMatchObject({ ok: true, name: 'Cushion three' });

    // the total size: files of the largest size a profile may have
    const dir2 = dataDirWith({});
    await h.core.shutdown();
    h = await startCore(dir2);
    let refused: unknown = null;
    let saved = 0;
    for (let i = 0; i < MAX_PROFILE_FILES && !refused; i++) {
      const r = await h.call('profiles.import', { fileName: `big${i}.json`, text: nodoAs(i, MAX_PROFILE_TEXT) });
      if (r.ok) saved += 1;
      else refused = r;
    }
    expect(refused).toMatchObject({ ok: false, error: { code: 'refused', message: expect.stringMatching(/MB/) } });
    expect(saved).toBe(Math.floor(MAX_PROFILES_BYTES / MAX_PROFILE_TEXT));
    const total = readdirSync(join(dir2, 'profiles')).reduce((sum, n) => sum + statSync(join(dir2, 'profiles', n)).size, 0);
    expect(total).toBeLessThanOrEqual(MAX_PROFILES_BYTES);
  }, 120_000);

  it('F7: loading, the files past the caps are refused with the reason, unread; those before them are used', async () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < MAX_PROFILE_FILES + 10; i++) files[`p${String(i).padStart(3, '0')}.json`] = nodoAs(i);
    h = await startCore(dataDirWith(files));
    const view = await h.ok<ProfilesView>('profiles.list');
    expect(view.files).toHaveLength(MAX_PROFILE_FILES + 10);
    expect(view.files.slice(0, MAX_PROFILE_FILES).every((f) => f.ok)).toBe(true);
    for (const f of view.files.slice(MAX_PROFILE_FILES)) {
      expect(f).toMatchObject({ ok: false, errors: [{ path: '(file)', message: expect.stringMatching(/not read.*at most 50/) }] });
    }
    await h.core.shutdown();

    const big: Record<string, string> = {};
    for (let i = 0; i < 45; i++) big[`b${String(i).padStart(3, '0')}.json`] = nodoAs(i, MAX_PROFILE_TEXT);
    h = await startCore(dataDirWith(big));
    const fits = Math.floor(MAX_PROFILES_BYTES / MAX_PROFILE_TEXT);
    const view2 = await h.ok<ProfilesView>('profiles.list');
    expect(view2.files.filter((f) => f.ok)).toHaveLength(fits);
    expect(view2.files.slice(fits).every((f) => !f.ok && f.errors[0]!.message.includes('not read'))).toBe(true);
  }, 60_000);
});

describe('user-profile rules', () => {
  it('the slowest ramp until the ceiling is raised above 30%; every kind keeps its own otherwise', () => {
    expect(SLOWEST_RAMP_PER_SECOND).toBe(Math.min(...Object.values(KIND_RULES).map((r) => r.rampPerSecond)));
    expect(rampFor('percussive', { userProfile: true })).toBe(SLOWEST_RAMP_PER_SECOND);
    expect(rampFor('percussive', { userProfile: true }, 0.3)).toBe(SLOWEST_RAMP_PER_SECOND);
    expect(rampFor('percussive', { userProfile: true }, 0.5)).toBe(KIND_RULES.percussive.rampPerSecond);
    expect(rampFor('percussive')).toBe(KIND_RULES.percussive.rampPerSecond);
    expect(rulesFor('chair', { userProfile: true }).defaultCeiling).toBe(0.3);
    expect(rulesFor('chair').defaultCeiling).toBe(0.6);
  });
});
