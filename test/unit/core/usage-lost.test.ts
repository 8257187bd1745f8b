/**
 * Issue 13, 3c: deleting `usage.json` (or its moved-aside corrupt copy) while Unknot is
 * stopped gives no fresh budget. The settings note that a usage log is kept; a folder
 * whose settings say so and whose log is gone is treated like one with a corrupt log:
 * the user is told why, and the motor stays off for the rest of the day — across
 * restarts. Real core, simulated gun, the store in a temporary folder.
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Reply, SessionStartResult } from '../../../electron/ipc/contract';
import type { StoreNotice } from '../../../electron/store/json-file';
import { ALL_NO, sleep, startCore, until, type CoreHarness } from '../helpers/core-harness';

let h: CoreHarness | null = null;
afterEach(async () => {
  await h?.core.shutdown();
  h = null;
});

const rpm = (): number => Number(h!.core.simRadio()!.peripheral('sim-theragun-pro')!.state().rpm);
const notices = (): StoreNotice[] => h!.events.filter((e) => e.event === 'store.notice').map((e) => e.payload as StoreNotice);

async function boot(dir: string): Promise<void> {
  h = await startCore(dir);
  const id = await h.find(/^Pro$/);
  await h.ok('device.connect', { peripheralId: id });
  await h.ok('screening.set', { answers: ALL_NO });
  await h.ok('settings.set', { doctorNoticeAcknowledged: true });
}

/** Runs the gun for about a second on the neck and ends the session. */
async function shortSession(): Promise<void> {
  const s = await h!.ok<SessionStartResult>('session.start', { muscleGroup: 'neck', plannedMotorSeconds: 120 });
  const hb = setInterval(() => void h!.call('session.heartbeat', { sessionId: s.sessionId }), 400);
  try {
    await h!.ok('session.setStep', { sessionId: s.sessionId, intensity: 0.3 });
    await until(() => rpm() > 0, 5000, 'the gun runs');
    await sleep(1000);
    await h!.ok('session.end', { sessionId: s.sessionId });
  } finally {
    clearInterval(hb);
  }
}

const start = (group = 'shoulders'): Promise<Reply> => h!.call('session.start', { muscleGroup: group, plannedMotorSeconds: 120 });

describe('a deleted usage log (issue 13, 3c)', () => {
  it('deleting usage.json while Unknot is stopped: told why, motor off for the day, across a restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'unknot-lost-'));
    await boot(dir);
    await shortSession();
    await h!.core.shutdown();
    h = null;
    expect(JSON.parse(readFileSync(join(dir, 'settings.json'), 'utf8')).usageLogKept).toBe(true);

    rmSync(join(dir, 'usage.json'));
    await boot(dir);
    const told = notices().find((n) => n.file === 'usage.json' && n.kind === 'reset');
    expect(told).toMatchObject({ reason: 'missing' });
    expect(told!.message).toMatch(/missing/);
    expect(told!.message).toMatch(/motor stays off until midnight/);
    expect(await start()).toMatchObject({ ok: false, error: { code: 'budget-exhausted' } });
    const today = await h!.ok<{ remainingSeconds: number }[]>('usage.today');
    expect(today.map((b) => b.remainingSeconds)).toEqual([0, 0, 0, 0, 0]);
    expect(rpm()).toBe(0);
    // the unknown day is on disk at once: a restart does not clear it
    expect(existsSync(join(dir, 'usage.json'))).toBe(true);
    await h!.core.shutdown();
    h = null;
    await boot(dir);
    expect(notices().some((n) => n.file === 'usage.json' && /motor stays off until midnight/.test(n.message))).toBe(true);
    expect(await start('lower-back')).toMatchObject({ ok: false, error: { code: 'budget-exhausted' } });
  });

  it('deleting the corrupt copy and the log after a corrupt reset gives no fresh budget either', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'unknot-lost-'));
    await boot(dir);
    await shortSession();
    await h!.core.shutdown();
    h = null;
    writeFileSync(join(dir, 'usage.json'), '{"version":2,"sessions":[{"id":');
    await boot(dir);
    expect(await start()).toMatchObject({ ok: false, error: { code: 'budget-exhausted' } });
    await h!.core.shutdown();
    h = null;
    for (const f of readdirSync(dir)) if (f.startsWith('usage.json')) rmSync(join(dir, f));
    await boot(dir);
    expect(notices().some((n) => n.file === 'usage.json' && n.reason === 'missing')).toBe(true);
    expect(await start()).toMatchObject({ ok: false, error: { code: 'budget-exhausted' } });
  });

  it('a fresh data folder (or one deleted whole) starts with a fresh budget', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'unknot-lost-'));
    await boot(dir);
    await shortSession();
    await h!.core.shutdown();
    h = null;
    rmSync(dir, { recursive: true, force: true });
    await boot(dir);
    expect(notices().filter((n) => n.file === 'usage.json')).toEqual([]);
    const s = await start();
    expect(s).toMatchObject({ ok: true });
    await h!.ok('session.end', { sessionId: (s as { result: SessionStartResult }).result.sessionId });
  });
});
