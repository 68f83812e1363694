#!/usr/bin/env node
// Installs what is missing and nothing else, then (with --lab) opens JupyterLab on notebooks/.
//
//   node scripts/setup.mjs          npm packages + ./.venv (JupyterLab, nbclient, nbconvert)
//                                   + the native TensorFlow backend in .native/ when PyPI answers
//   node scripts/setup.mjs --lab    the same, then JupyterLab with the repository's tslab kernel
//
// The native backend (scripts/build-native-tfjs.mjs: tfjs-node built against the TensorFlow C
// library of the tensorflow-cpu wheel; ~275 MB download, 1.3 GB on disk, a few minutes) is built
// once, when PyPI can be reached; otherwise, or with CVAEGAN_NATIVE=0, setup says in one line why
// not and everything runs on wasm. What happened is kept in .setup-stamps/native.json, which
// lib/backend/index.ts reads to explain its choice.
//
// Each step writes a stamp (a hash of its inputs) under .setup-stamps/ when it succeeds, so a
// second run with unchanged package-lock.json / requirements.txt installs nothing. This script uses
// only Node's standard library: it runs before node_modules exists.
import { spawnSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
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

// 4. The native TensorFlow backend, when PyPI can be reached (wasm otherwise, said in one line).
await nativeBackend();

/** Can pip's index be reached? undefined when yes, else the reason (one line). */
function probeIndex() {
  const index = (process.env.PIP_INDEX_URL || 'https://pypi.org/simple').replace(/\/+$/, '');
  // Node's https ignores proxy variables: behind a proxy, let pip itself find out.
  if (['https_proxy', 'HTTPS_PROXY', 'http_proxy', 'HTTP_PROXY'].some((k) => process.env[k])) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    const get = index.startsWith('http:') ? http.get : https.get;
    let req;
    try {
      req = get(`${index}/tensorflow-cpu/`, { timeout: 8000, headers: { Accept: 'text/html' } }, (res) => {
        res.resume();
        resolve(res.statusCode && res.statusCode < 400 ? undefined : `${index} answered HTTP ${res.statusCode}`);
      });
    } catch (e) {
      resolve(`${index}: ${e.message}`);
      return;
    }
    req.on('timeout', () => req.destroy(new Error('no answer in 8 s')));
    req.on('error', (e) => resolve(`${index} not reachable (${e.message})`));
  });
}

async function nativeBackend() {
  const statusFile = join(stampDir, 'native.json');
  const record = (state, reason) => {
    mkdirSync(stampDir, { recursive: true });
    writeFileSync(statusFile, JSON.stringify({ state, reason, at: new Date().toISOString() }, null, 1) + '\n');
  };
  const script = join(root, 'scripts', 'build-native-tfjs.mjs');
  const want = hashOf(readFileSync(script));
  const pkg = join(root, '.native', 'node_modules', '@tensorflow', 'tfjs-node');
  const built = existsSync(join(pkg, 'lib')) && readdirSync(join(pkg, 'lib')).some((d) => existsSync(join(pkg, 'lib', d, 'tfjs_binding.node')));
  const optOut = /^(0|false|no|off)$/i.test((process.env.CVAEGAN_NATIVE ?? '').trim());
  if (optOut) {
    log(`native backend: ${built ? 'not used' : 'not built'} (CVAEGAN_NATIVE=${process.env.CVAEGAN_NATIVE}); the wasm backend runs`);
    record('off', `CVAEGAN_NATIVE=${process.env.CVAEGAN_NATIVE} when setup ran`);
    return;
  }
  if (built && readStamp('native') === want) {
    log('native backend: up to date (.native/)');
    return;
  }
  if (built && !readStamp('native')) {
    // Built by hand (npm run native) before setup did it: adopt it when it loads.
    const check = spawnSync(process.execPath, [script, '--check'], { cwd: root, encoding: 'utf8' });
    if (check.status === 0) {
      writeStamp('native', want);
      record('built', 'built earlier by npm run native');
      log('native backend: up to date (.native/, built earlier)');
      return;
    }
  }
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    log(`native backend: not built (the tensorflow-cpu wheel it is made from is for linux x86-64; this is ${process.platform} ${process.arch}); the wasm backend runs`);
    record('unsupported', `${process.platform} ${process.arch}: the build uses the manylinux x86-64 wheel`);
    return;
  }
  const unreachable = await probeIndex();
  if (unreachable) {
    log(`native backend: not built (PyPI: ${unreachable}); the wasm backend runs. \`npm run native\` builds it once PyPI answers.`);
    record('unreachable', `PyPI: ${unreachable}`);
    return;
  }
  const logFile = join(stampDir, 'native-build.log');
  mkdirSync(stampDir, { recursive: true });
  log(`native backend: building .native/ from the tensorflow-cpu wheel (PyPI, ~275 MB download, 1.3 GB on disk, a few minutes; log ${logFile.slice(root.length + 1)}; CVAEGAN_NATIVE=0 skips this)`);
  const started = Date.now();
  const fd = openSync(logFile, 'w');
  // pip runs from the project's venv (the system python3 may have no pip).
  const r = spawnSync(process.execPath, [script], { cwd: root, stdio: ['ignore', fd, fd], env: { ...process.env, PYTHON: process.env.PYTHON ?? join(venvBin, 'python') } });
  closeSync(fd);
  const secs = Math.round((Date.now() - started) / 1000);
  if (r.status === 0) {
    writeStamp('native', want);
    record('built', `built by setup in ${secs} s`);
    log(`native backend: built in ${secs} s; lib/backend picks it automatically`);
    return;
  }
  const lines = readFileSync(logFile, 'utf8').split('\n').filter((l) => l.trim());
  const reason = (lines.reverse().find((l) => l.includes('FAILED')) ?? lines[0] ?? `exit ${r.status}`).replace(/^\[native\] /, '').slice(0, 300);
  log(`native backend: build failed (${reason}; log ${logFile.slice(root.length + 1)}); the wasm backend runs`);
  record('failed', `${reason} (log .setup-stamps/native-build.log)`);
}

// 5. The tslab kernel: committed under jupyter/kernels/tslab, found through JUPYTER_PATH; nothing
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
