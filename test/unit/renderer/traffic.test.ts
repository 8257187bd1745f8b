/**
 * The renderer's side of a device's traffic: the store slice keyed by peripheral id (filled
 * from `device.traffic` answers and events, at most 200 per device, no entry doubled when
 * an event overtakes the answer), its selector, the controller's read, and the table the
 * device panel shows.
 */
import { describe, expect, it } from 'vitest';
import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { createController } from '../../../renderer/src/controller';
import { TRAFFIC_KEPT, createStore, trafficOf, withTraffic } from '../../../renderer/src/store';
import { TrafficLog, shortUuid } from '../../../renderer/src/components/TrafficLog';
import type { TrafficEntry } from '../../../renderer/src/contract';
import { bridgeOver } from './support';

const at = (t: number): string => new Date(Date.UTC(2025, 0, 1, 12, 0, 0) + t).toISOString();
const note = (t: number, hex = 'bb01'): TrafficEntry => ({ type: 'notification', t, at: at(t), service: 'ffe0', characteristic: 'ffe1', hex, decoded: true });
const write = (t: number, hex: string, extra: Partial<Extract<TrafficEntry, { type: 'write' }>> = {}): TrafficEntry => ({
  type: 'write',
  t,
  at: at(t),
  service: 'ffe0',
  characteristic: 'ffe2',
  hex,
  withResponse: true,
  purpose: 'step',
  outcome: 'written',
  ...extra,
});

describe('the traffic slice', () => {
  it('appends events per device, keeps the latest 200, and the selector reads the connected device by default', () => {
    let traffic = withTraffic({}, 'a', [note(1), note(2)]);
    traffic = withTraffic(traffic, 'b', [note(3)]);
    traffic = withTraffic(traffic, 'a', Array.from({ length: 250 }, (_, i) => note(10 + i, i.toString(16))));
    expect(traffic.a).toHaveLength(TRAFFIC_KEPT);
    expect(traffic.a!.at(-1)).toMatchObject({ t: 259 });
    expect(traffic.a![0]).toMatchObject({ t: 60 });
    expect(trafficOf({ traffic, device: { connection: 'connected', peripheralId: 'b' } })).toEqual([note(3)]);
    expect(trafficOf({ traffic, device: { connection: 'connected', peripheralId: 'b' } }, 'a')).toBe(traffic.a);
    // the same empty list when there is none (a stable selector result for useSyncExternalStore)
    expect(trafficOf({ traffic, device: { connection: 'disconnected' } })).toBe(trafficOf({ traffic: {}, device: { connection: 'disconnected' } }));
  });

  it('an answer replaces what was there but keeps the events newer than its last entry', () => {
    const had = withTraffic({}, 'a', [note(5), note(9)]);
    const next = withTraffic(had, 'a', [note(1), note(5)], true);
    expect(next.a!.map((e) => e.t)).toEqual([1, 5, 9]);
  });
});

describe('the controller', () => {
  it('reads a device’s traffic into the store', async () => {
    const store = createStore();
    const asked: unknown[] = [];
    const controller = createController({
      store,
      bridge: bridgeOver({
        deviceTraffic: async (p: unknown) => {
          asked.push(p);
          return { ok: true, result: { peripheralId: 'sim-theragun-pro', name: 'Pro', entries: [write(1, 'aa070103000003', { purpose: 'stop' })] } };
        },
      }),
    });
    await controller.refreshTraffic('sim-theragun-pro');
    expect(asked).toEqual([{ peripheralId: 'sim-theragun-pro' }]);
    expect(store.getState().traffic['sim-theragun-pro']).toHaveLength(1);
    // a refusal leaves it as it was
    const refused = createController({ store, bridge: bridgeOver({ deviceTraffic: async () => ({ ok: false, error: { code: 'not-connected' } }) }) });
    await refused.refreshTraffic('sim-theragun-pro');
    expect(store.getState().traffic['sim-theragun-pro']).toHaveLength(1);
  });
});

describe('the traffic table', () => {
  it('shows the latest entries newest first: time, direction, characteristic short form, hex, and what went wrong', () => {
    const entries: TrafficEntry[] = [
      { type: 'link', t: 0, at: at(0), event: 'connected', detail: 'MTU 23' },
      write(10, 'aae3010306d603'),
      write(20, 'aa070103000003', { purpose: 'stop', outcome: 'timed-out', error: 'no answer' }),
      { type: 'notification', t: 30, at: at(30), service: '4e4f00010000100080004e4f444f0001', characteristic: '4e4f00030000100080004e4f444f0001', hex: '00ff', decoded: false, reason: 'bad checksum' },
    ];
    const html = renderToStaticMarkup(createElement(TrafficLog, { entries, limit: 3 }));
    // the oldest of the four is past the limit
    expect(html).not.toContain('Connected');
    const rows = html.split('<tr').slice(2);
    expect(rows).toHaveLength(3);
    expect(rows[0]).toContain('from device');
    expect(rows[0]).toContain('4e4f0003…');
    expect(rows[0]).toContain('00 ff');
    expect(rows[0]).toContain('not understood');
    expect(rows[1]).toContain('to device');
    expect(rows[1]).toContain('aa 07 01 03 00 00 03');
    expect(rows[1]).toContain('stop, timed out');
    expect(rows[1]).toContain('traffic-bad');
    expect(rows[2]).toContain('ffe2');
    expect(rows[2]).toMatch(/\d\d:\d\d:\d\d\.010/);
    expect(renderToStaticMarkup(createElement(TrafficLog, { entries: [] }))).toContain('Nothing sent or received yet.');
    expect(renderToStaticMarkup(createElement(TrafficLog, { entries, notificationsOnly: true })).split('<tr').length - 2).toBe(1);
    expect(shortUuid('ffe1')).toBe('ffe1');
  });
});
