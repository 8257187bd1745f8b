/**
 * The host globals the protocols use, and nothing else of the DOM or Node (the protocols
 * project compiles without either): text encoding for the standard services' strings,
 * timers for the simulated peripherals, and the monotonic clock where there is one.
 */
declare class TextEncoder {
  /** UTF-8 bytes of `input`. */
  encode(input?: string): Uint8Array;
}

declare class TextDecoder {
  constructor(label?: string, options?: { fatal?: boolean; ignoreBOM?: boolean });
  /** The text of UTF-8 `input`. */
  decode(input?: Uint8Array): string;
}

/** Opaque timer handle (a number in browsers, an object in Node). */
declare type TimerHandle = unknown;
declare function setTimeout(callback: () => void, ms?: number): TimerHandle;
declare function clearTimeout(handle: TimerHandle | undefined): void;

/** Present in browsers and Node; checked with `typeof` before use. */
declare const performance: { now(): number } | undefined;
