/**
 * The paper's applications (lib/applications.ts).
 *
 * - Always run (no data needed): PSNR against hand-computed values, bicubic against hand-computed
 *   Keys weights and its coordinate convention, box down-sampling, masks, label paths; and on an
 *   untrained tiny CVAE-GAN the mechanisms: the swap keeps each image's z, interpolation endpoints
 *   are the encoded images / the two classes, inpainting never reads the hole and keeps every known
 *   pixel bit for bit, super-resolution's PSNR is the formula's, memory stays flat.
 * - On a small CVAE-GAN trained here on a tiny real subset (flowers102, 2 classes x 8 images;
 *   skipped without ../shared/datasets): inpainting lowers the hole's error versus the masked input,
 *   super-resolution reports PSNR beside bicubic, swap output ranges, and the augmentation
 *   experiment runs end to end and reports real-test accuracy both ways.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../lib/backend/index';
import { makeConfig, type ModelConfig } from '../lib/model/config';
import { CVAEGAN } from '../lib/model/cvaegan';
import { createModel } from '../lib/model/factory';
import { augmentationExperiment, generateByClass } from '../lib/apps/augmentation';
import { disposeResult } from '../lib/apps/common';
import { bicubicResize, downsample, keysCubic, maskedMse, psnr, upsampleNearest } from '../lib/apps/image-ops';
import { boxMask, centreMask, inpaint, inpaintingGrid, maskImages } from '../lib/apps/inpainting';
import { superResolutionGrid, superResolve } from '../lib/apps/super-resolution';
import { classInterpolationGrid, imageInterpolationGrid, interpolateClasses, interpolateImages, labelPath, swapClasses, swapGrid } from '../lib/apps/swap-interpolation';
import { Batcher, loadDataset, sharedDataset, toTensor, type ImageDataset } from '../datasets/index';

const K = 3;
const R = 32;
const tiny = (): ModelConfig => makeConfig('tiny', { numClasses: K });

let fresh: CVAEGAN;
before(async () => {
  await initBackend();
  // The mechanism tests below need an untrained G whose output visibly depends on z: with the
  // default N(0, 0.02) kernels a tiny untrained G is nearly constant (the interpolation path
  // moves by < 1e-4), so this one starts from Glorot-uniform kernels.
  fresh = new CVAEGAN(makeConfig('tiny', { numClasses: K, init: 'glorot-uniform' }));
});

/** Smooth random images in (-1, 1). */
const images = (n: number, seed: number): tf.Tensor4D => tf.tidy(() => tf.tanh(tf.randomNormal([n, R, R, 3], 0, 1, 'float32', seed))) as tf.Tensor4D;
const maxAbsDiff = (a: tf.Tensor, b: tf.Tensor): number => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
const rows = (t: tf.Tensor, start: number, count: number): tf.Tensor => tf.slice(t, [start, 0, 0, 0], [count, -1, -1, -1]);
const mean = (v: number[]) => v.reduce((s, x) => s + x, 0) / v.length;

// ------------------------------------------------------------------------------------------------
// Measures and resampling

test('psnr: 10 log10(range^2 / MSE) per image, against hand-computed values', () => {
  const a = tf.zeros([3, 2, 2, 3]) as tf.Tensor4D;
  // Image 0 off by 0.1 everywhere (MSE 0.01), image 1 by 0.5 (MSE 0.25), image 2 identical.
  const b = tf.concat([tf.fill([1, 2, 2, 3], 0.1), tf.fill([1, 2, 2, 3], -0.5), tf.zeros([1, 2, 2, 3])]) as tf.Tensor4D;
  const p = psnr(a, b);
  assert.ok(Math.abs(p[0] - 26.020599913279625) < 1e-4, `10 log10(4 / 0.01) = 26.0206, got ${p[0]}`);
  assert.ok(Math.abs(p[1] - 12.041199826559248) < 1e-4, `10 log10(4 / 0.25) = 12.0412, got ${p[1]}`);
  assert.equal(p[2], Infinity);
  const unit = psnr(a, b, 1);
  assert.ok(Math.abs(unit[0] - 20) < 1e-4, `range 1: 10 log10(1 / 0.01) = 20, got ${unit[0]}`);
  // A single differing pixel: MSE = 1^2 / 12 elements.
  const c = tf.tensor4d([1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], [1, 2, 2, 3]);
  assert.ok(Math.abs(psnr(tf.zeros([1, 2, 2, 3]) as tf.Tensor4D, c)[0] - 10 * Math.log10(4 * 12)) < 1e-4);
  assert.throws(() => psnr(a, tf.zeros([3, 2, 2, 1]) as tf.Tensor4D), /shapes differ/);
  tf.dispose([a, b, c]);
});

