import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

const ROOT = join(__dirname, '../../..');
const read = (p: string) => readFileSync(join(ROOT, p), 'utf8');
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const config: any = JSON.parse(read('build/electron-builder.json'));

/** Whether a path matches an electron-builder glob (`**` any folders, `*` within one). */
function matchesGlob(file: string, pattern: string): boolean {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*' && pattern[i + 1] === '*') {
      i++;
      if (pattern[i + 1] === '/') {
        i++;
        re += '(?:.*/)?';
      } else re += '.*';
    } else if (c === '*') re += '[^/]*';
    else re += c.replace(/[.+^${}()|[\]\\?]/g, '\\$&');
  }
  return new RegExp(`^${re}$`).test(file);
}

/** `<key>name</key><true/>` pairs of a plist (enough for entitlements and Info.plist booleans). */
function plistTrueKeys(xml: string): string[] {
  return [...xml.matchAll(/<key>([^<]+)<\/key>\s*<true\/>/g)].map((m) => m[1]!);
}

describe('electron-builder configuration', () => {
  it('is valid for electron-builder (its own schema)', async () => {
    const require = createRequire(join(ROOT, 'node_modules/electron-builder/package.json'));
    const { validateConfiguration } = require('app-builder-lib/out/util/config/config.js');
    const { DebugLogger } = require('builder-util');
    await expect(validateConfiguration(structuredClone(config), new DebugLogger(false))).resolves.toBeUndefined();
  });

  it('names the app and packs only the build output', () => {
    expect(config.appId).toBe('org.unknot.app');
    expect(config.productName).toBe('Unknot');
    expect(config.files).toEqual(expect.arrayContaining(['out/main/**/*', 'out/preload/**/*', 'out/renderer/**/*']));
    expect(config.files.every((f: string) => f.startsWith('out/') || f.startsWith('!'))).toBe(true);
    expect(config.asar).toBe(true);
  });

  it('builds AppImage and deb on Linux, dmg on macOS, NSIS on Windows', () => {
    expect(config.linux.target).toEqual(expect.arrayContaining(['AppImage', 'deb']));
    expect(config.mac.target.map((t: { target: string } | string) => (typeof t === 'string' ? t : t.target))).toContain('dmg');
    expect(config.win.target).toContain('nsis');
  });

  it('unpacks the native Bluetooth modules from the asar and rebuilds them for Electron', () => {
    const natives = [
      'node_modules/@abandonware/noble/build/Release/binding.node',
      'node_modules/@abandonware/noble/lib/mac/bindings.js',
      'node_modules/@abandonware/bluetooth-hci-socket/build/Release/bluetooth_hci_socket.node',
      'node_modules/@abandonware/bluetooth-hci-socket/lib/native.js',
      'node_modules/usb/prebuilds/linux-x64/node.napi.glibc.node',
      'node_modules/usb/dist/index.js',
    ];
    for (const file of natives) {
      expect(config.asarUnpack.some((pattern: string) => matchesGlob(file, pattern)), file).toBe(true);
    }
    expect(config.npmRebuild).toBe(true);
  });

  it('explains Bluetooth use in Info.plist and signs with the Bluetooth entitlement under the hardened runtime', () => {
    expect(config.mac.extendInfo.NSBluetoothAlwaysUsageDescription).toMatch(/Bluetooth massager/);
    expect(config.mac.hardenedRuntime).toBe(true);
    expect(config.mac.entitlements).toBe('build/entitlements.mac.plist');
    expect(config.mac.entitlementsInherit).toBe('build/entitlements.mac.plist');
    const keys = plistTrueKeys(read(config.mac.entitlements));
    expect(keys).toContain('com.apple.security.device.bluetooth');
    expect(keys).toContain('com.apple.security.cs.allow-jit');
    // nothing broader than JIT
    expect(keys).not.toContain('com.apple.security.cs.allow-unsigned-executable-memory');
    expect(keys).not.toContain('com.apple.security.cs.disable-library-validation');
  });

  it('flips the Electron fuses that close the Node back doors', () => {
    expect(config.electronFuses).toMatchObject({
      runAsNode: false,
      enableNodeOptionsEnvironmentVariable: false,
      enableNodeCliInspectArguments: false,
      onlyLoadAppFromAsar: true,
      grantFileProtocolExtraPrivileges: false,
      resetAdHocDarwinSignature: true,
    });
  });

  it('the AppImage does not always start without the sandbox: its AppRun adds --no-sandbox only where user namespaces fail', () => {
    // electron-builder's default (legacy toolset) desktop entry runs `AppRun --no-sandbox %U`;
    // an empty executableArgs leaves the decision to the AppRun's own `unshare -Ur true` probe.
    expect(config.appImage.executableArgs).toEqual([]);
    const require = createRequire(join(ROOT, 'node_modules/electron-builder/package.json'));
    const { generateAppRunScript } = require('app-builder-lib/out/targets/appimage/appImageUtil.js');
    const appRun: string = generateAppRunScript({ DesktopFileName: 'unknot.desktop', ExecutableName: 'unknot', ProductName: 'Unknot', ProductFilename: 'Unknot', ResourceName: 'appimagekit-unknot' });
    expect(appRun).toMatch(/! unshare -Ur true 2>\/dev\/null ; then\n\s*NO_SANDBOX=\(--no-sandbox\)/);
  });
});

