/**
 * The `app://unknot/` scheme that serves the renderer from `out/renderer` — no
 * `file://` pages, no remote content (Electron security checklist: "use a custom
 * protocol instead of file://").
 *
 * The scheme is registered as privileged (standard + secure, so `'self'` in the CSP,
 * relative URLs, ES modules and web storage behave as on https) before the app is
 * ready; the handler answers only GET/HEAD for files inside the renderer folder,
 * refuses anything that would leave it, and adds the CSP and hardening headers.
 */
import { promises as fsp } from 'node:fs';
import { extname, isAbsolute, relative, resolve, sep } from 'node:path';
import type { CustomScheme, Protocol } from 'electron';
import { SECURITY_HEADERS } from '../security/csp';

/** The custom scheme the renderer is served from. */
export const APP_SCHEME = 'app';
/** The one host of that scheme. */
export const APP_HOST = 'unknot';
/** Origin of every page of ours; IPC senders must be on it. */
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`;
/** The page each window loads. */
export const APP_ENTRY_URL = `${APP_ORIGIN}/index.html`;

/**
 * How the scheme is registered: a standard, secure origin with the fetch API (ES
 * modules), streaming (audio cues) and the V8 code cache. Deliberately NOT
 * `bypassCSP`, `corsEnabled`, `allowServiceWorkers` or `allowExtensions`.
 */
export const APP_SCHEME_PRIVILEGES: CustomScheme = Object.freeze({
  scheme: APP_SCHEME,
  privileges: Object.freeze({ standard: true, secure: true, supportFetchAPI: true, stream: true, codeCache: true }),
});

/**
 * Registers `app://` as privileged. Must run before the app's `ready` event, once.
 * @param protocol Electron's `protocol` module (or a fake in tests)
 */
export function registerAppScheme(protocol: Pick<Protocol, 'registerSchemesAsPrivileged'>): void {
  protocol.registerSchemesAsPrivileged([APP_SCHEME_PRIVILEGES]);
}

const MIME_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.wav': 'audio/wav',
  '.mp3': 'audio/mpeg',
  '.ogg': 'audio/ogg',
  '.oga': 'audio/ogg',
  '.webm': 'audio/webm',
};

/** The MIME type served for a file name (octet-stream when unknown). */
export function mimeTypeFor(fileName: string): string {
  return MIME_TYPES[extname(fileName).toLowerCase()] ?? 'application/octet-stream';
}

/** Why a URL was not mapped to a file. */
export type ResolveRefusal = 'wrong-origin' | 'bad-path' | 'traversal';

/**
 * Maps an `app://unknot/…` URL to a file path inside `rootDir`, or says why not.
 * Refuses another scheme or host, undecodable or NUL/backslash-bearing paths, and any
 * path (also percent-encoded) that would leave the root. `/` maps to `index.html`.
 * Symbolic links are checked separately by the handler.
 */
export function resolveAppPath(rootDir: string, url: string): { path: string } | { refused: ResolveRefusal } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { refused: 'bad-path' };
  }
  if (parsed.protocol !== `${APP_SCHEME}:` || parsed.host !== APP_HOST || parsed.username || parsed.password) {
    return { refused: 'wrong-origin' };
  }
  let pathname: string;
  try {
    pathname = decodeURIComponent(parsed.pathname);
  } catch {
    return { refused: 'bad-path' };
  }
  if (pathname.includes('\0') || pathname.includes('\\')) return { refused: 'bad-path' };
  const segments = pathname.split('/').filter((s) => s !== '' && s !== '.');
  if (segments.some((s) => s === '..')) return { refused: 'traversal' };
  if (segments.length === 0) segments.push('index.html');
  const root = resolve(rootDir);
  const full = resolve(root, ...segments);
  const rel = relative(root, full);
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) return { refused: 'traversal' };
  return { path: full };
}

/** File-system operations the handler needs (injected in tests). */
export interface ProtocolFs {
  readFile(path: string): Promise<Uint8Array>;
  realpath(path: string): Promise<string>;
}

const nodeFs: ProtocolFs = {
  readFile: (p) => fsp.readFile(p),
  realpath: (p) => fsp.realpath(p),
};

function plain(status: number, text: string): Response {
  return new Response(text, {
    status,
    headers: { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store', ...SECURITY_HEADERS },
  });
}

/**
 * Builds the `protocol.handle` handler serving files from `rootDir` with the CSP and
 * hardening headers on every response (errors included). 403 for a path outside the
 * root (also through a symbolic link), 404 for a missing file, 405 for anything but
 * GET or HEAD. Never throws.
 * @param options.rootDir the built renderer folder (`out/renderer`)
 * @param options.fs file access, Node's by default
 */
export function createAppProtocolHandler(options: { rootDir: string; fs?: ProtocolFs }): (request: Request) => Promise<Response> {
  const fs = options.fs ?? nodeFs;
  const root = resolve(options.rootDir);
  let realRoot: Promise<string> | undefined;
  return async (request) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') return plain(405, 'Method not allowed');
    const resolved = resolveAppPath(root, request.url);
    if ('refused' in resolved) return plain(resolved.refused === 'bad-path' ? 400 : 403, 'Forbidden');
    try {
      realRoot ??= fs.realpath(root);
      const [rootReal, fileReal] = await Promise.all([realRoot, fs.realpath(resolved.path)]);
      if (fileReal !== rootReal && !fileReal.startsWith(rootReal.endsWith(sep) ? rootReal : rootReal + sep)) {
        return plain(403, 'Forbidden');
      }
      const body = await fs.readFile(fileReal);
      const headers = { 'Content-Type': mimeTypeFor(resolved.path), 'Cache-Control': 'no-cache', ...SECURITY_HEADERS };
      return new Response(request.method === 'HEAD' ? null : new Uint8Array(body), { status: 200, headers });
    } catch {
      return plain(404, 'Not found');
    }
  };
}

/**
 * Installs the handler for `app://` on a session's protocol object (after `ready`).
 * @param protocol `session.protocol` of the windows' session
 */
export function installAppProtocol(protocol: Pick<Protocol, 'handle'>, handler: (request: Request) => Promise<Response>): void {
  protocol.handle(APP_SCHEME, handler as Parameters<Protocol['handle']>[1]);
}
