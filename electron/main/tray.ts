/**
 * The tray (notification area / menu bar) item: shows the running routine
 * (`core.runningSummary()`, updated through `core.onRunningChange`) and offers
 * "Stop all massagers" at any time, even when the window is hidden or closed.
 */
import type { Menu, MenuItemConstructorOptions, NativeImage, Tray } from 'electron';
import type { Core } from '../core/types';
import { safeStopAll } from './power';

/** Dependencies of {@link createTray}. */
export interface TrayOptions {
  Tray: new (image: NativeImage) => Tray;
  Menu: { buildFromTemplate(template: MenuItemConstructorOptions[]): Menu };
  nativeImage: { createFromBitmap(buffer: Buffer, options: { width: number; height: number; scaleFactor?: number }): NativeImage };
  core: Pick<Core, 'runningSummary' | 'onRunningChange' | 'stopAll'>;
  /** Shows (or re-creates) the main window. */
  onShow: () => void;
  onQuit: () => void;
  /** The stop shortcut, shown next to the Stop entry (display only). */
  stopShortcut?: () => string | null;
  log?: (message: string, error?: unknown) => void;
}

/** What {@link createTray} returns. */
export interface TrayHandle {
  /** The labels of the current menu, for tests and accessibility checks. */
  menuLabels(): string[];
  /** Rebuilds the menu (after the stop shortcut changed). */
  refresh(): void;
  dispose(): void;
}

/**
 * A small tray icon drawn in code (a ring around a dot, the knot), so no image file is
 * needed: BGRA pixels of `size`×`size`, with premultiplied alpha as
 * `nativeImage.createFromBitmap` reads them (each colour channel at most its alpha; a
 * transparent pixel is all zero, or Windows and macOS draw a tinted square).
 */
export function trayIconBitmap(size = 32): Buffer {
  const buf = Buffer.alloc(size * size * 4);
  const c = (size - 1) / 2;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const d = Math.hypot(x - c, y - c) / (size / 2);
      const on = d < 0.28 || (d > 0.62 && d < 0.9);
      const i = (y * size + x) * 4;
      const alpha = on ? 0xff : 0x00;
      // Premultiplied: colour × alpha / 255 (the buffer is zero already where alpha is 0).
      buf[i] = Math.round((0xd0 * alpha) / 0xff); // B
      buf[i + 1] = Math.round((0x8a * alpha) / 0xff); // G
      buf[i + 2] = Math.round((0x3b * alpha) / 0xff); // R
      buf[i + 3] = alpha; // A
    }
  }
  return buf;
}

/**
 * Creates the tray item. Its menu: the running routine (or "No routine running"),
 * "Stop all massagers" (always enabled: `core.stopAll('user-stop')`), "Show Unknot"
 * and "Quit Unknot". The tooltip repeats the running routine.
 */
export function createTray(options: TrayOptions): TrayHandle {
  const log = options.log ?? ((m: string, e?: unknown) => console.warn(`Unknot: ${m}`, e ?? ''));
  const image = options.nativeImage.createFromBitmap(trayIconBitmap(32), { width: 32, height: 32, scaleFactor: 2 });
  const tray = new options.Tray(image);
  let labels: string[] = [];

  const stop = (): void => {
    safeStopAll(options.core, 'user-stop', 'the tray', log);
  };

  const render = (summary: string | null): void => {
    const shortcut = options.stopShortcut?.() ?? null;
    const template: MenuItemConstructorOptions[] = [
      { id: 'status', label: summary ?? 'No routine running', enabled: false },
      {
        id: 'stop',
        label: 'Stop all massagers',
        click: stop,
        ...(shortcut ? { accelerator: shortcut, registerAccelerator: false } : {}),
      },
      { type: 'separator' },
      { id: 'show', label: 'Show Unknot', click: () => options.onShow() },
      { id: 'quit', label: 'Quit Unknot', click: () => options.onQuit() },
    ];
    labels = template.filter((t) => t.label).map((t) => t.label!);
    try {
      tray.setToolTip(summary ? `Unknot — ${summary}` : 'Unknot');
      tray.setTitle(summary ?? '');
      tray.setContextMenu(options.Menu.buildFromTemplate(template));
    } catch (err) {
      log('could not update the tray', err);
    }
  };

  render(options.core.runningSummary());
  const unsubscribe = options.core.onRunningChange((summary) => render(summary));
  tray.on('click', () => options.onShow());

  return {
    menuLabels: () => [...labels],
    refresh: () => render(options.core.runningSummary()),
    dispose() {
      unsubscribe();
      try {
        tray.destroy();
      } catch {
        // already gone
      }
    },
  };
}
