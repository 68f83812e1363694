#!/usr/bin/env node
// Runs the test suite with Node's test runner through tsx, on an explicit file list (Node 20's
// `--test` neither finds .ts files nor expands globs, and a bare `--test` silently runs nothing).
//
//   node scripts/run-tests.mjs                 every test/*.test.ts
//   node scripts/run-tests.mjs losses backend  only files whose name contains one of the words
//
// Order: the setup-check notebook first (it proves the kernel works), the other notebook tests
// last (slowest), everything else in between, alphabetically.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const filters = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const passThrough = process.argv.slice(2).filter((a) => a.startsWith('--'));

const rank = (f) => (f.startsWith('00-') ? 0 : f.startsWith('notebooks') ? 2 : 1);
const files = readdirSync(join(root, 'test'))
  .filter((f) => f.endsWith('.test.ts'))
  .filter((f) => filters.length === 0 || filters.some((w) => f.includes(w)))
  .sort((a, b) => rank(a) - rank(b) || a.localeCompare(b))
  .map((f) => join('test', f));

if (files.length === 0) {
  console.error(`no test files match ${filters.join(', ') || 'test/*.test.ts'}`);
  process.exit(1);
}
console.log(`[test] ${files.length} files: ${files.join(' ')}`);
const env = { ...process.env, JUPYTER_PATH: [join(root, 'jupyter'), process.env.JUPYTER_PATH].filter(Boolean).join(':') };
// One file at a time: the machine has 2 cores and most files train small networks.
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', ...passThrough, ...files], { cwd: root, stdio: 'inherit', env });
process.exit(r.status ?? 1);
