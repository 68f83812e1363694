/**
 * lib/model/tape.ts: CVAE-GAN's E/G forward pass (and CGAN's and FM-CGAN's G pass) runs once per
 * step, recorded on the tape for step (3)'s gradient, instead of twice. Whole training steps give
 * the same losses and weights bit for bit as the two-pass step, tensors stay flat, a step rejected
 * after the recorded pass leaves the batch-norm statistics as they were (lib/model/rollback.ts),
 * and a recorded pass that is never replayed frees everything. On the cpu backend (every backend runs the same code).
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { installLeanBackprop, uninstallLeanBackprop } from '../lib/backend/lean-backprop';
import { makeConfig } from '../lib/model/config';
import { createModel, type ModelKind } from '../lib/model/factory';
import { NonFiniteLossError } from '../lib/model/losses';
import type { PhaseTerms } from '../lib/model/modelbase';
import { RecordedForward, setForwardOnce } from '../lib/model/tape';

before(async () => {
  await tf.setBackend('cpu');
});

const cfg = makeConfig('tiny', { numClasses: 3 });
const batch = () => ({
  x: tf.tidy(() => tf.tanh(tf.randomNormal([6, 32, 32, 3], 0, 1, 'float32', 4))) as tf.Tensor4D,
  labels: tf.tensor1d([0, 1, 2, 0, 1, 2], 'int32'),
});
const allWeights = (m: ReturnType<typeof createModel>) =>
  Object.values((m as unknown as { nets: Record<string, tf.LayersModel> }).nets).flatMap((n) => n.getWeights().map((w) => Array.from(w.dataSync())));

function train(kind: ModelKind, once: boolean) {
  const old = setForwardOnce(once);
  try {
    const { x, labels } = batch();
    const model = createModel(kind, cfg);
    const results = [];
    const tensors: number[] = [];
    for (let i = 0; i < 3; i++) {
      results.push(model.trainStep(x, labels));
      tensors.push(tf.memory().numTensors);
    }
    const weights = allWeights(model); // trainable weights and batch-norm statistics
    tf.dispose([x, labels]);
    model.dispose();
    return { results, tensors, weights };
  } finally {
    setForwardOnce(old);
  }
}

for (const lean of [true, false]) {
  test(`one forward pass gives the two-pass step's losses and weights bit for bit (CVAE-GAN, CGAN, FM-CGAN; ${lean ? 'lean' : "tfjs's own"} backprop)`, () => {
    if (lean) installLeanBackprop();
    try {
      for (const kind of ['cvaegan', 'cgan', 'fmcgan'] as ModelKind[]) {
        const n0 = tf.memory().numTensors;
        const twice = train(kind, false);
        const once = train(kind, true);
        assert.deepEqual(once.results, twice.results, kind);
        assert.deepEqual(once.weights, twice.weights, `${kind}: weights and batch-norm statistics`);
        assert.equal(new Set(once.tensors).size, 1, `${kind}: tensors after each step ${once.tensors}`);
        assert.equal(tf.memory().numTensors, n0, `${kind}: nothing left behind`);
      }
    } finally {
      if (lean) uninstallLeanBackprop();
    }
  });
}

test('a step rejected after the recorded pass (a NaN loss in the phase that replays it) leaves weights and batch-norm statistics as they were', () => {
  for (const kind of ['cvaegan', 'cgan'] as ModelKind[]) {
    const { x, labels } = batch();
    const model = createModel(kind, cfg);
    model.trainStep(x, labels);
    const w0 = allWeights(model);
    const n0 = tf.memory().numTensors;
    // Poison only the last phase, so that (1) records E's/G's pass (moving their statistics) and
    // (2) updates D (and C) before the step is rejected. CVAE-GAN: a NaN class centre reaches only
    // L_GC; CGAN: a NaN G objective.
    const m = model as unknown as { centres: tf.Variable; generatorTerms(x: tf.Tensor4D, c: tf.Tensor2D, xp: tf.Tensor4D): PhaseTerms };
    const restore: (() => void)[] = [];
    if (kind === 'cvaegan') {
      const good = tf.clone(m.centres);
      const nan = m.centres.dataSync().slice();
      nan[0] = NaN;
      tf.tidy(() => m.centres.assign(tf.tensor(nan, m.centres.shape)));
      restore.push(() => {
        m.centres.assign(good);
        good.dispose();
      });
    } else {
      const original = m.generatorTerms;
      m.generatorTerms = function (this: unknown, xx, c, xp) {
        const t = original.call(this, xx, c, xp);
        const bad = tf.mul(t.objective, NaN) as tf.Scalar;
        return { objective: bad, losses: Object.fromEntries(Object.keys(t.losses).map((k) => [k, bad])) };
      };
      restore.push(() => (m.generatorTerms = original));
    }
    const wPoisoned = allWeights(model);
    const nPoisoned = tf.memory().numTensors;
    assert.throws(() => model.trainStep(x, labels), (e: unknown) => e instanceof NonFiniteLossError && e.step === 2 && e.term !== 'L_D' && e.term !== 'L_C', kind);
    assert.deepEqual(allWeights(model), wPoisoned, `${kind}: nothing changed, statistics included`);
    assert.equal(tf.memory().numTensors, nPoisoned, `${kind}: the failed step left nothing behind`);
    restore.forEach((f) => f());
    assert.deepEqual(allWeights(model), w0, kind);
    assert.equal(tf.memory().numTensors, n0, kind);
    tf.dispose([x, labels]);
    model.dispose();
  }
});

test('RecordedForward: replayed once inside variableGrads; disposed unreplayed, it frees its saved tensors', () => {
  const w = tf.variable(tf.tensor1d([1, 2, 3]));
  const n0 = tf.memory().numTensors;
  const unused = RecordedForward.record(() => tf.sum(tf.square(tf.mul(w, 2))));
  assert.ok(tf.memory().numTensors > n0 + 1, 'the tape saved tensors for a backward pass');
  unused.dispose();
  assert.equal(tf.memory().numTensors, n0);

  const rec = RecordedForward.record(() => tf.square(tf.mul(w, 2)));
  assert.throws(() => rec.replay(), /outside tf.variableGrads/);
  const { value, grads } = tf.variableGrads(() => tf.sum(rec.replay()) as tf.Scalar, [w]);
  // d/dw sum((2w)^2) = 8w
  assert.deepEqual(Array.from(grads[w.name].dataSync()), [8, 16, 24]);
  assert.throws(() => tf.variableGrads(() => tf.sum(rec.replay()) as tf.Scalar, [w]), /replayed once/);
  tf.dispose([value, grads[w.name]]);
  rec.dispose();
  assert.equal(tf.memory().numTensors, n0);
  w.dispose();
});
