/**
 * The rules table said once (issue 15, part 2), as main applies and sends it: the
 * `device.status` event and the settings view carry the rules of the connected device
 * (an EMS pad: 40% default ceiling, never the neck, its own questions; a massage gun: 60%,
 * every area, the general questions), the general ones without a device; the contract's
 * settings bounds are the table's ("switched off by hand" is the protocol session's to say:
 * test/unit/protocols/off-by-hand.test.ts). And
 * the core passes its clock to the device link: a link's reconnect waits on that clock.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createCore, type AppCore } from '../../../electron/core/app-core';
import { SettingsPatch, type DeviceStatusEvent, type EventChannel, type Reply, type ScanResults, type SettingsView } from '../../../electron/ipc/contract';
import { LIMITS, rulesFor } from '../../../electron/safety/rules';
import { ALL_NO, startCore, until, type CoreHarness } from '../helpers/core-harness';
import { FakeClock } from '../helpers/fake-clock';

let h: CoreHarness | null = null;
let core: AppCore | null = null;
let clock: FakeClock | null = null;
afterEach(async () => {
  await h?.core.shutdown();
  // the link's waits for a stop's proof run on the fake clock: keep it moving
  const tick = setInterval(() => clock?.advance(50), 5);
  try {
    await core?.shutdown();
  } finally {
    clearInterval(tick);
  }
  h = null;
  core = null;
  clock = null;
});

const lastStatus = (events: CoreHarness['events']): DeviceStatusEvent | undefined =>
  [...events].reverse().find((e) => e.event === 'device.status')?.payload as DeviceStatusEvent | undefined;

describe('main sends the rules of the connected device', () => {
  it('an EMS pad: 40% default, no neck, its own questions; a gun: 60%, every area; none: the general rules', async () => {
    h = await startCore();
    await h.ok('screening.set', { answers: ALL_NO });
    const general = await h.ok<SettingsView>('settings.get');
    expect(general.rules).toEqual(rulesFor(undefined));
    expect(general.rules).toMatchObject({ defaultCeiling: 0.6, minGrantSeconds: 60, excludedGroups: [] });
    expect(general.rules.kind).toBeUndefined();
    expect(general.rules.sessionCapSeconds.max).toBe(300);
    expect(general.rules.dailyBudgetSeconds.max).toBe(360);
    expect(general.rules.screeningQuestions.map((q) => q.id)).toEqual(['pregnant', 'heart-condition', 'high-blood-pressure']);

    const pad = await h.find(/^hy\d/);
    const connected = await h.ok<DeviceStatusEvent>('device.connect', { peripheralId: pad });
    expect(connected.rules).toMatchObject({ kind: 'ems', defaultCeiling: 0.4, excludedGroups: ['neck'], minGrantSeconds: 60 });
    expect(connected.rules!.screeningQuestions.map((q) => q.id)).toEqual(['pregnant', 'heart-condition', 'high-blood-pressure', 'implant', 'epilepsy']);
    expect(connected.ceiling).toBe(0.4);
    expect(lastStatus(h.events)?.rules).toEqual(connected.rules);
    expect((await h.ok<SettingsView>('settings.get')).rules).toEqual(connected.rules);
    // the neck is refused for the pad in main, whatever the renderer shows
    await h.ok('settings.set', { doctorNoticeAcknowledged: true });
    expect(await h.call('session.start', { muscleGroup: 'neck', plannedMotorSeconds: 120 })).toMatchObject({ ok: false, error: { code: 'refused' } });

    const gun = await h.find(/^Pro$/);
    const g = await h.ok<DeviceStatusEvent>('device.connect', { peripheralId: gun });
    expect(g.rules).toMatchObject({ kind: 'percussive', defaultCeiling: 0.6, excludedGroups: [] });
    expect(g.rules!.handOff).toBe(g.handOff);
    expect((await h.ok<SettingsView>('settings.get')).rules).toEqual(g.rules);
    await h.ok('device.disconnect');
    expect(lastStatus(h.events)).toEqual({ connection: 'disconnected' });
    expect((await h.ok<SettingsView>('settings.get')).rules).toEqual(general.rules);
  });

  it('the contract refuses exactly the settings outside the table\'s bounds', () => {
    const { sessionCapSeconds: cap, dailyBudgetSeconds: budget, ceiling } = LIMITS;
    const ok = (p: unknown): boolean => SettingsPatch.safeParse(p).success;
    expect([ok({ sessionCapSeconds: cap.min }), ok({ sessionCapSeconds: cap.max }), ok({ sessionCapSeconds: cap.min - 1 }), ok({ sessionCapSeconds: cap.max + 1 })]).toEqual([true, true, false, false]);
    expect([ok({ dailyBudgetSeconds: budget.min }), ok({ dailyBudgetSeconds: budget.max }), ok({ dailyBudgetSeconds: budget.min - 1 }), ok({ dailyBudgetSeconds: budget.max + 1 })]).toEqual([true, true, false, false]);
    expect([ok({ ceilings: { x: ceiling.min } }), ok({ ceilings: { x: ceiling.max } }), ok({ ceilings: { x: ceiling.min - 0.01 } }), ok({ ceilings: { x: ceiling.max + 0.01 } })]).toEqual([true, true, false, false]);
  });
});

describe('the core passes its clock to the link', () => {
  it('a dropped link reconnects when the core\'s clock reaches the retry, not on real time', async () => {
    clock = new FakeClock();
    const c = clock;
    core = await createCore({
      dataDir: mkdtempSync(join(tmpdir(), 'unknot-rules-')),
      demo: true,
      timeScale: 1,
      host: 'browser',
      version: 'test',
      clock,
      reconnect: { initialDelayMs: 200, maxDelayMs: 200 },
    });
    const events: { event: EventChannel; payload: unknown }[] = [];
    core.attach({ id: 'ws:1', kind: 'ws', send: (event, payload) => events.push({ event, payload }) });
    const call = (channel: string, payload?: unknown): Promise<Reply> => core!.handle('ws:1', channel, payload);
    await call('scan.start');
    const gun = await until(() => ([...events].reverse().find((e) => e.event === 'scan.results')?.payload as ScanResults | undefined)?.devices.find((d) => d.name === 'Pro')?.peripheralId);
    // connecting needs GATT round trips only: the clock moves along while it runs
    const connecting = call('device.connect', { peripheralId: gun });
    const ticking = setInterval(() => c.advance(5), 2);
    const r = await connecting;
    clearInterval(ticking);
    expect(r.ok).toBe(true);
    core.simRadio()!.inject(gun, 'drop-link');
    await until(() => lastStatus(events)?.connection === 'reconnecting', 3000, 'the link drops');
    // 600 ms of real time, three retry delays: without the core's clock moving, no retry
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(lastStatus(events)?.connection).toBe('reconnecting');
    const tick = setInterval(() => c.advance(50), 5);
    try {
      await until(() => lastStatus(events)?.connection === 'connected', 5000, 'reconnected once the clock moves');
    } finally {
      clearInterval(tick);
    }
  });
});
