import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../../../protocols/bytes';
import { FrameAssembler } from '../../../protocols/profile/codec';
import { builtInProfile } from '../../../protocols/registry';
import {
  JIELI_FROM_DEVICE,
  JIELI_SIM_ACTIONS,
  JIELI_STATUS_PERIOD_MS,
  decodeJieli,
  jieli,
  jieliFrame,
  jieliHeartbeatRequestFrame,
  jieliLegacyStartFrame,
  jieliLegacyStopFrame,
  jieliLevelFrame,
  jieliRunStateOffFrame,
  jieliStopFrame,
  jieliTimerFrame,
  parseJieliFrame,
  simulateJieli,
} from '../../../protocols/jieli';
import type { Command, DecodeResult, ProtocolSession, SimClock, SimulatedPeripheral } from '../../../protocols/types';
import { connectSim, contextFor } from './helpers';

const profile = builtInProfile('jieli-ems');
const vectors = JSON.parse(readFileSync(new URL('../../../protocols/vectors/jieli-ems.json', import.meta.url), 'utf8')) as {
  frames: Record<'stop' | 'runStateOff' | 'legacyStop' | 'heartbeatRequest', string>;
};

/** CRC-16/XMODEM bit by bit (independent of protocols/checksum.ts). */
function referenceCrc(data: Uint8Array): number {
  let crc = 0;
  for (const byte of data) {
    crc ^= byte << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

/** A sim clock the test moves by hand; it lists its pending timers. */
function manualClock() {
  let t = 0;
  let next = 1;
  const timers = new Map<number, { at: number; fn: () => void }>();
  const clock: SimClock = {
    now: () => t,
    setTimeout: (fn, ms) => {
      const id = next++;
      timers.set(id, { at: t + ms, fn });
      return id;
    },
    clearTimeout: (handle) => void timers.delete(handle as number),
  };
  const advance = (ms: number): void => {
    const end = t + ms;
    for (;;) {
      const due = [...timers.entries()].filter(([, v]) => v.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      timers.delete(due[0]);
      t = due[1].at;
      due[1].fn();
    }
    t = end;
  };
  return { clock, advance, pending: () => timers.size };
}

function setup(clock?: SimClock) {
  const sim = simulateJieli(clock ? { clock } : {});
  const result = jieli.open(contextFor(sim));
  if (!result.ok) throw new Error(result.reason);
  const notes = connectSim(sim, result.session.notify);
  return { sim, session: result.session, notes };
}

/** Writes each frame to the simulator and decodes whatever it answered; returns the hex written and the results. */
function run(session: ProtocolSession, sim: SimulatedPeripheral, notes: Uint8Array[], command: Command): { hex: string[]; results: DecodeResult[] } {
  const writes = session.encode(command);
  const results: DecodeResult[] = [];
  for (const w of writes) {
    const before = notes.length;
    expect(sim.onWrite(w.service, w.characteristic, w.bytes, w.withResponse)).toBe(true);
    for (const n of notes.slice(before)) results.push(session.decode(n));
  }
  return { hex: writes.map((w) => toHex(w.bytes)), results };
}

function swapCrc(frame: Uint8Array): Uint8Array {
  const out = frame.slice();
  const c = out.length - 4;
  [out[c], out[c + 1]] = [out[c + 1]!, out[c]!];
  return out;
}

describe('JieLi "hy" EMS v2: frames', () => {
  it.each([
    ['stop', jieliStopFrame()],
    ['runStateOff', jieliRunStateOffFrame()],
    ['legacyStop', jieliLegacyStopFrame()],
    ['heartbeatRequest', jieliHeartbeatRequestFrame()],
  ] as const)('builds the %s frame of the vector file, with its length and an independently checked CRC', (name, frame) => {
    expect(toHex(frame)).toBe(vectors.frames[name]);
    expect((frame[2]! << 8) | frame[3]!).toBe(frame.length);
    const crcAt = frame.length - 4;
    expect((frame[crcAt]! << 8) | frame[crcAt + 1]!).toBe(referenceCrc(frame.subarray(0, crcAt)));
  });

  it('stops with level 0; the run-state-off frame is cmd 0x0B off with 0 seconds; the legacy stop is cmd 0 with five zeros', () => {
    expect(parseJieliFrame(jieliStopFrame(), false)).toEqual({ dir: 1, cmd: 2, body: Uint8Array.of(0) });
    expect(parseJieliFrame(jieliRunStateOffFrame(), false)).toEqual({ dir: 1, cmd: 0x0b, body: Uint8Array.of(0, 0, 0) });
    expect(parseJieliFrame(jieliLegacyStopFrame(), false)).toEqual({ dir: 1, cmd: 0, body: new Uint8Array(5) });
  });

  it('sends the timer as two bytes of seconds, big-endian, in whole minutes covering the time', () => {
    expect(toHex(jieliTimerFrame(300).subarray(4, 8))).toBe('01 08 01 2C');
    const timerOf = (seconds: number): string => {
      const { session } = setup();
      session.encode({ type: 'setTimer', seconds });
      return toHex(session.encode({ type: 'setIntensity', value: 0.5 })[0]!.bytes.subarray(6, 8));
    };
    expect(timerOf(240)).toBe('00 F0');
    expect(timerOf(241)).toBe('01 2C');
    expect(timerOf(0)).toBe('00 3C');
    expect(timerOf(Number.POSITIVE_INFINITY)).toBe('FF F0');
    for (const bad of [Number.NaN, -1, '60' as unknown as number]) expect(() => setup().session.encode({ type: 'setTimer', seconds: bad })).toThrow(RangeError);
    expect(() => jieliTimerFrame(65_536)).toThrow(RangeError);
    expect(() => jieliLevelFrame(256)).toThrow(RangeError);
  });

  it('reads a CRC in either byte order, and refuses little-endian when asked to', () => {
    const status = jieliFrame(0, [1, 2, 4, 7, 0, 5], JIELI_FROM_DEVICE);
    const le = swapCrc(status);
    expect(jieliFrame(0, [1, 2, 4, 7, 0, 5], JIELI_FROM_DEVICE, 'little-endian')).toEqual(le);
    const expected = { kind: 'status', status: { running: true, batteryPercent: 50, mode: 'mode-4', level: 7, levelIsIntensity: true } };
    expect(decodeJieli(status)).toEqual(expected);
    expect(decodeJieli(le)).toEqual(expected);
    expect(parseJieliFrame(le, false)).toBeUndefined();
    const bad = status.slice();
    bad[bad.length - 4] = bad[bad.length - 4]! ^ 0xff;
    bad[bad.length - 3] = bad[bad.length - 3]! ^ 0x0f;
    expect(decodeJieli(bad).kind).toBe('unknown');
  });
});

describe('JieLi "hy" EMS v2: reassembly', () => {
  const status = jieliFrame(0, [1, 3, 2, 10, 0, 0, 240, 1, 0], JIELI_FROM_DEVICE);
  const level7 = jieliFrame(2, [7], JIELI_FROM_DEVICE);

  it('a frame split over notifications: pending, then the status; decodeJieli alone does not carry bytes over', () => {
    const { session } = setup(manualClock().clock);
    expect(session.decode(status.subarray(0, 3))).toEqual({ kind: 'status', status: {}, pending: true });
    expect(session.decode(status.subarray(3, 12))).toEqual({ kind: 'status', status: {}, pending: true });
    expect(session.decode(status.subarray(12))).toMatchObject({ kind: 'status', status: { running: true, level: 10 } });
    expect(session.decode(status.subarray(12))).toMatchObject({ kind: 'unknown' });
    expect(decodeJieli(status.subarray(0, 9))).toEqual({ kind: 'status', status: {}, pending: true });
    expect(decodeJieli(status.subarray(9)).kind).toBe('unknown');
  });

  it('a header split between its two bytes is kept, but a lone 68 is not called pending', () => {
    const { session } = setup(manualClock().clock);
    expect(session.decode(Uint8Array.of(0x00, 0x68)).kind).toBe('unknown');
    expect(session.decode(status.subarray(1))).toMatchObject({ kind: 'status', status: { level: 10 } });
  });

  it('two frames in one notification are merged, later fields winning; a third may start pending', () => {
    const { session } = setup(manualClock().clock);
    const joined = Uint8Array.from([...status, ...level7, ...status.subarray(0, 5)]);
    expect(session.decode(joined)).toEqual({
      kind: 'status',
      status: { running: true, batteryPercent: 75, mode: 'mode-2', level: 7, levelIsIntensity: true },
      pending: true,
    });
    expect(session.decode(status.subarray(5))).toMatchObject({ kind: 'status', status: { level: 10 } });
  });

  it('resyncs after noise, a bad CRC or an impossible header, and finds the frame behind them', () => {
    const { session } = setup(manualClock().clock);
    const badCrc = status.slice();
    badCrc[8] = badCrc[8]! ^ 1;
    const noisy = Uint8Array.from([0x0d, 0x0a, 0x68, 0x00, ...badCrc, 0x68, 0x79, 0xff, 0xff, 0x02, ...level7]);
    expect(session.decode(noisy)).toEqual({ kind: 'status', status: { level: 7, levelIsIntensity: true, running: true } });
    expect(session.decode(fromHex('68 79 00 0C 07 00 01 02'))).toMatchObject({ kind: 'unknown' });
  });

  it('any noise followed by a valid frame and enough filler yields the frame; the buffer stays bounded', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 80 }), { maxLength: 6 }), (chunks) => {
        const assembler = new FrameAssembler(profile.framing.in);
        for (const c of chunks) {
          assembler.push(c);
          expect(assembler.bufferedBytes).toBeLessThanOrEqual(256);
        }
        const found = assembler.push(Uint8Array.from([...level7, ...new Uint8Array(130)])).frames;
        expect(found.some((f) => toHex(f) === toHex(level7))).toBe(true);
        expect(assembler.bufferedBytes).toBe(0);
      }),
      { numRuns: 300 },
    );
  });

  it('a frame cut at any point into any number of notifications gives the same status once', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 1, max: status.length - 1 }), { maxLength: 6 }), (cuts) => {
        const { session } = setup(manualClock().clock);
        const points = [0, ...cuts.sort((a, b) => a - b), status.length];
        const results = points.slice(1).map((end, i) => session.decode(status.subarray(points[i], end)));
        // Until the second header byte arrives, a lone 68 is not called a frame (noise ends in 68 often enough).
        results.slice(0, -1).forEach((r, i) => {
          if (points[i + 1] === 1) expect(r.kind).toBe('unknown');
          else expect(r).toEqual({ kind: 'status', status: {}, pending: true });
        });
        expect(results.at(-1)).toMatchObject({ kind: 'status', status: { running: true, level: 10, batteryPercent: 75 } });
      }),
      { numRuns: 200 },
    );
  });
});

