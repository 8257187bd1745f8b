/**
 * The bridge client: one typed `call(channel, payload)` and typed event subscription,
 * over the Electron preload (`window.unknot`) or, in a plain browser, the browser
 * host's WebSocket (DESIGN §5, docs/bridge.md).
 */
import {
  eventMethodName,
  methodName,
  type AdapterInfo,
  type AppInfo,
  type BudgetInfo,
  type ClampedEvent,
  type DeviceStatusEvent,
  type EventChannel,
  type Reply,
  type RequestChannel,
  type RequestPayload,
  type ScanEntry,
  type ScanResults,
  type SessionEndedEvent,
  type SessionStartResult,
  type SessionStateEvent,
  type SettingsView,
  type SimPeripheralState,
  type UnknotBridge,
  type WarningEvent,
} from './contract';

/** Results of the request channels, as far as the contract defines them. */
export interface ResultMap {
  'app.info': AppInfo;
  'adapter.get': AdapterInfo;
  'demo.enable': unknown;
  'scan.start': unknown;
  'scan.stop': unknown;
  'device.list': ScanResults | ScanEntry[];
  'device.get': DeviceStatusEvent;
  'session.get': SessionStateEvent | null;
  'device.connect': unknown;
  'device.disconnect': unknown;
  'device.stop': unknown;
  'device.setHeat': unknown;
  'device.confirmOff': DeviceStatusEvent;
  'session.start': SessionStartResult;
  'session.heartbeat': unknown;
  'session.setStep': unknown;
  'session.pause': unknown;
  'session.resume': unknown;
  'session.end': unknown;
  'session.hurt': unknown;
  'settings.get': SettingsView;
  'settings.set': SettingsView;
  'screening.set': SettingsView | unknown;
  'usage.today': BudgetInfo[];
  'usage.history': unknown;
  'data.delete': unknown;
  'sim.state': SimPeripheralState[];
  'sim.fault': unknown;
}

export interface EventMap {
  'adapter.state': AdapterInfo;
  'scan.results': ScanResults;
  'device.status': DeviceStatusEvent;
  'session.state': SessionStateEvent;
  'session.ended': SessionEndedEvent;
  'safety.clamped': ClampedEvent;
  'safety.warning': WarningEvent;
  'sim.state': SimPeripheralState[];
  'store.notice': WarningEvent | { message: string };
}

/** A refused or failed request: `message` is the main process's own words. */
export class BridgeError extends Error {
  constructor(
    public readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'BridgeError';
  }
}

export type LinkState = 'connecting' | 'open' | 'lost';

type Listener = (payload: unknown) => void;

interface Transport {
  request(channel: string, payload: unknown): Promise<Reply>;
  subscribe(event: EventChannel, listener: Listener): () => void;
}

// ---------------- Electron preload ----------------

function preloadTransport(bridge: UnknotBridge): Transport {
  return {
    request(channel, payload) {
      const fn = bridge[methodName(channel as RequestChannel)] as ((p?: unknown) => Promise<Reply>) | undefined;
      if (typeof fn !== 'function') {
        return Promise.resolve({ ok: false, error: { code: 'unknown-channel', message: `Unknown channel ${channel}` } });
      }
      return fn(payload);
    },
    subscribe(event, listener) {
      const fn = bridge[eventMethodName(event)] as ((l: Listener) => () => void) | undefined;
      return typeof fn === 'function' ? fn(listener) : () => {};
    },
  };
}

// ---------------- Browser host WebSocket ----------------

class SocketTransport implements Transport {
  private ws: WebSocket | null = null;
  private nextId = 1;
  private pending = new Map<number, (r: Reply) => void>();
  private listeners = new Map<string, Set<Listener>>();
  private retryMs = 500;
  private opened: Promise<void>;
  private resolveOpened: () => void = () => {};
  state: LinkState = 'connecting';
  onState: (s: LinkState, wasLost: boolean) => void = () => {};

  constructor(private readonly url: string) {
    this.opened = new Promise((r) => (this.resolveOpened = r));
    this.connect();
  }

  private setState(s: LinkState): void {
    const wasLost = this.state === 'lost';
    this.state = s;
    this.onState(s, wasLost);
  }

