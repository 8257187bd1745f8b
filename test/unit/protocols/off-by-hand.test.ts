/**
 * "Switched off by hand", said by the protocol session itself (issue 15, part 2): a status
 * the session decodes carries `offByHand` when the device left running without the app's
 * stop. Data profiles say when by their `offByHand` key (the Theragun: "not running" after
 * 1.5 s of motor time), the chair's hook by its own power rule; the core only reads it.
 * (Moved from test/unit/core/rules.test.ts "switched off by hand", with its assertions.)
 */
import { describe, expect, it } from 'vitest';
import { moduleFromProfile, parseProfile } from '../../../protocols/profile';
import { OFF_BY_HAND_DEFAULTS } from '../../../protocols/profile/schema';
import { builtInProfile } from '../../../protocols/registry';
import { rongtai, simulateRongTai } from '../../../protocols/rongtai';
import { simulateTheragun, statusNotification, theragun } from '../../../protocols/theragun';
import type { DeviceStatus, ProtocolModule, ProtocolSession } from '../../../protocols/types';
import { FakeClock } from '../helpers/fake-clock';
import { contextFor, fakeClock } from './helpers';

/** A Theragun session (or one of `module`, on the gun's GATT table) on a clock the test moves. */
function gun(module: ProtocolModule = theragun): { session: ProtocolSession; clock: ReturnType<typeof fakeClock> } {
  const clock = fakeClock();
  const opened = module.open(contextFor(simulateTheragun({ model: 'Pro' }), clock.now));
  if (!opened.ok) throw new Error(opened.reason);
  return { session: opened.session, clock };
}

function statusOf(session: ProtocolSession, running: boolean, rpm = running ? 1000 : 0): DeviceStatus {
  const r = session.decode(statusNotification({ running, rpm }));
  if (r.kind !== 'status') throw new Error(r.reason);
  return r.status;
}

const theragunJson = (): Record<string, unknown> => JSON.parse(JSON.stringify(builtInProfile('theragun'))) as Record<string, unknown>;

describe('switched off by hand, reported by the protocol session', () => {
  it('a gun saying "not running" counts only after the settle time of motor-on, once; a gun still running never', () => {
    const after = builtInProfile('theragun').offByHand!.notRunningAfterMs!;
    expect(after).toBe(1500);
    const { session, clock } = gun();
    session.encode({ type: 'setIntensity', value: 0.3 });
    clock.advance(after);
    expect(statusOf(session, false).offByHand).toBeUndefined(); // may predate the start
    clock.advance(1);
    expect(statusOf(session, true).offByHand).toBeUndefined();
    expect(statusOf(session, false).offByHand).toBe(true);
    // Said once: the session now counts the motor as off.
    clock.advance(1000);
    expect(statusOf(session, false).offByHand).toBeUndefined();
  });

  it('a gun the app never ran, or stopped itself, is not "off by hand"', () => {
    const { session, clock } = gun();
    clock.advance(60_000);
    expect(statusOf(session, false).offByHand).toBeUndefined(); // the motor was not running
    session.encode({ type: 'setIntensity', value: 0.5 });
    clock.advance(5000);
    session.encode({ type: 'stop' });
    clock.advance(5000);
    expect(statusOf(session, false).offByHand).toBeUndefined();
    // A new start counts its settle time afresh.
    session.encode({ type: 'setIntensity', value: 0.5 });
    clock.advance(1000);
    expect(statusOf(session, false).offByHand).toBeUndefined();
  });

  it('the settle time counts from the first start, not from each later step', () => {
    const { session, clock } = gun();
    session.encode({ type: 'setIntensity', value: 0.2 });
    clock.advance(1400);
    session.encode({ type: 'setIntensity', value: 0.4 });
    clock.advance(200);
    expect(statusOf(session, false).offByHand).toBe(true);
  });

  it('a profile says its own rule: null turns it off; a cushion may declare one; without the key the kind decides', () => {
    const never = parseProfile({ ...theragunJson(), offByHand: { notRunningAfterMs: null } });
    const a = gun(moduleFromProfile(never));
    a.session.encode({ type: 'setIntensity', value: 0.3 });
    a.clock.advance(60_000);
    expect(statusOf(a.session, false).offByHand).toBeUndefined();

    const cushion = parseProfile({ ...theragunJson(), kind: 'cushion', offByHand: { notRunningAfterMs: 200 } });
    const b = gun(moduleFromProfile(cushion));
    b.session.encode({ type: 'setIntensity', value: 0.3 });
    b.clock.advance(201);
    expect(statusOf(b.session, false).offByHand).toBe(true);

    const { offByHand: _dropped, ...withoutKey } = theragunJson();
    const defaultGun = gun(moduleFromProfile(parseProfile(withoutKey)));
    defaultGun.session.encode({ type: 'setIntensity', value: 0.3 });
    defaultGun.clock.advance(OFF_BY_HAND_DEFAULTS.percussive.notRunningAfterMs! + 1);
    expect(statusOf(defaultGun.session, false).offByHand).toBe(true);
    const defaultCushion = gun(moduleFromProfile(parseProfile({ ...withoutKey, kind: 'cushion' })));
    defaultCushion.session.encode({ type: 'setIntensity', value: 0.3 });
    defaultCushion.clock.advance(60_000);
    expect(statusOf(defaultCushion.session, false).offByHand).toBeUndefined();
  });

  it('a misspelt or out-of-range rule is refused with its field path', () => {
    expect(() => parseProfile({ ...theragunJson(), offByHand: { notRunningAfter: 100 } })).toThrow(/offByHand/);
    expect(() => parseProfile({ ...theragunJson(), offByHand: { notRunningAfterMs: -1 } })).toThrow(/offByHand\.notRunningAfterMs/);
  });

  it("a chair's session says so at once when its remote switches it off; its \"not running\" alone never counts", () => {
    const clock = new FakeClock();
    const sim = simulateRongTai({ model: 'EVOLUTION-1', clock });
    const opened = rongtai.open(contextFor(sim, () => clock.now()));
    if (!opened.ok) throw new Error(opened.reason);
    const session = opened.session;
    const statuses: DeviceStatus[] = [];
    const inbox: Uint8Array[] = [];
    sim.setNotifier((_s, _c, bytes) => inbox.push(bytes));
    const flush = (): void => {
      while (inbox.length > 0) {
        const r = session.decode(inbox.shift()!);
        if (r.kind !== 'status') continue;
        statuses.push(r.status);
        for (const w of r.followUp ?? []) sim.onWrite(w.service, w.characteristic, w.bytes, w.withResponse);
      }
    };
    const send = (writes: ReturnType<ProtocolSession['encode']>): void => {
      for (const w of writes) {
        sim.onWrite(w.service, w.characteristic, w.bytes, w.withResponse);
        flush();
      }
    };
    const advance = (ms: number): void => {
      for (let t = 0; t < ms; t += 100) {
        clock.advance(100);
        flush();
      }
    };
    sim.onSubscribe?.(session.notify.service, session.notify.characteristic, true);
    advance(60_000);
    // Idle for a minute before anything ran: "not running", never "off by hand".
    expect(statuses.length).toBeGreaterThan(0);
    expect(statuses.some((s) => s.offByHand)).toBe(false);
    send(session.encode({ type: 'setIntensity', value: 0.5 }));
    advance(3000);
    expect(sim.state().runState).toBe('running');
    const seen = statuses.length;
    sim.act?.('remote-power');
    advance(100);
    expect(statuses.slice(seen).some((s) => s.offByHand === true)).toBe(true);
  });
});
