import { describe, expect, it } from 'vitest';
import { GovernorRefusal, SafetyGovernor } from '../../../electron/safety/governor';
import { screeningBlock } from '../../../electron/safety/rules';
import type { SessionEndedEvent } from '../../../electron/ipc/contract';
import { FakeClock } from '../helpers/fake-clock';
import { MemoryLedger, RecordingMotor, TestLimits } from '../helpers/governor-fakes';

function setup(opts: { kind?: 'percussive' | 'ems'; steps?: number; timeScale?: number; wallStart?: number } = {}) {
  const clock = new FakeClock(opts.wallStart);
  const ledger = new MemoryLedger();
  const limits = new TestLimits();
  const motor = new RecordingMotor(clock, opts.kind ?? 'percussive', opts.steps ?? 3616);
  const gov = new SafetyGovernor(ledger, limits, clock, opts.timeScale ?? 1);
  gov.attachMotor(motor);
  const ended: SessionEndedEvent[] = [];
  gov.on('ended', (e) => ended.push(e));
  /** Runs `ms` of real time with a heartbeat every second. */
  const run = (sessionId: string, ms: number) => {
    for (let t = 0; t < ms; t += 1000) {
      clock.advance(Math.min(1000, ms - t));
      try {
        gov.heartbeat('win', sessionId);
      } catch {
        /* session over */
      }
    }
  };
  return { clock, ledger, limits, motor, gov, ended, run };
}

