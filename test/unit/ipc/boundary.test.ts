/**
 * The main-process boundary (electron/ipc/boundary.ts): the one place a request is
 * validated. No handler runs on an unknown channel, a forbidden key or a payload its
 * schema refuses; a stop ignores its payload; refusals and failures become envelopes.
 * The last test sends invalid payloads through the Electron IPC bridge to a boundary,
 * as the app wires them (the browser host's carrier is covered by the core tests, whose
 * requests take the same `core.handle`).
 */
import { describe, expect, it, vi } from 'vitest';
import { Refusal, createBoundary, type Handlers } from '../../../electron/ipc/boundary';
import { REQUEST_CHANNELS, type RequestChannel } from '../../../electron/ipc/contract';
import { createIpcBridge } from '../../../electron/main/ipc';
import { APP_ORIGIN } from '../../../electron/main/protocol';
import { INVALID, VALID } from '../helpers/payloads';
import { FakeWebContents, fakeIpcMain } from '../shell/fakes';

/** A handler spy for every channel, each answering `{ channel }`. */
function spyHandlers() {
  const spies = Object.fromEntries(REQUEST_CHANNELS.map((c) => [c, vi.fn(() => ({ channel: c }))])) as Record<RequestChannel, ReturnType<typeof vi.fn>>;
  return { spies, handlers: spies as unknown as Handlers, calls: () => Object.values(spies).reduce((n, s) => n + s.mock.calls.length, 0) };
}

