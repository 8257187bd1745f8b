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
  type EventPayload,
  type Reply,
  type RequestChannel,
  type RequestPayload,
  type UnknotBridge,
} from '../ipc/contract';

/** The IPC surface the bridge needs (Electron's `ipcRenderer`, or a fake in tests). */
export interface PreloadIpc {
  invoke(channel: string, ...args: unknown[]): Promise<unknown>;
  on(channel: string, listener: (event: unknown, ...args: unknown[]) => void): unknown;
  removeListener(channel: string, listener: (event: unknown, ...args: unknown[]) => void): unknown;
}

function requestMethod<C extends RequestChannel>(ipc: PreloadIpc, channel: C): (payload?: RequestPayload<C>) => Promise<Reply<C>> {
  return async (payload) => {
    try {
      // Main answers every channel with that channel's envelope (its handlers are typed from the contract).
      return (await ipc.invoke(channel, payload)) as Reply<C>;
    } catch {
      return { ok: false, error: { code: 'internal', message: 'The request could not reach the main process.' } };
    }
  };
}

function listenerMethod<E extends EventChannel>(ipc: PreloadIpc, event: E): (listener: (payload: EventPayload<E>) => void) => () => void {
  return (listener) => {
    if (typeof listener !== 'function') throw new TypeError(`${eventMethodName(event)} needs a function`);
    // Main sends each event with that event's payload (the core's broadcast is typed from the contract).
    const wrapped = (_event: unknown, payload: unknown): void => listener(payload as EventPayload<E>);
    ipc.on(event, wrapped);
    let subscribed = true;
    return () => {
      if (!subscribed) return;
      subscribed = false;
      ipc.removeListener(event, wrapped);
    };
  };
}

/** Builds the `window.unknot` object: exactly one method per request and per event channel, frozen. */
export function buildBridge(ipc: PreloadIpc): UnknotBridge {
  const api: Record<string, unknown> = {};
  for (const channel of REQUEST_CHANNELS) api[methodName(channel)] = requestMethod(ipc, channel);
  for (const event of EVENT_CHANNELS) api[eventMethodName(event)] = listenerMethod(ipc, event);
  // The keys are exactly the mapped type's: one per channel, named by the same functions.
  return Object.freeze(api) as UnknotBridge;
}

contextBridge.exposeInMainWorld('unknot', buildBridge(ipcRenderer));
