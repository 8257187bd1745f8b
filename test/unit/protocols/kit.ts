/**
 * The conformance kit: the checks every protocol passes, driven by a registry and by the
 * golden vectors kept as data beside each profile (`<id>.json`). A new device gets these
 * checks by being a profile in a registry and shipping its vector file; the kit runs over
 * the built-in profiles (`conformance.test.ts`) and over a made-up device loaded from a
 * fixture folder (`made-up-device.test.ts`).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../../../protocols/bytes';
import { intensityToStep } from '../../../protocols/intensity';
import type { Registry } from '../../../protocols/registry';
import type { Command, ConnectionContext, DeviceStatus, FoundCharacteristic, ProtocolModule, ProtocolSession } from '../../../protocols/types';
import { connectSim, contextFor, fakeClock } from './helpers';
type SetupStep = { notify: string } | { command: Command } | { advanceMs: number };

/** A protocol's golden vectors (see docs/device-profiles.md). */
export interface VectorFile {
  protocol: string;
  source: string;
  contexts: Record<string, { localName?: string; model?: string; services: Record<string, FoundCharacteristic[]> }>;
  commands: {
    name: string;
    context: string;
    setup?: SetupStep[];
    command: Command;
    writes: string[];
    withResponse?: boolean[];
    checkCrc?: boolean;
  }[];
  /**
   * `before`: notifications decoded first by the same session (a frame split across
   * notifications); `pending`: the result must say a frame is still incomplete.
   */
  notifications: { name: string; hex: string; before?: string[]; status?: DeviceStatus; unknown?: boolean; pending?: boolean }[];
  roundTrip: { stepKey: string; runningKey: string };
}


/**
 * CRC-16/XMODEM written here independently of protocols/checksum.ts: bit by bit,
 * polynomial 0x1021, seed 0, most significant bit first, no final XOR.
 */
export function referenceCrc16Xmodem(data: Uint8Array): number {
  let crc = 0;
  for (const byte of data) {
    for (let bit = 7; bit >= 0; bit--) {
      const inBit = (byte >> bit) & 1;
      const topBit = (crc >> 15) & 1;
      crc = (crc << 1) & 0xffff;
      if ((topBit ^ inBit) === 1) crc ^= 0x1021;
    }
  }
  return crc;
}

function openWith(module: ProtocolModule, vectors: VectorFile, contextName: string) {
  const spec = vectors.contexts[contextName];
  if (!spec) throw new Error(`no context ${contextName} in vectors of ${module.id}`);
  const clock = fakeClock();
  const ctx: ConnectionContext = {
    services: new Map(Object.entries(spec.services)),
    now: clock.now,
  };
  if (spec.localName !== undefined) ctx.localName = spec.localName;
  if (spec.model !== undefined) ctx.model = spec.model;
  const result = module.open(ctx);
  if (!result.ok) throw new Error(`${module.id} refused context ${contextName}: ${result.reason}`);
  return { session: result.session, clock };
}

/**
 * Runs the kit over every module of `registry` for which `loadVectors` finds vectors
 * (it throws for a module without, so no protocol skips the kit silently).
 */
