/**
 * The Electron side of the bridge: one `ipcMain.handle` per request channel of the
 * registry, each checking its sender before anything else (Electron security
 * checklist: "validate the sender of all IPC messages"), then handing the request to
 * the core's boundary (`electron/ipc/boundary.ts`), which validates the payload against
 * the contract's schema, as it does for the browser host's WebSocket.
 *
 * Each window's webContents is one core connection, `ipc:<webContents.id>`: attached
 * when the window is created, detached when it closes or its renderer dies. Core events
 * reach that window through `webContents.send` (main frame only, and only while it
 * shows our own page).
 */
import type { IpcMain, IpcMainInvokeEvent, WebContents } from 'electron';
import type { Core } from '../core/types';
import {
  EVENT_CHANNELS,
  REQUEST_CHANNELS,
  type ErrorCode,
  type EventChannel,
  type EventPayload,
  type Reply,
  type RequestChannel,
  type SessionEndReason,
} from '../ipc/contract';

/** Whether `url` is a page of ours: exactly the origin or under it. */
export function isAppUrl(url: string, origin: string): boolean {
  return url === origin || url.startsWith(origin + '/');
}

/** A refusal envelope (`forbidden` and `internal` fit every channel). */
export function refusal(code: ErrorCode, message: string): Reply {
  return { ok: false, error: { code, message } };
}

/** A reply with the channel it answers: checking `channel` narrows `reply` to that channel's. */
export type ChannelReply = { [C in RequestChannel]: { channel: C; reply: Reply<C> } }[RequestChannel];

/** The webContents methods the bridge uses (a real WebContents, or a fake in tests). */
export type BridgeWebContents = Pick<WebContents, 'id' | 'send' | 'isDestroyed' | 'getURL' | 'mainFrame'>;

/** The parts of an invoke event the sender check reads. */
export type BridgeInvokeEvent = Pick<IpcMainInvokeEvent, 'senderFrame'> & { sender: BridgeWebContents };

/** Dependencies of {@link createIpcBridge}. */
export interface IpcBridgeOptions {
  ipcMain: Pick<IpcMain, 'handle' | 'removeHandler'>;
  core: Pick<Core, 'attach' | 'detach' | 'handle'>;
  /** Origin every sender frame must be on, e.g. `app://unknot`. */
  origin: string;
  /**
   * Called with every reply the core gave (the shell watches `settings.*` for the stop
   * shortcut); a reply it returns replaces the core's (the shell adds what the desktop honours).
   */
  onReply?: (answered: ChannelReply) => Reply | void;
  log?: (message: string, error?: unknown) => void;
}

/** What {@link createIpcBridge} returns. */
export interface IpcBridge {
  /** Registers one `ipcMain.handle` per request channel. */
  register(): void;
  /** Removes every handler registered by {@link register}. */
  unregister(): void;
  /** Makes a window's webContents a core connection; returns its id (idempotent). */
  attach(webContents: BridgeWebContents): string;
  /** Forgets a webContents (by id); the core ends a session it owned with `reason`. Idempotent. */
  detach(webContentsId: number, reason: SessionEndReason): Promise<void>;
  /**
   * Replaces a webContents' connection with a fresh one, in one synchronous step: the old
   * connection is detached with `reason` (the core stops a session it owned) and a new one,
   * with a new id, is attached before this returns, so the next document's first requests
   * are accepted. The promise settles when the core finished detaching the old one.
   */
  renew(webContents: BridgeWebContents, reason: SessionEndReason): Promise<void>;
  /** Whether an invoke event comes from the main frame of one of our windows, showing our page. */
  isTrustedSender(event: BridgeInvokeEvent): boolean;
  /** Runs one request as the registered handler does (exposed for tests). */
  handleInvoke(channel: RequestChannel, event: BridgeInvokeEvent, payload: unknown): Promise<Reply>;
  /** Ids of the attached connections. */
  connections(): string[];
}

const EVENT_SET: ReadonlySet<string> = new Set(EVENT_CHANNELS);

