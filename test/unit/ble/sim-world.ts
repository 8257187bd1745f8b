/**
 * Test helpers: real noble classes on the simulated radio, with the Theragun
 * simulator (and a tiny test peripheral for edge cases the real protocols never hit).
 */
import { createRequire } from 'node:module';
import type { EventEmitter } from 'node:events';
import { SimRadio } from '../../../electron/ble/sim-radio';
import type { SimRadioOptions } from '../../../electron/ble/sim-radio';
import { NobleTransport } from '../../../electron/ble/noble-transport';
import type { NobleLike, NobleTransportOptions } from '../../../electron/ble/noble-transport';
import { simulateTheragun } from '../../../protocols/theragun';
import type { ProtocolModule, SimulatedPeripheral, Write } from '../../../protocols/types';

const require = createRequire(import.meta.url);
const withBindings = require('@abandonware/noble/with-bindings') as (bindings: unknown) => NobleLike;

export interface SimWorld {
  radio: SimRadio;
  noble: NobleLike;
  transport: NobleTransport;
  /** The id of the simulated Theragun Pro. */
  gunId: string;
  gun: SimulatedPeripheral;
  dispose(): Promise<void>;
}

/** A radio with a simulated Theragun Pro, noble on it and a transport over noble. */
export function simWorld(radioOptions: SimRadioOptions = {}, transportOptions: NobleTransportOptions = {}): SimWorld {
  const radio = new SimRadio({ latencyMs: 2, advertiseIntervalMs: 20, ...radioOptions });
  const gun = simulateTheragun({ model: 'Pro' });
  const gunId = radio.addPeripheral(gun);
  const noble = withBindings(radio);
  const transport = new NobleTransport(noble, { simulated: true, disconnectWaitMs: 500, ...transportOptions });
  return {
    radio,
    noble,
    transport,
    gunId,
    gun,
    async dispose() {
      await transport.dispose();
      radio.dispose();
    },
  };
}

/** Waits until `predicate` holds, polling every 2 ms; fails after `timeoutMs`. */
export async function waitFor(predicate: () => boolean, timeoutMs = 3000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Scans until the peripheral is heard (so noble knows it), then stops the scan. */
export async function hear(transport: NobleTransport, peripheralId: string): Promise<void> {
  let heard = false;
  await transport.startScan((p) => {
    if (p.id === peripheralId) heard = true;
  });
  await waitFor(() => heard, 3000, `advertisement of ${peripheralId}`);
  await transport.stopScan();
}

/** Hex of bytes, upper case, space separated (`AA E3 01 …`). */
export function hex(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).toUpperCase().padStart(2, '0')).join(' ');
}

/** Listener counts of every event on a noble object (EventEmitter). */
export function listenerCounts(emitter: EventEmitter): Record<string, number> {
  const out: Record<string, number> = {};
  for (const name of emitter.eventNames()) out[String(name)] = emitter.listenerCount(name);
  return out;
}

// ---------------------------------------------------------------- a tiny peripheral and protocol

export const TINY_SERVICE = 'abc0';
export const TINY_WRITE = 'abc1';
export const TINY_NOTIFY = 'abc2';

/**
 * A tiny simulated peripheral: writes to `abc1` are recorded; each write is echoed
 * back as a notification on `abc2` prefixed by `EE`; `push` sends any notification.
 * No standard services.
 */
export function tinyPeripheral(address = 'sim-tiny'): SimulatedPeripheral & { received: Uint8Array[]; push(bytes: Uint8Array): void } {
  const received: Uint8Array[] = [];
  let notify: ((s: string, c: string, b: Uint8Array) => void) | undefined;
  let subscribed = false;
  return {
    received,
    push(bytes) {
      if (subscribed) notify?.(TINY_SERVICE, TINY_NOTIFY, bytes);
    },
    protocolId: 'tiny',
    address,
    localName: 'Tiny',
    advertisement: { localName: 'Tiny', serviceUuids: [TINY_SERVICE] },
    rssi: -70,
    services: [
      {
        uuid: TINY_SERVICE,
        characteristics: [
          { uuid: TINY_WRITE, properties: ['write', 'writeWithoutResponse'] },
          { uuid: TINY_NOTIFY, properties: ['notify'] },
        ],
      },
    ],
    onWrite(service, characteristic, bytes) {
      if (service !== TINY_SERVICE || characteristic !== TINY_WRITE) return false;
      received.push(bytes.slice());
      if (subscribed) notify?.(TINY_SERVICE, TINY_NOTIFY, Uint8Array.of(0xee, ...bytes));
      return true;
    },
    onRead: () => undefined,
    setNotifier(send) {
      notify = send;
    },
    onSubscribe(_s, _c, on) {
      subscribed = on;
    },
    onDisconnect() {
      subscribed = false;
    },
    readout: () => [{ label: 'Writes', value: String(received.length) }],
    state: () => ({ writes: received.length }),
  };
}

