/**
 * The house rules of lib/ (lib/README.md): no import cycles, each folder imports only the folders
 * below it, the backend is reached only through its index, the model classes never import the
 * factory that builds them, every folder says what it is for, and the notebooks' imports point at
 * files that exist.
 *
 * Type-only imports (`import type`) count like any other: a cycle through types is still two files
 * that cannot be read, moved or tested one without the other, which is what the rules are for.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as ts from 'typescript';
import { findCycles, importGraph, relativeSpecs, resolveSpec, sourceFiles, type ImportEdge } from './helpers/imports';

const ROOT = path.join(__dirname, '..');

/**
 * What each folder may import besides itself (lib/README.md has the same table). Bottom up: the
 * paper's model and the backend machinery import nothing of ours; display code only itself;
 * training adds the model and display; evaluation adds training, the backend and the datasets;
 * the applications add evaluation; notebook glue may use everything. datasets/ reports progress
 * through lib/viz/display.ts and nothing else of lib/.
 */
const MAY_IMPORT: Record<string, readonly string[]> = {
  'lib/model': [],
  'lib/backend': [],
  'lib/viz': [],
  'lib/train': ['lib/model', 'lib/viz'],
  'lib/eval': ['lib/model', 'lib/viz', 'lib/train', 'lib/backend', 'datasets'],
  'lib/apps': ['lib/model', 'lib/viz', 'lib/eval', 'datasets'],
  'lib/notebook': ['lib/model', 'lib/viz', 'lib/train', 'lib/eval', 'lib/apps', 'lib/backend', 'datasets'],
  datasets: ['lib/viz'],
};
const BACKEND_INDEX = 'lib/backend/index.ts';
const MAX_LINES = 450;
/** Lines as wc -l counts them. */
const lineCount = (text: string) => text.split('\n').length - (text.endsWith('\n') ? 1 : 0);

/** The folder of MAY_IMPORT a file belongs to, or undefined (bench/, scripts/, test/). */
function folderOf(file: string): string | undefined {
  return Object.keys(MAY_IMPORT).find((d) => file.startsWith(`${d}/`));
}

const show = (e: ImportEdge) => `${e.from}:${e.line} imports '${e.spec}' (${e.to || 'no such file'})`;

const graph = importGraph(ROOT, sourceFiles(ROOT, ['lib', 'datasets']));
const edges = [...graph.values()].flat();

test('every relative import in lib/ and datasets/ names a file', () => {
  assert.deepEqual(edges.filter((e) => !e.to).map(show), []);
});

test('no import cycle in lib/ and datasets/ (type-only imports included)', () => {
  const cycles = findCycles(graph).map((c) => `${c.cycle.join(' -> ')}   (files in this circle: ${c.files.join(', ')})`);
  assert.deepEqual(cycles, [], `import cycles:\n  ${cycles.join('\n  ')}`);
});