describe('intensity ceiling', () => {
  it('never commands more than floor(0.6 × 3616) = 2169 rpm on a Theragun Pro, and says it clamped', () => {
    const { gov, motor, run } = setup();
    const clamps: number[] = [];
    gov.on('clamped', (e) => clamps.push(e.requestedStep, e.commandedStep, e.maxStep));
    const { sessionId } = gov.startSession('win', { muscleGroup: 'upper-back', plannedMotorSeconds: 240 });
    gov.setStep('win', sessionId, 1);
    run(sessionId, 10_000);
    expect(Math.max(...motor.steps_())).toBe(2169);
    expect(motor.lastStep()).toBe(2169);
    expect(clamps).toEqual([3616, 2169, 2169]);
  });

  it('uses the user ceiling: 25% of 19 EMS steps is step 4, never 5', () => {
    const { gov, motor, limits, run } = setup({ kind: 'ems', steps: 19 });
    limits.ceilingValue = 0.25;
    const { sessionId } = gov.startSession('win', { muscleGroup: 'lower-back', plannedMotorSeconds: 120 });
    gov.setStep('win', sessionId, 0.9);
    run(sessionId, 20_000);
    expect(Math.max(...motor.steps_())).toBe(4);
  });

  it('warns when the device reports a level above the ceiling', () => {
    const { gov } = setup();
    const warnings: string[] = [];
    gov.on('warning', (w) => warnings.push(w.code));
    gov.reportDeviceLevel(2000, true);
    gov.reportDeviceLevel(3616, false); // a level not known to be the intensity: no warning
    gov.reportDeviceLevel(3000, true);
    expect(warnings).toEqual(['above-ceiling']);
  });

  it('ends the session when the first report that the device runs after a start shows a level above the ceiling; later ones only warn', async () => {
    const { gov, motor, ended, run } = setup();
    const warnings: string[] = [];
    gov.on('warning', (w) => warnings.push(w.code));
    const a = gov.startSession('win', { muscleGroup: 'upper-back', plannedMotorSeconds: 240 });
    gov.setStep('win', a.sessionId, 0.3);
    run(a.sessionId, 2000);
    gov.reportDeviceLevel(3000, true, false); // not running yet: a warning, the check waits
    expect(ended).toEqual([]);
    gov.reportDeviceLevel(1000, true, true); // the first running report is within 2169 rpm
    gov.reportDeviceLevel(3000, true, true); // a later one above it is the gun's own buttons
    expect(ended).toEqual([]);
    expect(warnings).toEqual(['above-ceiling', 'above-ceiling']);
    await gov.stopAll('user-stop');
    const b = gov.startSession('win', { muscleGroup: 'upper-back', plannedMotorSeconds: 240 });
    gov.reportDeviceLevel(3000, true, true); // before the motor is on: no first-run check yet
    expect(ended.map((e) => e.reason)).toEqual(['user-stop']);
    gov.setStep('win', b.sessionId, 0.3);
    run(b.sessionId, 1000);
    gov.reportDeviceLevel(3000, true, true);
    await Promise.resolve();
    expect(ended.map((e) => e.reason)).toEqual(['user-stop', 'above-ceiling']);
    expect(motor.lastStep()).toBe(0);
  });

  it('a dropped link counts the motor time until the device is reachable again: it may run on at its last speed', () => {
    const { gov, ledger, run, clock } = setup();
    const { sessionId } = gov.startSession('win', { muscleGroup: 'upper-back', plannedMotorSeconds: 240 });
    gov.setStep('win', sessionId, 0.3);
    run(sessionId, 2000);
    const before = ledger.usedSeconds('upper-back', clock.wallNow());
    gov.devicePaused('Lost contact with the massager.');
    clock.advance(6000); // six seconds with the link down: nothing can stop the gun
    expect(ledger.usedSeconds('upper-back', clock.wallNow())).toBeCloseTo(before, 3);
    gov.deviceReachable(); // the reconnect's stop has its verdict
    return Promise.resolve().then(async () => {
      await new Promise((r) => setImmediate(r));
      expect(ledger.usedSeconds('upper-back', clock.wallNow())).toBeCloseTo(before + 6, 3);
      expect(gov.current()?.usedMotorSeconds).toBeCloseTo(before + 6, 0);
      // settled once: a second call charges nothing more
      clock.advance(5000);
      gov.deviceReachable();
      await new Promise((r) => setImmediate(r));
      expect(ledger.usedSeconds('upper-back', clock.wallNow())).toBeCloseTo(before + 6, 3);
    });
  });

  it('a pause whose stop the dropping link swallowed counts the motor time until the device is settled (attack F1)', async () => {
    const { gov, ledger, run, clock, motor } = setup();
    motor.deviceId = 'gun';
    const { sessionId } = gov.startSession('win', { muscleGroup: 'upper-back', plannedMotorSeconds: 240 });
    gov.setStep('win', sessionId, 0.3);
    run(sessionId, 4000);
    // the pause's stop is written into a link that drops: no verdict, the gun runs on
    motor.untilStopped = async () => false;
    gov.pause('win', sessionId);
    const atPause = ledger.usedSeconds('upper-back', clock.wallNow());
    await new Promise((r) => setImmediate(r));
    gov.devicePaused('Lost contact with the massager.');
    clock.advance(8000);
    gov.deviceReachable('another-device'); // settling another peripheral settles nothing
    gov.attachMotor(new RecordingMotor(clock)); // nor does another device taking its place
    await new Promise((r) => setImmediate(r));
    expect(ledger.usedSeconds('upper-back', clock.wallNow())).toBeCloseTo(atPause, 3);
    gov.deviceReachable('gun'); // a stop reached it and has its verdict
    await new Promise((r) => setImmediate(r));
    expect(ledger.usedSeconds('upper-back', clock.wallNow())).toBeCloseTo(atPause + 8, 1);
  });

  it('an ended session whose stop the dropping link swallowed is counted on as well (attack F1, end)', async () => {
    const { gov, ledger, run, clock, motor } = setup();
    const { sessionId } = gov.startSession('win', { muscleGroup: 'upper-back', plannedMotorSeconds: 240 });
    gov.setStep('win', sessionId, 0.3);
    run(sessionId, 3000);
    motor.untilStopped = async () => false;
    await gov.stopAll('user-stop');
    const atEnd = ledger.usedSeconds('upper-back', clock.wallNow());
    gov.devicePaused('Lost contact with the massager.');
    clock.advance(5000);
    gov.deviceReachable();
    await new Promise((r) => setImmediate(r));
    expect(ledger.usedSeconds('upper-back', clock.wallNow())).toBeCloseTo(atEnd + 5, 1);
  });

  it('ending a session paused by a dropped link is the user\'s stop, not "Routine finished." (attack F9)', async () => {
    const { gov, run } = setup();
    const a = gov.startSession('win', { muscleGroup: 'upper-back', plannedMotorSeconds: 240 });
    gov.setStep('win', a.sessionId, 0.3);
    run(a.sessionId, 2000);
    gov.devicePaused('Lost contact with the massager.');
    expect(await gov.end('win', a.sessionId)).toMatchObject({ reason: 'user-stop', message: 'Stopped.' });
    const b = gov.startSession('win', { muscleGroup: 'upper-back', plannedMotorSeconds: 240 });
    gov.setStep('win', b.sessionId, 0.3);
    run(b.sessionId, 2000);
    expect(await gov.end('win', b.sessionId)).toMatchObject({ reason: 'completed', message: 'Routine finished.' });
  });

  it('a stop the device confirmed before the link dropped leaves nothing to count', async () => {
    const { gov, ledger, run, clock, motor } = setup();
    const { sessionId } = gov.startSession('win', { muscleGroup: 'upper-back', plannedMotorSeconds: 240 });
    gov.setStep('win', sessionId, 0.3);
    run(sessionId, 3000);
    motor.untilStopped = async () => true;
    gov.pause('win', sessionId);
    await new Promise((r) => setImmediate(r));
    const atPause = ledger.usedSeconds('upper-back', clock.wallNow());
    gov.devicePaused('Lost contact with the massager.');
    clock.advance(5000);
    gov.deviceReachable();
    await new Promise((r) => setImmediate(r));
    expect(ledger.usedSeconds('upper-back', clock.wallNow())).toBeCloseTo(atPause, 3);
  });

  it('a dropped link while the motor was off counts nothing', async () => {
    const { gov, ledger, clock } = setup();
    const { sessionId } = gov.startSession('win', { muscleGroup: 'upper-back', plannedMotorSeconds: 240 });
    gov.pause('win', sessionId);
    gov.devicePaused('Lost contact with the massager.');
    clock.advance(6000);
    gov.deviceReachable();
    await new Promise((r) => setImmediate(r));
    expect(ledger.usedSeconds('upper-back', clock.wallNow())).toBe(0);
  });

  it('refuses a start when the ceiling is below the device minimum running step', () => {
    const clock = new FakeClock();
    const limits = new TestLimits();
    limits.ceilingValue = 0.1;
    const gov = new SafetyGovernor(new MemoryLedger(), limits, clock);
    gov.attachMotor(new RecordingMotor(clock, 'chair', 6, 2, 'level'));
    expect(() => gov.startSession('w', { muscleGroup: 'neck', plannedMotorSeconds: 200 })).toThrow(/cannot run as gently/);
  });
});