describe('JieLi "hy" EMS v2: session', () => {
  it('init asks for the heartbeat, and queryStatus asks again', () => {
    const { session } = setup(manualClock().clock);
    expect(session.init().map((w) => toHex(w.bytes))).toEqual([vectors.frames.heartbeatRequest]);
    expect(session.encode({ type: 'queryStatus' }).map((w) => toHex(w.bytes))).toEqual([vectors.frames.heartbeatRequest]);
  });

  it('starts with timer, mode, zone, level; while running sends the level only; stops with level 0', () => {
    const { session, sim, notes } = setup(manualClock().clock);
    run(session, sim, notes, { type: 'setTimer', seconds: 240 });
    run(session, sim, notes, { type: 'setMode', mode: 'mode-3' });
    expect(sim.state().framesReceived).toBe(0);
    const start = run(session, sim, notes, { type: 'setIntensity', value: 0.2 });
    expect(start.hex.map((h) => h.slice(15, 17))).toEqual(['08', '01', '03', '02']);
    expect(sim.state()).toMatchObject({ running: true, level: 4, timerSeconds: 240, zone: 0, mode: 3, framesReceived: 4 });
    expect(start.results.at(-1)).toMatchObject({ kind: 'status', status: { running: true, level: 4, mode: 'mode-3' } });

    const level = run(session, sim, notes, { type: 'setIntensity', value: 1 });
    expect(level.hex).toEqual(['68 79 00 0B 01 02 13 40 D6 0D 0A']);
    expect(sim.state().level).toBe(19);

    const stop = run(session, sim, notes, { type: 'stop' });
    expect(stop.hex).toEqual([vectors.frames.stop]);
    expect(stop.results).toEqual([{ kind: 'status', status: expect.objectContaining({ running: false, level: 0 }) }]);
    expect(sim.state()).toMatchObject({ running: false, level: 0, badFrames: 0 });

    // After the stop, the next start sends the whole sequence again, with the remembered timer.
    const again = run(session, sim, notes, { type: 'setIntensity', value: 0.5 });
    expect(again.hex[0]).toBe(toHex(jieliTimerFrame(240)));
    expect(again.hex).toHaveLength(4);
  });

  it(`uses a ${profile.capabilities.timer!.defaultSeconds} s device timer when none was set`, () => {
    const { session, sim, notes } = setup(manualClock().clock);
    run(session, sim, notes, { type: 'setIntensity', value: 0.5 });
    expect(sim.state()).toMatchObject({ running: true, level: 10, timerSeconds: profile.capabilities.timer!.defaultSeconds });
  });

  it('offers the run-state-off frame, then the legacy cmd-0 stop, as stop escalation; the simulator obeys both', () => {
    const { session, sim, notes } = setup(manualClock().clock);
    const steps = session.stopEscalation?.();
    expect(steps?.map((group) => group.map((w) => toHex(w.bytes)))).toEqual([[vectors.frames.runStateOff], [vectors.frames.legacyStop]]);
    expect(steps?.flat().every((w) => w.service === 'ffe0' && w.characteristic === 'ffe1' && w.withResponse)).toBe(true);
    for (const group of steps ?? []) {
      run(session, sim, notes, { type: 'setIntensity', value: 0.5 });
      expect(sim.state().running).toBe(true);
      for (const w of group) sim.onWrite(w.service, w.characteristic, w.bytes, w.withResponse);
      expect(sim.state()).toMatchObject({ running: false, level: 0 });
      expect(session.decode(notes.at(-1)!)).toMatchObject({ kind: 'status', status: { running: false } });
    }
    expect(sim.state()).toMatchObject({ badFrames: 0, legacyFrames: 1 });
  });

  it.each([NaN, -0.1, 1.1, Number.POSITIVE_INFINITY])('refuses intensity %s and sends nothing', (value) => {
    const { session, sim } = setup(manualClock().clock);
    expect(() => session.encode({ type: 'setIntensity', value })).toThrow(RangeError);
    expect(() => session.encode({ type: 'setTimer', seconds: Number.NaN })).toThrow(RangeError);
    expect(sim.state().framesReceived).toBe(0);
  });
});

