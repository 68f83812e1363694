/**
 * A rejected training step leaves the whole model exactly as it was, for all four models (issue
 * #17, item 1): every weight and batch-norm statistic, each Adam's moments, powers and iteration
 * count, CVAE-GAN's class centres and the position of the training Rng. Checked bit for bit, and
 * by the strongest consequence: after the rejected step, clean steps give the same losses as a
 * twin model that never saw the bad batch.
 * - a NaN or an Infinity pixel: refused before the step runs (NonFiniteInputError naming the image);
 * - a non-finite loss in a later phase, after an earlier phase has already updated a network
 *   (CVAE-GAN's step 3 after C and D moved; CGAN's and FM-CGAN's G phase after D moved): the
 *   earlier update is rolled back;
 * - the same through trainStepAsync.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../lib/backend/index';
import { makeConfig } from '../lib/model/config';
import { createModel, GenerativeModel, ModelKind } from '../lib/model/factory';
import { NonFiniteInputError, NonFiniteLossError } from '../lib/model/losses';
import { NetworkModel, PhaseTerms } from '../lib/model/modelbase';
import { adamInternals } from '../lib/model/rollback';
import type { RngState } from '../lib/model/rng';

before(async () => {
  await initBackend();
});

const KINDS: ModelKind[] = ['cvae', 'cgan', 'fmcgan', 'cvaegan'];
const K = 3;
const M = 6;
const cfg = makeConfig('tiny', { numClasses: K });

function batch(seed: number): { x: tf.Tensor4D; labels: tf.Tensor1D } {
  return {
    x: tf.tidy(() => tf.tanh(tf.randomNormal([M, 32, 32, 3], 0, 1, 'float32', seed))) as tf.Tensor4D,
    labels: tf.tensor1d(Array.from({ length: M }, (_, i) => i % K), 'int32'),
  };
}

/** `x` with one pixel (image 2, row 5, column 7, channel 1) set to `value`. */
function poisoned(x: tf.Tensor4D, value: number): tf.Tensor4D {
  const v = x.dataSync().slice();
  v[((2 * 32 + 5) * 32 + 7) * 3 + 1] = value;
  return tf.tensor4d(v, x.shape);
}

interface Internals {
  nets: Record<string, tf.LayersModel>;
  opt: Record<string, tf.AdamOptimizer>;
  rng: { state(): RngState };
  currentStep: number;
  stateVariables(): { name: string; tensor: tf.Variable }[];
}

/** Everything a step can change, as plain values. */
function stateOf(model: GenerativeModel) {
  const m = model as unknown as Internals;
  const arrays: Record<string, Float32Array> = {};
  for (const n of Object.keys(m.nets).sort()) {
    m.nets[n].weights.forEach((w, i) => (arrays[`${n}/${i}/${w.name}`] = w.read().dataSync().slice() as Float32Array));
    const a = adamInternals(m.opt[n]);
    arrays[`${n}/adam/powers`] = Float32Array.from([a.accBeta1.dataSync()[0], a.accBeta2.dataSync()[0]]);
    a.accumulatedFirstMoment.forEach((s, i) => (arrays[`${n}/adam/m${i}`] = s.variable.dataSync().slice() as Float32Array));
    a.accumulatedSecondMoment.forEach((s, i) => (arrays[`${n}/adam/v${i}`] = s.variable.dataSync().slice() as Float32Array));
    arrays[`${n}/adam/iterations`] = Float32Array.from([m.opt[n].iterations]);
  }
  for (const v of m.stateVariables()) arrays[`state/${v.name}`] = v.tensor.dataSync().slice() as Float32Array;
  return { arrays, rng: m.rng.state(), step: m.currentStep };
}

function assertSameState(a: ReturnType<typeof stateOf>, b: ReturnType<typeof stateOf>, what: string): void {
  assert.deepEqual(Object.keys(b.arrays), Object.keys(a.arrays), `${what}: the same tensors (no Adam slot added or lost)`);
  const changed = Object.keys(a.arrays).filter((k) => Buffer.compare(Buffer.from(a.arrays[k].buffer), Buffer.from(b.arrays[k].buffer)) !== 0);
  assert.deepEqual(changed, [], `${what}: tensors changed by the rejected step`);
  assert.deepEqual(b.rng, a.rng, `${what}: Rng position`);
  assert.equal(b.step, a.step, `${what}: step counter`);
}

/** Trains `steps` clean steps on both models and asserts bit-identical losses. */
function assertTwins(model: GenerativeModel, twin: GenerativeModel, seeds: number[], what: string): void {
  for (const s of seeds) {
    const { x, labels } = batch(s);
    const r = model.trainStep(x, labels);
    const t = twin.trainStep(x, labels);
    assert.ok(Object.values(r.losses).every(Number.isFinite), `${what}: clean step ${r.step} trains (${JSON.stringify(r.losses)})`);
    assert.deepEqual(r, t, `${what}: clean step ${r.step} equals the twin's that never saw the bad batch`);
    tf.dispose([x, labels]);
  }
}

