/**
 * The preload of every Unknot window (sandboxed: it may import only 'electron' and
 * the bundled IPC contract). Puts `window.unknot` in the page's world:
 * - one method per request channel, named by `methodName` (`session.start` →
 *   `sessionStart`), which invokes that channel and resolves to the reply envelope —
 *   never rejects;
 * - one listener method per event channel, named by `eventMethodName`
 *   (`device.status` → `onDeviceStatus`), which calls the listener with the payload
 *   only (never the IPC event, never `ipcRenderer`) and returns an unsubscribe function.
 * Nothing else is exposed.
 */
import { contextBridge, ipcRenderer } from 'electron';
import {
  EVENT_CHANNELS,
  REQUEST_CHANNELS,
  eventMethodName,
  methodName,
  type EventChannel,
  type Reply,
  type RequestChannel,
} from '../ipc/contract';

/** The IPC surface the bridge needs (Electron's `ipcRenderer`, or a fake in tests). */
export interface PreloadIpc {
  invoke(channel: string, ...args: unknown[]): Promise<unknown>;
  on(channel: string, listener: (event: unknown, ...args: unknown[]) => void): unknown;
  removeListener(channel: string, listener: (event: unknown, ...args: unknown[]) => void): unknown;
}

function requestMethod(ipc: PreloadIpc, channel: RequestChannel): (payload?: unknown) => Promise<Reply> {
  return async (payload?: unknown) => {
    try {
      return (await ipc.invoke(channel, payload)) as Reply;
    } catch {
      return { ok: false, error: { code: 'internal', message: 'The request could not reach the main process.' } };
    }
  };
}

function listenerMethod(ipc: PreloadIpc, event: EventChannel): (listener: (payload: unknown) => void) => () => void {
  return (listener) => {
    if (typeof listener !== 'function') throw new TypeError(`${eventMethodName(event)} needs a function`);
    const wrapped = (_event: unknown, payload: unknown): void => listener(payload);
    ipc.on(event, wrapped);
    let subscribed = true;
    return () => {
      if (!subscribed) return;
      subscribed = false;
      ipc.removeListener(event, wrapped);
    };
  };
}

/** Builds the `window.unknot` object: exactly one method per request and per event channel. */
export function buildBridge(ipc: PreloadIpc): Record<string, (...args: never[]) => unknown> {
  const api: Record<string, (...args: never[]) => unknown> = {};
  for (const channel of REQUEST_CHANNELS) api[methodName(channel)] = requestMethod(ipc, channel);
  for (const event of EVENT_CHANNELS) api[eventMethodName(event)] = listenerMethod(ipc, event);
  return Object.freeze(api);
}

contextBridge.exposeInMainWorld('unknot', buildBridge(ipcRenderer));
