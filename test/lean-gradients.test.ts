/**
 * lib/backend/lean-gradients.ts: FusedBatchNorm's gradient computes only the terms the tape asks
 * for, with tfjs-core's numbers bit for bit: all five input gradients together, each alone and a
 * few pairs, rank-1 statistics (layers) and statistics of x's shape, and no tensor left behind. On the cpu backend (the formulas are backend-independent tfjs ops).
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { installLeanGradients, uninstallLeanGradients } from '../lib/backend/lean-gradients';

before(async () => {
  await tf.setBackend('cpu');
});

const EPS = 1e-3;
const bits = (t: tf.Tensor) => Buffer.from((t.dataSync() as Float32Array).slice().buffer);

/** Gradients of sum(batchNorm(...) * w) with respect to the inputs listed in `wrt`, as raw bytes. */
function grads(lean: boolean, statsShape: number[], withAffine: boolean, wrt: number[]): Buffer[] {
  if (lean) installLeanGradients();
  try {
    return tf.tidy(() => {
      const x = tf.randomNormal([4, 3, 3, 5], 0, 1, 'float32', 1);
      const mean = tf.randomNormal(statsShape, 0, 1, 'float32', 2);
      const variance = tf.add(tf.randomUniform(statsShape, 0, 1, 'float32', 3), 0.5);
      const offset = tf.randomNormal(statsShape, 0, 1, 'float32', 4);
      const scale = tf.randomNormal(statsShape, 1, 0.3, 'float32', 5);
      const w = tf.randomNormal([4, 3, 3, 5], 0, 1, 'float32', 6);
      const inputs = withAffine ? [x, mean, variance, offset, scale] : [x, mean, variance];
      const f = (...a: tf.Tensor[]) => {
        const all = inputs.map((t, i) => (wrt.includes(i) ? a[wrt.indexOf(i)] : t));
        const y = withAffine
          ? tf.batchNorm(all[0] as tf.Tensor4D, all[1], all[2], all[3], all[4], EPS)
          : tf.batchNorm(all[0] as tf.Tensor4D, all[1], all[2], undefined, undefined, EPS);
        return tf.sum(tf.mul(y, w));
      };
      return tf.grads(f)(wrt.map((i) => inputs[i])).map(bits);
    });
  } finally {
    if (lean) uninstallLeanGradients();
  }
}

test("FusedBatchNorm's lean gradient equals tfjs's bit for bit, for every subset of inputs asked for", () => {
  const n0 = tf.memory().numTensors;
  for (const statsShape of [[5], [4, 3, 3, 5]]) {
    // Without scale and offset tfjs-core 4.22 itself cannot differentiate tf.batchNorm (its kernel
    // saves every input, undefined ones included), so only with them.
    for (const withAffine of [true]) {
      const count = withAffine ? 5 : 3;
      const subsets = [Array.from({ length: count }, (_, i) => i), ...Array.from({ length: count }, (_, i) => [i]), [0, 4], [1, 2]].filter((s) => s.every((i) => i < count));
      for (const wrt of subsets) {
        const what = `stats [${statsShape}], ${withAffine ? 'scale and offset' : 'no scale or offset'}, d/d inputs ${wrt}`;
        const a = grads(false, statsShape, withAffine, wrt);
        const b = grads(true, statsShape, withAffine, wrt);
        assert.equal(b.length, a.length, what);
        a.forEach((g, i) => assert.ok(g.equals(b[i]), `${what}: gradient ${wrt[i]} differs`));
      }
    }
  }
  assert.equal(tf.memory().numTensors, n0, 'no tensor left behind');
});
