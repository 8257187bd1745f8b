import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { CONTENT_SECURITY_POLICY } from '../../../electron/security/csp';
import {
  APP_SCHEME,
  createAppProtocolHandler,
  installAppProtocol,
  registerAppScheme,
  resolveAppPath,
} from '../../../electron/main/protocol';

let base: string;
let root: string;
let handler: (request: Request) => Promise<Response>;

beforeAll(() => {
  base = mkdtempSync(join(tmpdir(), 'unknot-protocol-'));
  root = join(base, 'renderer');
  mkdirSync(join(root, 'assets'), { recursive: true });
  writeFileSync(join(root, 'index.html'), '<!doctype html><title>Unknot</title>');
  writeFileSync(join(root, 'assets', 'index-abc.js'), 'console.log(1)');
  writeFileSync(join(root, 'assets', 'style.css'), 'body{}');
  writeFileSync(join(base, 'secret.txt'), 'SECRET');
  symlinkSync(join(base, 'secret.txt'), join(root, 'assets', 'link.txt'));
  handler = createAppProtocolHandler({ rootDir: root });
});

afterAll(() => rmSync(base, { recursive: true, force: true }));

const get = (url: string, method = 'GET') => handler(new Request(url, { method }));

describe('app:// protocol handler', () => {
  it('serves the renderer with the CSP and hardening headers', async () => {
    const res = await get('app://unknot/index.html');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await res.text()).toContain('<title>Unknot</title>');
    const js = await get('app://unknot/assets/index-abc.js');
    expect(js.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(js.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY);
    expect((await get('app://unknot/')).status).toBe(200);
  });

  it('has the strict policy the design asks for', () => {
    expect(CONTENT_SECURITY_POLICY).toBe(
      "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'",
    );
  });

  it.each([
    'app://unknot/../secret.txt',
    'app://unknot/%2e%2e/secret.txt',
    'app://unknot/assets/%2e%2e%2f%2e%2e%2fsecret.txt',
    'app://unknot/..%2fsecret.txt',
    'app://unknot/..%5csecret.txt',
    'app://unknot/assets%5c..%5c..%5csecret.txt',
    'app://unknot/%00index.html',
    'app://unknot/%E0%A4%A',
    'app://unknot/assets/link.txt',
    'app://evil/index.html',
    'app://unknot.evil/index.html',
    'https://unknot/index.html',
  ])('refuses %s and never returns the secret', async (url) => {
    const res = await get(url);
    expect([400, 403, 404]).toContain(res.status);
    expect(res.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY);
    expect(await res.text()).not.toContain('SECRET');
  });

  it('resolves only inside the root', () => {
    expect(resolveAppPath(root, 'app://unknot/assets/style.css')).toEqual({ path: join(root, 'assets', 'style.css') });
    // URL parsing already folds dot segments (also %2e%2e) and clamps them at the root…
    expect(resolveAppPath(root, 'app://unknot/a/%2e%2e/%2e%2e/x')).toEqual({ path: join(root, 'x') });
    // …an encoded slash survives parsing and is refused after decoding.
    expect(resolveAppPath(root, 'app://unknot/a/..%2f..%2f..%2fx')).toEqual({ refused: 'traversal' });
    expect(resolveAppPath(root, 'app://other/x')).toEqual({ refused: 'wrong-origin' });
  });

  it('answers 404 for a missing file and a folder, 405 for other methods, no body for HEAD', async () => {
    expect((await get('app://unknot/nope.js')).status).toBe(404);
    expect((await get('app://unknot/assets')).status).toBe(404);
    expect((await get('app://unknot/index.html', 'POST')).status).toBe(405);
    const head = await get('app://unknot/index.html', 'HEAD');
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
  });

  it('registers the scheme as standard and secure without bypassing the CSP, and installs the handler', () => {
    const protocol = { registerSchemesAsPrivileged: vi.fn(), handle: vi.fn() };
    registerAppScheme(protocol);
    const [schemes] = protocol.registerSchemesAsPrivileged.mock.calls[0]!;
    expect(schemes).toEqual([{ scheme: APP_SCHEME, privileges: expect.objectContaining({ standard: true, secure: true }) }]);
    const privileges = (schemes as { privileges: Record<string, boolean> }[])[0]!.privileges;
    for (const risky of ['bypassCSP', 'corsEnabled', 'allowServiceWorkers', 'allowExtensions']) expect(privileges[risky]).toBeFalsy();
    installAppProtocol(protocol, handler);
    expect(protocol.handle).toHaveBeenCalledWith(APP_SCHEME, handler);
  });
});
