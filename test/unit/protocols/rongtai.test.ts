import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../../../protocols/bytes';
import {
  RONGTAI_STOP_NOTICE,
  parseStatusFrame,
  rongtai,
  simulateRongTai,
  statusFrame,
} from '../../../protocols/rongtai';
import type { Command, ProtocolSession, SimulatedPeripheral } from '../../../protocols/types';
import { connectSim, contextFor, fakeClock, type FakeClock } from './helpers';

interface Capture {
  name: string;
  hex: string;
  expect: Record<string, unknown>;
}
const captures = JSON.parse(readFileSync(new URL('../../../protocols/vectors/rongtai-status.json', import.meta.url), 'utf8')) as {
  frames: Capture[];
};

function setup(model = 'EVOLUTION-1', subscribe = true) {
  const clock: FakeClock = fakeClock();
  const sim = simulateRongTai({ model });
  const result = rongtai.open(contextFor(sim, clock.now));
  if (!result.ok) throw new Error(result.reason);
  const session = result.session;
  const notes = subscribe ? connectSim(sim, session.notify) : [];
  return { clock, sim, session, notes };
}

/** Sends a command's writes to the simulator, then feeds every new notification back to the session. */
function run(session: ProtocolSession, sim: SimulatedPeripheral, notes: Uint8Array[], command: Command): string[] {
  const writes = session.encode(command);
  for (const w of writes) {
    const before = notes.length;
    sim.onWrite(w.service, w.characteristic, w.bytes, w.withResponse);
    for (const n of notes.slice(before)) session.decode(n);
  }
  return writes.map((w) => toHex(w.bytes));
}

describe('RongTai status captures', () => {
  it.each(captures.frames.map((f) => [f.name, f] as const))('decodes "%s" as captured', (_name, frame) => {
    const status = parseStatusFrame(fromHex(frame.hex));
    expect(status).toBeDefined();
    expect(status).toMatchObject(frame.expect);
    const { session } = setup('EVOLUTION-1', false);
    expect(session.decode(fromHex(frame.hex))).toMatchObject({ kind: 'status', status: frame.expect });
  });

  it.each(captures.frames.map((f) => [f.name, f] as const))('rejects "%s" with its checksum or a marker altered', (_name, frame) => {
    const good = fromHex(frame.hex);
    for (const index of [0, 15, 16]) {
      const bad = good.slice();
      bad[index] = bad[index]! ^ 0x01;
      expect(parseStatusFrame(bad)).toBeUndefined();
      const { session } = setup();
      expect(session.decode(bad).kind).toBe('unknown');
    }
    expect(parseStatusFrame(good.slice(0, 16))).toBeUndefined();
  });
});

