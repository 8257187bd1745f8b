/**
 * The draft editor (issue 17, item 4): a profile draft starts from the table the lab
 * discovered, is checked as the user types (each problem with its field path and line),
 * and is tried on the device under the governor: stop check first, the 30% default
 * ceiling, every write through the governor. Demo mode's Nodo Mini is the device.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { checkDraft, draftId } from '../../../electron/core/draft';
import type { DeviceStatusEvent, DraftCheck, DraftTemplate, LabView, ScanResults } from '../../../electron/ipc/contract';
import { NODO_NOTIFY, NODO_SERVICE, NODO_WRITE } from '../../../protocols/sim/nodo-mini';
import { ALL_NO, sleep, startCore, until, type CoreHarness } from '../helpers/core-harness';
import { NODO, dataDirWith } from './support';

const BUILT_INS = ['theragun', 'jieli-ems', 'rongtai'];
const MANUAL = { muscleGroup: 'upper-back', plannedMotorSeconds: 60 };

let h: CoreHarness | null = null;
afterEach(async () => {
  await h?.core.shutdown();
  h = null;
});

/** A ready core (screening answered) with the lab on the Nodo Mini. */
async function labOnNodo(dataDir?: string): Promise<{ c: CoreHarness; id: string }> {
  const c = await startCore(dataDir);
  h = c;
  await c.ok('screening.set', { answers: ALL_NO });
  await c.ok('settings.set', { doctorNoticeAcknowledged: true });
  const id = await c.find(/^Nodo Mini$/);
  await c.ok<LabView>('lab.connect', { peripheralId: id });
  return { c, id };
}

/** The bytes the simulated cushion received, as spaced uppercase hex, in order. */
function wire(c: CoreHarness, id: string): string[] {
  return c.core
    .simRadio()!
    .writes(id)
    .map((w) => Array.from(w.bytes, (b) => b.toString(16).padStart(2, '0').toUpperCase()).join(' '));
}

describe('draftId', () => {
  it('is a valid profile id from the name, never a built-in one', () => {
    expect(draftId('Nodo Mini', BUILT_INS)).toBe('nodo-mini');
    expect(draftId('  ÄÖ  ', BUILT_INS)).toBe('my-device');
    expect(draftId(undefined, BUILT_INS)).toBe('my-device');
    expect(draftId('Theragun', BUILT_INS)).toBe('theragun-draft');
    expect(draftId('x'.repeat(80), BUILT_INS)).toMatch(/^[a-z0-9][a-z0-9-]{1,40}$/);
  });
});

describe('checkDraft', () => {
  it('points each problem at its line: a JSON syntax error, a schema error, a missing stop, a built-in id', () => {
    const broken = NODO.replace('"writeGapMs": 60,', '"writeGapMs": 60');
    const syntax = checkDraft(broken, BUILT_INS).check;
    expect(syntax.ok).toBe(false);
    expect(syntax.errors).toHaveLength(1);
    expect(syntax.errors[0]).toMatchObject({ path: '(file)', message: expect.stringMatching(/not valid JSON/) });
    // the parser stops at the next key, on the line after the missing comma
    const line = NODO.split('\n').findIndex((l) => l.includes('"writeGapMs"')) + 1;
    expect(syntax.errors[0]!.line).toBe(line + 1);

    const zeroSteps = checkDraft(NODO.replace('"steps": 10', '"steps": 0'), BUILT_INS).check;
    const stepsLine = NODO.split('\n').findIndex((l) => l.includes('"steps": 10')) + 1;
    expect(zeroSteps.errors).toEqual([expect.objectContaining({ path: 'capabilities.steps', line: stepsLine })]);

    const noStop = JSON.parse(NODO) as { commands: Record<string, unknown> };
    delete noStop.commands.stop;
    const noStopCheck = checkDraft(JSON.stringify(noStop, null, 2), BUILT_INS).check;
    expect(noStopCheck.errors.map((e) => e.path)).toContain('commands.stop');
    // the missing key points at its parent object
    expect(noStopCheck.errors.find((e) => e.path === 'commands.stop')!.line).toBe(
      JSON.stringify(noStop, null, 2).split('\n').findIndex((l) => l.includes('"commands"')) + 1,
    );

    const builtIn = checkDraft(NODO.replace('"id": "nodo-mini"', '"id": "theragun"'), BUILT_INS).check;
    expect(builtIn.errors).toEqual([expect.objectContaining({ path: 'id', message: expect.stringMatching(/built-in/) })]);

    const good = checkDraft(NODO, BUILT_INS).check;
    expect(good).toMatchObject({ ok: true, errors: [], profile: { id: 'nodo-mini', kind: 'cushion', steps: 10 } });
    // the fixture reports its level as the step and proves its stops: nothing left unguarded
    expect(good.warnings).toBeUndefined();
  });

  it('warns of what a valid draft leaves unguarded: a scaled step, no level report, no stop proof', () => {
    const scaled = JSON.parse(NODO) as { frames: Record<string, unknown[]>; status?: unknown; stopProof?: unknown };
    scaled.frames.level = [{ const: '01 01' }, { value: 'step', scale: 10 }];
    delete scaled.status;
    delete scaled.stopProof;
    const check = checkDraft(JSON.stringify(scaled), BUILT_INS).check;
    expect(check.ok).toBe(true);
    expect(check.warnings!.map((w) => w.path)).toEqual(['frames.level.1', 'status.rules', 'stopProof']);
  });
});