export function conformanceKit(registry: Pick<Registry, 'all' | 'identify'>, loadVectors: (id: string) => VectorFile, only?: (module: ProtocolModule) => boolean): void {
  const modules = registry.all().filter((m) => only === undefined || only(m));
  const identify = registry.identify;
  describe.each(modules.map((m) => [m.id, m] as const))('protocol %s', (id, module) => {
    const vectors = loadVectors(id);

    it('declares its contract data', () => {
      expect(vectors.protocol).toBe(id);
      expect(module.displayName.length).toBeGreaterThan(0);
      expect(module.sources.length).toBeGreaterThan(0);
      expect(module.writeGapMs).toBeGreaterThan(0);
      for (const uuid of module.services) expect(uuid).toMatch(/^([0-9a-f]{4}|[0-9a-f]{32})$/);
      expect(['percussive', 'chair', 'cushion', 'ems']).toContain(module.kind);
    });

    it('uses noble-form UUIDs in its simulator and writes', () => {
      const sim = module.simulate();
      for (const s of sim.services) {
        expect(s.uuid).toMatch(/^([0-9a-f]{4}|[0-9a-f]{32})$/);
        for (const c of s.characteristics) expect(c.uuid).toMatch(/^([0-9a-f]{4}|[0-9a-f]{32})$/);
      }
    });

    it("recognises its own simulator's advertisement", () => {
      const sim = module.simulate();
      expect(module.identify(sim.advertisement)).not.toBeNull();
      expect(identify(sim.advertisement).some((c) => c.module === module)).toBe(true);
    });

    it.each(vectors.commands.map((v) => [v.name, v] as const))('encodes "%s" to the golden bytes', (_name, v) => {
      const { session, clock } = openWith(module, vectors, v.context);
      for (const step of v.setup ?? []) {
        if ('notify' in step) session.decode(fromHex(step.notify));
        else if ('command' in step) session.encode(step.command);
        else clock.advance(step.advanceMs);
      }
      const writes = session.encode(v.command);
      expect(writes.map((w) => toHex(w.bytes))).toEqual(v.writes);
      if (v.withResponse) expect(writes.map((w) => w.withResponse)).toEqual(v.withResponse);
      if (v.checkCrc) {
        for (const w of writes) {
          const b = w.bytes;
          const crcAt = b.length - 4;
          const expected = referenceCrc16Xmodem(b.subarray(0, crcAt));
          expect(((b[crcAt]! << 8) | b[crcAt + 1]!) >>> 0).toBe(expected);
          expect((b[2]! << 8) | b[3]!).toBe(b.length);
        }
      }
    });

    it.each(vectors.notifications.map((v) => [v.name, v] as const))('decodes notification "%s"', (_name, v) => {
      const { session } = openWith(module, vectors, Object.keys(vectors.contexts)[0]!);
      for (const hex of v.before ?? []) session.decode(fromHex(hex));
      const result = session.decode(fromHex(v.hex));
      if (v.unknown) expect(result.kind).toBe('unknown');
      else expect(result).toMatchObject({ kind: 'status', status: v.status });
      if (result.kind === 'status') expect(result.pending === true).toBe(v.pending === true);
    });

    it('round trips through its simulator: encode → simulator decodes → same state', () => {
      const sim = module.simulate();
      const clock = fakeClock();
      const result = module.open(contextFor(sim, clock.now));
      expect(result.ok).toBe(true);
      if (!result.ok) return;
      const session: ProtocolSession = result.session;
      const notes = connectSim(sim, session.notify);
      const { stepKey, runningKey } = vectors.roundTrip;
      let last: DeviceStatus = {};
      const send = (command: Command) => {
        for (const w of session.encode(command)) {
          const before = notes.length;
          expect(sim.onWrite(w.service, w.characteristic, w.bytes, w.withResponse)).toBe(true);
          for (const n of notes.slice(before)) {
            const r = session.decode(n);
            expect(r.kind).toBe('status');
            if (r.kind === 'status') last = { ...last, ...r.status };
          }
        }
      };
      for (const w of session.init()) sim.onWrite(w.service, w.characteristic, w.bytes, w.withResponse);
      for (const n of notes) session.decode(n);
      const steps = session.capabilities.steps;
      for (const value of [0.3, 1, 0.01, 0.5]) {
        send({ type: 'setIntensity', value });
        expect(sim.state()[stepKey]).toBe(intensityToStep(value, steps));
        expect(sim.state()[runningKey]).toBe(true);
        expect(last.running).toBe(true);
      }
      for (const mode of session.capabilities.modes) {
        send({ type: 'setMode', mode });
        expect(sim.state()[runningKey]).toBe(true);
      }
      send({ type: 'stop' });
      expect(sim.state()[runningKey]).toBe(false);
      expect(last.running).toBe(false);
      expect(sim.state().badFrames).toBe(0);
      expect(sim.readout().length).toBeGreaterThan(0);
    });

    it('decode never throws on arbitrary bytes', () => {
      const { session } = openWith(module, vectors, Object.keys(vectors.contexts)[0]!);
      const header = fromHex(vectors.notifications[0]!.hex).slice(0, 2);
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 64 }), fc.boolean(), (bytes, withHeader) => {
          const input = withHeader ? Uint8Array.from([...header, ...bytes]) : bytes;
          const r = session.decode(input);
          expect(['status', 'unknown']).toContain(r.kind);
        }),
        { numRuns: 500 },
      );
      // Random noise (without the frame header) is not taken for a status. A fresh session:
      // one that reassembles frames (the EMS pad) may still hold the start of a frame from
      // the inputs above, which noise would then seem to continue.
      const fresh = openWith(module, vectors, Object.keys(vectors.contexts)[0]!).session;
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 64 }).filter((b) => b[0] !== header[0]), (bytes) => {
          expect(fresh.decode(bytes).kind).toBe('unknown');
        }),
        { numRuns: 300 },
      );
    });

    it('encode never emits bytes for an intensity outside 0..1 or NaN', () => {
      const outside = fc.oneof(
        fc.constant(Number.NaN),
        fc.constant(Number.POSITIVE_INFINITY),
        fc.constant(Number.NEGATIVE_INFINITY),
        fc.double({ max: -Number.MIN_VALUE, noNaN: true }),
        fc.double({ min: 1 + Number.EPSILON * 2, noNaN: true }),
      );
      fc.assert(
        fc.property(outside, (value) => {
          const sim = module.simulate();
          const r = module.open(contextFor(sim, fakeClock().now));
          if (!r.ok) throw new Error(r.reason);
          let writes: unknown;
          expect(() => {
            writes = r.session.encode({ type: 'setIntensity', value });
          }).toThrow(RangeError);
          expect(writes).toBeUndefined();
        }),
        { numRuns: 200 },
      );
      fc.assert(
        fc.property(fc.double({ min: 0, max: 1, noNaN: true }), (value) => {
          const sim = module.simulate();
          const r = module.open(contextFor(sim, fakeClock().now));
          if (!r.ok) throw new Error(r.reason);
          connectSim(sim, r.session.notify);
          for (const w of r.session.encode({ type: 'setIntensity', value })) {
            expect(w.bytes.length).toBeGreaterThan(0);
            sim.onWrite(w.service, w.characteristic, w.bytes, w.withResponse);
          }
          expect(sim.state().badFrames).toBe(0);
        }),
        { numRuns: 200 },
      );
    });
  });
}
