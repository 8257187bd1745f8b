/**
 * Every way out of the browser host process that Node can intercept stops the massager
 * first (issue 13, hole 4). Real child processes: the built host (`out/main/host.js`,
 * `npm run build` first) in demo mode, or the `npm start` launcher in front of it; a
 * client runs the simulated Theragun Pro at full speed, then the process is signalled,
 * loses its launcher or hits an uncaught error. What must hold: before the process
 * is gone, the client received a `sim.state` event in which the simulated gun itself
 * reports 0 rpm (it decoded the stop bytes), and the session ended with `app-quit`.
 * SIGUSR1 must not open Node's inspector on port 9229, and the host keeps running.
 */
import { connect } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { until } from '../helpers/core-harness';
import { alive, listensOn, runningGun, sawStop, trackHostProcesses } from '../helpers/host-process';

const start = trackHostProcesses();

/** The reason of the `session.ended` event the client got, if any. */
function endedReason(events: Record<string, unknown>[]): unknown {
  return (events.find((e) => e.event === 'session.ended')?.payload as { reason?: unknown } | undefined)?.reason;
}

describe('the host process stops the massager on every way out', () => {
  for (const signal of ['SIGHUP', 'SIGINT', 'SIGTERM'] as const) {
    it(`${signal} (${signal === 'SIGHUP' ? 'the terminal closed' : signal === 'SIGINT' ? 'Ctrl+C' : 'kill'}): the gun stops, then the host exits`, async () => {
      const h = await start();
      const { client, stopHeartbeats } = await runningGun(h.port, h.token);
    const mark = client.events.length;
      process.kill(h.hostPid, signal);
      const exit = await h.exited;
      stopHeartbeats();
      await client.whenClosed(2000);
      expect(sawStop(client, mark), h.output()).toBe(true);
      expect(endedReason(client.events)).toBe('app-quit');
      expect(exit).toEqual({ code: 0, signal: null });
      expect(h.output()).toMatch(new RegExp(`${signal} received; stopping every massager`));
    }, 30_000);
  }

  it('the launcher killed outright (SIGKILL): the host notices, stops the gun and exits', async () => {
    const h = await start({ launcher: true });
    const { client, stopHeartbeats } = await runningGun(h.port, h.token);
    const mark = client.events.length;
    process.kill(h.child.pid!, 'SIGKILL');
    await h.exited;
    await until(() => !alive(h.hostPid), 10_000, 'the host exits after its launcher');
    stopHeartbeats();
    await client.whenClosed(2000);
    expect(sawStop(client, mark), h.output()).toBe(true);
    expect(endedReason(client.events)).toBe('app-quit');
  }, 30_000);

  it('`npm start` killed outright (npm → sh → launcher): the launcher notices, the gun stops, the host exits', async () => {
    const h = await start({ npmLike: true });
    const { client, stopHeartbeats } = await runningGun(h.port, h.token);
    const mark = client.events.length;
    process.kill(h.child.pid!, 'SIGKILL'); // npm gone; the shell and the launcher live on
    await until(() => !alive(h.hostPid), 10_000, 'the host exits after npm');
    stopHeartbeats();
    await client.whenClosed(2000);
    expect(sawStop(client, mark), h.output()).toBe(true);
    expect(endedReason(client.events)).toBe('app-quit');
    await until(() => !alive(h.launcherPid), 5000, 'the launcher exits too');
  }, 30_000);

  it("SIGUSR1 to the launcher does not open Node's inspector there either", async () => {
    const h = await start({ launcher: true });
    process.kill(h.launcherPid, 'SIGUSR1');
    await new Promise((r) => setTimeout(r, 1000));
    expect(h.output()).not.toMatch(/Debugger listening/);
    expect(listensOn(h.launcherPid, 9229)).toBe(false);
    expect(alive(h.launcherPid) && alive(h.hostPid)).toBe(true);
  }, 30_000);

  it('SIGHUP to the launcher is passed on: the gun stops and both exit', async () => {
    const h = await start({ launcher: true });
    const { client, stopHeartbeats } = await runningGun(h.port, h.token);
    const mark = client.events.length;
    process.kill(h.child.pid!, 'SIGHUP');
    const exit = await h.exited;
    await until(() => !alive(h.hostPid), 10_000, 'the host exits');
    stopHeartbeats();
    await client.whenClosed(2000);
    expect(sawStop(client, mark), h.output()).toBe(true);
    expect(exit).toEqual({ code: 0, signal: null });
  }, 30_000);

  for (const fault of ['exception', 'reject'] as const) {
    it(`an uncaught ${fault === 'exception' ? 'exception' : 'promise rejection'}: the gun stops, then the host exits with status 1`, async () => {
      const h = await start({ nodeArgs: ['--require', join(__dirname, 'fixtures', 'fault-on-sigwinch.cjs')], env: { UNKNOT_TEST_FAULT: fault } });
      const { client, stopHeartbeats } = await runningGun(h.port, h.token);
    const mark = client.events.length;
      process.kill(h.hostPid, 'SIGWINCH');
      const exit = await h.exited;
      stopHeartbeats();
      await client.whenClosed(2000);
      expect(h.output()).toContain(`${fault === 'exception' ? 'exception' : 'rejection'} injected by the test`);
      expect(sawStop(client, mark), h.output()).toBe(true);
      expect(exit).toEqual({ code: 1, signal: null });
    }, 30_000);
  }

  it("SIGUSR1 does not open Node's inspector on 127.0.0.1:9229, and the host keeps running the session", async () => {
    const h = await start();
    const { client, sessionId, stopHeartbeats } = await runningGun(h.port, h.token);
    const taken = listensOnAny(9229);
    process.kill(h.hostPid, 'SIGUSR1');
    await new Promise((r) => setTimeout(r, 1500));
    expect(h.output()).not.toMatch(/Debugger listening/);
    expect(listensOn(h.hostPid, 9229)).toBe(false);
    // unless another program on this machine holds 9229, nothing answers there
    if (!taken) expect(await connectResult(9229)).toBe('ECONNREFUSED');
    expect(alive(h.hostPid)).toBe(true);
    expect(await client.request('session.heartbeat', { sessionId })).toMatchObject({ ok: true });
    expect(await client.request('session.get')).toMatchObject({ ok: true, result: { sessionId, state: 'running' } });
    stopHeartbeats();
    client.close();
  }, 30_000);
});

/** Whether anything on this machine listens on `port` now (a connect succeeds). */
function listensOnAny(port: number): Promise<boolean> {
  return connectResult(port).then((r) => r === 'connected');
}

function connectResult(port: number): Promise<string> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve('connected');
    });
    s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
  });
}
