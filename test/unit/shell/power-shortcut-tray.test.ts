import { EventEmitter } from 'node:events';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { installPowerHooks, settleWithin } from '../../../electron/main/power';
import { DEFAULT_STOP_SHORTCUT, registerStopShortcut } from '../../../electron/main/shortcut';
import { createTray, trayIconBitmap } from '../../../electron/main/tray';
import { fakeCore } from './fakes';

const quiet = () => undefined;

function powerSetup(core = fakeCore(), quitStepTimeoutMs = 3000) {
  const app = Object.assign(new EventEmitter(), { quit: vi.fn() });
  const powerMonitor = new EventEmitter();
  const beforeExit = vi.fn();
  const hooks = installPowerHooks({ app: app as never, powerMonitor: powerMonitor as never, core, quitStepTimeoutMs, beforeExit, log: quiet });
  const beforeQuit = () => {
    const event = { preventDefault: vi.fn() };
    app.emit('before-quit', event);
    return event;
  };
  return { app, powerMonitor, core, hooks, beforeQuit, beforeExit };
}

afterEach(() => vi.useRealTimers());

describe('power hooks', () => {
  it('stops every massager on suspend and on lock-screen', () => {
    const { powerMonitor, core } = powerSetup();
    powerMonitor.emit('suspend');
    expect(core.stopAll).toHaveBeenLastCalledWith('suspend');
    powerMonitor.emit('lock-screen');
    expect(core.stopAll).toHaveBeenCalledTimes(2);
    expect(core.stopAll).toHaveBeenLastCalledWith('suspend');
    powerMonitor.emit('shutdown');
    expect(core.stopAll).toHaveBeenLastCalledWith('app-quit');
  });

  it('survives a stopAll that throws synchronously', () => {
    const core = fakeCore();
    core.stopAll.mockImplementation(() => {
      throw new Error('sync');
    });
    const { powerMonitor } = powerSetup(core);
    expect(() => powerMonitor.emit('suspend')).not.toThrow();
  });

  it('holds the quit until stopAll then shutdown finished, then quits for real', async () => {
    const { app, core, hooks, beforeQuit, beforeExit } = powerSetup();
    const order: string[] = [];
    core.stopAll.mockImplementation(async (reason: string) => void order.push(`stopAll:${reason}`));
    core.shutdown.mockImplementation(async () => void order.push('shutdown'));
    const first = beforeQuit();
    expect(first.preventDefault).toHaveBeenCalled();
    expect(beforeQuit().preventDefault).toHaveBeenCalled(); // a second quit while waiting
    await hooks.quitting();
    expect(order).toEqual(['stopAll:app-quit', 'shutdown']);
    expect(beforeExit).toHaveBeenCalledTimes(1);
    expect(app.quit).toHaveBeenCalledTimes(1);
    expect(beforeQuit().preventDefault).not.toHaveBeenCalled();
  });

  it('quits anyway when stopping hangs, after the cap', async () => {
    vi.useFakeTimers();
    const core = fakeCore();
    core.stopAll.mockImplementation(() => new Promise(() => undefined));
    core.shutdown.mockImplementation(() => new Promise(() => undefined));
    const { app, hooks, beforeQuit } = powerSetup(core, 500);
    beforeQuit();
    await vi.advanceTimersByTimeAsync(499);
    expect(app.quit).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(501);
    await hooks.quitting();
    expect(app.quit).toHaveBeenCalledTimes(1);
  });

  it('settleWithin tells whether a promise settled in time', async () => {
    expect(await settleWithin(Promise.resolve(), 50)).toBe(true);
    expect(await settleWithin(Promise.reject(new Error('x')), 50)).toBe(true);
    expect(await settleWithin(new Promise(() => undefined), 10)).toBe(false);
  });
});

function fakeGlobalShortcut(taken: string[] = []) {
  const registered = new Map<string, () => void>();
  return {
    registered,
    register: vi.fn((accel: string, cb: () => void) => {
      if (accel === 'Bogus+') throw new Error('invalid accelerator');
      if (taken.includes(accel)) return false;
      registered.set(accel, cb);
      return true;
    }),
    unregister: vi.fn((accel: string) => void registered.delete(accel)),
  };
}