const tinyWrite = (bytes: Uint8Array, withResponse = true, extra: Partial<Write> & { splittable?: boolean } = {}): Write => ({
  service: TINY_SERVICE,
  characteristic: TINY_WRITE,
  bytes,
  withResponse,
  ...extra,
});

/**
 * A tiny protocol for the tiny peripheral: intensity → `01 step` (100 steps);
 * stop → `00`; setMode 'long' → 30 bytes (too long for MTU 23); setMode 'long-split'
 * → the same, marked splittable, without response; setMode 'two' → two writes 20 ms apart;
 * notifications `EE …` decode to a status with `level` = the second byte; exactly
 * `EE 7F` asks for a follow-up write `7F 01`.
 */
export const tinyProtocol: ProtocolModule = {
  id: 'tiny',
  displayName: 'Tiny test device',
  kind: 'percussive',
  sources: [],
  writeGapMs: 20,
  services: [TINY_SERVICE],
  identify: (adv) => (adv.localName === 'Tiny' ? { confidence: 'strong' } : null),
  open(ctx) {
    if (!ctx.services.has(TINY_SERVICE)) return { ok: false, reason: 'no abc0 service' };
    return {
      ok: true,
      session: {
        model: 'Tiny',
        capabilities: { steps: 100, minRunningStep: 1, stepUnit: 'level', modes: ['long', 'two'], battery: false, heat: false, timersSeconds: [] },
        notify: { service: TINY_SERVICE, characteristic: TINY_NOTIFY },
        init: () => [tinyWrite(Uint8Array.of(0x49))],
        encode(command) {
          switch (command.type) {
            case 'setIntensity':
              if (Number.isNaN(command.value) || command.value < 0 || command.value > 1) throw new RangeError('bad intensity');
              return [tinyWrite(Uint8Array.of(0x01, Math.ceil(command.value * 100)))];
            case 'stop':
              return [tinyWrite(Uint8Array.of(0x00))];
            case 'setMode':
              if (command.mode === 'long') return [tinyWrite(new Uint8Array(30).fill(0x4c))];
              if (command.mode === 'long-split') return [tinyWrite(new Uint8Array(30).fill(0x53), false, { splittable: true })];
              if (command.mode === 'two') return [tinyWrite(Uint8Array.of(0x02, 1), true, { delayAfterMs: 20 }), tinyWrite(Uint8Array.of(0x02, 2))];
              return [];
            default:
              return [];
          }
        },
        decode(bytes) {
          if (bytes[0] !== 0xee || bytes.length < 2) return { kind: 'unknown', reason: 'not an echo' };
          if (bytes[1] === 0x7f && bytes.length === 2) return { kind: 'status', status: { level: 127 }, followUp: [tinyWrite(Uint8Array.of(0x7f, 0x01))] };
          return { kind: 'status', status: { level: bytes[1] ?? 0 } };
        },
      },
    };
  },
  simulate: () => tinyPeripheral(),
};


/** Timers that run only when the test advances time (a clock for the link and the scanner). */
export class ManualClock {
  private t = 1_000_000;
  private seq = 0;
  private timers = new Map<number, { at: number; fn: () => void }>();
  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.seq;
    this.timers.set(id, { at: this.t + ms, fn });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }
  /** Moves time forward by `ms`, running due timers in order. */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const e of this.timers) if (e[1].at <= end && (!next || e[1].at < next[1].at)) next = e;
      if (!next) break;
      this.timers.delete(next[0]);
      this.t = next[1].at;
      next[1].fn();
    }
    this.t = end;
  }
}
