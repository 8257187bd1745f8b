/**
 * The global stop shortcut: stops every massager even when Unknot is not focused or
 * its window is hidden (someone working on their own back cannot reach for the
 * window). Configurable through the settings (`stopShortcut`, Electron accelerator
 * syntax); `CommandOrControl+Shift+Space` by default.
 */
import type { GlobalShortcut } from 'electron';
import type { Core } from '../core/types';
import { safeStopAll } from './power';

/** The default global stop shortcut. */
export const DEFAULT_STOP_SHORTCUT = 'CommandOrControl+Shift+Space';

/** Dependencies of {@link registerStopShortcut}. */
export interface StopShortcutOptions {
  globalShortcut: Pick<GlobalShortcut, 'register' | 'unregister'>;
  core: Pick<Core, 'stopAll'>;
  accelerator?: string;
  log?: (message: string, error?: unknown) => void;
}

/** What {@link registerStopShortcut} returns. */
export interface StopShortcut {
  /** The accelerator in force, or null when none could be registered. */
  current(): string | null;
  /**
   * Switches to another accelerator. When it cannot be registered (invalid, or taken
   * by another application), the previous one stays in force and false is returned.
   */
  update(accelerator: string): boolean;
  dispose(): void;
}

/**
 * Registers the global stop shortcut: pressing it calls `core.stopAll('user-stop')`.
 * A shortcut another application holds is reported through `log` and `current()`
 * returns null; the tray and the window's own Stop controls still work.
 */
export function registerStopShortcut(options: StopShortcutOptions): StopShortcut {
  const log = options.log ?? ((m: string, e?: unknown) => console.warn(`Unknot: ${m}`, e ?? ''));
  const onPress = (): void => {
    safeStopAll(options.core, 'user-stop', 'the global shortcut', log);
  };
  const tryRegister = (accelerator: string): boolean => {
    try {
      return options.globalShortcut.register(accelerator, onPress);
    } catch (err) {
      log(`"${accelerator}" is not a valid shortcut`, err);
      return false;
    }
  };
  let current: string | null = null;
  const first = options.accelerator ?? DEFAULT_STOP_SHORTCUT;
  if (tryRegister(first)) current = first;
  else log(`the stop shortcut ${first} is taken by another application; use the tray or the window to stop`);

  return {
    current: () => current,
    update(accelerator) {
      if (accelerator === current) return true;
      const previous = current;
      if (previous) options.globalShortcut.unregister(previous);
      if (tryRegister(accelerator)) {
        current = accelerator;
        return true;
      }
      log(`could not register the stop shortcut ${accelerator}; keeping ${previous ?? 'none'}`);
      current = previous && tryRegister(previous) ? previous : null;
      return false;
    },
    dispose() {
      if (current) options.globalShortcut.unregister(current);
      current = null;
    },
  };
}
