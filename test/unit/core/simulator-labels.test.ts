/**
 * Simulators carry their protocol id and the words of their faults and actions (issue 15,
 * part 2): `sim.state` sends them as each simulator says them, instead of main re-identifying
 * the peripheral from its advertisement and the renderer holding a table of labels.
 * (The check that every fault has a label moved here from test/unit/renderer/helpers.test.ts.)
 */
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { RADIO_FAULT_LABELS, Simulator } from '../../../electron/core/simulator';
import { SIM_FAULTS } from '../../../electron/ble/sim-radio';
import type { CoreOptions } from '../../../electron/core/context';
import { all, BUILT_IN_PROFILES, createRegistry, identify } from '../../../protocols/registry';
import { simulateNodoMini } from '../../../protocols/sim/nodo-mini';
import type { SimulatedPeripheral } from '../../../protocols/types';
import { FakeClock } from '../helpers/fake-clock';

const madeUp = JSON.parse(readFileSync(new URL('../protocols/fixtures/made-up/profiles/knotless-k1.json', import.meta.url), 'utf8')) as { id: string };

/** Every action of `sim` has words of its own that are not its raw name. */
function unlabelled(sim: SimulatedPeripheral): string[] {
  return (sim.actions ?? []).filter((a) => {
    const label = sim.actionLabels?.[a];
    return typeof label !== 'string' || label.trim() === '' || label === a;
  });
}

let simulator: Simulator | null = null;
afterEach(() => {
  simulator?.dispose();
  simulator = null;
});

describe('simulated peripherals carry their protocol and their labels', () => {
  it('each built-in simulator, the generated one and the Nodo Mini name the protocol they speak', () => {
    for (const m of all()) expect(m.simulate().protocolId).toBe(m.id);
    const registry = createRegistry([...BUILT_IN_PROFILES, madeUp]);
    const generated = registry.get(madeUp.id)!.simulate();
    expect(generated.protocolId).toBe(madeUp.id);
    expect(simulateNodoMini().protocolId).toBe('nodo-mini');
  });

  it('every action of every simulator has a label of its own (no raw names on buttons)', () => {
    const registry = createRegistry([...BUILT_IN_PROFILES, madeUp]);
    const sims = [...registry.all().map((m) => m.simulate()), simulateNodoMini()];
    const actions = sims.flatMap((s) => s.actions ?? []);
    expect(actions.length).toBeGreaterThan(10);
    expect(sims.flatMap((s) => unlabelled(s).map((a) => `${s.address}:${a}`))).toEqual([]);
    // A chair's remote and a pad's checksum order say what they are.
    const chair = registry.get('rongtai')!.simulate();
    expect(chair.actionLabels?.['remote-speed-max']).toBe('Set speed 6 on its remote');
  });

  it('sim.state sends each peripheral its own protocol id and a label for every fault it offers, and for clear', () => {
    const clock = new FakeClock();
    simulator = new Simulator(
      { options: {} as CoreOptions, broadcast: () => undefined, clock },
      () => undefined,
      () => ({ state: 'poweredOn', transports: [] }) as never,
    );
    simulator.enable();
    const state = simulator.state();
    expect(state.length).toBeGreaterThanOrEqual(4);
    const nodo = state.find((p) => p.peripheralId === 'sim-nodo-mini')!;
    // No built-in profile identifies the Nodo Mini from its advertisement: its simulator says what it speaks.
    expect(identify(simulateNodoMini().advertisement)).toEqual([]);
    expect(nodo.protocolId).toBe('nodo-mini');
    expect(state.find((p) => p.peripheralId === 'sim-theragun-pro')?.protocolId).toBe('theragun');
    for (const p of state) {
      const sim = simulator.simRadio()!.peripheral(p.peripheralId)!;
      expect(p.protocolId).toBe(sim.protocolId);
      const missing = [...p.faults, 'clear'].filter((f) => !p.faultLabels[f] || p.faultLabels[f] === f);
      expect({ peripheral: p.peripheralId, missing }).toEqual({ peripheral: p.peripheralId, missing: [] });
      expect(p.faults).toEqual(expect.arrayContaining(SIM_FAULTS.map((f) => f.name)));
    }
    expect(state[0]!.faultLabels['drop-link']).toBe(RADIO_FAULT_LABELS['drop-link']);
    expect(nodo.faultLabels['button-power']).toBe('Press its power button');
  });
});
