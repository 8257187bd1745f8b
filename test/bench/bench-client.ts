/**
 * The benches' WebSocket client of the browser host: requests matched to replies by
 * numeric id, `device.status` events to listeners, and the setup every bench run starts
 * with (screening answered, the device found by a scan and connected).
 */
import WebSocket from 'ws';
import type { DeviceStatusEvent, ScanResults } from '../../electron/ipc/contract';
import { ALL_NO } from '../unit/helpers/core-harness';

type Reply = { ok: boolean; result?: unknown; error?: { message: string } };

/** One connection of a bench to a host at `port` with `token`. */
export interface BenchClient {
  ws: WebSocket;
  /** A request that must succeed; resolves with its result. @throws Error with the channel and the refusal's message. */
  request<T>(channel: string, payload?: unknown): Promise<T>;
  /** Sends a request without waiting for its reply (e.g. heartbeats). */
  fire(channel: string, payload?: unknown): void;
  /** Called with every `device.status` event; add and remove freely. */
  deviceListeners: Set<(d: DeviceStatusEvent) => void>;
  /** Answers the screening, scans until `peripheralId` is heard and connects it. */
  connectDevice(peripheralId: string): Promise<void>;
}

/** Opens a bench connection with the host's own Origin and the token. */
export async function openBenchClient(port: number, token: string): Promise<BenchClient> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws?token=${token}`, { headers: { origin: `http://127.0.0.1:${port}` } });
  await new Promise((r, j) => (ws.once('open', r), ws.once('error', j)));
  let nextId = 1;
  const pending = new Map<number, (m: Reply) => void>();
  let scan: ScanResults | undefined;
  const deviceListeners = new Set<(d: DeviceStatusEvent) => void>();
  ws.on('message', (raw) => {
    const m = JSON.parse(raw.toString());
    if (m.event === 'device.status') for (const l of deviceListeners) l(m.payload);
    else if (m.event === 'scan.results') scan = m.payload;
    else if (typeof m.id === 'number') {
      pending.get(m.id)?.(m);
      pending.delete(m.id);
    }
  });
  const request = <T>(channel: string, payload?: unknown): Promise<T> =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      pending.set(id, (m) => (m.ok ? resolve(m.result as T) : reject(new Error(`${channel}: ${m.error?.message}`))));
      ws.send(JSON.stringify({ id, channel, payload }));
    });
  const fire = (channel: string, payload?: unknown): void => ws.send(JSON.stringify({ id: nextId++, channel, payload }));
  const connectDevice = async (peripheralId: string): Promise<void> => {
    await request('screening.set', { answers: ALL_NO });
    await request('settings.set', { doctorNoticeAcknowledged: true });
    await request('scan.start');
    while (!scan?.devices.some((d) => d.peripheralId === peripheralId)) await new Promise((r) => setTimeout(r, 10));
    await request('device.connect', { peripheralId });
  };
  return { ws, request, fire, deviceListeners, connectDevice };
}