describe('global stop shortcut', () => {
  it('registers the default and stops every massager when pressed, even unfocused', () => {
    const gs = fakeGlobalShortcut();
    const core = fakeCore();
    const s = registerStopShortcut({ globalShortcut: gs, core, log: quiet });
    expect(DEFAULT_STOP_SHORTCUT).toBe('CommandOrControl+Shift+Space');
    expect(s.current()).toBe(DEFAULT_STOP_SHORTCUT);
    gs.registered.get(DEFAULT_STOP_SHORTCUT)!();
    expect(core.stopAll).toHaveBeenCalledWith('user-stop');
  });

  it('switches to a configured shortcut and keeps the old one when the new one is taken or invalid', () => {
    const gs = fakeGlobalShortcut(['Alt+F1']);
    const core = fakeCore();
    const s = registerStopShortcut({ globalShortcut: gs, core, log: quiet });
    expect(s.update('CommandOrControl+Alt+S')).toBe(true);
    expect([...gs.registered.keys()]).toEqual(['CommandOrControl+Alt+S']);
    expect(s.update('Alt+F1')).toBe(false);
    expect(s.update('Bogus+')).toBe(false);
    expect(s.current()).toBe('CommandOrControl+Alt+S');
    expect([...gs.registered.keys()]).toEqual(['CommandOrControl+Alt+S']);
    s.dispose();
    expect(gs.registered.size).toBe(0);
  });

  it('reports a default shortcut taken by another application', () => {
    const gs = fakeGlobalShortcut([DEFAULT_STOP_SHORTCUT]);
    const log = vi.fn();
    const s = registerStopShortcut({ globalShortcut: gs, core: fakeCore(), log });
    expect(s.current()).toBeNull();
    expect(log).toHaveBeenCalled();
  });
});

describe('tray', () => {
  function traySetup() {
    const core = fakeCore();
    const trays: (EventEmitter & Record<string, ReturnType<typeof vi.fn>>)[] = [];
    class FakeTray extends EventEmitter {
      setToolTip = vi.fn();
      setTitle = vi.fn();
      setContextMenu = vi.fn();
      destroy = vi.fn();
      constructor(readonly image: unknown) {
        super();
        trays.push(this as never);
      }
    }
    const templates: { label?: string; click?: () => void; enabled?: boolean; id?: string }[][] = [];
    const Menu = { buildFromTemplate: vi.fn((t: never[]) => (templates.push(t), { t })) };
    const nativeImage = { createFromBitmap: vi.fn(() => ({ image: true })) };
    const onShow = vi.fn();
    const onQuit = vi.fn();
    const handle = createTray({
      Tray: FakeTray as never,
      Menu: Menu as never,
      nativeImage: nativeImage as never,
      core,
      onShow,
      onQuit,
      stopShortcut: () => DEFAULT_STOP_SHORTCUT,
      log: quiet,
    });
    return { core, tray: trays[0]!, templates, handle, onShow, onQuit };
  }

  it('shows the running routine and updates when it changes', () => {
    const { core, tray, templates, handle } = traySetup();
    expect(handle.menuLabels()[0]).toBe('No routine running');
    for (const l of core.runningListeners) l('Upper back · step 2 of 4 · 2:10 left');
    expect(handle.menuLabels()[0]).toBe('Upper back · step 2 of 4 · 2:10 left');
    expect(tray.setToolTip).toHaveBeenLastCalledWith('Unknot — Upper back · step 2 of 4 · 2:10 left');
    expect(templates.at(-1)![0]).toMatchObject({ enabled: false });
  });

  it('has a Stop entry that stops every massager', () => {
    const { core, templates } = traySetup();
    const stop = templates.at(-1)!.find((i) => i.id === 'stop')!;
    expect(stop.label).toBe('Stop all massagers');
    stop.click!();
    expect(core.stopAll).toHaveBeenCalledWith('user-stop');
  });

  it('shows the window on click and unsubscribes on dispose', () => {
    const { core, tray, handle, onShow } = traySetup();
    tray.emit('click');
    expect(onShow).toHaveBeenCalled();
    handle.dispose();
    expect(core.runningListeners.size).toBe(0);
    expect(tray.destroy).toHaveBeenCalled();
  });

  it('draws a BGRA icon', () => {
    const bmp = trayIconBitmap(16);
    expect(bmp.length).toBe(16 * 16 * 4);
  });

  it('draws it with premultiplied alpha, as createFromBitmap reads it: no colour where it is transparent', () => {
    for (const size of [16, 32]) {
      const bmp = trayIconBitmap(size);
      let opaque = 0;
      let clear = 0;
      for (let i = 0; i < bmp.length; i += 4) {
        const alpha = bmp[i + 3]!;
        for (const c of [bmp[i]!, bmp[i + 1]!, bmp[i + 2]!]) expect(c).toBeLessThanOrEqual(alpha);
        if (alpha === 0) clear++;
        else opaque++;
      }
      expect(opaque).toBeGreaterThan(0); // the knot is drawn
      expect(clear).toBeGreaterThan(0);
    }
  });
});
