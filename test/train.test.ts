/**
 * lib/train.ts with the datasets' real Batcher (on a small synthetic dataset): resume gives the
 * same run as no interruption, periodic checkpoints, early stop, and a NaN batch that stops
 * training while the last good checkpoint stays loadable.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../lib/backend/index';
import { readCheckpointMeta } from '../lib/model/checkpoint';
import { makeConfig } from '../lib/model/config';
import { CVAEGAN } from '../lib/model/cvaegan';
import { NonFiniteInputError, NonFiniteLossError } from '../lib/model/losses';
import { loadModel } from '../lib/model/factory';
import { NET_NAMES } from '../lib/model/networks';
import { BatchSource, train, TrainRecord } from '../lib/train/loop';
import { Batcher, ImageDataset } from '../datasets';

before(async () => {
  await initBackend();
});

const K = 3;
const cfg = makeConfig('tiny', { numClasses: K });
const made: string[] = [];
const tmp = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'cvaegan-train-'));
  made.push(d);
  return d;
};
after(() => {
  for (const d of made) fs.rmSync(d, { recursive: true, force: true });
});

/** 24 synthetic 32x32 images: smooth colour gradients, a different hue per class. */
function dataset(): ImageDataset {
  const n = 24, r = 32;
  const images = new Uint8Array(n * r * r * 3);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    labels[i] = i % K;
    for (let y = 0; y < r; y++) {
      for (let x = 0; x < r; x++) {
        const o = ((i * r + y) * r + x) * 3;
        images[o + labels[i]] = 255 - 4 * y;
        images[o + ((labels[i] + 1) % 3)] = (7 * x + 13 * i) % 256;
      }
    }
  }
  return {
    name: 'flowers102', split: 'train', resolution: 32, images, labels, classNames: ['a', 'b', 'c'], files: [], numClasses: K,
    root: '', crop: 'center', classIds: [0, 1, 2], skipped: [], fromCache: false,
  };
}

const maxDiff = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);

test('train to 6 steps == train to 3 with a checkpoint, then a fresh model and batcher resume to 6', async () => {
  const ds = dataset();
  const straight = new CVAEGAN(cfg);
  const a = await train(straight, new Batcher(ds, 6, 1), { steps: 6 });
  assert.equal(a.history.length, 6);
  assert.equal(a.status, 'done');
  assert.equal(straight.step, 6);

  const dir = path.join(tmp(), 'run');
  const first = new CVAEGAN(cfg);
  const lines: string[] = [];
  const b1 = await train(first, new Batcher(ds, 6, 1), { steps: 3, checkpointDir: dir, log: (l) => lines.push(l) });
  assert.deepEqual(b1.checkpoint, { dir, step: 3 });
  first.dispose();
  const second = new CVAEGAN(cfg);
  const b2 = await train(second, new Batcher(ds, 6, 1), { steps: 6, checkpointDir: dir, log: (l) => lines.push(l) });
  assert.equal(b2.resumedFrom, 3);
  assert.deepEqual(b2.history.map((h) => h.step), [4, 5, 6]);
  assert.ok(lines.some((l) => /resumed from .* at step 3/.test(l)), lines.join('\n'));
  // The same batches and noise: the same losses and the same weights.
  b2.history.forEach((h, i) => assert.deepEqual(h.losses, a.history[3 + i].losses, `step ${h.step}`));
  for (const n of NET_NAMES) {
    const w1 = straight.nets[n].getWeights();
    const w2 = second.nets[n].getWeights();
    w1.forEach((w, i) => assert.ok(maxDiff(w, w2[i]) <= 1e-6, `${n} weight ${i}`));
  }
  assert.equal(readCheckpointMeta(dir).step, 6);
  // Re-running a finished run trains nothing and keeps the checkpoint.
  const third = new CVAEGAN(cfg);
  const b3 = await train(third, new Batcher(ds, 6, 1), { steps: 6, checkpointDir: dir });
  assert.equal(b3.history.length, 0);
  assert.equal(third.step, 6);
  for (const m of [straight, second, third]) m.dispose();
});

test('periodic checkpoints, onStep for every step, shouldStop ends early and still saves', async () => {
  const dir = path.join(tmp(), 'run');
  const model = new CVAEGAN(cfg);
  const seen: TrainRecord[] = [];
  const saved: number[] = [];
  const r = await train(model, new Batcher(dataset(), 6, 2), {
    steps: 100,
    checkpointDir: dir,
    checkpointEvery: 2,
    onStep: async (rec) => {
      seen.push(rec);
      if (fs.existsSync(dir)) saved.push(readCheckpointMeta(dir).step);
    },
    shouldStop: () => seen.length >= 5,
  });
  assert.equal(r.status, 'stopped');
  assert.equal(model.step, 5);
  assert.deepEqual(seen.map((s) => s.step), [1, 2, 3, 4, 5]);
  for (const s of seen) {
    assert.ok(s.ms > 0 && Number.isFinite(s.losses.L_G) && s.epoch !== undefined);
  }
  // onStep runs before the checkpoint of its step: saves happened after steps 2 and 4.
  assert.deepEqual(saved, [2, 2, 4]);
  assert.deepEqual(r.checkpoint, { dir, step: 5 });
  assert.equal(readCheckpointMeta(dir).step, 5);
  assert.ok(r.msPerStep > 0);
  await assert.rejects(train(model, new Batcher(dataset(), 6, 2), { steps: -1 }), /steps must be a non-negative integer/);
  model.dispose();
});

