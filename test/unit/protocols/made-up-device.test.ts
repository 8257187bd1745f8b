/**
 * A new device is one JSON profile and its vectors: a made-up cushion, kept in a fixture
 * folder this test points a registry at (nothing else in the repository knows it), is
 * recognised among the built-in devices, simulated from its data (the generated
 * simulator), driven through a session, and passes the conformance kit.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { toHex } from '../../../protocols/bytes';
import { BUILT_IN_PROFILES, createRegistry } from '../../../protocols/registry';
import { connectSim, contextFor, fakeClock } from './helpers';
import { conformanceKit, type VectorFile } from './kit';

const FIXTURE = new URL('./fixtures/made-up/', import.meta.url);
const readJson = (dir: string, file: string): unknown => JSON.parse(readFileSync(new URL(`${dir}/${file}`, FIXTURE), 'utf8'));
const fixtureProfiles = readdirSync(new URL('profiles/', FIXTURE)).filter((f) => f.endsWith('.json')).map((f) => readJson('profiles', f));
const registry = createRegistry([...BUILT_IN_PROFILES, ...fixtureProfiles]);
const loadVectors = (id: string): VectorFile => readJson('vectors', `${id}.json`) as VectorFile;
const madeUp = (id: string): boolean => fixtureProfiles.some((p) => (p as { id: string }).id === id);

describe('a made-up device added as one profile file and its vectors', () => {
  it('is registered beside the built-in devices and recognised by its advertisement', () => {
    expect(registry.all().map((m) => m.id)).toEqual(['theragun', 'rongtai', 'jieli-ems', 'knotless-k1']);
    expect(registry.identify({ serviceUuids: [], manufacturerData: Uint8Array.of(0xff, 0xff, 0x4b, 0x31) })).toEqual([
      { module: registry.get('knotless-k1'), confidence: 'strong', model: 'K1' },
    ]);
    expect(registry.identify({ localName: 'KNOT-3', serviceUuids: [] }).map((c) => [c.module.id, c.confidence, c.model])).toEqual([['knotless-k1', 'candidate', 'KNOT-3']]);
    // The built-in devices are still found as before.
    expect(registry.identify({ localName: 'Pro', serviceUuids: [] }).map((c) => c.module.id)).toEqual(['theragun']);
    expect(registry.get('knotless-k1')?.experimental).toMatch(/made-up/);
  });

  it('is simulated from its data: demo mode gets it, and a session runs, stops and confirms the stop on it', () => {
    const sims = registry.simulateAll();
    expect(sims.map((s) => s.address)).toContain('sim-knotless-k1');
    const module = registry.get('knotless-k1')!;
    const sim = module.simulate();
    expect(registry.identify(sim.advertisement)[0]?.module).toBe(module);
    const opened = module.open(contextFor(sim, fakeClock().now));
    if (!opened.ok) throw new Error(opened.reason);
    const session = opened.session;
    expect(session.capabilities).toMatchObject({ steps: 10, minRunningStep: 2, modes: ['knead', 'tap'], heat: true, battery: true });
    expect(session.keepalive?.intervalMs).toBe(1000);
    const notes = connectSim(sim, session.notify);
    const send = (writes: ReturnType<typeof session.encode>) => {
      for (const w of writes) expect(sim.onWrite(w.service, w.characteristic, w.bytes, w.withResponse)).toBe(true);
    };
    send(session.encode({ type: 'setMotion', motion: 'back-and-forth' }));
    send(session.encode({ type: 'setIntensity', value: 0.7 }));
    expect(sim.state()).toMatchObject({ step: 7, running: true, mode: 2, badFrames: 0 });
    const running = session.decode(notes.at(-1)!);
    expect(running).toMatchObject({ kind: 'status', status: { running: true, level: 7, mode: 'tap', levelIsIntensity: true } });
    send(session.encode({ type: 'stop' }));
    expect(sim.state()).toMatchObject({ step: 0, running: false });
    const stopped = session.decode(notes.at(-1)!);
    expect(stopped.kind === 'status' && session.stopProof?.judge(stopped.status, 10)).toBe('off');
    // The second stop step is the `off` frame, and the simulator takes it as a stop.
    sim.act?.('ignore-next-stop');
    send(session.encode({ type: 'setIntensity', value: 0.3 }));
    send(session.encode({ type: 'stop' }));
    expect(sim.state()).toMatchObject({ running: true, stopsIgnored: 1 });
    const [escalation] = session.stopEscalation?.() ?? [];
    expect(escalation?.map((w) => toHex(w.bytes))).toEqual(['A5 05 13 23 7E']);
    send(escalation!);
    expect(sim.state()).toMatchObject({ running: false, badFrames: 0 });
  });
});

conformanceKit(registry, loadVectors, (m) => madeUp(m.id));
