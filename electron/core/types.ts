/**
 * The shape of the app core: the one object both bridges (Electron IPC and the
 * browser host's WebSocket) hand requests to. It owns the transports, the device
 * link, the safety governor and the store.
 */
import type { EventChannel, EventPayload, Reply, SessionEndReason } from '../ipc/contract';

/** One connected renderer: an Electron window (IPC) or a browser-host WebSocket. */
export interface CoreConnection {
  /** Unique per connection, e.g. `ipc:3` or `ws:7`. */
  id: string;
  kind: 'ipc' | 'ws';
  /** Pushes an event, with that event's payload, to this renderer. Must not throw. */
  send<E extends EventChannel>(event: E, payload: EventPayload<E>): void;
}

/** What the bridges and the shell call. */
export interface Core {
  /** Registers a renderer; it receives every event from now on. */
  attach(connection: CoreConnection): void;
  /**
   * Forgets a renderer. When it owned the running session, the motor stops and the
   * session ends with `reason` (a lost WebSocket, a closed window, a crashed renderer).
   */
  detach(connectionId: string, reason: SessionEndReason): Promise<void>;
  /**
   * The main-process boundary (`electron/ipc/boundary.ts`) both carriers pass through:
   * validates one request as the carrier received it and runs its handler. Never throws:
   * invalid payloads, unknown channels and failures come back as `{ ok: false, error }`.
   */
  handle(connectionId: string, channel: string, payload: unknown): Promise<Reply>;
  /** Stops every motor the app can reach and ends the running session with `reason`. */
  stopAll(reason: SessionEndReason): Promise<void>;
  /** A one-line description of the running routine for the tray, or null. */
  runningSummary(): string | null;
  /** Listens for changes of {@link runningSummary}; returns an unsubscribe function. */
  onRunningChange(listener: (summary: string | null) => void): () => void;
  /** Stops motors, disconnects devices and flushes the store. */
  shutdown(): Promise<void>;
}
