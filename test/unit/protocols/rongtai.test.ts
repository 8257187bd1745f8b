import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../../../protocols/bytes';
import {
  RONGTAI_BY_HAND_NOTICE,
  RONGTAI_RESETTING_NOTICE,
  RONGTAI_SIM_RESET_MS,
  RONGTAI_STOP_NOTICE,
  parseStatusFrame,
  rongtai,
  simulateRongTai,
  statusFrame,
} from '../../../protocols/rongtai';
import type { Command, DeviceStatus, ProtocolSession, SimulatedPeripheral } from '../../../protocols/types';
import { FakeClock } from '../helpers/fake-clock';
import { connectSim, contextFor } from './helpers';

interface Capture {
  name: string;
  hex: string;
  expect: Record<string, unknown>;
}
const captures = JSON.parse(readFileSync(new URL('../../../protocols/vectors/rongtai-status.json', import.meta.url), 'utf8')) as {
  frames: Capture[];
};

const POWER_83 = 'F0 83 01 7B F1';
const POWER_84 = 'F0 84 01 7A F1';

/**
 * A simulated chair and one session, joined the way the device link joins them, on a
 * clock the test moves: writes reach the chair in order; its notifications are decoded
 * after each write and after each clock step; follow-ups are written and replays encoded
 * again as the link does (a replay is dropped while a stop is on its way, which never
 * happens here between two synchronous steps). Delays after writes are not waited for.
 */
function rig(model = 'EVOLUTION-1') {
  const clock = new FakeClock();
  const sim = simulateRongTai({ model, clock });
  const opened = rongtai.open(contextFor(sim, () => clock.now()));
  if (!opened.ok) throw new Error(opened.reason);
  const session = opened.session;
  const wire: string[] = [];
  const notices: string[] = [];
  const statuses: DeviceStatus[] = [];
  const inbox: Uint8Array[] = [];
  sim.setNotifier((service, characteristic, bytes) => {
    if (service === session.notify.service && characteristic === session.notify.characteristic) inbox.push(bytes);
  });
  const writeAll = (writes: ReturnType<ProtocolSession['encode']>): void => {
    for (const w of writes) {
      wire.push(toHex(w.bytes));
      sim.onWrite(w.service, w.characteristic, w.bytes, w.withResponse);
      flush();
    }
  };
  const flush = (): void => {
    while (inbox.length > 0) {
      const r = session.decode(inbox.shift()!);
      if (r.kind !== 'status') continue;
      statuses.push(r.status);
      if (r.notice) notices.push(r.notice);
      if (r.followUp) writeAll(r.followUp);
      for (const c of r.replay ?? []) send(c);
    }
  };
  const send = (command: Command): string[] => {
    const before = wire.length;
    writeAll(session.encode(command));
    const n = command.type === 'stop' ? session.stopNotice?.() : session.takeNotice?.();
    if (n) notices.push(n);
    return wire.slice(before);
  };
  const advance = (ms: number): void => {
    for (let t = 0; t < ms; t += 100) {
      clock.advance(Math.min(100, ms - t));
      flush();
    }
  };
  const subscribe = (): void => {
    sim.onSubscribe?.(session.notify.service, session.notify.characteristic, true);
    flush();
  };
  const toggles = (from = 0): number => wire.slice(from).filter((h) => h === POWER_83 || h === POWER_84).length;
  return { clock, sim, session, wire, notices, statuses, send, advance, subscribe, toggles };
}

/** The routine's first step as the governor sends it: the motion, then the step's intensity. */
function startRoutineStep(r: ReturnType<typeof rig>, value = 0.5): void {
  r.send({ type: 'setTimer', seconds: 240 });
  r.send({ type: 'setMotion', motion: 'circular' });
  r.send({ type: 'setIntensity', value });
}

