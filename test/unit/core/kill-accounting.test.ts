/**
 * Issue 13, 3d: safe-side accounting across `kill -9`. The real browser host
 * (`out/main/host.js`, built by `npm run build`) runs the simulated gun from a WebSocket
 * client; the host is killed with SIGKILL while the gun runs; a restarted host must then
 * charge at least the motor time that really ran. The motor cannot have started before
 * the client asked for it, so the time from that request to the kill bounds what ran.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { BudgetInfo, ScanResults, SessionStartResult, SimPeripheralState } from '../../../electron/ipc/contract';

const HOST_JS = join(__dirname, '..', '..', '..', 'out', 'main', 'host.js');
const ANSWERS = { pregnant: false, 'heart-condition': false, 'high-blood-pressure': false };
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Host {
  child: ChildProcess;
  ws: WebSocket;
  call<T>(channel: string, payload?: unknown): Promise<T>;
  events: { event: string; payload: unknown }[];
}

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

/** Starts the host on `dataDir` and opens its WebSocket as the page would. */
async function startHost(dataDir: string): Promise<Host> {
  const child = spawn(process.execPath, [HOST_JS, '--demo'], { env: { ...process.env, UNKNOT_DATA_DIR: dataDir }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const url = await new Promise<URL>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the host printed no address:\n${out}`)), 20_000);
    child.stdout!.on('data', () => {
      const m = /Open (http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(new URL(m[1]!));
      }
    });
    child.once('exit', (code) => reject(new Error(`the host exited (${code}):\n${out}`)));
  });
  const ws = new WebSocket(`ws://${url.host}/ws?token=${url.searchParams.get('token')}`, { headers: { Origin: url.origin } });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const events: Host['events'] = [];
  const pending = new Map<number, (reply: { ok: boolean; result?: unknown; error?: { code: string; message: string } }) => void>();
  ws.on('message', (data) => {
    const msg = JSON.parse(data.toString());
    if (typeof msg.id === 'number') pending.get(msg.id)?.(msg);
    else if (msg.event) events.push(msg);
  });
  let next = 1;
  const call = <T>(channel: string, payload?: unknown): Promise<T> =>
    new Promise((resolve, reject) => {
      const id = next++;
      pending.set(id, (reply) => (reply.ok ? resolve(reply.result as T) : reject(new Error(`${channel}: ${reply.error?.code} ${reply.error?.message}`))));
      ws.send(JSON.stringify({ id, channel, payload: payload ?? {} }));
    });
  return { child, ws, call, events };
}

async function until(fn: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms`);
    await sleep(20);
  }
}

const gunRpm = async (host: Host): Promise<number> => {
  const sims = await host.call<SimPeripheralState[]>('sim.state');
  return Number(sims.find((p) => p.name === 'Pro')?.state.rpm ?? 0);
};

describe.skipIf(!existsSync(HOST_JS))('kill -9 while the motor runs (issue 13, 3d)', () => {
  it(
    'after SIGKILL, the restarted app charges at least the motor time that really ran',
    async () => {
      for (const runMs of [1700, 3300]) {
        const dataDir = mkdtempSync(join(tmpdir(), 'unknot-kill-'));
        const host = await startHost(dataDir);
        await host.call('scan.start');
        await until(() => {
          const last = [...host.events].reverse().find((e) => e.event === 'scan.results')?.payload as ScanResults | undefined;
          return last?.devices.some((d) => d.name === 'Pro') ?? false;
        }, 10_000, 'the gun is listed');
        const last = [...host.events].reverse().find((e) => e.event === 'scan.results')!.payload as ScanResults;
        await host.call('device.connect', { peripheralId: last.devices.find((d) => d.name === 'Pro')!.peripheralId });
        await host.call('screening.set', { answers: ANSWERS });
        await host.call('settings.set', { doctorNoticeAcknowledged: true });
        const session = await host.call<SessionStartResult>('session.start', { muscleGroup: 'neck', plannedMotorSeconds: 240 });
        const heartbeat = setInterval(() => void host.call('session.heartbeat', { sessionId: session.sessionId }).catch(() => undefined), 500);
        try {
          const askedAt = Date.now(); // the motor cannot run before this
          await host.call('session.setStep', { sessionId: session.sessionId, intensity: 0.5 });
          await until(async () => (await gunRpm(host)) > 0, 10_000, 'the gun runs');
          const seenAt = Date.now(); // it surely ran from here
          await sleep(runMs);
          const killedAt = Date.now();
          host.child.kill('SIGKILL');
          await new Promise((r) => host.child.once('exit', r));
          const ranAtMost = (killedAt - askedAt) / 1000;
          const ranAtLeast = (killedAt - seenAt) / 1000;

          const again = await startHost(dataDir);
          const neck = (await again.call<BudgetInfo[]>('usage.today')).find((b) => b.muscleGroup === 'neck')!;
          again.child.kill('SIGKILL');
          // at least what really ran (even counted from the request), at most that plus the 3 s reserved and some slack
          expect(neck.usedSeconds).toBeGreaterThanOrEqual(ranAtMost);
          expect(neck.usedSeconds).toBeLessThanOrEqual(ranAtLeast + 3 + 1.5);
        } finally {
          clearInterval(heartbeat);
        }
      }
    },
    90_000,
  );
});
