/**
 * The bridge client: one typed `call(channel, payload)` and typed event subscription,
 * over the Electron preload (`window.unknot`) or, in a plain browser, the browser
 * host's WebSocket (DESIGN §5, docs/bridge.md).
 */
import {
  eventMethodName,
  methodName,
  type ChannelErrorCode,
  type CommonErrorCode,
  type EventChannel,
  type EventPayload,
  type Reply,
  type RequestChannel,
  type RequestPayload,
  type Result,
  type ScanEntry,
  type ScanResults,
  type UnknotBridge,
} from './contract';

/** The result of each request channel, as the contract declares it (`Result<C>`). */
export type ResultMap = { [C in RequestChannel]: Result<C> };

/** The payload of each event, as the contract declares it (`EventPayload<E>`). */
export type EventMap = { [E in EventChannel]: EventPayload<E> };

/**
 * A refused or failed request: `code` is one of the contract's error codes (those of the
 * channel `C`, when known), `message` the main process's own words.
 */
export class BridgeError<C extends RequestChannel = RequestChannel> extends Error {
  constructor(
    public readonly code: ChannelErrorCode<C>,
    message: string,
  ) {
    super(message);
    this.name = 'BridgeError';
  }
}

export type LinkState = 'connecting' | 'open' | 'lost';

type Listener = (payload: unknown) => void;

/** What both carriers do: send a request and get its envelope, subscribe to an event. */
interface Transport {
  request<C extends RequestChannel>(channel: C, payload: unknown): Promise<Reply<C>>;
  subscribe(event: EventChannel, listener: Listener): () => void;
}

/** A reply for a request that never reached main. */
function failed(code: CommonErrorCode, message: string): Reply<never> {
  return { ok: false, error: { code, message } };
}

// ---------------- Electron preload ----------------

function preloadTransport(bridge: UnknotBridge): Transport {
  // Looked up by name at run time: a preload of another version may lack a method.
  const methods = bridge as unknown as Partial<Record<string, (arg: unknown) => unknown>>;
  return {
    request<C extends RequestChannel>(channel: C, payload: unknown) {
      const fn = methods[methodName(channel)];
      if (typeof fn !== 'function') return Promise.resolve(failed('unknown-channel', `Unknown channel ${channel}`));
      return fn(payload) as Promise<Reply<C>>;
    },
    subscribe(event, listener) {
      const fn = methods[eventMethodName(event)];
      return typeof fn === 'function' ? (fn(listener) as () => void) : () => {};
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
        done(failed('connection-lost', 'Lost contact with Unknot.'));
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

  async request<C extends RequestChannel>(channel: C, payload: unknown): Promise<Reply<C>> {
    if (this.state !== 'open') {
      // Wait briefly for the socket, then fail rather than queue a motor command for later.
      const ready = await Promise.race([this.opened.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 4000))]);
      if (!ready) return failed('connection-lost', 'No contact with Unknot.');
    }
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return failed('connection-lost', 'No contact with Unknot.');
    const id = this.nextId++;
    return new Promise<Reply<C>>((resolve) => {
      // The host answers request `id` with the envelope of this request's channel.
      this.pending.set(id, resolve as (r: Reply) => void);
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

/**
 * Sends one request; resolves its result (the contract's `Result<C>`) or throws a
 * {@link BridgeError} with the refusal (one of the channel's error codes).
 */
export async function call<C extends RequestChannel>(
  channel: C,
  ...args: undefined extends RequestPayload<C> ? [payload?: RequestPayload<C>] : [payload: RequestPayload<C>]
): Promise<Result<C>> {
  const payload = args[0] ?? {};
  let reply: Reply<C>;
  try {
    reply = await getTransport().request(channel, payload);
  } catch (err) {
    throw new BridgeError<C>('internal', err instanceof Error ? err.message : String(err));
  }
  if (!reply || typeof reply !== 'object') throw new BridgeError<C>('internal', 'No reply.');
  if (reply.ok) return reply.result;
  throw new BridgeError<C>(reply.error?.code ?? 'internal', reply.error?.message ?? 'Refused.');
}

/** Like {@link call} but never throws: returns null on failure. For best-effort reads. */
export async function tryCall<C extends RequestChannel>(channel: C, payload?: RequestPayload<C>): Promise<Result<C> | null> {
  try {
    return await (call as (c: C, p?: RequestPayload<C>) => Promise<Result<C>>)(channel, payload);
  } catch {
    return null;
  }
}

/** Subscribes to one event channel; the listener gets that event's payload. Returns the unsubscribe function. */
export function on<E extends EventChannel>(event: E, listener: (payload: EventPayload<E>) => void): () => void {
  return getTransport().subscribe(event, listener as Listener);
}

/** The device list of a `device.list` reply or a `scan.results` event (an empty list for none). */
export function devicesOf(x: ScanResults | ScanEntry[] | null | undefined): ScanEntry[] {
  if (Array.isArray(x)) return x;
  if (x && typeof x === 'object' && Array.isArray(x.devices)) return x.devices;
  return [];
}