describe('ramp', () => {
  it('rises at most 0.2 of full range per second; decreases are immediate', () => {
    const { gov, motor, clock, run } = setup();
    const { sessionId } = gov.startSession('win', { muscleGroup: 'upper-back', plannedMotorSeconds: 240 });
    gov.setStep('win', sessionId, 0.5);
    run(sessionId, 5000);
    const writes = motor.log.filter((r) => r.type === 'intensity');
    for (let i = 1; i < writes.length; i++) {
      const rise = writes[i]!.value! - writes[0]!.value!;
      const seconds = (writes[i]!.t - writes[0]!.t) / 1000;
      expect(rise).toBeLessThanOrEqual(0.2 * seconds + 0.2 * 0.05 + 1 / 3616);
    }
    // reached the target (0.5 → step 1808) after 2.5 s or more
    expect(motor.lastStep()).toBe(1808);
    const reached = writes.find((r) => Math.round(r.value! * 3616) === 1808)!;
    expect(reached.t).toBeGreaterThanOrEqual(2500);
    const before = motor.log.length;
    gov.setStep('win', sessionId, 0.1);
    expect(motor.log.length).toBe(before + 1); // written at once, no tick needed
    expect(motor.lastStep()).toBe(362);
    expect(clock.now()).toBe(5000);
  });

  it('EMS rises at most 0.1 per second', () => {
    const { gov, motor, run } = setup({ kind: 'ems', steps: 19 });
    const { sessionId } = gov.startSession('win', { muscleGroup: 'lower-back', plannedMotorSeconds: 120 });
    gov.setStep('win', sessionId, 0.4);
    run(sessionId, 2000);
    // after 2 s: at most 0.2 of range → step ceil(0.2 × 19) = 4
    expect(motor.lastStep()).toBeLessThanOrEqual(4);
    run(sessionId, 3000);
    expect(motor.lastStep()).toBe(Math.ceil(0.4 * 19 - 1e-9));
  });
});

