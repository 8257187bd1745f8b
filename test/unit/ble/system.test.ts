import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { explainLoadFailure, loadSystemTransport, UnavailableTransport } from '../../../electron/ble/system';
import { NobleTransport } from '../../../electron/ble/noble-transport';
import { GattError } from '../../../electron/ble/types';
import { SimRadio } from '../../../electron/ble/sim-radio';

const require = createRequire(import.meta.url);

function nobleLoadError(): unknown {
  try {
    require('@abandonware/noble');
    return undefined;
  } catch (error) {
    return error;
  }
}

describe('loadSystemTransport', () => {
  const loadError = nobleLoadError();

  it.runIf(loadError !== undefined)('reports "unavailable" with its reason on a machine without Bluetooth, instead of throwing', async () => {
    const transport = loadSystemTransport();
    expect(transport).toBeInstanceOf(UnavailableTransport);
    const state = transport.adapterState();
    expect(state.state).toBe('unavailable');
    expect(state.message).toBe(explainLoadFailure(loadError));
    if ((loadError as { code?: string }).code === 'EAFNOSUPPORT') {
      expect(state.message).toBe('This computer has no Bluetooth support that Unknot can use (EAFNOSUPPORT: no Bluetooth socket family).');
    }
    expect(state.hint).toBe('Plug in a Bluetooth LE adapter and restart Unknot, or try the simulated devices.');
    const scan = await transport.startScan(() => undefined).catch((e: unknown) => e);
    expect(scan).toBeInstanceOf(GattError);
    expect((scan as GattError).code).toBe('adapter-off');
    expect((scan as GattError).message).toContain(state.message);
    await expect(transport.connect('aa', 1000)).rejects.toMatchObject({ code: 'adapter-off' });
    await expect(transport.stopScan()).resolves.toBeUndefined();
    expect(transport.onAdapterState(() => undefined)).toBeTypeOf('function');
  });

  it('never throws, whatever loading noble throws', () => {
    const errors: unknown[] = [
      Object.assign(new Error('EAFNOSUPPORT, Address family not supported by protocol'), { code: 'EAFNOSUPPORT' }),
      Object.assign(new Error("Cannot find module '@abandonware/noble'"), { code: 'MODULE_NOT_FOUND' }),
      new Error('boom'),
      'a string',
      null,
    ];
    for (const error of errors) {
      const transport = loadSystemTransport({
        load: () => {
          throw error;
        },
        platform: 'linux',
      });
      expect(transport.adapterState().state).toBe('unavailable');
      expect(transport.adapterState().message.length).toBeGreaterThan(10);
    }
    expect(loadSystemTransport({ load: () => ({}) }).adapterState().state).toBe('unavailable');
    expect(explainLoadFailure(Object.assign(new Error('x'), { code: 'MODULE_NOT_FOUND' }))).toBe("Unknot's Bluetooth component is missing (x).");
    expect(explainLoadFailure(new Error('boom'))).toBe('Bluetooth could not be started: boom.');
  });

  it('wraps a noble that loads in a NobleTransport', async () => {
    const radio = new SimRadio();
    const withBindings = require('@abandonware/noble/with-bindings') as (b: unknown) => unknown;
    const transport = loadSystemTransport({ load: () => withBindings(radio) });
    expect(transport).toBeInstanceOf(NobleTransport);
    expect(transport.name).toBe('noble');
    await (transport as NobleTransport).dispose();
    radio.dispose();
  });
});
