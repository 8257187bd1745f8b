/**
 * The one typed event emitter of the main process (the safety governor, the device link
 * and the scanner hold one each): listeners per event name, each called with that event's
 * payload. A listener that throws is skipped, so it never disturbs the emitter's owner or
 * the other listeners.
 */

/** Listeners by event name; `Events` maps each event name to its payload type. */
export class Emitter<Events extends object> {
  private readonly listeners = new Map<keyof Events, Set<(payload: never) => void>>();

  /** Adds a listener; returns a function that removes it. */
  on<K extends keyof Events>(event: K, listener: (payload: Events[K]) => void): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(listener);
    return () => void set.delete(listener);
  }

  /** Calls every listener of `event` with `payload`, in the order they were added; a throwing one is skipped. */
  emit<K extends keyof Events>(event: K, payload: Events[K]): void {
    for (const listener of [...(this.listeners.get(event) ?? [])]) {
      try {
        (listener as (payload: Events[K]) => void)(payload);
      } catch {
        // a listener's failure is its own
      }
    }
  }

  /** Removes every listener of every event. */
  clear(): void {
    this.listeners.clear();
  }

  /** How many listeners `event` has. */
  listenerCount(event: keyof Events): number {
    return this.listeners.get(event)?.size ?? 0;
  }
}