/** A file standing in for an Electron binary: the fuse sentinel, wire version 1, and a wire of Electron's defaults. */
const FUSE_SENTINEL = 'dL7pKGdnNz796PbbjQWNKmHXBZaB9tsX';
const DEFAULT_WIRE = '101100011'; // RunAsNode on, cookie encryption off, NODE_OPTIONS on, --inspect on, asar integrity off, asar only off, V8 snapshot off, file:// privileges on, one more
function standInElectron(path: string) {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, Buffer.concat([Buffer.from('\x7fELF stand-in '), Buffer.from(FUSE_SENTINEL), Buffer.from([1, DEFAULT_WIRE.length]), Buffer.from(DEFAULT_WIRE), Buffer.from(' tail')]));
}
function wireOf(path: string): string {
  const bytes = readFileSync(path);
  const at = bytes.indexOf(FUSE_SENTINEL) + FUSE_SENTINEL.length;
  return bytes.subarray(at + 2, at + 2 + bytes[at + 1]!).toString('latin1');
}

describe('the fuses, flipped by electron-builder on a stand-in binary', () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const c of cleanups.splice(0).reverse()) c();
  });
  const require = createRequire(join(ROOT, 'node_modules/electron-builder/package.json'));
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const lib: any = require('app-builder-lib');

  /** A fake `codesign` on the PATH that writes its arguments to a file; returns that file. */
  function fakeCodesign(dir: string): string {
    const bin = join(dir, 'bin');
    const record = join(dir, 'codesign-calls.txt');
    mkdirSync(bin, { recursive: true });
    writeFileSync(join(bin, 'codesign'), `#!/bin/sh\necho "$@" >> '${record}'\n`);
    chmodSync(join(bin, 'codesign'), 0o755);
    const previous = process.env.PATH;
    process.env.PATH = `${bin}:${previous}`;
    cleanups.push(() => (process.env.PATH = previous));
    return record;
  }

  it('sets the wire bytes the configuration names, and on macOS re-signs the flipped app ad hoc (an unsigned arm64 build would be killed at launch)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'unknot-fuses-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const calls = fakeCodesign(dir);
    const fuses = await lib.PlatformPackager.prototype.generateFuseConfig.call(null, config.electronFuses);

    // macOS: electron-builder flips the framework inside Unknot.app, then (resetAdHocDarwinSignature) signs the bundle ad hoc
    const framework = join(dir, 'Unknot.app/Contents/Frameworks/Electron Framework.framework/Electron Framework');
    standInElectron(framework);
    const mac = Object.create(lib.MacPackager.prototype, { appInfo: { value: { productFilename: 'Unknot' } } });
    await mac.addElectronFuses({ appOutDir: dir, electronPlatformName: 'darwin' }, fuses);
    //                       runAsNode cookies NODE_OPTIONS inspect integrity asarOnly snapshot(untouched) file:// (9th untouched)
    expect(wireOf(framework)).toBe('010011001');
    expect(readFileSync(calls, 'utf8').trim().split('\n')).toEqual([
      `--sign - --force --preserve-metadata=entitlements,requirements,flags,runtime --deep ${join(dir, 'Unknot.app')}`,
    ]);

    // Linux: the executable itself, and no codesign
    rmSync(calls);
    const exe = join(dir, 'linux-unpacked', config.executableName);
    standInElectron(exe);
    const linux = Object.create(lib.LinuxPackager.prototype, { executableName: { value: config.executableName } });
    await linux.addElectronFuses({ appOutDir: join(dir, 'linux-unpacked'), electronPlatformName: 'linux' }, fuses);
    expect(wireOf(exe)).toBe('010011001');
    expect(existsSync(calls)).toBe(false);
  });
});

describe('Debian scripts', () => {
  const install = read(config.deb.afterInstall);
  const remove = read(config.deb.afterRemove);

  it('use only the macros electron-builder fills in, and are valid bash', () => {
    for (const script of [install, remove]) {
      const macros = new Set([...script.matchAll(/\$\{([a-zA-Z]+)\}/g)].map((m) => m[1]));
      expect([...macros].sort()).toEqual(['executable', 'sanitizedProductName']);
    }
    for (const script of [config.deb.afterInstall, config.deb.afterRemove]) {
      execFileSync('bash', ['-n', join(ROOT, script)]);
      execFileSync('sh', ['-n', join(ROOT, script)]);
    }
  });

  it('keep the default link, sandbox and AppArmor steps', () => {
    expect(install).toMatch(/update-alternatives --install '\/usr\/bin\/\$\{executable\}'/);
    expect(install).toMatch(/chrome-sandbox/);
    expect(install).toMatch(/apparmor_parser --replace/);
    expect(remove).toMatch(/update-alternatives --remove/);
  });

  it('never give capabilities to the Electron executable (electron/electron#4583), only to the BLE helper', () => {
    const setcapLines = install.split('\n').filter((l) => /^\s*setcap\b/.test(l));
    expect(setcapLines).toHaveLength(1);
    expect(setcapLines[0]).toContain('"$BLE_HELPER"');
    expect(install).toMatch(/BLE_HELPER='\/opt\/\$\{sanitizedProductName\}\/resources\/ble-helper\/unknot-ble-helper'/);
    expect(install).not.toMatch(/setcap[^\n]*\$\{executable\}/);
    expect(config.deb.recommends).toEqual(expect.arrayContaining(['bluez', 'libcap2-bin']));
  });
});
