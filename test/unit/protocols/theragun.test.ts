import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../../../protocols/bytes';
import { get, identify } from '../../../protocols/registry';
import {
  decodeTheragun,
  firmwareNotification,
  simulateTheragun,
  statusNotification,
  theragun,
} from '../../../protocols/theragun';
import type { Command, ProtocolSession, SimulatedPeripheral } from '../../../protocols/types';
import { connectSim, contextFor } from './helpers';

function open(model: 'Pro' | 'Elite' | 'Prime'): { session: ProtocolSession; sim: SimulatedPeripheral; notes: Uint8Array[] } {
  const sim = simulateTheragun({ model });
  const result = theragun.open(contextFor(sim));
  if (!result.ok) throw new Error(result.reason);
  const notes = connectSim(sim, result.session.notify);
  return { session: result.session, sim, notes };
}

const hexOf = (session: ProtocolSession, command: Command) => session.encode(command).map((w) => toHex(w.bytes));

describe('Theragun Gen 4', () => {
  it('encodes the published example frames exactly', () => {
    const { session } = open('Pro');
    const rpm1750 = 1750 / 3616;
    expect(hexOf(session, { type: 'setIntensity', value: rpm1750 })).toEqual(['AA E3 01 03 06 D6 03']);
    expect(hexOf(session, { type: 'stop' })).toEqual(['AA 07 01 03 00 00 03']);
    expect(hexOf(session, { type: 'setIntensity', value: 0 })).toEqual(['AA 07 01 03 00 00 03']);
    expect(hexOf(session, { type: 'queryFirmware' })).toEqual(['AA 20 20 00']);
    expect(hexOf(session, { type: 'queryStatus' })).toEqual(['AA 10 10 00']);
  });

  it('writes speed and status request with response, firmware query without, to ffe0/ffe2', () => {
    const { session } = open('Pro');
    const [speed] = session.encode({ type: 'setIntensity', value: 0.5 });
    expect(speed).toMatchObject({ service: 'ffe0', characteristic: 'ffe2', withResponse: true });
    expect(session.encode({ type: 'queryFirmware' })[0]?.withResponse).toBe(false);
    expect(session.encode({ type: 'queryStatus' })[0]?.withResponse).toBe(true);
    expect(session.notify).toEqual({ service: 'ffe0', characteristic: 'ffe1' });
  });

  it.each([
    ['Pro', 3616, [0, 4, 1808, 3616]],
    ['Elite', 3616, [0, 4, 1808, 3616]],
    ['Prime', 3584, [0, 4, 1792, 3584]],
  ] as const)('maps intensity to rpm on the %s (top %i rpm)', (model, top, expected) => {
    const { session, sim } = open(model);
    expect(session.capabilities).toMatchObject({ steps: top, minRunningStep: 1, stepUnit: 'rpm', modes: [], timersSeconds: [] });
    const values = [0, 0.001, 0.5, 1];
    values.forEach((value, i) => {
      const writes = session.encode({ type: 'setIntensity', value });
      for (const w of writes) sim.onWrite(w.service, w.characteristic, w.bytes, w.withResponse);
      expect(sim.state().rpm).toBe(expected[i]);
    });
  });

  it.each([NaN, -0.1, 1.1, Infinity])('refuses intensity %s with RangeError and emits nothing', (value) => {
    const { session, sim } = open('Pro');
    let writes: unknown;
    expect(() => {
      writes = session.encode({ type: 'setIntensity', value });
    }).toThrow(RangeError);
    expect(writes).toBeUndefined();
    expect(sim.state().framesReceived).toBe(0);
  });

  it('round trips every frame encode emits through the simulator', () => {
    const { session, sim, notes } = open('Prime');
    const commands: Command[] = [
      { type: 'setIntensity', value: 0.25 },
      { type: 'setIntensity', value: 1 },
      { type: 'queryFirmware' },
      { type: 'queryStatus' },
      { type: 'stop' },
    ];
    let frames = 0;
    for (const w of session.init()) {
      expect(sim.onWrite(w.service, w.characteristic, w.bytes, w.withResponse)).toBe(true);
      frames++;
    }
    for (const command of commands) {
      for (const w of session.encode(command)) {
        expect(sim.onWrite(w.service, w.characteristic, w.bytes, w.withResponse)).toBe(true);
        frames++;
      }
      if (command.type === 'setIntensity') {
        const expected = Math.ceil(command.value * 3584);
        expect(sim.state().rpm).toBe(expected);
        const last = notes.at(-1);
        expect(last && decodeTheragun(last)).toEqual({ kind: 'status', status: { running: true, level: expected, levelIsIntensity: true } });
      }
    }
    expect(sim.state()).toMatchObject({ rpm: 0, running: false, framesReceived: frames, badFrames: 0, firmwareQueries: 2, statusRequests: 2 });
    expect(sim.readout()).toEqual([{ label: 'Motor', value: '0 rpm' }]);
    // Every notification the simulator sent decodes.
    for (const n of notes) expect(session.decode(n).kind).toBe('status');
    expect(notes.map((n) => session.decode(n)).some((r) => r.kind === 'status' && r.status.firmware === '4.1.5')).toBe(true);
  });

  it('simulator counts and ignores frames with a bad checksum', () => {
    const { sim, notes } = open('Pro');
    sim.onWrite('ffe0', 'ffe2', fromHex('AA E4 01 03 06 D6 03'), true);
    sim.onWrite('ffe0', 'ffe2', fromHex('AB E3 01 03 06 D6 03'), true);
    expect(sim.state()).toMatchObject({ rpm: 0, badFrames: 2, framesReceived: 0 });
    expect(notes).toHaveLength(0);
    expect(sim.onWrite('ffe0', 'ffe1', fromHex('AA 07 01 03 00 00 03'), true)).toBe(false);
  });

  it('simulator button-max runs at full speed and notifies it', () => {
    const { sim, session, notes } = open('Pro');
    expect(sim.actions).toContain('button-max');
    sim.act?.('button-max');
    expect(sim.state()).toMatchObject({ rpm: 3616, running: true });
    expect(sim.readout()).toEqual([{ label: 'Motor', value: '3616 rpm' }]);
    expect(session.decode(notes.at(-1)!)).toEqual({ kind: 'status', status: { running: true, level: 3616, levelIsIntensity: true } });
  });

  it('decodes status and firmware notifications and rejects bad ones', () => {
    expect(decodeTheragun(statusNotification({ running: true, rpm: 1750 }))).toEqual({
      kind: 'status',
      status: { running: true, level: 1750, levelIsIntensity: true },
    });
    expect(decodeTheragun(firmwareNotification(312))).toEqual({ kind: 'status', status: { firmware: '3.1.2' } });
    const bad = statusNotification({ running: true, rpm: 1750 });
    bad[1] = (bad[1]! + 1) & 0xff;
    expect(decodeTheragun(bad).kind).toBe('unknown');
    expect(decodeTheragun(new Uint8Array()).kind).toBe('unknown');
    expect(decodeTheragun(fromHex('BB 10 10')).kind).toBe('unknown');
    expect(decodeTheragun(fromHex('BB 10 10 00')).kind).toBe('unknown'); // status too short
  });

  it('identifies only the exact names, as candidates', () => {
    expect(theragun.identify({ localName: 'Pro', serviceUuids: [] })).toEqual({ confidence: 'candidate', model: 'Pro' });
    expect(theragun.identify({ localName: 'Prime', serviceUuids: [] })).toEqual({ confidence: 'candidate', model: 'Prime' });
    expect(theragun.identify({ localName: 'pro', serviceUuids: [] })).toBeNull();
    expect(theragun.identify({ localName: 'Pro 2', serviceUuids: [] })).toBeNull();
    expect(theragun.identify({ serviceUuids: ['ffe0'] })).toBeNull();
    expect(identify({ localName: 'Elite', serviceUuids: [] })[0]).toMatchObject({ confidence: 'candidate', model: 'Elite' });
    expect(get('theragun')).toBe(theragun);
  });

  it('takes the older Prime firmware name liv2 as a Prime candidate, with the Prime range', () => {
    expect(theragun.identify({ localName: 'liv2', serviceUuids: [] })).toEqual({ confidence: 'candidate', model: 'Prime' });
    expect(theragun.identify({ localName: 'LIV2', serviceUuids: [] })).toBeNull();
    expect(identify({ localName: 'liv2', serviceUuids: [] }).map((c) => c.module.id)).toEqual(['theragun']);
    const gatt = [
      { uuid: 'ffe1', properties: ['notify'] },
      { uuid: 'ffe2', properties: ['write'] },
    ];
    const opened = theragun.open({ localName: 'liv2', services: new Map([['ffe0', gatt]]), now: () => 0 });
    expect(opened.ok && opened.session.capabilities.steps).toBe(3584);
    // The highest speed frame under a full ceiling is the Prime's 3584 rpm (0x0E00).
    expect(opened.ok && toHex(opened.session.encode({ type: 'setIntensity', value: 1 })[0]!.bytes)).toBe('AA 15 01 03 0E 00 03');
  });

  it('open refuses a peripheral without ffe0/ffe2/ffe1', () => {
    const now = () => 0;
    expect(theragun.open({ localName: 'Pro', services: new Map(), now }).ok).toBe(false);
    expect(theragun.open({ localName: 'Pro', services: new Map([['ffe0', [{ uuid: 'ffe1', properties: ['notify'] }]]]), now }).ok).toBe(false);
    expect(theragun.open({ localName: 'Pro', services: new Map([['ffe0', [{ uuid: 'ffe2', properties: ['write'] }]]]), now }).ok).toBe(false);
  });

  it('reports battery only when 180f is present', () => {
    const now = () => 0;
    const gatt = [
      { uuid: 'ffe1', properties: ['notify'] },
      { uuid: 'ffe2', properties: ['write'] },
    ];
    const without = theragun.open({ localName: 'Pro', services: new Map([['ffe0', gatt]]), now });
    expect(without.ok && without.session.capabilities.battery).toBe(false);
    const withBattery = theragun.open({ localName: 'Pro', services: new Map([['ffe0', gatt], ['180f', [{ uuid: '2a19', properties: ['read'] }]]]), now });
    expect(withBattery.ok && withBattery.session.capabilities.battery).toBe(true);
    const sim = simulateTheragun();
    expect(sim.address).toBe('sim-theragun-pro');
    expect(sim.advertisement.serviceUuids).not.toContain('ffe0');
    expect(sim.onRead('180f', '2a19')).toEqual(Uint8Array.of(80));
  });
});
