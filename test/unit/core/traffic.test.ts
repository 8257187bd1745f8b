/**
 * A device's traffic from the device panel (issue 17, part 5): a session on a simulated
 * device, and the capture `device.capture` exports holds exactly the bytes the simulator
 * received (the stop frame last among the motor writes) and exactly the notifications it
 * sent, of that device only; the buffer outlives a reconnect and a switch to another
 * device; a recorder that fails or is slow never keeps a stop from the device.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { DeviceStatusEvent, DeviceTrafficBatch, DeviceTrafficView, LabCapture, SessionStartResult, TrafficEntry, TrafficWrite } from '../../../electron/ipc/contract';
import type { SimNotificationRecord, SimWriteRecord } from '../../../electron/ble/sim-radio';
import { CAPTURE_EXPORT_NAME } from '../../../electron/main/window';
import { ALL_NO, sleep, startCore, until, type CoreHarness } from '../helpers/core-harness';
import { NODO, dataDirWith } from '../profiles/support';

const THERAGUN_STOP = 'aa070103000003';
const NODO_STOP = '5501010057';

let h: CoreHarness | null = null;
afterEach(async () => {
  await h?.core.shutdown();
  h = null;
});

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

async function ready(dataDir?: string): Promise<CoreHarness> {
  const c = await startCore(dataDir);
  h = c;
  await c.ok('screening.set', { answers: ALL_NO });
  await c.ok('settings.set', { doctorNoticeAcknowledged: true });
  return c;
}

/** The capture as parsed lines. */
async function capture(c: CoreHarness, peripheralId?: string): Promise<{ file: LabCapture; lines: Record<string, unknown>[] }> {
  const file = await c.ok<LabCapture>('device.capture', peripheralId ? { peripheralId } : {});
  expect(file.text.endsWith('\n')).toBe(true);
  const lines = file.text
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  expect(lines).toHaveLength(file.lines);
  return { file, lines };
}

const writesOf = (lines: Record<string, unknown>[]): TrafficWrite[] => lines.filter((l) => l.type === 'write') as unknown as TrafficWrite[];
const notesOf = (lines: Record<string, unknown>[]) => lines.filter((l) => l.type === 'notification') as unknown as Extract<TrafficEntry, { type: 'notification' }>[];
const simWrites = (c: CoreHarness, id: string): SimWriteRecord[] => c.core.simRadio()!.writes(id).filter((w) => w.accepted);
/** Polls an async condition every 20 ms until it holds; fails after `ms`. */
async function eventually(fn: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error(`${what}: not met in ${ms} ms`);
    await sleep(20);
  }
}
const simNotes = (c: CoreHarness, id: string): SimNotificationRecord[] => c.core.simRadio()!.notifications(id);

/** What the simulator received, as the capture states it. */
const asWire = (w: { service: string; characteristic: string; withResponse: boolean }, hexText: string) => ({
  service: w.service,
  characteristic: w.characteristic,
  withResponse: w.withResponse,
  hex: hexText,
});

/** Runs manual control on the connected device at a few intensities, then ends it (the stop). */
async function shortSession(c: CoreHarness, group = 'upper-back'): Promise<void> {
  const s = await c.ok<SessionStartResult>('session.start', { muscleGroup: group, plannedMotorSeconds: 60 });
  for (const v of [0.2, 0.4, 0.3]) {
    await c.ok('session.setStep', { sessionId: s.sessionId, intensity: v });
    await c.ok('session.heartbeat', { sessionId: s.sessionId });
    await sleep(300);
  }
  await c.ok('session.end', { sessionId: s.sessionId });
}

/** The capture's writes match the simulator's record exactly, in order; the last motor write is the stop. */
function expectSameWrites(capWrites: TrafficWrite[], sim: SimWriteRecord[], stopHex: string): void {
  expect(capWrites.every((w) => w.outcome === 'written')).toBe(true);
  expect(capWrites.map((w) => asWire(w, w.hex))).toEqual(sim.map((w) => asWire(w, hex(w.bytes))));
  const motor = capWrites.filter((w) => w.purpose === 'step' || w.purpose === 'stop' || w.purpose === 'mode');
  expect(motor.at(-1)).toMatchObject({ purpose: 'stop', hex: stopHex });
  // after the stop, only its status requests (to confirm it) and repeats of the stop
  const afterStop = capWrites.slice(capWrites.lastIndexOf(motor.at(-1)!) + 1);
  expect(afterStop.every((w) => w.purpose === 'status-query' || w.purpose === 'stop')).toBe(true);
}