test('Keys cubic kernel (a = -0.5): hand values, and the four taps sum to 1 at any offset', () => {
  assert.equal(keysCubic(0), 1);
  assert.equal(keysCubic(1), 0);
  assert.equal(keysCubic(2), 0);
  assert.equal(keysCubic(-1.25), -0.0703125); // -0.5*1.953125 + 2.5*1.5625 - 4*1.25 + 2
  assert.equal(keysCubic(0.75), 0.2265625); // 1.5*0.421875 - 2.5*0.5625 + 1
  for (const t of [0, 0.1, 0.25, 0.5, 0.9]) {
    const s = keysCubic(t + 1) + keysCubic(t) + keysCubic(1 - t) + keysCubic(2 - t);
    assert.ok(Math.abs(s - 1) < 1e-12, `partition of unity at ${t}: ${s}`);
  }
});

test('bicubic resize: hand-computed 2x values, identity at the same size, constants kept, linear ramps reproduced', () => {
  // Row [0, 1] to width 4 (half-pixel centres): sources -0.25, 0.25, 0.75, 1.25, edges replicated.
  //   out0 = W(1.25) = -0.0703125; out1 = W(0.75) + W(1.75) = 0.203125; out2, out3 by symmetry.
  const row = tf.tensor4d([0, 1], [1, 1, 2, 1]);
  const up = bicubicResize(row, [1, 4], null);
  assert.deepEqual(Array.from(up.dataSync()), [-0.0703125, 0.203125, 0.796875, 1.0703125]);
  const clipped = bicubicResize(row, [1, 4]);
  assert.deepEqual(Array.from(clipped.dataSync()), [-0.0703125, 0.203125, 0.796875, 1], 'clipped to [-1, 1] by default');
  const x = images(2, 5);
  const same = bicubicResize(x, [R, R]);
  assert.equal(maxAbsDiff(same, x), 0, 'identity at the input size');
  const c = tf.fill([1, 8, 8, 3], 0.3) as tf.Tensor4D;
  const cu = bicubicResize(c, [32, 32]);
  assert.ok(maxAbsDiff(cu, tf.fill([1, 32, 32, 3], 0.3)) < 1e-6);
  // A horizontal ramp v(i) = i / 8 is reproduced wherever all four taps are inside the image:
  // output column o samples the source at (o + 0.5) / 2 - 0.5.
  const ramp = tf.tidy(() => tf.tile(tf.reshape(tf.div(tf.range(0, 8), 8), [1, 1, 8, 1]), [1, 4, 1, 1])) as tf.Tensor4D;
  const ru = bicubicResize(ramp, [8, 16]).dataSync();
  for (let o = 4; o < 12; o++) {
    const want = ((o + 0.5) / 2 - 0.5) / 8;
    assert.ok(Math.abs(ru[3 * 16 + o] - want) < 1e-6, `column ${o}: ${ru[3 * 16 + o]} vs ${want}`);
  }
  tf.dispose([row, up, clipped, x, same, c, cu, ramp]);
});

test('downsample is the f x f block mean; upsampleNearest copies blocks; one undoes the other', () => {
  const x = tf.tensor4d(Array.from({ length: 16 }, (_, i) => i), [1, 4, 4, 1]);
  // Blocks {0,1,4,5}, {2,3,6,7}, {8,9,12,13}, {10,11,14,15}.
  assert.deepEqual(Array.from(downsample(x, 2).dataSync()), [2.5, 4.5, 10.5, 12.5]);
  const u = upsampleNearest(tf.tensor4d([1, 2, 3, 4], [1, 2, 2, 1]), 2);
  assert.deepEqual(Array.from(u.dataSync()), [1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4]);
  const y = images(2, 7);
  const back = downsample(upsampleNearest(y, 4), 4);
  assert.ok(maxAbsDiff(back, y) < 1e-6);
  assert.throws(() => downsample(y, 3), /do not divide/);
  tf.dispose([x, u, y, back]);
});