test('the cycle finder finds a planted cycle, a self-import and nothing in a chain', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'imports-'));
  try {
    const files: Record<string, string> = {
      'a.ts': "import { b } from './b';\nexport const a = 1;",
      'b.ts': "// import { a } from './chain'; (a comment, not an import)\nimport type { C } from './sub/c';\nexport const b = 2;",
      'sub/c.ts': "export type C = number;\nexport { a } from '../a';",
      'self.ts': "import * as me from './self';\nexport const s = me;",
      'chain.ts': "import { a } from './a';\nconst x = require('./leaf');\nexport { a, x };",
      'leaf.ts': 'export const leaf = 0;',
    };
    for (const [f, text] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
      fs.writeFileSync(path.join(dir, f), text);
    }
    const g = importGraph(dir, Object.keys(files));
    assert.deepEqual(g.get('chain.ts')!.map((e) => e.to), ['a.ts', 'leaf.ts'], 'require() counts as an import');
    assert.deepEqual(g.get('b.ts')!.map((e) => e.to), ['sub/c.ts'], 'comments are not imports; import type is');
    assert.deepEqual(findCycles(g), [
      { files: ['a.ts', 'b.ts', 'sub/c.ts'], cycle: ['a.ts', 'b.ts', 'sub/c.ts', 'a.ts'] },
      { files: ['self.ts'], cycle: ['self.ts', 'self.ts'] },
    ]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('each folder imports only the folders below it (MAY_IMPORT, lib/README.md)', () => {
  const bad = edges.filter((e) => {
    const from = folderOf(e.from);
    const to = folderOf(e.to);
    if (!from || !to || from === to) return false;
    return !MAY_IMPORT[from].includes(to);
  });
  assert.deepEqual(bad.map((e) => `${show(e)}: ${folderOf(e.from)} may import only ${MAY_IMPORT[folderOf(e.from)!].join(', ') || 'itself'}`), []);
});

test('lib/ holds only its folders, and each folder says what lives there in a README.md', () => {
  const top = fs.readdirSync(path.join(ROOT, 'lib')).filter((f) => fs.statSync(path.join(ROOT, 'lib', f)).isFile());
  assert.deepEqual(top.filter((f) => f !== 'README.md'), [], 'files directly in lib/ belong in one of its folders');
  assert.ok(top.includes('README.md'), 'lib/README.md');
  const folders = fs.readdirSync(path.join(ROOT, 'lib')).filter((f) => fs.statSync(path.join(ROOT, 'lib', f)).isDirectory()).map((f) => `lib/${f}`);
  assert.deepEqual(folders.filter((f) => !(f in MAY_IMPORT)), [], 'every folder of lib/ has a row in MAY_IMPORT');
  assert.deepEqual(folders.filter((f) => !fs.existsSync(path.join(ROOT, f, 'README.md'))), [], 'folders without a README.md');
});

test('outside lib/backend/, the backend is imported only through lib/backend/index.ts (lib, datasets, bench, scripts)', () => {
  // test/ is exempt: its backend tests check one kernel file or lever on its own.
  const outside = [...edges, ...[...importGraph(ROOT, sourceFiles(ROOT, ['bench', 'scripts'])).values()].flat()];
  const bad = outside.filter((e) => !e.from.startsWith('lib/backend/') && e.to.startsWith('lib/backend/') && e.to !== BACKEND_INDEX);
  assert.deepEqual(bad.map(show), []);
});

test('the model classes know only the interface: nothing in lib/model/ imports factory.ts, and interface.ts is types only', () => {
  assert.deepEqual(edges.filter((e) => e.from.startsWith('lib/model/') && e.to === 'lib/model/factory.ts').map(show), []);
  const text = fs.readFileSync(path.join(ROOT, 'lib/model/interface.ts'), 'utf8');
  const js = ts.transpileModule(text, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 } }).outputText;
  const code = js.replace(/"use strict";|Object\.defineProperty\(exports, "__esModule", \{ value: true \}\);|\/\/.*$/gm, '').trim();
  assert.equal(code, '', `lib/model/interface.ts compiles to code:\n${code}`);
});

test(`no file of lib/ is over ${MAX_LINES} lines unless its first comment says why (mentions "${MAX_LINES} lines")`, () => {
  const long = sourceFiles(ROOT, ['lib'])
    .map((f) => ({ f, text: fs.readFileSync(path.join(ROOT, f), 'utf8') }))
    .filter(({ text }) => lineCount(text) > MAX_LINES)
    .filter(({ text }) => !(/^\s*\/\*\*?([\s\S]*?)\*\//.exec(text)?.[1] ?? '').includes(`${MAX_LINES} lines`));
  assert.deepEqual(long.map(({ f, text }) => `${f}: ${lineCount(text)} lines`), []);
});

test("the notebooks' and make_notebooks.py's imports of ./lib and ./datasets name files, and reach the backend through its index", () => {
  const bad: string[] = [];
  const check = (where: string, spec: string) => {
    const to = resolveSpec(ROOT, '.', spec);
    if (!to) bad.push(`${where}: '${spec}' names no file`);
    else if (to.startsWith('lib/backend/') && to !== BACKEND_INDEX) bad.push(`${where}: '${spec}' is inside lib/backend/; import ${BACKEND_INDEX}`);
  };
  const notebooks = [
    ...fs.readdirSync(path.join(ROOT, 'notebooks')).filter((f) => f.endsWith('.ipynb')).map((f) => `notebooks/${f}`),
    ...fs.readdirSync(path.join(ROOT, 'test/notebooks')).filter((f) => f.endsWith('.ipynb')).map((f) => `test/notebooks/${f}`),
  ];
  let seen = 0;
  for (const nb of notebooks) {
    const cells = JSON.parse(fs.readFileSync(path.join(ROOT, nb), 'utf8')).cells as { cell_type: string; source: string[] | string }[];
    cells.forEach((c, i) => {
      if (c.cell_type !== 'code') return;
      for (const { spec } of relativeSpecs(Array.isArray(c.source) ? c.source.join('') : c.source)) {
        seen++;
        check(`${nb} cell ${i}`, spec);
      }
    });
  }
  const py = fs.readFileSync(path.join(ROOT, 'notebooks/src/make_notebooks.py'), 'utf8');
  for (const m of py.matchAll(/from '(\.\/[^']+)'/g)) {
    seen++;
    check('notebooks/src/make_notebooks.py', m[1]);
  }
  assert.ok(seen > 50, `only ${seen} imports found in the notebooks`);
  assert.deepEqual(bad, []);
});