for (const kind of KINDS) {
  test(`${kind}: a batch with a NaN or an Infinity pixel is refused and changes nothing; clean steps then equal a twin's`, () => {
    for (const value of [NaN, Infinity, -Infinity]) {
      const tensors = tf.memory().numTensors;
      const model = createModel(kind, cfg);
      const twin = createModel(kind, cfg);
      assertTwins(model, twin, [1, 2], kind); // Adam's moments and the class centres exist from here on
      const before = stateOf(model);
      const { x, labels } = batch(3);
      const bad = poisoned(x, value);
      assert.throws(
        () => model.trainStep(bad, labels),
        (e: unknown) =>
          e instanceof NonFiniteInputError && e.step === 3 && e.image === 2 && Object.is(e.value, value) &&
          new RegExp(`image 2 of the batch for step 3 holds ${value} \\(row 5, column 7, channel 1\\).*model is unchanged`).test(e.message),
        `${kind}, ${value}`,
      );
      assertSameState(before, stateOf(model), `${kind}, ${value}`);
      assertTwins(model, twin, [3, 4], `${kind}, ${value}`);
      tf.dispose([x, labels, bad]);
      model.dispose();
      twin.dispose();
      assert.equal(tf.memory().numTensors, tensors, `${kind}, ${value}: no tensor left behind`);
    }
  });
}

test('cvaegan: a non-finite loss in step 3, after C and D were updated, rolls the whole step back', async () => {
  for (const driver of ['sync', 'async'] as const) {
    const model = createModel('cvaegan', cfg) as NetworkModel;
    const centres = (model as unknown as { centres: tf.Variable }).centres;
    const { x, labels } = batch(1);
    model.trainStep(x, labels);
    // A NaN class centre reaches only L_GC, in step 3: step 2 (C, D) is finite and is applied first.
    const good = centres.dataSync().slice();
    const nan = good.slice();
    nan[0] = NaN;
    centres.assign(tf.tensor(nan, centres.shape));
    const before = stateOf(model);
    const b = batch(2);
    const run = () => (driver === 'sync' ? model.trainStep(b.x, b.labels) : model.trainStepAsync(b.x, b.labels));
    await assert.rejects(async () => run(), (e: unknown) => e instanceof NonFiniteLossError && e.term === 'L_GC' && e.step === 2 && /model is as it was after step 1/.test(e.message), driver);
    assertSameState(before, stateOf(model), `cvaegan ${driver}`);
    tf.dispose([x, labels, b.x, b.labels]);
    model.dispose();
  }
});

for (const kind of ['cgan', 'fmcgan'] as const) {
  test(`${kind}: a non-finite G loss, after D was updated, rolls the whole step back`, () => {
    const model = createModel(kind, cfg);
    const twin = createModel(kind, cfg);
    assertTwins(model, twin, [1], kind);
    const m = model as unknown as { generatorTerms(x: tf.Tensor4D, c: tf.Tensor2D, xp: tf.Tensor4D): PhaseTerms };
    const original = m.generatorTerms;
    m.generatorTerms = function (this: unknown, x, c, xp) {
      const t = original.call(this, x, c, xp);
      const bad = tf.mul(t.objective, NaN) as tf.Scalar;
      return { objective: bad, losses: Object.fromEntries(Object.keys(t.losses).map((k) => [k, bad])) };
    };
    const before = stateOf(model);
    const { x, labels } = batch(2);
    assert.throws(() => model.trainStep(x, labels), (e: unknown) => e instanceof NonFiniteLossError && e.step === 2 && e.term !== 'L_D');
    assertSameState(before, stateOf(model), kind);
    m.generatorTerms = original;
    assertTwins(model, twin, [2, 3], kind);
    tf.dispose([x, labels]);
    model.dispose();
    twin.dispose();
  });
}

test('cvae: a non-finite loss in its one phase changes nothing, batch-norm statistics included', () => {
  const model = createModel('cvae', cfg) as unknown as Internals & GenerativeModel;
  const { x, labels } = batch(1);
  model.trainStep(x, labels);
  // One NaN kernel weight of E: its loss is NaN from a finite batch.
  const w = model.nets.E.trainableWeights[0];
  const v = w.read().dataSync().slice();
  v[0] = NaN;
  w.write(tf.tensor(v, w.read().shape));
  const before = stateOf(model);
  assert.throws(() => model.trainStep(x, labels), (e: unknown) => e instanceof NonFiniteLossError && e.step === 2);
  assertSameState(before, stateOf(model), 'cvae');
  tf.dispose([x, labels]);
  model.dispose();
});