/** The capture's notifications match what the simulator sent (the last one may still have been on the air). */
function expectSameNotifications(capNotes: ReturnType<typeof notesOf>, sim: SimNotificationRecord[]): void {
  expect(capNotes.length).toBeGreaterThan(0);
  expect(capNotes.length).toBeGreaterThanOrEqual(sim.length - 1);
  expect(capNotes.map((n) => ({ service: n.service, characteristic: n.characteristic, hex: n.hex }))).toEqual(
    sim.slice(0, capNotes.length).map((n) => ({ service: n.service, characteristic: n.characteristic, hex: hex(n.bytes) })),
  );
}

describe('device.capture', () => {
  it('a Theragun session: exactly the bytes the simulator received, the stop frame last, its notifications, that device only', async () => {
    const c = await ready();
    const id = await c.find(/^Pro$/);
    await c.ok('device.connect', { peripheralId: id });
    await shortSession(c);
    await eventually(async () => ((await c.ok<DeviceStatusEvent>('device.get')).stop?.state ?? 'waiting') !== 'waiting', 5000, 'the stop verdict');
    await c.ok('device.disconnect');
    // every record has been handed over (the tap delivers on a later timer turn)
    await eventually(async () => {
      const { lines } = await capture(c, id);
      return writesOf(lines).length === simWrites(c, id).length && lines.some((l) => l.type === 'link' && l.event === 'closed');
    }, 3000, 'every write recorded, and the close');

    const { file, lines } = await capture(c, id);
    expect(file.fileName).toMatch(CAPTURE_EXPORT_NAME);
    expect(lines[0]).toMatchObject({
      type: 'capture',
      format: 'unknot-device-capture',
      version: 1,
      app: 'test',
      peripheralId: id,
      name: 'Pro',
      protocol: { id: 'theragun', version: 'built-in test' },
      simulated: true,
    });
    expect(lines[0]).not.toHaveProperty('userProfile');
    expect(lines[1]).toMatchObject({ type: 'advertisement', peripheralId: id, name: 'Pro' });
    // every line has its type, monotonic t and wall-clock at; the entries oldest first
    for (const l of lines) {
      expect(typeof l.type).toBe('string');
      expect(typeof l.t).toBe('number');
      expect(Number.isNaN(Date.parse(String(l.at)))).toBe(false);
    }
    const entries = lines.slice(2);
    for (let i = 1; i < entries.length; i++) expect(entries[i]!.t as number).toBeGreaterThanOrEqual(entries[i - 1]!.t as number);
    expect(lines[0]!.entries).toBe(entries.length);

    expectSameWrites(writesOf(lines), simWrites(c, id), THERAGUN_STOP);
    // the steps went as set-speed frames, with response, marked as steps
    expect(writesOf(lines).filter((w) => w.purpose === 'step').length).toBeGreaterThan(0);
    expect(writesOf(lines).find((w) => w.purpose === 'step')).toMatchObject({ service: 'ffe0', characteristic: 'ffe2', withResponse: true });
    expectSameNotifications(notesOf(lines), simNotes(c, id));
    expect(notesOf(lines).every((n) => n.decoded)).toBe(true);
    // the link's events: connected, the stop's verdict, closed by the app
    const link = lines.filter((l) => l.type === 'link').map((l) => l.event);
    expect(link[0]).toBe('connected');
    expect(link).toContain('closed');
    expect(link.some((e) => String(e).startsWith('stop-'))).toBe(true);
    // no other device: every write and notification is of the Theragun's service
    expect(lines.filter((l) => l.type === 'write' || l.type === 'notification').every((l) => ['ffe0', '180f'].includes(String(l.service)))).toBe(true);
    expect(file.text).not.toContain('Nodo');
  });

  it('a device on the Nodo Mini user profile: the stop check and a session, byte for byte, with its profile named', async () => {
    const dir = dataDirWith({ 'nodo-mini.json': NODO });
    const c = await ready(dir);
    const id = await c.find(/^Nodo Mini$/);
    const status = await c.ok<DeviceStatusEvent>('device.connect', { peripheralId: id });
    await c.ok('stopCheck.run', { muscleGroup: 'upper-back' });
    await c.ok('stopCheck.answer', { stopped: true });
    await shortSession(c);
    await eventually(async () => ((await c.ok<DeviceStatusEvent>('device.get')).stop?.state ?? 'waiting') !== 'waiting', 5000, 'the stop verdict');
    await c.ok('device.disconnect');
    await eventually(async () => {
      const { lines } = await capture(c, id);
      return writesOf(lines).length === simWrites(c, id).length && lines.some((l) => l.type === 'link' && l.event === 'closed');
    }, 3000, 'every write recorded, and the close');

    const { lines } = await capture(c, id);
    expect(lines[0]).toMatchObject({
      format: 'unknot-device-capture',
      peripheralId: id,
      name: 'Nodo Mini',
      protocol: { id: 'nodo-mini', version: status.userProfile!.version },
      userProfile: { file: 'nodo-mini.json', version: status.userProfile!.version },
      simulated: true,
    });
    expect(lines[1]).toMatchObject({ type: 'advertisement', manufacturerData: 'ffff4e4d01' });
    expectSameWrites(writesOf(lines), simWrites(c, id), NODO_STOP);
    // two stops: the stop check's and the session's
    expect(writesOf(lines).filter((w) => w.purpose === 'stop' && w.hex === NODO_STOP).length).toBeGreaterThanOrEqual(2);
    expectSameNotifications(notesOf(lines), simNotes(c, id));
  });

  it('keeps a device’s traffic across a reconnect and a switch to another device and back; each capture is of its own device', async () => {
    const c = await ready();
    const pro = await c.find(/^Pro$/);
    await c.ok('device.connect', { peripheralId: pro });
    // the link drops and comes back
    await c.ok('sim.fault', { peripheralId: pro, fault: 'drop-link' });
    await eventually(async () => (await c.ok<DeviceStatusEvent>('device.get')).connection === 'connected' && (await c.ok<DeviceTrafficView>('device.traffic')).entries.some((e) => e.type === 'link' && e.event === 'reconnected'), 10_000, 'the reconnect');
    const before = (await c.ok<DeviceTrafficView>('device.traffic')).entries;
    expect(before.filter((e) => e.type === 'link').map((e) => (e as { event: string }).event)).toEqual(expect.arrayContaining(['connected', 'dropped', 'reconnected']));
    // the reconnect's first write is a stop
    const dropped = before.findIndex((e) => e.type === 'link' && e.event === 'dropped');
    expect(before.slice(dropped).find((e) => e.type === 'write')).toMatchObject({ purpose: 'stop', hex: THERAGUN_STOP });

    // to another device, and back
    const jieli = await c.find(/^hy/);
    await c.ok('device.connect', { peripheralId: jieli });
    await eventually(async () => (await c.ok<DeviceTrafficView>('device.traffic')).entries.length > 0, 3000, 'the EMS pad’s traffic');
    expect((await c.ok<DeviceTrafficView>('device.traffic')).peripheralId).toBe(jieli);
    await c.ok('device.connect', { peripheralId: pro });
    await eventually(async () => (await c.ok<DeviceTrafficView>('device.traffic')).entries.length > before.length, 3000, 'new traffic');
    const after = (await c.ok<DeviceTrafficView>('device.traffic', { peripheralId: pro })).entries;
    // what was there before is still there, in the same order, and more came
    expect(after.slice(0, before.length)).toEqual(before);
    const links = after.filter((e) => e.type === 'link').map((e) => (e as { event: string }).event);
    expect(links.filter((e) => e === 'connected').length).toBe(2);
    expect(links).toContain('closed');

    // each capture holds its own device only
    const { lines: proLines } = await capture(c, pro);
    const { lines: padLines } = await capture(c, jieli);
    expect(proLines[0]).toMatchObject({ peripheralId: pro, protocol: { id: 'theragun' } });
    expect(padLines[0]).toMatchObject({ peripheralId: jieli, protocol: { id: 'jieli-ems' } });
    const services = (ls: Record<string, unknown>[]) => new Set(ls.filter((l) => l.type === 'write').map((l) => l.service));
    expect([...services(proLines)]).toEqual(['ffe0']);
    expect(services(padLines).has('ffe0') && proLines.length !== padLines.length).toBe(true);
    expect(writesOf(proLines).map((w) => w.hex)).toEqual(simWrites(c, pro).map((w) => hex(w.bytes)).slice(0, writesOf(proLines).length));
  });

  it('sends new entries as device.traffic events, in batches', async () => {
    const c = await ready();
    const id = await c.find(/^Pro$/);
    await c.ok('device.connect', { peripheralId: id });
    await shortSession(c);
    await until(() => c.events.some((e) => e.event === 'device.traffic' && (e.payload as DeviceTrafficBatch).entries.some((x) => x.type === 'write' && x.purpose === 'stop')), 3000, 'the stop in an event');
    const batches = c.events.filter((e) => e.event === 'device.traffic').map((e) => e.payload as DeviceTrafficBatch);
    expect(batches.every((b) => b.peripheralId === id)).toBe(true);
    // the events together are the buffer, in order (nothing lost, nothing doubled)
    const fromEvents = batches.flatMap((b) => b.entries);
    const buffered = (await c.ok<DeviceTrafficView>('device.traffic')).entries;
    expect(buffered.slice(0, fromEvents.length)).toEqual(fromEvents);
  });
});

