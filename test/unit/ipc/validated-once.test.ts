/**
 * Payloads are validated in one place: a request through Electron IPC to the real app
 * core is parsed by its channel's schema exactly once (before, the IPC bridge and the
 * core each parsed it, with different messages), and an invalid one gets the boundary's
 * refusal. The browser host hands requests to the same `core.handle`.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { requestSchemas } from '../../../electron/ipc/contract';
import { createIpcBridge } from '../../../electron/main/ipc';
import { APP_ORIGIN } from '../../../electron/main/protocol';
import { startCore } from '../helpers/core-harness';
import { FakeWebContents, fakeIpcMain } from '../shell/fakes';

afterEach(() => vi.restoreAllMocks());

describe('validated once', () => {
  it('an IPC request to the app core is parsed by its schema once, and refused once when invalid', async () => {
    const { core } = await startCore();
    try {
      const ipcMain = fakeIpcMain();
      const bridge = createIpcBridge({ ipcMain, core, origin: APP_ORIGIN, log: () => undefined });
      bridge.register();
      const wc = new FakeWebContents();
      bridge.attach(wc as never);
      const invoke = (channel: string, payload: unknown) => ipcMain.handlers.get(channel)!({ sender: wc, senderFrame: wc.mainFrame }, payload);

      const parse = vi.spyOn(requestSchemas['usage.history'], 'safeParse');
      expect(await invoke('usage.history', { days: 7 })).toMatchObject({ ok: true, result: { days: expect.any(Array), csv: expect.any(String) } });
      expect(parse).toHaveBeenCalledTimes(1);

      parse.mockClear();
      expect(await invoke('usage.history', { days: 365 })).toMatchObject({
        ok: false,
        error: { code: 'invalid-payload', message: expect.stringMatching(/^Invalid request for usage\.history: days: /) },
      });
      expect(parse).toHaveBeenCalledTimes(1);
    } finally {
      await core.shutdown();
    }
  });
});
