/**
 * Training the evaluation classifier of evaluator.ts.
 *
 * Training (trainClassifier): Adam, softmax cross-entropy, random horizontal flips and shifts of a
 * few pixels, early stopping on a held-out part of the training images (the weights of the best
 * held-out epoch are kept), a checkpoint per epoch so a killed run resumes. It takes any labelled
 * image set, real or generated, so the data-augmentation experiment can reuse it.
 */
import { createHash } from 'crypto';
import * as tf from '@tensorflow/tfjs';
import {
  addModelFiles, addTensorFile, checkCheckpointWritable, CheckpointFiles, hasCheckpoint, loadModelWeights, readCheckpointMeta, readTensorFile, writeCheckpoint,
} from '../model/checkpoint';
import { Rng, RngState } from '../model/rng';
import { adamPowers, setAdamPowers } from '../model/rollback';
import type { ImageBatch } from '../viz/grid';
import { batchTensor, buildClassifierNet, Classifier, CLASSIFIER_KIND, classifierConfig, ClassifierConfig, ClassifierPreset, EpochRecord, subsetBytes, toBytes } from './evaluator';
import { top1Accuracy } from './metrics';

export interface ClassifierTrainOptions extends Partial<ClassifierConfig> {
  /** Architecture/training defaults (default 'cpu'); the other fields override them. */
  preset?: ClassifierPreset;
  /** Checkpoint after every epoch here; a finished classifier found here is loaded, not retrained. */
  checkpointDir?: string;
  /**
   * After each epoch: its record, and the classifier as the held-out images saw it (the averaged
   * weights with cfg.ema), to measure it on other images; valid only during the call, not to dispose.
   */
  onEpoch?(r: EpochRecord, current: Classifier): void;
  log?(line: string): void;
  /** Polled between batches; true ends training with a StoppedError (the last epoch's checkpoint stays). */
  shouldStop?(): boolean;
}

/** Thrown by trainClassifier when shouldStop() asked it to stop; rerun with the same checkpointDir to continue. */
export class StoppedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StoppedError';
  }
}

const trunks = new WeakMap<tf.LayersModel, tf.LayersModel>();

/**
 * The training-mode forward pass: logits of x. With arch.dropout = p > 0, the pooled trunk output
 * and f are multiplied by Bernoulli(1 - p) / (1 - p) masks drawn from `seed` (inverted dropout;
 * inference needs no rescaling). tf.layers' own Dropout layer draws the same mask at every call
 * when given a seed, and an unrepeatable one without, hence the masks are drawn here.
 */
function trainingLogits(net: tf.LayersModel, c: ClassifierConfig, x: tf.Tensor4D, seed: number): tf.Tensor2D {
  const p = c.arch.dropout ?? 0;
  if (!(p > 0)) return (net.apply(x, { training: true }) as tf.Tensor2D[])[0];
  let trunk = trunks.get(net);
  if (!trunk) {
    trunk = tf.model({ inputs: net.inputs, outputs: net.getLayer('ev_gap').output as tf.SymbolicTensor });
    trunks.set(net, trunk);
  }
  const drop = (t: tf.Tensor2D, s: number) =>
    tf.mul(t, tf.div(tf.cast(tf.greaterEqual(tf.randomUniform(t.shape, 0, 1, 'float32', s), p), 'float32'), 1 - p)) as tf.Tensor2D;
  const g = trunk.apply(x, { training: true }) as tf.Tensor2D;
  const f = net.getLayer('ev_features').apply(drop(g, seed), { training: true }) as tf.Tensor2D;
  return net.getLayer('ev_logits').apply(drop(f, seed + 1), { training: true }) as tf.Tensor2D;
}

/** Fisher-Yates with the given generator. */
function shuffle(a: Int32Array | number[], rng: Rng): void {
  for (let i = a.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = a[i];
    a[i] = a[j];
    a[j] = t;
  }
}

/**
 * Held-out split: per class, round(fraction * n_c) images (at least 1 when the class has 2 or more
 * and fraction > 0), drawn with a seeded generator. Per class, so every class is measured.
 */