test('masks: centre and box holes; maskImages fills with the known mean and never reads the hole', () => {
  const m = centreMask(R, 0.5);
  const v = Array.from(m.dataSync());
  assert.equal(v.reduce((s, a) => s + a, 0), 256);
  assert.equal(v[8 * R + 8], 1);
  assert.equal(v[23 * R + 23], 1);
  assert.equal(v[7 * R + 8], 0);
  assert.equal(v[24 * R + 24], 0);
  assert.throws(() => boxMask(R, { x: 30, y: 0, width: 4, height: 1 }), /does not fit/);
  // Two images equal outside the hole, different inside it (one with NaN there).
  const x = images(2, 11);
  const garbage = tf.tidy(() => tf.where(tf.cast(tf.broadcastTo(m, x.shape), 'bool'), tf.fill(x.shape, NaN), x)) as tf.Tensor4D;
  const a = maskImages(x, m);
  const b = maskImages(garbage, m);
  assert.equal(maxAbsDiff(a, b), 0, 'the hole content is not read');
  // The fill is the per-channel mean of the known pixels.
  const known = tf.tidy(() => tf.sum(tf.mul(x, tf.sub(1, m)), [1, 2]).div(R * R - 256).dataSync());
  const filled = tf.tidy(() => tf.slice(a, [0, 16, 16, 0], [-1, 1, 1, -1]).dataSync());
  for (let i = 0; i < 6; i++) assert.ok(Math.abs(filled[i] - known[i]) < 1e-5);
  const grey = maskImages(x, m, 0);
  assert.equal(grey.dataSync()[(16 * R + 16) * 3], 0);
  // maskedMse counts only mask-1 pixels: image vs (image + 1 inside the hole) = 1 there, 0 outside.
  const shifted = tf.tidy(() => tf.add(x, m)) as tf.Tensor4D;
  assert.deepEqual(maskedMse(shifted, x, m).map((e) => Math.round(e * 1e5) / 1e5), [1, 1]);
  assert.deepEqual(maskedMse(shifted, x, tf.sub(1, m)), [0, 0]);
  tf.dispose([m, x, garbage, a, b, grey, shifted]);
});

test('labelPath: convex mixes of two one-hots from e_a to e_b', () => {
  const p = labelPath(0, 2, 5, K).arraySync();
  assert.deepEqual(p[0], [1, 0, 0]);
  assert.deepEqual(p[4], [0, 0, 1]);
  assert.deepEqual(p[2], [0.5, 0, 0.5]);
  for (const r of p) assert.ok(Math.abs(r.reduce((s, a) => s + a, 0) - 1) < 1e-6);
});

// ------------------------------------------------------------------------------------------------
// Mechanisms, on an untrained model

test('swap keeps each image z: z = E(x, c).mu, and G(z_i, target) for every target', () => {
  const x = images(3, 21);
  const labels = [0, 1, 2];
  const targets = [2, 0, 1, 0];
  const r = swapClasses(fresh, x, labels, targets);
  assert.deepEqual(r.images.shape, [12, R, R, 3]);
  assert.equal(r.rows, 3);
  assert.equal(r.columns, 4);
  const { mu, logvar } = fresh.encode(x, labels);
  assert.ok(maxAbsDiff(tf.tensor2d(r.z), mu) < 1e-6, 'z is the posterior mean of E(x, c_source)');
  for (let i = 0; i < 3; i++) {
    const zi = tf.tensor2d([r.z[i]]);
    for (let t = 0; t < targets.length; t++) {
      const direct = fresh.sample([targets[t]], { z: zi });
      assert.ok(maxAbsDiff(rows(r.images, i * 4 + t, 1), direct) < 1e-5, `image ${i}, target ${targets[t]} is G(z_${i}, target)`);
      direct.dispose();
    }
    zi.dispose();
  }
  // The source class among the targets gives the plain reconstruction G(mu, c_source).
  const rec = fresh.reconstruct(x, labels);
  for (const [i, t] of [[0, 1], [1, 2], [2, 0]]) {
    assert.equal(targets[t], labels[i]);
    assert.ok(maxAbsDiff(rows(r.images, i * 4 + t, 1), rows(rec, i, 1)) < 1e-5, `image ${i} with its own class`);
  }
  // A seed draws z ~ q(z | x, c) instead: different from mu, reproducible.
  const s1 = swapClasses(fresh, x, labels, [0], { seed: 3 });
  const s2 = swapClasses(fresh, x, labels, [0], { seed: 3 });
  assert.deepEqual(s1.z, s2.z);
  assert.notDeepEqual(s1.z, r.z);
  assert.throws(() => swapClasses(fresh, x, labels, [K]), /not a class/);
  assert.throws(() => swapClasses(fresh, x, [0, 1], [0]), /2 labels for 3 images/);
  disposeResult(r);
  disposeResult(s1);
  disposeResult(s2);
  tf.dispose([x, mu, logvar, rec]);
});

