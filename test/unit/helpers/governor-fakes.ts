/**
 * Test doubles for the safety governor: a motor port that records what reaches it
 * and an in-memory usage ledger that splits motor time at local midnight.
 */
import type { DeviceKind, Motion } from '../../../protocols/types';
import type { ErrorCode, MuscleGroup, SessionEndReason } from '../../../electron/ipc/contract';
import type { LimitsSource, MotorPort, UsageLedger } from '../../../electron/safety/governor';
import type { FakeClock } from './fake-clock';

export interface MotorRecord {
  t: number;
  type: 'intensity' | 'stop' | 'motion' | 'timer';
  value?: number;
  motion?: Motion;
}

/** A motor port that logs every call with the clock's time. */
export class RecordingMotor implements MotorPort {
  log: MotorRecord[] = [];
  constructor(
    private readonly clock: FakeClock,
    readonly kind: DeviceKind = 'percussive',
    readonly steps = 3616,
    readonly minRunningStep = 1,
    readonly stepUnit = 'rpm',
  ) {}
  writeIntensity(value: number): void {
    this.log.push({ t: this.clock.now(), type: 'intensity', value });
  }
  writeMotion(motion: Motion): void {
    this.log.push({ t: this.clock.now(), type: 'motion', motion });
  }
  writeTimer(seconds: number): void {
    this.log.push({ t: this.clock.now(), type: 'timer', value: seconds });
  }
  async stop(): Promise<void> {
    this.log.push({ t: this.clock.now(), type: 'stop' });
  }
  /**
   * Set by a test to delay the stops' confirmation (resolving `false`: the link dropped
   * before the verdict; `'unconfirmed'`: the device did not confirm it); absent, a stop is
   * over when written.
   */
  untilStopped?: () => Promise<boolean | 'unconfirmed' | void>;
  /** Set by a test to say the link is down (false); absent, writes always reach the device. */
  reachable?: () => boolean;
  /** The peripheral this port drives (settling a lost link names it). */
  deviceId?: string;
  /** Steps written, with 0 for stops, in order. */
  steps_(): number[] {
    return this.log
      .filter((r) => r.type === 'intensity' || r.type === 'stop')
      .map((r) => (r.type === 'stop' ? 0 : Math.round((r.value ?? 0) * this.steps)));
  }
  lastStep(): number {
    const s = this.steps_();
    return s.length ? s[s.length - 1]! : 0;
  }
}

function dayKey(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${d.getMonth() + 1}-${d.getDate()}`;
}

function nextMidnight(ms: number): number {
  const d = new Date(ms);
  return new Date(d.getFullYear(), d.getMonth(), d.getDate() + 1).getTime();
}

/** An in-memory ledger: seconds per (group, local day). */
export class MemoryLedger implements UsageLedger {
  used = new Map<string, number>();
  pain: { sessionId: string; group: MuscleGroup }[] = [];
  ended: { sessionId: string; reason: SessionEndReason }[] = [];
  private sessions = new Map<string, MuscleGroup>();

  usedSeconds(group: MuscleGroup, wallMs: number): number {
    return this.used.get(`${group}|${dayKey(wallMs)}`) ?? 0;
  }
  addMotorTime(_sessionId: string, group: MuscleGroup, from: number, to: number): void {
    let a = from;
    while (a < to) {
      const b = Math.min(to, nextMidnight(a));
      const key = `${group}|${dayKey(a)}`;
      this.used.set(key, (this.used.get(key) ?? 0) + (b - a) / 1000);
      a = b;
    }
  }
  startSession(info: { sessionId: string; group: MuscleGroup }): void {
    this.sessions.set(info.sessionId, info.group);
  }
  endSession(sessionId: string, reason: SessionEndReason): void {
    this.ended.push({ sessionId, reason });
  }
  recordPain(sessionId: string, group: MuscleGroup): void {
    this.pain.push({ sessionId, group });
  }
  /** Like the usage log: the group's most recent session, started or ended, decides. */
  lastSessionHurt(group: MuscleGroup): boolean {
    const last = [...this.sessions.entries()].reverse().find(([, g]) => g === group)?.[0];
    return last !== undefined && this.ended.find((e) => e.sessionId === last)?.reason === 'hurt';
  }
  nextMidnight(wallMs: number): number {
    return nextMidnight(wallMs);
  }
  /** Seeds usage for a group on the day of `wallMs`. */
  seed(group: MuscleGroup, wallMs: number, seconds: number): void {
    this.used.set(`${group}|${dayKey(wallMs)}`, seconds);
  }
}

/** Mutable limits with the defaults of DESIGN §1. */
export class TestLimits implements LimitsSource {
  ceilingValue = 0.6;
  cap = 300;
  budget = 360;
  block: { code: ErrorCode; message: string } | null = null;
  ceiling(): number {
    return this.ceilingValue;
  }
  sessionCapSeconds(): number {
    return this.cap;
  }
  dailyBudgetSeconds(): number {
    return this.budget;
  }
  motorBlock(): { code: ErrorCode; message: string } | null {
    return this.block;
  }
}