describe('device.traffic and device.capture refuse', () => {
  it('a device never connected this run, and no device at all; bad payloads are invalid', async () => {
    const c = await ready();
    expect(await c.call('device.traffic')).toMatchObject({ ok: false, error: { code: 'not-connected' } });
    expect(await c.call('device.capture', {})).toMatchObject({ ok: false, error: { code: 'not-connected' } });
    const id = await c.find(/^Pro$/);
    expect(await c.call('device.capture', { peripheralId: id })).toMatchObject({ ok: false, error: { code: 'not-connected', message: expect.stringContaining('not been connected') } });
    for (const bad of [{ peripheralId: '' }, { peripheralId: 7 }, { peripheralId: 'x'.repeat(201) }, { peripheralId: id, extra: 1 }, 'Pro', [id]]) {
      expect(await c.call('device.traffic', bad), JSON.stringify(bad)).toMatchObject({ ok: false, error: { code: 'invalid-payload' } });
      expect(await c.call('device.capture', bad), JSON.stringify(bad)).toMatchObject({ ok: false, error: { code: 'invalid-payload' } });
    }
    expect(await c.call('device.capture', JSON.parse('{"peripheralId":"p","__proto__":{"x":1}}'))).toMatchObject({ ok: false, error: { code: 'invalid-payload' } });
    // nothing of it stopped the app: a device still connects
    await c.ok('device.connect', { peripheralId: id });
    expect((await c.ok<DeviceTrafficView>('device.traffic')).peripheralId).toBe(id);
  });
});

