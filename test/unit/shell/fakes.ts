/**
 * Fakes of the Electron objects the shell touches, at Electron's boundary: just
 * enough behaviour (events, ids, frames, URLs) for the shell modules to run in Node.
 */
import { EventEmitter } from 'node:events';
import type { BrowserWindowConstructorOptions } from 'electron';
import { vi } from 'vitest';
import type { Core, CoreConnection } from '../../../electron/core/types';
import { APP_ENTRY_URL } from '../../../electron/main/protocol';

/** A fake WebFrameMain. */
export interface FakeFrame {
  url: string;
  parent: FakeFrame | null;
  processId: number;
  routingId: number;
  detached: boolean;
}

/** Makes a frame; a subframe when `parent` is given. */
export function fakeFrame(url: string, opts: { parent?: FakeFrame | null; processId?: number; routingId?: number } = {}): FakeFrame {
  return { url, parent: opts.parent ?? null, processId: opts.processId ?? 1, routingId: opts.routingId ?? 1, detached: false };
}

let nextId = 1;

/** A fake WebContents: an EventEmitter with the methods the shell calls. */
export class FakeWebContents extends EventEmitter {
  readonly id = nextId++;
  url = APP_ENTRY_URL;
  destroyed = false;
  readonly mainFrame: FakeFrame;
  readonly send = vi.fn();
  readonly reload = vi.fn();
  windowOpenHandler: ((details: { url: string }) => { action: string }) | null = null;

  constructor() {
    super();
    this.mainFrame = fakeFrame(APP_ENTRY_URL, { processId: 10 + this.id, routingId: 100 + this.id });
  }
  getURL(): string {
    return this.url;
  }
  isDestroyed(): boolean {
    return this.destroyed;
  }
  setWindowOpenHandler(handler: (details: { url: string }) => { action: string }): void {
    this.windowOpenHandler = handler;
  }
  /** Emits an event whose first argument can be prevented; returns whether it was. */
  emitPreventable(event: string, ...args: unknown[]): boolean {
    const e = { preventDefault: vi.fn() };
    this.emit(event, e, ...args);
    return e.preventDefault.mock.calls.length > 0;
  }
  destroy(): void {
    this.destroyed = true;
    this.emit('destroyed');
  }
}

/** A fake BrowserWindow recording its constructor options. */
export class FakeBrowserWindow extends EventEmitter {
  static instances: FakeBrowserWindow[] = [];
  readonly webContents = new FakeWebContents();
  readonly loadURL = vi.fn(async (url: string) => {
    this.webContents.url = url;
  });
  readonly show = vi.fn();
  readonly focus = vi.fn();
  readonly restore = vi.fn();
  minimized = false;
  destroyed = false;

  constructor(readonly options: BrowserWindowConstructorOptions) {
    super();
    FakeBrowserWindow.instances.push(this);
  }
  isDestroyed(): boolean {
    return this.destroyed;
  }
  isMinimized(): boolean {
    return this.minimized;
  }
  close(): void {
    this.destroyed = true;
    this.webContents.destroy();
    this.emit('closed');
  }
}

/** A fake core whose methods are spies; `connections` records what was attached. */
export function fakeCore() {
  const connections = new Map<string, CoreConnection>();
  const runningListeners = new Set<(s: string | null) => void>();
  const state = { summary: null as string | null };
  const core = {
    connections,
    runningListeners,
    state,
    attach: vi.fn<Core['attach']>((c) => void connections.set(c.id, c)),
    detach: vi.fn<Core['detach']>(async (id) => void connections.delete(id)),
    handle: vi.fn<Core['handle']>(async (_id, channel) => ({ ok: true, result: { channel } as never })),
    stopAll: vi.fn<Core['stopAll']>(async () => undefined),
    runningSummary: vi.fn<Core['runningSummary']>(() => state.summary),
    onRunningChange: vi.fn<Core['onRunningChange']>((l) => {
      runningListeners.add(l);
      return () => void runningListeners.delete(l);
    }),
    shutdown: vi.fn<Core['shutdown']>(async () => undefined),
  };
  return core satisfies Core;
}

/** A fake ipcMain capturing the handlers by channel. */
export function fakeIpcMain() {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  type Listener = (event: any, payload: unknown) => Promise<unknown>;
  const handlers = new Map<string, Listener>();
  return {
    handlers,
    handle: vi.fn((channel: string, fn: Listener): void => {
      if (handlers.has(channel)) throw new Error(`second handler for ${channel}`);
      handlers.set(channel, fn);
    }),
    removeHandler: vi.fn((channel: string): void => void handlers.delete(channel)),
  };
}