  private connect(): void {
    let ws: WebSocket;
    try {
      ws = new WebSocket(this.url);
    } catch {
      this.scheduleRetry();
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      this.retryMs = 500;
      this.setState('open');
      this.resolveOpened();
    };
    ws.onmessage = (ev) => {
      let msg: unknown;
      try {
        msg = JSON.parse(String(ev.data));
      } catch {
        return;
      }
      if (!msg || typeof msg !== 'object') return;
      const m = msg as { id?: unknown; event?: unknown; payload?: unknown; ok?: unknown };
      if (typeof m.event === 'string') {
        for (const l of this.listeners.get(m.event) ?? []) {
          try {
            l(m.payload);
          } catch (err) {
            console.error(err);
          }
        }
        return;
      }
      if (typeof m.id === 'number' || typeof m.id === 'string') {
        const id = Number(m.id);
        const done = this.pending.get(id);
        if (done) {
          this.pending.delete(id);
          done(msg as Reply);
        }
      }
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      // Every request in flight fails: the host stops the motor when the owner drops.
      for (const [, done] of this.pending) {
        done({ ok: false, error: { code: 'connection-lost', message: 'Lost contact with Unknot.' } });
      }
      this.pending.clear();
      if (this.state !== 'lost') {
        this.opened = new Promise((r) => (this.resolveOpened = r));
        this.setState('lost');
      }
      this.scheduleRetry();
    };
    ws.onerror = () => {
      /* onclose follows */
    };
  }

  private scheduleRetry(): void {
    const delay = this.retryMs;
    this.retryMs = Math.min(this.retryMs * 2, 5000);
    setTimeout(() => this.connect(), delay);
  }

  async request(channel: string, payload: unknown): Promise<Reply> {
    if (this.state !== 'open') {
      // Wait briefly for the socket, then fail rather than queue a motor command for later.
      const ready = await Promise.race([this.opened.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 4000))]);
      if (!ready) return { ok: false, error: { code: 'connection-lost', message: 'No contact with Unknot.' } };
    }
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) {
      return { ok: false, error: { code: 'connection-lost', message: 'No contact with Unknot.' } };
    }
    const id = this.nextId++;
    return new Promise<Reply>((resolve) => {
      this.pending.set(id, resolve);
      ws.send(JSON.stringify({ id, channel, payload: payload ?? {} }));
    });
  }

  subscribe(event: EventChannel, listener: Listener): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(listener);
    return () => set.delete(listener);
  }
}

function socketUrl(): string {
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const token = new URLSearchParams(location.search).get('token');
  return `${proto}//${location.host}/ws${token ? `?token=${encodeURIComponent(token)}` : ''}`;
}

// ---------------- the one client ----------------

declare global {
  interface Window {
    unknot?: UnknotBridge;
  }
}

let transport: Transport | null = null;
let socket: SocketTransport | null = null;
const linkListeners = new Set<(s: LinkState, wasLost: boolean) => void>();

function getTransport(): Transport {
  if (transport) return transport;
  if (typeof window !== 'undefined' && window.unknot) {
    transport = preloadTransport(window.unknot);
    queueMicrotask(() => linkListeners.forEach((l) => l('open', false)));
  } else {
    socket = new SocketTransport(socketUrl());
    socket.onState = (s, wasLost) => linkListeners.forEach((l) => l(s, wasLost));
    transport = socket;
  }
  return transport;
}

/** The host the renderer runs in. */
export function hostKind(): 'electron' | 'browser' {
  return typeof window !== 'undefined' && window.unknot ? 'electron' : 'browser';
}

/** Link state changes (the browser host's socket; Electron is always open). */
export function onLinkState(listener: (s: LinkState, wasLost: boolean) => void): () => void {
  linkListeners.add(listener);
  getTransport();
  return () => linkListeners.delete(listener);
}

export function linkState(): LinkState {
  getTransport();
  return socket ? socket.state : 'open';
}

/** Sends one request; resolves its result or throws a {@link BridgeError} with the refusal. */
export async function call<C extends RequestChannel>(channel: C, ...args: undefined extends RequestPayload<C> ? [payload?: RequestPayload<C>] : [payload: RequestPayload<C>]): Promise<ResultMap[C]> {
  const payload = args[0] ?? {};
  let reply: Reply;
  try {
    reply = await getTransport().request(channel, payload);
  } catch (err) {
    throw new BridgeError('internal', err instanceof Error ? err.message : String(err));
  }
  if (!reply || typeof reply !== 'object') throw new BridgeError('internal', 'No reply.');
  if (reply.ok) return reply.result as ResultMap[C];
  throw new BridgeError(reply.error?.code ?? 'internal', reply.error?.message ?? 'Refused.');
}

/** Like {@link call} but never throws: returns null on failure. For best-effort reads. */
export async function tryCall<C extends RequestChannel>(channel: C, payload?: RequestPayload<C>): Promise<ResultMap[C] | null> {
  try {
    return await (call as (c: C, p?: unknown) => Promise<ResultMap[C]>)(channel, payload);
  } catch {
    return null;
  }
}

/** Subscribes to one event channel; returns the unsubscribe function. */
export function on<E extends EventChannel>(event: E, listener: (payload: EventMap[E]) => void): () => void {
  return getTransport().subscribe(event, listener as Listener);
}

/** Normalises `device.list` / `scan.results` payloads into a device list. */
export function devicesOf(x: unknown): ScanEntry[] {
  if (Array.isArray(x)) return x as ScanEntry[];
  if (x && typeof x === 'object' && Array.isArray((x as ScanResults).devices)) return (x as ScanResults).devices;
  return [];
}
