/**
 * Algorithm 1's gradient routing, checked two ways:
 * - on the loss functions the step uses: which variables each loss can reach at all, and that the
 *   joint gradients equal the per-network gradients of the per-network losses;
 * - on whole trainStep calls: with loss weights switched off, the networks that must not move stay
 *   bit-for-bit the same, and C's first update is exactly Adam's step on grad L_C.
 * Plus: memory stays flat over 50 steps, bad input fails before anything changes, a NaN loss stops
 * with NonFiniteLossError, and sampling / encoding are seeded.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../lib/backend/index';
import { ConfigOverrides, makeConfig } from '../lib/model/config';
import { classifierDiscriminatorLosses, CVAEGAN, encoderGeneratorLosses, generatorForward, StepNoise } from '../lib/model/cvaegan';
import { asOneHot, classifierLoss, NonFiniteLossError } from '../lib/model/losses';
import { NetName, trainableVars } from '../lib/model/networks';

before(async () => {
  await initBackend();
});

const K = 3;
const M = 6;
const cfgOf = (o: ConfigOverrides = {}) => makeConfig('tiny', { numClasses: K, ...o });

/** A fixed batch: smooth random images and labels covering all classes. */
function batch(seed = 1, m = M): { x: tf.Tensor4D; labels: tf.Tensor1D } {
  return {
    x: tf.tidy(() => tf.tanh(tf.randomNormal([m, 32, 32, 3], 0, 1, 'float32', seed))) as tf.Tensor4D,
    labels: tf.tensor1d(Array.from({ length: m }, (_, i) => i % K), 'int32'),
  };
}

const snapshot = (model: CVAEGAN, net: NetName): Float32Array[] => trainableVars(model.nets[net]).map((v) => v.dataSync().slice() as Float32Array);
const sameBits = (a: Float32Array[], b: Float32Array[]) => a.length === b.length && a.every((t, i) => Buffer.compare(Buffer.from(t.buffer), Buffer.from(b[i].buffer)) === 0);

function gradsEqual(a: tf.NamedTensorMap, b: tf.NamedTensorMap, what: string, tol = 1e-5): void {
  assert.deepEqual(Object.keys(a).sort(), Object.keys(b).sort(), `${what}: same variables`);
  for (const k of Object.keys(a)) {
    const d = tf.tidy(() => tf.max(tf.abs(tf.sub(a[k], b[k]))).dataSync()[0]);
    const s = tf.tidy(() => tf.max(tf.abs(a[k])).dataSync()[0]);
    assert.ok(d <= tol * Math.max(1, s), `${what}: ${k} differs by ${d} (scale ${s})`);
  }
}
const norm = (g: tf.NamedTensorMap) => Math.sqrt(Object.values(g).reduce((s, t) => s + tf.tidy(() => tf.sum(tf.square(t)).dataSync()[0]), 0));

test('step (2): the joint C+D gradient is grad_C L_C and grad_D L_D; no path from L_C/L_D to E or G', () => {
  const model = new CVAEGAN(cfgOf());
  const { x, labels } = batch();
  const onehot = asOneHot(labels, K);
  const noise: StepNoise = { eps: tf.randomNormal([M, 8], 0, 1, 'float32', 3), zp: tf.randomNormal([M, 8], 0, 1, 'float32', 4) };
  const { xf, xp } = tf.tidy(() => {
    const r = generatorForward(model.nets, x, onehot, onehot, noise);
    return { xf: r.xf, xp: r.xp };
  });
  const v = (n: NetName) => trainableVars(model.nets[n]);
  const losses = () => classifierDiscriminatorLosses(model.nets, x, onehot, xf, xp);
  tf.tidy(() => {
    const joint = tf.variableGrads(() => {
      const r = losses();
      return tf.add(r.LC, r.LD) as tf.Scalar;
    }, [...v('C'), ...v('D')]).grads;
    const onlyC = tf.variableGrads(() => losses().LC, v('C')).grads;
    const onlyD = tf.variableGrads(() => losses().LD, v('D')).grads;
    gradsEqual(Object.fromEntries(v('C').map((w) => [w.name, joint[w.name]])), onlyC, 'C');
    gradsEqual(Object.fromEntries(v('D').map((w) => [w.name, joint[w.name]])), onlyD, 'D');
    assert.ok(norm(onlyC) > 0 && norm(onlyD) > 0);
    // x_f and x_p enter D as plain tensors: L_D has no path to G's or E's variables at all.
    assert.throws(() => tf.variableGrads(() => losses().LD, [...v('G'), ...v('E')]), /Cannot find a connection/);
    assert.throws(() => tf.variableGrads(() => losses().LC, v('D')), /Cannot find a connection/);
  });
  tf.dispose([x, labels, onehot, noise.eps, noise.zp, xf, xp]);
  model.dispose();
});

