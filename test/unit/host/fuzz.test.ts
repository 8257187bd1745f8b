/**
 * Robustness of the browser host against hostile or broken input (docs/bridge.md):
 * a real `startBrowserHost` over a real demo core, driven with odd HTTP requests, odd
 * WebSocket upgrades and fast-check generated WebSocket messages.
 *
 * What must hold: every request gets an answer (a status, or a reply envelope with a
 * known error code), nothing throws out of a listener (no uncaught exception), the
 * connection stays open, nothing is polluted, `device.stop` still stops the gun, and
 * the simulated Theragun Pro never received a speed above 2169 rpm (the default 60%
 * ceiling of 3616 rpm).
 */
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createCore, type AppCore } from '../../../electron/core/app-core';
import { MAX_MESSAGE_BYTES, startBrowserHost, type BrowserHost } from '../../../electron/host/server';
import { REQUEST_CHANNELS, type ScanResults } from '../../../electron/ipc/contract';

const PRO = 'sim-theragun-pro';
/** floor(0.6 × 3616): the highest rpm the app may command at the default ceiling. */
const MAX_RPM = 2169;
const ANSWERS = { pregnant: false, 'heart-condition': false, 'high-blood-pressure': false };
const ERROR_CODES = new Set([
  'invalid-payload',
  'unknown-channel',
  'forbidden',
  'not-connected',
  'no-session',
  'not-owner',
  'refused',
  'blocked-by-screening',
  'budget-exhausted',
  'device-error',
  'rate-limited',
  'internal',
]);

type Msg = Record<string, unknown>;

