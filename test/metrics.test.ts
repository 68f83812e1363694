/** Metric functions against hand-computed values. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import {
  asMatrix, classDiversity, frechetDistance, frechetFromMoments, gaussianMoments, inceptionScore, meanPairwiseRms, sqrtPsd, symmetricEigen, top1Accuracy,
} from '../lib/eval/metrics';
import { Rng } from '../lib/model/rng';

const close = (a: number, b: number, tol: number, what = '') => assert.ok(Math.abs(a - b) <= tol, `${what} ${a} vs ${b} (tol ${tol})`);

/** Standard normal draws (Box-Muller) from a seeded generator. */
function normals(rng: Rng, n: number): number[] {
  const out: number[] = [];
  while (out.length < n) {
    const u = 1 - rng.next();
    const v = rng.next();
    out.push(Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v));
  }
  return out;
}

function oneHot(labels: number[], K: number): number[][] {
  return labels.map((l) => Array.from({ length: K }, (_, k) => (k === l ? 1 : 0)));
}

test('top-1 accuracy: argmax against labels, from arrays and tensors', () => {
  const probs = [
    [0.7, 0.2, 0.1],
    [0.1, 0.3, 0.6],
    [0.2, 0.5, 0.3],
    [0.4, 0.4, 0.2], // tie: the lower index wins
  ];
  assert.equal(top1Accuracy(probs, [0, 2, 0, 0]), 3 / 4);
  assert.equal(top1Accuracy(probs, [1, 1, 1, 1]), 1 / 4);
  const t = tf.tensor2d(probs);
  assert.equal(top1Accuracy(t, Int32Array.from([0, 2, 1, 0])), 1);
  t.dispose();
  assert.throws(() => top1Accuracy(probs, [0, 1]), /4 rows but 2 labels/);
});

test('inception-score form: a perfect one-hot classifier on balanced classes gives K, uniform outputs give 1', () => {
  for (const K of [2, 5, 10]) {
    const labels = Array.from({ length: 4 * K }, (_, i) => i % K);
    close(inceptionScore(oneHot(labels, K)), K, 1e-12, `one-hot K=${K}`);
    close(inceptionScore(labels.map(() => new Array<number>(K).fill(1 / K))), 1, 1e-12, `uniform K=${K}`);
  }
  // Every image confidently class 0: no spread over classes, so 1.
  close(inceptionScore(oneHot([0, 0, 0], 3)), 1, 1e-12, 'collapsed');
  // Hand-computed: rows [1, 0] and [0.5, 0.5]; p(y) = [0.75, 0.25].
  // KL1 = log(1/0.75); KL2 = 0.5 log(0.5/0.75) + 0.5 log(0.5/0.25); IS = exp((KL1 + KL2) / 2).
  const kl1 = Math.log(1 / 0.75);
  const kl2 = 0.5 * Math.log(0.5 / 0.75) + 0.5 * Math.log(0.5 / 0.25);
  close(inceptionScore([[1, 0], [0.5, 0.5]]), Math.exp((kl1 + kl2) / 2), 1e-12, 'hand example');
  // Unbalanced one-hot: exp(H(p(y))) = exp(-(0.75 log 0.75 + 0.25 log 0.25)).
  close(inceptionScore(oneHot([0, 0, 0, 1], 2)), Math.exp(-(0.75 * Math.log(0.75) + 0.25 * Math.log(0.25))), 1e-12, 'unbalanced');
  assert.throws(() => inceptionScore([[2, -1]]), /probabilities/);
  assert.throws(() => inceptionScore([[0.2, 0.2]]), /sums to/);
});

test('symmetric eigen-decomposition reconstructs the matrix with orthonormal vectors', () => {
  const rng = new Rng(3);
  const n = 12;
  const B = normals(rng, n * n);
  const A = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let k = 0; k < n; k++) A[i * n + j] += B[i * n + k] * B[j * n + k];
  const { values, vectors: V } = symmetricEigen(A, n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let r = 0;
      let o = 0;
      for (let k = 0; k < n; k++) {
        r += V[i * n + k] * values[k] * V[j * n + k];
        o += V[k * n + i] * V[k * n + j];
      }
      close(r, A[i * n + j], 1e-10, `A[${i}][${j}]`);
      close(o, i === j ? 1 : 0, 1e-12, `V^T V [${i}][${j}]`);
    }
  }
  // sqrtPsd(A)^2 = A.
  const S = sqrtPsd(A, n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
    let r = 0;
    for (let k = 0; k < n; k++) r += S[i * n + k] * S[k * n + j];
    close(r, A[i * n + j], 1e-9, `S^2[${i}][${j}]`);
  }
  // Diagonal input: values are the diagonal.
  assert.deepEqual(Array.from(symmetricEigen([4, 0, 0, 9], 2).values), [4, 9]);
});

