/**
 * Each layer is compiled with only what it may use (DESIGN §2): fixtures are compiled
 * with a project's own compiler options (its tsconfig.json, as `npm run typecheck`
 * builds it) and the errors a user of that layer would see are asserted, by code and line.
 * Also: a handler answering the wrong result type does not compile.
 */
import { join } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = join(__dirname, '..', '..', '..');
const FIXTURES = join(ROOT, 'test', 'fixtures', 'layers');

/** The compiler options of `project` (a folder with a tsconfig.json). */
function projectOptions(project: string): ts.CompilerOptions {
  const configPath = join(ROOT, project, 'tsconfig.json');
  const parsed = ts.getParsedCommandLineOfConfigFile(configPath, {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: (d) => { throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n')); } });
  if (!parsed) throw new Error(`cannot read ${configPath}`);
  expect(parsed.errors).toEqual([]);
  return parsed.options;
}

interface Found {
  code: number;
  line: number;
  file: string;
  text: string;
}

/**
 * Type-checks `files` (fixtures, plus `extra` files of the project such as its ambient
 * declarations) with the options of `project`: the program's errors and the fixtures' own.
 * The fixtures sit outside the project's folder, so `rootDir` is widened to the
 * repository; nothing is emitted.
 */
function compile(project: string, files: string[], extra: string[] = [], overrides: ts.CompilerOptions = {}): Found[] {
  const options: ts.CompilerOptions = { ...projectOptions(project), rootDir: ROOT, noEmit: true, emitDeclarationOnly: false, ...overrides };
  delete options.tsBuildInfoFile;
  const fixtures = files.map((f) => join(FIXTURES, f));
  const program = ts.createProgram([...fixtures, ...extra.map((f) => join(ROOT, f))], options);
  // The program's own errors (a file outside the project, 6307) and every error in the fixtures.
  const diagnostics = [
    ...program.getOptionsDiagnostics(),
    ...program.getGlobalDiagnostics(),
    ...fixtures.flatMap((f) => [...program.getSyntacticDiagnostics(program.getSourceFile(f)), ...program.getSemanticDiagnostics(program.getSourceFile(f))]),
  ];
  return diagnostics.map((d) => ({
    code: d.code,
    line: d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start).line + 1 : 0,
    file: d.file ? d.file.fileName.slice(ROOT.length + 1) : '',
    text: ts.flattenDiagnosticMessageText(d.messageText, '\n'),
  }));
}

const codesAt = (found: Found[], file: string): [number, number][] =>
  found.filter((f) => f.file.endsWith(file)).map((f) => [f.line, f.code] as [number, number]).sort((a, b) => a[0] - b[0] || a[1] - b[1]);

describe('layer purity is a compiler error', () => {
  it('protocols: importing node:fs, using Buffer or process does not compile', () => {
    const found = compile('protocols', ['protocols-imports-node.ts'], ['protocols/globals.d.ts']);
    // 2307: cannot find module 'node:fs'; 2591/2580: cannot find name (install @types/node)
    expect(codesAt(found, 'protocols-imports-node.ts')).toEqual([
      [3, 2307],
      [6, 2591],
      [7, 2591],
    ]);
    expect(found.find((f) => f.code === 2307)?.text).toContain("'node:fs'");
  });

  it('protocols: the DOM (document, WebSocket) does not compile', () => {
    const found = compile('protocols', ['protocols-uses-dom.ts'], ['protocols/globals.d.ts']);
    expect(codesAt(found, 'protocols-uses-dom.ts').map(([line]) => line)).toEqual([2, 3]);
    expect(found.map((f) => f.text).join('\n')).toMatch(/Cannot find name 'document'[\s\S]*Cannot find name 'WebSocket'/);
  });

  it('protocols: what a protocol may use (text encoding, timers, the clock) compiles', () => {
    expect(compile('protocols', ['protocols-pure.ts'], ['protocols/globals.d.ts'])).toEqual([]);
  });

  it('renderer: importing node:fs and using process does not compile', () => {
    const found = compile('renderer', ['renderer-imports-node.ts']);
    expect(codesAt(found, 'renderer-imports-node.ts')).toEqual([
      [2, 2307],
      [5, 2591],
    ]);
  });

  it('renderer: a main-process module is not part of the renderer project (only the contract is shared)', () => {
    const found = compile('renderer', ['renderer-imports-main.ts']);
    // 6307: electron/core/app-core.ts is not a file of the renderer project
    expect(found.some((f) => f.code === 6307 && f.text.includes('electron/core/app-core.ts') && f.text.includes('renderer/tsconfig.json'))).toBe(true);
  });

  it('renderer: the IPC contract is shared with it, as a referenced project', () => {
    const options = projectOptions('renderer');
    expect(options.lib?.some((l) => /dom/i.test(l))).toBe(true);
    expect(options.types).toEqual([]);
    const config = ts.readConfigFile(join(ROOT, 'renderer', 'tsconfig.json'), ts.sys.readFile).config as { references: { path: string }[] };
    expect(config.references).toEqual([{ path: '../electron/ipc' }]);
  });
});

describe('the contract types the handlers', () => {
  it('a session.start handler answering a device status does not compile', () => {
    const found = compile('electron', ['wrong-result.ts'], [], { composite: false });
    expect(codesAt(found, 'wrong-result.ts')).toEqual([[11, 2322]]);
    expect(found[0]!.text).toMatch(/DeviceStatusEvent.*SessionStartResult|SessionStartResult/s);
  });
});