test('step (3): grad_G S is G\'s loss gradient, grad_E S is E\'s; E gets L_G through G; L_GD, L_GC never reach E', () => {
  const cfg = cfgOf();
  const model = new CVAEGAN(cfg);
  const { x, labels } = batch(2);
  const onehot = asOneHot(labels, K);
  const noise: StepNoise = { eps: tf.randomNormal([M, 8], 0, 1, 'float32', 5), zp: tf.randomNormal([M, 8], 0, 1, 'float32', 6) };
  const dC = (model.nets.C.outputs[1].shape as number[])[1];
  const centres = tf.randomNormal([K, dC], 0, 1, 'float32', 7) as tf.Tensor2D;
  const seen = tf.ones([K]) as tf.Tensor1D;
  const lam = cfg.loss;
  const v = (n: NetName) => trainableVars(model.nets[n]);
  const losses = () => encoderGeneratorLosses(model.nets, cfg, x, onehot, noise, centres, seen);
  tf.tidy(() => {
    const joint = tf.variableGrads(() => losses().total, [...v('E'), ...v('G')]).grads;
    const gLoss = tf.variableGrads(() => {
      const r = losses();
      return tf.addN([tf.mul(lam.lambdaG, r.LG), tf.mul(lam.lambdaGD, r.GD), tf.mul(lam.lambdaGC, r.GC)]) as tf.Scalar;
    }, v('G')).grads;
    const eLoss = tf.variableGrads(() => {
      const r = losses();
      return tf.add(tf.mul(lam.lambdaKL, r.KL), tf.mul(lam.lambdaG, r.LG)) as tf.Scalar;
    }, v('E')).grads;
    gradsEqual(Object.fromEntries(v('G').map((w) => [w.name, joint[w.name]])), gLoss, 'G');
    gradsEqual(Object.fromEntries(v('E').map((w) => [w.name, joint[w.name]])), eLoss, 'E');
    // L_GD and L_GC depend on x_p = G(z_p) only: no path to E. L_KL has no path to G.
    assert.throws(() => tf.variableGrads(() => losses().GD, v('E')), /Cannot find a connection/);
    assert.throws(() => tf.variableGrads(() => losses().GC, v('E')), /Cannot find a connection/);
    assert.throws(() => tf.variableGrads(() => losses().KL, v('G')), /Cannot find a connection/);
    // D and C are not trained here: nothing in step (3) is differentiated with respect to them.
    assert.ok(!Object.keys(joint).some((k) => v('D').concat(v('C')).some((w) => w.name === k)));
    // E receives L_G's gradient through G, from each of its three parts.
    for (const part of ['pixel', 'fD', 'fC'] as const) {
      const g = tf.variableGrads(() => losses()[part], v('E')).grads;
      assert.ok(norm(g) > 0, `E gets a gradient from L_G's ${part} term`);
    }
    // L_GD and L_GC do reach G (through x_p).
    assert.ok(norm(tf.variableGrads(() => losses().GD, v('G')).grads) > 0);
    assert.ok(norm(tf.variableGrads(() => losses().GC, v('G')).grads) > 0);
  });
  tf.dispose([x, labels, onehot, noise.eps, noise.zp, centres, seen]);
  model.dispose();
});

/** Runs one trainStep and reports which networks' trainable variables changed. */
function changedAfterStep(loss: ConfigOverrides['loss']): Record<NetName, boolean> {
  const model = new CVAEGAN(cfgOf({ loss }));
  const { x, labels } = batch(3);
  const before = Object.fromEntries((['E', 'G', 'D', 'C'] as NetName[]).map((n) => [n, snapshot(model, n)]));
  model.trainStep(x, labels);
  const out = Object.fromEntries((['E', 'G', 'D', 'C'] as NetName[]).map((n) => [n, !sameBits(before[n], snapshot(model, n))])) as Record<NetName, boolean>;
  tf.dispose([x, labels]);
  model.dispose();
  return out;
}

test('whole steps: each loss weight moves exactly the networks Algorithm 1 routes it to (bit-for-bit)', () => {
  const zero = { lambdaKL: 0, lambdaG: 0, lambdaGD: 0, lambdaGC: 0 };
  // Only L_C and L_D: C and D move, G and E do not (L_D's gradient never reaches G).
  assert.deepEqual(changedAfterStep(zero), { E: false, G: false, D: true, C: true });
  // Only L_KL: E moves, G does not.
  assert.deepEqual(changedAfterStep({ ...zero, lambdaKL: 3 }), { E: true, G: false, D: true, C: true });
  // Only L_G: E (through G) and G move.
  assert.deepEqual(changedAfterStep({ ...zero, lambdaG: 1 }), { E: true, G: true, D: true, C: true });
  // Only L_GD, or only L_GC: G moves, E does not.
  assert.deepEqual(changedAfterStep({ ...zero, lambdaGD: 1e-3 }), { E: false, G: true, D: true, C: true });
  assert.deepEqual(changedAfterStep({ ...zero, lambdaGC: 1e-3 }), { E: false, G: true, D: true, C: true });
});

