/**
 * The browser host (DESIGN §5, docs/bridge.md): serves the renderer to a local
 * browser and carries the IPC channels over a WebSocket, for machines where the
 * Electron binary cannot run.
 *
 * - Listens on 127.0.0.1 only.
 * - A random token (256 bits, base64url) guards everything: the first page load with
 *   `?token=` sets an HttpOnly, SameSite=Strict cookie; every HTTP request and every
 *   WebSocket upgrade needs the cookie or the `token` query parameter.
 * - The WebSocket is at `/ws`; its upgrade is refused unless Origin is the host's own.
 * - Requests go to the core's boundary as received (it validates every payload, as for
 *   Electron IPC); events are the contract's, with their payload types.
 * - Messages are JSON: requests `{ id, channel, payload }`, replies
 *   `{ id, ok: true, result }` / `{ id, ok: false, error: { code, message } }`,
 *   events `{ event, payload }`.
 * - The connection that starts a session owns it; losing it stops the motor.
 * - Flow control (`./flow`): stops and heartbeats run at once, other requests wait in
 *   a bounded queue per connection and are served in turns; store writes and history
 *   reads are rate-limited; a client that does not read is paused, then dropped.
 * - Liveness and caps: every WebSocket is pinged ({@link PING_INTERVAL_MS}); one silent
 *   for a whole ping period is cut off. At {@link MAX_CONNECTIONS} WebSockets the oldest
 *   that owns no session (nor runs the stop check) makes room for a new one. TCP
 *   connections are capped before any token check ({@link MAX_TCP_CONNECTIONS}: the
 *   silent and the idle make room, never a WebSocket) and must show the token within
 *   {@link UNAUTHENTICATED_TIMEOUT_MS}; a plain-HTTP keep-alive connection ends after
 *   {@link HTTP_KEEP_ALIVE_MS} idle.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import { z } from 'zod';
import type { Core, CoreConnection } from '../core/types';
import type { EventChannel, Reply } from '../ipc/contract';
import { SECURITY_HEADERS } from '../security/csp';
import { Dispatcher, FLOW_LIMITS, Lane, MOTION_CHANNELS, PRIORITY_CHANNELS, STATE_EVENTS, STOP_CHANNELS, overtakenByStop, rateLimited, type FlowRequest } from './flow';

/** One connection's stops of one channel: whether one runs, who waits for the next, with which payload. */
interface StopRun {
  running: boolean;
  waiting: (string | number)[];
  payload: unknown;
}

/** What the host keeps of one open WebSocket (see `peers` in {@link startBrowserHost}). */
interface Peer {
  lastHeardMs: number;
  pingedAtMs: number;
  sessionId: string | null;
  stopCheck: boolean;
}

/** Name of the cookie that carries the token. */
export const TOKEN_COOKIE = 'unknot_token';
/** Largest WebSocket message accepted, bytes. */
export const MAX_MESSAGE_BYTES = 64 * 1024;
/**
 * Most WebSocket connections open at once (a few windows need a handful). Each one may
 * hold up to a few MB in its buffers before flow control drops it, so this cap is what
 * bounds the host's memory under many clients that stop reading. One more gets in by
 * closing the oldest connection that owns no session ({@link CLOSE_REPLACED}); only when
 * every open one owns a session is it refused with HTTP 503 at the upgrade.
 */
export const MAX_CONNECTIONS = 10;
/**
 * How often the host pings every WebSocket connection, ms (ws's ping; browsers answer
 * with a pong by themselves, even from a background tab). A connection from which
 * nothing (no pong, no message) arrived since the previous ping is cut off at the next:
 * a frozen or vanished client is gone at most 2 × this after its last sign of life.
 */
export const PING_INTERVAL_MS = 5000;
/**
 * Close code for a connection closed to make room for a newer one when
 * {@link MAX_CONNECTIONS} are open (the oldest that owns no session goes).
 */
