/**
 * F6 of the second adversarial pass: the WebSocket server had no ping and no idle limit,
 * so 10 frozen clients (a SIGSTOPped process: its kernel still ACKs, TCP stays up) held
 * the 10-connection cap for ever and the user's reloaded page got HTTP 503. What must
 * hold: the host pings every connection; one that sends nothing back (no pong, no
 * message) is cut off within two ping periods, and the core is told (a lost connection
 * stops a session it owned); with the cap reached, a new page gets in by closing the
 * oldest connection that owns no session, never the session's owner.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { Reply } from '../../../electron/ipc/contract';
import { CLOSE_REPLACED, MAX_CONNECTIONS, PING_INTERVAL_MS, startBrowserHost, type BrowserHost } from '../../../electron/host/server';
import { until } from '../helpers/core-harness';
import { FakeCore } from '../helpers/fake-core';
import { RawWsClient } from '../helpers/raw-ws';

/** A core whose `session.start` grants a session (`s-N`) to the connection that asks. */
class SessionCore extends FakeCore {
  private n = 0;
  override async handle(id: string, channel: string, payload: unknown): Promise<Reply> {
    if (channel !== 'session.start') return super.handle(id, channel, payload);
    this.calls.push({ id, channel, payload });
    this.n += 1;
    return { ok: true, result: { sessionId: `s-${this.n}`, grantedMotorSeconds: 60, shortened: false, intensityFactor: 1 } as never };
  }
  /** Sends `session.ended` for `sessionId` to every connection, as the core does. */
  endSession(sessionId: string): void {
    for (const c of this.attached) c.send('session.ended', { sessionId, reason: 'completed', message: 'Routine finished.', usedMotorSeconds: 1 });
  }
}

function rendererDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'unknot-live-'));
  mkdirSync(join(dir, 'assets'));
  writeFileSync(join(dir, 'index.html'), '<!doctype html><title>Unknot</title>');
  return dir;
}

function openWs(host: BrowserHost): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${host.port}/ws?token=${host.token}`, { headers: { Origin: `http://127.0.0.1:${host.port}` } });
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.once('error', reject);
  });
}

/** Sends one request and resolves with its reply. */
function ask(ws: WebSocket, id: string, channel: string, payload?: unknown): Promise<Record<string, unknown>> {
  return new Promise((resolve) => {
    const onMessage = (d: WebSocket.RawData): void => {
      const m = JSON.parse(d.toString()) as Record<string, unknown>;
      if (m.id !== id) return;
      ws.off('message', onMessage);
      resolve(m);
    };
    ws.on('message', onMessage);
    ws.send(JSON.stringify({ id, channel, payload }));
  });
}

/** A separate process that opens `n` WebSocket connections to `host`, then freezes itself (SIGSTOP). Resolves once all are open. */
function frozenClients(host: BrowserHost, n: number): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    [
      '-e',
      `const WebSocket = require(${JSON.stringify(require.resolve('ws'))});
       let open = 0;
       for (let i = 0; i < ${n}; i++) {
         const w = new WebSocket('ws://127.0.0.1:${host.port}/ws?token=${host.token}', { headers: { Origin: 'http://127.0.0.1:${host.port}' } });
         w.on('open', () => { if (++open === ${n}) { console.log('open'); setTimeout(() => process.kill(process.pid, 'SIGSTOP'), 50); } });
         w.on('error', (e) => console.log('error ' + e.message));
       }`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  children.push(child);
  return new Promise((resolve, reject) => {
    child.stdout!.once('data', (d: Buffer) => (d.toString().startsWith('open') ? resolve(child) : reject(new Error(d.toString()))));
  });
}

const children: ChildProcess[] = [];
let host: BrowserHost | null = null;
const clients: { close(): void }[] = [];