test('Frechet distance: closed forms for commuting and non-commuting 2x2 covariances', () => {
  // Diagonal (commuting): ||mu1 - mu2||^2 + sum_k (sqrt(a_k) - sqrt(b_k))^2.
  const d1 = frechetFromMoments({ mean: [0, 0], cov: [4, 0, 0, 1] }, { mean: [3, 4], cov: [1, 0, 0, 9] });
  close(d1, 25 + (2 - 1) ** 2 + (1 - 3) ** 2, 1e-10, 'diagonal');
  // Non-commuting 2x2: for PSD M, Tr(M^{1/2}) = sqrt(tr M + 2 sqrt(det M)); with M ~ S1 S2,
  // Tr((S1 S2)^{1/2}) = sqrt(tr(S1 S2) + 2 sqrt(det S1 det S2)).
  const S1 = [2, 1, 1, 2];
  const S2 = [1, -0.5, -0.5, 3];
  const trS1S2 = S1[0] * S2[0] + S1[1] * S2[2] + S1[2] * S2[1] + S1[3] * S2[3];
  const det = (S: number[]) => S[0] * S[3] - S[1] * S[2];
  const expected = 1 + (2 + 2 + 1 + 3) - 2 * Math.sqrt(trS1S2 + 2 * Math.sqrt(det(S1) * det(S2)));
  close(frechetFromMoments({ mean: [1, 0], cov: S1 }, { mean: [0, 0], cov: S2 }), expected, 1e-10, 'non-commuting');
  // Symmetric in its arguments.
  close(frechetFromMoments({ mean: [0, 0], cov: S2 }, { mean: [1, 0], cov: S1 }), expected, 1e-10, 'swapped');
});

test('FID of a set with itself is ~0, and of the same set shifted by s is exactly ||s||^2', () => {
  const rng = new Rng(11);
  const n = 400;
  const d = 64;
  // Correlated features: x = z W, so the covariance is far from diagonal.
  const z = normals(rng, n * d);
  const W = normals(rng, d * d).map((v) => v / Math.sqrt(d));
  const X = new Float64Array(n * d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) for (let k = 0; k < d; k++) X[i * d + j] += z[i * d + k] * W[k * d + j];
  const set = { data: X, shape: [n, d] };
  const self = frechetDistance(set, set);
  assert.ok(self >= 0 && self < 1e-8, `FID(X, X) = ${self}`);
  const shift = Array.from({ length: d }, (_, j) => (j % 3) - 1 + 0.25);
  const Y = X.map((v, i) => v + shift[i % d]);
  const expected = shift.reduce((s, v) => s + v * v, 0);
  close(frechetDistance(set, { data: Y, shape: [n, d] }), expected, 1e-7 * expected, 'shifted');
  // A different scale: FID grows with the covariance mismatch (sigma 1 vs 2 -> sum (1 - 2)^2 = d in the limit).
  const Z2 = { data: normals(rng, n * 8).map((v) => 2 * v), shape: [n, 8] };
  const Z1 = { data: normals(rng, n * 8), shape: [n, 8] };
  const f = frechetDistance(Z1, Z2);
  assert.ok(f > 8 * 0.7 && f < 8 * 1.3, `sigma 1 vs 2 in 8-d: ${f}, expected about 8`);
});

test('gaussianMoments: mean and unbiased covariance', () => {
  const { mean, cov } = gaussianMoments([[1, 2], [3, 6], [5, 10]]);
  assert.deepEqual(Array.from(mean), [3, 6]);
  // var(x) = ((-2)^2 + 0 + 2^2) / 2 = 4; var(y) = 16; cov = 8.
  assert.deepEqual(Array.from(cov), [4, 8, 8, 16]);
});

test('class diversity: identical images give 0, hand-computed pairs, classes averaged, NaN for singletons', () => {
  const img = [0.5, -0.5, 0.25, 1];
  assert.equal(classDiversity([img, img, img], [0, 0, 0]).mean, 0);
  // RMS distances: a-b = sqrt(4 / 4) = 1, a-c = sqrt(16 / 4) = 2, b-c = sqrt((4 + 16) / 4) = sqrt(5).
  const a = [0, 0, 0, 0];
  const b = [2, 0, 0, 0];
  const c = [0, 4, 0, 0];
  const rms = (u: number[], v: number[]) => Math.sqrt(u.reduce((s, x, i) => s + (x - v[i]) ** 2, 0) / u.length);
  const three = (rms(a, b) + rms(a, c) + rms(b, c)) / 3;
  assert.equal(rms(a, b), 1);
  const r = classDiversity([a, b, c, img, img, a], [0, 0, 0, 1, 1, 2], 4);
  close(r.perClass[0], three, 1e-12, 'class 0');
  assert.equal(r.perClass[1], 0);
  assert.ok(Number.isNaN(r.perClass[2]) && Number.isNaN(r.perClass[3]));
  close(r.mean, three / 2, 1e-12, 'mean over classes with >= 2 images');
  // Image tensors are flattened per image.
  const t = tf.tensor4d([...a, ...b], [2, 1, 2, 2]);
  assert.equal(classDiversity(t, [0, 0]).mean, 1);
  t.dispose();
  assert.equal(meanPairwiseRms(asMatrix([a, b]), [0]), NaN);
  assert.throws(() => classDiversity([a, b], [0, 1]), /no class has two/);
});

test('a 256-d Frechet distance finishes in seconds', () => {
  const rng = new Rng(5);
  const n = 600;
  const d = 256;
  const A = { data: normals(rng, n * d), shape: [n, d] };
  const B = { data: normals(rng, n * d).map((v) => v + 0.1), shape: [n, d] };
  const t0 = performance.now();
  const f = frechetDistance(A, B);
  const ms = performance.now() - t0;
  assert.ok(Number.isFinite(f) && f > 0, `FID ${f}`);
  assert.ok(ms < 20_000, `took ${ms.toFixed(0)} ms`);
  console.log(`# FID of 2 x ${n} 256-d vectors: ${ms.toFixed(0)} ms`);
});