test('image interpolation starts at G(E(xa), ca) and ends at G(E(xb), cb); class interpolation at the two classes', () => {
  const xa = images(2, 31);
  const xb = images(2, 32);
  const ca = [0, 1];
  const cb = [2, 1];
  for (const path of ['linear', 'slerp'] as const) {
    const m = interpolateImages(fresh, xa, ca, xb, cb, 5, { path });
    assert.deepEqual(m.shape, [10, R, R, 3]);
    const ra = fresh.reconstruct(xa, ca);
    const rb = fresh.reconstruct(xb, cb);
    for (let i = 0; i < 2; i++) {
      assert.ok(maxAbsDiff(rows(m, i * 5, 1), rows(ra, i, 1)) < 1e-4, `${path}: pair ${i} starts at the reconstruction of xa`);
      assert.ok(maxAbsDiff(rows(m, i * 5 + 4, 1), rows(rb, i, 1)) < 1e-4, `${path}: pair ${i} ends at the reconstruction of xb`);
    }
    assert.ok(maxAbsDiff(rows(m, 1, 1), rows(m, 3, 1)) > 1e-4, 'the path moves');
    tf.dispose([m, ra, rb]);
  }
  const z = tf.randomNormal([2, 8], 0, 1, 'float32', 4) as tf.Tensor2D;
  const c = interpolateClasses(fresh, 0, 2, 4, { z });
  assert.deepEqual(c.shape, [8, R, R, 3]);
  const ea = fresh.sample([0, 0], { z });
  const eb = fresh.sample([2, 2], { z });
  for (let i = 0; i < 2; i++) {
    assert.ok(maxAbsDiff(rows(c, i * 4, 1), rows(ea, i, 1)) < 1e-5);
    assert.ok(maxAbsDiff(rows(c, i * 4 + 3, 1), rows(eb, i, 1)) < 1e-5);
  }
  const drawn = interpolateClasses(fresh, 1, 1, 3, { count: 2, seed: 9 });
  assert.deepEqual(drawn.shape, [6, R, R, 3]);
  assert.equal(maxAbsDiff(rows(drawn, 0, 1), rows(drawn, 2, 1)), 0, 'one class: the label never changes');
  assert.throws(() => interpolateImages(fresh, xa, ca, xb, cb, 1), /steps/);
  tf.dispose([xa, xb, z, c, ea, eb, drawn]);
});

