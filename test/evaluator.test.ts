/** The evaluation classifier: learns, resumes exactly, saves/loads, and evaluate() measures what it should. */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../lib/backend/index';
import { makeConfig } from '../lib/model/config';
import { buildClassifierNet, Classifier, classifierConfig, subsetBytes, toBytes } from '../lib/eval/evaluator';
import { Rng } from '../lib/model/rng';
import { heldOutSplit, StoppedError, trainClassifier } from '../lib/eval/evaluator-training';
import { evaluate, referenceStats } from '../lib/eval/measure';
import type { GenerativeModel } from '../lib/model/factory';
import { syntheticTensor } from './helpers/synthetic-faces';

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'evaluator-'));
  dirs.push(d);
  return d;
};
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const K = 3;
const OPTS = { preset: 'tiny' as const, maxEpochs: 6, patience: 6, batchSize: 16, learningRate: 5e-3 };

/** A stand-in generator: sample(labels) returns images produced by `fn` for those labels. */
function fakeModel(fn: (labels: number[]) => tf.Tensor4D): GenerativeModel {
  const no = () => {
    throw new Error('not used');
  };
  return {
    kind: 'cvae', config: makeConfig('tiny', { numClasses: K }), lossNames: [], metricNames: [], step: 0,
    trainStep: no, summary: no, save: no, restore: no, dispose: () => {},
    sample: (labels: ArrayLike<number>) => fn(Array.from(labels)),
  };
}

test('classifier config: presets, overrides, validation', () => {
  const c = classifierConfig('cpu', 64, 20);
  assert.deepEqual(c.arch, { stem: [32], blocks: [64, 128, 256], features: 128, convsPerBlock: 2, dropout: 0.5 });
  assert.throws(() => classifierConfig('cpu', 32, 5, { arch: { ...c.arch, dropout: 1 } }), /dropout/);
  assert.throws(() => classifierConfig('cpu', 32, 5, { labelSmoothing: -0.1 }), /labelSmoothing/);
  assert.equal(classifierConfig('paper', 128, 5).arch.stem.length, 2);
  assert.equal(classifierConfig('cpu', 32, 5, { maxEpochs: 3 }).maxEpochs, 3);
  assert.throws(() => classifierConfig('cpu', 48, 5), /resolution/);
  assert.throws(() => classifierConfig('cpu', 32, 1), /numClasses/);
  assert.throws(() => classifierConfig('cpu', 32, 5, { heldOutFraction: 1 }), /heldOutFraction/);
  assert.throws(() => classifierConfig('cpu', 32, 5, { ema: 1 }), /ema/);
});

test('held-out split: per class, disjoint, deterministic', () => {
  const labels = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 2];
  const a = heldOutSplit(labels, 0.2, 1);
  const b = heldOutSplit(labels, 0.2, 1);
  assert.deepEqual(a, b);
  const held = Array.from(a.heldOut, (i) => labels[i]);
  assert.deepEqual([held.filter((l) => l === 0).length, held.filter((l) => l === 1).length, held.filter((l) => l === 2).length], [2, 1, 0]);
  assert.equal(new Set([...a.train, ...a.heldOut]).size, labels.length);
  assert.notDeepEqual(Array.from(heldOutSplit(labels, 0.2, 2).heldOut), Array.from(a.heldOut));
});