export const CLOSE_REPLACED = 4001;
/**
 * Most TCP connections held once things settle, counted as they are accepted, before any
 * token check (each one is a file descriptor). A new one at the cap makes room by closing,
 * in this order: the oldest that has not shown the token and sent nothing, then the
 * oldest that sent something but no token, then the plain-HTTP keep-alive connection
 * (token shown, no request in flight, not a WebSocket) idle the longest. A connection
 * accepted in this turn of the event loop or the one before is not judged yet (its
 * request may not have been read), nor, while others can go, one younger than
 * {@link TCP_FRESH_MS}: while nothing else can go, up to {@link TCP_FRESH_SLOTS} more
 * are let in, and the count is brought back to the cap once they can be judged. Only
 * when even those are full is the new one closed. A WebSocket is never closed here (the
 * WebSocket cap, {@link MAX_CONNECTIONS}, keeps session owners).
 */
export const MAX_TCP_CONNECTIONS = 64;
/** How many TCP connections above {@link MAX_TCP_CONNECTIONS} may be held for a moment, while the newest ones cannot be judged yet. */
export const TCP_FRESH_SLOTS = 64;
/** A TCP connection younger than this many ms is not closed to make room while an older one can be (an honest client sends its request at once). */
export const TCP_FRESH_MS = 100;
/**
 * The listen backlog: connections the kernel holds before the host accepts them. It bounds
 * how many are accepted in one turn of the event loop, so that the two turns a new
 * connection is protected for fit in {@link TCP_FRESH_SLOTS}; more wait in the kernel
 * (a client's connect takes longer; nothing is reset).
 */
export const TCP_BACKLOG = 48;
/**
 * How long a plain-HTTP keep-alive connection (token shown, not a WebSocket) may sit idle
 * between requests, ms (Node's `keepAliveTimeout`; its default is 5000). The page loads
 * its files at once, so a short wait loses nothing.
 */
export const HTTP_KEEP_ALIVE_MS = 2000;
/**
 * A TCP connection that has not sent a request (HTTP, or the WebSocket upgrade) with
 * the token within this many ms is closed, whether it trickles headers or sends
 * nothing; Node's own `headersTimeout` is set to the same.
 */
export const UNAUTHENTICATED_TIMEOUT_MS = 5000;
/** A whole HTTP request must have arrived within this many ms (Node's `requestTimeout`). */
export const REQUEST_TIMEOUT_MS = 10_000;
/** The stop channels' names as bytes, looked for in every message as it is read. */
const STOP_NAMES = [...STOP_CHANNELS].map((c) => Buffer.from(`"${c}"`));
/** The motion channels' names as bytes (a stop refuses the motion requests read before it and not run yet). */
const MOTION_NAMES = [...MOTION_CHANNELS].map((c) => Buffer.from(`"${c}"`));

/** A request envelope from a message's text, or null when it is not one. */
function parseRequest(raw: Buffer): FlowRequest | null {
  try {
    const env = RequestEnvelope.safeParse(JSON.parse(raw.toString()));
    return env.success ? { id: env.data.id, channel: env.data.channel, payload: env.data.payload } : null;
  } catch {
    return null;
  }
}

/** How long {@link BrowserHost.close} waits for clients to answer the close, ms. */
const CLOSE_GRACE_MS = 500;

export interface BrowserHostOptions {
  core: Core;
  /** Folder holding the built renderer (index.html and assets). */
  rendererDir: string;
  /** TCP port; 0 picks a free one. */
  port: number;
  /** Token to require; a random 256-bit one when absent. */
  token?: string;
  /** Ping period of the WebSocket connections, ms (default {@link PING_INTERVAL_MS}; tests shorten it). */
  pingIntervalMs?: number;
  /** Deadline for a TCP connection to show the token, ms (default {@link UNAUTHENTICATED_TIMEOUT_MS}). */
  unauthenticatedTimeoutMs?: number;
}

