/**
 * The motor time after a stop runs until the device confirms it; when the user starts
 * the motor again before that confirmation, the stop's watch ends there, and so does
 * its charge (found by the benchmark: each quick restart was charged the link's full
 * 10 s wait for a verdict, and its 220 quick sessions spent every area's daily budget).
 * Demo core, simulated Pro whose status answers are garbled, so no stop is confirmed.
 */
import { describe, expect, it } from 'vitest';
import { ALL_NO, startCore, until } from '../helpers/core-harness';

describe('a stop followed by a new run before the device confirmed it', () => {
  it('charges the first session its motor time up to the new run, not a 10 s wait for a verdict', async () => {
    const h = await startCore();
    try {
      await h.ok('screening.set', { answers: ALL_NO });
      await h.ok('settings.set', { doctorNoticeAcknowledged: true });
      const pro = await h.find(/^Pro$/);
      await h.ok('device.connect', { peripheralId: pro });
      const rpm = (): number => Number(h.core.simRadio()!.peripheral(pro)!.state().rpm);
      const first = await h.ok<{ sessionId: string }>('session.start', { muscleGroup: 'neck', plannedMotorSeconds: 60 });
      await h.ok('session.setStep', { sessionId: first.sessionId, intensity: 0.5 });
      await until(() => rpm() > 0, 5000, 'the gun runs');
      await h.ok('sim.fault', { peripheralId: pro, fault: 'garbage-notifications' });
      await h.ok('device.stop');
      await until(() => rpm() === 0, 5000, 'the gun stops');
      const second = await h.ok<{ sessionId: string }>('session.start', { muscleGroup: 'shoulders', plannedMotorSeconds: 60 });
      await h.ok('session.setStep', { sessionId: second.sessionId, intensity: 0.5 });
      await until(() => rpm() > 0, 5000, 'the gun runs again');
      // past the 10 s a watched stop may wait for its verdict: every charge is in
      await new Promise((r) => setTimeout(r, 10_500));
      const today = await h.ok<{ muscleGroup: string; usedSeconds: number }[]>('usage.today');
      const neck = today.find((b) => b.muscleGroup === 'neck')!.usedSeconds;
      expect(neck, `neck charged ${neck} s`).toBeGreaterThan(0);
      expect(neck, `neck charged ${neck} s`).toBeLessThan(3);
      await h.ok('device.stop');
    } finally {
      await h.core.shutdown();
    }
  }, 40_000);
});
