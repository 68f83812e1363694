/**
 * The WebGPU backend (lib/webgpu-node.ts: tfjs-backend-webgpu on Dawn/Vulkan), and the asynchronous
 * training step it needs.
 *
 * Full training steps of CVAE-GAN and CGAN on the tiny net run on WebGPU and give the cpu backend's
 * losses (same seeds, same inputs) to float rounding. Needs a Vulkan driver: a GPU's, or Mesa's
 * lavapipe on the CPU, which `sh scripts/fetch-lavapipe.sh` unpacks into .native/lavapipe (Debian
 * 12's own lavapipe is too old for Dawn); skipped with the reason where there is none. The
 * project's webgpu kernels (lib/webgpu-kernels.ts) are checked against the cpu backend: the filter
 * gradient on small versions of our nets' shapes, and the fused Adam update. The sync/async step
 * test needs no GPU.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { makeConfig } from '../lib/model/config';
import { createModel, ModelKind } from '../lib/model/factory';
import { summarizeAdapter } from '../lib/backend/webgpu-node';

const ROOT = join(__dirname, '..');

/** Runs a test/helpers script in a fresh process; lavapipe from .native/lavapipe when it is there. */
function runChild(helper = 'webgpu-step.ts'): { skip?: string; result?: any; err: string } {
  const env: NodeJS.ProcessEnv = { ...process.env, CVAEGAN_BACKEND: 'webgpu' };
  const lvp = join(ROOT, '.native', 'lavapipe');
  if (!env.VK_DRIVER_FILES && existsSync(join(lvp, 'lvp_icd.json'))) {
    env.VK_DRIVER_FILES = join(lvp, 'lvp_icd.json');
    const lib = join(lvp, 'root', 'usr', 'lib', 'x86_64-linux-gnu');
    env.LD_LIBRARY_PATH = [lib, env.LD_LIBRARY_PATH].filter(Boolean).join(':');
  }
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'test', 'helpers', helper)], {
    cwd: ROOT,
    env,
    encoding: 'utf8',
    timeout: 240_000,
  });
  const line = r.stdout.split('\n').find((l) => l.startsWith('{'));
  if (r.status !== 0 || !line) throw new Error(`webgpu child failed (status ${r.status}, signal ${r.signal}):\n${r.stdout}\n${r.stderr}`);
  const parsed = JSON.parse(line);
  // CI unpacks lavapipe (.ci/run), so there a missing adapter is a broken install, not a reason to skip.
  if (parsed.skip && process.env.CI) throw new Error(`WebGPU does not load in CI (.ci/run unpacks lavapipe with scripts/fetch-lavapipe.sh): ${parsed.skip}`);
  return parsed.skip ? { skip: `WebGPU does not load here: ${parsed.skip}`, err: r.stderr } : { result: parsed, err: r.stderr };
}

test('a tiny training step on WebGPU matches the cpu backend', { timeout: 300_000 }, (t) => {
  const r = runChild();
  if (r.skip) {
    t.skip(r.skip);
    return;
  }
  const { report, runs } = r.result;
  assert.equal(report.choice, 'webgpu');
  assert.equal(report.tfBackend, 'webgpu');
  assert.equal(report.forced, true);
  assert.match(report.details.join(' '), /adapter: /);
  // The step's filter gradients and Adam updates ran through the project's kernels (lib/webgpu-kernels.ts).
  for (const k of ['Conv2DBackpropFilter', 'CvaeganAdamUpdate']) assert.ok(report.extraKernels.includes(k), `project webgpu kernels: ${report.extraKernels}`);
  // dataSync of a GPU tensor cannot work in Node; the error says what to use instead.
  assert.match(r.result.syncReadError, /cannot read a GPU tensor on WebGPU in Node.*trainStepAsync/);
  t.diagnostic(r.result.text);
  t.diagnostic(`${runs.length} models x 2 steps on both backends in ${(r.result.ms / 1000).toFixed(1)} s`);
  for (const run of runs) {
    assert.equal(run.webgpu.length, 2);
    for (let i = 0; i < run.webgpu.length; i++) {
      const a = run.webgpu[i];
      const b = run.cpu[i];
      assert.equal(a.step, i + 1);
      assert.deepEqual(Object.keys(a.losses), Object.keys(b.losses));
      for (const k of [...Object.keys(b.losses), ...Object.keys(b.metrics)]) {
        const x = a.losses[k] ?? a.metrics[k];
        const y = b.losses[k] ?? b.metrics[k];
        // float32 with different summation orders, after one Adam step: agreement to ~1e-6 measured.
        assert.ok(Number.isFinite(x) && Math.abs(x - y) <= 1e-4 * Math.abs(y) + 1e-6, `${run.kind} step ${i + 1} ${k}: webgpu ${x}, cpu ${y}`);
      }
    }
    assert.equal(run.tensors[0], run.tensors[1], `${run.kind}: tensors after each step ${run.tensors}`);
  }
});

let kernelsChild: ReturnType<typeof runChild> | undefined;
/** test/helpers/webgpu-kernels.ts's results, run once for the two tests below. */
function kernelsResult(): ReturnType<typeof runChild> {
  return (kernelsChild ??= runChild('webgpu-kernels.ts'));
}

