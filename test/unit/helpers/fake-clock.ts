/**
 * A manual clock for tests: monotonic and wall time advance only when told, and
 * timers fire in due order during `advance`.
 */
import type { Clock } from '../../../electron/lib/clock';

interface Timer {
  id: number;
  due: number;
  fn: () => void;
  every?: number;
}

export class FakeClock implements Clock {
  private t = 0;
  private wallOffset: number;
  private timers: Timer[] = [];
  private nextId = 1;

  /** @param wallStart epoch ms the wall clock starts at */
  constructor(wallStart = new Date(2026, 10, 29, 10, 0, 0).getTime()) {
    this.wallOffset = wallStart;
  }

  now(): number {
    return this.t;
  }
  wallNow(): number {
    return this.wallOffset + this.t;
  }
  /** Moves the wall clock alone (a clock change, a time-zone jump). */
  jumpWall(ms: number): void {
    this.wallOffset += ms;
  }
  setInterval(fn: () => void, ms: number): unknown {
    const timer = { id: this.nextId++, due: this.t + ms, fn, every: Math.max(1, ms) };
    this.timers.push(timer);
    return timer.id;
  }
  clearInterval(handle: unknown): void {
    this.timers = this.timers.filter((x) => x.id !== handle);
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const timer = { id: this.nextId++, due: this.t + Math.max(0, ms), fn };
    this.timers.push(timer);
    return timer.id;
  }
  clearTimeout(handle: unknown): void {
    this.clearInterval(handle);
  }
  /** Advances time by `ms`, firing every timer that falls due, in order. */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      const next = this.timers.filter((x) => x.due <= end).sort((a, b) => a.due - b.due || a.id - b.id)[0];
      if (!next) break;
      this.t = Math.max(this.t, next.due);
      if (next.every) next.due += next.every;
      else this.timers = this.timers.filter((x) => x !== next);
      next.fn();
    }
    this.t = end;
  }
  pendingTimers(): number {
    return this.timers.length;
  }
}