test('trains to high accuracy on separable images; save/load gives the same predictions; no tensors leak', async () => {
  await initBackend();
  const train = syntheticTensor(K, 24);
  const test_ = syntheticTensor(K, 10, 32, 100);
  const before = tf.memory().numTensors;
  const dir = join(tmp(), 'ev');
  const ev = await trainClassifier(train.x, train.labels, K, { ...OPTS, checkpointDir: dir });
  assert.equal(ev.history.length, OPTS.maxEpochs);
  const acc = ev.accuracy(test_.x, test_.labels);
  assert.ok(acc >= 0.9, `test accuracy ${acc}`);
  const again = await Classifier.load(dir);
  const p1 = ev.predictAll(test_.x).probs;
  const p2 = again.predictAll(toBytes(test_.x)).probs;
  // Bytes quantise the input, so allow a little.
  assert.ok(p1.every((v, i) => Math.abs(v - p2[i]) < 0.05));
  assert.deepEqual(Array.from(again.predictAll(test_.x).probs), Array.from(p1));
  // A finished classifier in checkpointDir is loaded, not retrained.
  const third = await trainClassifier(train.x, train.labels, K, { ...OPTS, checkpointDir: dir });
  assert.deepEqual(Array.from(third.predictAll(test_.x).probs), Array.from(p1));
  // The same config on other images (another split, a copied folder) is refused, not returned.
  const other = syntheticTensor(K, 24, 32, 7);
  await assert.rejects(trainClassifier(other.x, other.labels, K, { ...OPTS, checkpointDir: dir }), /classifier at .*ev was trained on other images \(72 images; /);
  const shuffled = Array.from(train.labels).reverse();
  await assert.rejects(trainClassifier(train.x, shuffled, K, { ...OPTS, checkpointDir: dir }), /trained on other images/);
  other.x.dispose();
  [ev, again, third].forEach((c) => c.dispose());
  assert.equal(tf.memory().numTensors, before, 'tensors left after training and disposing');
  tf.dispose([train.x, test_.x]);
});

test('a run stopped mid-training resumes from its epoch checkpoint to the same weights as an uninterrupted run', async () => {
  await initBackend();
  const train = syntheticTensor(K, 16);
  const opts = { ...OPTS, maxEpochs: 4 };
  const straight = await trainClassifier(train.x, train.labels, K, { ...opts, checkpointDir: join(tmp(), 'a') });
  const dir = join(tmp(), 'b');
  let batches = 0;
  const perEpoch = Math.floor((train.labels.length - 3 * Math.round(0.2 * 16)) / opts.batchSize);
  await assert.rejects(
    trainClassifier(train.x, train.labels, K, { ...opts, checkpointDir: dir, shouldStop: () => ++batches > 2 * perEpoch + 1 }),
    (e: unknown) => e instanceof StoppedError && /stopped in epoch 3/.test(e.message) && /2 finished epoch/.test(e.message),
  );
  // An unfinished checkpoint does not resume on other images either.
  const other = syntheticTensor(K, 16, 32, 7);
  await assert.rejects(trainClassifier(other.x, other.labels, K, { ...opts, checkpointDir: dir }), /trained on other images/);
  other.x.dispose();
  const lines: string[] = [];
  const resumed = await trainClassifier(train.x, train.labels, K, { ...opts, checkpointDir: dir, log: (l) => lines.push(l) });
  assert.ok(lines.some((l) => /resumed .* after epoch 2/.test(l)), lines.join('\n'));
  assert.deepEqual(resumed.history.map((h) => h.loss), straight.history.map((h) => h.loss));
  const w1 = straight.net.getWeights().map((t) => Array.from(t.dataSync()));
  const w2 = resumed.net.getWeights().map((t) => Array.from(t.dataSync()));
  assert.deepEqual(w2, w1);
  straight.dispose();
  resumed.dispose();
  train.x.dispose();
});

test('the regularisers (seeded dropout, cosine schedule, weight decay, label smoothing, random crops) keep a resumed run equal to an uninterrupted one; flip averaging predicts the mean over the mirror image', async () => {
  await initBackend();
  const train = syntheticTensor(K, 16);
  const base = classifierConfig('tiny', 32, K);
  const opts = {
    ...OPTS, maxEpochs: 4, arch: { ...base.arch, convsPerBlock: 2, dropout: 0.3 }, schedule: 'cosine' as const, weightDecay: 1e-3,
    labelSmoothing: 0.1, flipAverage: true, augment: { flip: true, shift: 2, scale: 0.75 },
  };
  const straight = await trainClassifier(train.x, train.labels, K, { ...opts, checkpointDir: join(tmp(), 'reg-a') });
  const dir = join(tmp(), 'reg-b');
  let batches = 0;
  await assert.rejects(trainClassifier(train.x, train.labels, K, { ...opts, checkpointDir: dir, shouldStop: () => ++batches > 3 }), StoppedError);
  const resumed = await trainClassifier(train.x, train.labels, K, { ...opts, checkpointDir: dir });
  assert.deepEqual(resumed.history.map((h) => h.loss), straight.history.map((h) => h.loss));
  assert.deepEqual(resumed.net.getWeights().map((t) => Array.from(t.dataSync())), straight.net.getWeights().map((t) => Array.from(t.dataSync())));
  // Dropout masks change from batch to batch: without dropout the same run ends elsewhere.
  const noDrop = await trainClassifier(train.x, train.labels, K, { ...opts, arch: { ...opts.arch, dropout: 0 } });
  assert.notDeepEqual(noDrop.history.map((h) => h.loss), straight.history.map((h) => h.loss));
  const x = train.x.slice(0, 6) as tf.Tensor4D;
  const both = straight.predict(x);
  const plain = new Classifier({ ...straight.config, flipAverage: false }, straight.net);
  const a = plain.predict(x);
  const b = plain.predict(tf.reverse(x, 2) as tf.Tensor4D);
  const mean = tf.mul(0.5, tf.add(a.probs, b.probs));
  assert.ok(tf.max(tf.abs(tf.sub(mean, both.probs))).dataSync()[0] < 1e-6);
  tf.dispose([x, both.probs, both.features, a.probs, a.features, b.probs, b.features, mean]);
  [straight, resumed, noDrop].forEach((c) => c.dispose());
  train.x.dispose();
});

test('Polyak averaging (ema): the kept net is the average of the per-batch weights, computed by hand; a resumed averaged run equals an uninterrupted one; no tensors leak', async () => {
  await initBackend();
  const train = syntheticTensor(K, 16);
  // One full batch per epoch and no held-out images (the last epoch is kept), so the weights after
  // batch t are those of a plain run of t epochs: the first epochs of a longer run are the same.
  const opts = { ...OPTS, batchSize: 48, heldOutFraction: 0 };
  const before = tf.memory().numTensors;
  const weightsOf = (c: Classifier) => c.net.getWeights().map((t) => Float64Array.from(t.dataSync()));
  const init = buildClassifierNet(classifierConfig('tiny', 32, K, opts), new Rng(classifierConfig('tiny', 32, K).seed));
  const w0 = init.getWeights().map((t) => Float64Array.from(t.dataSync()));
  init.dispose();
  const plain = [];
  for (const maxEpochs of [1, 2, 3]) {
    const c = await trainClassifier(train.x, train.labels, K, { ...opts, maxEpochs });
    plain.push(weightsOf(c));
    c.dispose();
  }
  const d = 0.6;
  const averaged = await trainClassifier(train.x, train.labels, K, { ...opts, maxEpochs: 3, ema: d });
  const got = weightsOf(averaged);
  let maxErr = 0;
  let moved = 0;
  for (let i = 0; i < w0.length; i++) {
    for (let j = 0; j < w0[i].length; j++) {
      // a_3 = d^3 w0 + d^2 (1-d) w1 + d (1-d) w2 + (1-d) w3: batch-norm statistics included.
      const want = d ** 3 * w0[i][j] + d ** 2 * (1 - d) * plain[0][i][j] + d * (1 - d) * plain[1][i][j] + (1 - d) * plain[2][i][j];
      maxErr = Math.max(maxErr, Math.abs(got[i][j] - want));
      moved = Math.max(moved, Math.abs(want - plain[2][i][j]));
    }
  }
  assert.ok(maxErr < 1e-5, `averaged weights off the hand computation by ${maxErr}`);
  assert.ok(moved > 1e-3, `the average should differ from the last weights (max difference ${moved})`);
  averaged.dispose();
  assert.equal(tf.memory().numTensors, before, 'tensors left after averaged training');

  // Stopped after 5 batches of 16 and resumed: the same average, history and weights.
  const small = { ...OPTS, maxEpochs: 4, ema: 0.8 };
  // onEpoch's classifier is the averaged net the held-out images measured.
  const held = heldOutSplit(train.labels, classifierConfig('tiny', 32, K).heldOutFraction, classifierConfig('tiny', 32, K).seed).heldOut;
  const heldImages = subsetBytes(toBytes(train.x), held);
  const heldLabels = Array.from(held, (i) => train.labels[i]);
  const seen: [number, number][] = [];
  const straight = await trainClassifier(train.x, train.labels, K, {
    ...small, checkpointDir: join(tmp(), 'ema-a'), onEpoch: (r, current) => seen.push([r.heldOutAccuracy, current.accuracy(heldImages, heldLabels)]),
  });
  assert.equal(seen.length, small.maxEpochs);
  for (const [recorded, measured] of seen) assert.equal(measured, recorded);
  const dir = join(tmp(), 'ema-b');
  let batches = 0;
  await assert.rejects(trainClassifier(train.x, train.labels, K, { ...small, checkpointDir: dir, shouldStop: () => ++batches > 5 }), StoppedError);
  const resumed = await trainClassifier(train.x, train.labels, K, { ...small, checkpointDir: dir });
  assert.deepEqual(resumed.history, straight.history.map((h, i) => ({ ...h, ms: resumed.history[i].ms })));
  assert.deepEqual(weightsOf(resumed), weightsOf(straight));
  const noAverage = await trainClassifier(train.x, train.labels, K, { ...small, ema: 0 });
  assert.notDeepEqual(weightsOf(noAverage), weightsOf(straight));
  [straight, resumed, noAverage].forEach((c) => c.dispose());
  train.x.dispose();
});

test('evaluate: a generator returning real images scores like real data; a collapsed one has diversity 0', async () => {
  await initBackend();
  const train = syntheticTensor(K, 24);
  const ev = await trainClassifier(train.x, train.labels, K, OPTS);
  const real = syntheticTensor(K, 12, 32, 200);
  const ref = referenceStats(ev, toBytes(real.x), real.labels);
  const pool = syntheticTensor(K, 12, 32, 300);
  const before = tf.memory().numTensors;
  // Perfect: the pool's images of the asked class.
  const perfect = fakeModel((labels) => {
    const idx = labels.map((c, i) => c * 12 + (i % 12));
    return tf.gather(pool.x, idx) as tf.Tensor4D;
  });
  const e = evaluate(perfect, ev, { perClass: 12, seed: 1, reference: ref });
  assert.equal(e.n, 3 * 12);
  assert.equal(e.accuracy, ev.accuracy(pool.x, pool.labels));
  assert.ok(e.accuracy >= 0.9, `accuracy ${e.accuracy}`);
  // Same kind of images as the reference set, so about the same realism (the bound is K).
  assert.ok(Math.abs(e.realism - ref.realism) < 0.1 * (ref.realism - 1) + 0.02 && e.realism <= K, `realism ${e.realism} vs real ${ref.realism}`);
  assert.ok(Math.abs(e.diversity - ref.diversity) < 0.1 * ref.diversity, `diversity ${e.diversity} vs real ${ref.diversity}`);
  assert.equal(e.realDiversity, ref.diversity);
  // Collapsed: one image for every label; wrong class for two of three classes.
  const one = tf.slice(pool.x, 0, 1);
  const collapsed = fakeModel((labels) => tf.tile(one, [labels.length, 1, 1, 1]) as tf.Tensor4D);
  const c = evaluate(collapsed, ev, { perClass: 12, seed: 1, reference: ref });
  assert.equal(c.diversity, 0);
  assert.ok(Math.abs(c.accuracy - 1 / 3) < 1e-12, `accuracy ${c.accuracy}`);
  // Identical rows: p(y|x) = p(y), so every KL is 0 and the score is exactly 1.
  assert.ok(Math.abs(c.realism - 1) < 1e-9, `realism ${c.realism}`);
  assert.ok(c.fid > e.fid, `FID collapsed ${c.fid} vs perfect ${e.fid}`);
  one.dispose();
  assert.equal(tf.memory().numTensors, before, 'evaluate leaks tensors');
  assert.throws(() => evaluate(perfect, ev, { perClass: 1, seed: 1, reference: ref }), /perClass/);
  ev.dispose();
  tf.dispose([train.x, real.x, pool.x]);
});
