#!/usr/bin/env node
// Installs what is missing and nothing else, then (with --lab) opens JupyterLab on notebooks/.
//
//   node scripts/setup.mjs          npm packages + ./.venv (JupyterLab, nbclient, nbconvert)
//   node scripts/setup.mjs --lab    the same, then JupyterLab with the repository's tslab kernel
//
// Each step writes a stamp (a hash of its inputs) under .setup-stamps/ when it succeeds, so a
// second run with unchanged package-lock.json / requirements.txt installs nothing. This script uses
// only Node's standard library: it runs before node_modules exists.
import { spawnSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const stampDir = join(root, '.setup-stamps');
const venv = join(root, '.venv');
const venvBin = join(venv, 'bin');
const args = process.argv.slice(2);
const quiet = args.includes('--quiet');

const log = (msg) => { if (!quiet) console.log(`[setup] ${msg}`); };
const fail = (msg) => { console.error(`[setup] ERROR: ${msg}`); process.exit(1); };

function hashOf(...parts) {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest('hex');
}
const readStamp = (name) => { try { return readFileSync(join(stampDir, name), 'utf8').trim(); } catch { return ''; } };
const writeStamp = (name, value) => { mkdirSync(stampDir, { recursive: true }); writeFileSync(join(stampDir, name), value + '\n'); };

function run(cmd, argv, what) {
  log(`${what}: ${cmd} ${argv.join(' ')}`);
  const r = spawnSync(cmd, argv, { cwd: root, stdio: 'inherit', env: process.env });
  if (r.error) fail(`${what} could not start ${cmd}: ${r.error.message}`);
  if (r.status !== 0) fail(`${what} failed (${cmd} exited with ${r.status}).`);
}

// 1. Node.js: vega-lite 5 and tslab need >= 18; require(esm) (used by some vega deps) needs 20.19.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 20 || (major === 20 && minor < 19)) fail(`Node.js ${process.versions.node} is too old; install Node.js 20.19+ (or 22).`);

// 2. npm packages, pinned by package-lock.json.
{
  const lock = join(root, 'package-lock.json');
  const want = hashOf(readFileSync(join(root, 'package.json')), existsSync(lock) ? readFileSync(lock) : '');
  const have = existsSync(join(root, 'node_modules', '.package-lock.json')) ? readStamp('npm') : '';
  if (want !== have) {
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
    run(npm, existsSync(lock) ? ['ci', '--no-audit', '--no-fund'] : ['install', '--no-audit', '--no-fund'], 'npm packages');
    if (!existsSync(join(root, 'node_modules', 'canvas', 'build', 'Release', 'canvas.node'))) {
      fail('canvas did not build. Install the system packages listed in README.md ("System packages") and rerun.');
    }
    writeStamp('npm', hashOf(readFileSync(join(root, 'package.json')), readFileSync(lock)));
  } else log('npm packages: up to date');
}

// 3. Python venv with JupyterLab / nbclient / nbconvert.
{
  const req = readFileSync(join(root, 'requirements.txt'));
  const python = process.env.PYTHON || 'python3';
  const pyVersion = spawnSync(python, ['--version'], { encoding: 'utf8' });
  if (pyVersion.error || pyVersion.status !== 0) fail(`${python} not found: install Python 3.9+ (or set PYTHON=/path/to/python3).`);
  const want = hashOf(req, pyVersion.stdout + pyVersion.stderr);
  const venvPython = join(venvBin, 'python');
  if (!existsSync(venvPython) || readStamp('venv') !== want) {
    if (!existsSync(venvPython)) {
      const r = spawnSync(python, ['-m', 'venv', venv], { cwd: root, stdio: 'inherit' });
      if (r.status !== 0) fail(`"${python} -m venv .venv" failed. On Debian/Ubuntu: apt-get install python3-venv`);
    }
    run(venvPython, ['-m', 'pip', 'install', '--disable-pip-version-check', '-q', '-r', 'requirements.txt'], 'Python packages');
    writeStamp('venv', want);
  } else log('Python venv: up to date');
}

// 4. The tslab kernel: committed under jupyter/kernels/tslab, found through JUPYTER_PATH; nothing
//    is installed into the user's Jupyter directories.
const env = { ...process.env, JUPYTER_PATH: [join(root, 'jupyter'), process.env.JUPYTER_PATH].filter(Boolean).join(':') };
if (!existsSync(join(root, 'jupyter', 'kernels', 'tslab', 'kernel.json'))) fail('jupyter/kernels/tslab/kernel.json is missing (the checkout is incomplete).');
log('tslab kernel: jupyter/kernels/tslab (via JUPYTER_PATH)');

if (args.includes('--lab')) {
  const extra = args.filter((a) => a !== '--lab' && a !== '--quiet');
  const labArgs = ['lab', `--ServerApp.root_dir=${join(root, 'notebooks')}`, ...extra];
  if (process.getuid?.() === 0 && !extra.includes('--allow-root')) labArgs.push('--allow-root');
  log(`starting JupyterLab on notebooks/ (kernel "TypeScript (cvaegan-ts)"); Ctrl+C stops it`);
  const child = spawn(join(venvBin, 'jupyter'), labArgs, { cwd: root, stdio: 'inherit', env });
  const forward = (sig) => child.kill(sig);
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  child.on('exit', (code) => process.exit(code ?? 0));
}
