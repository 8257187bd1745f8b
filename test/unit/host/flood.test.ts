/**
 * Floods do not delay stops (issue 13, hole 7): a real browser host over a demo core
 * (real noble classes on the simulated radio), a flooding client in its own worker
 * thread (as a hostile page would be in its own process) sending `settings.set` as
 * fast as its socket takes them, and the owner of a running session on the simulated
 * Theragun Pro. What must hold, judged at the simulated gun (the stop bytes it
 * received): `device.stop` from another connection and from the flooding one reaches
 * it within a generous bound; heartbeats keep the session alive and, once they stop,
 * the watchdog stops the motor on time; the flood's store writes are rate-limited.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCore, type AppCore } from '../../../electron/core/app-core';
import { RATE_LIMITS } from '../../../electron/host/flow';
import { startBrowserHost, type BrowserHost } from '../../../electron/host/server';
import type { ScanResults } from '../../../electron/ipc/contract';
import { WATCHDOG_DEADLINE_MS } from '../../../electron/safety/rules';
import { ALL_NO, sleep, until } from '../helpers/core-harness';
import { HostClient } from '../helpers/ws-client';

const PRO = 'sim-theragun-pro';
const STOP_HEX = 'aa070103000003';
/**
 * Generous bounds, for a shared 2-core machine. Under this flood a stop from another
 * connection arrives in 3–20 ms here (before the fix: 0.9–1.9 s); one from the flooding
 * connection in 0.2–1 s (2.4 s once with the machine loaded to 4), since it first waits for what that connection sent before it
 * to be read (its own buffer and the kernel's hold a few MB of requests; before the
 * fix: 3.5–14 s).
 */
const OTHER_STOP_BOUND_MS = 300;
const SAME_STOP_BOUND_MS = 3000;
const epoch = (): number => performance.timeOrigin + performance.now();

type WorkerMsg = { type: string; at?: number; sent?: number; replies?: number; okReplies?: number; codes?: Record<string, number> };

describe('a flood of settings.set from one connection', () => {
  let core: AppCore;
  let host: BrowserHost;
  let owner: HostClient;
  let worker: Worker;
  const fromWorker: WorkerMsg[] = [];
  /** Epoch ms of every stop frame the simulated gun received. */
  const stops: number[] = [];
  let floodStart = 0;

  beforeAll(async () => {
    core = await createCore({ dataDir: mkdtempSync(join(tmpdir(), 'unknot-flood-')), demo: true, timeScale: 1, host: 'browser', version: 'test' });
    host = await startBrowserHost({ core, rendererDir: mkdtempSync(join(tmpdir(), 'unknot-flood-r-')), port: 0 });
    owner = await HostClient.open(host.port, host.token);
    await owner.ok('screening.set', { answers: ALL_NO });
    await owner.ok('settings.set', { doctorNoticeAcknowledged: true });
    await owner.ok('scan.start');
    await until(() => (owner.events.filter((e) => e.event === 'scan.results').at(-1)?.payload as ScanResults | undefined)?.devices.some((d) => d.peripheralId === PRO));
    await owner.ok('device.connect', { peripheralId: PRO });
    core.simRadio()!.onWrite((w) => {
      if (w.peripheralId === PRO && Buffer.from(w.bytes).toString('hex') === STOP_HEX) stops.push(epoch());
    });
    worker = new Worker(join(__dirname, '../helpers/flood-worker.mjs'), {
      workerData: { port: host.port, token: host.token, channel: 'settings.set', payload: { theme: 'dark' }, maxBuffered: 1 << 20 },
    });
    worker.on('message', (m: WorkerMsg) => fromWorker.push(m));
    await until(() => fromWorker.some((m) => m.type === 'open'));
    floodStart = performance.now();
    await sleep(500); // the flood is in full swing
  });

  afterAll(async () => {
    worker.postMessage('end');
    await worker.terminate();
    owner.close();
    await host.close();
    await core.shutdown();
  });

  /** Starts a session at full intensity and waits until the gun runs; heartbeats every 500 ms. */
  const running = async (group: string): Promise<{ sessionId: string; beat: ReturnType<typeof setInterval> }> => {
    const { sessionId } = await owner.ok<{ sessionId: string }>('session.start', { muscleGroup: group, plannedMotorSeconds: 60 });
    const beat = setInterval(() => owner.fire('session.heartbeat', { sessionId }), 500);
    await owner.ok('session.setStep', { sessionId, intensity: 1 });
    await until(() => Number(core.simRadio()!.peripheral(PRO)!.state().rpm) > 0, 10_000, 'the gun runs');
    return { sessionId, beat };
  };

  /** Time from `sentAt` to the first stop frame at the gun after it, ms. */
  const stopLatency = async (sentAt: number): Promise<number> => {
    const at = await until(() => stops.find((t) => t >= sentAt - 1), 20_000, 'the stop reaches the gun');
    return at - sentAt;
  };

  it('device.stop from another connection reaches the gun within the bound', async () => {
    for (const group of ['neck', 'shoulders']) {
      const { beat } = await running(group);
      await sleep(200);
      const sentAt = epoch();
      owner.fire('device.stop');
      const latency = await stopLatency(sentAt);
      clearInterval(beat);
      expect(latency, `stop from another connection took ${latency.toFixed(1)} ms`).toBeLessThan(OTHER_STOP_BOUND_MS);
    }
  }, 60_000);

  it('device.stop from the flooding connection itself reaches the gun within the bound', async () => {
    for (const group of ['upper-back', 'rhomboids']) {
      const { beat } = await running(group);
      await sleep(200);
      const before = fromWorker.length;
      worker.postMessage('stop');
      const sent = await until(() => fromWorker.slice(before).find((m) => m.type === 'stop-sent'));
      const latency = await stopLatency(sent.at!);
      clearInterval(beat);
      expect(latency, `stop from the flooding connection took ${latency.toFixed(1)} ms`).toBeLessThan(SAME_STOP_BOUND_MS);
    }
  }, 60_000);

  it('heartbeats keep the session alive, and the watchdog stops the motor on time once they stop', async () => {
    const { sessionId, beat } = await running('lower-back');
    await sleep(4000);
    expect(core.runningSummary(), 'heartbeats every 500 ms kept the session').not.toBeNull();
    clearInterval(beat);
    const last = epoch();
    owner.fire('session.heartbeat', { sessionId });
    const latency = await stopLatency(last);
    expect(latency).toBeGreaterThanOrEqual(WATCHDOG_DEADLINE_MS - 50);
    expect(latency, `the watchdog stopped the motor ${latency.toFixed(0)} ms after the last heartbeat`).toBeLessThan(WATCHDOG_DEADLINE_MS + 600);
    expect((owner.events.filter((e) => e.event === 'session.ended').at(-1)?.payload as { reason: string }).reason).toBe('watchdog');
  }, 60_000);

  it('the flood was answered, and its store writes were rate-limited', async () => {
    const before = fromWorker.length;
    worker.postMessage('count');
    const count = await until(() => fromWorker.slice(before).find((m) => m.type === 'count'));
    const seconds = (performance.now() - floodStart) / 1000 + 1;
    const limit = RATE_LIMITS['settings.set']!;
    expect(count.sent).toBeGreaterThan(10_000);
    expect(count.replies).toBeGreaterThan(10_000);
    expect(count.okReplies).toBeLessThanOrEqual(limit.burst + limit.perSecond * seconds);
    expect(count.codes?.['rate-limited']).toBeGreaterThan(0);
    expect(owner.closed).toBeNull();
  });
});
