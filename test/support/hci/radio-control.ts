/**
 * Control of a virtual Bluetooth world from a test: what each simulated peripheral
 * received (exact bytes, as they reached it over bleno's ATT server) and the link faults
 * to inject, below noble. The same operations run in the test's own process (a world
 * next to an in-process noble) and inside the Bluetooth helper process (the world its
 * test preload built, `helper-preload.ts`), where they travel as JSON lines over a Unix
 * socket the test listens on.
 *
 * Peripherals and controllers are named by the simulator's local name (`Pro` is the
 * Theragun); the central's controller, the one noble binds to, is `central`.
 */
import type { Socket } from 'node:net';
import { readLines } from '../../../electron/ble/helper/wire';
import { attPdus } from './att-trace';
import type { VirtualWorld } from './hci-world';
import type { VirtualController } from './virtual-link';

/** The helper preload's configuration (the {@link HELPER_WORLD_ENV} variable, JSON). */
export interface HelperWorldConfig {
  /** Path of the Unix socket the test listens on for radio control. */
  control: string;
  /** Local names of the simulators to host (of `simulateAll()`), in this order. */
  sims: string[];
  /** Connection interval of the link, ms (default 30). */
  connectionIntervalMs?: number;
}

/** The environment variable only the helper's test preload reads (never the helper). */
export const HELPER_WORLD_ENV = 'UNKNOT_TEST_HCI_WORLD';

/** One write a simulated peripheral received over ATT. */
export interface RadioWrite {
  /** The peripheral's local name. */
  name: string;
  service: string;
  characteristic: string;
  /** The value written, hex. */
  hex: string;
  withResponse: boolean;
  /** Whether the simulator accepted it. */
  accepted: boolean;
  /** Wall-clock time (Date.now(), ms) it reached the simulator: comparable across processes. */
  atWallMs: number;
  /** The simulator's state right after it (e.g. `{ rpm: 977, running: true }` for the gun). */
  state: Record<string, number | string | boolean>;
}

/** An operation on the world. */
export type RadioRequest =
  | { op: 'state'; name: string }
  | { op: 'bleno'; name: string }
  /** Drops every link of that controller as a lost radio link would (0x08 on both sides). */
  | { op: 'drop'; name: string }
  /** Switches a controller off (the central: the adapter) or on. */
  | { op: 'power'; name: string; on: boolean }
  /** A stalled controller: Number of Completed Packets withheld while `on`. */
  | { op: 'stall'; name: string; on: boolean }
  /** The next ATT write to that peripheral reaches it, then it goes out of range (its controller off). */
  | { op: 'lose-on-next-write'; name: string }
  /** Every connection attempt to that peripheral fails with 0x3E while `on`. */
  | { op: 'refuse'; name: string; on: boolean }
  /** The peripheral stops (false) or starts (true) advertising. */
  | { op: 'advertising'; name: string; on: boolean }
  /** What that controller's host sends waits `ms` before crossing the air (slow ATT answers). */
  | { op: 'att-delay'; name: string; ms: number }
  /** Every fault off, every controller on, every peripheral advertising when not connected. */
  | { op: 'reset' }
  | { op: 'clear-trace' }
  /** What noble did, read off the central's side of the trace (see {@link NobleView}). */
  | { op: 'noble' }
  /** Protocol violations and host errors so far. */
  | { op: 'problems' };

/** What noble did, as the central's controller saw it. */
export interface NobleView {
  /** HCI commands noble sent, by name, since the world was built. */
  commandCounts: Record<string, number>;
  /** Since the trace was last cleared: commands noble sent and events it received (not ACL, adverts or completed packets), one line each, oldest first. */
  hci: string[];
  /** Since the trace was last cleared: ATT PDUs at the central, `host` = noble sent it. */
  att: { from: 'host' | 'controller'; opcode: number; hex: string; atMs: number }[];
}

