/**
 * bench/lean-backprop.ts (a memory lever the benchmark measures) computes exactly tfjs's gradients,
 * leaks nothing, falls back for nested gradients, and lowers the peak memory of a backward pass.
 */
import * as tf from '@tensorflow/tfjs';
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { installLeanBackprop, uninstallLeanBackprop } from '../lib/backend/lean-backprop';
import { makeConfig } from '../lib/model/config';
import { createModel } from '../lib/model/factory';

before(async () => {
  await tf.setBackend('cpu');
});

function trainThreeSteps(kind: 'cvaegan' | 'cgan'): { losses: Record<string, number>[]; tensors: number[] } {
  const cfg = makeConfig('tiny', { numClasses: 4 });
  const model = createModel(kind, cfg);
  const x = tf.randomUniform([4, 32, 32, 3], -1, 1, 'float32', 3) as tf.Tensor4D;
  const labels = tf.tensor1d([0, 1, 2, 3], 'int32');
  const losses: Record<string, number>[] = [];
  const tensors: number[] = [];
  for (let i = 0; i < 3; i++) {
    losses.push(model.trainStep(x, labels).losses);
    tensors.push(tf.memory().numTensors);
  }
  const w = model.sample([0, 1], { seed: 5 });
  losses.push({ sample: tf.tidy(() => w.sum().dataSync()[0]) });
  tf.dispose([w, x, labels]);
  model.dispose();
  return { losses, tensors };
}

test('same training trajectory as tfjs backprop (CVAE-GAN and CGAN, 3 steps), tensors flat', () => {
  for (const kind of ['cvaegan', 'cgan'] as const) {
    const n0 = tf.memory().numTensors;
    const ref = trainThreeSteps(kind);
    const leftByRef = tf.memory().numTensors - n0;
    installLeanBackprop();
    try {
      const n1 = tf.memory().numTensors;
      const lean = trainThreeSteps(kind);
      assert.deepEqual(lean.losses, ref.losses, kind);
      assert.equal(new Set(lean.tensors).size, 1, `${kind}: tensors per step ${lean.tensors}`);
      assert.equal(tf.memory().numTensors - n1, leftByRef, `${kind}: the lever changed what a model leaves behind`);
    } finally {
      uninstallLeanBackprop();
    }
  }
});

test('gradients of a shared-input graph, a gradient that is dy itself, and nested tf.grad', () => {
  installLeanBackprop();
  try {
    const a = tf.variable(tf.tensor1d([1, 2, 3]));
    const before = tf.memory().numTensors;
    // a feeds three ops; identity-like grads (add, reshape) pass dy through.
    const { value, grads } = tf.variableGrads(() => tf.sum(tf.add(tf.mul(a, a), tf.reshape(tf.add(a, tf.exp(a)), [3]))) as tf.Scalar, [a]);
    const g = grads[a.name].arraySync() as number[];
    const expect = [1, 2, 3].map((v) => 2 * v + 1 + Math.exp(v));
    g.forEach((v, i) => assert.ok(Math.abs(v - expect[i]) < 1e-4, `${v} vs ${expect[i]}`));
    tf.dispose([value, grads[a.name]]);
    assert.equal(tf.memory().numTensors, before);
    // Second derivative of x^3 at 2 = 12: the inner backward runs with gradientDepth > 0.
    const d2 = tf.grad((x: tf.Tensor) => tf.grad((y: tf.Tensor) => tf.pow(y, 3).sum())(x).sum())(tf.scalar(2));
    assert.ok(Math.abs(d2.dataSync()[0] - 12) < 1e-4);
    a.dispose();
  } finally {
    uninstallLeanBackprop();
  }
});

test('lower peak memory in a deep backward pass', async () => {
  const w = Array.from({ length: 12 }, (_, i) => tf.variable(tf.randomNormal([64, 64], 0, 0.1, 'float32', i)));
  const x = tf.randomNormal([256, 64], 0, 1, 'float32', 99);
  const run = async () => {
    const info = await tf.profile(() => {
      const { value, grads } = tf.variableGrads(() => {
        let h: tf.Tensor = x;
        for (const v of w) h = tf.relu(tf.matMul(h, v));
        return tf.sum(h) as tf.Scalar;
      }, w);
      tf.dispose([value, ...Object.values(grads)]);
    });
    return info.peakBytes;
  };
  const ref = await run();
  installLeanBackprop();
  try {
    const lean = await run();
    assert.ok(lean < ref, `peak ${lean} bytes with the lever vs ${ref} without`);
  } finally {
    uninstallLeanBackprop();
    tf.dispose([...w, x]);
  }
});
