import { describe, expect, it } from 'vitest';
import { toHex } from '../../../protocols/bytes';
import {
  JIELI_FROM_DEVICE,
  decodeJieli,
  jieli,
  jieliFrame,
  jieliStopFrame,
  parseJieliFrame,
  simulateJieli,
} from '../../../protocols/jieli';
import type { Command, ProtocolSession, SimulatedPeripheral } from '../../../protocols/types';
import { connectSim, contextFor } from './helpers';

function setup() {
  const sim = simulateJieli();
  const result = jieli.open(contextFor(sim));
  if (!result.ok) throw new Error(result.reason);
  const notes = connectSim(sim, result.session.notify);
  return { sim, session: result.session, notes };
}

function run(session: ProtocolSession, sim: SimulatedPeripheral, notes: Uint8Array[], command: Command): string[] {
  const writes = session.encode(command);
  for (const w of writes) {
    const before = notes.length;
    expect(sim.onWrite(w.service, w.characteristic, w.bytes, w.withResponse)).toBe(true);
    for (const n of notes.slice(before)) session.decode(n);
  }
  return writes.map((w) => toHex(w.bytes));
}

describe('JieLi "hy" EMS v2', () => {
  it('builds the 15-byte stop frame with length, direction and CRC', () => {
    const stop = jieliStopFrame();
    expect(stop).toHaveLength(15);
    expect(toHex(stop.subarray(0, 11))).toBe('68 79 00 0F 01 00 00 00 00 00 00');
    expect(toHex(stop.subarray(13))).toBe('0D 0A');
    expect(parseJieliFrame(stop, false)).toEqual({ dir: 1, cmd: 0, body: new Uint8Array(5) });
  });

  it('starts with the device timer, then changes level with cmd 2, and stops', () => {
    const { session, sim, notes } = setup();
    expect(run(session, sim, notes, { type: 'setTimer', seconds: 250 })).toEqual([]);
    const [start] = run(session, sim, notes, { type: 'setIntensity', value: 0.2 });
    expect(start?.startsWith('68 79 00 0F 01 00 01 00 00 04 05')).toBe(true);
    expect(sim.state()).toMatchObject({ running: true, level: 4, minutes: 5, zone: 0, mode: 0 });
    const [level] = run(session, sim, notes, { type: 'setIntensity', value: 1 });
    expect(level?.startsWith('68 79 00 0B 01 02 13')).toBe(true);
    expect(sim.state().level).toBe(19);
    run(session, sim, notes, { type: 'setMode', mode: 'mode-3' });
    expect(sim.state().mode).toBe(3);
    run(session, sim, notes, { type: 'stop' });
    expect(sim.state()).toMatchObject({ running: false, level: 0, badFrames: 0 });
  });

  it('uses the default 5-minute device timer and re-sends the start frame when the timer changes while running', () => {
    const { session, sim, notes } = setup();
    run(session, sim, notes, { type: 'setIntensity', value: 0.5 });
    expect(sim.state()).toMatchObject({ minutes: 5, level: 10 });
    const writes = run(session, sim, notes, { type: 'setTimer', seconds: 61 });
    expect(writes).toHaveLength(1);
    expect(sim.state()).toMatchObject({ minutes: 2, level: 10, running: true });
  });

  it('decodes status notifications, battery in quarters, and accepts a little-endian CRC', () => {
    const frame = jieliFrame(0, [1, 2, 4, 7, 0, 5], JIELI_FROM_DEVICE);
    expect(decodeJieli(frame)).toEqual({
      kind: 'status',
      status: { running: true, batteryPercent: 50, mode: 'mode-4', level: 7, levelIsIntensity: true },
    });
    const swapped = frame.slice();
    const c = swapped.length - 4;
    [swapped[c], swapped[c + 1]] = [swapped[c + 1]!, swapped[c]!];
    expect(decodeJieli(swapped).kind).toBe('status');
    const bad = frame.slice();
    bad[c] = bad[c]! ^ 0xff;
    bad[c + 1] = bad[c + 1]! ^ 0x0f;
    expect(decodeJieli(bad).kind).toBe('unknown');
  });

  it('button-max is reported as a level the app can compare with the ceiling', () => {
    const { session, sim, notes } = setup();
    sim.act?.('button-max');
    expect(session.decode(notes.at(-1)!)).toMatchObject({ kind: 'status', status: { level: 19, levelIsIntensity: true, running: true } });
  });

  it('identifies by advertisement bytes (strong) or hy+digit name (candidate)', () => {
    expect(jieli.identify({ serviceUuids: [], manufacturerData: Uint8Array.of(0x68, 0x79, 0x31) })).toEqual({ confidence: 'strong', model: 'hy1' });
    expect(jieli.identify({ localName: 'hy2', serviceUuids: [] })).toEqual({ confidence: 'candidate', model: 'hy2' });
    expect(jieli.identify({ localName: 'hyper', serviceUuids: [] })).toBeNull();
    expect(jieli.identify({ serviceUuids: ['ffe0'] })).toBeNull();
  });

  it.each([NaN, -0.1, 1.1])('refuses intensity %s', (value) => {
    const { session, sim } = setup();
    expect(() => session.encode({ type: 'setIntensity', value })).toThrow(RangeError);
    expect(sim.state().framesReceived).toBe(0);
  });
});
