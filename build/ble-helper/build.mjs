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
//                                        (build/ble-helper/before-pack.cjs).
//
// Needs: Linux, Node >= 20.12 (an official build: it carries the SEA fuse), a C++
// toolchain and Python for node-gyp (and the Node headers, which node-gyp downloads once).
// `rolldown` (via electron-vite) and `postject` (via electron-builder) come from node_modules.
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
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
  seaFuse: 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2',
};

/** The script run inside the SEA: gives the bundle a `require` that finds the native package next to the executable. */
export function seaMain(bundle) {
  return [
    "'use strict';",
    '// Unknot Bluetooth helper (build/ble-helper/build.mjs). In a single-executable application',
    '// `require` loads only built-in modules; the one native package is loaded from the',
    '// node_modules folder next to the executable.',
    "const nativeRequire = require('node:module').createRequire(require('node:path').join(require('node:path').dirname(process.execPath), 'node_modules', 'unknot-ble-helper.cjs'));",
    '(function (require, module, exports) {',
    bundle,
    '})(nativeRequire, { exports: {} }, {});',
    '',
  ].join('\n');
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
  await build({
    input: entry,
    platform: 'node',
    external: (id) => external.includes(id) || id.startsWith(`${LAYOUT.nativePackage}/`),
    output: { file: join(staging, 'bundle.cjs'), format: 'cjs', inlineDynamicImports: true },
    logLevel: 'warn',
  });
  const main = join(staging, 'sea-main.cjs');
  writeFileSync(main, seaMain(readFileSync(join(staging, 'bundle.cjs'), 'utf8')));

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

  // 5. The executable itself: the simulated radio comes up, and the HCI binding loads (or says why it cannot).
  const seaReply = execFileSync(exe, ['--simulated'], { input: '{"k":"call","m":"init","a":[]}\n', encoding: 'utf8', timeout: 10_000 });
  if (!seaReply.includes('"poweredOn"')) fail(`the helper executable did not answer as expected:\n${seaReply}`);
  let hci = '';
  try {
    hci = execFileSync(exe, [], { input: '', encoding: 'utf8', timeout: 10_000, stdio: ['pipe', 'pipe', 'inherit'] });
  } catch (error) {
    hci = String(error.stdout ?? '');
  }
  if (/MODULE_NOT_FOUND|Cannot find module/.test(hci)) fail(`the helper executable cannot load the native module:\n${hci}`);

  const manifest = { platform: process.platform, arch: process.arch, node: process.version, executable: LAYOUT.executable, builtAt: new Date().toISOString() };
  writeFileSync(join(out, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  rmSync(staging, { recursive: true, force: true });
  console.log(`build/ble-helper: ${LAYOUT.outDir}/${LAYOUT.executable} is ready (${process.platform}-${process.arch}, Node ${process.version}).`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await main();
}