test("the project's webgpu Conv2DBackpropFilter matches the cpu backend's and frees what it makes", { timeout: 300_000 }, (t) => {
  const r = kernelsResult();
  if (r.skip) {
    t.skip(r.skip);
    return;
  }
  assert.equal(r.result.registered, true, 'registered in place of the shipped kernel');
  const expectedPath = (name: string) => (/shipped kernel/.test(name) ? 'shipped' : /chunked/.test(name) ? 'im2col+chunked' : 'im2col');
  for (const c of r.result.cases) {
    t.diagnostic(`${c.name}: ${c.path}, max error ${c.relErr.toExponential(1)} of max |dW| ${c.maxRef.toFixed(2)}`);
    assert.equal(c.path, expectedPath(c.name), c.name);
    assert.ok(c.sameSize, `${c.name}: output size`);
    // float32 sums of up to a few thousand products in another order (split-K: atomic adds).
    assert.ok(c.relErr <= 1e-4, `${c.name}: max |webgpu - cpu| / max |cpu| = ${c.relErr}`);
    assert.equal(c.leakedTensors, 0, `${c.name}: tensors left behind`);
    assert.equal(c.leakedData, 0, `${c.name}: backend buffers left behind`);
  }
});

test("Adam on webgpu runs one fused kernel per variable and gives tfjs's numbers", { timeout: 300_000 }, (t) => {
  const r = kernelsResult();
  if (r.skip) {
    t.skip(r.skip);
    return;
  }
  const a = r.result.adam;
  t.diagnostic(`3 steps, 4 variables: max |webgpu - cpu| ${a.maxErr}; webgpu kernels ${a.webgpuKernels.join(', ')}`);
  assert.ok(a.webgpuKernels.includes('CvaeganAdamUpdate'), `webgpu kernels: ${a.webgpuKernels}`);
  for (const k of ['Sqrt', 'RealDiv', 'Square', 'Add']) assert.ok(!a.webgpuKernels.includes(k), `${k} still runs on webgpu`);
  assert.ok(a.cpuKernels.includes('Sqrt'), 'cpu keeps tfjs\'s own Adam');
  // The same float32 operations in the same order: equal on lavapipe; a GPU may fuse multiply-adds.
  assert.ok(a.maxErr <= 1e-6, `max relative difference ${a.maxErr}`);
  // Checkpoints keep Adam's state by these names (getWeights).
  assert.ok(a.sameWeightNames, `weight names ${a.weightNames}`);
  assert.deepEqual(a.weightNames.slice(0, 3), ['iter', 'adamtest/v0/m', 'adamtest/v1/m']);
  assert.ok(a.counts.every((c: number) => c === a.counts[0]), `tensors and buffers after each step: ${a.counts}`);
});

test('webgpu is never chosen automatically, and says why', () => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', `
    const { initBackend } = require('./lib/backend/index');
    initBackend().then((r) => { console.log(JSON.stringify(r)); process.exit(0); });
  `], { cwd: ROOT, env: { ...process.env, CVAEGAN_BACKEND: '' }, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  assert.notEqual(report.choice, 'webgpu');
  const s = report.skipped.find((x: { choice: string }) => x.choice === 'webgpu');
  if (s) assert.match(s.reason, /only when forced \(CVAEGAN_BACKEND=webgpu\).*synchronously/);
});

test('software adapters are recognised', () => {
  const limits = { maxBufferSize: 2 ** 32, maxStorageBufferBindingSize: 2 ** 27 };
  const lvp = summarizeAdapter({ info: { vendor: 'mesa', architecture: 'software', device: 'llvmpipe', description: 'llvmpipe: Mesa 25.0.7', isFallbackAdapter: true }, limits });
  assert.equal(lvp.software, true);
  const swiftshader = summarizeAdapter({ info: { vendor: 'google', architecture: '', device: '', description: 'SwiftShader Device (Subzero)' }, limits });
  assert.equal(swiftshader.software, true);
  const h100 = summarizeAdapter({ info: { vendor: 'nvidia', architecture: 'hopper', device: '', description: 'NVIDIA H100 80GB HBM3' }, limits });
  assert.equal(h100.software, false);
  assert.equal(h100.maxStorageBindingMB, 128);
});

test('trainStepAsync and trainStep run the same step (cpu backend)', async () => {
  await tf.setBackend('cpu');
  for (const kind of ['cvaegan', 'cvae', 'cgan', 'fmcgan'] as ModelKind[]) {
    const config = makeConfig('tiny', { numClasses: 3 });
    const a = createModel(kind, config);
    const b = createModel(kind, config);
    const x = tf.randomUniform([4, config.resolution, config.resolution, 3], -1, 1, 'float32', 3) as tf.Tensor4D;
    const labels = tf.tensor1d([0, 1, 2, 0], 'int32');
    for (let i = 0; i < 2; i++) assert.deepEqual(await b.trainStepAsync!(x, labels), a.trainStep(x, labels), `${kind} step ${i + 1}`);
    // Label checks happen in the async step too (as a rejection).
    await assert.rejects(() => b.trainStepAsync!(x, tf.tensor1d([0, 1, 5, 0], 'int32')), /label 5 at index 2 is not a class of this model/);
    a.dispose();
    b.dispose();
    tf.dispose([x, labels]);
  }
});
