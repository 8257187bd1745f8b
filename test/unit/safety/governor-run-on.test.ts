/**
 * Motor time the governor must charge while a motor may run on beyond its reach (attack
 * round 3, F1–F4): after a stop the device did not confirm, for several devices out of
 * reach at once, in the daily budget before it is charged, and not while the link is down.
 * Fake clock, recording motor ports, in-memory ledger.
 */
import { describe, expect, it } from 'vitest';
import { SafetyGovernor } from '../../../electron/safety/governor';
import type { MuscleGroup, SessionEndedEvent } from '../../../electron/ipc/contract';
import { FakeClock } from '../helpers/fake-clock';
import { MemoryLedger, RecordingMotor, TestLimits } from '../helpers/governor-fakes';

function setup(timeScale = 1) {
  const clock = new FakeClock();
  const ledger = new MemoryLedger();
  const limits = new TestLimits();
  const gov = new SafetyGovernor(ledger, limits, clock, timeScale);
  const ended: SessionEndedEvent[] = [];
  gov.on('ended', (e) => ended.push(e));
  const motor = (deviceId: string, kind: 'percussive' | 'ems' = 'percussive'): RecordingMotor => {
    const m = new RecordingMotor(clock, kind, kind === 'ems' ? 19 : 3616);
    m.deviceId = deviceId;
    return m;
  };
  /** Runs `ms` of real time with a heartbeat every second (a session that ended takes none). */
  const run = (sessionId: string, ms: number): void => {
    for (let t = 0; t < ms; t += 1000) {
      clock.advance(Math.min(1000, ms - t));
      try {
        gov.heartbeat('win', sessionId);
      } catch {
        /* session over */
      }
    }
  };
  const charged = (group: MuscleGroup): number => ledger.usedSeconds(group, clock.wallNow());
  /** Lets the background tails settle (their promises chain over a few microtasks). */
  const settle = (): Promise<void> => new Promise((r) => setImmediate(r));
  return { clock, ledger, limits, gov, ended, motor, run, charged, settle };
}

describe('a stop the device did not confirm (F1)', () => {
  it('counts the motor time on until the user says it is off, not only until the unconfirmed verdict', async () => {
    const { gov, clock, motor, run, charged, settle } = setup();
    const gun = motor('gun');
    gov.attachMotor(gun);
    const { sessionId } = gov.startSession('win', { muscleGroup: 'neck', plannedMotorSeconds: 240 });
    gov.setStep('win', sessionId, 0.5);
    run(sessionId, 3000);
    // every attempt passes without proof within 2 s: the verdict is "unconfirmed"
    gun.untilStopped = () => new Promise((resolve) => clock.setTimeout(() => resolve('unconfirmed'), 2000));
    await gov.stopAll('user-stop');
    clock.advance(2000);
    await settle();
    clock.advance(18_000); // the gun runs on; the user switches it off by hand 20 s after Stop
    await settle();
    gov.deviceReachable('other-device'); // another device's "It is off" settles nothing
    await settle();
    expect(charged('neck')).toBeCloseTo(5, 0); // the run and the tail up to the verdict
    gov.deviceReachable('gun'); // "It is off"
    await settle();
    expect(charged('neck')).toBeCloseTo(23, 0);
    expect(gov.pendingSeconds('neck')).toBe(0);
  });

  it('a stop of a device that cannot confirm is over when written (unchanged)', async () => {
    const { gov, motor, run, charged, settle, clock } = setup();
    const gun = motor('gun');
    gun.untilStopped = async () => true;
    gov.attachMotor(gun);
    const { sessionId } = gov.startSession('win', { muscleGroup: 'neck', plannedMotorSeconds: 240 });
    gov.setStep('win', sessionId, 0.5);
    run(sessionId, 3000);
    await gov.stopAll('user-stop');
    await settle();
    clock.advance(10_000);
    await settle();
    expect(charged('neck')).toBeCloseTo(3, 0);
  });

  it('the app closing charges the count up to then', async () => {
    const { gov, motor, run, charged, settle, clock } = setup();
    const gun = motor('gun');
    gov.attachMotor(gun);
    const { sessionId } = gov.startSession('win', { muscleGroup: 'neck', plannedMotorSeconds: 240 });
    gov.setStep('win', sessionId, 0.5);
    run(sessionId, 2000);
    gun.untilStopped = async () => 'unconfirmed';
    await gov.stopAll('user-stop');
    await settle();
    clock.advance(7000);
    gov.dispose();
    await gov.idle();
    expect(charged('neck')).toBeCloseTo(9, 0);
  });

  it('a stop verdict that comes in after the app began closing starts no count that would keep the final save waiting', async () => {
    const { gov, motor, run, charged, settle, clock } = setup();
    const gun = motor('gun');
    gov.attachMotor(gun);
    const { sessionId } = gov.startSession('win', { muscleGroup: 'neck', plannedMotorSeconds: 240 });
    gov.setStep('win', sessionId, 0.5);
    run(sessionId, 2000);
    gun.untilStopped = () => new Promise((resolve) => clock.setTimeout(() => resolve('unconfirmed'), 1000));
    await gov.stopAll('app-quit');
    gov.dispose();
    clock.advance(1000); // the verdict (e.g. the link closing) arrives while the app closes
    await settle();
    const idle = await Promise.race([gov.idle().then(() => 'idle'), settle().then(() => settle()).then(() => 'still waiting')]);
    expect(idle).toBe('idle');
    expect(charged('neck')).toBeCloseTo(3, 0); // the run and the tail up to the verdict
  });
});

