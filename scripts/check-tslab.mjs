#!/usr/bin/env node
// Type-checks lib/ and datasets/ the way tslab compiles them when a notebook imports them:
// tslab's bundled TypeScript 5.0, NOT strict, module ESNext / moduleResolution Node10, target
// ES2022 (converter.js hard-codes these and ignores tsconfig.json). Code that passes our strict
// tsc can still fail there, e.g. discriminated unions on boolean literals do not narrow without
// strictNullChecks, and syntax newer than TS 5.0 does not parse.
import { createRequire } from 'node:module';
import { readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(root, 'package.json'));
const ts = require('@tslab/typescript-for-tslab');

function walk(dir) {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) return f === 'node_modules' || f.startsWith('.') ? [] : walk(p);
    return p.endsWith('.ts') && !p.endsWith('.d.ts') ? [p] : [];
  });
}
const files = ['lib', 'datasets'].flatMap((d) => { try { return walk(join(root, d)); } catch { return []; } });
const program = ts.createProgram(files, {
  module: ts.ModuleKind.ESNext,
  moduleResolution: ts.ModuleResolutionKind.Node10,
  target: ts.ScriptTarget.ES2022,
  esModuleInterop: true,
  resolveJsonModule: true,
  skipLibCheck: true,
  noEmit: true,
  types: ['node'],
});
const diags = [...ts.getPreEmitDiagnostics(program)];

// tslab resolves every require() made inside an imported .ts file against that file's folder
// first (executor.js wrapRequire joins dirname + id, bare names included), so lib/vega.ts importing
// 'vega' would load itself forever. No file may share its name with a bare import in its folder.
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
const byDir = new Map();
for (const f of files) {
  const d = dirname(f);
  if (!byDir.has(d)) byDir.set(d, []);
  byDir.get(d).push(f);
}
let clashes = 0;
for (const [d, fs] of byDir) {
  const names = new Set(fs.map((f) => basename(f, '.ts')));
  for (const f of fs) {
    for (const m of readFileSync(f, 'utf8').matchAll(/(?:from\s+|require\(|import\()\s*['"]([^'"./][^'"]*)['"]/g)) {
      const first = m[1].split('/')[0];
      const id = m[1].startsWith('@') ? m[1] : first;
      for (const candidate of [id, first, m[1]]) {
        if (names.has(candidate)) {
          console.error(`${f.replace(root + '/', '')} imports '${m[1]}', but ${d.replace(root + '/', '')}/${candidate}.ts exists: tslab would load that file instead. Rename it.`);
          clashes++;
          break;
        }
      }
    }
  }
}
for (const d of diags) {
  const msg = ts.flattenDiagnosticMessageText(d.messageText, '\n');
  if (d.file) {
    const { line, character } = d.file.getLineAndCharacterOfPosition(d.start ?? 0);
    console.error(`${d.file.fileName.replace(root + '/', '')}:${line + 1}:${character + 1} - ${msg}`);
  } else console.error(msg);
}
console.log(`[tslab-compat] TypeScript ${ts.version}, non-strict: ${files.length} files, ${diags.length} type errors, ${clashes} name clashes`);
process.exit(diags.length || clashes ? 1 : 0);
