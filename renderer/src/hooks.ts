import { useEffect, useState } from 'react';

/** `performance.now()`, refreshed every `everyMs` (0: never). */
export function useNow(everyMs: number): number {
  const [now, setNow] = useState(() => performance.now());
  useEffect(() => {
    if (!everyMs) return;
    const id = setInterval(() => setNow(performance.now()), everyMs);
    return () => clearInterval(id);
  }, [everyMs]);
  return now;
}

/**
 * One request at a time from a screen: `act(fn)` runs `fn` with `busy` true and `error`
 * cleared; a thrown error's message becomes `error` (what the screen shows), never thrown on.
 */
export function useBusyAction(): { busy: boolean; error: string | null; act: (fn: () => Promise<void>) => Promise<void> } {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const act = async (fn: () => Promise<void>): Promise<void> => {
    setBusy(true);
    setError(null);
    try {
      await fn();
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, act };
}
