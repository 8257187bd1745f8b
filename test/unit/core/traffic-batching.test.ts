/**
 * The `device.traffic` event is batched: a device notifying 50 times a second sends at most
 * one event every 250 ms, each with every entry new since the last (none lost, none doubled),
 * and a batch too large for one message carries the latest 200 and says how many it left out.
 */
import { describe, expect, it } from 'vitest';
import type { CoreContext } from '../../../electron/core/context';
import type { Devices } from '../../../electron/core/devices';
import { DeviceTraffic, TRAFFIC_EVENT_GAP_MS } from '../../../electron/core/traffic';
import type { DeviceTrafficBatch } from '../../../electron/ipc/contract';

function setup() {
  let now = 0;
  const timers: { at: number; fn: () => void; id: number }[] = [];
  let ids = 0;
  const clock = {
    now: () => now,
    wallNow: () => Date.UTC(2025, 0, 1) + now,
    setTimeout: (fn: () => void, ms: number) => {
      timers.push({ at: now + ms, fn, id: ++ids });
      return ids;
    },
    clearTimeout: (id: unknown) => {
      const i = timers.findIndex((t) => t.id === id);
      if (i >= 0) timers.splice(i, 1);
    },
  };
  const advance = (ms: number): void => {
    const end = now + ms;
    for (;;) {
      const due = timers.filter((t) => t.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      timers.splice(timers.indexOf(due), 1);
      now = Math.max(now, due.at);
      due.fn();
    }
    now = end;
  };
  const sent: { atMs: number; batch: DeviceTrafficBatch }[] = [];
  const ctx = {
    clock,
    options: { version: 't' },
    broadcast: (event: string, payload: unknown) => {
      if (event === 'device.traffic') sent.push({ atMs: now, batch: payload as DeviceTrafficBatch });
    },
  } as unknown as CoreContext;
  const devices = { current: () => null } as unknown as Devices;
  const traffic = new DeviceTraffic(ctx, devices);
  const info = (id: string) => ({ peripheralId: id, name: id, address: id, rssi: -50, lastSeenMs: 0, advertisement: { serviceUuids: [] }, protocolId: 'p', protocolName: 'P', simulated: true });
  return { traffic, advertise: info, advance, sent, now: () => now };
}

describe('the device.traffic event', () => {
  it('a 50 Hz notifier sends at most one event per 250 ms, with every entry once, in order', () => {
    const { traffic, advertise, advance, sent, now } = setup();
    const sink = traffic.sinkFor(advertise('gun'));
    for (let i = 0; i < 100; i++) {
      sink.record({ type: 'notification', service: 'ffe0', characteristic: 'ffe1', hex: i.toString(16).padStart(2, '0'), decoded: true, atMs: now() });
      advance(20); // 50 per second, for 2 s
    }
    advance(1000);
    // 2 s of notifications: about 8 events, never 100
    expect(sent.length).toBeGreaterThanOrEqual(2);
    expect(sent.length).toBeLessThanOrEqual(Math.ceil(2000 / TRAFFIC_EVENT_GAP_MS) + 1);
    for (let i = 1; i < sent.length; i++) expect(sent[i]!.atMs - sent[i - 1]!.atMs).toBeGreaterThanOrEqual(TRAFFIC_EVENT_GAP_MS);
    const all = sent.flatMap((s) => s.batch.entries.map((e) => (e.type === 'notification' ? e.hex : '')));
    expect(all).toEqual(Array.from({ length: 100 }, (_, i) => i.toString(16).padStart(2, '0')));
    expect(sent.every((s) => s.batch.peripheralId === 'gun' && s.batch.skipped === undefined)).toBe(true);
  });

  it('each device is batched on its own', () => {
    const { traffic, advertise, advance, sent, now } = setup();
    const a = traffic.sinkFor(advertise('a'));
    const b = traffic.sinkFor(advertise('b'));
    a.record({ type: 'link', event: 'connected', atMs: now() });
    b.record({ type: 'link', event: 'connected', atMs: now() });
    advance(10);
    expect(sent.map((s) => s.batch.peripheralId).sort()).toEqual(['a', 'b']);
  });

  it('a burst larger than one batch sends its latest 200 and counts the rest; the buffer keeps them all', () => {
    const { traffic, advertise, advance, sent, now } = setup();
    const sink = traffic.sinkFor(advertise('gun'));
    for (let i = 0; i < 450; i++) sink.record({ type: 'write', service: 'ffe0', characteristic: 'ffe2', hex: `${i}`, withResponse: true, purpose: 'step', outcome: 'written', atMs: now() });
    advance(10);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.batch.entries).toHaveLength(200);
    expect(sent[0]!.batch.skipped).toBe(250);
    expect(sent[0]!.batch.entries.at(-1)).toMatchObject({ hex: '449' });
    expect(traffic.log.entries('gun')).toHaveLength(450);
    expect(traffic.view('gun').entries).toHaveLength(200);
  });

  it('nothing more is sent after dispose', () => {
    const { traffic, advertise, advance, sent, now } = setup();
    const sink = traffic.sinkFor(advertise('gun'));
    sink.record({ type: 'link', event: 'connected', atMs: now() });
    traffic.dispose();
    advance(1000);
    expect(sent).toEqual([]);
  });
});
