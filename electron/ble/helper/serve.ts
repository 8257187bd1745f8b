/**
 * The helper side of the Bluetooth pipe: serves any noble bindings object (noble's HCI
 * binding in the helper process, the simulated radio in tests) over a pair of streams,
 * in the line protocol of `wire.ts`.
 */
import type { EventEmitter } from 'node:events';
import type { Readable, Writable } from 'node:stream';
import { BINDINGS_EVENTS, OPTIONAL_METHODS, eventLine, faultLine, parseCallLine, readLines } from './wire';
import type { BindingsEvent, BindingsMethod } from './wire';

/** Options of {@link serveBindings}. */
export interface ServeOptions {
  /** Called with a sentence for every rejected line, failed call and unsendable event (the helper prints them on stderr). */
  onProblem?: (message: string) => void;
  /** Called when a bindings method throws, after the fault has been sent to the other side. */
  onCallError?: (method: BindingsMethod, error: unknown) => void;
  /** Called once when `input` ends or fails (the main process has gone): the helper should exit. */
  onEnd?: (reason: string) => void;
  /** Called for every call carried out (for diagnostics). */
  onCall?: (method: BindingsMethod, args: readonly unknown[]) => void;
}

/** A running server; `stop` removes every listener it added. */
export interface BindingsServer {
  stop(): void;
}

/**
 * Reads JSON-line method calls from `input`, calls them on `bindings`, and writes
 * every event `bindings` emits to `output` as JSON lines. A malformed line or a call
 * that throws is answered with a `fault` line and reported, never thrown. A method
 * the bindings lack is a fault too, except for the ones noble treats as optional
 * (`addService`, `addCharacteristics`, …), which are ignored.
 */
export function serveBindings(bindings: EventEmitter, input: Readable, output: Writable, options: ServeOptions = {}): BindingsServer {
  const problem = (message: string): void => {
    try {
      options.onProblem?.(message);
    } catch {
      // reporting must never break serving
    }
  };
  const send = (line: string): void => {
    if (output.destroyed || output.writableEnded) return;
    output.write(line);
  };

  const removers: (() => void)[] = [];
  for (const event of BINDINGS_EVENTS) {
    const fn = (...args: unknown[]): void => {
      let line: string;
      try {
        line = eventLine(event as BindingsEvent, args);
      } catch (error) {
        problem(`could not send the ${event} event: ${String(error)}`);
        return;
      }
      send(line);
    };
    bindings.on(event, fn);
    removers.push(() => bindings.off(event, fn));
  }

  const stopReading = readLines(
    input,
    (line) => {
      const parsed = parseCallLine(line);
      if (!parsed.ok) {
        problem(`rejected a line: ${parsed.error}`);
        send(faultLine({ message: `rejected a line: ${parsed.error}` }));
        return;
      }
      const { m: method, a: args } = parsed.message;
      const fn = (bindings as unknown as Record<string, unknown>)[method];
      if (typeof fn !== 'function') {
        if (OPTIONAL_METHODS.has(method)) return;
        problem(`${method} is not supported by this radio`);
        send(faultLine({ message: 'not supported by this radio', method }));
        return;
      }
      try {
        options.onCall?.(method, args);
        (fn as (...a: unknown[]) => unknown).apply(bindings, args);
      } catch (error) {
        const e = error as { message?: unknown; code?: unknown } | null;
        const message = typeof e?.message === 'string' ? e.message : String(error);
        const fault: { message: string; method: string; code?: string } = { message, method };
        if (typeof e?.code === 'string') fault.code = e.code;
        problem(`${method} failed: ${message}`);
        send(faultLine(fault));
        options.onCallError?.(method, error);
      }
    },
    (chars) => {
      problem(`rejected a line of ${chars} characters (longer than allowed)`);
      send(faultLine({ message: `rejected a line of ${chars} characters (longer than allowed)` }));
    },
  );

  let ended = false;
  const end = (reason: string): void => {
    if (ended) return;
    ended = true;
    options.onEnd?.(reason);
  };
  const onInputEnd = (): void => end('the main process closed the pipe');
  const onInputError = (error: unknown): void => end(`the pipe from the main process failed (${String(error)})`);
  const onOutputError = (error: unknown): void => end(`the pipe to the main process failed (${String(error)})`);
  input.on('end', onInputEnd);
  input.on('close', onInputEnd);
  input.on('error', onInputError);
  output.on('error', onOutputError);

  return {
    stop(): void {
      stopReading();
      for (const r of removers.splice(0)) r();
      input.off('end', onInputEnd);
      input.off('close', onInputEnd);
      input.off('error', onInputError);
      output.off('error', onOutputError);
    },
  };
}
