/**
 * scripts/setup.mjs's native-backend step (run by npm start and npm test) in a scratch checkout
 * without .native/: PyPI unreachable gives one line saying why and that wasm runs, CVAEGAN_NATIVE=0
 * skips the step, and both are recorded in .setup-stamps/native.json for the backend report. The
 * packages are the repository's own (linked), so nothing is installed; the unreachable index is a
 * closed port on 127.0.0.1.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(__dirname, '..');
const scratch = mkdtempSync(join(tmpdir(), 'cvaegan-setup-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

function checkout(): string {
  const dir = join(scratch, `repo-${Math.random().toString(36).slice(2, 8)}`);
  for (const f of ['package.json', 'package-lock.json', 'requirements.txt', 'scripts/setup.mjs', 'scripts/build-native-tfjs.mjs', 'jupyter/kernels/tslab/kernel.json', '.setup-stamps/npm', '.setup-stamps/venv']) {
    mkdirSync(join(dir, f, '..'), { recursive: true });
    copyFileSync(join(ROOT, f), join(dir, f));
  }
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  symlinkSync(join(ROOT, '.venv'), join(dir, '.venv'));
  return dir;
}

/** A port on 127.0.0.1 that nothing listens on. */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

const skip = ['.setup-stamps/npm', '.setup-stamps/venv'].every((f) => existsSync(join(ROOT, f))) ? false : 'run node scripts/setup.mjs first (its stamps are reused here)';

function setup(dir: string, env: Record<string, string>) {
  const clean: NodeJS.ProcessEnv = { ...process.env, ...env };
  for (const k of ['https_proxy', 'HTTPS_PROXY', 'http_proxy', 'HTTP_PROXY']) delete clean[k];
  return spawnSync(process.execPath, [join(dir, 'scripts', 'setup.mjs')], { cwd: dir, env: clean, encoding: 'utf8', timeout: 60_000 });
}

test('npm start without PyPI: one line says the native backend is not built and why, wasm runs, setup succeeds', { skip }, async () => {
  const dir = checkout();
  const index = `http://127.0.0.1:${await closedPort()}/simple`;
  const r = setup(dir, { PIP_INDEX_URL: index, CVAEGAN_NATIVE: '' });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  const lines = r.stdout.split('\n').filter((l) => l.includes('native backend'));
  assert.equal(lines.length, 1, r.stdout);
  assert.match(lines[0], new RegExp(`^\\[setup\\] native backend: not built \\(PyPI: ${index.replace(/[.]/g, '\\.')} not reachable \\(.*ECONNREFUSED.*\\)\\); the wasm backend runs\\. \`npm run native\` builds it once PyPI answers\\.$`));
  assert.ok(!existsSync(join(dir, '.native')), 'nothing built');
  const status = JSON.parse(readFileSync(join(dir, '.setup-stamps', 'native.json'), 'utf8'));
  assert.equal(status.state, 'unreachable');
  assert.match(status.reason, /not reachable/);
  assert.match(r.stdout, /\[setup\] npm packages: up to date\n\[setup\] Python venv: up to date\n/);
});

test('CVAEGAN_NATIVE=0: the native step is skipped without touching the network, and recorded', { skip }, async () => {
  const dir = checkout();
  const r = setup(dir, { PIP_INDEX_URL: `http://127.0.0.1:${await closedPort()}/simple`, CVAEGAN_NATIVE: '0' });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /\[setup\] native backend: not built \(CVAEGAN_NATIVE=0\); the wasm backend runs\n/);
  assert.equal(JSON.parse(readFileSync(join(dir, '.setup-stamps', 'native.json'), 'utf8')).state, 'off');
});
