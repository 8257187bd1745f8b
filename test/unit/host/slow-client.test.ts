/**
 * A client that stops reading must not grow the host without bound (issue 13, hole 6).
 * Raw clients on plain TCP sockets that stop reading: against the browser host over a
 * recording core (what the host reads, holds and drops), and against the built host
 * process (`npm run build` first) in demo mode, where such a client owns a session on
 * the simulated Theragun Pro and floods requests: the host's resident memory grows by
 * less than 100 MB, the host stops reading it, and the gun stops.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FLOW_LIMITS } from '../../../electron/host/flow';
import { startBrowserHost, type BrowserHost } from '../../../electron/host/server';
import { ALL_NO, sleep, until } from '../helpers/core-harness';
import { FakeCore } from '../helpers/fake-core';
import { PRO, proState, rssBytes, startHostProcess, type HostProcess } from '../helpers/host-process';
import { RawWsClient } from '../helpers/raw-ws';
import { HostClient } from '../helpers/ws-client';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function hostOverFakeCore(): Promise<{ core: FakeCore; host: BrowserHost }> {
  const dir = mkdtempSync(join(tmpdir(), 'unknot-slow-'));
  mkdirSync(join(dir, 'assets'));
  writeFileSync(join(dir, 'index.html'), '<!doctype html><title>Unknot</title>');
  const core = new FakeCore();
  const host = await startBrowserHost({ core, rendererDir: dir, port: 0 });
  cleanups.push(() => host.close());
  return { core, host };
}

describe('a client that stops reading, over a recording core', () => {
  it('is no longer read, gets only the latest of each state event, and every one-off event, once it reads again', async () => {
    const { core, host } = await hostOverFakeCore();
    const client = await RawWsClient.open(host.port, host.token);
    cleanups.push(() => client.destroy());
    await until(() => core.attached.length === 1);
    client.stopReading();
    const conn = core.attached[0]!;
    const pad = 'x'.repeat(10_000);
    const N = 3000; // 30 MB of device.status: more than the kernel's buffers and the host's pause mark
    for (let n = 0; n < N; n += 1) {
      conn.send('device.status', { n, pad });
      if (n % 1000 === 0) conn.send('session.ended', { reason: 'completed', n });
      if (n % 100 === 0) await sleep(1); // let the socket write
    }
    // requests sent now are not read while the host cannot send
    const before = core.calls.length;
    for (let i = 0; i < 50; i += 1) client.send({ id: `q${i}`, channel: 'app.info' });
    await sleep(500);
    expect(core.calls.length, 'requests read while the client was not reading').toBe(before);
    expect(client.closed).toBe(false);

    client.startReading();
    await client.reply('q49', 15_000);
    expect(core.calls.length).toBe(before + 50);
    const statuses = client.messages.filter((m) => m.event === 'device.status').map((m) => (m.payload as { n: number }).n);
    expect(statuses.at(-1), 'the latest state arrives').toBe(N - 1);
    expect(statuses.length, 'state events were coalesced while backed up').toBeLessThan(N / 2);
    expect(statuses).toEqual([...statuses].sort((a, b) => a - b)); // never an older state after a newer one
    const ended = client.messages.filter((m) => m.event === 'session.ended').map((m) => (m.payload as { n: number }).n);
    expect(ended, 'one-off events are all sent, in order').toEqual([0, 1000, 2000]);
    expect(core.detached).toEqual([]);
  }, 60_000);

  it(`is dropped once more than ${FLOW_LIMITS.closeAboveBytes / 1024 / 1024} MB wait for it (a lost connection: the core is told)`, async () => {
    const { core, host } = await hostOverFakeCore();
    const client = await RawWsClient.open(host.port, host.token);
    cleanups.push(() => client.destroy());
    await until(() => core.attached.length === 1);
    client.stopReading();
    const conn = core.attached[0]!;
    const pad = 'w'.repeat(100_000);
    // one-off events are never coalesced: 40 MB of warnings
    for (let n = 0; n < 400 && core.detached.length === 0; n += 1) {
      conn.send('safety.warning', { code: 'test', message: pad, n });
      if (n % 10 === 0) await sleep(1);
    }
    await until(() => core.detached.length === 1, 5000, 'the host drops the connection');
    expect(core.detached[0]).toEqual({ id: conn.id, reason: 'connection-lost' });
  }, 60_000);
});

describe('a session owner that stops reading and floods, against the host process', () => {
  it('grows the host by less than 100 MB; the host stops reading it, and the gun stops', async () => {
    const h: HostProcess = await startHostProcess();
    cleanups.push(() => {
      try {
        process.kill(h.hostPid, 'SIGKILL');
      } catch {
        /* gone */
      }
    });
    const observer = await HostClient.open(h.port, h.token);
    cleanups.push(() => observer.close());
    const owner = await RawWsClient.open(h.port, h.token);
    cleanups.push(() => owner.destroy());
    let seq = 0;
    const ok = async (channel: string, payload?: unknown): Promise<Record<string, unknown>> => {
      const id = `s${++seq}`;
      owner.send(payload === undefined ? { id, channel } : { id, channel, payload });
      const r = await owner.reply(id);
      if (r.ok !== true) throw new Error(`${channel}: ${JSON.stringify(r.error)}`);
      return r.result as Record<string, unknown>;
    };
    await ok('screening.set', { answers: ALL_NO });
    await ok('settings.set', { doctorNoticeAcknowledged: true });
    await ok('scan.start');
    await until(() => owner.messages.some((m) => m.event === 'scan.results' && JSON.stringify(m.payload).includes(PRO)), 10_000, 'the Pro is found');
    await ok('device.connect', { peripheralId: PRO });
    const { sessionId } = (await ok('session.start', { muscleGroup: 'upper-back', plannedMotorSeconds: 120 })) as { sessionId: string };
    await ok('session.setStep', { sessionId, intensity: 1 });
    const rpm = async (): Promise<number> => Number(proState(await observer.ok('sim.state'))?.rpm ?? 0);
    const runUntil = Date.now() + 10_000;
    while ((await rpm()) === 0) {
      if (Date.now() > runUntil) throw new Error('the gun did not start');
      await sleep(50);
    }

    // Stop reading, and flood: settings.get (a few KB of reply each) with a heartbeat every 500 ms.
    owner.stopReading();
    const rss0 = rssBytes(h.hostPid);
    let rssMax = rss0;
    let gunStoppedAt: number | null = null;
    const t0 = Date.now();
    let lastBeat = 0;
    let sent = 0;
    for (let round = 0; Date.now() - t0 < 8000 && !owner.closed; round += 1) {
      if (Date.now() - lastBeat > 500) {
        owner.send({ id: `hb${++seq}`, channel: 'session.heartbeat', payload: { sessionId } });
        lastBeat = Date.now();
      }
      // a flood, not a test of this process's own memory: at most 4 MB wait in its socket
      for (let i = 0; i < 2000 && owner.socket.writableLength < 4 * 1024 * 1024; i += 1) {
        owner.send({ id: `f${++seq}`, channel: 'settings.get' });
        sent += 1;
      }
      await sleep(5);
      rssMax = Math.max(rssMax, rssBytes(h.hostPid));
      if (gunStoppedAt === null && round % 20 === 0 && (await rpm()) === 0) gunStoppedAt = Date.now() - t0;
    }
    if (gunStoppedAt === null) gunStoppedAt = await until(async () => ((await rpm()) === 0 ? Date.now() - t0 : 0), 5000, 'the gun stops').catch(() => null);
    const growthMb = (rssMax - rss0) / 1024 / 1024;
    expect(growthMb, `the host grew by ${growthMb.toFixed(0)} MB under ${sent} requests`).toBeLessThan(100);
    console.log(`non-reading owner: ${sent} requests written in 8 s; host RSS ${(rss0 / 1048576).toFixed(0)} → max ${(rssMax / 1048576).toFixed(0)} MB (+${growthMb.toFixed(1)} MB); gun stopped after ${gunStoppedAt} ms; closed: ${owner.closed}`);
    // throttled (the host no longer reads it: its own socket stays full) or dropped
    expect(owner.closed || owner.socket.writableLength > 1024 * 1024, 'the host stopped reading the flood').toBe(true);
    expect(gunStoppedAt, 'the gun stopped').not.toBeNull();
    const ended = observer.events.find((e) => e.event === 'session.ended')?.payload as { reason: string } | undefined;
    expect(['watchdog', 'connection-lost']).toContain(ended?.reason);
    expect(await rpm()).toBe(0);
  }, 60_000);
});
