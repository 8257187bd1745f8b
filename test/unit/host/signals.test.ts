/**
 * F4 and F5 of the second adversarial pass, on real processes: the built host
 * (`out/main/host.js`, `npm run build` first) in demo mode, alone or behind the
 * `npm start` launcher, with a client running the simulated Theragun Pro at full speed.
 *
 * F5: SIGUSR2, SIGALRM and the other catchable signals whose default action ends the
 * process killed the host with the motor on. Each must go through the quit: the client
 * receives a `sim.state` event in which the simulated gun itself reports 0 rpm, the
 * session ends with `app-quit`, then the host exits with status 0.
 *
 * F4: Ctrl+Z (SIGTSTP to the terminal's foreground process group), SIGTTIN and SIGTTOU
 * froze the host with the motor on. The host must stop the gun before it is stopped
 * itself (state T in /proc): every event the client gets was sent before that, so a
 * 0 rpm `sim.state` among them proves the order. The launcher must not stop before the
 * host. After SIGCONT the host carries on: the session ended (`suspend`), the gun stays
 * off, a new session can start.
 */
import { describe, expect, it } from 'vitest';
import { PING_INTERVAL_MS } from '../../../electron/host/server';
import { quitSignals } from '../../../electron/host/signals';
import { until } from '../helpers/core-harness';
import { alive, procState, proState, runningGun, sawStop, trackHostProcesses, type HostProcess } from '../helpers/host-process';
import type { HostClient } from '../helpers/ws-client';

const start = trackHostProcesses();