/** The test's handle on a world, in this process or in the helper's. */
export interface RadioControl {
  /** Carries out one operation. @throws Error when it fails (unknown name, the helper gone). */
  request<T = unknown>(request: RadioRequest): Promise<T>;
  /** Writes the named peripheral received so far, oldest first. */
  writes(name: string): readonly RadioWrite[];
  /** The named simulator's state after its latest write (undefined before any). */
  lastState(name: string): Record<string, number | string | boolean> | undefined;
  /** Follows every write as it arrives; returns an unsubscribe function. */
  onWrite(listener: (write: RadioWrite) => void): () => void;
}

const hexOf = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function controllerNamed(world: VirtualWorld, name: string): VirtualController {
  const c = world.link.allControllers().find((x) => x.name === name);
  if (!c) throw new Error(`no controller named ${name}`);
  return c;
}

/** Carries out `request` on `world` (the shared core of both sides). @throws Error for an unknown name or op. */
export function runRadioRequest(world: VirtualWorld, request: RadioRequest): unknown {
  switch (request.op) {
    case 'state':
      return world.byName(request.name).sim.state();
    case 'bleno': {
      const b = world.byName(request.name).bleno;
      return { connected: b.connected, state: b.state, poweredOnCount: b.poweredOnCount };
    }
    case 'drop':
      return world.link.dropConnections(controllerNamed(world, request.name));
    case 'power': {
      const c = controllerNamed(world, request.name);
      if (request.on) c.powerOn();
      else c.powerOff();
      return c.powered;
    }
    case 'stall':
      controllerNamed(world, request.name).stallCompletedPackets(request.on);
      return request.on;
    case 'lose-on-next-write':
      controllerNamed(world, request.name).loseOnNextWrite();
      return true;
    case 'refuse':
      controllerNamed(world, request.name).refuseConnections = request.on;
      return request.on;
    case 'advertising': {
      const b = world.byName(request.name).bleno;
      if (request.on) b.startAdvertising();
      else b.stopAdvertising();
      return request.on;
    }
    case 'att-delay':
      controllerNamed(world, request.name).aclDelayMs = request.ms;
      return request.ms;
    case 'reset':
      for (const c of world.link.allControllers()) {
        c.stallCompletedPackets(false);
        c.refuseConnections = false;
        c.aclDelayMs = 0;
        c.powerOn();
      }
      for (const p of world.peripherals) p.bleno.startAdvertising();
      return true;
    case 'clear-trace':
      world.link.clearTrace();
      return true;
    case 'noble': {
      const trace = world.link.trace();
      const hci = trace
        .filter((e) => e.controller === 'central' && e.bytes[0] !== 0x02 && !/advertisingReport|numberOfCompletedPackets/.test(e.what))
        .map((e) => `${e.from === 'host' ? 'noble →' : '→ noble'} ${e.what}`);
      const att = [...attPdus(trace, 'central', 'host'), ...attPdus(trace, 'central', 'controller')]
        .sort((a, b) => a.atMs - b.atMs)
        .map((p) => ({ from: p.from, opcode: p.opcode, hex: hexOf(p.bytes), atMs: p.atMs }));
      const view: NobleView = { commandCounts: Object.fromEntries(world.central.commandCounts), hci, att };
      return view;
    }
    case 'problems':
      return world.problems();
    default:
      throw new Error(`unknown radio request ${JSON.stringify(request)}`);
  }
}

/** Follows the writes every peripheral of `world` receives. Returns an unsubscribe function. */
function followWrites(world: VirtualWorld, listener: (w: RadioWrite) => void): () => void {
  const offs = world.peripherals.map((p) =>
    p.bleno.onWrite((w) =>
      listener({
        name: p.sim.localName,
        service: w.service,
        characteristic: w.characteristic,
        hex: hexOf(w.bytes),
        withResponse: w.withResponse,
        accepted: w.accepted,
        atWallMs: Date.now(),
        state: p.sim.state(),
      }),
    ),
  );
  return () => offs.forEach((off) => off());
}

