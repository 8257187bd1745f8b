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
