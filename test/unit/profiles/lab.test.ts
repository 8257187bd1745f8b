/**
 * The device lab (issue 17, parts 3 and 5): a read-only connection to a device no profile
 * knows (demo mode's Nodo Mini) shows its whole GATT table, reads a readable
 * characteristic, subscribes to a notifying one with a live log, and exports a capture of
 * that device alone. It writes no characteristic, never becomes the governor's motor, and
 * gives the device up when a massager connection wants it.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { DeviceStatusEvent, LabCapture, LabNotification, LabReadResult, LabView, ScanResults } from '../../../electron/ipc/contract';
import { captureFile, printableText } from '../../../electron/core/lab';
import { CAPTURE_EXPORT_NAME } from '../../../electron/main/window';
import { NODO_INFO, NODO_NOTIFY, NODO_SERVICE, NODO_WRITE } from '../../../protocols/sim/nodo-mini';
import { ALL_NO, startCore, until, type CoreHarness } from '../helpers/core-harness';

const NODO_PROFILE = readFileSync(join(__dirname, '../../fixtures/profiles/nodo-mini.json'), 'utf8');

let h: CoreHarness | null = null;
afterEach(async () => {
  await h?.core.shutdown();
  h = null;
});

async function labOnNodo(dataDir?: string): Promise<{ c: CoreHarness; id: string; view: LabView }> {
  const c = await startCore(dataDir);
  h = c;
  const id = await c.find(/^Nodo Mini$/);
  const view = await c.ok<LabView>('lab.connect', { peripheralId: id });
  return { c, id, view };
}

describe('printableText', () => {
  it('is the text of printable UTF-8 only', () => {
    expect(printableText(new TextEncoder().encode('fw 1.2\n'))).toBe('fw 1.2\n');
    expect(printableText(Uint8Array.of(0xaa, 0x81, 0x03))).toBeNull(); // not UTF-8
    expect(printableText(Uint8Array.of(0x41, 0x00, 0x42))).toBeNull(); // a control byte
    expect(printableText(new Uint8Array(0))).toBeNull();
  });
});

describe('captureFile', () => {
  it('names a capture so that Electron lets it through, whatever the device is called', () => {
    const at = Date.UTC(2026, 11, 1, 17, 3, 0, 250);
    const lab = captureFile('Nodo Mini', at, [{ type: 'capture' }, { type: 'read', hex: 'aa' }]);
    expect(lab).toEqual({ fileName: 'unknot-capture-Nodo-Mini-2026-12-01T17-03-00-250Z.jsonl', text: '{"type":"capture"}\n{"type":"read","hex":"aa"}\n', lines: 2 });
    expect(captureFile('Pro', at, [], 'traffic').fileName).toBe('unknot-capture-Pro-traffic-2026-12-01T17-03-00-250Z.jsonl');
    // a long or odd advertised name is cut and cleaned, never refused by the save dialog's check
    for (const name of ['x'.repeat(248), '../../etc/passwd', '   ', 'Ünknöt Mässage']) expect(captureFile(name, at, [], 'traffic').fileName).toMatch(CAPTURE_EXPORT_NAME);
  });
});

describe('the device lab', () => {
  it('shows the whole GATT table of an unknown device, reads it and logs its notifications, without a write or a motor', async () => {
    const { c, id, view } = await labOnNodo();
    expect(view).toMatchObject({ state: 'connected', peripheralId: id, name: 'Nodo Mini' });
    const own = view.services.find((s) => s.uuid === NODO_SERVICE)!;
    expect(own.characteristics).toEqual([
      { uuid: NODO_WRITE, properties: ['write', 'writeWithoutResponse'], descriptors: [], subscribed: false },
      { uuid: NODO_NOTIFY, properties: ['notify'], descriptors: ['2902'], subscribed: false },
      { uuid: NODO_INFO, properties: ['read'], descriptors: [], subscribed: false },
    ]);
    // every service, not only the ones a profile names: Battery and Device Information too
    expect(view.services.map((s) => s.uuid)).toEqual(expect.arrayContaining(['180f', '180a']));

    const info = await c.ok<LabReadResult>('lab.read', { service: NODO_SERVICE, characteristic: NODO_INFO });
    expect(info).toMatchObject({ hex: '4e4d2d3120667720302e33', text: 'NM-1 fw 0.3' });
    const battery = await c.ok<LabReadResult>('lab.read', { service: '180f', characteristic: '2a19' });
    // 64% is the byte 0x40, which happens to be printable ("@"); the lab shows both
    expect(battery).toMatchObject({ hex: '40', text: '@' });

    const subscribed = await c.ok<LabView>('lab.subscribe', { service: NODO_SERVICE, characteristic: NODO_NOTIFY });
    expect(subscribed.services.find((s) => s.uuid === NODO_SERVICE)!.characteristics[1]!.subscribed).toBe(true);
    // the cushion reports every second while a central listens: off, level 0, battery 64
    const first = await until(() => c.events.find((e) => e.event === 'lab.notification')?.payload as LabNotification | undefined, 5000, 'a notification');
    expect(first).toMatchObject({ peripheralId: id, service: NODO_SERVICE, characteristic: NODO_NOTIFY, hex: 'aa81030000406e' });
    expect((await c.ok<LabView>('lab.get')).log.length).toBeGreaterThan(0);

    // nothing reached a characteristic of the device, and the governor has no motor
    expect(c.core.simRadio()!.writes(id)).toEqual([]);
    expect(c.core.simRadio()!.peripheral(id)!.state()).toMatchObject({ level: 0, running: false, framesReceived: 0 });
    expect(await c.ok<DeviceStatusEvent>('device.get')).toEqual({ connection: 'disconnected' });
    expect(await c.call('session.start', { muscleGroup: 'upper-back', plannedMotorSeconds: 60 })).toMatchObject({ ok: false, error: { code: 'not-connected' } });
  });

  it('has no write path, and refuses what a characteristic does not declare', async () => {
    const { c } = await labOnNodo();
    expect(await c.call('lab.write', { service: NODO_SERVICE, characteristic: NODO_WRITE, hex: '550101015c' })).toMatchObject({ ok: false, error: { code: 'unknown-channel' } });
    expect(await c.call('lab.subscribe', { service: NODO_SERVICE, characteristic: NODO_WRITE, bytes: '0100' })).toMatchObject({ ok: false, error: { code: 'invalid-payload' } });
    expect(await c.call('lab.read', { service: NODO_SERVICE, characteristic: NODO_WRITE })).toMatchObject({ ok: false, error: { code: 'refused' } });
    expect(await c.call('lab.subscribe', { service: NODO_SERVICE, characteristic: NODO_INFO })).toMatchObject({ ok: false, error: { code: 'refused' } });
    expect(await c.call('lab.read', { service: NODO_SERVICE, characteristic: '2a19' })).toMatchObject({ ok: false, error: { code: 'refused' } });
    await c.ok('lab.disconnect');
    expect(await c.call('lab.read', { service: NODO_SERVICE, characteristic: NODO_INFO })).toMatchObject({ ok: false, error: { code: 'not-connected' } });
    expect(c.core.simRadio()!.writes()).toEqual([]);
  });

  it('exports a capture of that device alone as JSON lines: advertisement, table, reads, the subscription write, notifications, with times', async () => {
    const { c, id } = await labOnNodo();
    const others = ((await c.ok<ScanResults>('device.list')).devices).filter((d) => d.peripheralId !== id);
    expect(others.length).toBeGreaterThan(0);
    await c.ok('lab.read', { service: NODO_SERVICE, characteristic: NODO_INFO });
    await c.ok('lab.subscribe', { service: NODO_SERVICE, characteristic: NODO_NOTIFY });
    await until(() => c.events.filter((e) => e.event === 'lab.notification').length >= 2, 6000, 'two notifications');
    const capture = await c.ok<LabCapture>('lab.capture');
    expect(capture.fileName).toMatch(/^unknot-capture-Nodo-Mini-.+\.jsonl$/);
    const lines = capture.text.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.length).toBe(capture.lines);
    expect(lines.map((l) => l.type).slice(0, 4)).toEqual(['capture', 'advertisement', 'gatt', 'read']);
    expect(lines[1]).toMatchObject({ peripheralId: id, name: 'Nodo Mini', serviceUuids: [NODO_SERVICE], manufacturerData: 'ffff4e4d01' });
    expect(lines[3]).toMatchObject({ service: NODO_SERVICE, characteristic: NODO_INFO, hex: '4e4d2d3120667720302e33' });
    expect(lines.find((l) => l.type === 'write')).toMatchObject({ characteristic: NODO_NOTIFY, descriptor: '2902', hex: '0100', by: 'subscribe' });
    expect(lines.filter((l) => l.type === 'notification').length).toBeGreaterThanOrEqual(2);
    // times: every line has both, monotonic
    const ts = lines.map((l) => l.t as number);
    expect(ts.every((t, i) => typeof t === 'number' && (i === 0 || t >= ts[i - 1]!))).toBe(true);
    expect(lines.every((l) => typeof l.at === 'string' && !Number.isNaN(Date.parse(l.at)))).toBe(true);
    // no other nearby device
    for (const o of others) {
      expect(capture.text).not.toContain(o.peripheralId);
      expect(capture.text).not.toContain(o.name);
    }
  });

  it('is never the massager: a device connection takes the device from the lab, and the lab is refused a connected massager', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'unknot-lab-'));
    mkdirSync(join(dir, 'profiles'));
    writeFileSync(join(dir, 'profiles', 'nodo-mini.json'), NODO_PROFILE);
    const { c, id } = await labOnNodo(dir);
    await c.ok('screening.set', { answers: ALL_NO });
    await c.ok('settings.set', { doctorNoticeAcknowledged: true });
    const status = await c.ok<DeviceStatusEvent>('device.connect', { peripheralId: id });
    expect(status).toMatchObject({ connection: 'connected', protocolId: 'nodo-mini' });
    expect(await c.ok<LabView>('lab.get')).toMatchObject({ state: 'disconnected', captureReady: true });
    expect(await c.call('lab.connect', { peripheralId: id })).toMatchObject({ ok: false, error: { code: 'refused' } });
  });
});