test('C\'s first update is exactly one Adam step on grad_C L_C (real images only)', () => {
  const cfg = cfgOf();
  const model = new CVAEGAN(cfg);
  const { x, labels } = batch(4);
  const vars = trainableVars(model.nets.C);
  const before = vars.map((w) => w.dataSync().slice() as Float32Array);
  const g = tf.tidy(() => {
    const onehot = asOneHot(labels, K);
    const gr = tf.variableGrads(() => classifierLoss((model.nets.C.apply(x, { training: true }) as tf.Tensor2D[])[0], onehot), vars).grads;
    return vars.map((w) => gr[w.name].dataSync().slice() as Float32Array);
  });
  model.trainStep(x, labels);
  const { learningRate: lr } = cfg.optimizer;
  const eps = tf.backend().epsilon();
  let checked = 0;
  vars.forEach((w, i) => {
    const after = w.dataSync();
    for (let j = 0; j < after.length; j++) {
      // Adam, t = 1: m_hat = g, v_hat = g^2, update = -lr * g / (|g| + eps).
      const expected = before[i][j] - (lr * g[i][j]) / (Math.abs(g[i][j]) + eps);
      assert.ok(Math.abs(after[j] - expected) < 1e-6, `${w.name}[${j}]: ${after[j]} vs ${expected}`);
      checked++;
    }
  });
  assert.ok(checked > 1000);
  tf.dispose([x, labels]);
  model.dispose();
});

test('tf.memory().numTensors stays flat over 50 training steps', () => {
  const model = new CVAEGAN(cfgOf());
  const { x, labels } = batch(5);
  model.trainStep(x, labels); // first step creates Adam's moment variables
  const start = tf.memory().numTensors;
  for (let i = 0; i < 50; i++) {
    const r = model.trainStep(x, labels);
    assert.equal(tf.memory().numTensors, start, `step ${r.step}`);
  }
  assert.equal(model.step, 51);
  tf.dispose([x, labels]);
  model.dispose();
});

test('a step returns every loss term and metric as finite numbers; same seed, same run', () => {
  const run = () => {
    const model = new CVAEGAN(cfgOf());
    const { x, labels } = batch(6);
    const rs = [model.trainStep(x, labels), model.trainStep(x, labels), model.trainStep(x, labels)];
    const w = snapshot(model, 'G');
    tf.dispose([x, labels]);
    model.dispose();
    return { rs, w };
  };
  const a = run();
  const b = run();
  assert.deepEqual(Object.keys(a.rs[0].losses), ['L_C', 'L_D', 'L_KL', 'L_G', 'L_GD', 'L_GC', 'L_G_pixel', 'L_G_fD', 'L_G_fC']);
  assert.deepEqual(Object.keys(a.rs[0].metrics), ['acc_C', 'D_real', 'D_recon', 'D_prior']);
  for (const r of a.rs) for (const v of [...Object.values(r.losses), ...Object.values(r.metrics)]) assert.ok(Number.isFinite(v));
  assert.deepEqual(a.rs.map((r) => r.step), [1, 2, 3]);
  assert.deepEqual(a.rs, b.rs, 'identical losses');
  assert.ok(sameBits(a.w, b.w), 'identical weights');
});

test('bad input fails before anything changes, with a message that says what to change', () => {
  const model = new CVAEGAN(cfgOf());
  const ref = new CVAEGAN(cfgOf());
  const g0 = snapshot(model, 'G');
  const wrongSize = tf.zeros([4, 64, 64, 3]) as tf.Tensor4D;
  assert.throws(() => model.trainStep(wrongSize, tf.tensor1d([0, 1, 2, 0], 'int32')), /\[4, 64, 64, 3\] but this model \(preset 'tiny'\) expects \[batch, 32, 32, 3\]: load the dataset with resolution: 32/);
  const { x, labels } = batch(7);
  assert.throws(() => model.trainStep(x, tf.tensor1d([0, 1, 2, 3, 0, 1], 'int32')), /label 3 at index 3 is not a class of this model \(0\.\.2\)/);
  assert.throws(() => model.trainStep(x, tf.tensor1d([0, 1], 'int32')), /labels have shape \[2\], expected \[6\]/);
  assert.throws(() => model.trainStep(tf.zeros([1, 32, 32, 3]) as tf.Tensor4D, tf.tensor1d([0], 'int32')), /at least 2 images/);
  assert.equal(model.step, 0);
  assert.ok(sameBits(g0, snapshot(model, 'G')));
  // Nothing was consumed either: the next step is the one a fresh model takes.
  assert.deepEqual(model.trainStep(x, labels), ref.trainStep(x, labels));
  tf.dispose([wrongSize, x, labels]);
  model.dispose();
  ref.dispose();
});

