/**
 * The sessions concern: fills the `session.*` slice of the handler map. The governor
 * decides (grants, clamps, counts, ends); this module checks what the device must be
 * for it first (there, connected, its last stop confirmed) and passes the request on
 * with the connection it came from (only the owner controls a session).
 */
import { Refusal, type Handlers } from '../ipc/boundary';
import type { CoreContext } from './context';
import type { Devices } from './devices';

/** The channels this concern answers. */
export type SessionChannels = 'session.*';

/** The handlers of this concern's channels. */
export function sessionHandlers(ctx: CoreContext, devices: Devices): Handlers<SessionChannels> {
  const { governor } = ctx;
  return {
    'session.get': () => governor.current(),
    'session.start': (req, { connectionId }) => {
      const d = devices.requireDevice();
      // As for a resume: nothing can reach a device that is (re)connecting.
      if (d.connection !== 'connected') {
        throw new Refusal('not-connected', 'The massager is not connected yet. Wait for it to reconnect.');
      }
      devices.requireConfirmedOff();
      return governor.startSession(connectionId, req);
    },
    'session.heartbeat': ({ sessionId }, { connectionId }) => {
      governor.heartbeat(connectionId, sessionId);
      return null;
    },
    'session.setStep': ({ sessionId, intensity, motion }, { connectionId }) => {
      governor.setStep(connectionId, sessionId, intensity, motion);
      return { commandedStep: governor.commandedStep(), maxStep: governor.maxStep() };
    },
    'session.pause': ({ sessionId }, { connectionId }) => {
      governor.pause(connectionId, sessionId);
      return governor.current();
    },
    'session.resume': ({ sessionId }, { connectionId }) => {
      const d = devices.current();
      if (d && d.connection !== 'connected') {
        throw new Refusal('not-connected', 'The massager is not connected yet. Wait for it to reconnect.');
      }
      devices.requireConfirmedOff();
      governor.resume(connectionId, sessionId);
      return governor.current();
    },
    'session.end': ({ sessionId }, { connectionId }) => governor.end(connectionId, sessionId, 'completed'),
    'session.hurt': ({ sessionId }, { connectionId }) => governor.hurt(connectionId, sessionId),
  };
}