describe('RongTai status captures (shared/captures, hardware)', () => {
  it.each(captures.frames.map((f) => [f.name, f] as const))('decodes "%s" as captured', (_name, frame) => {
    const status = parseStatusFrame(fromHex(frame.hex));
    expect(status).toBeDefined();
    // The profile reads what the app uses (DeviceStatus); the chair's roller width, zero
    // gravity, airbags and 3D strength have no place there and are not read.
    const { speed: _speed, width: _width, zeroGravity: _zg, strength3d: _s3d, airbags: _airbags, ...shown } = frame.expect as Record<string, unknown>;
    expect(status).toMatchObject(shown);
    if (frame.expect.running === false) {
      // Speed, width and time left are leftovers while the rollers are still.
      expect(status).not.toHaveProperty('speed');
      expect(status).not.toHaveProperty('secondsLeft');
      expect(status).not.toHaveProperty('level');
    } else {
      // The chair's own speed is the step scale the app commands: compared with the ceiling.
      expect(status).toMatchObject({ level: frame.expect.speed, levelIsIntensity: true });
    }
    const { session } = rig();
    expect(session.decode(fromHex(frame.hex))).toMatchObject({ kind: 'status', status: shown });
  });

  it('covers every run state, and b7 = 23 (airbag flags in the high bits) is running', () => {
    const states = new Set(captures.frames.map((f) => f.expect.runState));
    expect([...states].sort()).toEqual(['idle', 'ready', 'resetting', 'running']);
    const b7is23 = captures.frames.filter((f) => fromHex(f.hex)[7] === 0x23);
    expect(b7is23.length).toBeGreaterThan(0);
    for (const f of b7is23) expect(parseStatusFrame(fromHex(f.hex))).toMatchObject({ runState: 'running', running: true });
  });

  it.each(captures.frames.map((f) => [f.name, f] as const))('rejects "%s" with its checksum or a marker altered', (_name, frame) => {
    const good = fromHex(frame.hex);
    for (const index of [0, 15, 16]) {
      const bad = good.slice();
      bad[index] = bad[index]! ^ 0x01;
      expect(parseStatusFrame(bad)).toBeUndefined();
      const { session } = rig();
      expect(session.decode(bad).kind).toBe('unknown');
    }
    // A changed data byte breaks the checksum too.
    const changed = good.slice();
    changed[7] = changed[7]! ^ 0x01;
    expect(parseStatusFrame(changed)).toBeUndefined();
    expect(parseStatusFrame(good.slice(0, 16))).toBeUndefined();
  });

  it('statusFrame builds frames the parser reads back field by field', () => {
    const f = statusFrame({ powered: true, runState: 'running', heat: true, speed: 4, secondsLeft: 1234, zeroGravity: true, strength3d: 2 });
    expect(parseStatusFrame(f)).toMatchObject({ powered: true, runState: 'running', heat: true, level: 4, levelIsIntensity: true, secondsLeft: 1234 });
    expect(parseStatusFrame(statusFrame({ powered: true, runState: 'resetting', heat: false }))).toMatchObject({ powered: true, running: false, runState: 'resetting' });
  });
});

