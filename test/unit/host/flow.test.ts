/**
 * The browser host's flow control (electron/host/flow.ts) on its own, and through a
 * real host over a recording core: rate limits, the bounded queue, fair turns, state
 * events held to the latest, and a stop that overtakes its own connection's queue.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Dispatcher, FLOW_LIMITS, Lane, RATE_LIMITS, TokenBucket, type FlowRequest } from '../../../electron/host/flow';
import { startBrowserHost } from '../../../electron/host/server';
import { sleep, until } from '../helpers/core-harness';
import { FakeCore } from '../helpers/fake-core';
import { RawWsClient, clientFrame } from '../helpers/raw-ws';

const req = (channel: string, id: string | number = channel): FlowRequest => ({ id, channel, payload: undefined });

describe('flow control pieces', () => {
  it('a token bucket gives its burst, then one token per 1/rate seconds', () => {
    let now = 0;
    const bucket = new TokenBucket({ burst: 3, perSecond: 2 }, () => now);
    expect([bucket.take(), bucket.take(), bucket.take(), bucket.take()]).toEqual([true, true, true, false]);
    now = 400;
    expect(bucket.take()).toBe(false);
    now = 500;
    expect(bucket.take()).toBe(true);
    now = 60_000; // never more than the burst after a long pause
    expect([bucket.take(), bucket.take(), bucket.take(), bucket.take()]).toEqual([true, true, true, false]);
  });

  it('a lane refuses store writes over their rate and anything past its queue bound', () => {
    let now = 0;
    const lane = new Lane('ws:1', () => now);
    const limit = RATE_LIMITS['settings.set']!;
    const results = Array.from({ length: limit.burst + 5 }, (_, i) => lane.admit(req(i % 2 ? 'settings.set' : 'screening.set', i)));
    expect(results.filter((r) => r === 'queued')).toHaveLength(limit.burst); // one bucket for both
    expect(results.slice(limit.burst)).toEqual(Array(5).fill('rate'));
    now = 1000 / limit.perSecond;
    expect(lane.admit(req('settings.set'))).toBe('queued');
    const cheap = new Lane('ws:2');
    for (let i = 0; i < FLOW_LIMITS.maxQueued; i += 1) expect(cheap.admit(req('app.info', i))).toBe('queued');
    expect(cheap.admit(req('app.info'))).toBe('queue');
  });

  it('a stop takes the queued motion requests out of the queue; other requests stay', () => {
    const lane = new Lane('ws:1');
    for (const c of ['session.start', 'app.info', 'session.setStep', 'session.resume', 'device.setHeat', 'settings.get']) lane.admit(req(c));
    expect(lane.overtakenBy().map((r) => r.channel)).toEqual(['session.start', 'session.setStep', 'session.resume', 'device.setHeat']);
    expect(lane.queue.map((r) => r.channel)).toEqual(['app.info', 'settings.get']);
  });

  it('held events keep the latest per name, in the order they were last updated', () => {
    const lane = new Lane('ws:1');
    lane.hold('device.status', 1);
    lane.hold('session.state', 'a');
    lane.hold('device.status', 2);
    expect(lane.takeHeld()).toEqual([
      ['session.state', 'a'],
      ['device.status', 2],
    ]);
    expect(lane.takeHeld()).toEqual([]);
  });

  it('the dispatcher serves a connection with one request in the first turn, whatever another has queued', async () => {
    const started: string[] = [];
    const d = new Dispatcher((lane, r) => {
      started.push(`${lane.id}:${String(r.id)}`);
      d.finished(lane);
    });
    const flooder = new Lane('flood');
    const other = new Lane('other');
    d.add(flooder);
    d.add(other);
    for (let i = 0; i < FLOW_LIMITS.maxQueued; i += 1) flooder.admit(req('app.info', i));
    other.admit(req('app.info', 'x'));
    d.schedule();
    await new Promise((r) => setImmediate(r));
    expect(started.indexOf('other:x')).toBeGreaterThanOrEqual(0);
    expect(started.indexOf('other:x')).toBeLessThanOrEqual(1);
    expect(started.length).toBeLessThanOrEqual(FLOW_LIMITS.turnRequests);
    await until(() => started.length === FLOW_LIMITS.maxQueued + 1);
    d.dispose();
  });

  it('at most maxInFlight requests of one connection run at once', async () => {
    const finishers: (() => void)[] = [];
    const lane = new Lane('ws:1');
    const d = new Dispatcher((l) => finishers.push(() => d.finished(l)));
    d.add(lane);
    for (let i = 0; i < 20; i += 1) lane.admit(req('app.info', i));
    d.schedule();
    await sleep(20);
    expect(finishers).toHaveLength(FLOW_LIMITS.maxInFlight);
    finishers.shift()!();
    await sleep(20);
    expect(finishers).toHaveLength(FLOW_LIMITS.maxInFlight);
    d.dispose();
  });
});

describe('through the host', () => {
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('a stop overtakes the motion requests its connection sent just before it: they are refused, not run', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'unknot-flow-'));
    writeFileSync(join(dir, 'index.html'), '<!doctype html>');
    const core = new FakeCore();
    const host = await startBrowserHost({ core, rendererDir: dir, port: 0 });
    cleanups.push(() => host.close());
    const client = await RawWsClient.open(host.port, host.token);
    cleanups.push(() => client.destroy());
    // one write: the host reads all of it in one go, before any queued request runs
    const burst = [
      { id: 'a', channel: 'session.setStep', payload: { sessionId: 's', intensity: 1 } },
      { id: 'b', channel: 'app.info' },
      { id: 'c', channel: 'session.start', payload: { muscleGroup: 'neck', plannedMotorSeconds: 60 } },
      { id: 'stop', channel: 'device.stop', payload: { force: true } },
      { id: 'd', channel: 'session.setStep', payload: { sessionId: 's', intensity: 1 } },
    ];
    client.socket.write(Buffer.concat(burst.map((m) => clientFrame(JSON.stringify(m)))));
    for (const id of ['a', 'b', 'c', 'stop', 'd']) await client.reply(id);
    expect(core.calls.map((c) => c.channel)).toEqual(['device.stop', 'app.info', 'session.setStep']);
    for (const id of ['a', 'c']) expect(await client.reply(id)).toMatchObject({ ok: false, error: { code: 'refused' } });
    expect(await client.reply('stop')).toMatchObject({ ok: true });
    expect(await client.reply('d')).toMatchObject({ ok: true }); // sent after the stop: it runs (the governor judges it)
  });

  it('a flood of stops from one connection stays one stop deep, and every stop is answered', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'unknot-flow-'));
    writeFileSync(join(dir, 'index.html'), '<!doctype html>');
    let running = 0;
    let most = 0;
    const core = new FakeCore();
    core.handle = async (id, channel, payload) => {
      core.calls.push({ id, channel, payload });
      running += 1;
      most = Math.max(most, running);
      await sleep(5);
      running -= 1;
      return { ok: true, result: null };
    };
    const host = await startBrowserHost({ core, rendererDir: dir, port: 0 });
    cleanups.push(() => host.close());
    const client = await RawWsClient.open(host.port, host.token);
    cleanups.push(() => client.destroy());
    client.socket.write(Buffer.concat(Array.from({ length: 500 }, (_, i) => clientFrame(JSON.stringify({ id: `s${i}`, channel: 'device.stop' })))));
    await client.reply('s499');
    expect(client.messages.filter((m) => String(m.id).startsWith('s') && m.ok === true)).toHaveLength(500);
    expect(most).toBe(1);
    expect(core.calls.length).toBeLessThan(20);
    // the last stop ran after the last one was read: never answered by an earlier stop alone
    expect(core.calls.length).toBeGreaterThanOrEqual(2);
  });
});