export interface BrowserHost {
  /** The address to open, with the token: `http://127.0.0.1:PORT/?token=TOKEN`. */
  url: string;
  port: number;
  token: string;
  /**
   * Closes every WebSocket with 1001 (each loss stops the motor it owned; a client that
   * does not answer within 0.5 s is cut off) and the server.
   */
  close(): Promise<void>;
  /** TCP connections open now (all of them: pages, WebSockets, those without the token yet). */
  tcpConnections(): number;
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
  '.wav': 'audio/wav',
};

const HEADERS: Record<string, string> = { ...SECURITY_HEADERS, 'Cache-Control': 'no-store' };

/** The request envelope. */
const RequestEnvelope = z
  .object({
    id: z.union([z.string().max(100), z.number().int()]),
    channel: z.string().max(100),
    payload: z.unknown().optional(),
  })
  .strict();

function sameToken(given: string | undefined, token: string): boolean {
  if (!given) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

function cookieToken(req: IncomingMessage): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === TOKEN_COOKIE) return v.join('=');
  }
  return undefined;
}

/** The request's URL, or null when it cannot be parsed (e.g. `GET //[ HTTP/1.1`): never a throw out of a listener. */
function requestUrl(req: IncomingMessage): URL | null {
  try {
    return new URL(req.url ?? '/', 'http://127.0.0.1');
  } catch {
    return null;
  }
}

function refuse(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { ...HEADERS, 'Content-Type': 'text/plain; charset=utf-8' });
  res.end(text);
}

/**
 * Starts the browser host on 127.0.0.1.
 * @throws when the port cannot be bound (e.g. `EADDRINUSE`).
 */
