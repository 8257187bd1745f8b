/**
 * A demo-mode app core for tests, with one attached connection that records every
 * event: real noble classes on the simulated radio, the store in a temporary folder.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCore, type AppCore } from '../../../electron/core/app-core';
import type { EventChannel, Reply, ScanResults } from '../../../electron/ipc/contract';

/** Screening answers that allow every device (the EMS questions included). */
export const ALL_NO = { pregnant: false, 'heart-condition': false, 'high-blood-pressure': false, implant: false, epilepsy: false };

/** Polls `fn` every 10 ms until it returns something truthy; fails after `ms`. */
export async function until<T>(fn: () => T | undefined | false, ms = 5000, what = 'condition'): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`${what}: not met in ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface CoreHarness {
  core: AppCore;
  /** Every event sent to connection `ws:1`, in order. */
  events: { event: EventChannel; payload: unknown }[];
  /** A request from connection `ws:1`. */
  call(channel: string, payload?: unknown): Promise<Reply>;
  /** A request that must succeed; resolves to its result. */
  ok<T>(channel: string, payload?: unknown): Promise<T>;
  /** Scans until a device whose name matches is listed; resolves to its peripheral id. */
  find(name: RegExp): Promise<string>;
}

/** Starts a demo core (time scale 1) in `dataDir` (default: a fresh temporary data folder). */
export async function startCore(dataDir = mkdtempSync(join(tmpdir(), 'unknot-core-'))): Promise<CoreHarness> {
  const core = await createCore({ dataDir, demo: true, timeScale: 1, host: 'browser', version: 'test' });
  const events: CoreHarness['events'] = [];
  core.attach({ id: 'ws:1', kind: 'ws', send: (event, payload) => events.push({ event, payload }) });
  const call = (channel: string, payload?: unknown): Promise<Reply> => core.handle('ws:1', channel, payload);
  const ok = async <T>(channel: string, payload?: unknown): Promise<T> => {
    const r = await call(channel, payload);
    if (!r.ok) throw new Error(`${channel}: ${r.error.code} ${r.error.message}`);
    return r.result as T;
  };
  const find = async (name: RegExp): Promise<string> => {
    await ok('scan.start');
    return until(() => {
      const last = [...events].reverse().find((e) => e.event === 'scan.results')?.payload as ScanResults | undefined;
      return last?.devices.find((d) => name.test(d.name))?.peripheralId;
    });
  };
  return { core, events, call, ok, find };
}
