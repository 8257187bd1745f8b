/**
 * Packaging of the Linux Bluetooth helper, checked as data (packaging cannot run in
 * CI): the build script's layout, electron-builder's entries, the before-pack check,
 * the install script and where the app looks for the helper all agree. When the helper
 * has been built here (`node build/ble-helper/build.mjs`), the executable is driven too.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BLE_HELPER_RESOURCE } from '../../../electron/ble/system';
import { spawnHelperTransport } from '../../../electron/ble/helper-transport';
import type { HelperTransport } from '../../../electron/ble/helper-transport';
import { waitFor } from './sim-world';

const ROOT = join(__dirname, '../../..');
const read = (p: string) => readFileSync(join(ROOT, p), 'utf8');
const require = createRequire(import.meta.url);
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const config: any = JSON.parse(read('build/electron-builder.json'));
const hook = require(join(ROOT, 'build/ble-helper/before-pack.cjs')) as {
  (context: unknown): Promise<void>;
  beforePack: (context: unknown) => Promise<void>;
  afterPack: (context: unknown) => Promise<void>;
  checkBleHelper: (dir: string, arch: string) => string | null;
  helperSourceDir: (packager: { projectDir: string; config?: unknown }) => string;
  ARCH: Record<number, string>;
};

type Layout = { entry: string; outDir: string; executable: string; nativePackage: string; nativeFiles: string[]; addon: string; seaFuse: string };
const loadBuildScript = async (): Promise<{ LAYOUT: Layout; seaMain: (bundle: string) => string }> =>
  (await import(/* @vite-ignore */ join(ROOT, 'build/ble-helper/build.mjs'))) as never;

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('the Bluetooth helper build', () => {
  it('builds from the third main entry, out/main/ble-helper.js', async () => {
    const { LAYOUT } = await loadBuildScript();
    expect(LAYOUT.entry).toBe('out/main/ble-helper.js');
    expect(read('electron.vite.config.ts')).toMatch(/'ble-helper': resolve\(__dirname, 'electron\/ble\/helper\/main\.ts'\)/);
    expect(LAYOUT.executable).toBe('unknot-ble-helper');
    expect(join('ble-helper', LAYOUT.executable)).toBe(BLE_HELPER_RESOURCE);
    // the native files it ships are the ones the package loads on Linux
    const pkg = dirname(require.resolve(`${LAYOUT.nativePackage}/package.json`));
    for (const f of LAYOUT.nativeFiles) expect(existsSync(join(pkg, f)), f).toBe(true);
    expect(readFileSync(join(pkg, 'lib/native.js'), 'utf8')).toContain(`../${LAYOUT.addon}`);
    expect(readFileSync(join(pkg, 'index.js'), 'utf8')).toContain("require('./lib/native')");
    // the SEA fuse is the one Node documents for postject
    expect(LAYOUT.seaFuse).toBe('NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2');
    expect(existsSync(join(ROOT, 'node_modules/postject/dist/cli.js'))).toBe(true);
    expect(existsSync(join(ROOT, 'node_modules/node-gyp/bin/node-gyp.js'))).toBe(true);
  });

  it('the SEA script hands the bundle a require rooted next to the executable', async () => {
    const { seaMain } = await loadBuildScript();
    const script = seaMain("module.exports = require('@abandonware/bluetooth-hci-socket');");
    expect(script).toMatch(/createRequire\(require\('node:path'\)\.join\(require\('node:path'\)\.dirname\(process\.execPath\), 'node_modules'/);
    expect(script).toMatch(/\(function \(require, module, exports\) \{\nmodule\.exports = require/);
    // it is valid JavaScript
    execFileSync(process.execPath, ['--check', '-'], { input: script });
  });

  it('the SEA script hands the helper the modules it loads with a computed require, from the executable itself', async () => {
    const { LAYOUT, seaMain } = (await loadBuildScript()) as unknown as { LAYOUT: Layout & { lazyModules: string[] }; seaMain: (b: string, lazy?: Record<string, string>) => string };
    // the one the helper loads lazily (electron/ble/helper/run.ts): a bundler cannot see it
    expect(LAYOUT.lazyModules).toEqual(['@abandonware/noble/lib/hci-socket/bindings']);
    expect(read('electron/ble/helper/run.ts')).toContain(`req('${LAYOUT.lazyModules[0]}')`);
    const id = LAYOUT.lazyModules[0]!;
    const script = seaMain(
      `const a = require(${JSON.stringify(id)}); const b = require(${JSON.stringify(id)}); process.stdout.write(a.answer + ' ' + (a === b) + ' ' + typeof require('node:path').join);`,
      { [id]: 'module.exports = { answer: 42 };' },
    );
    expect(execFileSync(process.execPath, ['-'], { input: script, encoding: 'utf8' })).toBe('42 true function');
  });

  it('electron-builder ships out/ble-helper as resources/ble-helper on Linux only, and checks it before packing', () => {
    // two entries: electron-builder drops a `node_modules` folder at the root of an extraResources
    // source whatever the filter says (app-builder-lib/out/util/filter.js), so the native module's
    // folder is a source of its own (test/unit/shell/packed-tree.test.ts packs it for real)
    expect(config.linux.extraResources).toEqual([
      { from: 'out/ble-helper', to: 'ble-helper', filter: ['unknot-ble-helper', 'manifest.json'] },
      { from: 'out/ble-helper/node_modules', to: 'ble-helper/node_modules', filter: ['**/*'] },
    ]);
    expect(config.extraResources).toBeUndefined();
    expect(config.mac.extraResources).toBeUndefined();
    expect(config.win.extraResources).toBeUndefined();
    // not inside the app archive: the main files stay out/main, out/preload, out/renderer
    expect(config.files.some((f: string) => f.includes('ble-helper'))).toBe(false);
    expect(config.beforePack).toBe('./build/ble-helper/before-pack.cjs');
    expect(config.afterPack).toBe('./build/ble-helper/before-pack.cjs');
    expect(typeof hook.beforePack).toBe('function');
    expect(typeof hook.afterPack).toBe('function');
    expect(hook).toBe(hook.beforePack);
    // the before-pack check looks where the configuration takes the helper from
    expect(hook.helperSourceDir({ projectDir: ROOT, config })).toBe(join(ROOT, 'out/ble-helper'));
    // the install script gives the capabilities to exactly where extraResources puts the executable
    const install = read(config.deb.afterInstall);
    expect(install).toContain(`BLE_HELPER='/opt/\${sanitizedProductName}/resources/${config.linux.extraResources[0].to}/unknot-ble-helper'`);
    expect(install).toMatch(/setcap 'cap_net_raw,cap_net_admin\+ep' "\$BLE_HELPER"/);
  });

  it('before packing for Linux: refuses a missing or wrong-arch helper, unless told to pack without it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'unknot-pack-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const context = (arch: number, platform = 'linux') => ({ electronPlatformName: platform, arch, packager: { projectDir: dir } });
    expect(hook.ARCH[1]).toBe('x64');
    expect(hook.ARCH[3]).toBe('arm64');
    await expect(hook(context(1))).rejects.toThrow(/has no Bluetooth helper.*node build\/ble-helper\/build\.mjs/);
    await expect(hook(context(1, 'darwin'))).resolves.toBeUndefined();
    const out = join(dir, 'out/ble-helper');
    mkdirSync(join(out, 'node_modules/@abandonware/bluetooth-hci-socket/build/Release'), { recursive: true });
    writeFileSync(join(out, 'unknot-ble-helper'), '');
    writeFileSync(join(out, 'manifest.json'), JSON.stringify({ platform: 'linux', arch: 'x64' }));
    await expect(hook(context(1))).rejects.toThrow(/no native HCI socket module/);
    writeFileSync(join(out, 'node_modules/@abandonware/bluetooth-hci-socket/build/Release/bluetooth_hci_socket.node'), '');
    await expect(hook(context(1))).rejects.toThrow(/no native HCI socket module/);
    writeFileSync(join(out, 'node_modules/@abandonware/bluetooth-hci-socket/index.js'), '');
    await expect(hook(context(1))).resolves.toBeUndefined();
    await expect(hook(context(3))).rejects.toThrow(/built for x64, but this package is for arm64/);
    process.env.UNKNOT_PACK_WITHOUT_BLE_HELPER = '1';
    cleanups.push(() => delete process.env.UNKNOT_PACK_WITHOUT_BLE_HELPER);
    await expect(hook(context(3))).resolves.toBeUndefined();
  });

  it('after packing for Linux: refuses a packed tree whose helper lost its native module', async () => {
    const appOutDir = mkdtempSync(join(tmpdir(), 'unknot-packed-'));
    cleanups.push(() => rmSync(appOutDir, { recursive: true, force: true }));
    const context = (platform = 'linux') => ({ electronPlatformName: platform, arch: 1, appOutDir, packager: { projectDir: ROOT, config } });
    const packed = join(appOutDir, 'resources/ble-helper');
    mkdirSync(packed, { recursive: true });
    // what today's electron-builder packs from a single `out/ble-helper` entry: no node_modules
    writeFileSync(join(packed, 'unknot-ble-helper'), '');
    writeFileSync(join(packed, 'manifest.json'), JSON.stringify({ platform: 'linux', arch: 'x64' }));
    await expect(hook.afterPack(context())).rejects.toThrow(/packed tree: the Bluetooth helper in .*resources\/ble-helper has no native HCI socket module/);
    await expect(hook.afterPack(context('darwin'))).resolves.toBeUndefined();
    const native = join(packed, 'node_modules/@abandonware/bluetooth-hci-socket');
    mkdirSync(join(native, 'build/Release'), { recursive: true });
    writeFileSync(join(native, 'build/Release/bluetooth_hci_socket.node'), '');
    writeFileSync(join(native, 'index.js'), '');
    await expect(hook.afterPack(context())).resolves.toBeUndefined();
    writeFileSync(join(packed, 'manifest.json'), '{ not json');
    await expect(hook.afterPack(context())).rejects.toThrow(/cannot be read/);
  });

  it('the build script is valid JavaScript and is documented', () => {
    execFileSync(process.execPath, ['--check', join(ROOT, 'build/ble-helper/build.mjs')]);
    execFileSync(process.execPath, ['--check', join(ROOT, 'build/ble-helper/before-pack.cjs')]);
    const docs = read('docs/desktop.md');
    expect(docs).toContain('node build/ble-helper/build.mjs');
    expect(docs).toContain('UNKNOT_BLE_HELPER');
    expect(docs).toContain('UNKNOT_PACK_WITHOUT_BLE_HELPER');
  });
});

const EXE = join(ROOT, 'out/ble-helper/unknot-ble-helper');
describe.skipIf(!existsSync(EXE))('the built helper executable (out/ble-helper, when built here)', () => {
  it('serves the simulated radio, and its HCI binding loads its native module', async () => {
    const transport: HelperTransport = spawnHelperTransport({ command: EXE, args: ['--simulated'], simulated: true, log: () => undefined });
    cleanups.push(() => transport.dispose());
    const heard: string[] = [];
    await transport.startScan((p) => heard.push(p.id));
    await waitFor(() => heard.includes('sim-theragun-pro'), 5000);
    await transport.stopScan();

    let stdout = '';
    try {
      stdout = execFileSync(EXE, [], { input: '', encoding: 'utf8', stdio: ['pipe', 'pipe', 'ignore'], timeout: 10_000 });
    } catch (error) {
      stdout = String((error as { stdout?: unknown }).stdout ?? '');
    }
    expect(stdout).not.toMatch(/MODULE_NOT_FOUND|Cannot find module/);
  });

  it('moved out of the project, as in a package, it still loads the HCI binding and its native module', async () => {
    // In /opt/Unknot/resources/ble-helper no node_modules above the executable holds noble:
    // whatever the executable does not carry itself must be in its own node_modules folder.
    const { probeHci } = (await loadBuildScript()) as unknown as { probeHci: (command: string, args?: string[]) => string };
    const dir = mkdtempSync(join(tmpdir(), 'unknot-helper-moved-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    cpSync(dirname(EXE), dir, { recursive: true });
    const moved = join(dir, 'unknot-ble-helper');
    const stderr = probeHci(moved);
    expect(stderr).not.toMatch(/MODULE_NOT_FOUND|Cannot find module/);
    // on this machine either the adapter opens or the helper says why it cannot (no adapter, no rights)
    expect(stderr === '' || /cannot open the Bluetooth adapter: (EAFNOSUPPORT|EPERM|EACCES|ENODEV)/.test(stderr), stderr).toBe(true);
    const reply = execFileSync(moved, ['--simulated'], { input: '{"k":"call","m":"init","a":[]}\n', encoding: 'utf8', timeout: 10_000, stdio: ['pipe', 'pipe', 'ignore'] });
    expect(reply).toContain('"poweredOn"');
  });
});