describe('session cap and daily budget', () => {
  it('grants at most the 5-minute cap and stops at it', () => {
    const { gov, motor, ledger, ended, run, clock } = setup();
    const r = gov.startSession('win', { muscleGroup: 'shoulders', plannedMotorSeconds: 400 });
    expect(r.grantedMotorSeconds).toBe(300);
    expect(r.shortened).toBe(true);
    gov.setStep('win', r.sessionId, 0.3);
    run(r.sessionId, 310_000);
    expect(ended.map((e) => e.reason)).toEqual(['session-cap']);
    expect(motor.lastStep()).toBe(0);
    expect(ledger.usedSeconds('shoulders', clock.wallNow())).toBeLessThanOrEqual(300 + 1e-6); // float error of epoch-ms sums only
    expect(ledger.usedSeconds('shoulders', clock.wallNow())).toBeGreaterThan(299);
  });

  it('shortens a session to what is left of the daily budget, and ends it there', () => {
    const { gov, ledger, ended, run, clock } = setup();
    ledger.seed('neck', clock.wallNow(), 200);
    const r = gov.startSession('win', { muscleGroup: 'neck', plannedMotorSeconds: 240 });
    expect(r).toMatchObject({ grantedMotorSeconds: 160, shortened: true });
    gov.setStep('win', r.sessionId, 0.3);
    run(r.sessionId, 200_000);
    expect(ended[0]!.reason).toBe('daily-budget');
    expect(ledger.usedSeconds('neck', clock.wallNow())).toBeLessThanOrEqual(360 + 1e-6);
  });

  it('refuses under 60 seconds left, naming when the budget resets', () => {
    const { gov, ledger, clock } = setup();
    ledger.seed('neck', clock.wallNow(), 310);
    let err: unknown;
    try {
      gov.startSession('win', { muscleGroup: 'neck', plannedMotorSeconds: 240 });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(GovernorRefusal);
    expect((err as GovernorRefusal).code).toBe('budget-exhausted');
    // 10:00 local: the budget resets in 14 h
    expect((err as GovernorRefusal).message).toMatch(/resets at midnight, in 14 h 0 min/);
    // another group is unaffected
    expect(gov.startSession('win', { muscleGroup: 'shoulders', plannedMotorSeconds: 240 }).grantedMotorSeconds).toBe(240);
  });

  it('a lowered budget is honoured', () => {
    const { gov, limits } = setup();
    limits.budget = 90;
    expect(gov.startSession('win', { muscleGroup: 'neck', plannedMotorSeconds: 240 }).grantedMotorSeconds).toBe(90);
  });

  it('a session spanning midnight charges each part to its own day', () => {
    const start = new Date(2026, 10, 29, 23, 58, 0).getTime();
    const { gov, ledger, run, clock } = setup({ wallStart: start });
    const r = gov.startSession('win', { muscleGroup: 'upper-back', plannedMotorSeconds: 240 });
    gov.setStep('win', r.sessionId, 0.3);
    run(r.sessionId, 250_000);
    const before = ledger.usedSeconds('upper-back', start);
    const after = ledger.usedSeconds('upper-back', clock.wallNow());
    expect(before + after).toBeCloseTo(240, 0);
    expect(before).toBeCloseTo(120, 0);
    expect(after).toBeCloseTo(120, 0);
  });

  it('does not count paused time', () => {
    const { gov, ledger, run, clock } = setup();
    const r = gov.startSession('win', { muscleGroup: 'rhomboids', plannedMotorSeconds: 240 });
    gov.setStep('win', r.sessionId, 0.3);
    run(r.sessionId, 10_000);
    gov.pause('win', r.sessionId);
    run(r.sessionId, 60_000);
    const used = ledger.usedSeconds('rhomboids', clock.wallNow());
    expect(used).toBeGreaterThan(9);
    expect(used).toBeLessThanOrEqual(10);
  });

  it('demo time scale: a 240 s routine uses its 240 s of motor time in 4 s of real time', () => {
    const { gov, ended, run, ledger, clock } = setup({ timeScale: 60 });
    const r = gov.startSession('win', { muscleGroup: 'upper-back', plannedMotorSeconds: 240 });
    gov.setStep('win', r.sessionId, 0.3);
    run(r.sessionId, 4500);
    expect(ended[0]?.reason).toBe('session-cap');
    expect(ledger.usedSeconds('upper-back', clock.wallNow())).toBeCloseTo(240, 0);
  });
});

describe('watchdog and stops', () => {
  it('stops the motor when heartbeats stop for 3 seconds', () => {
    const { gov, motor, clock, ended } = setup();
    const r = gov.startSession('win', { muscleGroup: 'upper-back', plannedMotorSeconds: 240 });
    gov.setStep('win', r.sessionId, 0.3);
    clock.advance(1000);
    gov.heartbeat('win', r.sessionId);
    clock.advance(2900);
    expect(ended).toEqual([]);
    clock.advance(200);
    expect(ended.map((e) => e.reason)).toEqual(['watchdog']);
    const stop = motor.log.filter((x) => x.type === 'stop').at(-1)!;
    expect(stop.t - 1000).toBeLessThanOrEqual(3100);
    expect(motor.lastStep()).toBe(0);
  });

  it('only the owner may drive the session; a lost owner stops it', async () => {
    const { gov, motor } = setup();
    const r = gov.startSession('win', { muscleGroup: 'upper-back', plannedMotorSeconds: 240 });
    expect(() => gov.setStep('other', r.sessionId, 0.5)).toThrow(/Another window/);
    await gov.connectionLost('other', 'connection-lost');
    expect(gov.current()?.state).toBe('running');
    await gov.connectionLost('win', 'connection-lost');
    expect(gov.current()).toBeNull();
    expect(motor.log.at(-1)!.type).toBe('stop');
  });

  it('after a stop nothing restarts the motor without a new start', async () => {
    const { gov, motor, run } = setup();
    const r = gov.startSession('win', { muscleGroup: 'upper-back', plannedMotorSeconds: 240 });
    gov.setStep('win', r.sessionId, 0.5);
    run(r.sessionId, 3000);
    await gov.stopAll('user-stop');
    const n = motor.log.length;
    expect(() => gov.setStep('win', r.sessionId, 0.5)).toThrow(GovernorRefusal);
    expect(() => gov.resume('win', r.sessionId)).toThrow(GovernorRefusal);
    run(r.sessionId, 5000);
    expect(motor.log.length).toBe(n);
    expect(motor.lastStep()).toBe(0);
  });

  it('"Stop — it hurts" stops, records pain, and the next session proposes a lower intensity', async () => {
    const { gov, motor, ledger } = setup();
    const r = gov.startSession('win', { muscleGroup: 'lower-back', plannedMotorSeconds: 240 });
    gov.setStep('win', r.sessionId, 0.4);
    const ended = await gov.hurt('win', r.sessionId);
    expect(ended.reason).toBe('hurt');
    expect(motor.log.at(-1)!.type).toBe('stop');
    expect(ledger.pain).toEqual([{ sessionId: r.sessionId, group: 'lower-back' }]);
    expect(gov.startSession('win', { muscleGroup: 'lower-back', plannedMotorSeconds: 240 }).intensityFactor).toBe(0.7);
  });

  it('a dropped link pauses the session; resuming ramps again from zero', () => {
    const { gov, motor, run } = setup();
    const r = gov.startSession('win', { muscleGroup: 'upper-back', plannedMotorSeconds: 240 });
    gov.setStep('win', r.sessionId, 0.5);
    run(r.sessionId, 5000);
    gov.devicePaused('The massager disconnected and may still be running.');
    expect(gov.current()).toMatchObject({ state: 'paused', pausedReason: expect.stringMatching(/may still be running/) });
    const n = motor.log.length;
    run(r.sessionId, 3000);
    expect(motor.log.length).toBe(n);
    gov.resume('win', r.sessionId);
    run(r.sessionId, 1000);
    const after = motor.log.slice(n).filter((x) => x.type === 'intensity');
    expect(Math.round(after[0]!.value! * 3616)).toBeLessThan(800);
  });

  it('sets the device-side timer to the granted time', () => {
    const { gov, motor } = setup();
    gov.startSession('win', { muscleGroup: 'upper-back', plannedMotorSeconds: 240 });
    expect(motor.log.find((x) => x.type === 'timer')?.value).toBe(240);
  });
});

describe('screening', () => {
  it('any yes blocks with the doctor message; unanswered blocks; all no + notice allows', () => {
    expect(screeningBlock({ pregnant: false, 'heart-condition': true, 'high-blood-pressure': false }, true, 'percussive')?.message).toMatch(
      /consult a doctor/,
    );
    expect(screeningBlock({ pregnant: false }, true, 'percussive')?.message).toMatch(/Answer the safety questions/);
    expect(screeningBlock({ pregnant: false, 'heart-condition': false, 'high-blood-pressure': false }, false, 'percussive')?.message).toMatch(
      /acknowledge/,
    );
    const base = { pregnant: false, 'heart-condition': false, 'high-blood-pressure': false };
    expect(screeningBlock(base, true, 'percussive')).toBeNull();
    // EMS adds its own questions
    expect(screeningBlock(base, true, 'ems')).not.toBeNull();
    expect(screeningBlock({ ...base, implant: false, epilepsy: false }, true, 'ems')).toBeNull();
    expect(screeningBlock({ ...base, implant: true, epilepsy: false }, true, 'ems')?.message).toMatch(/consult a doctor/);
  });

  it('a blocked start is refused with the block', () => {
    const { gov, limits } = setup();
    limits.block = { code: 'blocked-by-screening', message: 'consult a doctor' };
    expect(() => gov.startSession('w', { muscleGroup: 'neck', plannedMotorSeconds: 200 })).toThrow(/consult a doctor/);
  });
});

describe('modes and techniques only with the motor running', () => {
  it('a motion with step 0 sends nothing; it goes out just before the first step above 0; a changed motion while running goes at once', () => {
    const { motor, gov, run } = setup({ steps: 6 });
    const { sessionId } = gov.startSession('win', { muscleGroup: 'upper-back', plannedMotorSeconds: 240 });
    gov.setStep('win', sessionId, 0, 'circular');
    run(sessionId, 2000);
    expect(motor.log.filter((r) => r.type === 'motion' || r.type === 'intensity')).toEqual([]);
    gov.setStep('win', sessionId, 0.5, 'circular');
    run(sessionId, 1000); // the ramp's first update sets its reference; the rise follows
    const firstOn = motor.log.findIndex((r) => r.type === 'intensity');
    expect(firstOn).toBeGreaterThan(0);
    expect(motor.log[firstOn - 1]).toMatchObject({ type: 'motion', motion: 'circular' });
    gov.setStep('win', sessionId, 0.5, 'back-and-forth');
    expect(motor.log.filter((r) => r.type === 'motion').map((r) => r.motion)).toEqual(['circular', 'back-and-forth']);
    // back to 0 with another motion: a stop, and the motion is not sent
    gov.setStep('win', sessionId, 0, 'long-strokes');
    run(sessionId, 1000);
    expect(motor.log.filter((r) => r.type === 'motion').map((r) => r.motion)).toEqual(['circular', 'back-and-forth']);
    expect(motor.lastStep()).toBe(0);
  });

  it('paused, nothing is sent; a resume sends the motion again with its first step above 0', () => {
    const { motor, gov, run } = setup({ steps: 6 });
    const { sessionId } = gov.startSession('win', { muscleGroup: 'upper-back', plannedMotorSeconds: 240 });
    gov.setStep('win', sessionId, 0.5, 'circular');
    gov.pause('win', sessionId);
    gov.setStep('win', sessionId, 0.5, 'back-and-forth');
    const before = motor.log.length;
    run(sessionId, 1000);
    expect(motor.log.slice(before).filter((r) => r.type === 'motion' || r.type === 'intensity')).toEqual([]);
    gov.resume('win', sessionId);
    run(sessionId, 1000);
    const after = motor.log.slice(before).filter((r) => r.type === 'motion' || r.type === 'intensity');
    expect(after[0]).toMatchObject({ type: 'motion', motion: 'back-and-forth' });
    expect(after[1]).toMatchObject({ type: 'intensity' });
  });
});

describe('motor time runs until the device confirms the stop', () => {
  /** A motor whose stops are confirmed 2 s after they are written. */
  function slowConfirm() {
    const t = setup({ steps: 6 });
    t.motor.untilStopped = () => new Promise<void>((resolve) => t.clock.setTimeout(resolve, 2000));
    return t;
  }
  const flush = () => new Promise((r) => setTimeout(r, 0));

  it('an ended session is charged up to the confirmation, not the stop command', async () => {
    const { clock, ledger, gov, run } = slowConfirm();
    const { sessionId } = gov.startSession('win', { muscleGroup: 'upper-back', plannedMotorSeconds: 240 });
    gov.setStep('win', sessionId, 0.5);
    run(sessionId, 10_000);
    const ended = await gov.end('win', sessionId);
    const atStop = ledger.usedSeconds('upper-back', clock.wallNow());
    expect(atStop).toBeCloseTo(ended.usedMotorSeconds, 1);
    clock.advance(2000);
    await flush();
    expect(ledger.usedSeconds('upper-back', clock.wallNow())).toBeCloseTo(atStop + 2, 1);
  });

  it('a pause: the session clock stops when the device confirms', async () => {
    const { clock, gov, run } = slowConfirm();
    const { sessionId } = gov.startSession('win', { muscleGroup: 'upper-back', plannedMotorSeconds: 240 });
    gov.setStep('win', sessionId, 0.5);
    run(sessionId, 5000);
    gov.pause('win', sessionId);
    const atPause = gov.current()!.usedMotorSeconds;
    await flush(); // the stop is on the wire; its confirmation is 2 s away
    clock.advance(2000);
    await flush();
    expect(gov.current()!.usedMotorSeconds).toBeCloseTo(atPause + 2, 1);
    // A motor that was not running is charged nothing for its stop.
    gov.resume('win', sessionId);
    gov.pause('win', sessionId);
    const again = gov.current()!.usedMotorSeconds;
    await flush();
    clock.advance(2000);
    await flush();
    expect(gov.current()!.usedMotorSeconds).toBeCloseTo(again, 3);
  });
});

describe('a raised ceiling applies from the next session, a lowered one at once', () => {
  it('raised mid-session (from any window: the governor reads the setting), the running gun stays at the old ceiling', async () => {
    const { motor, gov, run, limits } = setup();
    const first = gov.startSession('win', { muscleGroup: 'upper-back', plannedMotorSeconds: 240 });
    gov.setStep('win', first.sessionId, 1);
    run(first.sessionId, 8000);
    expect(motor.lastStep()).toBe(2169);
    limits.ceilingValue = 1;
    gov.setStep('win', first.sessionId, 1);
    run(first.sessionId, 8000);
    expect(Math.max(...motor.steps_())).toBe(2169);
    expect(gov.maxStep()).toBe(2169);
    limits.ceilingValue = 0.3;
    gov.setStep('win', first.sessionId, 1);
    expect(motor.lastStep()).toBe(Math.floor(0.3 * 3616));
    await gov.end('win', first.sessionId);
    limits.ceilingValue = 1;
    const second = gov.startSession('win', { muscleGroup: 'shoulders', plannedMotorSeconds: 240 });
    gov.setStep('win', second.sessionId, 1);
    run(second.sessionId, 10_000);
    expect(motor.lastStep()).toBe(3616);
  });
});