export function heldOutSplit(labels: ArrayLike<number>, fraction: number, seed: number): { train: Int32Array; heldOut: Int32Array } {
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < labels.length; i++) {
    if (!byClass.has(labels[i])) byClass.set(labels[i], []);
    byClass.get(labels[i])!.push(i);
  }
  const rng = new Rng(seed, 2);
  const train: number[] = [];
  const held: number[] = [];
  for (const c of [...byClass.keys()].sort((a, b) => a - b)) {
    const idx = byClass.get(c)!;
    shuffle(idx, rng);
    const k = fraction > 0 && idx.length >= 2 ? Math.max(1, Math.round(fraction * idx.length)) : 0;
    held.push(...idx.slice(0, k));
    train.push(...idx.slice(k));
  }
  return { train: Int32Array.from(train.sort((a, b) => a - b)), heldOut: Int32Array.from(held.sort((a, b) => a - b)) };
}

/** Adam's state as named tensors (the iteration count first, then the moments). */
async function optimizerFiles(files: CheckpointFiles, opt: tf.AdamOptimizer): Promise<tf.io.WeightsManifestEntry[]> {
  const w = await opt.getWeights();
  try {
    return await addTensorFile(files, 'optimizer.bin', w);
  } finally {
    w[0].tensor.dispose(); // the iteration count is created by getWeights; the moments are the optimiser's own
  }
}

/**
 * Trains a classifier on labelled images (real, generated, or both): see the file comment.
 * `images`: a tensor in [-1, 1] (quantised to bytes here, to keep big sets compact) or bytes.
 * Resumes from `opts.checkpointDir` when it holds an unfinished run, returns the saved classifier
 * when it holds a finished one.
 */