describe('several devices out of reach at once (F2)', () => {
  it('counts each peripheral on its own and settles each when a stop reaches it', async () => {
    const { gov, clock, motor, run, charged, settle } = setup();
    const ems = motor('ems', 'ems');
    ems.untilStopped = async () => false; // its link is down: no stop reaches it
    gov.attachMotor(ems);
    const a = gov.startSession('win', { muscleGroup: 'shoulders', plannedMotorSeconds: 240 });
    gov.setStep('win', a.sessionId, 0.4);
    run(a.sessionId, 3000);
    gov.devicePaused('Lost contact with the massager.');
    clock.advance(1000);
    await gov.stopAll('user-stop'); // the user switches to the gun
    await settle();
    const gun = motor('gun');
    gun.untilStopped = async () => false;
    gov.attachMotor(gun);
    const b = gov.startSession('win', { muscleGroup: 'neck', plannedMotorSeconds: 240 });
    gov.setStep('win', b.sessionId, 0.6);
    run(b.sessionId, 3000);
    gov.devicePaused('Lost contact with the massager.');
    clock.advance(15_000); // both out of reach, both may run
    await settle();
    gov.deviceReachable('gun'); // the gun is back and its stop confirmed
    await settle();
    expect(charged('neck')).toBeCloseTo(18, 0);
    expect(charged('shoulders')).toBeCloseTo(3, 0); // the pad still counts
    expect(gov.pendingSeconds('neck')).toBe(0);
    expect(gov.pendingSeconds('shoulders')).toBeCloseTo(19, 1); // since its link dropped
    clock.advance(5000);
    gov.deviceReachable('ems');
    await settle();
    expect(charged('shoulders')).toBeCloseTo(3 + 19 + 5, 0);
    expect(charged('neck')).toBeCloseTo(18, 0);
  });
});

describe('the daily budget counts motor time not charged yet (F3)', () => {
  it('a device out of reach shortens the next grant of its group, and ends that session at the budget', async () => {
    const { gov, clock, motor, run, charged, settle, ended, limits } = setup();
    limits.budget = 360;
    const gun = motor('gun');
    gun.untilStopped = async () => false;
    gov.attachMotor(gun);
    const a = gov.startSession('win', { muscleGroup: 'shoulders', plannedMotorSeconds: 300 });
    gov.setStep('win', a.sessionId, 0.6);
    run(a.sessionId, 60_000);
    gov.devicePaused('Lost contact with the massager.');
    await gov.stopAll('user-stop');
    clock.advance(200_000); // the gun may run on for 200 s, not charged yet
    await settle();
    expect(charged('shoulders')).toBeCloseTo(60, 0);
    gov.attachMotor(motor('ems', 'ems'));
    const b = gov.startSession('win', { muscleGroup: 'shoulders', plannedMotorSeconds: 300 });
    expect(b.grantedMotorSeconds).toBe(100); // 360 − 60 charged − 200 counted
    expect(gov.pendingSeconds('shoulders')).toBeCloseTo(200, 1);
    expect(gov.pendingSeconds('neck')).toBe(0);
    gov.setStep('win', b.sessionId, 0.3);
    run(b.sessionId, 60_000);
    // the pad's own time and the gun's count reach the budget together after ~50 s
    expect(ended.at(-1)).toMatchObject({ sessionId: b.sessionId, reason: 'daily-budget' });
    expect(ended.at(-1)!.usedMotorSeconds).toBeGreaterThan(45);
    expect(ended.at(-1)!.usedMotorSeconds).toBeLessThan(52);
    // nothing more is granted while the gun's count goes on
    expect(() => gov.startSession('win', { muscleGroup: 'shoulders', plannedMotorSeconds: 300 })).toThrow(
      expect.objectContaining({ code: 'budget-exhausted' }),
    );
    // another group is not touched by the shoulders' count
    expect(gov.startSession('win', { muscleGroup: 'neck', plannedMotorSeconds: 300 }).grantedMotorSeconds).toBe(300);
  });
});

describe('no session while the link is down (F4)', () => {
  it('refuses a start and a resume not-connected while the port says its link is down; both go once it is back', async () => {
    const { gov, motor, run } = setup();
    const gun = motor('gun');
    let up = true;
    gun.reachable = () => up;
    gov.attachMotor(gun);
    const a = gov.startSession('win', { muscleGroup: 'neck', plannedMotorSeconds: 240 });
    gov.setStep('win', a.sessionId, 0.5);
    run(a.sessionId, 2000);
    up = false;
    gov.devicePaused('Lost contact with the massager.');
    expect(() => gov.resume('win', a.sessionId)).toThrow(expect.objectContaining({ code: 'not-connected' }));
    await gov.end('win', a.sessionId);
    expect(() => gov.startSession('win', { muscleGroup: 'shoulders', plannedMotorSeconds: 240 })).toThrow(
      expect.objectContaining({ code: 'not-connected' }),
    );
    expect(gov.current()).toBeNull();
    up = true;
    expect(gov.startSession('win', { muscleGroup: 'shoulders', plannedMotorSeconds: 240 }).grantedMotorSeconds).toBe(240);
  });
});
