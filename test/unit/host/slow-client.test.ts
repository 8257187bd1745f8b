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
import { sleep, until } from '../helpers/core-harness';
import { FakeCore } from '../helpers/fake-core';
import { floodWithoutReading, startHostProcess, type HostProcess } from '../helpers/host-process';
import { RawWsClient } from '../helpers/raw-ws';

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
      conn.send('device.status', { n, pad } as never);
      if (n % 1000 === 0) conn.send('session.ended', { reason: 'completed', n } as never);
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
      conn.send('safety.warning', { code: 'test', message: pad, n } as never);
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
    const r = await floodWithoutReading(h, 8000);
    const growthMb = (r.rssMaxBytes - r.rssStartBytes) / 1024 / 1024;
    console.log(
      `non-reading owner: ${r.written} requests written in 8 s; host RSS ${(r.rssStartBytes / 1048576).toFixed(0)} → max ${(r.rssMaxBytes / 1048576).toFixed(0)} MB (+${growthMb.toFixed(1)} MB); gun stopped after ${r.gunStoppedAfterMs} ms; dropped: ${r.dropped}`,
    );
    expect(growthMb, `the host grew by ${growthMb.toFixed(0)} MB under ${r.written} requests`).toBeLessThan(100);
    // throttled (the host no longer reads it: its own socket stays full) or dropped
    expect(r.dropped || r.unreadBytes > 1024 * 1024, 'the host stopped reading the flood').toBe(true);
    expect(r.gunStoppedAfterMs, 'the gun stopped').not.toBeNull();
    expect(['watchdog', 'connection-lost']).toContain(r.endedReason);
    expect(r.rpmAtEnd).toBe(0);
  }, 60_000);
});
