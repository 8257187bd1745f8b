/**
 * The packed tree, built for real and offline: electron-builder (the project's own
 * version) packs the Linux `dir` target from build/electron-builder.json against a
 * stand-in Electron distribution (`electronDist`, so nothing is downloaded), with
 * `npmRebuild` and the fuses off for this run (the fuses are checked on bytes in
 * packaging.test.ts). The Bluetooth helper is a stand-in built to build.mjs's layout: a
 * script in place of the single executable (building that needs node-gyp and a copy of
 * Node) and the real native HCI socket module from node_modules. The configuration's own
 * beforePack and afterPack hooks run. Then the test looks at what a package would carry.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = join(__dirname, '../../..');
const requireFromRoot = createRequire(join(ROOT, 'package.json'));
const read = (p: string) => readFileSync(join(ROOT, p), 'utf8');
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;
const config: Json = JSON.parse(read('build/electron-builder.json'));
const hook = requireFromRoot('./build/ble-helper/before-pack.cjs') as {
  checkBleHelper: (dir: string, arch: string) => string | null;
  HELPER_FILES: { executable: string; manifest: string; addon: string; nativeEntry: string };
};

type Layout = { outDir: string; executable: string; nativePackage: string; nativeFiles: string[]; addon: string };
const NATIVE_SRC = join(ROOT, 'node_modules/@abandonware/bluetooth-hci-socket');
const built = existsSync(join(ROOT, 'out/main/index.js')) && existsSync(join(ROOT, 'out/renderer/index.html'));
const canPack = process.platform === 'linux' && built && existsSync(join(NATIVE_SRC, 'build/Release/bluetooth_hci_socket.node'));

/** The native files of the app that must sit outside app.asar (loaded by the dynamic loader, not from the archive). */
const UNPACKED_NATIVES = [
  'node_modules/@abandonware/noble/build/Release/noble.node',
  'node_modules/@abandonware/bluetooth-hci-socket/build/Release/bluetooth_hci_socket.node',
  `node_modules/usb/prebuilds/linux-${process.arch}/node.napi.glibc.node`,
];

const STAND_IN_EXE = '#!/bin/sh\n# stand-in for the Unknot Bluetooth helper (test/unit/shell/packed-tree.test.ts)\necho stand-in\n';