function endedReason(client: HostClient): unknown {
  return (client.events.find((e) => e.event === 'session.ended')?.payload as { reason?: unknown } | undefined)?.reason;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resolves once `pid` is stopped (state T in /proc); fails after `ms` milliseconds. */
async function untilStopped(pid: number, ms: number, what: string): Promise<void> {
  await until(() => procState(pid) === 'T', ms, what);
}

/** After SIGCONT: the host answers again, the gun is off, the session ended with `suspend`, and a new one starts. */
async function carriesOn(h: HostProcess, client: HostClient): Promise<void> {
  await until(() => procState(h.hostPid) !== 'T', 5000, 'the host runs again');
  expect(Number(proState(await client.ok('sim.state'))?.rpm)).toBe(0);
  expect(await client.ok('session.get')).toBeNull();
  expect(endedReason(client)).toBe('suspend');
  const next = await client.request('session.start', { muscleGroup: 'shoulders', plannedMotorSeconds: 60 });
  expect(next).toMatchObject({ ok: true });
  await client.ok('session.end', { sessionId: (next.result as { sessionId: string }).sessionId });
}

describe('every catchable terminating signal stops the gun before the host exits (F5)', () => {
  const signals = quitSignals().filter((s) => !['SIGHUP', 'SIGINT', 'SIGTERM'].includes(s)); // those three: exit-paths.test.ts
  it('the list covers the signals the attack used, once per signal number', () => {
    for (const s of ['SIGUSR2', 'SIGALRM', 'SIGVTALRM', 'SIGPROF', 'SIGXCPU', 'SIGXFSZ', 'SIGPWR', 'SIGPOLL', 'SIGQUIT']) expect(signals).toContain(s);
    expect(signals).not.toContain('SIGUSR1');
    expect(signals).not.toContain('SIGIO'); // the same number as SIGPOLL on Linux
  });
  for (const signal of signals) {
    it(`${signal}: the gun reports 0 rpm, the session ends with app-quit, then the host exits with status 0`, async () => {
      const h = await start();
      const { client, stopHeartbeats } = await runningGun(h.port, h.token);
      const mark = client.events.length;
      process.kill(h.hostPid, signal);
      const exit = await h.exited;
      stopHeartbeats();
      await client.whenClosed(2000).catch(() => undefined);
      expect(sawStop(client, mark), h.output()).toBe(true);
      expect(endedReason(client)).toBe('app-quit');
      expect(exit).toEqual({ code: 0, signal: null });
      expect(h.output()).toContain(`${signal} received; stopping every massager`);
    }, 30_000);
  }

  it('SIGUSR2 to the launcher is passed on: the gun stops, then the host and the launcher exit', async () => {
    const h = await start({ launcher: true });
    const { client, stopHeartbeats } = await runningGun(h.port, h.token);
    const mark = client.events.length;
    process.kill(h.launcherPid, 'SIGUSR2');
    const exit = await h.exited;
    await until(() => !alive(h.hostPid), 10_000, 'the host exits');
    stopHeartbeats();
    expect(sawStop(client, mark), h.output()).toBe(true);
    expect(endedReason(client)).toBe('app-quit');
    expect(exit).toEqual({ code: 0, signal: null });
  }, 30_000);
});

describe('job control stops the gun before anything is suspended (F4)', () => {
  for (const signal of ['SIGTSTP', 'SIGTTIN', 'SIGTTOU'] as const) {
    it(`${signal} to the host: the gun is at 0 rpm before the host is stopped; after SIGCONT it carries on`, async () => {
      const h = await start();
      const { client, stopHeartbeats } = await runningGun(h.port, h.token);
      const mark = client.events.length;
      process.kill(h.hostPid, signal);
      await untilStopped(h.hostPid, 10_000, 'the host stops itself');
      stopHeartbeats();
      // Whatever arrives now was sent before the host stopped.
      await sleep(300);
      expect(procState(h.hostPid)).toBe('T');
      expect(sawStop(client, mark), h.output()).toBe(true);
      expect(endedReason(client)).toBe('suspend');
      process.kill(h.hostPid, 'SIGCONT');
      await carriesOn(h, client);
      // the client is still served after the pause (a ping period later too)
      await sleep(PING_INTERVAL_MS + 500);
      expect(client.closed).toBeNull();
      expect(await client.request('session.get')).toMatchObject({ ok: true });
      client.close();
    }, 30_000);
  }

  it('Ctrl+Z as a terminal sends it (SIGTSTP to the whole group: npm, sh, launcher, host): the gun stops first, the launcher stops after the host', async () => {
    const h = await start({ npmLike: true, ownGroup: true });
    const { client, stopHeartbeats } = await runningGun(h.port, h.token);
    const mark = client.events.length;
    let hostStoppedAt = -1;
    let launcherStoppedAt = -1;
    let launcherBeforeHost = false;
    process.kill(-h.child.pid!, 'SIGTSTP');
    const t0 = Date.now();
    for (let poll = 0; (hostStoppedAt < 0 || launcherStoppedAt < 0) && Date.now() - t0 < 15_000; poll++) {
      // the launcher first, so that "the launcher stopped while the host had not" cannot be missed
      const launcher = procState(h.launcherPid);
      const host = procState(h.hostPid);
      if (launcher === 'T' && launcherStoppedAt < 0) {
        launcherStoppedAt = poll;
        if (host !== 'T') launcherBeforeHost = true;
      }
      if (host === 'T' && hostStoppedAt < 0) hostStoppedAt = poll;
      await sleep(5);
    }
    stopHeartbeats();
    expect(hostStoppedAt, h.output()).toBeGreaterThanOrEqual(0);
    expect(launcherStoppedAt, h.output()).toBeGreaterThanOrEqual(0);
    expect(launcherBeforeHost).toBe(false);
    await sleep(300);
    expect(sawStop(client, mark), h.output()).toBe(true);
    expect(endedReason(client)).toBe('suspend');
    // `fg`: the shell continues the whole group
    process.kill(-h.child.pid!, 'SIGCONT');
    await carriesOn(h, client);
    await until(() => procState(h.launcherPid) !== 'T', 5000, 'the launcher runs again');
    expect(alive(h.launcherPid)).toBe(true);
    client.close();
  }, 40_000);

  it('SIGTSTP to the launcher alone: it asks the host, the gun stops, the host stops, then the launcher', async () => {
    const h = await start({ launcher: true });
    const { client, stopHeartbeats } = await runningGun(h.port, h.token);
    const mark = client.events.length;
    process.kill(h.launcherPid, 'SIGTSTP');
    let launcherBeforeHost = false;
    await until(
      () => {
        const launcher = procState(h.launcherPid);
        if (launcher === 'T' && procState(h.hostPid) !== 'T') launcherBeforeHost = true;
        return launcher === 'T';
      },
      15_000,
      'the launcher stops',
    );
    stopHeartbeats();
    expect(procState(h.hostPid)).toBe('T');
    expect(launcherBeforeHost).toBe(false);
    await sleep(300);
    expect(sawStop(client, mark), h.output()).toBe(true);
    for (const pid of [h.launcherPid, h.hostPid]) process.kill(pid, 'SIGCONT');
    await carriesOn(h, client);
    // the launcher's request was served by that one suspend: the host does not stop again
    await sleep(500);
    expect(procState(h.hostPid)).not.toBe('T');
    client.close();
  }, 40_000);

  it("a suspend request the host reads only after it was stopped and continued is spent: neither the host nor the launcher stops after `fg`", async () => {
    const h = await start({ launcher: true });
    process.kill(h.hostPid, 'SIGSTOP'); // frozen by someone else: it cannot read the launcher's request
    process.kill(h.launcherPid, 'SIGTSTP');
    await sleep(1500);
    process.kill(h.hostPid, 'SIGCONT');
    await sleep(1500);
    expect(procState(h.hostPid)).not.toBe('T');
    expect(procState(h.launcherPid)).not.toBe('T');
    expect(alive(h.hostPid) && alive(h.launcherPid)).toBe(true);
  }, 30_000);

  it('a suspend while no session runs stops nothing that runs and the host carries on', async () => {
    const h = await start();
    process.kill(h.hostPid, 'SIGTSTP');
    await untilStopped(h.hostPid, 10_000, 'the host stops itself');
    process.kill(h.hostPid, 'SIGCONT');
    await until(() => procState(h.hostPid) !== 'T', 5000, 'the host runs again');
    const { client, stopHeartbeats } = await runningGun(h.port, h.token);
    expect(Number(proState(await client.ok('sim.state'))?.rpm)).toBeGreaterThan(0);
    stopHeartbeats();
    client.close();
  }, 30_000);
});
