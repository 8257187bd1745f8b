/**
 * Type-level tests of the IPC contract, compiled by `npm run typecheck` (the test
 * project) and never run. Each `@ts-expect-error` marks a line that must not compile:
 * if the contract stopped catching it, the directive itself would be the error
 * ("Unused '@ts-expect-error' directive"), so the typecheck fails either way.
 */
import type { Handler, Handlers } from '../../electron/ipc/boundary';
import { Refusal } from '../../electron/ipc/boundary';
import type { ChannelErrorCode, EventPayload, Reply, Result, SessionStartResult, UnknotBridge } from '../../electron/ipc/contract';
import type { CoreConnection } from '../../electron/core/types';
import { call, on } from '../../renderer/src/api';

const start: SessionStartResult = { sessionId: 's-1', grantedMotorSeconds: 180, shortened: false, intensityFactor: 1 };

// ---- handlers answer their channel's result ----
export const good: Handler<'session.start'> = (input, { connectionId }) => {
  const group: 'neck' | 'shoulders' | 'upper-back' | 'rhomboids' | 'lower-back' = input.muscleGroup;
  void group;
  void connectionId;
  return start;
};
// @ts-expect-error session.start answers a SessionStartResult, not a device status
export const wrongResult: Handler<'session.start'> = () => ({ connection: 'connected' });
// @ts-expect-error a SessionStartResult without grantedMotorSeconds is not one
export const partialResult: Handler<'session.start'> = () => ({ sessionId: 's-1', shortened: false, intensityFactor: 1 });
// @ts-expect-error the heartbeat answers null, not a string
export const heartbeat: Handler<'session.heartbeat'> = () => 'ok';
export const setStep: Handler<'session.setStep'> = (input) => {
  // @ts-expect-error the input is validated: intensity is a number
  const word: string = input.intensity;
  void word;
  return { commandedStep: 1, maxStep: 2 };
};

// ---- a concern fills its own slice of the map ----
declare const deviceSlice: Handlers<'device.*'>;
export const stopHandler: Handler<'device.stop'> = deviceSlice['device.stop'];
// @ts-expect-error session channels are not part of the device slice
export const notInSlice = deviceSlice['session.start'];
// @ts-expect-error a slice must handle every channel of its prefix (device.stop and the others missing)
export const incomplete: Handlers<'device.*'> = { 'device.get': () => ({ connection: 'disconnected' }) };
declare const sessionSlice: Handlers<'session.*'>;
declare const restSlice: Omit<Handlers, `device.${string}` | `session.${string}`>;
export const whole: Handlers = { ...deviceSlice, ...sessionSlice, ...restSlice };
// @ts-expect-error without the session slice the map is not whole
export const missing: Handlers = { ...deviceSlice, ...restSlice };

// ---- refusals carry the contract's codes ----
export const refusal = new Refusal('budget-exhausted', 'No time left today.');
// @ts-expect-error not an error code of the contract
export const badRefusal = new Refusal('no-such-code', 'x');
export const startCode: ChannelErrorCode<'session.start'> = 'budget-exhausted';
// @ts-expect-error usage.today never refuses for the budget
export const todayCode: ChannelErrorCode<'usage.today'> = 'budget-exhausted';

// ---- replies and events ----
export function resultOf(reply: Reply<'usage.today'>): Result<'usage.today'> | null {
  if (!reply.ok) return null;
  const first = reply.result[0];
  // @ts-expect-error a budget's usedSeconds is a number
  const s: string | undefined = first?.usedSeconds;
  void s;
  return reply.result;
}
declare const conn: CoreConnection;
conn.send('session.ended', { sessionId: 's-1', reason: 'watchdog', message: 'Stopped.', usedMotorSeconds: 3 });
// @ts-expect-error 'too-hot' is not a session end reason
conn.send('session.ended', { sessionId: 's-1', reason: 'too-hot', message: 'Stopped.', usedMotorSeconds: 3 });
// @ts-expect-error device.status carries a DeviceStatusEvent
conn.send('device.status', { running: 'yes' });
export const notice: EventPayload<'store.notice'>['kind'] = 'write-failed';

// ---- the preload's window.unknot ----
declare const bridge: UnknotBridge;
export const startReply: Promise<Reply<'session.start'>> = bridge.sessionStart({ muscleGroup: 'neck', plannedMotorSeconds: 180 });
export const offStatus: () => void = bridge.onDeviceStatus((status) => void status.connection);
// @ts-expect-error the bridge's methods are camel case, one per channel
export const dotted = bridge['session.start'];
// @ts-expect-error the payload is checked: muscleGroup is one of the body map's groups
void bridge.sessionStart({ muscleGroup: 'knee', plannedMotorSeconds: 180 });

// ---- the renderer's client ----
export async function client(): Promise<number> {
  const started = await call('session.start', { muscleGroup: 'neck', plannedMotorSeconds: 180 });
  // @ts-expect-error grantedMotorSeconds is a number
  const text: string = started.grantedMotorSeconds;
  void text;
  const history = await call('usage.history', { days: 7 });
  const csv: string = history.csv;
  void csv;
  on('session.ended', (e) => {
    // @ts-expect-error a SessionEndedEvent has no intensity
    void e.intensity;
  });
  // @ts-expect-error intensity is a number 0..1
  await call('session.setStep', { sessionId: 's-1', intensity: 'high' });
  return started.grantedMotorSeconds;
}
