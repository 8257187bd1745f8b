import { describe, expect, it } from 'vitest';
import { EVENT_CHANNELS, REQUEST_CHANNELS } from '../../../electron/ipc/contract';
import { VALID } from '../helpers/payloads';
import { createIpcBridge, isAppUrl } from '../../../electron/main/ipc';
import { APP_ENTRY_URL, APP_ORIGIN } from '../../../electron/main/protocol';
import { FakeWebContents, fakeCore, fakeFrame, fakeIpcMain, type FakeFrame } from './fakes';

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
  });

  it('hands a stop to the core whatever its payload (the boundary ignores it: test/unit/ipc/boundary.test.ts)', async () => {
    const { core, wc, invoke } = setup();
    for (const payload of [null, { force: true }, 'now', 42, [], { __proto__: 1 }]) {
      expect(await invoke('device.stop', wc.mainFrame, payload)).toMatchObject({ ok: true });
    }
    expect(core.handle).toHaveBeenCalledTimes(6);
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
    for (const event of EVENT_CHANNELS) conn.send(event, { e: event } as never);
    expect(wc.send).toHaveBeenCalledTimes(EVENT_CHANNELS.length);
    expect(wc.send).toHaveBeenCalledWith('device.status', { e: 'device.status' });
    conn.send('not.an.event' as never, {} as never);
    wc.url = 'https://evil.example/';
    conn.send('device.status', {} as never);
    wc.url = APP_ENTRY_URL;
    wc.destroyed = true;
    conn.send('device.status', {} as never);
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
