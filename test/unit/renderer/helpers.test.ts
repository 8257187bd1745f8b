import { afterEach, describe, expect, it, vi } from 'vitest';
import { historyCsv, normaliseHistory } from '../../../renderer/src/screens/History';
import { rssiBars } from '../../../renderer/src/components/SignalBars';
import { sortDevices } from '../../../renderer/src/screens/Devices';
import type { DeviceStatusEvent, ScanEntry } from '../../../electron/ipc/contract';
import { deviceConnected, deviceLinkUp, type State } from '../../../renderer/src/store';

describe('history', () => {
  it('reads the usage log shape (days with per-group motor seconds)', () => {
    const raw = {
      days: [
        { date: '2025-01-02', groups: { neck: { motorSeconds: 90, motorMinutes: 1.5, painEvents: 0 }, 'upper-back': { motorSeconds: 240, motorMinutes: 4, painEvents: 1 } } },
        { date: '2025-01-01', groups: { 'lower-back': { motorSeconds: 30, motorMinutes: 0.5, painEvents: 0 } } },
      ],
      painEvents: [],
    };
    const days = normaliseHistory(raw);
    expect(days.map((d) => d.date)).toEqual(['2025-01-01', '2025-01-02']);
    expect(days[1]?.seconds).toEqual({ neck: 90, 'upper-back': 240 });
    expect(days[1]?.pain).toEqual({ 'upper-back': 1 });
    expect(days[0]?.pain).toBeUndefined();
    expect(historyCsv(days).split('\n')[0]).toBe('date,neck_seconds,shoulders_seconds,upper-back_seconds,rhomboids_seconds,lower-back_seconds');
    expect(historyCsv(days).split('\n')[2]).toBe('2025-01-02,90,0,240,0,0');
  });

  it('also reads flat rows and ignores junk', () => {
    const days = normaliseHistory([{ day: '2025-02-01', muscleGroup: 'rhomboids', seconds: 60 }, { day: '2025-02-01', muscleGroup: 'rhomboids', usedSeconds: 30 }, null, { date: '', muscleGroup: 'neck' }, { date: '2025-02-01', muscleGroup: 'knee', seconds: 5 }]);
    expect(days).toEqual([{ date: '2025-02-01', seconds: { rhomboids: 90 } }]);
    expect(normaliseHistory('nonsense')).toEqual([]);
  });
});

describe('devices', () => {
  it('maps RSSI to bars', () => {
    expect(rssiBars(-50)).toBe(4);
    expect(rssiBars(-65)).toBe(3);
    expect(rssiBars(-75)).toBe(2);
    expect(rssiBars(-85)).toBe(1);
    expect(rssiBars(-95)).toBe(0);
    expect(rssiBars(127)).toBe(0);
  });

  it('lists remembered devices first, then in a stable order that ignores signal', () => {
    const e = (name: string, rssi: number, remembered = false): ScanEntry =>
      ({ peripheralId: name.toLowerCase(), name, rssi, simulated: true, candidates: [], lastSeenMs: 0, advertisement: { serviceUuids: [] }, ...(remembered ? { remembered } : {}) }) as ScanEntry;
    expect(sortDevices([e('B', -40), e('A', -90), e('C', -70, true)]).map((d) => d.name)).toEqual(['C', 'A', 'B']);
  });
});

describe('bridge client over the preload', () => {
  afterEach(() => {
    vi.resetModules();
    delete (globalThis as { window?: unknown }).window;
  });

  it('calls window.unknot[methodName] and unwraps results and refusals', async () => {
    const sessionStart = vi.fn(async () => ({ ok: true, result: { sessionId: 's1', grantedMotorSeconds: 120, shortened: true, intensityFactor: 1 } }));
    const usageToday = vi.fn(async () => ({ ok: false, error: { code: 'budget-exhausted', message: 'No time left today.' } }));
    const listeners: ((p: unknown) => void)[] = [];
    const onSessionEnded = vi.fn((l: (p: unknown) => void) => {
      listeners.push(l);
      return () => listeners.splice(listeners.indexOf(l), 1);
    });
    (globalThis as { window?: unknown }).window = { unknot: { sessionStart, usageToday, onSessionEnded } };
    const api = await import('../../../renderer/src/api');
    const r = await api.call('session.start', { muscleGroup: 'neck', plannedMotorSeconds: 180, routineId: 'neck-knot' });
    expect(r.grantedMotorSeconds).toBe(120);
    expect(sessionStart).toHaveBeenCalledWith({ muscleGroup: 'neck', plannedMotorSeconds: 180, routineId: 'neck-knot' });
    await expect(api.call('usage.today')).rejects.toMatchObject({ code: 'budget-exhausted', message: 'No time left today.' });
    const got: unknown[] = [];
    const off = api.on('session.ended', (p) => got.push(p));
    listeners.forEach((l) => l({ reason: 'watchdog' }));
    off();
    expect(got).toEqual([{ reason: 'watchdog' }]);
    expect(listeners).toHaveLength(0);
    await expect(api.call('device.stop')).rejects.toMatchObject({ code: 'unknown-channel' });
  });
});

describe('the link selectors', () => {
  it('keep the panel while a device reconnects, but offer no start until its link is up (main refuses one then)', () => {
    const at = (connection: DeviceStatusEvent['connection']) => ({ device: { connection } }) as unknown as State;
    expect(['connected', 'reconnecting', 'connecting', 'disconnected'].map((c) => deviceConnected(at(c as DeviceStatusEvent['connection'])))).toEqual([true, true, false, false]);
    expect(['connected', 'reconnecting', 'connecting', 'disconnected'].map((c) => deviceLinkUp(at(c as DeviceStatusEvent['connection'])))).toEqual([true, false, false, false]);
  });
});
