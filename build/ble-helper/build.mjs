#!/usr/bin/env node
// Builds the Linux Bluetooth helper, `out/ble-helper/`, which electron-builder ships as
// `resources/ble-helper/` (build/electron-builder.json, linux.extraResources) and whose
// executable the Debian package's install script gives CAP_NET_RAW and CAP_NET_ADMIN
// (build/linux/after-install.sh). See docs/desktop.md, "Linux: Bluetooth permissions".
//
//   npx electron-vite build && node build/ble-helper/build.mjs [--nodedir=/usr]
//
// Output (for the architecture of the Node that runs this script):
//   out/ble-helper/unknot-ble-helper     a Node single-executable application (SEA): this
//                                        Node binary with the helper's JavaScript (the
//                                        helper, noble's HCI binding, zod) embedded. It runs
//                                        only that script: unlike a copy of `node` with
//                                        capabilities, it cannot be made to run another one.
//   out/ble-helper/node_modules/@abandonware/bluetooth-hci-socket/
//                                        the one native module, rebuilt for this Node (not for
//                                        Electron: electron-builder's npmRebuild only covers
//                                        the app's own node_modules).
//   out/ble-helper/manifest.json         platform, arch and Node version, checked before packing
//                                        (build/ble-helper/before-pack.cjs, before and after packing).
//
// Needs: Linux, Node >= 20.12 (an official build: it carries the SEA fuse), a C++
// toolchain and Python for node-gyp (and the Node headers, which node-gyp downloads once).
// `rolldown` (via electron-vite) and `postject` (via electron-builder) come from node_modules.
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const require = createRequire(join(ROOT, 'package.json'));

/** Everything about the layout in one place (the packaging test reads it). */
export const LAYOUT = {
  entry: 'out/main/ble-helper.js',
  outDir: 'out/ble-helper',
  staging: 'out/ble-helper-staging',
  executable: 'unknot-ble-helper',
  nativePackage: '@abandonware/bluetooth-hci-socket',
  /** Files of the native package the helper needs at run time (besides the rebuilt addon). */
  nativeFiles: ['package.json', 'index.js', 'lib/native.js', 'lib/unsupported.js', 'LICENSE'],
  addon: 'build/Release/bluetooth_hci_socket.node',
  /**
   * Modules the helper loads with a computed `require` (electron/ble/helper/run.ts loads the
   * HCI binding lazily), which a bundler cannot follow: each is bundled on its own and
   * handed to the helper by the SEA script, so nothing but the native package is looked up
   * on disk (in a package no node_modules above the executable holds noble).
   */
  lazyModules: ['@abandonware/noble/lib/hci-socket/bindings'],
  seaFuse: 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2',
};

/**
 * The script run inside the SEA. `bundle` is the helper's CommonJS bundle; `lazyBundles`
 * maps each of {@link LAYOUT}.lazyModules to its own CommonJS bundle. The helper gets a
 * `require` that returns those bundles (each evaluated once, on first use) and loads
 * anything else (the native package) from the node_modules folder next to the executable.
 */
export function seaMain(bundle, lazyBundles = {}) {
  const lazy = Object.entries(lazyBundles).map(
    ([id, code]) => `  ${JSON.stringify(id)}: (module, exports, require) => {\n${code}\n},`,
  );
  return [
    "'use strict';",
    '// Unknot Bluetooth helper (build/ble-helper/build.mjs). In a single-executable application',
    '// `require` loads only built-in modules; the one native package is loaded from the',
    '// node_modules folder next to the executable, the lazily loaded modules from this file.',
    "const nativeRequire = require('node:module').createRequire(require('node:path').join(require('node:path').dirname(process.execPath), 'node_modules', 'unknot-ble-helper.cjs'));",
    'const lazyBundles = {',
    ...lazy,
    '};',
    'const lazyLoaded = new Map();',
    'function helperRequire(id) {',
    '  if (!Object.prototype.hasOwnProperty.call(lazyBundles, id)) return nativeRequire(id);',
    '  if (!lazyLoaded.has(id)) {',
    '    const module = { exports: {} };',
    '    lazyLoaded.set(id, module);',
    '    lazyBundles[id](module, module.exports, nativeRequire);',
    '  }',
    '  return lazyLoaded.get(id).exports;',
    '}',
    '(function (require, module, exports) {',
    bundle,
    '})(helperRequire, { exports: {} }, {});',
    '',
  ].join('\n');
}

/**
 * Runs the helper executable (or script) `exe` with an empty stdin, outside any
 * node_modules of this project, and returns what it printed on stderr: the HCI binding
 * either opens the adapter or says why not, and must never miss a module.
 */
export function probeHci(command, args = []) {
  try {
    execFileSync(command, args, { input: '', encoding: 'utf8', timeout: 10_000, stdio: ['pipe', 'pipe', 'pipe'] });
    return '';
  } catch (error) {
    return `${String(error.stderr ?? '')}${String(error.stdout ?? '')}`;
  }
}

function run(command, args, options = {}) {
  console.log(`$ ${[command, ...args].join(' ')}`);
  execFileSync(command, args, { stdio: 'inherit', ...options });
}

function fail(message) {
  console.error(`build/ble-helper: ${message}`);
  process.exit(1);
}

