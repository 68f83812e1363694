/**
 * Each loss term of lib/losses.ts against values computed by hand (in plain JS, from the equation)
 * on tiny tensors, plus the numerical-stability cases the logit forms exist for.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../lib/backend/index';
import * as L from '../lib/model/losses';

before(async () => {
  await initBackend();
});

const softplus = (v: number) => Math.log1p(Math.exp(v));
const val = (t: tf.Tensor) => {
  const v = t.dataSync()[0];
  t.dispose();
  return v;
};
const close = (actual: number, expected: number, tol = 1e-5, what = '') =>
  assert.ok(Math.abs(actual - expected) <= tol * Math.max(1, Math.abs(expected)), `${what} expected ${expected}, got ${actual}`);

test('L_D = softplus(-l_r) + softplus(l_f) + softplus(l_p), each averaged over its batch', () => {
  const lr = [0, 2], lf = [0, -1], lp = [1, 3];
  const expected = (softplus(-0) + softplus(-2)) / 2 + (softplus(0) + softplus(-1)) / 2 + (softplus(1) + softplus(3)) / 2;
  close(val(L.discriminatorLoss(tf.tensor1d(lr), tf.tensor1d(lf), tf.tensor1d(lp))), expected, 1e-6, 'L_D');
  // [m, 1] logits (D's output shape) give the same value.
  close(val(L.discriminatorLoss(tf.tensor2d(lr, [2, 1]), tf.tensor2d(lf, [2, 1]), tf.tensor2d(lp, [2, 1]))), expected, 1e-6, 'L_D [m,1]');
  // A perfect D on real images and a confident wrong one on fakes: finite, equal to the logit size.
  const extreme = val(L.discriminatorLoss(tf.tensor1d([-100]), tf.tensor1d([100]), tf.tensor1d([-100])));
  assert.ok(Number.isFinite(extreme));
  close(extreme, 200, 1e-4, 'saturated L_D');
});

test('L_C = logsumexp(l) - l_c, averaged; integer and one-hot labels agree; stable for huge logits', () => {
  const logits = tf.tensor2d([[1, 2, 3], [0, 0, 0]]);
  const expected = (Math.log(Math.exp(1) + Math.exp(2) + Math.exp(3)) - 3 + Math.log(3)) / 2;
  close(val(L.classifierLoss(logits, tf.tensor1d([2, 0], 'int32'))), expected, 1e-6, 'L_C int labels');
  close(val(L.classifierLoss(logits, tf.tensor2d([[0, 0, 1], [1, 0, 0]]))), expected, 1e-6, 'L_C one-hot');
  close(val(L.classifierLoss(tf.tensor2d([[1000, 0]]), tf.tensor1d([1], 'int32'))), 1000, 1e-6, 'L_C huge logit');
  assert.throws(() => L.asOneHot(tf.tensor2d([[0, 1]]), 3), /2 columns, expected 3/);
});

test('L_KL = 1/2 (mu^T mu + sum(exp(logvar) - logvar - 1)), by sum, mean and divisor', () => {
  const mu = tf.tensor2d([[1, 0], [0, 2]]);
  const logvar = tf.tensor2d([[0, Math.log(2)], [0, 0]]);
  const ex1 = 0.5 * (1 + 0 + (1 - 0 - 1) + (2 - Math.log(2) - 1));
  const ex2 = 0.5 * (4 + 0 + 0);
  close(val(L.klLoss(mu, logvar, 'sum')), (ex1 + ex2) / 2, 1e-6, 'KL sum');
  close(val(L.klLoss(mu, logvar, 'mean')), (ex1 + ex2) / 4, 1e-6, 'KL mean');
  close(val(L.klLoss(mu, logvar, 8)), (ex1 + ex2) / 2 / 8, 1e-6, 'KL sum/8');
  // The prior itself has zero divergence.
  close(val(L.klLoss(tf.zeros([3, 4]) as tf.Tensor2D, tf.zeros([3, 4]) as tf.Tensor2D, 'sum')), 0, 1e-7, 'KL(prior)');
  assert.throws(() => L.klLoss(mu, logvar, -1), /positive divisor/);
});

test('pairwise and reconstruction terms: 1/2 ||a_i - b_i||^2 per pair, averaged over pairs', () => {
  const a = tf.tensor2d([[1, 2], [3, 4]]);
  const b = tf.zeros([2, 2]);
  close(val(L.pairwiseLoss(a, b, 'sum')), 0.5 * (5 + 25) / 2, 1e-6, 'sum');
  close(val(L.pairwiseLoss(a, b, 'mean')), 0.5 * (2.5 + 12.5) / 2, 1e-6, 'mean');
  close(val(L.pairwiseLoss(a, b, 10)), 0.5 * (0.5 + 2.5) / 2, 1e-6, 'sum/10');
  // Images: sum over H, W, C of one image.
  const xr = tf.ones([2, 2, 2, 3]) as tf.Tensor4D;
  const xf = tf.zeros([2, 2, 2, 3]) as tf.Tensor4D;
  const r = L.reconstructionLoss({ xr, xf, fDr: a as tf.Tensor2D, fDf: b as tf.Tensor2D, fCr: b as tf.Tensor2D, fCf: b as tf.Tensor2D }, 'sum');
  close(val(r.pixel), 0.5 * 12, 1e-6, 'pixel');
  close(val(r.fD), 7.5, 1e-6, 'fD');
  close(val(r.fC), 0, 1e-7, 'fC');
  close(val(r.total), 6 + 7.5, 1e-6, 'L_G');
  assert.throws(() => L.pairwiseLoss(a, tf.zeros([2, 3]), 'sum'), /shapes differ/);
});

test('L_GD = 1/2 ||mean f(x_r) - mean f(x_p)||^2: batch means are matched, not pairs', () => {
  const fr = tf.tensor2d([[1, 0], [3, 2]]); // mean [2, 1]
  const fp = tf.tensor2d([[4, 1], [0, 1]]); // mean [2, 1]: pairs differ, means agree
  close(val(L.meanFeatureMatchingLoss(fr, fp, 'sum')), 0, 1e-7, 'equal means');
  const zero = tf.zeros([2, 2]) as tf.Tensor2D;
  close(val(L.meanFeatureMatchingLoss(fr, zero, 'sum')), 0.5 * (4 + 1), 1e-6, 'sum');
  close(val(L.meanFeatureMatchingLoss(fr, zero, 'mean')), 0.5 * (4 + 1) / 2, 1e-6, 'mean');
});

test('class means, moving-average centres (first sight initialises, absent classes keep theirs)', () => {
  const f = tf.tensor2d([[1, 1], [3, 3], [5, 5]]);
  const onehot = L.asOneHot(tf.tensor1d([0, 0, 2], 'int32'), 3);
  const { means, counts } = L.classMeans(f, onehot);
  assert.deepEqual(Array.from(counts.dataSync()), [2, 0, 1]);
  assert.deepEqual(Array.from(means.dataSync()), [2, 2, 0, 0, 5, 5]);

  const c0 = tf.fill([3, 2], 7) as tf.Tensor2D; // stale values must be ignored for unseen classes
  const s0 = tf.zeros([3]) as tf.Tensor1D;
  const u1 = L.updateClassCentres(c0, s0, f, onehot, 0.9);
  assert.deepEqual(Array.from(u1.centres.dataSync()), [2, 2, 7, 7, 5, 5]);
  assert.deepEqual(Array.from(u1.seen.dataSync()), [1, 0, 1]);
  // Second batch: class 0 mean [4, 4] and class 1 for the first time ([6, 0]).
  const u2 = L.updateClassCentres(u1.centres, u1.seen, tf.tensor2d([[4, 4], [6, 0]]), L.asOneHot(tf.tensor1d([0, 1], 'int32'), 3), 0.9);
  const c2 = Array.from(u2.centres.dataSync());
  [0.9 * 2 + 0.1 * 4, 0.9 * 2 + 0.1 * 4, 6, 0, 5, 5].forEach((e, i) => close(c2[i], e, 1e-6, `centre value ${i}`));
  assert.deepEqual(Array.from(u2.seen.dataSync()), [1, 1, 1]);
});

test('L_GC = 1/2 sum over present classes of ||centre_c - mean f(x_p of class c)||^2', () => {
  const centres = tf.tensor2d([[2, 2], [0, 0], [5, 5]]);
  // Class 0 fakes: mean [1, 2] -> 1/2 (1 + 0); class 1 fake [1, 0] -> 1/2; class 2 absent: not counted.
  const fp = tf.tensor2d([[1, 1], [1, 3], [1, 0]]);
  const onehot = L.asOneHot(tf.tensor1d([0, 0, 1], 'int32'), 3);
  close(val(L.classFeatureMatchingLoss(centres, fp, onehot, 'sum')), 0.5 + 0.5, 1e-6, 'sum');
  close(val(L.classFeatureMatchingLoss(centres, fp, onehot, 'mean')), (0.5 + 0.5) / 2, 1e-6, 'mean');
  // Its gradient reaches every fake feature of a present class: d/df of 1/2 ||c - mean f||^2 = (mean f - c) / n_c.
  const g = tf.grad((x: tf.Tensor) => L.classFeatureMatchingLoss(centres, x as tf.Tensor2D, onehot, 'sum'))(fp);
  assert.deepEqual(Array.from(g.dataSync()).map((v) => Math.round(v * 1e6) / 1e6), [-0.5, 0, -0.5, 0, 1, 0]);
});

test('accuracy and NonFiniteLossError name what went wrong', () => {
  close(val(L.accuracy(tf.tensor2d([[0, 1], [1, 0], [0, 1]]), tf.tensor1d([1, 1, 1], 'int32'))), 2 / 3, 1e-6, 'accuracy');
  L.checkFinite({ a: 1, b: 0 }, 3);
  assert.throws(
    () => L.checkFinite({ L_C: 1, L_GD: NaN }, 17),
    (e: unknown) => e instanceof L.NonFiniteLossError && e.term === 'L_GD' && e.step === 17 && /L_GD is NaN at step 17/.test(e.message),
  );
  assert.throws(() => L.checkFinite({ L_D: Infinity }, 2), /L_D is Infinity at step 2/);
});
