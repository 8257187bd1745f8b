import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { EVENT_CHANNELS, REQUEST_CHANNELS, eventMethodName, methodName } from '../../../electron/ipc/contract';

const electron = vi.hoisted(() => ({
  contextBridge: { exposeInMainWorld: vi.fn() },
  ipcRenderer: { invoke: vi.fn(), on: vi.fn(), removeListener: vi.fn(), send: vi.fn(), sendSync: vi.fn() },
}));
vi.mock('electron', () => electron);

type Api = Record<string, (arg?: unknown) => unknown>;
let api: Api;

beforeAll(async () => {
  await import('../../../electron/preload/index');
  expect(electron.contextBridge.exposeInMainWorld).toHaveBeenCalledTimes(1);
  const [name, exposed] = electron.contextBridge.exposeInMainWorld.mock.calls[0]!;
  expect(name).toBe('unknot');
  api = exposed as Api;
});

describe('preload bridge', () => {
  it('exposes exactly one method per request channel and one listener per event channel, nothing else', () => {
    const expected = [...REQUEST_CHANNELS.map(methodName), ...EVENT_CHANNELS.map(eventMethodName)].sort();
    expect(new Set(expected).size).toBe(REQUEST_CHANNELS.length + EVENT_CHANNELS.length);
    expect(Object.keys(api).sort()).toEqual(expected);
    for (const key of Object.keys(api)) expect(typeof api[key]).toBe('function');
    expect(Object.isFrozen(api)).toBe(true);
    expect(Object.values(api)).not.toContain(electron.ipcRenderer);
  });

  it('invokes the channel with the payload and resolves to the reply envelope', async () => {
    for (const channel of REQUEST_CHANNELS) {
      electron.ipcRenderer.invoke.mockResolvedValueOnce({ ok: true, result: channel });
      const reply = await api[methodName(channel)]!({ x: 1 });
      expect(reply).toEqual({ ok: true, result: channel });
      expect(electron.ipcRenderer.invoke).toHaveBeenLastCalledWith(channel, { x: 1 });
    }
  });

  it('never rejects: a failed invoke becomes an error envelope', async () => {
    electron.ipcRenderer.invoke.mockRejectedValueOnce(new Error('No handler registered'));
    await expect(api.deviceStop!()).resolves.toMatchObject({ ok: false, error: { code: 'internal' } });
  });

  it('gives listeners the payload only and returns an unsubscribe function', () => {
    for (const event of EVENT_CHANNELS) {
      electron.ipcRenderer.on.mockClear();
      electron.ipcRenderer.removeListener.mockClear();
      const listener = vi.fn();
      const unsubscribe = api[eventMethodName(event)]!(listener) as () => void;
      expect(electron.ipcRenderer.on).toHaveBeenCalledTimes(1);
      const [channel, wrapped] = electron.ipcRenderer.on.mock.calls[0]!;
      expect(channel).toBe(event);
      const ipcEvent = { sender: electron.ipcRenderer, senderId: 0, ports: [] };
      (wrapped as (e: unknown, p: unknown) => void)(ipcEvent, { hello: event });
      expect(listener).toHaveBeenCalledWith({ hello: event });
      expect(listener.mock.calls[0]).toHaveLength(1);
      unsubscribe();
      unsubscribe();
      expect(electron.ipcRenderer.removeListener).toHaveBeenCalledTimes(1);
      expect(electron.ipcRenderer.removeListener).toHaveBeenCalledWith(event, wrapped);
    }
  });

  it('refuses a listener that is not a function', () => {
    expect(() => api.onDeviceStatus!('nope')).toThrow(TypeError);
  });

  it('imports only electron and the IPC contract (sandboxed preload)', () => {
    const source = readFileSync(join(__dirname, '../../../electron/preload/index.ts'), 'utf8');
    const imports = [...source.matchAll(/^\s*import\s[^;]*?from\s+'([^']+)'/gms)].map((m) => m[1]);
    expect(imports.sort()).toEqual(['../ipc/contract', 'electron']);
    expect(source).not.toMatch(/require\(/);
  });
});

describe('built preload (after `npm run build`)', () => {
  const built = join(__dirname, '../../../out/preload/index.js');
  // A sandboxed preload can require only 'electron' (and events, timers, url): the
  // contract and zod must be bundled in, not left as require() calls. Needs
  // `preload.build.externalizeDeps: false` in electron.vite.config.ts.
  it.skipIf(!existsSync(built))('requires nothing but electron', () => {
    const requires = [...readFileSync(built, 'utf8').matchAll(/require\(["']([^"']+)["']\)/g)].map((m) => m[1]);
    expect([...new Set(requires)]).toEqual(['electron']);
  });
});
