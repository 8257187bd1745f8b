/**
 * The built browser host (`out/main/host.js`, from `npm run build`) as a real child
 * process for tests: started directly or through the `npm start` launcher
 * (`scripts/start.mjs`), in demo mode with a fresh data folder, and a client that
 * brings the simulated Theragun Pro to a running session.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import type { ScanResults, SimPeripheralState } from '../../../electron/ipc/contract';
import { ALL_NO, until } from './core-harness';
import { RawWsClient } from './raw-ws';
import { HostClient } from './ws-client';

export const ROOT = join(__dirname, '../../..');
export const HOST_JS = join(ROOT, 'out/main/host.js');
export const LAUNCHER = join(ROOT, 'scripts/start.mjs');
export const PRO = 'sim-theragun-pro';

export interface HostProcess {
  /** The process started: the host itself, or the launcher. */
  child: ChildProcess;
  /** The host's pid (the launcher's child when started through it). */
  hostPid: number;
  /** The launcher's pid (the child itself, or under the shell when `npmLike`). */
  launcherPid: number;
  port: number;
  token: string;
  output: () => string;
  /** Resolves when `child` has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Starts the host (`--demo`), or the launcher when `launcher` is set; `nodeArgs` go to
 * node before the script (e.g. `--require fixture.cjs`); `dataDir` is the data folder
 * (default: a fresh temporary one); with `ownGroup` the process started leads a process
 * group of its own (as a terminal's foreground job: `-child.pid` signals the group);
 * `prlimitNofile` runs it under `prlimit --nofile=N:N` (at most N file descriptors; the
 * same pid, prlimit execs the command).
 * @throws when out/main/host.js is missing (run `npm run build`) or no URL is printed in 15 s.
 */
export async function startHostProcess(
  opts: {
    launcher?: boolean;
    npmLike?: boolean;
    nodeArgs?: string[];
    env?: Record<string, string>;
    dataDir?: string;
    ownGroup?: boolean;
    prlimitNofile?: number;
  } = {},
): Promise<HostProcess> {
  if (!existsSync(HOST_JS)) throw new Error(`${HOST_JS} is missing: run npm run build first`);
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'unknot-proc-'));
  const script = opts.launcher ? [LAUNCHER, '--browser', '--demo'] : [HOST_JS, '--demo'];
  // `npmLike`: what `npm start` makes of the launcher, a process (npm) running a shell
  // (`sh -c "… && node scripts/start.mjs"`) that runs the launcher
  const argv = opts.npmLike
    ? ['-e', `require('node:child_process').spawn('sh', ['-c', ${JSON.stringify(`true && "${process.execPath}" "${LAUNCHER}" --browser --demo`)}], { stdio: 'inherit' })`]
    : [...(opts.nodeArgs ?? []), ...script];
  const [cmd, args] = opts.prlimitNofile ? ['prlimit', [`--nofile=${opts.prlimitNofile}:${opts.prlimitNofile}`, process.execPath, ...argv]] : [process.execPath, argv];
  const child = spawn(cmd, args, {
    env: { ...process.env, UNKNOT_DATA_DIR: dataDir, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: opts.ownGroup ?? false,
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.once('exit', (code, signal) => r({ code, signal })));
  const url = await until(() => /Open (http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]+)/.exec(out)?.[1], 15_000, `the host's address in:\n${out}`);
  const u = new URL(url);
  const launcherPid = opts.npmLike ? await until(() => childrenOf(childrenOf(child.pid!)[0] ?? -1)[0], 5000, 'the launcher under the shell') : child.pid!;
  const hostPid = opts.launcher || opts.npmLike ? await until(() => childrenOf(launcherPid)[0], 5000, 'the host under the launcher') : child.pid!;
  return { child, hostPid, launcherPid, port: Number(u.port), token: u.searchParams.get('token')!, output: () => out, exited };
}

/**
 * For a test file: a `start` that runs {@link startHostProcess} and, after each test, kills
 * every process it started (the host, the launcher and the spawned child; SIGCONT first, so
 * a stopped one dies too). Call it once at the top level of the file.
 */
export function trackHostProcesses(): (opts?: Parameters<typeof startHostProcess>[0]) => Promise<HostProcess> {
  const started: HostProcess[] = [];
  afterEach(() => {
    for (const h of started.splice(0)) {
      for (const pid of [h.hostPid, h.launcherPid, h.child.pid!]) {
        try {
          process.kill(pid, 'SIGCONT');
          process.kill(pid, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }
    }
  });
  return async (opts = {}) => {
    const h = await startHostProcess(opts);
    started.push(h);
    return h;
  };
}

/** Pids whose parent is `pid` (from /proc). */
export function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(name));
    } catch {
      /* gone meanwhile */
    }
  }
  return out;
}

/** Whether process `pid` is alive (and not a zombie). */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** The state letter of process `pid` in /proc (`R`, `S`, `T` stopped, `Z`…), or null when it is gone. */
export function procState(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] ?? null;
  } catch {
    return null;
  }
}

