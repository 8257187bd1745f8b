import { describe, expect, it, vi } from 'vitest';
import { EVENT_CHANNELS, REQUEST_CHANNELS, type RequestChannel } from '../../../electron/ipc/contract';
import { createIpcBridge, isAppUrl } from '../../../electron/main/ipc';
import { APP_ENTRY_URL, APP_ORIGIN } from '../../../electron/main/protocol';
import { FakeWebContents, fakeCore, fakeFrame, fakeIpcMain, type FakeFrame } from './fakes';

/** A valid payload for every channel, so a refusal can only come from the sender check. */
const VALID: Record<RequestChannel, unknown> = {
  'app.info': undefined,
  'adapter.get': {},
  'demo.enable': undefined,
  'scan.start': undefined,
  'scan.stop': undefined,
  'device.list': undefined,
  'device.get': undefined,
  'session.get': {},
  'device.connect': { peripheralId: 'p1' },
  'device.disconnect': undefined,
  'device.stop': undefined,
  'device.setHeat': { on: true },
  'device.confirmOff': undefined,
  'session.start': { muscleGroup: 'neck', plannedMotorSeconds: 180 },
  'session.heartbeat': { sessionId: 's1' },
  'session.setStep': { sessionId: 's1', intensity: 0.5, motion: 'circular' },
  'session.pause': { sessionId: 's1' },
  'session.resume': { sessionId: 's1' },
  'session.end': { sessionId: 's1' },
  'session.hurt': { sessionId: 's1' },
  'settings.get': undefined,
  'settings.set': { theme: 'dark' },
  'screening.set': { answers: { pregnant: false } },
  'usage.today': undefined,
  'usage.history': { days: 7 },
  'data.delete': { confirm: 'delete my data' },
  'sim.state': undefined,
  'sim.fault': { peripheralId: 'p1', fault: 'drop-link' },
};

/** A payload each channel's schema rejects (a stop has none: it ignores its payload). */
const INVALID: Record<Exclude<RequestChannel, 'device.stop'>, unknown> = {
  'app.info': { extra: 1 },
  'adapter.get': 'x',
  'demo.enable': { on: true },
  'scan.start': [],
  'scan.stop': 42,
  'device.list': { all: true },
  'device.get': { id: 1 },
  'session.get': 'now',
  'device.connect': { peripheralId: '' },
  'device.disconnect': { id: 'p' },
  'device.setHeat': { on: 'yes' },
  'device.confirmOff': { force: true },
  'session.start': { muscleGroup: 'knee', plannedMotorSeconds: 180 },
  'session.heartbeat': {},
  'session.setStep': { sessionId: 's1', intensity: 1.5 },
  'session.pause': { sessionId: 's1', extra: true },
  'session.resume': null,
  'session.end': { sessionId: 7 },
  'session.hurt': undefined,
  'settings.get': { key: 'x' },
  'settings.set': { sessionCapSeconds: 900 },
  'screening.set': { answers: { pregnant: 'no' } },
  'usage.today': { day: 1 },
  'usage.history': { days: 365 },
  'data.delete': { confirm: 'yes' },
  'sim.state': { id: 1 },
  'sim.fault': { peripheralId: 'p1' },
};

function setup() {
  const ipcMain = fakeIpcMain();
  const core = fakeCore();
  const bridge = createIpcBridge({ ipcMain, core, origin: APP_ORIGIN, log: () => undefined });
  bridge.register();
  const wc = new FakeWebContents();
  bridge.attach(wc as never);
  const invoke = (channel: string, frame: FakeFrame | null, payload: unknown, sender: FakeWebContents = wc) =>
    ipcMain.handlers.get(channel)!({ sender, senderFrame: frame }, payload) as Promise<{ ok: boolean; error?: { code: string } }>;
  return { ipcMain, core, bridge, wc, invoke };
}