test('inpainting keeps every known pixel bit for bit, never reads the hole, and optimises only z', () => {
  const x = images(3, 41);
  const labels = [0, 1, 2];
  const mask = centreMask(R, 0.5);
  const hole = tf.tidy(() => tf.cast(tf.broadcastTo(mask, x.shape), 'bool'));
  const xNaN = tf.tidy(() => tf.where(hole, tf.fill(x.shape, NaN), x)) as tf.Tensor4D;
  const before = fresh.nets.G.getWeights().map((w) => w.dataSync().slice());
  const r = inpaint(fresh, xNaN, mask, labels, { steps: 8 });
  assert.deepEqual(r.images.shape, [3, R, R, 3]);
  assert.deepEqual(r.generated.shape, [3, R, R, 3]);
  assert.equal(r.history.length, 8);
  assert.ok(r.history.every(Number.isFinite), 'NaN in the hole reaches nothing');
  assert.equal(r.z.length, 3);
  const out = r.images.dataSync();
  const src = xNaN.dataSync();
  const gen = r.generated.dataSync();
  const hv = hole.dataSync();
  for (let i = 0; i < out.length; i++) {
    if (hv[i]) assert.equal(out[i], gen[i]);
    else assert.ok(Object.is(out[i], src[i]), `known value ${i} changed: ${src[i]} -> ${out[i]}`);
  }
  const min = tf.tidy(() => tf.min(r.images).dataSync()[0]);
  const max = tf.tidy(() => tf.max(r.images).dataSync()[0]);
  assert.ok(min >= -1 && max <= 1, `range [${min}, ${max}]`);
  // Same answer as with zeros in the hole.
  const r0 = inpaint(fresh, tf.where(hole, tf.zerosLike(x), x) as tf.Tensor4D, mask, labels, { steps: 8 });
  assert.equal(maxAbsDiff(r0.images, r.images), 0);
  fresh.nets.G.getWeights().forEach((w, i) => assert.deepEqual(w.dataSync(), before[i], 'G is not trained'));
  // Per-image masks, and a model without D and C (the CVAE baseline) drops the feature priors.
  const masks = tf.concat([boxMask(R, { x: 0, y: 0, width: 8, height: 8 }), centreMask(R, 0.25), boxMask(R, { x: 20, y: 4, width: 10, height: 20 })]);
  const cvae = createModel('cvae', tiny()) as unknown as Parameters<typeof inpaint>[0] & { dispose(): void };
  const rc = inpaint(cvae, x, masks, labels, { steps: 3 });
  assert.equal(rc.weights.featureD, 0);
  assert.equal(rc.weights.featureC, 0);
  assert.throws(() => inpaint(fresh, x, tf.zeros([2, R, R, 1]), labels), /2 masks for 3 images/);
  disposeResult(r);
  disposeResult(r0);
  disposeResult(rc);
  cvae.dispose();
  tf.dispose([x, mask, hole, xNaN, masks]);
});

test('super-resolution: shapes, bicubic baseline, and PSNR computed as the formula says', () => {
  const x = images(2, 51);
  for (const f of [2, 4]) {
    const low = downsample(x, f);
    const r = superResolve(fresh, low, [0, 2], { steps: 5, reference: x });
    assert.equal(r.factor, f);
    assert.deepEqual(r.images.shape, [2, R, R, 3]);
    const bic = bicubicResize(low, [R, R]);
    assert.equal(maxAbsDiff(r.bicubic, bic), 0);
    // PSNR by hand from the pixels.
    const a = r.images.dataSync();
    const b = r.bicubic.dataSync();
    const ref = x.dataSync();
    const per = R * R * 3;
    for (let i = 0; i < 2; i++) {
      let se = 0;
      let sb = 0;
      for (let j = i * per; j < (i + 1) * per; j++) {
        se += (a[j] - ref[j]) ** 2;
        sb += (b[j] - ref[j]) ** 2;
      }
      assert.ok(Math.abs(r.psnr!.model[i] - 10 * Math.log10(4 / (se / per))) < 1e-3);
      assert.ok(Math.abs(r.psnr!.bicubic[i] - 10 * Math.log10(4 / (sb / per))) < 1e-3);
    }
    assert.ok(Math.abs(r.psnr!.meanModel - mean(r.psnr!.model)) < 1e-9);
    assert.equal(r.history.length, 5);
    const plain = superResolve(fresh, low, [0, 2], { steps: 0 });
    assert.equal(plain.psnr, undefined, 'no reference, no PSNR');
    disposeResult(r);
    disposeResult(plain);
    tf.dispose([low, bic]);
  }
  assert.throws(() => superResolve(fresh, tf.zeros([1, 5, 5, 3]) as tf.Tensor4D, [0]), /r dividing 32/);
  x.dispose();
});

test('memory: every application and grid leaves the tensor count as it was', () => {
  const x = images(2, 61);
  const labels = [0, 1];
  const mask = centreMask(R, 0.5);
  const low = downsample(x, 4);
  const run = () => {
    disposeResult(swapClasses(fresh, x, labels, [0, 2]));
    interpolateImages(fresh, x, labels, x, [2, 2], 3).dispose();
    interpolateClasses(fresh, 0, 1, 3, { count: 2 }).dispose();
    const p = inpaint(fresh, x, mask, labels, { steps: 2, weights: { realism: 0.1 } });
    inpaintingGrid(x, p);
    disposeResult(p);
    const s = superResolve(fresh, low, labels, { steps: 2, reference: x });
    superResolutionGrid(low, s, { reference: x });
    disposeResult(s);
    swapGrid(fresh, x, labels, [0, 1, 2], { classNames: ['a', 'b', 'c'] });
    imageInterpolationGrid(fresh, x, labels, x, [2, 0], 4);
    classInterpolationGrid(fresh, 0, 2, 4, { count: 2 });
  };
  run();
  const n = tf.memory().numTensors;
  run();
  run();
  assert.equal(tf.memory().numTensors, n);
  tf.dispose([x, mask, low]);
});