describe('RongTai writes and variants', () => {
  it('EVOLUTION: type 83 on fff1 without response', () => {
    const r = rig('EVOLUTION-1');
    r.subscribe();
    const writes = r.session.encode({ type: 'powerOn' });
    expect(writes.map((w) => toHex(w.bytes))).toEqual([POWER_83]);
    expect(writes[0]).toMatchObject({ service: 'fff0', characteristic: 'fff1', withResponse: false, delayAfterMs: 1000 });
  });

  it('RT8600S exposes both write characteristics; the session picks 8b00…/type 84 and the chair runs', () => {
    const r = rig('RT8600S');
    expect(r.sim.services[0]!.characteristics.map((c) => c.uuid)).toEqual(['fff1', '8b00ace7eb0b49b0bbe99aee0a26e1a3', '0734594aa8e74b1aa6b1cd5243059a57']);
    r.subscribe();
    startRoutineStep(r);
    expect(r.wire).toEqual([POWER_84, 'F0 84 30 4B F1', 'F0 84 20 5B F1', 'F0 84 30 4B F1', 'F0 84 50 2B F1']);
    expect(r.sim.state()).toMatchObject({ runState: 'running', speed: 3, mode: 'knead', wrongCharacteristic: 0, badFrames: 0 });
    const w = r.session.encode({ type: 'setIntensity', value: 1 });
    expect(w[0]).toMatchObject({ characteristic: '8b00ace7eb0b49b0bbe99aee0a26e1a3', withResponse: false });
  });

  it('writes fff1 with response only when the characteristic allows nothing else', () => {
    const sim = simulateRongTai();
    const ctx = contextFor(sim);
    ctx.services = new Map([['fff0', [{ uuid: 'fff1', properties: ['write'] }, { uuid: '0734594aa8e74b1aa6b1cd5243059a57', properties: ['notify'] }]]]);
    const opened = rongtai.open(ctx);
    expect(opened.ok && opened.session.encode({ type: 'stop' })).toEqual([]);
    if (!opened.ok) return;
    opened.session.decode(statusFrame({ powered: false, runState: 'idle', heat: false }));
    expect(opened.session.encode({ type: 'powerOn' })[0]).toMatchObject({ withResponse: true });
  });

  it('start order: power on, 1 s, speed, technique, speed again, timer; a technique alone sends nothing', () => {
    const r = rig();
    r.subscribe();
    expect(r.send({ type: 'setTimer', seconds: 240 })).toEqual([]);
    // The step's motion arrives before its intensity: a technique key would run the rollers at the chair's own speed.
    expect(r.send({ type: 'setMotion', motion: 'back-and-forth' })).toEqual([]);
    expect(r.sim.state()).toMatchObject({ runState: 'idle', powerToggles: 0 });
    const writes = r.session.encode({ type: 'setIntensity', value: 0.3 });
    expect(writes.map((w) => toHex(w.bytes))).toEqual([POWER_83, 'F0 83 2F 4D F1', 'F0 83 21 5B F1', 'F0 83 2F 4D F1', 'F0 83 50 2C F1']);
    expect(writes[0]!.delayAfterMs).toBe(1000);
    for (const w of writes) r.sim.onWrite(w.service, w.characteristic, w.bytes, w.withResponse);
    expect(r.sim.state()).toMatchObject({ runState: 'running', mode: 'knock', speed: 2, timerMinutes: 10 });
  });

  it('while running: a speed change is one key; a technique change is the technique and the speed again', () => {
    const r = rig();
    r.subscribe();
    startRoutineStep(r, 0.5);
    expect(r.send({ type: 'setIntensity', value: 0.5 })).toEqual([]);
    expect(r.send({ type: 'setIntensity', value: 0.2 })).toEqual(['F0 83 2F 4D F1']);
    expect(r.send({ type: 'setMotion', motion: 'long-strokes' })).toEqual(['F0 83 24 58 F1', 'F0 83 2F 4D F1']);
    expect(r.sim.state()).toMatchObject({ mode: 'knead-knock', speed: 2, runState: 'running' });
    expect(r.toggles()).toBe(1);
  });
});

