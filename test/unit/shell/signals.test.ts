/**
 * The Electron main process's signal handlers (electron/main/power.ts): every catchable
 * terminating signal quits through the stop, and Ctrl+Z stops every massager and waits
 * for the device's proof before the process stops itself (attack F4/F5 on the Electron
 * side; the browser host's are tested on real processes in test/unit/host/signals.test.ts).
 */
import { EventEmitter } from 'node:events';
import { describe, expect, it, vi } from 'vitest';
import { QUIT_SIGNALS, installSignalHandlers, type SignalProcess } from '../../../electron/main/power';
import type { DeviceStatusEvent } from '../../../electron/ipc/contract';
import { fakeCore } from './fakes';

const fakeProcess = (): EventEmitter & SignalProcess => new EventEmitter() as EventEmitter & SignalProcess;

describe('Electron main: signals', () => {
  it('SIGUSR2, SIGALRM, SIGQUIT and the rest quit through the stop, as SIGINT does', () => {
    expect(QUIT_SIGNALS).toEqual(expect.arrayContaining(['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR2', 'SIGALRM', 'SIGXCPU']));
    expect(QUIT_SIGNALS).not.toContain('SIGUSR1');
    for (const signal of ['SIGUSR2', 'SIGALRM', 'SIGQUIT', 'SIGINT'] as const) {
      const proc = fakeProcess();
      const core = fakeCore();
      const order: string[] = [];
      core.stopAll.mockImplementation(async (reason) => void order.push(`stop:${reason}`));
      const off = installSignalHandlers(proc, core, () => order.push('quit'), () => undefined, () => order.push('suspended'));
      proc.emit(signal);
      expect(order).toEqual(['stop:app-quit', 'quit']);
      off();
      expect(proc.listenerCount(signal)).toBe(0);
    }
  });

  it('Ctrl+Z: every massager stopped and its proof awaited before the process stops itself', async () => {
    for (const signal of ['SIGTSTP', 'SIGTTIN', 'SIGTTOU'] as const) {
      const proc = fakeProcess();
      const core = fakeCore();
      const order: string[] = [];
      let polls = 0;
      core.stopAll.mockImplementation(async (reason) => void order.push(`stop:${reason}`));
      core.handle.mockImplementation(async (_id, channel) => {
        if (channel !== 'device.get') return { ok: true, result: null as never };
        polls++;
        const state = polls < 3 ? 'waiting' : 'confirmed';
        if (state === 'confirmed') order.push('proof');
        const status = { connection: 'connected', stop: { state, attempts: 1 } } as unknown as DeviceStatusEvent;
        return { ok: true, result: status as never };
      });
      const suspended = new Promise<void>((resolve) =>
        installSignalHandlers(proc, core, () => order.push('quit'), () => undefined, () => {
          order.push('suspended');
          resolve();
        }),
      );
      proc.emit(signal);
      proc.emit(signal); // a second one while suspending starts nothing more
      await suspended;
      expect(order).toEqual(['stop:suspend', 'proof', 'suspended']);
      expect(core.stopAll).toHaveBeenCalledTimes(1);
    }
  });

  it('Ctrl+Z with a stop that fails still suspends (the failure is logged)', async () => {
    const proc = fakeProcess();
    const core = fakeCore();
    core.stopAll.mockRejectedValue(new Error('link gone'));
    const log = vi.fn();
    await new Promise<void>((resolve) => {
      installSignalHandlers(proc, core, () => undefined, log, resolve);
      proc.emit('SIGTSTP');
    });
    expect(log).toHaveBeenCalledWith('stop on SIGTSTP failed', expect.any(Error));
  });
});