describe('the draft editor', () => {
  it('starts from the discovered table, checks as the user types, and identifies the lab device — without a write', async () => {
    const { c, id } = await labOnNodo();
    const template = await c.ok<DraftTemplate>('draft.template');
    expect(template.fileName).toBe('nodo-mini.json');
    const draft = JSON.parse(template.text) as { gatt: { variants: unknown[] }; identify: unknown[]; commands: { stop: unknown } };
    expect(draft.gatt.variants).toEqual([{ service: NODO_SERVICE, write: NODO_WRITE, notify: NODO_NOTIFY, writeType: 'prefer-with-response' }]);
    expect(draft.identify).toEqual([{ confidence: 'candidate', name: { exact: ['Nodo Mini'] } }]);
    expect(draft.commands.stop).toEqual([[{ frame: 'level', values: { step: 0 } }]]);
    const check = await c.ok<DraftCheck>('draft.check', { text: template.text });
    expect(check).toMatchObject({ ok: true, identifiesLabDevice: true, profile: { id: 'nodo-mini' } });
    const other = await c.ok<DraftCheck>('draft.check', { text: template.text.replace('"Nodo Mini"', '"Someone Else"') });
    expect(other).toMatchObject({ ok: true, identifiesLabDevice: false });
    const typing = await c.ok<DraftCheck>('draft.check', { text: template.text.slice(0, 200) });
    expect(typing.ok).toBe(false);
    expect(typing.errors[0]!.line).toBeGreaterThan(1);
    // nothing was tried: the draft is no protocol, and the device got no byte
    const scan = await c.ok<ScanResults>('device.list');
    expect(scan.devices.find((d) => d.peripheralId === id)!.candidates).toEqual([]);
    expect(c.core.simRadio()!.writes(id)).toEqual([]);
  }, 30_000);

  it('the template needs the lab to have explored a device', async () => {
    const c = await startCore();
    h = c;
    expect(await c.call('draft.template')).toMatchObject({ ok: false, error: { code: 'not-connected' } });
  }, 30_000);

  it('a try runs under the governor: stop check first, steps within the 30% ceiling, the stop last; an edit needs the check again', async () => {
    const { c, id } = await labOnNodo();
    const tried = await c.ok<DeviceStatusEvent>('draft.try', { text: NODO, peripheralId: id });
    expect(tried).toMatchObject({ connection: 'connected', protocolId: 'nodo-mini', userProfile: { draft: true }, stopCheck: 'needed', ceiling: 0.3 });
    // a user's bytes are unproven: the connection's first write is the draft's stop
    expect(wire(c, id)[0]).toBe('55 01 01 00 57');
    // the lab gave the device up to the massager connection
    expect((await c.ok<LabView>('lab.get')).state).toBe('disconnected');
    expect(await c.call('session.start', MANUAL)).toMatchObject({ ok: false, error: { code: 'stop-check-needed' } });
    await c.ok('stopCheck.run', { muscleGroup: 'upper-back' });
    expect((await c.ok<DeviceStatusEvent>('stopCheck.answer', { stopped: true })).stopCheck).toBe('passed');

    const start = await c.ok<{ sessionId: string }>('session.start', MANUAL);
    // the user asks for the whole range; the governor holds it at 3 of 10
    await c.ok('session.setStep', { sessionId: start.sessionId, intensity: 1 });
    const sim = c.core.simRadio()!.peripheral(id)!;
    await until(() => Number(sim.state().level) === 3, 15_000, 'level 3');
    await sleep(600);
    await c.ok('session.heartbeat', { sessionId: start.sessionId });
    await c.ok('session.end', { sessionId: start.sessionId });
    await until(() => sim.state().running === false, 5000, 'the cushion stopped');
    const frames = wire(c, id).filter((f) => f.startsWith('55 01 01'));
    const levels = frames.map((f) => parseInt(f.split(' ')[3]!, 16));
    expect(Math.max(...levels)).toBe(3);
    // the exact stop frame, last: 55 01 01 00 and its sum
    expect(frames[frames.length - 1]).toBe('55 01 01 00 57');

    // an edit is another version: the check is needed again before any motor use
    const edited = NODO.replace('Nodo Mini cushion', 'Nodo Mini cushion (edited)');
    const again = await c.ok<DeviceStatusEvent>('draft.try', { text: edited, peripheralId: id });
    expect(again).toMatchObject({ protocolId: 'nodo-mini', stopCheck: 'needed' });
    expect(again.userProfile!.version).not.toBe(tried.userProfile!.version);
    expect(await c.call('session.start', MANUAL)).toMatchObject({ ok: false, error: { code: 'stop-check-needed' } });

    // ending the try disconnects and forgets the draft: the device is unknown again, not an "unknown protocol"
    const ended = await c.ok<DeviceStatusEvent>('draft.end');
    expect(ended.connection).toBe('disconnected');
    expect(await c.call('device.connect', { peripheralId: id })).toMatchObject({ ok: false, error: { code: 'refused', message: expect.stringMatching(/does not know/) } });
    const scan = await c.ok<ScanResults>('device.list');
    expect(scan.devices.find((d) => d.peripheralId === id)).not.toHaveProperty('rememberedProtocolId');
  }, 60_000);

  it('a draft that declares no status cannot confirm its stop: the status says so, and the stop is the last write', async () => {
    const { c, id } = await labOnNodo();
    const template = await c.ok<DraftTemplate>('draft.template');
    await c.ok('draft.try', { text: template.text, peripheralId: id });
    await c.ok('stopCheck.run', { muscleGroup: 'upper-back' });
    const status = await c.ok<DeviceStatusEvent>('device.get');
    expect(status.stop).toMatchObject({ state: 'cannot-confirm' });
    // the template's frames are the bare step byte: step 1, then the stop's 0 (the cushion ignores both)
    const bytes = wire(c, id);
    expect(bytes).toContain('01');
    expect(bytes[bytes.length - 1]).toBe('00');
    expect(Math.max(...bytes.map((b) => parseInt(b, 16)))).toBe(1);
  }, 30_000);

  it("a draft's own frames (start-up, keepalive, status requests) reach the device only after its stop check, keepalives only while a step runs", async () => {
    const { c, id } = await labOnNodo();
    // a hostile draft: its start-up, keepalive and status request are all "level 10" (55 01 01 0A 61)
    const hostile = JSON.parse(NODO) as { frames: Record<string, unknown>; commands: Record<string, unknown> };
    hostile.frames.go = [{ const: '01 01 0A' }];
    hostile.commands.init = [{ frame: 'go' }];
    hostile.commands.keepalive = { intervalMs: 300, send: [{ frame: 'go' }] };
    hostile.commands.queryStatus = [{ frame: 'go' }];
    const GO = '55 01 01 0A 61';
    const sim = c.core.simRadio()!.peripheral(id)!;
    let highest = 0;
    const off = c.core.simRadio()!.onWrite(() => (highest = Math.max(highest, Number(sim.state().level))));
    try {
      const status = await c.ok<DeviceStatusEvent>('draft.try', { text: JSON.stringify(hostile, null, 2), peripheralId: id });
      expect(status.stopCheck).toBe('needed');
      await sleep(2500);
      await c.ok('device.stop');
      await sleep(2000);
      // nothing but the stops before the check: no start-up, keepalive or status request
      expect(wire(c, id).filter((f) => f === GO)).toEqual([]);
      expect(highest).toBe(0);
      expect(Number(sim.state().level)).toBe(0);
    } finally {
      off();
    }
  }, 30_000);

  it('a keepalive is written only while a step runs: none before the first step, none after the stop', async () => {
    const { c, id } = await labOnNodo();
    const draft = JSON.parse(NODO) as { frames: Record<string, unknown>; commands: Record<string, unknown> };
    draft.frames.ka = [{ const: '09' }];
    draft.commands.keepalive = { intervalMs: 200, send: [{ frame: 'ka' }] };
    const KA = '55 09 5E';
    await c.ok('draft.try', { text: JSON.stringify(draft), peripheralId: id });
    await c.ok('stopCheck.run', { muscleGroup: 'upper-back' });
    await c.ok('stopCheck.answer', { stopped: true });
    await sleep(1000);
    const idle = wire(c, id).filter((f) => f === KA).length;
    const start = await c.ok<{ sessionId: string }>('session.start', MANUAL);
    await c.ok('session.setStep', { sessionId: start.sessionId, intensity: 0.2 });
    await sleep(1500);
    await c.ok('session.heartbeat', { sessionId: start.sessionId });
    const running = wire(c, id).filter((f) => f === KA).length - idle;
    await c.ok('session.end', { sessionId: start.sessionId });
    await sleep(300);
    const atEnd = wire(c, id).filter((f) => f === KA).length;
    await sleep(1500);
    // keepalives during the session (the check's own 2 s run may have had some), none while idle or after the end
    expect(running).toBeGreaterThanOrEqual(3);
    expect(wire(c, id).filter((f) => f === KA).length).toBe(atEnd);
    const all = wire(c, id);
    const lastStop = all.lastIndexOf('55 01 01 00 57');
    expect(all.slice(lastStop + 1).filter((f) => f === KA)).toEqual([]);
  }, 30_000);

  it('refuses a broken draft, a draft while a session runs, and a device out of range', async () => {
    const dir = dataDirWith({ 'nodo-mini.json': NODO });
    const { c, id } = await labOnNodo(dir);
    expect(await c.call('draft.try', { text: '{', peripheralId: id })).toMatchObject({ ok: false, error: { code: 'refused', message: expect.stringMatching(/problem/) } });
    expect(await c.call('draft.try', { text: NODO, peripheralId: 'sim-nowhere' })).toMatchObject({ ok: false, error: { code: 'refused', message: expect.stringMatching(/range/) } });
    // the user's saved profile runs a session: no draft may take the device from it
    await c.ok('device.connect', { peripheralId: id });
    await c.ok('stopCheck.run', { muscleGroup: 'neck' });
    await c.ok('stopCheck.answer', { stopped: true });
    await c.ok('session.start', MANUAL);
    expect(await c.call('draft.try', { text: NODO, peripheralId: id })).toMatchObject({ ok: false, error: { code: 'refused', message: expect.stringMatching(/session/) } });
    expect((await c.ok<DeviceStatusEvent>('device.get')).userProfile).toEqual({ file: 'nodo-mini.json', version: expect.any(String) });
  }, 30_000);
});