describe('RongTai power rule', () => {
  it('a stop during a routine puts exactly one power toggle on the wire, and none during the reset', () => {
    const r = rig();
    r.subscribe();
    startRoutineStep(r);
    r.advance(20_000);
    const before = r.wire.length;
    expect(r.send({ type: 'stop' })).toEqual([POWER_83]);
    expect(r.sim.state()).toMatchObject({ runState: 'resetting', powered: true, running: false });
    r.advance(RONGTAI_SIM_RESET_MS + 3000);
    expect(r.sim.state()).toMatchObject({ runState: 'idle', powered: false });
    expect(r.toggles(before)).toBe(1);
    expect(r.sim.state()).toMatchObject({ powerToggles: 2, togglesWhileResetting: 0 });
    expect(r.notices).toEqual([]);
  });

  it('during the reset a second Stop, a resume and heat send no toggle; they wait for idle', () => {
    const r = rig();
    r.subscribe();
    startRoutineStep(r);
    r.advance(5000);
    r.send({ type: 'stop' });
    const afterStop = r.wire.length;
    // Inside the grace second, and after it while the chair reports resetting.
    expect(r.send({ type: 'stop' })).toEqual([]);
    r.advance(1500);
    expect(r.statuses.at(-1)).toMatchObject({ runState: 'resetting', powered: true });
    expect(r.send({ type: 'stop' })).toEqual([]);
    expect(r.send({ type: 'setHeat', on: true })).toEqual([]);
    expect(r.notices.at(-1)).toBe(RONGTAI_RESETTING_NOTICE);
    expect(r.send({ type: 'setMotion', motion: 'circular' })).toEqual([]); // a resume: motion, then intensity
    expect(r.send({ type: 'setIntensity', value: 0.5 })).toEqual([]);
    expect(r.toggles(afterStop)).toBe(0);
    expect(r.sim.state()).toMatchObject({ togglesWhileResetting: 0, runState: 'resetting' });
    // Once idle, the held heat and speed go out in one start.
    r.advance(RONGTAI_SIM_RESET_MS);
    expect(r.toggles(afterStop)).toBe(1);
    expect(r.sim.state()).toMatchObject({ runState: 'running', heat: true, speed: 3, mode: 'knead', togglesWhileResetting: 0 });
  });

  it('a Stop during the reset also cancels what was waiting', () => {
    const r = rig();
    r.subscribe();
    startRoutineStep(r);
    r.send({ type: 'stop' });
    r.advance(1500);
    r.send({ type: 'setIntensity', value: 0.5 });
    r.send({ type: 'stop' });
    const mark = r.wire.length;
    r.advance(RONGTAI_SIM_RESET_MS + 2000);
    expect(r.wire.slice(mark)).toEqual([]);
    expect(r.sim.state()).toMatchObject({ runState: 'idle' });
  });

  it('a chair whose first toggle is lost gets exactly one more', () => {
    const r = rig();
    r.subscribe();
    startRoutineStep(r);
    r.advance(3000);
    r.sim.act?.('ignore-next-stop');
    const before = r.wire.length;
    r.send({ type: 'stop' });
    expect(r.sim.state().runState).toBe('running');
    r.advance(900); // frames of the grace second change nothing
    expect(r.toggles(before)).toBe(1);
    r.advance(600);
    expect(r.toggles(before)).toBe(2);
    expect(r.sim.state()).toMatchObject({ runState: 'resetting' });
    r.advance(RONGTAI_SIM_RESET_MS + 5000);
    expect(r.toggles(before)).toBe(2);
    expect(r.sim.state()).toMatchObject({ runState: 'idle', togglesWhileResetting: 0 });
    expect(r.notices).toEqual([]);
  });

  it('a chair that ignores both toggles gets no third, and a later Stop says to switch it off by hand', () => {
    const r = rig();
    r.subscribe();
    startRoutineStep(r);
    r.advance(3000);
    r.sim.act?.('ignore-every-stop');
    const before = r.wire.length;
    r.send({ type: 'stop' });
    r.advance(1500);
    expect(r.toggles(before)).toBe(2);
    r.advance(2000);
    expect(r.toggles(before)).toBe(2);
    r.advance(12_000);
    expect(r.toggles(before)).toBe(2);
    expect(r.sim.state()).toMatchObject({ runState: 'running', stopsIgnored: 2 });
    // A later Stop sends no third toggle either, and says to switch the chair off by hand.
    expect(r.send({ type: 'stop' })).toEqual([]);
    expect(r.toggles(before)).toBe(2);
    expect(r.notices.at(-1)).toBe(RONGTAI_BY_HAND_NOTICE);
    // Switched off by hand with the remote: the chair resets, and the next stop finds nothing to do.
    r.sim.act?.('remote-power');
    r.advance(RONGTAI_SIM_RESET_MS + 1000);
    expect(r.sim.state().runState).toBe('idle');
    expect(r.send({ type: 'stop' })).toEqual([]);
  });

  it('a stop toggles only when the chair is on: ready counts, idle and resetting do not', () => {
    const r = rig();
    r.session.decode(statusFrame({ powered: true, runState: 'ready', heat: false }));
    expect(r.session.encode({ type: 'stop' }).map((w) => toHex(w.bytes))).toEqual([POWER_83]);
    const idle = rig();
    idle.session.decode(statusFrame({ powered: false, runState: 'idle', heat: false }));
    expect(idle.session.encode({ type: 'stop' })).toEqual([]);
    expect(idle.session.stopNotice?.()).toBeUndefined();
    const resetting = rig();
    resetting.session.decode(statusFrame({ powered: true, runState: 'resetting', heat: false }));
    expect(resetting.session.encode({ type: 'stop' })).toEqual([]);
    expect(resetting.session.encode({ type: 'powerOn' })).toEqual([]);
    expect(resetting.session.encode({ type: 'setHeat', on: true })).toEqual([]);
  });

  it('a new connection before any status: the stop sends nothing and asks to check the chair, then is made once a status shows it on', () => {
    const r = rig();
    r.sim.act?.('remote-power'); // the chair is on (ready) from before the connection
    expect(r.send({ type: 'stop' })).toEqual([]);
    expect(r.notices).toEqual([RONGTAI_STOP_NOTICE]);
    r.subscribe(); // first status: ready
    expect(r.wire).toEqual([POWER_83]);
    expect(r.sim.state().runState).toBe('resetting');
    const off = rig();
    off.send({ type: 'stop' });
    off.subscribe(); // first status: idle: nothing to do
    expect(off.wire).toEqual([]);
  });

  it('a status older than a few seconds does not count as knowing the state', () => {
    const r = rig();
    r.session.decode(statusFrame({ powered: true, runState: 'running', heat: false, speed: 3 }));
    r.clock.advance(10_000);
    expect(r.session.encode({ type: 'stop' })).toEqual([]);
    expect(r.session.stopNotice?.()).toBe(RONGTAI_STOP_NOTICE);
    r.session.decode(statusFrame({ powered: true, runState: 'running', heat: false, speed: 3 }));
    expect(r.session.encode({ type: 'stop' }).map((w) => toHex(w.bytes))).toEqual([POWER_83]);
  });

  it('steps far apart never toggle a running chair off, and the final stop lands', () => {
    const r = rig();
    r.subscribe();
    startRoutineStep(r);
    r.advance(7000);
    expect(r.send({ type: 'setMotion', motion: 'back-and-forth' })).toEqual(['F0 83 21 5B F1', 'F0 83 30 4C F1']);
    r.advance(7000);
    expect(r.send({ type: 'setIntensity', value: 0.3 })).toEqual(['F0 83 2F 4D F1']);
    r.advance(7000);
    expect(r.send({ type: 'stop' })).toEqual([POWER_83]);
    expect(r.toggles()).toBe(2);
    expect(r.sim.state().runState).toBe('resetting');
  });

  it('leaving running without the app’s stop is reported as switched off by hand (a resetting chair still sets the powered bit)', () => {
    const r = rig();
    r.subscribe();
    startRoutineStep(r);
    r.advance(3000);
    r.sim.act?.('remote-power');
    r.advance(100);
    const last = r.statuses.at(-1)!;
    expect(last).toMatchObject({ runState: 'resetting', powered: true, offByHand: true });
    // The app's own stop is not "by hand".
    const s = rig();
    s.subscribe();
    startRoutineStep(s);
    s.advance(3000);
    s.send({ type: 'stop' });
    s.advance(RONGTAI_SIM_RESET_MS + 2000);
    expect(s.statuses.some((x) => x.offByHand)).toBe(false);
  });

  it.each([NaN, -0.1, 1.1])('refuses intensity %s without emitting or changing state', (value) => {
    const r = rig();
    r.subscribe();
    expect(() => r.session.encode({ type: 'setIntensity', value })).toThrow(RangeError);
    expect(r.send({ type: 'stop' })).toEqual([]);
    expect(r.wire).toEqual([]);
  });
});