describe('JieLi "hy" EMS v2: simulator', () => {
  it('answers the heartbeat request with a status and reports every 5 s while subscribed; its timers end with the subscription and the link', () => {
    const m = manualClock();
    const { session, sim, notes } = setup(m.clock);
    expect(notes).toHaveLength(0);
    for (const w of session.init()) sim.onWrite(w.service, w.characteristic, w.bytes, w.withResponse);
    expect(sim.state().heartbeatRequests).toBe(1);
    expect(session.decode(notes[0]!)).toMatchObject({ kind: 'status', status: { running: false, batteryPercent: 75 } });
    m.advance(JIELI_STATUS_PERIOD_MS * 3);
    expect(notes).toHaveLength(4);
    sim.onSubscribe?.(session.notify.service, session.notify.characteristic, false);
    expect(m.pending()).toBe(0);
    m.advance(JIELI_STATUS_PERIOD_MS * 2);
    expect(notes).toHaveLength(4);
    sim.onSubscribe?.(session.notify.service, session.notify.characteristic, true);
    expect(m.pending()).toBe(1);
    sim.onDisconnect?.();
    expect(m.pending()).toBe(0);
  });

  it('its own timer stops the output; a status then says so, and the session starts again from the timer', () => {
    const m = manualClock();
    const { session, sim, notes } = setup(m.clock);
    run(session, sim, notes, { type: 'setTimer', seconds: 60 });
    run(session, sim, notes, { type: 'setIntensity', value: 0.5 });
    m.advance(59_000);
    expect(sim.state()).toMatchObject({ running: true, timerSeconds: 1 });
    m.advance(1_000);
    expect(sim.state()).toMatchObject({ running: false, level: 0, timerSeconds: 0 });
    const report = notes.at(-1)!;
    expect(session.decode(report)).toMatchObject({ kind: 'status', status: { running: false } });
    expect(run(session, sim, notes, { type: 'setIntensity', value: 0.5 }).hex).toHaveLength(4);
  });

  it('sends its CRC little-endian on request, and splits its next frame over two notifications', () => {
    const { session, sim, notes } = setup(manualClock().clock);
    expect(sim.actions).toEqual([...JIELI_SIM_ACTIONS]);
    sim.act?.('crc-little-endian');
    sim.act?.('split-next-frame');
    sim.onWrite('ffe0', 'ffe1', jieliHeartbeatRequestFrame(), true);
    expect(notes).toHaveLength(2);
    const whole = Uint8Array.from([...notes[0]!, ...notes[1]!]);
    expect(parseJieliFrame(whole, false)).toBeUndefined();
    expect(parseJieliFrame(whole)).toMatchObject({ cmd: 0, dir: 2 });
    expect(session.decode(notes[0]!)).toEqual({ kind: 'status', status: {}, pending: true });
    expect(session.decode(notes[1]!)).toMatchObject({ kind: 'status', status: { running: false, batteryPercent: 75 } });
    sim.act?.('crc-big-endian');
    sim.onWrite('ffe0', 'ffe1', jieliHeartbeatRequestFrame(), true);
    expect(notes).toHaveLength(3);
    expect(parseJieliFrame(notes[2]!, false)).toBeDefined();
  });

  it('button-max is reported as a level the app can compare with the ceiling', () => {
    const { session, sim, notes } = setup(manualClock().clock);
    sim.act?.('button-max');
    expect(session.decode(notes.at(-1)!)).toMatchObject({ kind: 'status', status: { level: 19, levelIsIntensity: true, running: true } });
    expect(sim.state()).toMatchObject({ running: true, level: 19 });
  });

  it('still accepts the first app versions’ frames and one-byte timers, and counts malformed frames', () => {
    const { sim } = setup(manualClock().clock);
    sim.onWrite('ffe0', 'ffe1', jieliLegacyStartFrame(2, 5, 6, 3), true);
    expect(sim.state()).toMatchObject({ running: true, zone: 2, mode: 5, level: 6, timerSeconds: 180, legacyFrames: 1 });
    sim.onWrite('ffe0', 'ffe1', jieliFrame(8, [4]), true);
    expect(sim.state().timerSeconds).toBe(240);
    sim.onWrite('ffe0', 'ffe1', jieliLegacyStopFrame(), true);
    expect(sim.state()).toMatchObject({ running: false, level: 0, legacyFrames: 2, badFrames: 0 });
    sim.onWrite('ffe0', 'ffe1', swapCrc(jieliLevelFrame(5)), true); // the app sends big-endian
    sim.onWrite('ffe0', 'ffe1', jieliFrame(2, [20]), true);
    sim.onWrite('ffe0', 'ffe1', jieliFrame(2, [5], JIELI_FROM_DEVICE), true);
    expect(sim.state()).toMatchObject({ running: false, badFrames: 3 });
  });
});