describe.skipIf(!canPack)('the packed Linux tree (electron-builder dir target, offline)', () => {
  let work = '';
  let appOutDir = '';
  let resources = '';
  let layout: Layout;
  let asarFiles: string[] = [];
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  let asar: any;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'unknot-packed-'));
    ({ LAYOUT: layout } = (await import(/* @vite-ignore */ join(ROOT, 'build/ble-helper/build.mjs'))) as { LAYOUT: Layout });

    // A stand-in Electron distribution: what electron-builder copies in place of the downloaded zip.
    const dist = join(work, 'electron-dist');
    mkdirSync(join(dist, 'resources'), { recursive: true });
    writeFileSync(join(dist, 'electron'), '#!/bin/sh\necho stand-in electron\n');
    chmodSync(join(dist, 'electron'), 0o755);
    writeFileSync(join(dist, 'LICENSE'), 'stand-in Electron licence\n');

    // A stand-in helper folder with build.mjs's layout and the real native module.
    const helper = join(work, 'ble-helper');
    mkdirSync(helper, { recursive: true });
    writeFileSync(join(helper, layout.executable), STAND_IN_EXE);
    chmodSync(join(helper, layout.executable), 0o755);
    const nativeOut = join(helper, 'node_modules', layout.nativePackage);
    for (const file of [...layout.nativeFiles, layout.addon]) {
      mkdirSync(dirname(join(nativeOut, file)), { recursive: true });
      copyFileSync(join(NATIVE_SRC, file), join(nativeOut, file));
    }
    writeFileSync(join(helper, 'manifest.json'), JSON.stringify({ platform: 'linux', arch: process.arch, node: process.version, executable: layout.executable }));

    // The real configuration; only what this run cannot do is changed.
    const runConfig: Json = structuredClone(config);
    runConfig.electronDist = dist;
    runConfig.npmRebuild = false;
    runConfig.electronFuses = null;
    runConfig.directories = { ...runConfig.directories, output: join(work, 'dist') };
    runConfig.linux.extraResources = runConfig.linux.extraResources.map((entry: { from: string }) => ({
      ...entry,
      from: entry.from.startsWith(layout.outDir) ? join(helper, entry.from.slice(layout.outDir.length)) : entry.from,
    }));

    const builder = requireFromRoot('electron-builder') as Json;
    delete process.env.UNKNOT_PACK_WITHOUT_BLE_HELPER;
    const previousCwd = process.cwd();
    process.chdir(ROOT); // electron-builder resolves the hooks' "./build/…" paths against the working folder
    try {
      await builder.build({
        projectDir: ROOT,
        config: runConfig,
        targets: builder.Platform.LINUX.createTarget('dir', builder.Arch[process.arch]),
        publish: 'never',
      });
    } finally {
      process.chdir(previousCwd);
    }
    appOutDir = join(work, 'dist', process.arch === 'x64' ? 'linux-unpacked' : `linux-${process.arch}-unpacked`);
    resources = join(appOutDir, 'resources');
    asar = requireFromRoot('@electron/asar');
    asarFiles = asar.listPackage(join(resources, 'app.asar')) as string[];
  }, 180_000);

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('ships the Bluetooth helper with its native module under resources/ble-helper/', () => {
    const packed = join(resources, 'ble-helper');
    expect(readFileSync(join(packed, layout.executable), 'utf8')).toBe(STAND_IN_EXE);
    expect(statSync(join(packed, layout.executable)).mode & 0o111).not.toBe(0);
    const nativeDir = join(packed, 'node_modules', layout.nativePackage);
    for (const file of [...layout.nativeFiles, layout.addon]) {
      expect(existsSync(join(nativeDir, file)), `resources/ble-helper/node_modules/${layout.nativePackage}/${file}`).toBe(true);
    }
    expect(readFileSync(join(nativeDir, layout.addon)).equals(readFileSync(join(NATIVE_SRC, layout.addon)))).toBe(true);
    expect(JSON.parse(readFileSync(join(packed, 'manifest.json'), 'utf8'))).toMatchObject({ platform: 'linux', arch: process.arch });
    // the same check the afterPack hook makes, and the path the SEA's require looks in
    expect(hook.checkBleHelper(packed, process.arch)).toBeNull();
    expect(hook.HELPER_FILES.addon).toBe(`node_modules/${layout.nativePackage}/${layout.addon}`);
  });

  it('the helper from the packed tree loads its native module the way the helper executable does', () => {
    // build.mjs roots the helper's require at <dir of executable>/node_modules; resolve from there.
    const packed = join(resources, 'ble-helper');
    const script = `const r = require('node:module').createRequire(${JSON.stringify(join(packed, 'node_modules', 'unknot-ble-helper.cjs'))});
      const m = r(${JSON.stringify(layout.nativePackage)}); process.stdout.write(typeof m === 'function' || typeof m === 'object' ? 'loaded' : 'no');`;
    expect(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 20_000 })).toBe('loaded');
  });

  it('keeps the native modules of the app outside app.asar', () => {
    for (const file of UNPACKED_NATIVES) {
      const unpacked = join(resources, 'app.asar.unpacked', file);
      expect(existsSync(unpacked), `app.asar.unpacked/${file}`).toBe(true);
      expect(readFileSync(unpacked).equals(readFileSync(join(ROOT, file))), file).toBe(true);
      // the archive's header points at the unpacked copy
      expect(asar.statFile(join(resources, 'app.asar'), file), file).toMatchObject({ unpacked: true });
    }
    // noble's JavaScript goes with its native code (asarUnpack covers the whole package)
    expect(existsSync(join(resources, 'app.asar.unpacked/node_modules/@abandonware/noble/lib/hci-socket/bindings.js'))).toBe(true);
  });

  it('puts the entry points and the renderer inside app.asar, and nothing else of the project', () => {
    const pkg = JSON.parse(asar.extractFile(join(resources, 'app.asar'), 'package.json').toString('utf8'));
    expect(pkg.main).toBe('out/main/index.js');
    for (const file of ['/package.json', '/out/main/index.js', '/out/preload/index.js', '/out/renderer/index.html']) {
      expect(asarFiles, file).toContain(file);
    }
    // every script and stylesheet the renderer's page loads is in the archive
    const html = asar.extractFile(join(resources, 'app.asar'), 'out/renderer/index.html').toString('utf8') as string;
    const assets = [...html.matchAll(/(?:src|href)="\.?\/?(assets\/[^"]+)"/g)].map((m) => `/out/renderer/${m[1]}`);
    expect(assets.length).toBeGreaterThan(0);
    for (const asset of assets) expect(asarFiles, asset).toContain(asset);
    const projectFiles = asarFiles.filter((f) => !f.startsWith('/node_modules'));
    expect(projectFiles.every((f) => f === '/package.json' || f === '/out' || /^\/out\/(main|preload|renderer)(\/|$)/.test(f)), projectFiles.join('\n')).toBe(true);
    expect(asarFiles.some((f) => f.endsWith('.map'))).toBe(false);
    // the runtime dependencies come along; development ones do not
    expect(asarFiles).toContain('/node_modules/zod/package.json');
    expect(asarFiles).toContain('/node_modules/ws/package.json');
    expect(asarFiles.some((f) => f.startsWith('/node_modules/electron-builder/'))).toBe(false);
    expect(asarFiles.some((f) => f.startsWith('/node_modules/vitest/'))).toBe(false);
  });

  it('names the executable after the app', () => {
    expect(existsSync(join(appOutDir, config.executableName))).toBe(true);
    expect(existsSync(join(appOutDir, 'electron'))).toBe(false);
  });

  it('the deb scripts a dir target does not run: named by the configuration, present, and valid shell', () => {
    for (const key of ['afterInstall', 'afterRemove']) {
      const script = config.deb[key] as string;
      expect(script, key).toMatch(/^build\/linux\/.+\.sh$/);
      expect(existsSync(join(ROOT, script)), script).toBe(true);
      execFileSync('sh', ['-n', join(ROOT, script)]);
    }
  });
});
