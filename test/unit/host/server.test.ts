import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { CLOSE_REPLACED, MAX_CONNECTIONS, startBrowserHost, type BrowserHost } from '../../../electron/host/server';
import { FakeCore } from '../helpers/fake-core';

function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {

    const req = request(url, { headers }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

function openWs(url: string, headers: Record<string, string>): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.once('error', reject);
  });
}

function nextMessage(ws: WebSocket): Promise<Record<string, unknown>> {
  return new Promise((resolve) => ws.once('message', (d) => resolve(JSON.parse(d.toString()))));
}

describe('browser host', () => {
  let core: FakeCore;
  let host: BrowserHost;
  let origin: string;

  beforeEach(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'unknot-host-'));
    mkdirSync(join(dir, 'assets'));
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>Unknot</title>');
    writeFileSync(join(dir, 'assets', 'app.js'), 'console.log(1)');
    writeFileSync(join(tmpdir(), 'unknot-secret.txt'), 'secret');
    core = new FakeCore();
    host = await startBrowserHost({ core, rendererDir: dir, port: 0 });
    origin = `http://127.0.0.1:${host.port}`;
  });
  afterEach(async () => {
    await host.close();
  });

  it('prints a loopback URL with a token of at least 128 bits', () => {
    expect(host.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_-]+$/);
    expect(Buffer.from(host.token, 'base64url').length * 8).toBeGreaterThanOrEqual(128);
  });

  it('refuses HTTP without the token, and sets an HttpOnly SameSite=Strict cookie on the first load', async () => {
    expect((await get(`${origin}/`)).status).toBe(401);
    expect((await get(`${origin}/?token=wrong`)).status).toBe(401);
    expect((await get(`${origin}/assets/app.js`)).status).toBe(401);
    const first = await get(host.url);
    expect(first.status).toBe(200);
    const cookie = String(first.headers['set-cookie']);
    expect(cookie).toContain(`unknot_token=${host.token}`);
    expect(cookie).toContain('HttpOnly');
    expect(cookie).toContain('SameSite=Strict');
    expect(first.headers['content-security-policy']).toMatch(/default-src 'self'/);
    const withCookie = await get(`${origin}/assets/app.js`, { cookie: `unknot_token=${host.token}` });
    expect(withCookie.status).toBe(200);
    expect(withCookie.body).toBe('console.log(1)');
  });

  it(`past ${MAX_CONNECTIONS} WebSockets open at once, the oldest is closed (${CLOSE_REPLACED}) to let a new one in`, async () => {
    const headers = { Origin: origin };
    const url = `ws://127.0.0.1:${host.port}/ws?token=${host.token}`;
    const open: WebSocket[] = [];
    for (let i = 0; i < MAX_CONNECTIONS; i++) open.push(await openWs(url, headers));
    const closed = new Promise<number>((r) => open[0]!.once('close', (code) => r(code)));
    const again = await openWs(url, headers);
    expect(await closed).toBe(CLOSE_REPLACED);
    expect(open.slice(1).every((ws) => ws.readyState === WebSocket.OPEN)).toBe(true);
    for (const ws of [...open.slice(1), again]) ws.close();
  });

  it('refuses paths outside the renderer folder', async () => {
    const r = await get(`${origin}/..%2funknot-secret.txt?token=${host.token}`);
    expect([403, 404]).toContain(r.status);
    expect(r.body).not.toContain('secret');
  });

  it('listens on 127.0.0.1 only', async () => {
    // the bound address, as the OS reports it, is the loopback one
    expect(host.url.startsWith('http://127.0.0.1:')).toBe(true);
    const nets = (await import('node:os')).networkInterfaces();
    const external = Object.values(nets)
      .flat()
      .find((n) => n && n.family === 'IPv4' && !n.internal);
    if (external) {
      await expect(get(`http://${external.address}:${host.port}/?token=${host.token}`)).rejects.toThrow();
    }
  });

  it('refuses a WebSocket without the token or from another Origin', async () => {
    await expect(openWs(`ws://127.0.0.1:${host.port}/ws`, { origin })).rejects.toThrow(/401/);
    await expect(openWs(`ws://127.0.0.1:${host.port}/ws?token=${host.token}`, { origin: 'http://evil.example' })).rejects.toThrow(/403/);
    await expect(
      openWs(`ws://127.0.0.1:${host.port}/ws`, { origin: 'http://127.0.0.1:1', cookie: `unknot_token=${host.token}` }),
    ).rejects.toThrow(/403/);
    expect(core.attached).toHaveLength(0);
  });

  it('carries requests, replies and events in the JSON envelope, and refuses malformed messages', async () => {
    const ws = await openWs(`ws://127.0.0.1:${host.port}/ws`, { origin, cookie: `unknot_token=${host.token}` });
    ws.send(JSON.stringify({ id: 7, channel: 'app.info' }));
    expect(await nextMessage(ws)).toEqual({ id: 7, ok: true, result: { echoed: 'app.info' } });
    ws.send('not json');
    expect(await nextMessage(ws)).toMatchObject({ id: null, ok: false, error: { code: 'invalid-payload' } });
    ws.send(JSON.stringify({ id: 8, chan: 'x' }));
    expect(await nextMessage(ws)).toMatchObject({ id: 8, ok: false, error: { code: 'invalid-payload' } });
    core.attached[0]!.send('device.status', { connection: 'connected' });
    expect(await nextMessage(ws)).toEqual({ event: 'device.status', payload: { connection: 'connected' } });
    ws.close();
    await new Promise((r) => setTimeout(r, 100));
    expect(core.detached).toEqual([{ id: core.attached[0]!.id, reason: 'connection-lost' }]);
  });
});
