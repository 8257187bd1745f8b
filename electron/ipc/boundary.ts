/**
 * The main-process boundary: the one place where a request from a renderer is checked
 * against the contract before anything runs. Both carriers pass through it — Electron IPC
 * (`electron/main/ipc.ts`, after its sender check) and the browser host's WebSocket
 * (`electron/host/server.ts`) — by way of the core's `handle`.
 *
 * It looks the channel up in the registry (`unknown-channel`), refuses forbidden keys
 * (`__proto__`, `constructor`, `prototype`) at any depth and payloads the channel's schema
 * rejects (`invalid-payload`), then calls that channel's {@link Handler} with the parsed,
 * typed input. A handler refuses by throwing a {@link Refusal}; anything else it throws is
 * unexpected: the boundary lets the owner stop the motor (`onUnexpected`) and answers
 * `internal`. It never throws: every outcome is a {@link Reply}.
 */
import {
  COMMON_ERROR_CODES,
  REQUEST_CHANNELS,
  channels,
  forbiddenKeyPath,
  type ErrorCode,
  type Reply,
  type RequestChannel,
  type RequestInput,
  type Result,
} from './contract';

/** A refusal a handler throws: its code (from the contract) and a message for the user. */
export class Refusal extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'Refusal';
  }
}

/** Who sent a request. */
export interface RequestContext {
  /** The core connection it came on, e.g. `ipc:3` or `ws:7`. */
  connectionId: string;
}

/**
 * The handler of channel `C`: takes the validated payload and answers the channel's
 * result, or throws a {@link Refusal}. A wrong result type is a compile error.
 */
export type Handler<C extends RequestChannel> = (input: RequestInput<C>, context: RequestContext) => Result<C> | Promise<Result<C>>;

/**
 * The channels a pattern names: `'*'` every channel, `'device.*'` those of one prefix,
 * or channel names themselves; a union of patterns names the union.
 */
export type ChannelsMatching<P extends string> = P extends '*'
  ? RequestChannel
  : P extends `${infer Prefix}.*`
    ? Extract<RequestChannel, `${Prefix}.${string}`>
    : Extract<RequestChannel, P>;

/**
 * A handler for each channel a pattern names. `Handlers` (every channel) is what the
 * boundary takes; `Handlers<'device.*'>` is one concern's share, so the core can be made
 * of modules, each filling its own slice: `{ ...deviceHandlers, ...sessionHandlers }`.
 */
export type Handlers<P extends string = '*'> = { [C in ChannelsMatching<P>]: Handler<C> };

/** Options of {@link createBoundary}. */
export interface BoundaryOptions {
  /**
   * Turns an error a handler threw into a refusal, or returns null for "unexpected"
   * (e.g. the store's own validation errors become `invalid-payload`).
   */
  refusalOf?: (error: unknown) => Refusal | null;
  /**
   * Called with an unexpected error before the `internal` reply goes out; the core stops
   * every motor here. Its failure is ignored.
   */
  onUnexpected?: (channel: RequestChannel, error: unknown) => Promise<void> | void;
  /**
   * Called when a handler refused with a code its channel does not declare in the
   * contract (the refusal still goes out as it is). Default: a warning on the console.
   */
  onUndeclaredCode?: (channel: RequestChannel, code: ErrorCode) => void;
}

/** Runs one request from connection `connectionId`; never throws. `payload` is what the carrier received, unchecked. */
export type Boundary = (connectionId: string, channel: string, payload: unknown) => Promise<Reply>;

/** Each channel's declared codes, the common ones included. */
const DECLARED: ReadonlyMap<RequestChannel, ReadonlySet<ErrorCode>> = new Map(
  REQUEST_CHANNELS.map((c) => [c, new Set<ErrorCode>([...COMMON_ERROR_CODES, ...channels[c].errors])]),
);

/** The schema issues as one line: `path: message; …`, at most 300 characters. */
function describeIssues(issues: readonly { path: readonly PropertyKey[]; message: string }[]): string {
  const text = issues.map((i) => `${i.path.map(String).join('.') || 'payload'}: ${i.message}`).join('; ');
  return text.length > 300 ? text.slice(0, 297) + '...' : text;
}

function refused(code: ErrorCode, message: string): Reply {
  return { ok: false, error: { code, message } };
}

/**
 * Builds the boundary over a full handler map.
 * - A channel not in the registry: `unknown-channel`; the handlers are not called.
 * - A forbidden key anywhere in the payload (not checked for `device.stop`, whose payload
 *   is ignored): `invalid-payload` naming its path, e.g. `answers.__proto__`.
 * - A payload the schema rejects: `invalid-payload` with the schema's issues.
 * - A {@link Refusal} (or what `refusalOf` maps to one): `{ ok: false, error }` with its code.
 * - Anything else thrown: `onUnexpected`, then `internal` ("the massager was stopped").
 * A result of `undefined` is sent as `null`.
 */
export function createBoundary(handlers: Handlers, options: BoundaryOptions = {}): Boundary {
  const undeclared =
    options.onUndeclaredCode ??
    ((channel: RequestChannel, code: ErrorCode) => console.warn(`Unknot: ${channel} refused with "${code}", which the contract does not declare for it.`));
  const run = async <C extends RequestChannel>(channel: C, input: RequestInput<C>, context: RequestContext): Promise<Result<C>> =>
    (handlers[channel] as Handler<C>)(input, context);

  return async (connectionId, channel, payload) => {
    if (!Object.hasOwn(channels, channel)) {
      return refused('unknown-channel', `There is no channel named "${String(channel).slice(0, 60)}".`);
    }
    const name = channel as RequestChannel;
    const forbidden = name === 'device.stop' ? undefined : forbiddenKeyPath(payload);
    if (forbidden !== undefined) return refused('invalid-payload', `Invalid request for ${name}: the key "${forbidden}" is not allowed.`);
    const parsed = channels[name].request.safeParse(payload);
    if (!parsed.success) return refused('invalid-payload', `Invalid request for ${name}: ${describeIssues(parsed.error.issues)}.`);
    try {
      const result = await run(name, parsed.data as RequestInput<typeof name>, { connectionId });
      return { ok: true, result: result ?? null };
    } catch (err) {
      const refusal = err instanceof Refusal ? err : (options.refusalOf?.(err) ?? null);
      if (refusal) {
        if (!DECLARED.get(name)!.has(refusal.code)) {
          try {
            undeclared(name, refusal.code);
          } catch {
            /* a report never changes the reply */
          }
        }
        return refused(refusal.code, refusal.message);
      }
      try {
        await options.onUnexpected?.(name, err);
      } catch {
        /* the reply goes out all the same */
      }
      return refused('internal', `Something went wrong (${(err as Error)?.message ?? String(err)}). The massager was stopped.`);
    }
  };
}