afterEach(async () => {
  for (const c of children.splice(0)) {
    try {
      process.kill(c.pid!, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  for (const c of clients.splice(0)) c.close();
  await host?.close();
  host = null;
});

describe('frozen and silent clients are cut off, and a new page always gets in (F6)', () => {
  let core: SessionCore;
  beforeEach(() => {
    core = new SessionCore();
  });

  it(`${MAX_CONNECTIONS} connections of a frozen process are cut off within 2 × ${PING_INTERVAL_MS / 1000} s (the default ping period), and the core is told`, async () => {
    host = await startBrowserHost({ core, rendererDir: rendererDir(), port: 0 });
    await frozenClients(host, MAX_CONNECTIONS);
    const frozenAt = Date.now();
    expect(core.attached).toHaveLength(MAX_CONNECTIONS);
    // generous: two ping periods, plus as much again for a loaded machine
    await until(() => core.detached.length === MAX_CONNECTIONS, 4 * PING_INTERVAL_MS, 'every frozen connection is cut off');
    const took = Date.now() - frozenAt;
    expect(took).toBeGreaterThan(PING_INTERVAL_MS - 1000); // not at once: one ping period is their grace
    expect(core.detached.every((d) => d.reason === 'connection-lost')).toBe(true);
    await until(() => host!.tcpConnections() === 0, 2000, 'their sockets are closed');
    // the user's page gets in, and stays
    const page = await openWs(host);
    clients.push(page);
    await new Promise((r) => setTimeout(r, PING_INTERVAL_MS * 2 + 500));
    expect(page.readyState).toBe(WebSocket.OPEN);
  }, 60_000);

  it('a client that reads but never answers a ping is cut off; clients that answer stay', async () => {
    host = await startBrowserHost({ core, rendererDir: rendererDir(), port: 0, pingIntervalMs: 200 });
    const silent = await RawWsClient.open(host.port, host.token);
    silent.answerPings = false;
    const raw = await RawWsClient.open(host.port, host.token); // answers its pings
    const page = await openWs(host); // the ws library answers by itself, as browsers do
    clients.push({ close: () => silent.destroy() }, { close: () => raw.destroy() }, page);
    await until(() => silent.closed, 5000, 'the silent client is cut off');
    await new Promise((r) => setTimeout(r, 2000)); // 10 ping periods
    expect(raw.closed).toBe(false);
    expect(page.readyState).toBe(WebSocket.OPEN);
    expect(core.detached).toHaveLength(1);
  }, 20_000);

  it('after the host itself was held up (its event loop blocked past a ping period), nobody is cut off for pongs it had not read yet', async () => {
    host = await startBrowserHost({ core, rendererDir: rendererDir(), port: 0, pingIntervalMs: 200 });
    const page = await openWs(host);
    clients.push(page);
    // At a ping the client answers (ws's own pong), then this process, host included,
    // is blocked for five ping periods: the host's next tick comes before it reads the pong.
    await new Promise<void>((resolve) =>
      page.once('ping', () => {
        setImmediate(() => {
          const end = Date.now() + 1000;
          while (Date.now() < end) {
            /* blocked */
          }
          resolve();
        });
      }),
    );
    await new Promise((r) => setTimeout(r, 1000));
    expect(page.readyState).toBe(WebSocket.OPEN);
    expect(core.detached).toEqual([]);
  }, 20_000);

  it('a frozen session owner is cut off too: the core hears of the lost connection (which stops its motor)', async () => {
    host = await startBrowserHost({ core, rendererDir: rendererDir(), port: 0, pingIntervalMs: 300 });
    const owner = await RawWsClient.open(host.port, host.token);
    clients.push({ close: () => owner.destroy() });
    owner.send({ id: 'start', channel: 'session.start', payload: { muscleGroup: 'neck', plannedMotorSeconds: 60 } });
    await owner.reply('start');
    owner.answerPings = false;
    owner.stopReading(); // frozen: nothing read, nothing sent
    await until(() => core.detached.length === 1, 5000, 'the frozen owner is cut off');
    expect(core.detached[0]).toEqual({ id: core.attached[0]!.id, reason: 'connection-lost' });
  }, 20_000);

  it('with the cap reached, each new page closes the oldest connection that owns no session, never the owner', async () => {
    host = await startBrowserHost({ core, rendererDir: rendererDir(), port: 0 });
    const owner = await openWs(host);
    clients.push(owner);
    expect(await ask(owner, 'start', 'session.start', { muscleGroup: 'neck', plannedMotorSeconds: 60 })).toMatchObject({ ok: true, result: { sessionId: 's-1' } });
    let ownerClosed = false;
    owner.on('close', () => (ownerClosed = true));
    // the attack: a frozen process holds every other slot
    await frozenClients(host, MAX_CONNECTIONS - 1);
    const pages: WebSocket[] = [];
    const codes: number[] = [];
    for (let i = 0; i < 2 * MAX_CONNECTIONS; i++) {
      const page = await openWs(host); // never refused
      page.on('close', (code) => codes.push(code));
      pages.push(page);
      clients.push(page);
      expect(ownerClosed).toBe(false);
      expect(await ask(owner, `get${i}`, 'session.get')).toMatchObject({ ok: true });
    }
    // the newest pages are open; the older ones were closed for them with CLOSE_REPLACED
    await until(() => codes.length >= MAX_CONNECTIONS + 1, 5000, 'the older pages are closed');
    expect(codes.every((c) => c === CLOSE_REPLACED)).toBe(true);
    expect(pages.slice(-(MAX_CONNECTIONS - 1)).every((p) => p.readyState === WebSocket.OPEN)).toBe(true);
    expect(owner.readyState).toBe(WebSocket.OPEN);
    // once its session has ended, the owner is an ordinary connection: the oldest goes first
    core.endSession('s-1');
    await new Promise((r) => setTimeout(r, 50));
    const closed = new Promise<number>((r) => owner.once('close', (code) => r(code)));
    clients.push(await openWs(host));
    expect(await closed).toBe(CLOSE_REPLACED);
  }, 30_000);

  it('F6 (round 3): the connection running the stop check, then asked its answer, is not evicted at the cap; once it answered it is', async () => {
    /** stopCheck.run answers when the test lets it (the check's 2 s), with `asking`; stopCheck.answer with `passed`. */
    let finishRun: () => void = () => undefined;
    const checkCore = new (class extends SessionCore {
      override async handle(id: string, channel: string, payload: unknown): Promise<Reply> {
        if (channel === 'stopCheck.run') {
          this.calls.push({ id, channel, payload });
          await new Promise<void>((r) => (finishRun = r));
          return { ok: true, result: { stopCheck: 'asking' } as never };
        }
        if (channel === 'stopCheck.answer') return { ok: true, result: { stopCheck: 'passed' } as never };
        return super.handle(id, channel, payload);
      }
    })();
    host = await startBrowserHost({ core: checkCore, rendererDir: rendererDir(), port: 0 });
    const owner = await openWs(host);
    clients.push(owner);
    let ownerClosed = false;
    owner.on('close', () => (ownerClosed = true));
    const run = ask(owner, 'run', 'stopCheck.run', { muscleGroup: 'neck' });
    await until(() => checkCore.calls.some((c) => c.channel === 'stopCheck.run'), 5000, 'the check runs');
    const more = async (n: number): Promise<void> => {
      for (let i = 0; i < n; i++) clients.push(await openWs(host!));
      await new Promise((r) => setTimeout(r, 100));
    };
    // while it runs
    await more(MAX_CONNECTIONS + 2);
    expect(ownerClosed).toBe(false);
    finishRun();
    expect(await run).toMatchObject({ ok: true, result: { stopCheck: 'asking' } });
    // while it asks
    await more(MAX_CONNECTIONS + 2);
    expect(ownerClosed).toBe(false);
    expect(await ask(owner, 'answer', 'stopCheck.answer', { stopped: true })).toMatchObject({ ok: true });
    // answered: an ordinary connection again, and the oldest
    const closed = new Promise<number>((r) => owner.once('close', (code) => r(code)));
    clients.push(await openWs(host));
    expect(await closed).toBe(CLOSE_REPLACED);
  }, 30_000);
});