describe('recording never keeps a stop from the device', () => {
  for (const how of ['throws', 'is slow'] as const) {
    it(`when the recorder ${how}`, async () => {
      const c = await ready();
      const id = await c.find(/^Pro$/);
      await c.ok('device.connect', { peripheralId: id });
      const log = c.core.trafficLog();
      const s = await c.ok<SessionStartResult>('session.start', { muscleGroup: 'upper-back', plannedMotorSeconds: 60 });
      await c.ok('session.setStep', { sessionId: s.sessionId, intensity: 0.4 });
      await c.ok('session.heartbeat', { sessionId: s.sessionId });
      await until(() => simWrites(c, id).some((w) => hex(w.bytes) !== THERAGUN_STOP && w.bytes[0] === 0xaa && w.bytes[2] === 0x01), 3000, 'the motor running');
      const spy = vi.spyOn(log, 'add').mockImplementation(() => {
        if (how === 'throws') throw new Error('the recorder broke');
        const end = performance.now() + 200;
        while (performance.now() < end) {
          /* a recorder stuck for 200 ms on every record */
        }
        throw new Error('and then it broke');
      });
      const sent = simWrites(c, id).length;
      const reply = await c.call('device.stop');
      expect(reply.ok).toBe(true);
      // the stop frame reached the device (a generous deadline: the machine is shared)
      await until(() => simWrites(c, id).slice(sent).some((w) => hex(w.bytes) === THERAGUN_STOP), 5000, 'the stop on the wire');
      expect(c.core.simRadio()!.peripheral(id)!.state()).toMatchObject({ rpm: 0 });
      await until(() => spy.mock.calls.length > 0, 5000, 'the recorder called');
      spy.mockRestore();
      // the app goes on: the stop is confirmed and the traffic records again
      await eventually(async () => (await c.ok<DeviceStatusEvent>('device.get')).stop?.state === 'confirmed', 5000, 'the stop confirmed');
      await c.ok('session.start', { muscleGroup: 'shoulders', plannedMotorSeconds: 60 }).catch(() => undefined);
    });
  }
});