export async function trainClassifier(
  images: tf.Tensor4D | ImageBatch,
  labels: ArrayLike<number>,
  numClasses: number,
  opts: ClassifierTrainOptions = {},
): Promise<Classifier> {
  const { preset = 'cpu', checkpointDir: dir, onEpoch, log = () => {}, shouldStop = () => false, ...overrides } = opts;
  const data = toBytes(images);
  const [n, h, w, ch] = data.shape;
  if (h !== w || ch !== 3) throw new Error(`trainClassifier: images must be [n, R, R, 3], got [${data.shape}]`);
  if (labels.length !== n) throw new Error(`trainClassifier: ${n} images but ${labels.length} labels`);
  for (let i = 0; i < n; i++) if (!(Number.isInteger(labels[i]) && labels[i] >= 0 && labels[i] < numClasses)) throw new Error(`trainClassifier: label ${labels[i]} at ${i} is not in 0..${numClasses - 1}`);
  const cfg = classifierConfig(preset, h, numClasses, overrides);
  // Which images and labels it learns from: a checkpoint of the same config trained on other
  // images (another split, a copied folder) is refused rather than returned. Checkpoints of
  // versions before this field carry none and are taken as they are.
  const trainedOn = createHash('sha1').update(data.data).update(new Uint8Array(Int32Array.from(labels).buffer)).digest('hex');
  const sameImages = (meta: Record<string, unknown>) => {
    if (meta.trainedOn !== undefined && meta.trainedOn !== trainedOn) {
      throw new Error(`the classifier at ${dir} was trained on other images (${meta.images ?? '?'} images; these are ${n} others or in another order); use another checkpointDir or delete it`);
    }
  };

  if (dir) checkCheckpointWritable(dir); // a read-only folder fails now, not after the first epoch
  const found = dir && hasCheckpoint(dir) ? (readCheckpointMeta(dir) as Record<string, unknown>) : undefined;
  if (dir && found?.done) {
    sameImages(found);
    const done = await Classifier.load(dir);
    if (JSON.stringify(done.config) !== JSON.stringify(cfg)) {
      done.dispose();
      throw new Error(`the classifier at ${dir} was trained with a different config; use another checkpointDir or delete it`);
    }
    log(`classifier: finished one found at ${dir} (best epoch ${done.bestEpoch + 1}), not retrained`);
    return done;
  }

  const split = heldOutSplit(labels, cfg.heldOutFraction, cfg.seed);
  if (split.train.length < cfg.batchSize) {
    throw new Error(`trainClassifier: ${split.train.length} training images after holding out ${split.heldOut.length}, fewer than batchSize ${cfg.batchSize}; use a smaller batchSize`);
  }
  const heldLabels = Array.from(split.heldOut, (i) => labels[i]);
  const heldBatch: ImageBatch = split.heldOut.length ? subsetBytes(data, split.heldOut) : data;

  let rng = new Rng(cfg.seed);
  const net = buildClassifierNet(cfg, rng);
  const vars = net.trainableWeights.map((v) => v.read() as tf.Variable);
  const kernels = net.trainableWeights.filter((w) => w.originalName.endsWith('/kernel')).map((w) => w.read());
  let opt = tf.train.adam(cfg.learningRate);
  let history: EpochRecord[] = [];
  let best: tf.Tensor[] | undefined;
  let bestEpoch = -1;
  let bestAcc = -Infinity;
  let bestLoss = Infinity;
  let augRng = new Rng(cfg.seed, 3);
  const ema = cfg.ema ?? 0;
  // The running average of every weight (Polyak averaging), when cfg.ema > 0.
  let average: tf.Tensor[] | undefined = ema > 0 ? net.getWeights().map((t) => tf.clone(t)) : undefined;
  const cleanup = () => {
    opt.dispose();
    if (best) tf.dispose(best);
    if (average) tf.dispose(average);
  };

  try {
    if (dir && hasCheckpoint(dir)) {
      const meta = readCheckpointMeta(dir);
      if (meta.kind !== CLASSIFIER_KIND || JSON.stringify(meta.config) !== JSON.stringify(cfg)) {
        throw new Error(`${dir} holds a checkpoint of a different classifier or config; use another checkpointDir or delete it`);
      }
      sameImages(meta as Record<string, unknown>);
      loadModelWeights(dir, 'net', net);
      opt.dispose();
      opt = tf.train.adam(cfg.learningRate);
      const ow = readTensorFile(dir, 'optimizer.bin', meta.optimizer as tf.io.WeightsManifestEntry[]);
      await opt.setWeights(ow);
      tf.dispose(ow.map((t) => t.tensor));
      // beta1^t, beta2^t as saved: setWeights recomputes them with pow(), off in the last bits.
      if (meta.adamPowers) setAdamPowers(opt, meta.adamPowers as [number, number]);
      best = readTensorFile(dir, 'best.bin', meta.best as tf.io.WeightsManifestEntry[]).map((t) => t.tensor);
      if (average) {
        tf.dispose(average);
        average = readTensorFile(dir, 'average.bin', meta.average as tf.io.WeightsManifestEntry[]).map((t) => t.tensor);
      }
      history = meta.history as EpochRecord[];
      bestEpoch = meta.bestEpoch as number;
      // JSON turns NaN / Infinity into null.
      bestAcc = (meta.bestAccuracy as number | null) ?? -Infinity;
      bestLoss = (meta.bestLoss as number | null) ?? Infinity;
      rng = Rng.fromState(meta.rng as RngState);
      augRng = Rng.fromState(meta.augRng as RngState);
      log(`classifier: resumed from ${dir} after epoch ${history.length}`);
    }

    const save = async (done: boolean) => {
      if (!dir) return;
      const files: CheckpointFiles = new Map();
      await addModelFiles(files, 'net', net);
      const meta: Record<string, unknown> = { kind: CLASSIFIER_KIND, step: history.length, config: cfg, images: n, trainedOn, history, bestEpoch, bestAccuracy: bestAcc, bestLoss, done };
      if (!done) {
        meta.optimizer = await optimizerFiles(files, opt);
        meta.adamPowers = await adamPowers(opt);
        meta.best = await addTensorFile(files, 'best.bin', best!.map((t, i) => ({ name: `w${i}`, tensor: t })));
        if (average) meta.average = await addTensorFile(files, 'average.bin', average.map((t, i) => ({ name: `a${i}`, tensor: t })));
        meta.rng = rng.state();
        meta.augRng = augRng.state();
      }
      writeCheckpoint(dir, meta as Parameters<typeof writeCheckpoint>[1], files);
    };

    for (let epoch = history.length; epoch < cfg.maxEpochs; epoch++) {
      if (bestEpoch >= 0 && epoch - 1 - bestEpoch >= cfg.patience) break;
      const t0 = performance.now();
      if (cfg.schedule === 'cosine') (opt as unknown as { learningRate: number }).learningRate = (cfg.learningRate * (1 + Math.cos((Math.PI * epoch) / cfg.maxEpochs))) / 2;
      // A fresh shuffle of the sorted list: the order depends only on the saved RNG state, so a
      // resumed run sees the same batches as an uninterrupted one.
      const trainIdx = Int32Array.from(split.train);
      shuffle(trainIdx, rng);
      let lossSum = 0;
      let correct = 0;
      let seen = 0;
      // Full batches only: batch-norm statistics of a 1-image remainder would be degenerate.
      for (let s = 0; s + cfg.batchSize <= trainIdx.length; s += cfg.batchSize) {
        if (shouldStop()) throw new StoppedError(`classifier training stopped in epoch ${epoch + 1}${dir ? `; the checkpoint in ${dir} holds ${history.length} finished epoch(s)` : ''}`);
        const idx = trainIdx.subarray(s, s + cfg.batchSize);
        const x = batchTensor(data, idx, { rng: augRng, ...cfg.augment });
        const y = tf.tensor1d(Array.from(idx, (i) => labels[i]), 'int32');
        let stats: tf.Tensor | undefined;
        const dropSeed = (cfg.arch.dropout ?? 0) > 0 ? augRng.seed() : 0;
        const loss = opt.minimize(() => {
          const logits = trainingLogits(net, cfg, x, dropSeed);
          const onehot = tf.oneHot(y, numClasses);
          const ce = tf.losses.softmaxCrossEntropy(onehot, logits, undefined, cfg.labelSmoothing ?? 0) as tf.Scalar;
          stats = tf.keep(tf.stack([tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), y), 'float32')), ce]));
          // L2 on the kernels; the reported loss stays the cross-entropy alone.
          return (cfg.weightDecay ?? 0) > 0 ? (tf.add(ce, tf.mul(cfg.weightDecay!, tf.addN(kernels.map((k) => tf.sum(tf.square(k)))))) as tf.Scalar) : ce;
        }, true, vars)!;
        const [right, ce] = stats!.dataSync();
        lossSum += ce * idx.length;
        correct += right;
        seen += idx.length;
        tf.dispose([x, y, loss, stats!]);
        if (average) {
          const previous = average;
          const now = net.getWeights();
          average = tf.tidy(() => previous.map((a, i) => tf.add(tf.mul(a, ema), tf.mul(now[i], 1 - ema))));
          tf.dispose(previous);
        }
        // Let signals and timers through between batches.
        await new Promise((r) => setImmediate(r));
      }
      // The net measured and kept is the averaged one where there is an average: its weights go in
      // for the held-out pass and the trained ones come back after it.
      const trained = average ? net.getWeights().map((t) => tf.clone(t)) : undefined;
      if (average) net.setWeights(average);
      const current = new Classifier(cfg, net);
      let heldAcc = NaN;
      let heldLoss = NaN;
      if (split.heldOut.length) {
        const { probs, n: h } = current.predictAll(heldBatch);
        heldAcc = top1Accuracy({ data: probs, rows: h, cols: numClasses }, heldLabels);
        // Cross-entropy -mean log p(y_i | x_i), floored so one zero probability stays finite.
        heldLoss = -heldLabels.reduce((s, y, i) => s + Math.log(Math.max(probs[i * numClasses + y], 1e-12)), 0) / h;
      }
      const rec: EpochRecord = { epoch, loss: lossSum / seen, trainAccuracy: correct / seen, heldOutAccuracy: heldAcc, heldOutLoss: heldLoss, ms: performance.now() - t0 };
      history.push(rec);
      // Best = highest held-out accuracy; ties (common with small held-out sets) go to the lower
      // held-out loss. Without a held-out set the last epoch counts as the best.
      const better = split.heldOut.length ? heldAcc > bestAcc || (heldAcc === bestAcc && heldLoss < bestLoss) : true;
      if (better) {
        bestAcc = heldAcc;
        bestLoss = heldLoss;
        bestEpoch = epoch;
        if (best) tf.dispose(best);
        best = net.getWeights().map((t) => tf.clone(t));
      }
      log(`classifier epoch ${epoch + 1}/${cfg.maxEpochs}: loss ${rec.loss.toFixed(3)}, train acc ${(100 * rec.trainAccuracy).toFixed(1)}%, held-out acc ${(100 * heldAcc).toFixed(1)}%, loss ${heldLoss.toFixed(3)} (${(rec.ms / 1000).toFixed(1)} s)`);
      onEpoch?.(rec, current);
      if (trained) {
        net.setWeights(trained);
        tf.dispose(trained);
      }
      await save(false);
    }
    net.setWeights(best!);
    await save(true);
    log(split.heldOut.length ? `classifier: best held-out accuracy ${(100 * bestAcc).toFixed(1)}% at epoch ${bestEpoch + 1}` : `classifier: trained ${history.length} epochs (no held-out images)`);
    cleanup();
    return new Classifier(cfg, net, history, bestEpoch);
  } catch (e) {
    cleanup();
    net.dispose();
    throw e;
  }
}