test('generateByClass: perClass samples of every class, class-major, as bytes, reproducible by seed', () => {
  const a = generateByClass(fresh, 5, 7, 2);
  const c = generateByClass(fresh, 5, 8, 2);
  assert.deepEqual(a.images.shape, [15, R, R, 3]);
  assert.deepEqual(Array.from(a.labels), [0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2]);
  assert.deepEqual(generateByClass(fresh, 5, 7, 2).images.data, a.images.data, 'a rerun gives the same images');
  assert.notDeepEqual(c.images.data, a.images.data, 'another seed, other images');
  // The first chunk of class 0 is model.sample([0, 0], seed) quantised to bytes.
  const first = fresh.sample([0, 0], { seed: Math.imul(7, 0x9e3779b1) >>> 0 });
  const bytes = tf.tidy(() => tf.clipByValue(tf.round(tf.mul(tf.add(first, 1), 127.5)), 0, 255).dataSync());
  assert.deepEqual(Array.from(a.images.data.subarray(0, bytes.length)), Array.from(bytes));
  first.dispose();
});

test('grids: one row per image, the expected columns', () => {
  const x = images(2, 71);
  const g = swapGrid(fresh, x, [0, 1], [0, 1, 2]);
  assert.equal(g.geometry.rows, 2);
  assert.equal(g.geometry.columns, 4);
  const ig = imageInterpolationGrid(fresh, x, [0, 1], x, [1, 1], 5);
  assert.equal(ig.geometry.columns, 7);
  const cg = classInterpolationGrid(fresh, 0, 2, 6, { count: 3 });
  assert.equal(cg.geometry.rows, 3);
  assert.equal(cg.geometry.columns, 6);
  x.dispose();
});

// ------------------------------------------------------------------------------------------------
// On a model trained here on a tiny real subset

const flowers = sharedDataset('flowers102');