describe('IPC bridge', () => {
  it('registers exactly one handler per request channel', () => {
    const { ipcMain } = setup();
    expect([...ipcMain.handlers.keys()].sort()).toEqual([...REQUEST_CHANNELS].sort());
  });

  it('hands a request from our main frame to the core with the connection id', async () => {
    const { core, wc, invoke } = setup();
    for (const channel of REQUEST_CHANNELS) {
      const reply = await invoke(channel, wc.mainFrame, VALID[channel]);
      expect(reply, channel).toMatchObject({ ok: true });
    }
    expect(core.handle).toHaveBeenCalledTimes(REQUEST_CHANNELS.length);
    expect(core.handle).toHaveBeenCalledWith(`ipc:${wc.id}`, 'session.start', { muscleGroup: 'neck', plannedMotorSeconds: 180 });
  });

  describe.each(REQUEST_CHANNELS.map((c) => [c]))('%s', (channel) => {
    it('refuses another origin, a subframe, a foreign window and a missing frame without calling the core', async () => {
      const { core, wc, invoke } = setup();
      const main = wc.mainFrame;
      const foreignOrigin = fakeFrame('https://evil.example/index.html', { processId: main.processId, routingId: main.routingId });
      const lookalike = fakeFrame('app://unknot.evil/index.html', { processId: main.processId, routingId: main.routingId });
      const fileFrame = fakeFrame('file:///index.html', { processId: main.processId, routingId: main.routingId });
      const subframe = fakeFrame(APP_ENTRY_URL, { parent: main, processId: main.processId, routingId: 999 });
      const otherFrameSameUrl = fakeFrame(APP_ENTRY_URL, { processId: main.processId, routingId: main.routingId + 1 });
      const stranger = new FakeWebContents(); // a webContents we never attached
      const cases: [FakeFrame | null, FakeWebContents][] = [
        [foreignOrigin, wc],
        [lookalike, wc],
        [fileFrame, wc],
        [subframe, wc],
        [otherFrameSameUrl, wc],
        [null, wc],
        [stranger.mainFrame, stranger],
      ];
      for (const [frame, sender] of cases) {
        const reply = await invoke(channel, frame, VALID[channel], sender);
        expect(reply).toEqual({ ok: false, error: { code: 'forbidden', message: expect.any(String) } });
      }
      expect(core.handle).not.toHaveBeenCalled();
    });

    it.skipIf(channel === 'device.stop')('refuses an invalid payload as invalid-payload before the core', async () => {
      const { core, wc, invoke } = setup();
      const reply = await invoke(channel, wc.mainFrame, INVALID[channel as Exclude<RequestChannel, 'device.stop'>]);
      expect(reply).toMatchObject({ ok: false, error: { code: 'invalid-payload' } });
      expect(core.handle).not.toHaveBeenCalled();
    });
  });

  it('a stop ignores its payload: whatever it carries, the core is asked to stop', async () => {
    const { core, wc, invoke } = setup();
    for (const payload of [null, { force: true }, 'now', 42, [], { __proto__: 1 }]) {
      expect(await invoke('device.stop', wc.mainFrame, payload)).toMatchObject({ ok: true });
    }
    expect(core.handle).toHaveBeenCalledTimes(6);
    for (const call of vi.mocked(core.handle).mock.calls) expect(call.slice(1)).toEqual(['device.stop', undefined]);
  });

  it('refuses __proto__, constructor and prototype keys anywhere in a payload before the core', async () => {
    const { core, wc, invoke } = setup();
    const bad = JSON.parse('{"answers":{"__proto__":{"pregnant":false},"pregnant":false}}');
    expect(await invoke('screening.set', wc.mainFrame, bad)).toMatchObject({ ok: false, error: { code: 'invalid-payload', message: expect.stringContaining('answers.__proto__') } });
    expect(await invoke('settings.set', wc.mainFrame, JSON.parse('{"ceilings":{"constructor":0.5}}'))).toMatchObject({ ok: false, error: { code: 'invalid-payload' } });
    expect(core.handle).not.toHaveBeenCalled();
  });

  it('refuses a frame that was disposed while being checked', async () => {
    const { core, wc, invoke } = setup();
    const disposed = {
      get url(): string {
        throw new Error('Render frame was disposed');
      },
      parent: null,
      processId: wc.mainFrame.processId,
      routingId: wc.mainFrame.routingId,
      detached: false,
    };
    expect(await invoke('device.stop', disposed as never, undefined)).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    expect(core.handle).not.toHaveBeenCalled();
  });

  it('turns a core that throws into an internal error, never a rejection', async () => {
    const { core, wc, invoke } = setup();
    core.handle.mockRejectedValueOnce(new Error('boom'));
    await expect(invoke('device.stop', wc.mainFrame, undefined)).resolves.toMatchObject({ ok: false, error: { code: 'internal' } });
  });

  it('forwards core events to the window, only known events and only while it shows our page', () => {
    const { core, wc } = setup();
    const conn = core.connections.get(`ipc:${wc.id}`)!;
    expect(conn.kind).toBe('ipc');
    for (const event of EVENT_CHANNELS) conn.send(event, { e: event });
    expect(wc.send).toHaveBeenCalledTimes(EVENT_CHANNELS.length);
    expect(wc.send).toHaveBeenCalledWith('device.status', { e: 'device.status' });
    conn.send('not.an.event' as never, {});
    wc.url = 'https://evil.example/';
    conn.send('device.status', {});
    wc.url = APP_ENTRY_URL;
    wc.destroyed = true;
    conn.send('device.status', {});
    expect(wc.send).toHaveBeenCalledTimes(EVENT_CHANNELS.length);
  });

  it('detaches once with the reason, after which the window is no longer trusted', async () => {
    const { core, bridge, wc, invoke } = setup();
    await bridge.detach(wc.id, 'window-closed');
    await bridge.detach(wc.id, 'window-closed');
    expect(core.detach).toHaveBeenCalledTimes(1);
    expect(core.detach).toHaveBeenCalledWith(`ipc:${wc.id}`, 'window-closed');
    expect(await invoke('device.stop', wc.mainFrame, undefined)).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    expect(bridge.connections()).toEqual([]);
  });

  it('unregisters every handler', () => {
    const { ipcMain, bridge } = setup();
    bridge.unregister();
    expect(ipcMain.handlers.size).toBe(0);
  });

  it('recognises only our origin', () => {
    expect(isAppUrl('app://unknot/index.html', APP_ORIGIN)).toBe(true);
    expect(isAppUrl('app://unknot', APP_ORIGIN)).toBe(true);
    expect(isAppUrl('app://unknotx/index.html', APP_ORIGIN)).toBe(false);
    expect(isAppUrl('app://unknot.evil/index.html', APP_ORIGIN)).toBe(false);
    expect(isAppUrl('http://localhost:5173/', APP_ORIGIN)).toBe(false);
  });
});