describe('RongTai commands', () => {
  it('uses type 83 on fff1 (with response) and 84 on 8b00… (without response)', () => {
    const a = setup('EVOLUTION-1');
    const w83 = a.session.encode({ type: 'powerOn' });
    expect(w83.map((w) => toHex(w.bytes))).toEqual(['F0 83 01 7B F1']);
    expect(w83[0]).toMatchObject({ service: 'fff0', characteristic: 'fff1', withResponse: true });
    const b = setup('RT8600S');
    const w84 = b.session.encode({ type: 'powerOn' });
    expect(w84.map((w) => toHex(w.bytes))).toEqual(['F0 84 01 7A F1']);
    expect(w84[0]).toMatchObject({ characteristic: '8b00ace7eb0b49b0bbe99aee0a26e1a3', withResponse: false });
  });

  it('powers on before a technique when not known powered, not when known', () => {
    const { session, sim, notes } = setup();
    // Subscribing delivered a status "off": the power state is known and fresh.
    expect(sim.state().powered).toBe(false);
    for (const n of notes) session.decode(n);
    expect(run(session, sim, notes, { type: 'setMotion', motion: 'circular' })).toEqual(['F0 83 01 7B F1', 'F0 83 20 5C F1']);
    expect(sim.state()).toMatchObject({ powered: true, running: true, mode: 'knead', ignoredWhileOff: 0 });
    expect(run(session, sim, notes, { type: 'setMotion', motion: 'back-and-forth' })).toEqual(['F0 83 21 5B F1']);
    expect(run(session, sim, notes, { type: 'setIntensity', value: 0.5 })).toEqual(['F0 83 30 4C F1']);
    expect(sim.state()).toMatchObject({ mode: 'knock', speed: 3 });
  });

  it('maps intensity to the six speed keys and sends knead first when no technique was chosen', () => {
    const { session, sim, notes } = setup();
    expect(run(session, sim, notes, { type: 'setIntensity', value: 0.01 })).toEqual(['F0 83 01 7B F1', 'F0 83 20 5C F1', 'F0 83 2E 4E F1']);
    expect(sim.state()).toMatchObject({ powered: true, running: true, mode: 'knead', speed: 1 });
    expect(run(session, sim, notes, { type: 'setIntensity', value: 1 })).toEqual(['F0 83 33 49 F1']);
    expect(sim.state().speed).toBe(6);
  });

  it('stop toggles power when known powered, and the chair goes off', () => {
    const { session, sim, notes } = setup();
    run(session, sim, notes, { type: 'setMode', mode: 'shiatsu' });
    expect(sim.state()).toMatchObject({ powered: true, mode: 'shiatsu' });
    expect(run(session, sim, notes, { type: 'stop' })).toEqual(['F0 83 01 7B F1']);
    expect(sim.state()).toMatchObject({ powered: false, running: false });
    expect(session.stopNotice?.()).toBeUndefined();
    // Known off now: a second stop sends nothing and needs no notice.
    expect(run(session, sim, notes, { type: 'stop' })).toEqual([]);
    expect(session.stopNotice?.()).toBeUndefined();
  });

  it('after a new connection without status, stop sends nothing and asks the user to check the chair', () => {
    const { session } = setup('EVOLUTION-1', false);
    expect(session.encode({ type: 'stop' })).toEqual([]);
    expect(session.stopNotice?.()).toBe(RONGTAI_STOP_NOTICE);
    expect(session.encode({ type: 'setIntensity', value: 0 })).toEqual([]);
  });

  it('a stale status does not count as knowing the power state', () => {
    const { session, clock } = setup('EVOLUTION-1', false);
    session.decode(statusFrame({ powered: true, running: true, heat: false, level: 3 }));
    clock.advance(10_000);
    expect(session.encode({ type: 'stop' })).toEqual([]);
    expect(session.stopNotice?.()).toBe(RONGTAI_STOP_NOTICE);
    session.decode(statusFrame({ powered: true, running: true, heat: false, level: 3 }));
    expect(session.encode({ type: 'stop' }).map((w) => toHex(w.bytes))).toEqual(['F0 83 01 7B F1']);
    expect(session.stopNotice?.()).toBeUndefined();
  });

  it('a routine with steps far apart never toggles a running chair off, and its stop still lands', () => {
    // Regression: power knowledge from a status frame used to expire after 3 s, so the
    // next step's technique sent a power toggle that switched the running chair off,
    // and the final stop, not knowing the state, sent nothing.
    const { session, sim, notes, clock } = setup();
    expect(run(session, sim, notes, { type: 'setMotion', motion: 'circular' })).toEqual(['F0 83 01 7B F1', 'F0 83 20 5C F1']);
    run(session, sim, notes, { type: 'setIntensity', value: 0.5 });
    clock.advance(7000);
    expect(run(session, sim, notes, { type: 'setMotion', motion: 'back-and-forth' })).toEqual(['F0 83 21 5B F1']);
    expect(sim.state()).toMatchObject({ powered: true, mode: 'knock' });
    clock.advance(7000);
    expect(run(session, sim, notes, { type: 'setIntensity', value: 0.3 })).toEqual(['F0 83 2F 4D F1']);
    expect(sim.state()).toMatchObject({ powered: true, speed: 2 });
    clock.advance(7000);
    expect(run(session, sim, notes, { type: 'stop' })).toEqual(['F0 83 01 7B F1']);
    expect(sim.state()).toMatchObject({ powered: false, running: false });
    expect(session.stopNotice?.()).toBeUndefined();
  });

  it('a chair switched off by hand is switched on again only by a new command, and a stop then knows it is off', () => {
    const { session, sim, notes, clock } = setup();
    run(session, sim, notes, { type: 'setMotion', motion: 'circular' });
    sim.act?.('remote-power'); // the chair's own remote: off, and it reports so
    for (const n of notes.splice(0)) session.decode(n);
    clock.advance(10_000);
    expect(run(session, sim, notes, { type: 'stop' })).toEqual([]); // off already: nothing to toggle
    expect(session.stopNotice?.()).toBeUndefined();
    expect(run(session, sim, notes, { type: 'setMotion', motion: 'circular' })).toEqual(['F0 83 01 7B F1', 'F0 83 20 5C F1']);
    expect(sim.state()).toMatchObject({ powered: true, mode: 'knead' });
  });

  it('corrects a lost stop toggle once, and not on a status sent before the chair acted', () => {
    const { session, sim, notes, clock } = setup();
    run(session, sim, notes, { type: 'setMotion', motion: 'circular' });
    sim.act?.('lose-next-power');
    const before = notes.length;
    expect(run(session, sim, notes, { type: 'stop' })).toEqual(['F0 83 01 7B F1']);
    expect(sim.state().powered).toBe(true);
    // The status right after the stop still shows powered, but arrives inside the settle window: no toggle.
    const immediate = notes[before]!;
    expect(session.decode(immediate)).toEqual({ kind: 'status', status: expect.objectContaining({ powered: true }) });
    clock.advance(1500);
    const later = statusFrame({ powered: true, running: true, heat: false, level: 3 });
    const result = session.decode(later);
    expect(result.kind === 'status' && result.followUp?.map((w) => toHex(w.bytes))).toEqual(['F0 83 01 7B F1']);
    for (const w of result.kind === 'status' ? (result.followUp ?? []) : []) sim.onWrite(w.service, w.characteristic, w.bytes, w.withResponse);
    expect(sim.state().powered).toBe(false);
    // Only once.
    clock.advance(1500);
    const again = session.decode(later);
    expect(again.kind === 'status' && again.followUp).toBeFalsy();
  });

  it('sets heat and the shortest covering timer, after powering on', () => {
    const { session, sim, notes } = setup();
    expect(run(session, sim, notes, { type: 'setTimer', seconds: 300 })).toEqual([]);
    expect(run(session, sim, notes, { type: 'setMotion', motion: 'long-strokes' })).toEqual(['F0 83 01 7B F1', 'F0 83 50 2C F1', 'F0 83 24 58 F1']);
    expect(sim.state()).toMatchObject({ timerMinutes: 10, mode: 'knead-knock' });
    expect(run(session, sim, notes, { type: 'setTimer', seconds: 601 })).toEqual(['F0 83 51 2B F1']);
    expect(run(session, sim, notes, { type: 'setHeat', on: true })).toEqual(['F0 83 27 55 F1']);
    expect(run(session, sim, notes, { type: 'setHeat', on: true })).toEqual([]);
    expect(sim.state()).toMatchObject({ heat: true, timerMinutes: 20 });
    expect(sim.readout()).toEqual([
      { label: 'Power', value: 'on' },
      { label: 'Mode', value: 'knead-knock' },
      { label: 'Speed', value: '3 of 6' },
      { label: 'Heat', value: 'on' },
      { label: 'Timer', value: '20 min' },
    ]);
    expect(run(session, sim, notes, { type: 'setHeat', on: false })).toEqual(['F0 83 27 55 F1']);
  });

  it('simulator ignores techniques while off and frames of the other variant', () => {
    const sim = simulateRongTai({ model: 'RT8600S' });
    connectSim(sim, { service: 'fff0', characteristic: '0734594aa8e74b1aa6b1cd5243059a57' });
    sim.onWrite('fff0', '8b00ace7eb0b49b0bbe99aee0a26e1a3', fromHex('F0 84 20 5B F1'), false);
    expect(sim.state()).toMatchObject({ powered: false, mode: '', ignoredWhileOff: 1 });
    sim.onWrite('fff0', '8b00ace7eb0b49b0bbe99aee0a26e1a3', fromHex('F0 83 01 7B F1'), false);
    sim.onWrite('fff0', '8b00ace7eb0b49b0bbe99aee0a26e1a3', fromHex('F0 84 01 7B F1'), false);
    expect(sim.state()).toMatchObject({ powered: false, badFrames: 2 });
  });

  it.each([NaN, -0.1, 1.1])('refuses intensity %s without emitting or changing state', (value) => {
    const { session, sim, notes } = setup();
    expect(() => session.encode({ type: 'setIntensity', value })).toThrow(RangeError);
    expect(run(session, sim, notes, { type: 'stop' })).toEqual([]);
  });

  it('identifies the chair by name', () => {
    expect(rongtai.identify({ localName: 'RT8600S', serviceUuids: [] })).toEqual({ confidence: 'strong', model: 'RT8600S' });
    expect(rongtai.identify({ localName: 'EVOLUTION-42', serviceUuids: [] })).toEqual({ confidence: 'strong', model: 'EVOLUTION-42' });
    expect(rongtai.identify({ localName: 'EVOLUTION', serviceUuids: [] })).toBeNull();
    expect(rongtai.identify({ serviceUuids: ['fff0'] })).toBeNull();
  });
});
