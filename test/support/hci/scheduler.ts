/**
 * The virtual Bluetooth link's clock: one queue of tasks ordered by due time (then by
 * the order they were added), run on real timers. Everything the link does later —
 * events to hosts, advertising, connection events — goes through it, so packets reach
 * the hosts in exactly the order the link produced them.
 *
 * It uses `setImmediate` for tasks due now and `setTimeout` for later ones: do not
 * fake timers (`vi.useFakeTimers()` fakes `setImmediate` too) while a link runs.
 * Times are `performance.now()` milliseconds.
 */
import { performance } from 'node:perf_hooks';

interface Task {
  at: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

/** A handle to cancel a scheduled task. */
export interface Scheduled {
  cancel(): void;
}

/** The link's task queue on real timers. */
export class LinkScheduler {
  private readonly tasks: Task[] = [];
  private seq = 0;
  private timer: ReturnType<typeof setTimeout> | ReturnType<typeof setImmediate> | null = null;
  private timerAt = Infinity;
  private disposed = false;
  /** Errors thrown by tasks (a host's handler failing): kept, never rethrown into the timers. */
  readonly errors: unknown[] = [];

  /** `performance.now()` in milliseconds. */
  now(): number {
    return performance.now();
  }

  /** Runs `fn` after every task already due now. */
  soon(fn: () => void): Scheduled {
    return this.at(this.now(), fn);
  }

  /** Runs `fn` at `atMs` (`performance.now()` milliseconds), after tasks due earlier or added before for the same time. */
  at(atMs: number, fn: () => void): Scheduled {
    const task: Task = { at: atMs, seq: this.seq++, fn, cancelled: false };
    // keep the queue sorted by (at, seq): insert after the last task due at or before atMs
    let i = this.tasks.length;
    while (i > 0 && this.tasks[i - 1]!.at > atMs) i--;
    this.tasks.splice(i, 0, task);
    this.arm();
    return { cancel: () => void (task.cancelled = true) };
  }

  /** Stops every timer; later `at`/`soon` calls do nothing. */
  dispose(): void {
    this.disposed = true;
    this.tasks.length = 0;
    this.clearTimer();
  }

  private clearTimer(): void {
    if (this.timer === null) return;
    if (this.timerAt === -Infinity) clearImmediate(this.timer as ReturnType<typeof setImmediate>);
    else clearTimeout(this.timer as ReturnType<typeof setTimeout>);
    this.timer = null;
    this.timerAt = Infinity;
  }

  private arm(): void {
    if (this.disposed) {
      this.tasks.length = 0;
      return;
    }
    const first = this.tasks[0];
    if (!first) return;
    const due = first.at <= this.now();
    const wanted = due ? -Infinity : first.at;
    if (this.timer !== null && this.timerAt <= wanted) return;
    this.clearTimer();
    this.timerAt = wanted;
    this.timer = due ? setImmediate(() => this.run()) : setTimeout(() => this.run(), Math.max(0, first.at - this.now()));
  }

  private run(): void {
    this.timer = null;
    this.timerAt = Infinity;
    const now = this.now();
    // Run what is due; tasks added meanwhile for "now" run on the next turn (I/O may interleave, as on a real bus).
    const batch: Task[] = [];
    while (this.tasks.length > 0 && this.tasks[0]!.at <= now) batch.push(this.tasks.shift()!);
    for (const task of batch) {
      if (task.cancelled || this.disposed) continue;
      try {
        task.fn();
      } catch (error) {
        this.errors.push(error);
      }
    }
    this.arm();
  }
}
