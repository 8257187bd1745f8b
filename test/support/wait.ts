/**
 * Waiting in tests on real time: a sleep, a poll until a condition holds, and a bound on
 * a promise that might hang. Deadlines are generous (the machines are shared); speed is
 * measured in the benches, never here.
 */

/** Resolves after `ms` milliseconds of real time. */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Polls `fn` every 5 ms until it returns something truthy, and resolves with that value.
 * @throws Error naming `what` when `ms` milliseconds pass first.
 */
export async function until<T>(fn: () => T | undefined | null | false, ms = 5000, what = 'condition'): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`${what} not met within ${ms} ms`);
    await sleep(5);
  }
}

/**
 * Resolves with the promise's value.
 * @throws Error naming `what` when it takes longer than `ms` milliseconds (a hang).
 */
export async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} hung for ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}