/** Yields the batcher's batches, but a NaN image at one step. */
function poisoned(inner: Batcher, atStep: number): BatchSource {
  let n = 0;
  return {
    next() {
      const b = inner.next();
      if (++n !== atStep) return b;
      const x = tf.tidy(() => tf.concat([tf.fill([1, 32, 32, 3], NaN), b.x.slice(1)])) as tf.Tensor4D;
      b.x.dispose();
      return { ...b, x };
    },
    state: () => inner.state(),
    restore: (s) => inner.restore(s),
  };
}

/** Yields the batcher's batches, but before one step puts a NaN into a weight of C (the model diverged). */
function diverging(inner: Batcher, model: CVAEGAN, atStep: number): BatchSource {
  let n = 0;
  return {
    next() {
      if (++n === atStep) {
        const w = model.nets.C.trainableWeights[0];
        const v = w.read().dataSync().slice();
        v[0] = NaN;
        w.write(tf.tensor(v, w.read().shape));
      }
      return inner.next();
    },
    state: () => inner.state(),
    restore: (s) => inner.restore(s),
  };
}

test('a NaN loss stops training with the term and step; the last good checkpoint stays and loads', async () => {
  const dir = path.join(tmp(), 'run');
  const model = new CVAEGAN(cfg);
  await assert.rejects(
    train(model, diverging(new Batcher(dataset(), 6, 3), model, 5), { steps: 10, checkpointDir: dir, checkpointEvery: 2 }),
    (e: unknown) =>
      e instanceof NonFiniteLossError && e.term === 'L_C' && e.step === 5 &&
      /loss L_C is NaN at step 5.*The last good checkpoint is .*run \(step 4\)/s.test(e.message),
  );
  assert.equal(readCheckpointMeta(dir).step, 4);
  const back = await loadModel(dir);
  assert.equal(back.step, 4);
  // Resuming with clean data continues from step 4.
  const r = await train(back, new Batcher(dataset(), 6, 3), { steps: 6, checkpointDir: dir });
  assert.deepEqual(r.history.map((h) => h.step), [5, 6]);
  model.dispose();
  back.dispose();
});

test('a batch with a NaN image stops training before the step, naming the image; the model in memory and the checkpoint are intact', async () => {
  const dir = path.join(tmp(), 'run');
  const model = new CVAEGAN(cfg);
  await assert.rejects(
    train(model, poisoned(new Batcher(dataset(), 6, 3), 5), { steps: 10, checkpointDir: dir, checkpointEvery: 2 }),
    (e: unknown) =>
      e instanceof NonFiniteInputError && e.step === 5 && e.image === 0 &&
      /image 0 of the batch for step 5 holds NaN.*The last good checkpoint is .*run \(step 4\), but a resume replays the same batches: fix or drop the image first/s.test(e.message),
  );
  assert.equal(readCheckpointMeta(dir).step, 4);
  assert.equal(model.step, 4);
  // The same model keeps training on clean data, exactly as a model resumed from the checkpoint.
  const back = await loadModel(dir);
  const a = await train(model, new Batcher(dataset(), 6, 3), { steps: 6 });
  const b = await train(back, new Batcher(dataset(), 6, 3), { steps: 6 });
  assert.deepEqual(a.history.map((h) => h.step), [5, 6]);
  assert.deepEqual(a.history.map((h) => h.losses), b.history.map((h) => h.losses));
  model.dispose();
  back.dispose();
});

test('images of the wrong size stop train() before any step, naming the fix', async () => {
  const dir = path.join(tmp(), 'run');
  const model = new CVAEGAN(cfg);
  const ds64 = { ...dataset(), resolution: 64, images: new Uint8Array(24 * 64 * 64 * 3) };
  await assert.rejects(
    train(model, new Batcher(ds64, 6, 1), { steps: 2, checkpointDir: dir }),
    /\[6, 64, 64, 3\] but this model \(preset 'tiny'\) expects \[batch, 32, 32, 3\]: load the dataset with resolution: 32/,
  );
  assert.equal(model.step, 0);
  assert.equal(fs.existsSync(dir), false, 'no checkpoint written for a run that never stepped');
  model.dispose();
});