/** A WebSocket client that separates replies from events. */
class Client {
  readonly replies: Msg[] = [];
  readonly events: Msg[] = [];
  closed: { code: number } | null = null;
  private waiters: (() => void)[] = [];
  private seq = 0;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const m = JSON.parse(data.toString()) as Msg;
      if ('event' in m) this.events.push(m);
      else this.replies.push(m);
      for (const w of this.waiters.splice(0)) w();
    });
    ws.on('close', (code) => {
      this.closed = { code };
      for (const w of this.waiters.splice(0)) w();
    });
  }

  static open(host: BrowserHost, headers: Record<string, string> = {}, path = '/ws'): Promise<Client> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${host.port}${path}`, {
        headers: { origin: `http://127.0.0.1:${host.port}`, cookie: `unknot_token=${host.token}`, ...headers },
      });
      ws.once('open', () => resolve(new Client(ws)));
      ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
      ws.once('error', reject);
    });
  }

  /** Waits until `n` replies have arrived (or fails after `ms`). */
  async waitReplies(n: number, ms = 5000): Promise<void> {
    const end = Date.now() + ms;
    while (this.replies.length < n) {
      if (this.closed) throw new Error(`connection closed (${this.closed.code}) with ${this.replies.length}/${n} replies`);
      const left = end - Date.now();
      if (left <= 0) throw new Error(`only ${this.replies.length}/${n} replies after ${ms} ms`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  /** Sends raw data and returns the one reply it must get. */
  async raw(data: string | Buffer, binary = false, ms = 5000): Promise<Msg> {
    const n = this.replies.length + 1;
    this.ws.send(data, { binary });
    await this.waitReplies(n, ms);
    return this.replies[n - 1]!;
  }

  /** A request; resolves with its reply (matched by id). */
  async request(channel: string, payload?: unknown, ms = 15_000): Promise<Msg> {
    this.seq += 1;
    const id = `c${this.seq}`;
    this.ws.send(JSON.stringify(payload === undefined ? { id, channel } : { id, channel, payload }));
    const end = Date.now() + ms;
    for (;;) {
      const found = this.replies.find((r) => r.id === id);
      if (found) return found;
      if (this.closed) throw new Error(`connection closed (${this.closed.code}) before the reply to ${channel}`);
      if (Date.now() > end) throw new Error(`no reply to ${channel} in ${ms} ms`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, 50);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  async ok<T = unknown>(channel: string, payload?: unknown): Promise<T> {
    const r = await this.request(channel, payload);
    if (r.ok !== true) throw new Error(`${channel}: ${JSON.stringify(r.error)}`);
    return r.result as T;
  }

  close(): void {
    this.ws.terminate();
  }
}

/** A reply envelope as docs/bridge.md defines it. */
function expectEnvelope(m: Msg, id: unknown): void {
  expect(m.id).toEqual(id);
  if (m.ok === true) {
    expect('result' in m).toBe(true);
  } else {
    expect(m.ok).toBe(false);
    const error = m.error as { code: unknown; message: unknown };
    expect(ERROR_CODES.has(String(error.code)), `unknown error code ${String(error.code)}`).toBe(true);
    expect(typeof error.message).toBe('string');
    expect((error.message as string).length).toBeGreaterThan(0);
  }
}

/** Sends raw bytes on a fresh TCP connection; resolves with what came back, or `timeout`. */
function rawHttp(port: number, text: string | Buffer, ms = 2000): Promise<string> {
  return new Promise((resolve) => {
    let out = '';
    // one request per connection: ask the server to close after its answer
    const data = typeof text === 'string' ? Buffer.from(text, 'latin1') : text;
    const asText = data.toString('latin1');
    const closing = /^[A-Z]+ [^\r\n]* HTTP\/1\.1\r\n/.test(asText) && !/\r\nUpgrade:/i.test(asText) ? asText.replace('\r\n', '\r\nConnection: close\r\n') : asText;
    const s = connect(port, '127.0.0.1', () => s.write(Buffer.from(closing, 'latin1')));
    const t = setTimeout(() => {
      s.destroy();
      resolve(`${out}<timeout>`);
    }, ms);
    s.on('data', (d) => (out += d.toString('latin1')));
    s.on('error', () => undefined);
    s.on('close', () => {
      clearTimeout(t);
      resolve(out);
    });
  });
}

function statusOf(response: string): number {
  const m = /^HTTP\/1\.1 (\d{3})/.exec(response);
  return m ? Number(m[1]) : 0;
}

/** Every speed the Pro received (rpm), from the radio's write log: frames `AA cs 01 03 hi lo 03`. */
function speeds(core: AppCore): number[] {
  return core
    .simRadio()!
    .writes(PRO)
    .map((w) => w.bytes)
    .filter((b) => b.length === 7 && b[0] === 0xaa && b[2] === 0x01 && b[3] === 0x03 && b[6] === 0x03)
    .map((b) => b[4]! * 256 + b[5]!);
}

function rpm(core: AppCore): number {
  return Number(core.simRadio()!.peripheral(PRO)!.state().rpm);
}

async function until(fn: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('browser host under hostile input', () => {
  let core: AppCore;
  let host: BrowserHost;
  let rendererDir: string;
  const uncaught: unknown[] = [];
  const onUncaught = (e: unknown): void => void uncaught.push(e);

  beforeAll(async () => {
    process.on('uncaughtException', onUncaught);
    process.on('unhandledRejection', onUncaught);
    rendererDir = mkdtempSync(join(tmpdir(), 'unknot-fuzz-renderer-'));
    mkdirSync(join(rendererDir, 'assets'));
    writeFileSync(join(rendererDir, 'index.html'), '<!doctype html><title>Unknot</title>');
    writeFileSync(join(rendererDir, 'assets', 'app.js'), 'console.log(1)');
    // A file that passes stat() but fails on read (EIO): the read must fail alone.
    if (existsSync('/proc/self/mem')) symlinkSync('/proc/self/mem', join(rendererDir, 'assets', 'broken.js'));
    core = await createCore({ dataDir: mkdtempSync(join(tmpdir(), 'unknot-fuzz-data-')), demo: true, timeScale: 20, host: 'browser', version: 'test' });
    host = await startBrowserHost({ core, rendererDir, port: 0 });
  });

  afterAll(async () => {
    await host.close();
    await core.shutdown();
    process.off('uncaughtException', onUncaught);
    process.off('unhandledRejection', onUncaught);
  });

  it('answers odd HTTP requests with a status and keeps serving', async () => {
    const t = host.token;
    const cookie = `Cookie: unknot_token=${t}\r\n`;
    const cases: { req: string; expect?: number[] }[] = [
      { req: `GET //[ HTTP/1.1\r\nHost: x\r\n\r\n`, expect: [400] },
      { req: `GET http://[ HTTP/1.1\r\nHost: x\r\n\r\n`, expect: [400] },
      { req: `GET //[ HTTP/1.1\r\nHost: x\r\n${cookie}\r\n`, expect: [400] },
      { req: `GET /../../etc/passwd?token=${t} HTTP/1.1\r\nHost: x\r\n\r\n`, expect: [403, 404] },
      { req: `GET /..%2f..%2fetc%2fpasswd?token=${t} HTTP/1.1\r\nHost: x\r\n\r\n`, expect: [403, 404] },
      { req: `GET /%2e%2e/%2e%2e/etc/passwd?token=${t} HTTP/1.1\r\nHost: x\r\n\r\n`, expect: [403, 404] },
      { req: `GET /assets%5c..%5c..%5cindex.html?token=${t} HTTP/1.1\r\nHost: x\r\n\r\n`, expect: [403, 404] },
      { req: `GET /index.html%00.js?token=${t} HTTP/1.1\r\nHost: x\r\n\r\n`, expect: [400] },
      { req: `GET /%E0%A4%A?token=${t} HTTP/1.1\r\nHost: x\r\n\r\n`, expect: [400] },
      { req: `GET /${'a'.repeat(12_000)}?token=${t} HTTP/1.1\r\nHost: x\r\n\r\n`, expect: [404, 414, 431] },
      { req: `GET /?token=${'x'.repeat(t.length)} HTTP/1.1\r\nHost: x\r\n\r\n`, expect: [401] },
      { req: `GET /?token=${t.slice(0, -1)}\u00e9 HTTP/1.1\r\nHost: x\r\n\r\n`, expect: [400, 401] },
      { req: `GET / HTTP/1.1\r\nHost: x\r\nCookie: unknot_token=wrong; unknot_token=${t}\r\n\r\n`, expect: [200, 401] },
      { req: `GET / HTTP/1.1\r\nHost: x\r\nCookie: ;;;=;unknot_token\r\n\r\n`, expect: [401] },
      { req: `GET / HTTP/1.1\r\nHost: x\r\nCookie: \r\n\r\n`, expect: [401] },
      { req: `POST /?token=${t} HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc`, expect: [405] },
      { req: `DELETE /index.html HTTP/1.1\r\nHost: x\r\n${cookie}\r\n`, expect: [405] },
      { req: `OPTIONS * HTTP/1.1\r\nHost: x\r\n${cookie}\r\n`, expect: [400, 404, 405] },
      { req: `CONNECT 127.0.0.1:1 HTTP/1.1\r\nHost: x\r\n${cookie}\r\n`, expect: [0, 400, 405] },
      { req: `BREW / HTTP/1.1\r\nHost: x\r\n\r\n`, expect: [400] },
      { req: `GET /assets/app.js?token=${t}&token=wrong HTTP/1.1\r\nHost: x\r\n\r\n`, expect: [200] },
      { req: `HEAD /index.html?token=${t} HTTP/1.1\r\nHost: x\r\n\r\n`, expect: [200] },
      { req: `GET /assets?token=${t} HTTP/1.1\r\nHost: x\r\n\r\n`, expect: [404] },
      { req: `\u0000\u0001garbage\r\n\r\n`, expect: [0, 400] },
    ];
    if (existsSync(join(rendererDir, 'assets', 'broken.js'))) {
      cases.push({ req: `GET /assets/broken.js?token=${t} HTTP/1.1\r\nHost: x\r\n\r\n` });
    }
    for (const c of cases) {
      const response = await rawHttp(host.port, Buffer.from(c.req, 'latin1'));
      expect(response, c.req.slice(0, 60)).not.toContain('<timeout>');
      if (c.expect) expect(c.expect, `${c.req.slice(0, 60)} → ${response.slice(0, 40)}`).toContain(statusOf(response));
      expect(response).not.toContain('root:');
    }
    expect(uncaught).toEqual([]);
    // still serving, with the headers docs/bridge.md promises
    const ok = await rawHttp(host.port, `GET /assets/app.js?token=${t} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    expect(statusOf(ok)).toBe(200);
    expect(ok).toMatch(/x-content-type-options: nosniff/i);
    expect(ok).toMatch(/cache-control: no-store/i);
  });

  it('refuses odd WebSocket upgrades and accepts only the own Origin with a valid token', async () => {
    const p = host.port;
    const t = host.token;
    const wrongSameLength = t.slice(0, -1) + (t.endsWith('A') ? 'B' : 'A');
    const refused: [Record<string, string>, string, RegExp][] = [
      [{ origin: 'null' }, '/ws', /403/],
      [{ origin: `http://127.0.0.1:${p}.evil.com` }, '/ws', /403/],
      [{ origin: `HTTP://127.0.0.1:${p}` }, '/ws', /403/],
      [{ origin: `http://127.0.0.1:${p}/` }, '/ws', /403/],
      [{ origin: `https://127.0.0.1:${p}` }, '/ws', /403/],
      [{ origin: `http://127.0.0.1:${p + 1}` }, '/ws', /403/],
      [{ origin: `http://[::1]:${p}` }, '/ws', /403/],
      [{ cookie: `unknot_token=${wrongSameLength}` }, '/ws', /401/],
      [{ cookie: '' }, '/ws', /401/],
      [{ cookie: `unknot_token=${wrongSameLength}` }, `/ws?token=${wrongSameLength}`, /401/],
      [{}, '/ws/', /404/],
      [{}, '/WS', /404/],
      [{}, '/%2fws', /404/],
    ];
    for (const [headers, path, status] of refused) {
      await expect(Client.open(host, headers, path), `${JSON.stringify(headers)} ${path}`).rejects.toThrow(status);
    }
    // a raw upgrade with an unparseable target is refused, not thrown
    const r = await rawHttp(
      p,
      `GET //[/ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nOrigin: http://127.0.0.1:${p}\r\nCookie: unknot_token=${t}\r\n\r\n`,
    );
    expect(statusOf(r)).toBe(400);
    // token in both places, or only in the query, or from localhost: accepted
    for (const [headers, path] of [
      [{}, `/ws?token=${t}`],
      [{ cookie: '' }, `/ws?token=${t}`],
      [{ origin: `http://localhost:${p}` }, '/ws'],
    ] as [Record<string, string>, string][]) {
      const c = await Client.open(host, headers, path);
      expect(await c.request('app.info')).toMatchObject({ ok: true });
      c.close();
    }
    expect(uncaught).toEqual([]);
  });

  it('answers every fuzzed message with one reply envelope and keeps the connection open', async () => {
    const c = await Client.open(host);
    const deep = (n: number, open: string, close: string, inner = '0'): string => open.repeat(n) + inner + close.repeat(n);
    const fixed: (string | Buffer)[] = [
      '',
      ' ',
      'null',
      '[]',
      '{}',
      '"x"',
      '1e999',
      '{"id":1}',
      '{"id":1,"channel":"app.info","payload":{},"extra":1}',
      '{"id":{"x":1},"channel":"app.info"}',
      '{"id":1.5,"channel":"app.info"}',
      '{"id":-0,"channel":"app.info"}',
      '{"id":9007199254740993,"channel":"app.info"}',
      `{"id":"${'i'.repeat(101)}","channel":"app.info"}`,
      '{"id":true,"channel":"app.info"}',
      '{"id":null,"channel":"app.info"}',
      '{"id":1,"channel":"__proto__"}',
      '{"id":1,"channel":"constructor"}',
      '{"id":1,"channel":"toString"}',
      '{"id":1,"channel":"hasOwnProperty"}',
      '{"id":1,"channel":"app.info","__proto__":{"polluted":1}}',
      '{"__proto__":{"polluted":1},"id":2,"channel":"settings.set","payload":{"__proto__":{"polluted":1}}}',
      '{"id":3,"channel":"settings.set","payload":{"ceilings":{"__proto__":1,"constructor":0.5}}}',
      '{"id":4,"channel":"screening.set","payload":{"answers":{"__proto__":true,"constructor":true,"prototype":true}}}',
      '{"id":5,"channel":"settings.set","payload":{"constructor":{"prototype":{"polluted":1}}}}',
      '{"id":6,"channel":"session.setStep","payload":{"sessionId":"x","intensity":1e308}}',
      '{"id":7,"channel":"usage.history","payload":{"days":1e400}}',
      deep(20_000, '[', ']'),
      deep(10_000, '{"a":', '}'),
      `{"id":8,"channel":"settings.set","payload":${deep(5_000, '{"ceilings":', '}', '{}')}}`,
      `{"id":9,"channel":"app.info","payload":"${'x'.repeat(MAX_MESSAGE_BYTES - 100)}"}`,
      '\ud800',
      '{"id":"\ud800","channel":"app.info"}',
    ];
    for (const m of fixed) {
      const reply = await c.raw(m);
      expect(reply.ok).toBeDefined();
      if (reply.ok === false) expectEnvelope(reply, reply.id);
    }
    // binary frames
    expect(await c.raw(Buffer.from('{"id":1,"channel":"app.info"}'), true)).toMatchObject({ id: null, ok: false, error: { code: 'invalid-payload' } });

    const ids = fc.oneof(
      fc.string({ maxLength: 120 }),
      fc.integer(),
      fc.double(),
      fc.constant(null),
      fc.boolean(),
      fc.array(fc.integer(), { maxLength: 3 }),
      fc.constantFrom('__proto__', 'constructor', ''),
    );
    const channels = fc.oneof(fc.constantFrom(...REQUEST_CHANNELS), fc.string({ maxLength: 120 }), fc.constantFrom('__proto__', 'constructor', 'valueOf'));
    const keyish = fc.oneof(fc.string({ maxLength: 10 }), fc.constantFrom('__proto__', 'constructor', 'prototype', 'sessionId', 'intensity', 'ceilings'));
    const payloads = fc.oneof(
      fc.jsonValue({ maxDepth: 4 }),
      fc.dictionary(keyish, fc.jsonValue({ maxDepth: 3 }), { maxKeys: 5 }),
      fc.string({ maxLength: 2000 }),
    );
    const envelope = fc.record({ id: ids, channel: channels, payload: payloads }, { requiredKeys: [] });
    const message = fc.oneof(
      { weight: 4, arbitrary: envelope.map((e) => JSON.stringify(e)) },
      // prototype keys as literal JSON text (JSON.stringify of a JS object cannot carry them)
      { weight: 2, arbitrary: envelope.map((e) => JSON.stringify(e).replace(/^\{/, '{"__proto__":{"polluted":true},')) },
      { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 5 }).map((v) => JSON.stringify(v) ?? 'null') },
      { weight: 1, arbitrary: fc.string({ maxLength: 300 }) },
    );
    await fc.assert(
      fc.asyncProperty(message, async (text) => {
        let parsed: unknown;
        try {
          parsed = JSON.parse(text);
        } catch {
          parsed = undefined;
        }
        const reply = await c.raw(text);
        const p = parsed as Record<string, unknown> | undefined;
        const sentId = p && typeof p === 'object' && !Array.isArray(p) && Object.prototype.hasOwnProperty.call(p, 'id') ? p.id : null;
        const expectedId = typeof sentId === 'string' || (typeof sentId === 'number' && Number.isFinite(sentId)) ? sentId : null;
        expectEnvelope(reply, expectedId);
        expect(c.closed).toBeNull();
      }),
      { numRuns: 300, seed: 1 },
    );
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
    expect(uncaught).toEqual([]);
    c.close();
  });

  it('survives thousands of messages at once, and a message over 64 KiB closes only that connection', async () => {
    const c = await Client.open(host);
    const n = 3000;
    for (let i = 0; i < n; i += 1) {
      const channel = REQUEST_CHANNELS[i % REQUEST_CHANNELS.length]!;
      // scan and connect requests would drive the radio; everything else may run
      const safe = channel.startsWith('scan.') || channel.startsWith('device.connect') || channel === 'data.delete' ? 'app.info' : channel;
      c.ws.send(JSON.stringify({ id: i, channel: safe, payload: i % 3 === 0 ? { junk: i } : undefined }));
    }
    await c.waitReplies(n, 20_000);
    expect(new Set(c.replies.map((r) => r.id)).size).toBe(n);
    for (const r of c.replies) expectEnvelope(r, r.id);
    expect(c.closed).toBeNull();

    const other = await Client.open(host);
    c.ws.send(`{"id":1,"channel":"app.info","payload":"${'x'.repeat(MAX_MESSAGE_BYTES + 10)}"}`);
    await until(() => c.closed !== null, 3000, 'the oversized message closes its connection');
    expect(c.closed!.code).toBe(1009);
    expect(await other.request('app.info')).toMatchObject({ ok: true });
    other.close();
    expect(uncaught).toEqual([]);
  });

  it('random requests on every channel from two connections during a session: stop still stops, the ceiling holds', async () => {
    const owner = await Client.open(host);
    const intruder = await Client.open(host);
    await owner.ok('scan.start');
    await until(() => !!(owner.events.filter((e) => e.event === 'scan.results').at(-1)?.payload as ScanResults | undefined)?.devices.some((d) => d.peripheralId === PRO), 5000, 'the Pro is found');
    let sessionId = 'none';

    const setUp = async (): Promise<void> => {
      await owner.ok('sim.fault', { peripheralId: PRO, fault: 'clear' });
      await owner.ok('device.stop');
      await owner.ok('device.disconnect');
      await owner.ok('scan.start');
      await until(() => core.simRadio()!.snapshots().some((s) => s.id === PRO && !s.connected), 5000, 'the Pro advertises');
      await owner.ok('device.connect', { peripheralId: PRO, protocolId: 'theragun' });
      // a fresh daily budget for every run (demo time runs 20× faster)
      await owner.ok('data.delete', { confirm: 'delete my data' });
      await owner.ok('screening.set', { answers: ANSWERS });
      await owner.ok('settings.set', { doctorNoticeAcknowledged: true, dailyBudgetSeconds: 360 });
      const r = await owner.request('session.start', { muscleGroup: 'upper-back', plannedMotorSeconds: 240 });
      if (!r.ok) throw new Error(`session.start: ${JSON.stringify(r)}`);
      {
        sessionId = (r.result as { sessionId: string }).sessionId;
        await owner.ok('session.setStep', { sessionId, intensity: 1 });
        await until(() => rpm(core) === MAX_RPM, 3000, 'the gun runs at the ceiling');
      }
    };

    const sid = fc.oneof({ weight: 4, arbitrary: fc.constant('$session') }, { weight: 1, arbitrary: fc.string({ maxLength: 20 }) }, { weight: 1, arbitrary: fc.integer() });
    const nearValid: Record<string, fc.Arbitrary<unknown>> = {
      'device.connect': fc.record({ peripheralId: fc.constantFrom(PRO, 'sim-rongtai-rt8600s', 'nope', '__proto__', ''), protocolId: fc.constantFrom('theragun', 'rongtai', 'constructor', 'x') }, { requiredKeys: ['peripheralId'] }),
      'device.setHeat': fc.record({ on: fc.oneof(fc.boolean(), fc.constant('yes')) }),
      'session.start': fc.record(
        {
          muscleGroup: fc.constantFrom('neck', 'shoulders', 'upper-back', 'rhomboids', 'lower-back', 'knee', '__proto__'),
          plannedMotorSeconds: fc.oneof(fc.double({ min: -10, max: 5000 }), fc.constantFrom(0, 1, 59, 60, 300, 3600, 1e9)),
          routineId: fc.string({ maxLength: 8 }),
        },
        { requiredKeys: ['muscleGroup', 'plannedMotorSeconds'] },
      ),
      'session.heartbeat': fc.record({ sessionId: sid }),
      'session.setStep': fc.record(
        {
          sessionId: sid,
          intensity: fc.oneof(fc.double({ min: -1, max: 2 }), fc.constantFrom(0, 1, 0.99999, 1e-9, Number.MIN_VALUE, 1 + Number.EPSILON)),
          motion: fc.constantFrom('circular', 'back-and-forth', 'on-knot', 'long-strokes', 'spin'),
        },
        { requiredKeys: ['sessionId', 'intensity'] },
      ),
      'session.pause': fc.record({ sessionId: sid }),
      'session.resume': fc.record({ sessionId: sid }),
      'session.end': fc.record({ sessionId: sid }),
      'session.hurt': fc.record({ sessionId: sid }),
      // ceilings up to 0.6 only: raising the ceiling is the user's right, not a breach
      'settings.set': fc.record(
        {
          ceilings: fc.dictionary(fc.constantFrom('theragun', '__proto__', 'constructor', 'rongtai'), fc.oneof(fc.double({ min: -1, max: 0.6 }), fc.constant(Number.NaN))),
          sessionCapSeconds: fc.integer({ min: 0, max: 1000 }),
          dailyBudgetSeconds: fc.integer({ min: 0, max: 1000 }),
          theme: fc.constantFrom('dark', 'neon'),
          stopShortcut: fc.string({ maxLength: 70 }),
        },
        { requiredKeys: [] },
      ),
      'screening.set': fc.record({ answers: fc.dictionary(fc.constantFrom('pregnant', '__proto__', 'constructor', 'x'), fc.constant(false)) }),
      'usage.history': fc.record({ days: fc.oneof(fc.integer({ min: -5, max: 200 }), fc.double()) }),
      'data.delete': fc.record({ confirm: fc.constantFrom('delete my data', 'yes') }),
      'sim.fault': fc.record({
        peripheralId: fc.constantFrom(PRO, 'nope', '__proto__'),
        fault: fc.constantFrom('drop-link', 'garbage-notifications', 'truncated-notifications', 'clear', '__proto__', 'constructor', 'toString', 'x'.repeat(60), 'power', 'button-up'),
      }),
    };
    const command = fc.record({
      who: fc.constantFrom('owner', 'intruder'),
      channel: fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...REQUEST_CHANNELS) }, { weight: 1, arbitrary: fc.string({ maxLength: 12 }) }),
      payload: fc.oneof({ weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) }, { weight: 1, arbitrary: fc.constant(undefined) }, { weight: 4, arbitrary: fc.constant('near-valid') }),
      near: fc.constantFrom(...Object.keys(nearValid)).chain((k) => nearValid[k]!),
    });
    const substitute = (v: unknown): unknown => {
      if (v === '$session') return sessionId;
      if (Array.isArray(v)) return v.map(substitute);
      if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, substitute(x)]));
      return v;
    };

    await fc.assert(
      fc.asyncProperty(fc.array(command, { minLength: 10, maxLength: 30 }), fc.integer({ min: 1, max: 6 }), async (commands, batch) => {
        await setUp();
        for (let i = 0; i < commands.length; i += batch) {
          const slice = commands.slice(i, i + batch);
          await owner.request('session.heartbeat', { sessionId });
          const replies = await Promise.all(
            slice.map((cmd) => {
              const client = cmd.who === 'owner' ? owner : intruder;
              const channel = cmd.channel;
              const payload = cmd.payload === 'near-valid' ? (nearValid[cmd.channel] ? substitute(cmd.near) : undefined) : cmd.payload;
              return client.request(channel, payload);
            }),
          );
          for (const r of replies) expectEnvelope(r, r.id);
          for (const [j, r] of replies.entries()) {
            // only the owner controls the session; the intruder owns nothing it did not start
            const cmd = slice[j]!;
            if (cmd.who === 'intruder' && /^session\.(heartbeat|setStep|pause|resume|end|hurt)$/.test(cmd.channel)) {
              expect(r.ok, `the intruder's ${cmd.channel} succeeded`).toBe(false);
            }
          }
          expect(speeds(core).every((s) => s <= MAX_RPM), `speeds ${speeds(core).filter((s) => s > MAX_RPM)}`).toBe(true);
        }
        await owner.ok('sim.fault', { peripheralId: PRO, fault: 'clear' });
        // a stop from any connection stops the gun
        await intruder.ok('device.stop');
        await until(() => rpm(core) === 0, 5000, 'the gun stops');
        await new Promise((r) => setTimeout(r, 100));
        expect(rpm(core)).toBe(0);
        expect(core.runningSummary()).toBeNull();
        expect(speeds(core).every((s) => s <= MAX_RPM)).toBe(true);
        expect(owner.closed).toBeNull();
        expect(intruder.closed).toBeNull();
      }),
      { numRuns: 8, seed: 7 },
    );
    // the gun really ran during the fuzz, at the ceiling and not above
    expect(Math.max(...speeds(core))).toBe(MAX_RPM);
    expect(uncaught).toEqual([]);
    owner.close();
    intruder.close();
  }, 60_000);
});