/** The resident set size of process `pid`, bytes (VmRSS in /proc). */
export function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for ${pid}`);
  return Number(m[1]) * 1024;
}

/** Whether process `pid` owns a TCP socket listening on `port` (any address), from /proc. */
export function listensOn(pid: number, port: number): boolean {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]!);
    } catch {
      /* closed meanwhile */
    }
  }
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    if (!existsSync(table)) continue;
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10) continue;
      if (f[1]!.endsWith(`:${hexPort}`) && f[3] === '0A' && inodes.has(f[9]!)) return true;
    }
  }
  return false;
}

/** The Pro's simulated state in a `sim.state` event or reply. */
export function proState(states: unknown): Record<string, unknown> | undefined {
  return (states as SimPeripheralState[] | undefined)?.find((s) => s.peripheralId === PRO)?.state;
}

/**
 * Connects a client, answers the screening, connects the simulated Pro and starts a
 * manual session at full intensity (the default 60% ceiling: 2169 rpm); heartbeats
 * every 500 ms until `stopHeartbeats`. Resolves once the simulated gun runs.
 */
export async function runningGun(port: number, token: string): Promise<{ client: HostClient; sessionId: string; stopHeartbeats: () => void }> {
  const client = await HostClient.open(port, token);
  await client.ok('screening.set', { answers: ALL_NO });
  await client.ok('settings.set', { doctorNoticeAcknowledged: true });
  await client.ok('scan.start');
  await until(() => (client.events.filter((e) => e.event === 'scan.results').at(-1)?.payload as ScanResults | undefined)?.devices.some((d) => d.peripheralId === PRO), 10_000, 'the Pro is found');
  await client.ok('device.connect', { peripheralId: PRO });
  const { sessionId } = await client.ok<{ sessionId: string }>('session.start', { muscleGroup: 'upper-back', plannedMotorSeconds: 120 });
  const beat = setInterval(() => {
    if (!client.closed) client.fire('session.heartbeat', { sessionId });
  }, 500);
  await client.ok('session.setStep', { sessionId, intensity: 1 });
  const end = Date.now() + 10_000;
  while (Number(proState(await client.ok('sim.state'))?.rpm ?? 0) === 0) {
    if (Date.now() > end) throw new Error('the gun did not start');
    await new Promise((r) => setTimeout(r, 50));
  }
  return { client, sessionId, stopHeartbeats: () => clearInterval(beat) };
}

/**
 * Whether `client` received, among its events from index `from` on (the count when the
 * gun was seen running), a `sim.state` event in which the simulated Pro itself reports
 * 0 rpm: the device decoded a stop.
 */
export function sawStop(client: HostClient, from: number): boolean {
  return client.events.slice(from).some((e) => e.event === 'sim.state' && Number(proState(e.payload)?.rpm ?? NaN) === 0);
}

/** What {@link floodWithoutReading} saw. */
export interface NonReadingFlood {
  /** Requests the client wrote to its socket (most of them never read by the host, once it stops reading). */
  written: number;
  rssStartBytes: number;
  rssMaxBytes: number;
  /** When the simulated gun was seen at 0 rpm, ms after the flood began; null if not within the flood and 5 s after. */
  gunStoppedAfterMs: number | null;
  /** The host closed the connection. */
  dropped: boolean;
  /** Bytes still waiting in the client's socket at the end (the host stopped reading them). */
  unreadBytes: number;
  /** The reason of the session's end, as an observer connection saw it. */
  endedReason: string | undefined;
  rpmAtEnd: number;
}

/**
 * The slow-client attack on a host process: a raw client connects the simulated Pro,
 * starts a session at full intensity, then stops reading and, for `ms`, floods
 * `settings.get` (a few KB of reply each) with a heartbeat every 500 ms, keeping at
 * most 4 MB in its own socket. The host's RSS is sampled all along; an observer
 * connection watches the gun.
 */
export async function floodWithoutReading(h: HostProcess, ms: number): Promise<NonReadingFlood> {
  const observer = await HostClient.open(h.port, h.token);
  const owner = await RawWsClient.open(h.port, h.token);
  try {
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
      await new Promise((r) => setTimeout(r, 50));
    }

    owner.stopReading();
    const rssStartBytes = rssBytes(h.hostPid);
    let rssMaxBytes = rssStartBytes;
    let gunStoppedAfterMs: number | null = null;
    const t0 = Date.now();
    let lastBeat = 0;
    let written = 0;
    for (let round = 0; Date.now() - t0 < ms && !owner.closed; round += 1) {
      if (Date.now() - lastBeat > 500) {
        owner.send({ id: `hb${++seq}`, channel: 'session.heartbeat', payload: { sessionId } });
        lastBeat = Date.now();
      }
      for (let i = 0; i < 2000 && owner.socket.writableLength < 4 * 1024 * 1024; i += 1) {
        owner.send({ id: `f${++seq}`, channel: 'settings.get' });
        written += 1;
      }
      await new Promise((r) => setTimeout(r, 5));
      rssMaxBytes = Math.max(rssMaxBytes, rssBytes(h.hostPid));
      if (gunStoppedAfterMs === null && round % 20 === 0 && (await rpm()) === 0) gunStoppedAfterMs = Date.now() - t0;
    }
    if (gunStoppedAfterMs === null) gunStoppedAfterMs = await until(async () => ((await rpm()) === 0 ? Date.now() - t0 : 0), 5000, 'the gun stops').catch(() => null);
    const ended = observer.events.find((e) => e.event === 'session.ended')?.payload as { reason: string } | undefined;
    return {
      written,
      rssStartBytes,
      rssMaxBytes,
      gunStoppedAfterMs,
      dropped: owner.closed,
      unreadBytes: owner.socket.writableLength,
      endedReason: ended?.reason,
      rpmAtEnd: await rpm(),
    };
  } finally {
    owner.destroy();
    observer.close();
  }
}
