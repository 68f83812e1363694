/**
 * The GPU build (`npm run native -- --gpu`: tfjs-node-gpu 4.22 against the CUDA 12 TensorFlow C
 * library of the `tensorflow` wheel) on a machine without a GPU: it loads, lib/backend/index.ts
 * tries it first, says that TensorFlow sees no GPU, and runs it on the CPU, where a training step
 * gives the same losses as tfjs's own ops (the helper test/native.test.ts uses). Forced with
 * CVAEGAN_BACKEND=node-gpu it is an error that says why. On a machine with a CUDA GPU the same
 * test checks that it is picked as node-gpu instead.
 *
 * The build: found in CVAEGAN_NATIVE_GPU_DIR, .native-gpu/ or .cache/native-gpu/. With
 * CVAEGAN_TEST_GPU_BUILD=1 (.ci/run sets it) the test builds it once into .cache/native-gpu/
 * without the CUDA wheels (`--gpu --no-cuda-wheels`: a 572 MB wheel, ~2 minutes, 1.7 GB; later
 * runs reuse it). Otherwise, without a build, it is skipped with that reason. Not run on a real
 * GPU here (no GPU machine was lent for it).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { GPU_TEST_PREFIX, gpuBuild, ROOT } from './helpers/native-builds';

function ensureBuild(): string | undefined {
  const found = gpuBuild();
  if (found || process.env.CVAEGAN_TEST_GPU_BUILD !== '1') return found;
  const r = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'build-native-tfjs.mjs'), '--gpu', '--no-cuda-wheels', '--prefix', GPU_TEST_PREFIX], {
    cwd: ROOT, encoding: 'utf8', timeout: 1_500_000, stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (r.status !== 0) throw new Error(`the GPU build failed (exit ${r.status}):\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-3000)}`);
  return gpuBuild();
}

const dir = ensureBuild();
const skip = dir ? false : 'no GPU build: npm run native -- --gpu --no-cuda-wheels builds one (CVAEGAN_TEST_GPU_BUILD=1 makes this test build it into .cache/native-gpu/)';
const env = (extra: Record<string, string>): NodeJS.ProcessEnv => ({ ...process.env, CVAEGAN_NATIVE_GPU_DIR: dir ?? '', CVAEGAN_BACKEND: '', ...extra });

const REPORT = `
  const { initBackend, describeBackend } = require('./lib/backend/index');
  const tf = require('@tensorflow/tfjs');
  initBackend().then((r) => {
    const y = tf.matMul(tf.tensor2d([[1, 2], [3, 4]]), tf.tensor2d([[1, 2], [3, 4]])).arraySync();
    const b = tf.backend();
    console.log(JSON.stringify({ report: r, text: describeBackend(r), y, active: tf.getBackend(), gpu: b.isUsingGpuDevice, tfVersion: b.binding.TF_Version }));
  }).catch((e) => { console.error(e.message); process.exit(3); });
`;

function inFreshProcess(code: string, e: NodeJS.ProcessEnv) {
  return spawnSync(process.execPath, ['--import', 'tsx', '-e', code], { cwd: ROOT, env: e, encoding: 'utf8', timeout: 300_000 });
}

test('the GPU build loads first; without a GPU it says so and runs on the CPU', { skip, timeout: 600_000 }, () => {
  const r = inFreshProcess(REPORT, env({}));
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.split('\n').find((l) => l.startsWith('{'))!);
  assert.equal(out.active, 'tensorflow');
  assert.equal(out.tfVersion, '2.21.0');
  assert.deepEqual(out.y, [[7, 10], [15, 22]]);
  if (out.gpu) {
    // A machine with a CUDA GPU: picked as node-gpu, nothing skipped.
    assert.equal(out.report.choice, 'node-gpu', out.text);
    assert.deepEqual(out.report.skipped, []);
    assert.match(out.report.details.join(' '), /CUDA GPU/);
    return;
  }
  // Tried first, loaded, no GPU visible: the next choice runs the same TensorFlow on the CPU.
  assert.equal(out.report.choice, 'node', out.text);
  assert.equal(out.report.skipped[0].choice, 'node-gpu');
  assert.match(out.report.skipped[0].reason, /GPU build .* loaded, but TensorFlow sees no GPU/);
  assert.match(out.report.skipped[0].reason, /running it on the CPU/);
  assert.match(out.report.details.join(' '), /no GPU visible: the GPU build .* runs on the CPU/);
  assert.ok(out.report.extraKernels.includes('CvaeganBatchNorm'), out.text);

  // Forced, a GPU backend without a GPU is an error that says why and what to do.
  const f = inFreshProcess(REPORT, env({ CVAEGAN_BACKEND: 'node-gpu' }));
  assert.equal(f.status, 3);
  assert.match(f.stderr, /CVAEGAN_BACKEND=node-gpu was requested but it does not load: .*sees no GPU.*unset CVAEGAN_BACKEND to run it on the CPU/);
});

test('on the GPU build (on the CPU here), training steps give tfjs\'s losses with a third of the ops', { skip, timeout: 600_000 }, () => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'test', 'helpers', 'native-levers.ts')], { cwd: ROOT, env: env({}), encoding: 'utf8', timeout: 540_000 });
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
  const out = JSON.parse(r.stdout.split('\n').find((l) => l.startsWith('{'))!);
  assert.equal(out.tfBackend, 'tensorflow');
  assert.match(out.text, /GPU build|CUDA GPU/);
  const { off, on } = out.kinds.cvaegan as { off: { losses: Record<string, number>[]; opsPerStep: number[] }; on: { losses: Record<string, number>[]; opsPerStep: number[] } };
  off.losses.forEach((l, i) => {
    for (const k of Object.keys(l)) assert.ok(Math.abs(l[k] - on.losses[i][k]) <= 1e-4 * Math.max(Math.abs(l[k]), 1e-5), `step ${i + 1} ${k}: ${l[k]} vs ${on.losses[i][k]}`);
  });
  assert.ok(on.opsPerStep[1] <= 0.35 * off.opsPerStep[1], `${on.opsPerStep[1]} vs ${off.opsPerStep[1]} ops per step`);
  assert.equal(out.tensorsLeft, 0);
});