describe('on a small CVAE-GAN trained on 2 flower classes x 8 images', { skip: 'missing' in flowers ? flowers.missing : false }, () => {
  let model: CVAEGAN;
  let train: ImageDataset;
  let x: tf.Tensor4D;
  let labels: number[];

  before(async () => {
    train = await loadDataset({ name: 'flowers102', split: 'train', resolution: 32, classes: { first: 2 }, maxPerClass: 8, progress: false });
    // The tiny preset with a wider generator and a faster learning rate: enough to reconstruct
    // 16 images after 250 steps (~1 minute on 2 cores).
    model = new CVAEGAN(
      makeConfig('tiny', {
        numClasses: 2,
        zDim: 16,
        optimizer: { learningRate: 2e-3 },
        generator: {
          hidden: [32],
          baseChannels: 16,
          layers: [
            { filters: 16, kernel: 3, upsample: true },
            { filters: 8, kernel: 3, upsample: true },
            { filters: 8, kernel: 3, upsample: true },
            { filters: 3, kernel: 3, upsample: false },
          ],
        },
      }),
    );
    const batches = new Batcher(train, 8, 1);
    for (let s = 0; s < 250; s++) {
      const b = batches.next();
      model.trainStep(b.x, b.labels);
      tf.dispose([b.x, b.labels]);
    }
    const idx = Array.from({ length: 8 }, (_, i) => 2 * i);
    x = toTensor(train, idx);
    labels = idx.map((i) => train.labels[i]);
  });

  test('inpainting lowers the hole error versus the masked input, keeps known pixels, and fits them better as it goes', () => {
    const mask = centreMask(32, 0.5);
    const r = inpaint(model, x, mask, labels);
    const before = maskedMse(r.masked, x, mask);
    const after = maskedMse(r.images, x, mask);
    const better = after.filter((e, i) => e < before[i]).length;
    assert.ok(mean(after) < mean(before), `hole MSE: masked input ${mean(before).toFixed(4)}, inpainted ${mean(after).toFixed(4)}`);
    assert.ok(better >= 6, `improved on ${better} of 8 images`);
    assert.ok(r.history[r.history.length - 1] < r.history[0], `objective ${r.history[0]} -> ${r.history[r.history.length - 1]}`);
    assert.equal(maskedMse(r.images, x, tf.sub(1, mask)).every((e) => e === 0), true, 'known pixels unchanged');
    disposeResult(r);
    mask.dispose();
  });

  test('super-resolution x4: fits the low-resolution input, reports PSNR beside bicubic', () => {
    const low = downsample(x, 4);
    const r = superResolve(model, low, labels, { reference: x });
    const p = r.psnr!;
    assert.equal(p.model.length, 8);
    assert.ok(p.model.every(Number.isFinite) && p.bicubic.every(Number.isFinite));
    assert.deepEqual(p.model, psnr(r.images, x));
    assert.ok(r.history[r.history.length - 1] < r.history[0], `objective ${r.history[0]} -> ${r.history[r.history.length - 1]}`);
    // Our output, down-sampled, is closer to the input than the starting point E(bicubic) gave.
    const start = superResolve(model, low, labels, { steps: 0 });
    const fit = (t: tf.Tensor4D) => tf.tidy(() => tf.mean(tf.squaredDifference(downsample(t, 4), low)).dataSync()[0]);
    assert.ok(fit(r.images) < fit(start.images), `low-res fit ${fit(start.images)} -> ${fit(r.images)}`);
    console.log(`# super-resolution x4 (tiny model, 250 steps): bicubic ${p.meanBicubic.toFixed(2)} dB, ours ${p.meanModel.toFixed(2)} dB`);
    disposeResult(r);
    disposeResult(start);
    low.dispose();
  });

  test('swap: every (image, target) output is in range and the target changes the image', () => {
    const r = swapClasses(model, x, labels, [0, 1]);
    assert.deepEqual(r.images.shape, [16, 32, 32, 3]);
    const min = tf.tidy(() => tf.min(r.images).dataSync()[0]);
    const max = tf.tidy(() => tf.max(r.images).dataSync()[0]);
    assert.ok(min >= -1 && max <= 1);
    assert.ok(maxAbsDiff(rows(r.images, 0, 1), rows(r.images, 1, 1)) > 0.05, 'class 0 and class 1 differ for the same z');
    disposeResult(r);
  });

  test('augmentation: a classifier on the real images, then real + generated, both measured on real test images', async () => {
    const test = await loadDataset({ name: 'flowers102', split: 'test', resolution: 32, classes: { first: 2 }, maxPerClass: 20, progress: false });
    const lines: string[] = [];
    const r = await augmentationExperiment({
      model,
      train,
      test,
      generatedPerClass: 16,
      classifierOpts: { preset: 'tiny', batchSize: 8, maxEpochs: 2 },
      seed: 3,
      log: (l) => lines.push(l),
    });
    assert.equal(r.testImages, 40);
    assert.deepEqual(r.realPerClass, [8, 8]);
    assert.equal(r.realOnly.trainImages, 16);
    assert.equal(r.realPlusGenerated.trainImages, 16 + 2 * 16);
    // Equal update budget: 48 / 8 = 6 batches per epoch x 2 epochs = 12 = 16 / 8 x 6 epochs.
    assert.equal(r.realPlusGenerated.epochs, 2);
    assert.equal(r.realOnly.epochs, 6);
    for (const a of [r.realOnly.accuracy, r.realPlusGenerated.accuracy]) {
      assert.ok(a >= 0 && a <= 1);
      assert.ok(Math.abs(a * 40 - Math.round(a * 40)) < 1e-9, `${a} is a count out of 40 test images`);
    }
    assert.equal(r.gain, r.realPlusGenerated.accuracy - r.realOnly.accuracy);
    assert.ok(lines.some((l) => /real-only: test accuracy/.test(l)) && lines.some((l) => /real\+generated: test accuracy/.test(l)));
    console.log(`# augmentation (tiny): real-only ${(100 * r.realOnly.accuracy).toFixed(1)}%, real+generated ${(100 * r.realPlusGenerated.accuracy).toFixed(1)}%`);
    const other = await loadDataset({ name: 'flowers102', split: 'test', resolution: 32, classes: { ids: [5, 9] }, maxPerClass: 4, progress: false });
    await assert.rejects(augmentationExperiment({ model, train, test: other, generatedPerClass: 1 }), /different classes/);
  });
});