/**
 * Creates the IPC bridge between Electron windows and the core.
 * The handlers never throw: every outcome is a {@link Reply} envelope. A sender that is
 * not the main frame of an attached window on `origin` gets `forbidden` and the core is
 * not called; everything else goes to the core's boundary as received (an unknown
 * channel, a payload its schema rejects: refused there, before any handler runs).
 */
export function createIpcBridge(options: IpcBridgeOptions): IpcBridge {
  const { ipcMain, core, origin } = options;
  const log = options.log ?? ((message: string, error?: unknown) => console.warn(`Unknot: ${message}`, error ?? ''));
  const attached = new Map<number, { id: string; webContents: BridgeWebContents }>();
  /** How many connections each webContents had, so a renewed one gets a new id. */
  const generations = new Map<number, number>();
  let registered = false;

  function isTrustedSender(event: BridgeInvokeEvent): boolean {
    try {
      const sender = event.sender;
      if (!sender || !attached.has(sender.id) || attached.get(sender.id)!.webContents !== sender) return false;
      const frame = event.senderFrame;
      if (!frame || frame.detached) return false;
      if (frame.parent !== null) return false; // a subframe
      const main = sender.mainFrame;
      if (!main || frame.processId !== main.processId || frame.routingId !== main.routingId) return false;
      return isAppUrl(frame.url, origin);
    } catch {
      return false; // a frame disposed while we looked at it
    }
  }

  async function handleInvoke(channel: RequestChannel, event: BridgeInvokeEvent, payload: unknown): Promise<Reply> {
    if (!isTrustedSender(event)) {
      return refusal('forbidden', 'This request did not come from an Unknot window.');
    }
    const connectionId = attached.get(event.sender.id)!.id;
    let reply: Reply;
    try {
      reply = await core.handle(connectionId, channel, payload);
    } catch (err) {
      log(`request ${channel} failed`, err);
      return refusal('internal', 'Something went wrong in Unknot. Every massager can still be stopped.');
    }
    try {
      const replaced = options.onReply?.({ channel, reply } as ChannelReply);
      if (replaced) reply = replaced;
    } catch (err) {
      log(`reply observer for ${channel} failed`, err);
    }
    return reply;
  }

  const bridge: IpcBridge = {
    register() {
      if (registered) return;
      for (const channel of REQUEST_CHANNELS) {
        ipcMain.handle(channel, (event, payload: unknown) => handleInvoke(channel, event, payload));
      }
      registered = true;
    },
    unregister() {
      if (!registered) return;
      for (const channel of REQUEST_CHANNELS) ipcMain.removeHandler(channel);
      registered = false;
    },
    attach(webContents) {
      const existing = attached.get(webContents.id);
      if (existing) return existing.id;
      const generation = (generations.get(webContents.id) ?? 0) + 1;
      generations.set(webContents.id, generation);
      // The first connection of a window is `ipc:<webContents.id>`, later ones `ipc:<id>.<n>`.
      const id = generation === 1 ? `ipc:${webContents.id}` : `ipc:${webContents.id}.${generation}`;
      attached.set(webContents.id, { id, webContents });
      core.attach({
        id,
        kind: 'ipc',
        send<E extends EventChannel>(event: E, payload: EventPayload<E>) {
          if (!EVENT_SET.has(event)) return;
          try {
            if (webContents.isDestroyed() || !isAppUrl(webContents.getURL(), origin)) return;
            webContents.send(event, payload);
          } catch (err) {
            log(`could not send ${event} to ${id}`, err);
          }
        },
      });
      return id;
    },
    async detach(webContentsId, reason) {
      const entry = attached.get(webContentsId);
      if (!entry) return;
      attached.delete(webContentsId);
      try {
        await core.detach(entry.id, reason);
      } catch (err) {
        log(`detaching ${entry.id} failed`, err);
      }
    },
    renew(webContents, reason) {
      const detached = bridge.detach(webContents.id, reason);
      if (!webContents.isDestroyed()) bridge.attach(webContents);
      return detached;
    },
    isTrustedSender,
    handleInvoke,
    connections: () => [...attached.values()].map((e) => e.id),
  };
  return bridge;
}
