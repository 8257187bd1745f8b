/**
 * The simulator concern (demo mode): the simulated radio with one peripheral per
 * protocol, the noble transport over it, and the `sim.*` and `demo.enable` slice of the
 * handler map — what each simulated peripheral decoded, and the faults and actions a
 * user (or a test) can inject. Its `sim.state` event is sent at most every 30 ms.
 */
import withBindings from '@abandonware/noble/with-bindings';
import { registry } from '../../protocols';
import { simulateNodoMini } from '../../protocols/sim/nodo-mini';
import { NobleTransport, type NobleLike } from '../ble/noble-transport';
import { SIM_FAULTS, SimRadio, type SimFaultName } from '../ble/sim-radio';
import type { Transport } from '../ble/types';
import { Refusal, type Handlers } from '../ipc/boundary';
import type { AdapterInfo, SimPeripheralState } from '../ipc/contract';
import type { CoreContext } from './context';

/** The channels this concern answers. */
export type SimulatorChannels = 'sim.*' | 'demo.enable';

/** How long `sim.state` events are held back to bunch the radio's changes, ms. */
const SIM_STATE_BATCH_MS = 30;

/**
 * The demo panel's words for the radio's faults (every simulated peripheral takes them) and
 * for `clear`; a peripheral's own actions carry their words themselves.
 */
export const RADIO_FAULT_LABELS: Readonly<Record<SimFaultName | 'clear', string>> = Object.freeze({
  'drop-link': 'Drop the link',
  'drop-link-mid-write': 'Drop during a write',
  'no-write-response': 'Never answer writes',
  'no-discovery-response': 'Never answer discovery',
  slow: 'Answer slowly',
  'garbage-notifications': 'Garbage notifications',
  'truncated-notifications': 'Cut notifications short',
  'adapter-off': 'Adapter off',
  'adapter-on': 'Adapter on',
  'refuse-connection': 'Refuse connections',
  'stop-advertising': 'Stop advertising',
  'resume-advertising': 'Advertise again',
  clear: 'Clear faults',
});

/** See the module comment. */
export class Simulator {
  private radio: SimRadio | null = null;
  private transport: Transport | null = null;
  private stateTimer: ReturnType<typeof setTimeout> | null = null;

  /**
   * @param onEnabled called once, when demo mode comes on, with the simulated transport (the scan adds it)
   * @param adapterInfo what `demo.enable` answers after enabling
   */
  constructor(
    private readonly ctx: Pick<CoreContext, 'options' | 'broadcast' | 'clock'>,
    private readonly onEnabled: (transport: Transport) => void,
    private readonly adapterInfo: () => AdapterInfo,
  ) {}

  /** Whether demo mode is on. */
  get enabled(): boolean {
    return this.radio !== null;
  }

  /** The simulated radio, for tests and the benchmark (null before demo mode). */
  simRadio(): SimRadio | null {
    return this.radio;
  }

  /** The noble transport over the simulated radio, for tests (null before demo mode). */
  simTransport(): Transport | null {
    return this.transport;
  }

  /** Turns demo mode on (once): the simulated peripherals join the scan. */
  enable(): void {
    if (this.radio) return;
    const latency = this.ctx.options.simLatencyMs;
    const radio = new SimRadio({ ...(latency !== undefined ? { latencyMs: latency } : {}) });
    for (const sim of registry.simulateAll()) radio.addPeripheral(sim);
    // One device no built-in profile knows, for the device lab (issue 17).
    radio.addPeripheral(simulateNodoMini());
    this.radio = radio;
    const noble = withBindings(radio) as unknown as NobleLike;
    // Heard times on the core's wall clock, which the scanner fades entries by.
    const clock = this.ctx.clock;
    this.transport = new NobleTransport(noble, { simulated: true, wallClock: () => clock.wallNow() });
    this.onEnabled(this.transport);
    radio.onStateChange(() => this.scheduleState());
    radio.onWrite(() => this.scheduleState());
    this.ctx.broadcast('adapter.state', this.adapterInfo());
  }

  /** Closes the radio. */
  dispose(): void {
    this.radio?.dispose();
    if (this.stateTimer) clearTimeout(this.stateTimer);
    this.stateTimer = null;
  }

  /** The handlers of this concern's channels. */
  handlers(): Handlers<SimulatorChannels> {
    return {
      'demo.enable': () => {
        this.enable();
        return this.adapterInfo();
      },
      'sim.state': () => this.state(),
      'sim.fault': ({ peripheralId, fault }) => {
        if (!this.radio) throw new Refusal('refused', 'Simulated devices are off. Turn on demo mode first.');
        const sim = this.radio.peripheral(peripheralId);
        if (!sim) throw new Refusal('refused', `No simulated device "${peripheralId}".`);
        if (SIM_FAULTS.some((f) => f.name === fault)) this.radio.inject(peripheralId, fault as SimFaultName);
        else if (fault === 'clear') this.radio.clearFaults(peripheralId);
        else if (sim.actions?.includes(fault)) sim.act?.(fault);
        else throw new Refusal('invalid-payload', `Unknown fault "${fault}".`);
        return this.state();
      },
    };
  }

  /**
   * What each simulated peripheral decoded, the protocol it speaks (its own word), and which
   * faults it takes with their labels (an action its simulator gave no words shows its name).
   */
  state(): SimPeripheralState[] {
    const radio = this.radio;
    if (!radio) return [];
    return radio.snapshots().map((s) => {
      const sim = radio.peripheral(s.id);
      const faults = [...SIM_FAULTS.map((f) => f.name), ...(sim?.actions ?? [])];
      const faultLabels: Record<string, string> = { clear: RADIO_FAULT_LABELS.clear };
      for (const f of SIM_FAULTS) faultLabels[f.name] = RADIO_FAULT_LABELS[f.name];
      for (const a of sim?.actions ?? []) faultLabels[a] = sim?.actionLabels?.[a] ?? a;
      return {
        peripheralId: s.id,
        name: s.localName,
        protocolId: sim?.protocolId ?? 'unknown',
        connected: s.connected,
        readout: s.readout,
        state: s.state,
        faults,
        faultLabels,
      };
    });
  }

  private scheduleState(): void {
    if (this.stateTimer) return;
    this.stateTimer = setTimeout(() => {
      this.stateTimer = null;
      this.ctx.broadcast('sim.state', this.state());
    }, SIM_STATE_BATCH_MS);
  }
}
