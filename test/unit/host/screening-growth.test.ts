/**
 * F8 of the second adversarial pass: `screening.set` took any answer key and merged it
 * into settings.json, so a page could grow the file without bound (to 10 MB: every
 * `settings.get` reply then passed the 8 MB drop limit and the page was cut off on every
 * load, across restarts). What must hold, on the built host process (`npm run build`
 * first): an answer to a question the app does not ask is refused and nothing of it
 * reaches the disk; a settings file that already grew loads with the unknown entries
 * dropped, the real answers kept, the file shrunk on disk, and a notice that says so.
 */
import { readFileSync, statSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SCREENING_QUESTION_IDS } from '../../../electron/ipc/contract';
import { allQuestions } from '../../../electron/safety/rules';
import { ALL_NO } from '../helpers/core-harness';
import { startHostProcess, type HostProcess } from '../helpers/host-process';
import { HostClient } from '../helpers/ws-client';

const started: HostProcess[] = [];
afterEach(() => {
  for (const h of started.splice(0)) {
    try {
      process.kill(h.hostPid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
});

describe('screening answers are the app’s own questions only', () => {
  it('the contract knows exactly the questions the rules ask', () => {
    expect([...SCREENING_QUESTION_IDS].sort()).toEqual(allQuestions().map((q) => q.id).sort());
  });

  it('screening.set with a key that is no question is refused, and settings.json does not grow', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'unknot-f8-'));
    const h = await startHostProcess({ dataDir });
    started.push(h);
    const client = await HostClient.open(h.port, h.token);
    await client.ok('screening.set', { answers: ALL_NO });
    const file = join(dataDir, 'settings.json');
    const before = readFileSync(file, 'utf8');
    // what the attack sent: 800 fresh 58-character keys (about 54 KB, under the message limit)
    const answers: Record<string, boolean> = {};
    for (let i = 0; i < 800; i++) answers[`q0-${i}-`.padEnd(58, 'x')] = false;
    const refused = await client.request('screening.set', { answers });
    expect(refused).toMatchObject({ ok: false, error: { code: 'invalid-payload' } });
    // one unknown key next to a known one: refused as a whole, the known answer unchanged
    expect(await client.request('screening.set', { answers: { pregnant: true, 'not-a-question': false } })).toMatchObject({ ok: false });
    expect(readFileSync(file, 'utf8')).toBe(before);
    const view = await client.ok<{ screening: Record<string, boolean> }>('settings.get');
    expect(view.screening).toEqual(ALL_NO);
    // a known question is still answered as before
    const changed = await client.ok<{ screening: Record<string, boolean>; motorBlocked: boolean }>('screening.set', { answers: { epilepsy: true } });
    expect(changed.screening).toEqual({ ...ALL_NO, epilepsy: true });
    expect(JSON.parse(readFileSync(file, 'utf8')).screening).toEqual({ ...ALL_NO, epilepsy: true });
    client.close();
  }, 30_000);

  it('a settings.json already grown to 10 MB loads with only the known answers: the page gets a small reply, the file shrinks, a notice says so', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'unknot-f8-'));
    const file = join(dataDir, 'settings.json');
    const screening: Record<string, boolean> = { pregnant: false, 'heart-condition': false, 'high-blood-pressure': false };
    for (let i = 0; i < 170_000; i++) screening[`q${i}-`.padEnd(58, 'x')] = false;
    writeFileSync(file, JSON.stringify({ version: 1, sessionCapSeconds: 240, theme: 'dark', doctorNoticeAcknowledged: true, screening }));
    expect(statSync(file).size).toBeGreaterThan(10_000_000);

    const h = await startHostProcess({ dataDir });
    started.push(h);
    const client = await HostClient.open(h.port, h.token);
    const id = client.fire('settings.get');
    const reply = await client.reply(id);
    expect(reply.ok).toBe(true);
    expect(JSON.stringify(reply).length).toBeLessThan(100_000);
    const view = reply.result as { screening: Record<string, boolean>; sessionCapSeconds: number; theme: string; doctorNoticeAcknowledged: boolean };
    expect(view.screening).toEqual({ pregnant: false, 'heart-condition': false, 'high-blood-pressure': false });
    expect(view).toMatchObject({ sessionCapSeconds: 240, theme: 'dark', doctorNoticeAcknowledged: true });
    // the corrected file is on disk, small, with the same answers
    expect(statSync(file).size).toBeLessThan(10_000);
    expect(JSON.parse(readFileSync(file, 'utf8')).screening).toEqual(view.screening);
    const notice = client.events.find((e) => e.event === 'store.notice')?.payload as { kind: string; file: string; message: string } | undefined;
    expect(notice).toMatchObject({ kind: 'adjusted', file: 'settings.json' });
    expect(notice!.message).toMatch(/170000 screening entries .* removed/);
    expect(notice!.message).toMatch(/answers to its own questions are kept/);
    client.close();
  }, 60_000);
});