describe('main-process boundary', () => {
  it('runs each channel’s handler with the parsed payload and the connection', async () => {
    const { spies, handlers } = spyHandlers();
    const handle = createBoundary(handlers);
    for (const channel of REQUEST_CHANNELS) {
      expect(await handle('ws:1', channel, VALID[channel]), channel).toEqual({ ok: true, result: { channel } });
    }
    expect(spies['session.start']).toHaveBeenCalledWith({ muscleGroup: 'neck', plannedMotorSeconds: 180 }, { connectionId: 'ws:1' });
  });

  describe.each(REQUEST_CHANNELS.filter((c) => c !== 'device.stop').map((c) => [c]))('%s', (channel) => {
    it('refuses an invalid payload as invalid-payload before any handler', async () => {
      const { handlers, calls } = spyHandlers();
      const reply = await createBoundary(handlers)('ipc:1', channel, INVALID[channel as Exclude<RequestChannel, 'device.stop'>]);
      expect(reply).toMatchObject({ ok: false, error: { code: 'invalid-payload', message: expect.stringContaining(channel) } });
      expect(calls()).toBe(0);
    });
  });

  it('a stop ignores its payload: whatever it carries, the stop handler runs with none', async () => {
    const { spies, handlers } = spyHandlers();
    const handle = createBoundary(handlers);
    for (const payload of [null, { force: true }, 'now', 42, [], JSON.parse('{"__proto__":1}')]) {
      expect(await handle('ipc:1', 'device.stop', payload)).toMatchObject({ ok: true });
    }
    expect(spies['device.stop']).toHaveBeenCalledTimes(6);
    for (const call of spies['device.stop'].mock.calls) expect(call[0]).toBeUndefined();
  });

  it('refuses __proto__, constructor and prototype keys anywhere in a payload before any handler', async () => {
    const { handlers, calls } = spyHandlers();
    const handle = createBoundary(handlers);
    const bad = JSON.parse('{"answers":{"__proto__":{"pregnant":false},"pregnant":false}}');
    expect(await handle('ipc:1', 'screening.set', bad)).toMatchObject({
      ok: false,
      error: { code: 'invalid-payload', message: expect.stringContaining('answers.__proto__') },
    });
    expect(await handle('ipc:1', 'settings.set', JSON.parse('{"ceilings":{"constructor":0.5}}'))).toMatchObject({ ok: false, error: { code: 'invalid-payload' } });
    expect(calls()).toBe(0);
  });

  it('refuses a channel that is not in the registry, own properties only', async () => {
    const { handlers, calls } = spyHandlers();
    const handle = createBoundary(handlers);
    for (const channel of ['nope', 'toString', '__proto__', 'constructor']) {
      expect(await handle('ipc:1', channel, {})).toMatchObject({ ok: false, error: { code: 'unknown-channel' } });
    }
    expect(calls()).toBe(0);
  });

  it('answers a refusal with its code, and an unexpected error with internal after onUnexpected', async () => {
    const { spies, handlers } = spyHandlers();
    const onUnexpected = vi.fn(async () => undefined);
    const onUndeclaredCode = vi.fn();
    const handle = createBoundary(handlers, { onUnexpected, onUndeclaredCode, refusalOf: (e) => (e instanceof RangeError ? new Refusal('invalid-payload', e.message) : null) });
    spies['session.start'].mockImplementationOnce(() => {
      throw new Refusal('budget-exhausted', 'No time left today.');
    });
    expect(await handle('ws:1', 'session.start', VALID['session.start'])).toEqual({ ok: false, error: { code: 'budget-exhausted', message: 'No time left today.' } });
    spies['settings.set'].mockImplementationOnce(() => {
      throw new RangeError('out of range');
    });
    expect(await handle('ws:1', 'settings.set', VALID['settings.set'])).toEqual({ ok: false, error: { code: 'invalid-payload', message: 'out of range' } });
    expect(onUnexpected).not.toHaveBeenCalled();
    expect(onUndeclaredCode).not.toHaveBeenCalled();
    spies['device.get'].mockImplementationOnce(() => Promise.reject(new Error('boom')));
    expect(await handle('ws:1', 'device.get', undefined)).toMatchObject({ ok: false, error: { code: 'internal', message: expect.stringContaining('boom') } });
    expect(onUnexpected).toHaveBeenCalledWith('device.get', expect.any(Error));
  });

  it('reports a refusal code the contract does not declare for its channel, and still sends it', async () => {
    const { spies, handlers } = spyHandlers();
    const onUndeclaredCode = vi.fn();
    const handle = createBoundary(handlers, { onUndeclaredCode });
    spies['usage.today'].mockImplementationOnce(() => {
      throw new Refusal('budget-exhausted', 'not for this channel');
    });
    expect(await handle('ws:1', 'usage.today', undefined)).toMatchObject({ ok: false, error: { code: 'budget-exhausted' } });
    expect(onUndeclaredCode).toHaveBeenCalledWith('usage.today', 'budget-exhausted');
  });

  it('answers undefined as null', async () => {
    const { spies, handlers } = spyHandlers();
    spies['session.heartbeat'].mockImplementationOnce(() => undefined as never);
    expect(await createBoundary(handlers)('ws:1', 'session.heartbeat', { sessionId: 's1' })).toEqual({ ok: true, result: null });
  });

  it('Electron IPC passes through it: an invalid payload from a trusted window reaches no handler', async () => {
    const { handlers, calls } = spyHandlers();
    const handle = createBoundary(handlers);
    const ipcMain = fakeIpcMain();
    const core = { attach: vi.fn(), detach: vi.fn(async () => undefined), handle };
    const bridge = createIpcBridge({ ipcMain, core, origin: APP_ORIGIN, log: () => undefined });
    bridge.register();
    const wc = new FakeWebContents();
    bridge.attach(wc as never);
    for (const channel of REQUEST_CHANNELS.filter((c) => c !== 'device.stop')) {
      const reply = await ipcMain.handlers.get(channel)!({ sender: wc, senderFrame: wc.mainFrame }, INVALID[channel as Exclude<RequestChannel, 'device.stop'>]);
      expect(reply, channel).toMatchObject({ ok: false, error: { code: 'invalid-payload' } });
    }
    expect(calls()).toBe(0);
    expect(await ipcMain.handlers.get('session.start')!({ sender: wc, senderFrame: wc.mainFrame }, VALID['session.start'])).toEqual({ ok: true, result: { channel: 'session.start' } });
  });
});