describe('RongTai simulator', () => {
  it('ignores techniques while off and frames of the other variant or characteristic', () => {
    const sim = simulateRongTai({ model: 'RT8600S', clock: new FakeClock() });
    connectSim(sim, { service: 'fff0', characteristic: '0734594aa8e74b1aa6b1cd5243059a57' });
    sim.onWrite('fff0', '8b00ace7eb0b49b0bbe99aee0a26e1a3', fromHex('F0 84 20 5B F1'), false);
    expect(sim.state()).toMatchObject({ powered: false, mode: '', ignored: 1 });
    sim.onWrite('fff0', '8b00ace7eb0b49b0bbe99aee0a26e1a3', fromHex(POWER_83), false);
    sim.onWrite('fff0', '8b00ace7eb0b49b0bbe99aee0a26e1a3', fromHex('F0 84 01 7B F1'), false);
    sim.onWrite('fff0', 'fff1', fromHex(POWER_83), false);
    expect(sim.state()).toMatchObject({ powered: false, badFrames: 2, wrongCharacteristic: 1 });
  });

  it('goes idle → ready → running → resetting → idle, and streams its status while subscribed', () => {
    const clock = new FakeClock();
    const sim: SimulatedPeripheral = simulateRongTai({ clock });
    const notes = connectSim(sim, { service: 'fff0', characteristic: '0734594aa8e74b1aa6b1cd5243059a57' });
    const seen = () => notes.map((n) => parseStatusFrame(n)?.runState);
    const write = (hex: string) => sim.onWrite('fff0', 'fff1', fromHex(hex), false);
    write(POWER_83);
    expect(parseStatusFrame(notes.at(-1)!)).toMatchObject({ runState: 'ready', powered: true, running: false });
    expect(notes.at(-1)![2]! & 0x1c).toBe(0); // no speed bits while ready
    write('F0 83 20 5C F1');
    expect(parseStatusFrame(notes.at(-1)!)).toMatchObject({ runState: 'running', level: 3, secondsLeft: 600 });
    clock.advance(5000);
    expect(parseStatusFrame(notes.at(-1)!)).toMatchObject({ runState: 'running', secondsLeft: 595 });
    write(POWER_83);
    expect(parseStatusFrame(notes.at(-1)!)).toMatchObject({ runState: 'resetting', powered: true });
    write(POWER_83); // counted, nothing visible
    expect(sim.state()).toMatchObject({ runState: 'resetting', togglesWhileResetting: 1, powerToggles: 2 });
    clock.advance(RONGTAI_SIM_RESET_MS);
    expect(parseStatusFrame(notes.at(-1)!)).toMatchObject({ runState: 'idle', powered: false });
    expect(seen()).toEqual(expect.arrayContaining(['idle', 'ready', 'running', 'resetting']));
    sim.onSubscribe?.('fff0', '0734594aa8e74b1aa6b1cd5243059a57', false);
    const count = notes.length;
    clock.advance(5000);
    expect(notes.length).toBe(count);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('its own work timer ends the program', () => {
    const clock = new FakeClock();
    const sim = simulateRongTai({ clock });
    connectSim(sim, { service: 'fff0', characteristic: '0734594aa8e74b1aa6b1cd5243059a57' });
    for (const hex of [POWER_83, 'F0 83 20 5C F1']) sim.onWrite('fff0', 'fff1', fromHex(hex), false);
    clock.advance(601_000);
    expect(sim.state().runState).toBe('resetting');
  });
});

describe('RongTai identification', () => {
  it('identifies the chair by name', () => {
    expect(rongtai.identify({ localName: 'RT8600S', serviceUuids: [] })).toEqual({ confidence: 'strong', model: 'RT8600S' });
    expect(rongtai.identify({ localName: 'EVOLUTION-42', serviceUuids: [] })).toEqual({ confidence: 'strong', model: 'EVOLUTION-42' });
    expect(rongtai.identify({ localName: 'EVOLUTION', serviceUuids: [] })).toBeNull();
    expect(rongtai.identify({ serviceUuids: ['fff0'] })).toBeNull();
  });
});
