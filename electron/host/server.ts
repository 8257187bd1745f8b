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
 * - Messages are JSON: requests `{ id, channel, payload }`, replies
 *   `{ id, ok: true, result }` / `{ id, ok: false, error: { code, message } }`,
 *   events `{ event, payload }`.
 * - The connection that starts a session owns it; losing it stops the motor.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import { z } from 'zod';
import type { Core } from '../core/types';
import { SECURITY_HEADERS } from '../security/csp';

/** Name of the cookie that carries the token. */
export const TOKEN_COOKIE = 'unknot_token';
/** Largest WebSocket message accepted, bytes. */
export const MAX_MESSAGE_BYTES = 64 * 1024;

export interface BrowserHostOptions {
  core: Core;
  /** Folder holding the built renderer (index.html and assets). */
  rendererDir: string;
  /** TCP port; 0 picks a free one. */
  port: number;
  /** Token to require; a random 256-bit one when absent. */
  token?: string;
}

export interface BrowserHost {
  /** The address to open, with the token: `http://127.0.0.1:PORT/?token=TOKEN`. */
  url: string;
  port: number;
  token: string;
  /** Closes every WebSocket (each loss stops the motor it owned) and the server. */
  close(): Promise<void>;
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
  let nextId = 0;

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

  const server: Server = createServer((req, res) => {
    const url = requestUrl(req);
    if (!url) return refuse(res, 400, 'Bad request.');
    const how = authorised(req, url);
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
    wss.handleUpgrade(req, socket, head, (ws) => accept(ws));
  });

  const accept = (ws: WebSocket): void => {
    nextId += 1;
    const id = `ws:${nextId}`;
    sockets.add(ws);
    const send = (data: unknown): void => {
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(data));
    };
    options.core.attach({ id, kind: 'ws', send: (event, payload) => send({ event, payload }) });
    ws.on('message', (raw, isBinary) => {
      if (isBinary) {
        send({ id: null, ok: false, error: { code: 'invalid-payload', message: 'Messages must be JSON text.' } });
        return;
      }
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
      const { id: reqId, channel, payload } = env.data;
      void options.core.handle(id, channel, payload).then((reply) => send({ id: reqId, ...reply }));
    });
    ws.on('close', () => {
      sockets.delete(ws);
      void options.core.detach(id, 'connection-lost');
    });
    ws.on('error', () => ws.terminate());
  };

  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolveListen();
    });
  });
  port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}/?token=${token}`,
    port,
    token,
    close: async () => {
      const closed = [...sockets].map((ws) => new Promise<void>((r) => ws.once('close', () => r())));
      for (const ws of sockets) ws.terminate();
      await Promise.all(closed);
      wss.close();
      const done = new Promise<void>((r) => server.close(() => r()));
      server.closeAllConnections();
      await done;
    },
  };
}