async function main() {
  const force = process.argv.includes('--force');
  if (process.platform !== 'linux' && !force) fail('the Bluetooth helper is for Linux only (the other systems do not need it).');
  const [major, minor] = process.versions.node.split('.').map(Number);
  if (major < 20 || (major === 20 && minor < 12)) fail(`Node ${process.version} cannot build single-executable applications; use Node 20.12 or later.`);
  const entry = join(ROOT, LAYOUT.entry);
  if (!existsSync(entry)) fail(`${LAYOUT.entry} is missing: run \`npx electron-vite build\` first.`);

  const out = join(ROOT, LAYOUT.outDir);
  const staging = join(ROOT, LAYOUT.staging);
  rmSync(out, { recursive: true, force: true });
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  mkdirSync(staging, { recursive: true });

  // 1. One CommonJS bundle of the helper with noble's JavaScript and zod; only the native package stays outside.
  const { build } = await import(require.resolve('rolldown'));
  const external = [...builtinModules, ...builtinModules.map((m) => `node:${m}`), LAYOUT.nativePackage, 'supports-color'];
  const bundleOne = async (input, file) => {
    await build({
      input,
      platform: 'node',
      external: (id) => external.includes(id) || id.startsWith(`${LAYOUT.nativePackage}/`),
      output: { file, format: 'cjs', inlineDynamicImports: true },
      logLevel: 'warn',
    });
    return readFileSync(file, 'utf8');
  };
  const helperBundle = await bundleOne(entry, join(staging, 'bundle.cjs'));
  const lazyBundles = {};
  for (const [i, id] of LAYOUT.lazyModules.entries()) lazyBundles[id] = await bundleOne(require.resolve(id), join(staging, `lazy-${i}.cjs`));
  const main = join(staging, 'sea-main.cjs');
  writeFileSync(main, seaMain(helperBundle, lazyBundles));

  // 2. Smoke test of the script with plain Node: the simulated radio must come up.
  const reply = execFileSync(process.execPath, [main, '--simulated'], { input: '{"k":"call","m":"init","a":[]}\n', encoding: 'utf8', timeout: 10_000 });
  if (!reply.includes('"poweredOn"')) fail(`the bundled helper did not answer as expected:\n${reply}`);

  // 3. The native package, rebuilt for this Node.
  const nativeSrc = dirname(require.resolve(`${LAYOUT.nativePackage}/package.json`));
  const nativeBuild = join(staging, 'native');
  const skip = (p) => /^(build|lib\/binding|node_modules|\.github|examples)(\/|$)/.test(relative(nativeSrc, p));
  cpSync(nativeSrc, nativeBuild, { recursive: true, filter: (p) => !skip(p) });
  // module_name and module_path are what node-pre-gyp would pass (its binding.gyp uses them).
  // `--nodedir=/usr` uses installed headers instead of downloading them (offline builders, distribution Node).
  const nodedir = process.argv.find((a) => a.startsWith('--nodedir='));
  run(process.execPath, [require.resolve('node-gyp/bin/node-gyp.js'), 'rebuild', '--release', '--module_name=bluetooth_hci_socket', '--module_path=./lib/binding/', ...(nodedir ? [nodedir] : [])], { cwd: nativeBuild });
  const nativeOut = join(out, 'node_modules', LAYOUT.nativePackage);
  for (const file of [...LAYOUT.nativeFiles, LAYOUT.addon]) {
    mkdirSync(dirname(join(nativeOut, file)), { recursive: true });
    copyFileSync(join(nativeBuild, file), join(nativeOut, file));
  }

  // 4. The single executable: this Node binary with the script injected.
  const blob = join(staging, 'sea-prep.blob');
  const config = join(staging, 'sea-config.json');
  writeFileSync(config, JSON.stringify({ main, output: blob, disableExperimentalSEAWarning: true, useSnapshot: false, useCodeCache: false }));
  run(process.execPath, ['--experimental-sea-config', config]);
  const exe = join(out, LAYOUT.executable);
  copyFileSync(process.execPath, exe);
  chmodSync(exe, 0o755);
  run(process.execPath, [require.resolve('postject/dist/cli.js'), exe, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', LAYOUT.seaFuse]);

  // 5. The executable itself: the simulated radio comes up, and the HCI binding loads (or says
  // why it cannot open the adapter). Run from a copy outside the project, as in a package: no
  // node_modules above it, so a module missing from the executable cannot be found by chance.
  const seaReply = execFileSync(exe, ['--simulated'], { input: '{"k":"call","m":"init","a":[]}\n', encoding: 'utf8', timeout: 10_000 });
  if (!seaReply.includes('"poweredOn"')) fail(`the helper executable did not answer as expected:\n${seaReply}`);
  const probeDir = mkdtempSync(join(tmpdir(), 'unknot-ble-helper-'));
  try {
    cpSync(out, probeDir, { recursive: true });
    const hci = probeHci(join(probeDir, LAYOUT.executable));
    if (/MODULE_NOT_FOUND|Cannot find module/.test(hci)) fail(`the helper executable cannot load a module outside this project:\n${hci}`);
  } finally {
    rmSync(probeDir, { recursive: true, force: true });
  }

  const manifest = { platform: process.platform, arch: process.arch, node: process.version, executable: LAYOUT.executable, builtAt: new Date().toISOString() };
  writeFileSync(join(out, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  rmSync(staging, { recursive: true, force: true });
  console.log(`build/ble-helper: ${LAYOUT.outDir}/${LAYOUT.executable} is ready (${process.platform}-${process.arch}, Node ${process.version}).`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await main();
}