export async function startBrowserHost(options: BrowserHostOptions): Promise<BrowserHost> {
  const token = options.token ?? randomBytes(32).toString('base64url');
  const root = resolve(options.rendererDir);
  let port = options.port;
  const sockets = new Set<WebSocket>();
  /** Upgrades accepted but not yet open (they count toward {@link MAX_CONNECTIONS}). */
  let upgrading = 0;
  let nextId = 0;
  const pingIntervalMs = options.pingIntervalMs ?? PING_INTERVAL_MS;
  const unauthenticatedMs = options.unauthenticatedTimeoutMs ?? UNAUTHENTICATED_TIMEOUT_MS;
  /**
   * Each open WebSocket, oldest first: when something last came from it (monotonic ms),
   * when it was last pinged, the session it started and that has not ended yet, and
   * whether it runs the stop check or is the one to answer it (an owner too: the check
   * runs a session for it, and only it may answer).
   */
  const peers = new Map<WebSocket, Peer>();
  /**
   * Every TCP connection open, in the order accepted, with what the cap judges it by: when
   * it was accepted (monotonic ms, and the event-loop turn), whether it became a WebSocket,
   * its HTTP requests in flight, and since when it has had none. Those that showed the
   * token are in `trusted`.
   */
  const tcp = new Map<Socket, { acceptedMs: number; turn: number; ws: boolean; busy: number; idleSinceMs: number }>();
  const trusted = new WeakSet<Socket>();
  const trust = (socket: Socket | Duplex): void => {
    trusted.add(socket as Socket);
  };
  /** Turns of the event loop in which connections were accepted (one accept burst is one turn). */
  let turn = 0;
  let turnScheduled = false;
  const countTurn = (): void => {
    if (turnScheduled) return;
    turnScheduled = true;
    setImmediate(() => {
      turnScheduled = false;
      turn += 1;
    });
  };

  const authorised = (req: IncomingMessage, url: URL): 'query' | 'cookie' | null => {
    if (sameToken(url.searchParams.get('token') ?? undefined, token)) return 'query';
    if (sameToken(cookieToken(req), token)) return 'cookie';
    return null;
  };

  const serveFile = async (res: ServerResponse, pathname: string, setCookie: boolean): Promise<void> => {
    let rel: string;
    try {
      rel = decodeURIComponent(pathname);
    } catch {
      refuse(res, 400, 'Bad request.');
      return;
    }
    if (rel.includes('\0')) return refuse(res, 400, 'Bad request.');
    if (rel === '/' || rel === '') rel = '/index.html';
    const file = normalize(join(root, rel));
    if (file !== root && !file.startsWith(root + sep)) return refuse(res, 403, 'Forbidden.');
    let stat;
    try {
      stat = await fs.stat(file);
    } catch {
      return refuse(res, 404, 'Not found.');
    }
    if (!stat.isFile()) return refuse(res, 404, 'Not found.');
    const headers: Record<string, string | string[]> = {
      ...HEADERS,
      'Content-Type': CONTENT_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream',
      'Content-Length': String(stat.size),
    };
    if (setCookie) headers['Set-Cookie'] = `${TOKEN_COOKIE}=${token}; HttpOnly; SameSite=Strict; Path=/`;
    res.writeHead(200, headers);
    // A read that fails after the headers went out (the file vanished, EIO) ends this
    // response only; an unhandled stream error would be an uncaught exception.
    createReadStream(file)
      .on('error', () => res.destroy())
      .pipe(res);
  };

  const server: Server = createServer(
    // Slow headers (a trickle) and slow bodies are cut off soon, and checked every second
    // (Node's default check runs every 30 s).
    { headersTimeout: unauthenticatedMs, requestTimeout: REQUEST_TIMEOUT_MS, connectionsCheckingInterval: 1000 },
    (req, res) => {
      const meta = tcp.get(req.socket);
      if (meta) {
        meta.busy += 1;
        res.once('close', () => {
          meta.busy = Math.max(0, meta.busy - 1);
          meta.idleSinceMs = performance.now();
        });
      }
      const url = requestUrl(req);
      if (!url) return refuse(res, 400, 'Bad request.');
      const how = authorised(req, url);
      if (how) trust(req.socket);
      if (!how) {
        refuse(
          res,
          401,
          'Unknot needs the address it printed when it started (it holds a private token). Copy that whole address into the browser.',
        );
        return;
      }
      if (req.method !== 'GET' && req.method !== 'HEAD') return refuse(res, 405, 'Method not allowed.');
      void serveFile(res, url.pathname, how === 'query').catch(() => refuse(res, 500, 'Could not read the file.'));
    },
  );
  server.keepAliveTimeout = HTTP_KEEP_ALIVE_MS;

  // The TCP cap, before any token is seen: the file descriptors of the process are
  // shared with the store (a host out of them cannot write its usage log). See
  // MAX_TCP_CONNECTIONS for who makes room.
  const judged = (m: { acceptedMs: number; turn: number }, now: number): boolean => now - m.acceptedMs >= TCP_FRESH_MS && m.turn < turn - 1;
  /** The connection to close for a new one, or undefined; `fresh` allows those younger than {@link TCP_FRESH_MS} (not those of this turn or the last). */
  const pickVictim = (fresh: boolean): Socket | undefined => {
    const now = performance.now();
    let silent: Socket | undefined;
    let talking: Socket | undefined;
    let idle: Socket | undefined;
    let idleSince = Infinity;
    let unjudged: Socket | undefined;
    for (const [s, m] of tcp) {
      if (trusted.has(s)) {
        if (!m.ws && m.busy === 0 && m.idleSinceMs < idleSince) {
          idle = s;
          idleSince = m.idleSinceMs;
        }
        continue;
      }
      if (!judged(m, now)) {
        // Accepted two turns ago or more: its request, if it sent one at once, was read.
        if (m.turn < turn - 1) unjudged ??= s;
        continue;
      }
      if (s.bytesRead === 0) {
        silent = s;
        break; // the oldest silent one: nothing goes before it
      }
      talking ??= s;
    }
    return silent ?? talking ?? idle ?? (fresh ? unjudged : undefined);
  };
  const evict = (s: Socket): void => {
    tcp.delete(s);
    s.destroy();
  };
  let trimTimer: ReturnType<typeof setTimeout> | null = null;
  /** Back down to the cap once the connections let in over it can be judged. */
  const trim = (): void => {
    trimTimer = null;
    while (tcp.size > MAX_TCP_CONNECTIONS) {
      const victim = pickVictim(false);
      if (!victim) break;
      evict(victim);
    }
    if (tcp.size > MAX_TCP_CONNECTIONS) scheduleTrim();
  };
  const scheduleTrim = (): void => {
    countTurn();
    trimTimer ??= setTimeout(trim, TCP_FRESH_MS);
    trimTimer.unref();
  };
  server.on('connection', (socket: Socket) => {
    countTurn();
    if (tcp.size >= MAX_TCP_CONNECTIONS) {
      const victim = pickVictim(tcp.size >= MAX_TCP_CONNECTIONS + TCP_FRESH_SLOTS);
      if (victim) evict(victim);
      else if (tcp.size >= MAX_TCP_CONNECTIONS + TCP_FRESH_SLOTS) {
        socket.destroy();
        return;
      }
      if (tcp.size >= MAX_TCP_CONNECTIONS) scheduleTrim();
    }
    const now = performance.now();
    tcp.set(socket, { acceptedMs: now, turn, ws: false, busy: 0, idleSinceMs: now });
    const deadline = setTimeout(() => {
      if (!trusted.has(socket)) socket.destroy();
    }, unauthenticatedMs);
    deadline.unref();
    socket.once('close', () => {
      clearTimeout(deadline);
      tcp.delete(socket);
    });
  });

  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES, perMessageDeflate: false });

  server.on('upgrade', (req, socket, head) => {
    const url = requestUrl(req);
    const deny = (status: number, text: string): void => {
      socket.write(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      socket.destroy();
    };
    if (!url) return deny(400, 'Bad Request');
    if (url.pathname !== '/ws') return deny(404, 'Not Found');
    if (!authorised(req, url)) return deny(401, 'Unauthorized');
    const origin = req.headers.origin;
    if (origin !== `http://127.0.0.1:${port}` && origin !== `http://localhost:${port}`) return deny(403, 'Forbidden');
    // At the cap the oldest connection that owns no session makes room (a page reloaded
    // while old or frozen tabs hold every slot still gets in); the session's owner stays.
    if (sockets.size + upgrading >= MAX_CONNECTIONS && !evictOldest()) return deny(503, 'Service Unavailable');
    trust(socket);
    const meta = tcp.get(socket as Socket);
    if (meta) meta.ws = true;
    upgrading += 1;
    let counted = false;
    socket.once('close', () => {
      if (!counted) upgrading = Math.max(0, upgrading - 1);
    });
    wss.handleUpgrade(req, socket, head, (ws) => {
      counted = true;
      upgrading = Math.max(0, upgrading - 1);
      accept(ws, socket);
    });
  });

  /**
   * Closes the oldest WebSocket that owns no session (code {@link CLOSE_REPLACED}; cut off
   * if it does not answer within the close grace) and stops counting it at once.
   * @returns false when every open connection owns a session.
   */
  const evictOldest = (): boolean => {
    for (const [ws, peer] of peers) {
      if (peer.sessionId !== null || peer.stopCheck) continue;
      sockets.delete(ws);
      peers.delete(ws);
      ws.close(CLOSE_REPLACED, 'Too many Unknot pages are open: this one was closed for a newer one.');
      setTimeout(() => ws.terminate(), CLOSE_GRACE_MS).unref();
      return true;
    }
    return false;
  };

  // Pings: a connection that sent nothing since the previous ping is cut off. After a
  // tick much later than planned (this process was stopped or starved), nobody is cut
  // off: the pongs may be waiting unread; everyone is pinged again.
  let lastTickMs = performance.now();
  const pinger = setInterval(() => {
    const now = performance.now();
    const late = now - lastTickMs > pingIntervalMs * 1.5;
    lastTickMs = now;
    for (const [ws, peer] of peers) {
      if (!late && peer.pingedAtMs > 0 && peer.lastHeardMs < peer.pingedAtMs) {
        peers.delete(ws);
        ws.terminate();
        continue;
      }
      peer.pingedAtMs = now;
      try {
        ws.ping();
      } catch {
        /* closing already */
      }
    }
  }, pingIntervalMs);
  pinger.unref();

  /** Each open connection's lane and how to send to it. */
  const lanes = new Map<Lane, { send: (data: unknown) => void; ownSession: (sessionId: string) => void; peer: Peer }>();
  const dispatcher = new Dispatcher((lane, req) => {
    const conn = lanes.get(lane);
    if (!conn) return dispatcher.finished(lane);
    // The stop check's connection owns the check's session and its answer: not evicted
    // from the moment it asks until the check ends (see sendEvent) or it answered.
    if (req.channel === 'stopCheck.run') conn.peer.stopCheck = true;
    void options.core
      .handle(lane.id, req.channel, req.payload)
      .catch((err: unknown): Reply => ({ ok: false, error: { code: 'internal', message: `Something went wrong (${String(err)}).` } }))
      .then((reply) => {
        if (req.channel === 'session.start' && reply.ok) {
          // This connection owns the session until it ends (see sendEvent).
          const sessionId = (reply.result as { sessionId?: unknown } | undefined)?.sessionId;
          if (typeof sessionId === 'string') conn.ownSession(sessionId);
        }
        if (req.channel === 'stopCheck.run' || req.channel === 'stopCheck.answer') {
          const check = reply.ok ? (reply.result as { stopCheck?: unknown } | undefined)?.stopCheck : undefined;
          conn.peer.stopCheck = req.channel === 'stopCheck.run' ? check === 'asking' : !reply.ok && conn.peer.stopCheck;
        }
        conn.send({ id: req.id, ...reply });
        dispatcher.finished(lane);
      });
  });

  const accept = (ws: WebSocket, socket: Duplex): void => {
    nextId += 1;
    const id = `ws:${nextId}`;
    sockets.add(ws);
    const peer: Peer = { lastHeardMs: performance.now(), pingedAtMs: 0, sessionId: null, stopCheck: false };
    peers.set(ws, peer);
    const heard = (): void => {
      peer.lastHeardMs = performance.now();
    };
    ws.on('pong', heard);
    ws.on('ping', heard);
    const lane = new Lane(id);
    let drainTimer: ReturnType<typeof setInterval> | null = null;

    /** Back to normal once the outgoing buffer has drained: held events go out, reading resumes. */
    const checkDrained = (): void => {
      if (!lane.backedUp || ws.bufferedAmount > FLOW_LIMITS.resumeBelowBytes) return;
      lane.backedUp = false;
      if (drainTimer) clearInterval(drainTimer);
      drainTimer = null;
      socket.off('drain', checkDrained);
      for (const [event, payload] of lane.takeHeld()) deliverEvent(event, payload);
      if (!lane.backedUp) {
        if (!readPaused) ws.resume();
        dispatcher.schedule();
      }
    };
    /** After every send: pause a connection that does not read, drop one far behind. */
    const checkOutgoing = (): void => {
      const buffered = ws.bufferedAmount;
      if (buffered > FLOW_LIMITS.closeAboveBytes) {
        ws.terminate();
        return;
      }
      if (buffered > FLOW_LIMITS.pauseAboveBytes && !lane.backedUp) {
        lane.backedUp = true;
        ws.pause();
        socket.on('drain', checkDrained);
        drainTimer = setInterval(checkDrained, FLOW_LIMITS.drainCheckMs);
        drainTimer.unref();
      }
    };
    let corked = false;
    const send = (data: unknown): void => {
      if (ws.readyState !== ws.OPEN) return;
      // Everything sent in one go (say, the replies to one chunk of requests) leaves in
      // one write: far cheaper than a system call per message under a flood.
      if (!corked) {
        corked = true;
        socket.cork();
        process.nextTick(() => {
          corked = false;
          socket.uncork();
        });
      }
      ws.send(JSON.stringify(data));
      checkOutgoing();
    };
    /** Sends an event now, or, while this connection is backed up, holds it when it is a state event. */
    const deliverEvent = (event: EventChannel, payload: unknown): void => {
      if (lane.backedUp && STATE_EVENTS.has(event)) lane.hold(event, payload);
      else send({ event, payload });
    };
    const sendEvent: CoreConnection['send'] = (event, payload) => {
      if (peer.sessionId !== null && (event === 'session.ended' || (event === 'session.state' && (payload as { state?: unknown }).state === 'ended'))) {
        if ((payload as { sessionId?: unknown }).sessionId === peer.sessionId) peer.sessionId = null;
      }
      if (peer.stopCheck && event === 'device.status') {
        // The check is over (answered elsewhere, the device went away): no longer an owner.
        const check = (payload as { stopCheck?: unknown }).stopCheck;
        if (check !== 'running' && check !== 'asking') peer.stopCheck = false;
      }
      deliverEvent(event, payload);
    };
    lanes.set(lane, {
      peer,
      send,
      ownSession: (sessionId) => {
        peer.sessionId = sessionId;
      },
    });
    dispatcher.add(lane);
    options.core.attach({ id, kind: 'ws', send: sendEvent });
    // Stops (device.stop, session.hurt) of this connection: one of each runs at a time;
    // those that arrive meanwhile share the next one (which starts when it ends, with
    // the latest payload), so a flood of stops stays one stop deep and none is refused.
    const stops = new Map<string, StopRun>();
    const stopNow = (channel: string, reqId: string | number, payload: unknown): void => {
      let run = stops.get(channel);
      if (!run) stops.set(channel, (run = { running: false, waiting: [], payload }));
      run.waiting.push(reqId);
      run.payload = payload;
      if (!run.running) runStop(channel, run);
    };
    const runStop = (channel: string, run: StopRun): void => {
      run.running = true;
      const ids = run.waiting;
      run.waiting = [];
      void options.core.handle(id, channel, run.payload).then((reply) => {
        for (const r of ids) send({ id: r, ...reply });
        run.running = false;
        if (run.waiting.length > 0) runStop(channel, run);
      });
    };
    /** Parses one text message and runs it (a stop or a heartbeat), queues it or refuses it. */
    const route = (raw: Buffer): void => {
      let parsed: unknown;
      try {
        parsed = JSON.parse(raw.toString());
      } catch {
        send({ id: null, ok: false, error: { code: 'invalid-payload', message: 'The message is not valid JSON.' } });
        return;
      }
      const env = RequestEnvelope.safeParse(parsed);
      if (!env.success) {
        const maybeId = typeof parsed === 'object' && parsed && 'id' in parsed ? (parsed as { id: unknown }).id : null;
        send({
          id: typeof maybeId === 'string' || typeof maybeId === 'number' ? maybeId : null,
          ok: false,
          error: { code: 'invalid-payload', message: 'A request is { "id", "channel", "payload" }.' },
        });
        return;
      }
      const req = { id: env.data.id, channel: env.data.channel, payload: env.data.payload };
      if (PRIORITY_CHANNELS.has(req.channel)) {
        // A stop or a heartbeat runs now, ahead of everything queued; a stop also
        // refuses this connection's earlier motion requests that have not run yet.
        if (STOP_CHANNELS.has(req.channel)) {
          for (const r of lane.overtakenBy()) send({ id: r.id, ...overtakenByStop(r.channel) });
          stopNow(req.channel, req.id, req.payload);
          return;
        }
        void options.core.handle(id, req.channel, req.payload).then((reply) => send({ id: req.id, ...reply }));
        return;
      }
      const admitted = lane.admit(req);
      if (admitted === 'queued') dispatcher.schedule();
      else send({ id: req.id, ...rateLimited(req.channel, admitted) });
    };

    // This connection's messages are parsed and answered at most `messagesPerTurn` per
    // pass of the event loop; the rest of what was read waits in the inbox, and reading
    // pauses until it is empty, so a flood on one socket cannot hold up a stop on
    // another. A stop is looked for as each message is read (a search for its channel's
    // name, cheap) and runs at once, refusing the motion requests read before it.
    const inbox: { raw: Buffer; motion: boolean }[] = [];
    let motionInInbox = 0;
    let readPaused = false;
    let handledThisTurn = 0;
    let stopsThisTurn = 0;
    let turnScheduled = false;
    const nextTurn = (): void => {
      if (turnScheduled) return;
      turnScheduled = true;
      setImmediate(() => {
        turnScheduled = false;
        handledThisTurn = 0;
        stopsThisTurn = 0;
        while (inbox.length > 0 && handledThisTurn < FLOW_LIMITS.messagesPerTurn && !lane.closed) {
          handledThisTurn += 1;
          const e = inbox.shift()!;
          if (e.motion) motionInInbox -= 1;
          route(e.raw);
        }
        if (inbox.length > 0) nextTurn();
        else if (readPaused) {
          readPaused = false;
          if (!lane.backedUp && !lane.closed) ws.resume();
        }
      });
    };
    /** A stop was read out of turn: the motion requests waiting in the inbox, sent before it, are refused. */
    const overtakeInbox = (): void => {
      for (let i = inbox.length - 1; i >= 0 && motionInInbox > 0; i -= 1) {
        const e = inbox[i]!;
        if (!e.motion) continue;
        e.motion = false;
        motionInInbox -= 1;
        const req = parseRequest(e.raw);
        if (req && MOTION_CHANNELS.has(req.channel)) {
          inbox.splice(i, 1);
          send({ id: req.id, ...overtakenByStop(req.channel) });
        }
      }
    };
    ws.on('message', (data, isBinary) => {
      heard();
      if (lane.closed) return;
      if (isBinary) {
        send({ id: null, ok: false, error: { code: 'invalid-payload', message: 'Messages must be JSON text.' } });
        return;
      }
      const raw = data as Buffer;
      if (stopsThisTurn < FLOW_LIMITS.stopsPerTurn && STOP_NAMES.some((name) => raw.includes(name))) {
        stopsThisTurn += 1;
        nextTurn();
        if (motionInInbox > 0) overtakeInbox();
        route(raw);
        return;
      }
      if (inbox.length === 0 && handledThisTurn < FLOW_LIMITS.messagesPerTurn) {
        handledThisTurn += 1;
        nextTurn();
        route(raw);
        return;
      }
      const motion = MOTION_NAMES.some((name) => raw.includes(name));
      if (motion) motionInInbox += 1;
      inbox.push({ raw, motion });
      if (!readPaused) {
        readPaused = true;
        ws.pause();
      }
      nextTurn();
    });
    ws.on('close', () => {
      sockets.delete(ws);
      peers.delete(ws);
      if (drainTimer) clearInterval(drainTimer);
      socket.off('drain', checkDrained);
      dispatcher.remove(lane);
      lanes.delete(lane);
      void options.core.detach(id, 'connection-lost');
    });
    ws.on('error', () => ws.terminate());
  };

  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen({ port, host: '127.0.0.1', backlog: TCP_BACKLOG }, () => {
      server.off('error', reject);
      resolveListen();
    });
  });
  port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}/?token=${token}`,
    port,
    token,
    tcpConnections: () => tcp.size,
    close: async () => {
      const closed = [...sockets].map((ws) => new Promise<void>((r) => ws.once('close', () => r())));
      // Going away (1001): what was sent before still arrives; a client that does not
      // answer the close within the grace is cut off.
      for (const ws of sockets) ws.close(1001, 'Unknot is shutting down.');
      const grace = setTimeout(() => {
        for (const ws of sockets) ws.terminate();
      }, CLOSE_GRACE_MS);
      await Promise.all(closed);
      clearTimeout(grace);
      clearInterval(pinger);
      if (trimTimer) clearTimeout(trimTimer);
      dispatcher.dispose();
      wss.close();
      const done = new Promise<void>((r) => server.close(() => r()));
      server.closeAllConnections();
      await done;
    },
  };
}
