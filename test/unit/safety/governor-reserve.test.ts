/**
 * Issue 13, 3a and 3d in the governor: a ledger that refuses new sessions (a full usage
 * log) refuses the start; and with a ledger that takes reservations, the motor starts
 * only once the log on disk covers its next 3 s, the reservation is renewed every
 * second, the motor stops when the disk falls behind, and a clean stop releases it
 * after the stop's own motor time is charged.
 */
import { describe, expect, it } from 'vitest';
import { GovernorRefusal, SafetyGovernor } from '../../../electron/safety/governor';
import type { ErrorCode, MuscleGroup } from '../../../electron/ipc/contract';
import { FakeClock } from '../helpers/fake-clock';
import { MemoryLedger, RecordingMotor, TestLimits } from '../helpers/governor-fakes';

/** A memory ledger whose reservations the test settles by hand. */
class ReservingLedger extends MemoryLedger {
  requests: { sessionId: string; aheadSeconds: number; settle: (ok: boolean) => void }[] = [];
  released: string[] = [];
  /** What was charged when each release came, to check the order. */
  chargedAtRelease: number[] = [];
  refusal: { code: ErrorCode; message: string } | null = null;
  reserve(sessionId: string, _group: MuscleGroup, aheadSeconds: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.requests.push({ sessionId, aheadSeconds, settle: (ok) => (ok ? resolve() : reject(new Error('ENOSPC'))) });
    });
  }
  release(sessionId: string): void {
    this.released.push(sessionId);
    this.chargedAtRelease.push([...this.used.values()].reduce((a, b) => a + b, 0));
  }
  startRefusal(): { code: ErrorCode; message: string } | null {
    return this.refusal;
  }
}

const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

function setup() {
  const clock = new FakeClock();
  const ledger = new ReservingLedger();
  const motor = new RecordingMotor(clock);
  const gov = new SafetyGovernor(ledger, new TestLimits(), clock);
  gov.attachMotor(motor);
  const states: { state: string; pausedReason?: string }[] = [];
  gov.on('state', (e) => states.push({ state: e.state, ...(e.pausedReason ? { pausedReason: e.pausedReason } : {}) }));
  const intensities = () => motor.log.filter((r) => r.type === 'intensity');
  /** Advances in 100 ms steps with a heartbeat each second, letting promise callbacks run. */
  const run = async (id: string, ms: number) => {
    for (let t = 0; t < ms; t += 100) {
      clock.advance(100);
      if (t % 1000 === 0) {
        try {
          gov.heartbeat('win', id);
        } catch {
          /* over */
        }
      }
      await settle();
    }
  };
  return { clock, ledger, motor, gov, states, intensities, run };
}

describe('governor and the usage log (issue 13, 3)', () => {
  it('a full usage log refuses the start with its own code and message', () => {
    const { gov, ledger } = setup();
    ledger.refusal = { code: 'usage-log-full', message: 'The usage log is full.' };
    expect(() => gov.startSession('win', { muscleGroup: 'neck', plannedMotorSeconds: 120 })).toThrow(GovernorRefusal);
    try {
      gov.startSession('win', { muscleGroup: 'neck', plannedMotorSeconds: 120 });
    } catch (e) {
      expect((e as GovernorRefusal).code).toBe('usage-log-full');
    }
    ledger.refusal = null;
    expect(gov.startSession('win', { muscleGroup: 'neck', plannedMotorSeconds: 120 }).grantedMotorSeconds).toBe(120);
  });

  it('the motor starts only once the reservation of the next 3 s is on disk, and it is renewed every second', async () => {
    const { gov, ledger, intensities, run, clock } = setup();
    const { sessionId } = gov.startSession('win', { muscleGroup: 'upper-back', plannedMotorSeconds: 120 });
    gov.setStep('win', sessionId, 0.5);
    await run(sessionId, 500);
    expect(intensities()).toEqual([]);
    expect(ledger.requests.map((r) => [r.sessionId, r.aheadSeconds])).toEqual([[sessionId, 3]]);
    expect(ledger.usedSeconds('upper-back', clock.wallNow())).toBe(0);

    ledger.requests[0]!.settle(true);
    await settle();
    await run(sessionId, 100); // the first ramp step after the start
    expect(intensities().length).toBeGreaterThan(0);
    // the ramp starts from zero when the motor really starts (no jump for the wait)
    expect(intensities()[0]!.value!).toBeLessThanOrEqual(0.2 * 0.1 + 1 / 3616);

    for (let i = 0; i < 5; i += 1) {
      const before = ledger.requests.length;
      await run(sessionId, 1000);
      expect(ledger.requests.length).toBe(before + 1);
      ledger.requests.at(-1)!.settle(true);
    }
    expect(gov.current()?.state).toBe('running');
  });

  it('a reservation that cannot be written keeps the motor off and pauses the session with the reason', async () => {
    const { gov, ledger, intensities, run, states } = setup();
    const { sessionId } = gov.startSession('win', { muscleGroup: 'neck', plannedMotorSeconds: 120 });
    gov.setStep('win', sessionId, 0.4);
    await run(sessionId, 200);
    ledger.requests[0]!.settle(false);
    await run(sessionId, 2000);
    expect(intensities()).toEqual([]);
    expect(states.at(-1)).toMatchObject({ state: 'paused', pausedReason: expect.stringMatching(/could not save its usage log/) });
  });

  it('when the disk falls behind the motor, the motor stops', async () => {
    const { gov, ledger, motor, run, states, clock } = setup();
    const { sessionId } = gov.startSession('win', { muscleGroup: 'neck', plannedMotorSeconds: 120 });
    gov.setStep('win', sessionId, 0.4);
    await run(sessionId, 100);
    ledger.requests[0]!.settle(true); // covers 0 + 3 s; the renewals never land
    await run(sessionId, 4000);
    expect(motor.lastStep()).toBe(0);
    expect(states.at(-1)).toMatchObject({ state: 'paused', pausedReason: expect.stringMatching(/fell behind/) });
    // it stopped before the motor had run the 3 s on disk
    expect(ledger.usedSeconds('neck', clock.wallNow())).toBeGreaterThan(2);
    expect(ledger.usedSeconds('neck', clock.wallNow())).toBeLessThanOrEqual(3);
  });

  it('a clean stop releases the reservation, after the stop’s own motor time is charged', async () => {
    const { gov, ledger, motor, run, clock } = setup();
    let confirm!: () => void;
    motor.untilStopped = () => new Promise<void>((r) => (confirm = r));
    const { sessionId } = gov.startSession('win', { muscleGroup: 'shoulders', plannedMotorSeconds: 120 });
    gov.setStep('win', sessionId, 0.4);
    await run(sessionId, 100);
    ledger.requests[0]!.settle(true);
    await run(sessionId, 2000);
    for (const r of ledger.requests.slice(1)) r.settle(true);
    const ending = gov.end('win', sessionId);
    await settle();
    const atEnd = ledger.usedSeconds('shoulders', clock.wallNow());
    // waiting for the device to confirm the stop: still reserved, renewed meanwhile
    const requestsBefore = ledger.requests.length;
    clock.advance(1500);
    await settle();
    expect(ledger.released).toEqual([]);
    expect(ledger.requests.length).toBeGreaterThan(requestsBefore);
    expect(ledger.requests.at(-1)!.aheadSeconds).toBeGreaterThan(3);
    confirm();
    await ending;
    await settle();
    expect(ledger.released).toEqual([sessionId]);
    expect(ledger.chargedAtRelease[0]).toBeCloseTo(atEnd + 1.5, 1);
    await gov.idle();
  });
});
