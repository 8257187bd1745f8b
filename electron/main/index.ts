/**
 * Entry point of the Electron main process (`out/main/index.js`). Gathers the real
 * Electron modules and the core factory and hands them to {@link startShell}; all the
 * logic lives in the modules next to this one (app, window, ipc, protocol, tray,
 * shortcut, power), which take Electron as parameters.
 */
import { join } from 'node:path';
import * as electron from 'electron';
import { createCore } from '../core/app-core';
import { startShell } from './app';

const { app } = electron;
// Unpackaged (`electron .`), argv is [electron, appPath, ...flags]; packaged, [exe, ...flags].
const argv = process.argv.slice(app.isPackaged ? 1 : 2);

startShell({
  electron: {
    app,
    BrowserWindow: electron.BrowserWindow,
    protocol: electron.protocol,
    session: electron.session,
    ipcMain: electron.ipcMain,
    powerMonitor: electron.powerMonitor,
    powerSaveBlocker: electron.powerSaveBlocker,
    globalShortcut: electron.globalShortcut,
    Tray: electron.Tray,
    Menu: electron.Menu,
    nativeImage: electron.nativeImage,
  },
  createCore,
  argv,
  env: process.env,
  preloadPath: join(__dirname, '..', 'preload', 'index.js'),
  rendererDir: join(__dirname, '..', 'renderer'),
}).catch((err: unknown) => {
  console.error('Unknot could not start.', err);
  app.exit(1);
});