/** Keeps the writes seen, per peripheral, for the synchronous side of {@link RadioControl}. */
class WriteLog {
  private readonly byName = new Map<string, RadioWrite[]>();
  private readonly listeners = new Set<(w: RadioWrite) => void>();
  add(w: RadioWrite): void {
    let list = this.byName.get(w.name);
    if (!list) this.byName.set(w.name, (list = []));
    list.push(w);
    for (const l of [...this.listeners]) l(w);
  }
  writes(name: string): readonly RadioWrite[] {
    return this.byName.get(name) ?? [];
  }
  lastState(name: string): Record<string, number | string | boolean> | undefined {
    return this.byName.get(name)?.at(-1)?.state;
  }
  onWrite(listener: (w: RadioWrite) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

/** A {@link RadioControl} on a world in this process. */
export function localRadio(world: VirtualWorld): RadioControl {
  const log = new WriteLog();
  followWrites(world, (w) => log.add(w));
  return {
    request: async <T>(request: RadioRequest) => runRadioRequest(world, request) as T,
    writes: (name) => log.writes(name),
    lastState: (name) => log.lastState(name),
    onWrite: (listener) => log.onWrite(listener),
  };
}

/**
 * The world's side of the control socket (in the helper process): every write as a
 * `{"k":"write",…}` line, requests `{"id","request"}` answered with
 * `{"k":"res","id","ok","result"|"error"}`. Never throws; a broken socket ends it.
 */
export function serveRadioControl(world: VirtualWorld, socket: Socket): void {
  const send = (message: unknown): void => {
    if (!socket.destroyed) socket.write(`${JSON.stringify(message)}\n`);
  };
  socket.on('error', () => undefined);
  followWrites(world, (w) => send({ k: 'write', write: w }));
  readLines(
    socket,
    (line) => {
      let id: unknown;
      try {
        const m = JSON.parse(line) as { id: unknown; request: RadioRequest };
        id = m.id;
        send({ k: 'res', id, ok: true, result: runRadioRequest(world, m.request) ?? null });
      } catch (error) {
        send({ k: 'res', id, ok: false, error: error instanceof Error ? error.message : String(error) });
      }
    },
    () => undefined,
  );
  send({ k: 'hello', pid: process.pid });
}

/** The test's side of the control socket: a {@link RadioControl} plus when the helper's side ended. */
export interface RemoteRadio extends RadioControl {
  /** Resolves with the helper's pid once its side has connected. */
  readonly ready: Promise<number>;
  /** Resolves when the helper's side of the socket closed (the helper exited), with the writes seen by then. */
  readonly closed: Promise<{ writesSeen: number }>;
}

/** Wraps the socket the helper's preload connected with. */
export function remoteRadio(socket: Socket): RemoteRadio {
  const log = new WriteLog();
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let nextId = 1;
  let seen = 0;
  let isClosed = false;
  let onReady: (pid: number) => void = () => undefined;
  const ready = new Promise<number>((resolve) => (onReady = resolve));
  const closed = new Promise<{ writesSeen: number }>((resolve) => {
    const end = (): void => {
      if (isClosed) return;
      isClosed = true;
      for (const p of pending.values()) p.reject(new Error('the Bluetooth helper’s radio control closed'));
      pending.clear();
      resolve({ writesSeen: seen });
    };
    socket.on('close', end);
    socket.on('error', end);
  });
  readLines(
    socket,
    (line) => {
      const m = JSON.parse(line) as { k: string; write?: RadioWrite; id?: number; ok?: boolean; result?: unknown; error?: string; pid?: number };
      if (m.k === 'write' && m.write) {
        seen++;
        log.add(m.write);
      } else if (m.k === 'hello') onReady(m.pid ?? 0);
      else if (m.k === 'res' && typeof m.id === 'number') {
        const p = pending.get(m.id);
        pending.delete(m.id);
        if (m.ok) p?.resolve(m.result);
        else p?.reject(new Error(m.error ?? 'radio request failed'));
      }
    },
    () => undefined,
  );
  return {
    ready,
    closed,
    request<T>(request: RadioRequest): Promise<T> {
      if (isClosed) return Promise.reject(new Error('the Bluetooth helper’s radio control is closed'));
      const id = nextId++;
      return new Promise<T>((resolve, reject) => {
        pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
        socket.write(`${JSON.stringify({ id, request })}\n`);
      });
    },
    writes: (name) => log.writes(name),
    lastState: (name) => log.lastState(name),
    onWrite: (listener) => log.onWrite(listener),
  };
}
