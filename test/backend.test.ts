import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(__dirname, '..');

/** Runs a snippet in a fresh process (backend choice is once per process) and returns its JSON. */
function inFreshProcess(code: string, env: Record<string, string> = {}): { status: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', code], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    encoding: 'utf8',
  });
  return { status: r.status, out: r.stdout, err: r.stderr };
}

const REPORT = `
  const { initBackend, describeBackend } = require('./lib/backend/index');
  const tf = require('@tensorflow/tfjs');
  initBackend().then((r) => {
    const y = tf.matMul(tf.tensor2d([[1, 2], [3, 4]]), tf.tensor2d([[1, 2], [3, 4]])).arraySync();
    console.log(JSON.stringify({ report: r, text: describeBackend(r), y, active: tf.getBackend() }));
  }).catch((e) => { console.error(e.message); process.exit(3); });
`;

test('picks the fastest backend that loads and explains every skipped one', () => {
  const r = inFreshProcess(REPORT, { CVAEGAN_BACKEND: '' });
  assert.equal(r.status, 0, r.err);
  const { report, text, y, active } = JSON.parse(r.out);
  assert.deepEqual(y, [[7, 10], [15, 22]]);
  assert.equal(report.tfBackend, active);
  assert.equal(report.forced, false);
  const order = ['node-gpu', 'node', 'webgpu', 'wasm', 'cpu'];
  // Every backend faster than the chosen one is listed as skipped, with a reason, in order.
  assert.deepEqual(report.skipped.map((s: { choice: string }) => s.choice), order.slice(0, order.indexOf(report.choice)));
  for (const s of report.skipped) assert.ok(s.reason.length > 10, `reason for ${s.choice}: ${s.reason}`);
  assert.match(text, new RegExp(`backend "${active}"`));
  if (report.choice === 'wasm') {
    assert.match(report.details.join(' '), /SIMD (on|off)/);
    assert.ok(report.extraKernels.includes('Conv2DBackpropFilter'), `wasm gradient kernels registered: ${report.extraKernels}`);
  }
});

test('CVAEGAN_BACKEND forces a backend', () => {
  const r = inFreshProcess(REPORT, { CVAEGAN_BACKEND: 'cpu' });
  assert.equal(r.status, 0, r.err);
  const { report, active } = JSON.parse(r.out);
  assert.equal(active, 'cpu');
  assert.equal(report.forced, true);
  assert.deepEqual(report.skipped, []);
});

test('a forced backend that cannot load is an error that names it', () => {
  const r = inFreshProcess(REPORT, { CVAEGAN_BACKEND: 'node-gpu' });
  // On a machine where tfjs-node-gpu works this would pass: skip the assertion there.
  if (r.status === 0 && JSON.parse(r.out).active === 'tensorflow') return;
  assert.equal(r.status, 3);
  assert.match(r.err, /CVAEGAN_BACKEND=node-gpu was requested but it does not load/);
});

test('an unknown CVAEGAN_BACKEND value says which values exist', () => {
  const r = inFreshProcess(REPORT, { CVAEGAN_BACKEND: 'gpu' });
  assert.equal(r.status, 3);
  assert.match(r.err, /not a backend; use one of node-gpu, node, webgpu, wasm, cpu/);
});

test('danfojs-node shares the one tfjs engine (package.json override)', () => {
  const r = inFreshProcess(`
    const tf = require('@tensorflow/tfjs');
    const dfd = require('danfojs-node');
    console.log(JSON.stringify({ same: dfd.tensorflow.engine() === tf.engine(), version: dfd.tensorflow.version.tfjs }));
  `);
  assert.equal(r.status, 0, r.err);
  assert.deepEqual(JSON.parse(r.out), { same: true, version: '4.22.0' });
});