describe('JieLi "hy" EMS v2: identification', () => {
  it('finds 68 79 productId wherever it is, and needs the product byte', () => {
    const adv = (hex: string) => ({ serviceUuids: [], manufacturerData: fromHex(hex) });
    expect(jieli.identify(adv('68 79 31 32 27 9A BB 71'))).toEqual({ confidence: 'strong', model: 'hy1' });
    expect(jieli.identify(adv('02 01 06 68 79 01 07'))).toEqual({ confidence: 'candidate', model: 'hy1' });
    expect(jieli.identify(adv('68 79 01 05 AA'))).toEqual({ confidence: 'strong', model: 'hy1' });
    expect(jieli.identify(adv('68 79'))).toBeNull();
  });

  it('strong for product 1 at the start of manufacturer or service data; candidate deeper in, for other products, or by name', () => {
    expect(jieli.identify({ serviceUuids: [], manufacturerData: Uint8Array.of(0x68, 0x79, 0x31) })).toEqual({ confidence: 'strong', model: 'hy1' });
    expect(jieli.identify({ serviceUuids: [], serviceData: [{ uuid: 'fcc0', data: fromHex('68 79 01 02 00 00 00 01') }] })).toEqual({ confidence: 'strong', model: 'hy1' });
    expect(jieli.identify({ serviceUuids: [], manufacturerData: fromHex('4C 00 68 79 31 32') })).toEqual({ confidence: 'candidate', model: 'hy1' });
    expect(jieli.identify({ serviceUuids: [], manufacturerData: fromHex('68 79 32 32') })).toEqual({ confidence: 'candidate', model: 'hy2' });
    expect(jieli.identify({ localName: 'hy2', serviceUuids: [] })).toEqual({ confidence: 'candidate', model: 'hy2' });
    expect(jieli.identify({ localName: ' BLE_EMS ', serviceUuids: [] })).toEqual({ confidence: 'candidate', model: 'BLE_EMS' });
    expect(jieli.identify({ localName: 'hyper', serviceUuids: [] })).toBeNull();
    expect(jieli.identify({ localName: 'BLE_EMS2', serviceUuids: [] })).toBeNull();
    expect(jieli.identify({ serviceUuids: ['ffe0'] })).toBeNull();
  });

  it("the simulator advertises the full 68 79 payload and is found by it", () => {
    const sim = simulateJieli({ clock: manualClock().clock });
    const data = sim.advertisement.manufacturerData!;
    expect(toHex(data.subarray(0, 4))).toBe('68 79 31 32');
    expect(data.length).toBe(8);
    expect(jieli.identify({ ...sim.advertisement, localName: 'Pro' })).toEqual({ confidence: 'strong', model: 'hy1' });
  });
});