test('a non-finite loss stops the step with NonFiniteLossError naming term and step, before C and D move', () => {
  const model = new CVAEGAN(cfgOf());
  const { x, labels } = batch(8);
  model.trainStep(x, labels);
  // A finite batch through a C with one NaN kernel weight: L_C is NaN. (A batch with a NaN pixel
  // is refused before the step runs: test/rejected-step.test.ts.)
  const kernel = trainableVars(model.nets.C)[0];
  const poisoned = kernel.dataSync().slice();
  poisoned[0] = NaN;
  kernel.assign(tf.tensor(poisoned, kernel.shape));
  const c0 = snapshot(model, 'C');
  const d0 = snapshot(model, 'D');
  const bad = x;
  assert.throws(
    () => model.trainStep(bad, labels),
    (e: unknown) => e instanceof NonFiniteLossError && e.step === 2 && e.term === 'L_C' && /loss L_C is NaN at step 2/.test(e.message),
  );
  assert.equal(model.step, 1);
  assert.ok(sameBits(c0, snapshot(model, 'C')) && sameBits(d0, snapshot(model, 'D')));
  tf.dispose([x, labels]);
  model.dispose();
});

test('sample, encode and reconstruct: shapes, range, and seeds make them reproducible', () => {
  const model = new CVAEGAN(cfgOf());
  const { x, labels } = batch(9);
  model.trainStep(x, labels);
  const a = model.sample([0, 1, 2, 2], { seed: 11 });
  const b = model.sample([0, 1, 2, 2], { seed: 11 });
  const c = model.sample([0, 1, 2, 2], { seed: 12 });
  assert.deepEqual(a.shape, [4, 32, 32, 3]);
  assert.deepEqual(Array.from(a.dataSync()), Array.from(b.dataSync()));
  assert.notDeepEqual(Array.from(a.dataSync()), Array.from(c.dataSync()));
  assert.ok(a.max().dataSync()[0] <= 1 && a.min().dataSync()[0] >= -1);
  // An explicit z is used as given: same z, different class -> different image; same z and class -> same.
  const z = tf.randomNormal([2, 8], 0, 1, 'float32', 1) as tf.Tensor2D;
  const z1 = model.sample([0, 1], { z });
  const z2 = model.sample([0, 1], { z });
  const z3 = model.sample([1, 0], { z });
  assert.deepEqual(Array.from(z1.dataSync()), Array.from(z2.dataSync()));
  assert.notDeepEqual(Array.from(z1.dataSync()), Array.from(z3.dataSync()));
  assert.throws(() => model.sample([0, 5]), /label 5 at index 1 is not a class of this model/);
  assert.throws(() => model.sample([0, 1, 2], { z }), /z has shape \[2,8\], expected \[3, 8\]/);
  // Sampling without a seed does not disturb training noise: the next step is the same either way.
  const twin = new CVAEGAN(cfgOf());
  twin.trainStep(x, labels);
  tf.dispose(model.sample([0, 1]));
  assert.deepEqual(model.trainStep(x, labels), twin.trainStep(x, labels));

  const { mu, logvar } = model.encode(x, labels);
  assert.deepEqual(mu.shape, [M, 8]);
  assert.deepEqual(logvar.shape, [M, 8]);
  const r1 = model.reconstruct(x, labels);
  const r2 = model.reconstruct(x, Array.from(labels.dataSync()));
  const r3 = model.reconstruct(x, labels, { seed: 3 });
  assert.deepEqual(r1.shape, [M, 32, 32, 3]);
  assert.deepEqual(Array.from(r1.dataSync()), Array.from(r2.dataSync()), 'z = mu without a seed');
  assert.notDeepEqual(Array.from(r1.dataSync()), Array.from(r3.dataSync()), 'z ~ q with a seed');
  const before = tf.memory().numTensors;
  tf.dispose(model.reconstruct(x, labels, { seed: 3 }));
  tf.dispose(model.sample([0, 1], { seed: 1 }));
  assert.equal(tf.memory().numTensors, before, 'sampling leaks nothing');
  tf.dispose([a, b, c, z, z1, z2, z3, mu, logvar, r1, r2, r3, x, labels]);
  model.dispose();
  twin.dispose();
  assert.throws(() => model.sample([0]), /disposed/);
});
