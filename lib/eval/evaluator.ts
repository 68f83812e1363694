/**
 * The evaluation classifier of Table 1 and the metrics computed with it.
 *
 * The paper measures generated images with "a separate classifier" trained on real data, not with
 * the model's own C (paper-notes sec. 5); its architecture is not given. Ours is a small VGG-style
 * network sized for the images it judges:
 *
 *   x -> [5x5 stride-2 conv, BN, ReLU] per halving down to 32x32      (stem; none at 32 px)
 *     -> [3x3 conv, BN, ReLU, 2x2 max-pool] per block                  (32 -> 16 -> 8 -> 4)
 *     -> global average pool -> FC `features` + ReLU  (= f, the penultimate layer used for FID)
 *     -> FC K (logits)
 *
 * Training (trainClassifier): Adam, softmax cross-entropy, random horizontal flips and shifts of a
 * few pixels, early stopping on a held-out part of the training images (the weights of the best
 * held-out epoch are kept), a checkpoint per epoch so a killed run resumes. It takes any labelled
 * image set, real or generated, so the data-augmentation experiment can reuse it.
 *
 *   const ev = await trainClassifier(datasetImages(train), train.labels, K, { preset: 'cpu', checkpointDir });
 *   const ref = referenceStats(ev, datasetImages(test), test.labels);
 *   const row = evaluate(model, ev, { perClass: 100, seed: 1, reference: ref });
 */
import * as tf from '@tensorflow/tfjs';
import {
  addModelFiles, addTensorFile, CheckpointFiles, hasCheckpoint, loadModelWeights, readCheckpointMeta, readTensorFile, writeCheckpoint,
} from '../model/checkpoint';
import type { ImageBatch } from '../viz/grid';
import { classDiversity, frechetFromMoments, gaussianMoments, inceptionScore, meanPairwiseRms, top1Accuracy } from './metrics';
import type { GenerativeModel } from '../model/interface';
import { Rng, RngState } from '../model/rng';

export const CLASSIFIER_KIND = 'evaluator';

export interface ClassifierArch {
  /** Filters of the stride-2 5x5 stem convolutions (one per halving above 32 px). */
  stem: number[];
  /** Filters of the 3x3 conv + max-pool blocks. */
  blocks: number[];
  /** Width of the penultimate layer f (the FID feature space). */
  features: number;
}

export interface ClassifierConfig {
  resolution: number;
  numClasses: number;
  arch: ClassifierArch;
  batchSize: number;
  learningRate: number;
  /** Upper bound on training epochs. */
  maxEpochs: number;
  /** Stop after this many epochs without a better held-out accuracy. */
  patience: number;
  /** Share of each class's training images held out for early stopping (0: none; train maxEpochs). */
  heldOutFraction: number;
  /** Random horizontal flips; random shifts of up to `shift` pixels (edges repeated). */
  augment: { flip: boolean; shift: number };
  seed: number;
}

export type ClassifierPreset = 'paper' | 'cpu' | 'tiny';

/**
 * A classifier config for images of `resolution` px. `cpu`: three blocks (32, 64, 128), f = 128,
 * cheap enough to train in minutes on 2 cores; `paper`: wider (64..256, f = 256) for a GPU;
 * `tiny`: for tests. f stays at 128-256 so FID's d x d matrix square root is cheap (d^3).
 */
export function classifierConfig(preset: ClassifierPreset, resolution: number, numClasses: number, overrides: Partial<ClassifierConfig> = {}): ClassifierConfig {
  if (![32, 64, 128].includes(resolution)) throw new Error(`classifierConfig: resolution must be 32, 64 or 128 (got ${resolution})`);
  if (!(Number.isInteger(numClasses) && numClasses >= 2)) throw new Error(`classifierConfig: numClasses must be an integer >= 2 (got ${numClasses})`);
  const halvings = Math.log2(resolution / 32);
  const base: Record<ClassifierPreset, Omit<ClassifierConfig, 'resolution' | 'numClasses'>> = {
    tiny: {
      arch: { stem: new Array<number>(halvings).fill(8), blocks: [8, 16], features: 16 },
      batchSize: 16, learningRate: 2e-3, maxEpochs: 3, patience: 2, heldOutFraction: 0.2, augment: { flip: true, shift: 2 }, seed: 1,
    },
    cpu: {
      arch: { stem: new Array<number>(halvings).fill(32), blocks: [32, 64, 128], features: 128 },
      batchSize: 64, learningRate: 1e-3, maxEpochs: 40, patience: 6, heldOutFraction: 0.1, augment: { flip: true, shift: 2 }, seed: 1,
    },
    paper: {
      arch: { stem: new Array<number>(halvings).fill(64), blocks: [64, 128, 256], features: 256 },
      batchSize: 128, learningRate: 1e-3, maxEpochs: 60, patience: 8, heldOutFraction: 0.1, augment: { flip: true, shift: Math.max(2, resolution / 16) }, seed: 1,
    },
  };
  if (!base[preset]) throw new Error(`classifierConfig: unknown preset '${preset}' (use paper, cpu or tiny)`);
  const cfg: ClassifierConfig = { ...JSON.parse(JSON.stringify(base[preset])), resolution, numClasses, ...overrides };
  validate(cfg);
  return cfg;
}

function validate(c: ClassifierConfig): void {
  const posInt = (v: number) => Number.isInteger(v) && v >= 1;
  if (!posInt(c.batchSize) || c.batchSize < 2) throw new Error(`classifier batchSize must be an integer >= 2 (got ${c.batchSize})`);
  if (!posInt(c.maxEpochs)) throw new Error(`classifier maxEpochs must be a positive integer (got ${c.maxEpochs})`);
  if (!posInt(c.patience)) throw new Error(`classifier patience must be a positive integer (got ${c.patience})`);
  if (!(c.heldOutFraction >= 0 && c.heldOutFraction < 1)) throw new Error(`classifier heldOutFraction must be in [0, 1) (got ${c.heldOutFraction})`);
  if (!(c.learningRate > 0)) throw new Error(`classifier learningRate must be > 0 (got ${c.learningRate})`);
  if (!(c.arch.blocks.length >= 1 && [...c.arch.stem, ...c.arch.blocks, c.arch.features].every(posInt))) throw new Error(`classifier arch needs positive integer widths and at least one block (got ${JSON.stringify(c.arch)})`);
  if (c.resolution / 2 ** (c.arch.stem.length + c.arch.blocks.length) < 1) throw new Error(`classifier arch halves ${c.resolution} px too often (${c.arch.stem.length} stem + ${c.arch.blocks.length} blocks)`);
}

/** x [m, R, R, 3] in [-1, 1] -> [logits [m, K], f [m, features]]. Seeded initialisation. */
export function buildClassifierNet(c: ClassifierConfig, rng: Rng): tf.LayersModel {
  validate(c);
  let n = 0;
  const name = (k: string) => `ev_${k}${++n}`;
  const init = () => tf.initializers.heNormal({ seed: rng.seed() });
  const x = tf.input({ shape: [c.resolution, c.resolution, 3], name: 'ev_x' });
  const convBnRelu = (h: tf.SymbolicTensor, filters: number, kernel: number, strides: number) => {
    h = tf.layers.conv2d({ filters, kernelSize: kernel, strides, padding: 'same', useBias: false, kernelInitializer: init(), name: name('conv') }).apply(h) as tf.SymbolicTensor;
    h = tf.layers.batchNormalization({ momentum: 0.9, epsilon: 1e-5, name: name('bn') }).apply(h) as tf.SymbolicTensor;
    return tf.layers.reLU({ name: name('relu') }).apply(h) as tf.SymbolicTensor;
  };
  let h: tf.SymbolicTensor = x;
  for (const f of c.arch.stem) h = convBnRelu(h, f, 5, 2);
  for (const f of c.arch.blocks) {
    h = convBnRelu(h, f, 3, 1);
    h = tf.layers.maxPooling2d({ poolSize: 2, strides: 2, name: name('pool') }).apply(h) as tf.SymbolicTensor;
  }
  h = tf.layers.globalAveragePooling2d({ name: name('gap') }).apply(h) as tf.SymbolicTensor;
  const f = tf.layers.dense({ units: c.arch.features, activation: 'relu', kernelInitializer: init(), name: 'ev_features' }).apply(h) as tf.SymbolicTensor;
  const logits = tf.layers.dense({ units: c.numClasses, kernelInitializer: tf.initializers.glorotUniform({ seed: rng.seed() }), name: 'ev_logits' }).apply(f) as tf.SymbolicTensor;
  return tf.model({ inputs: x, outputs: [logits, f], name: 'evaluator' });
}

/** An image set as NHWC bytes; tensors in [-1, 1] are quantised to bytes (as a PNG would be). */
export function toBytes(images: tf.Tensor4D | ImageBatch): ImageBatch {
  if (!(images instanceof tf.Tensor)) return images;
  const bytes = tf.tidy(() => tf.clipByValue(tf.round(tf.mul(tf.add(images, 1), 127.5)), 0, 255));
  const data = Uint8Array.from(bytes.dataSync());
  bytes.dispose();
  return { data, shape: images.shape as [number, number, number, number] };
}

/** A dataset's images (datasets' ImageDataset or anything with bytes and a resolution) as an ImageBatch. */
export function datasetImages(ds: { images: Uint8Array; labels: ArrayLike<number>; resolution: number }): ImageBatch {
  return { data: ds.images, shape: [ds.labels.length, ds.resolution, ds.resolution, 3] };
}

/** Images `idx` of a byte batch as a float tensor in [-1, 1], optionally flipped / shifted per image. */
function batchTensor(b: ImageBatch, idx: ArrayLike<number>, aug?: { rng: Rng; flip: boolean; shift: number }): tf.Tensor4D {
  const [, h, w, ch] = b.shape;
  const per = h * w * ch;
  const out = new Float32Array(idx.length * per);
  for (let k = 0; k < idx.length; k++) {
    const src = idx[k] * per;
    const dst = k * per;
    const flip = aug ? aug.flip && aug.rng.next() < 0.5 : false;
    const dy = aug && aug.shift > 0 ? aug.rng.int(2 * aug.shift + 1) - aug.shift : 0;
    const dx = aug && aug.shift > 0 ? aug.rng.int(2 * aug.shift + 1) - aug.shift : 0;
    if (!flip && dx === 0 && dy === 0) {
      for (let j = 0; j < per; j++) out[dst + j] = b.data[src + j] / 127.5 - 1;
      continue;
    }
    for (let y = 0; y < h; y++) {
      const sy = Math.min(h - 1, Math.max(0, y + dy));
      for (let x = 0; x < w; x++) {
        let sx = Math.min(w - 1, Math.max(0, x + dx));
        if (flip) sx = w - 1 - sx;
        const s = src + (sy * w + sx) * ch;
        const d = dst + (y * w + x) * ch;
        for (let c = 0; c < ch; c++) out[d + c] = b.data[s + c] / 127.5 - 1;
      }
    }
  }
  return tf.tensor4d(out, [idx.length, h, w, ch]);
}

export interface EpochRecord {
  epoch: number;
  loss: number;
  trainAccuracy: number;
  /** Accuracy on the held-out images (NaN when none are held out). */
  heldOutAccuracy: number;
  /** Mean cross-entropy on the held-out images (NaN when none). */
  heldOutLoss: number;
  ms: number;
}

export interface ClassifierTrainOptions extends Partial<ClassifierConfig> {
  /** Architecture/training defaults (default 'cpu'); the other fields override them. */
  preset?: ClassifierPreset;
  /** Checkpoint after every epoch here; a finished classifier found here is loaded, not retrained. */
  checkpointDir?: string;
  onEpoch?(r: EpochRecord): void;
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

/** Moments and diversity of a real reference set under one classifier (computed once, reused per model). */
export interface ReferenceStats {
  n: number;
  /** Evaluator accuracy on the set. */
  accuracy: number;
  /** Inception-score form on the set. */
  realism: number;
  moments: { mean: Float64Array; cov: Float64Array };
  /** Mean within-class pairwise RMS distance of the set's images. */
  diversity: number;
}

export interface Evaluation {
  /** Top-1 accuracy of the evaluator on the generated images, labels = the classes asked for. */
  accuracy: number;
  /** exp(E_x KL(p(y|x) || p(y))) of the evaluator on the generated images. */
  realism: number;
  /** Frechet distance between the generated and the reference (real test) images in f-space. */
  fid: number;
  /** Mean within-class pairwise RMS distance of the generated images. */
  diversity: number;
  /** The same for the real reference images. */
  realDiversity: number;
  /** Generated images evaluated (perClass x classes). */
  n: number;
}

/** A trained evaluation classifier: predictions, features, save / load. */
export class Classifier {
  constructor(
    readonly config: ClassifierConfig,
    readonly net: tf.LayersModel,
    readonly history: EpochRecord[] = [],
    /** The epoch whose weights these are (best held-out accuracy). */
    readonly bestEpoch = -1,
  ) {}

  /** Class probabilities and penultimate features of x [m, R, R, 3] in [-1, 1] (inference mode). */
  predict(x: tf.Tensor4D): { probs: tf.Tensor2D; features: tf.Tensor2D } {
    return tf.tidy(() => {
      const [logits, f] = this.net.apply(x, { training: false }) as tf.Tensor2D[];
      return { probs: tf.softmax(logits), features: f };
    });
  }

  /** Probabilities [n * K] and features [n * F] of a whole set, in chunks (row-major). */
  predictAll(images: tf.Tensor4D | ImageBatch, chunk = 256): { probs: Float32Array; features: Float32Array; n: number } {
    const n = images.shape[0];
    const K = this.config.numClasses;
    const F = this.config.arch.features;
    const probs = new Float32Array(n * K);
    const features = new Float32Array(n * F);
    for (let s = 0; s < n; s += chunk) {
      const e = Math.min(n, s + chunk);
      const x = images instanceof tf.Tensor ? tf.slice(images, s, e - s) : batchTensor(images, range(s, e));
      const r = this.predict(x);
      probs.set(r.probs.dataSync(), s * K);
      features.set(r.features.dataSync(), s * F);
      tf.dispose([x, r.probs, r.features]);
    }
    return { probs, features, n };
  }

  accuracy(images: tf.Tensor4D | ImageBatch, labels: ArrayLike<number>): number {
    const { probs, n } = this.predictAll(images);
    return top1Accuracy({ data: probs, rows: n, cols: this.config.numClasses }, labels);
  }

  async save(dir: string, extra: Record<string, unknown> = {}): Promise<void> {
    const files: CheckpointFiles = new Map();
    await addModelFiles(files, 'net', this.net);
    writeCheckpoint(dir, { kind: CLASSIFIER_KIND, step: this.bestEpoch + 1, config: this.config, history: this.history, bestEpoch: this.bestEpoch, done: true, ...extra }, files);
  }

  /** Loads a finished classifier saved by save() or trainClassifier(). */
  static async load(dir: string): Promise<Classifier> {
    const meta = readCheckpointMeta(dir);
    if (meta.kind !== CLASSIFIER_KIND) throw new Error(`${dir} holds a '${meta.kind}' checkpoint, not an evaluation classifier`);
    if (!meta.done) throw new Error(`the classifier at ${dir} is still training (epoch ${meta.step}); rerun trainClassifier with checkpointDir '${dir}' to finish it`);
    const config = meta.config as ClassifierConfig;
    const net = buildClassifierNet(config, new Rng(config.seed));
    try {
      loadModelWeights(dir, 'net', net);
    } catch (e) {
      net.dispose();
      throw e;
    }
    return new Classifier(config, net, meta.history as EpochRecord[], meta.bestEpoch as number);
  }

  dispose(): void {
    this.net.dispose();
  }
}

function range(s: number, e: number): Int32Array {
  const r = new Int32Array(e - s);
  for (let i = 0; i < r.length; i++) r[i] = s + i;
  return r;
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

  if (dir && hasCheckpoint(dir) && readCheckpointMeta(dir).done) {
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
  let opt = tf.train.adam(cfg.learningRate);
  let history: EpochRecord[] = [];
  let best: tf.Tensor[] | undefined;
  let bestEpoch = -1;
  let bestAcc = -Infinity;
  let bestLoss = Infinity;
  let augRng = new Rng(cfg.seed, 3);
  const cleanup = () => {
    opt.dispose();
    if (best) tf.dispose(best);
  };

  try {
    if (dir && hasCheckpoint(dir)) {
      const meta = readCheckpointMeta(dir);
      if (meta.kind !== CLASSIFIER_KIND || JSON.stringify(meta.config) !== JSON.stringify(cfg)) {
        throw new Error(`${dir} holds a checkpoint of a different classifier or config; use another checkpointDir or delete it`);
      }
      loadModelWeights(dir, 'net', net);
      opt.dispose();
      opt = tf.train.adam(cfg.learningRate);
      const ow = readTensorFile(dir, 'optimizer.bin', meta.optimizer as tf.io.WeightsManifestEntry[]);
      await opt.setWeights(ow);
      tf.dispose(ow.map((t) => t.tensor));
      best = readTensorFile(dir, 'best.bin', meta.best as tf.io.WeightsManifestEntry[]).map((t) => t.tensor);
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
      const meta: Record<string, unknown> = { kind: CLASSIFIER_KIND, step: history.length, config: cfg, history, bestEpoch, bestAccuracy: bestAcc, bestLoss, done };
      if (!done) {
        meta.optimizer = await optimizerFiles(files, opt);
        meta.best = await addTensorFile(files, 'best.bin', best!.map((t, i) => ({ name: `w${i}`, tensor: t })));
        meta.rng = rng.state();
        meta.augRng = augRng.state();
      }
      writeCheckpoint(dir, meta as Parameters<typeof writeCheckpoint>[1], files);
    };

    for (let epoch = history.length; epoch < cfg.maxEpochs; epoch++) {
      if (bestEpoch >= 0 && epoch - 1 - bestEpoch >= cfg.patience) break;
      const t0 = performance.now();
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
        const x = batchTensor(data, idx, { rng: augRng, flip: cfg.augment.flip, shift: cfg.augment.shift });
        const y = tf.tensor1d(Array.from(idx, (i) => labels[i]), 'int32');
        let stats: tf.Tensor | undefined;
        const loss = opt.minimize(() => {
          const [logits] = net.apply(x, { training: true }) as tf.Tensor2D[];
          const onehot = tf.oneHot(y, numClasses);
          stats = tf.keep(tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), y), 'float32')));
          return tf.losses.softmaxCrossEntropy(onehot, logits) as tf.Scalar;
        }, true, vars)!;
        lossSum += loss.dataSync()[0] * idx.length;
        correct += stats!.dataSync()[0];
        seen += idx.length;
        tf.dispose([x, y, loss, stats!]);
        // Let signals and timers through between batches.
        await new Promise((r) => setImmediate(r));
      }
      let heldAcc = NaN;
      let heldLoss = NaN;
      if (split.heldOut.length) {
        const { probs, n: h } = new Classifier(cfg, net).predictAll(heldBatch);
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
      onEpoch?.(rec);
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

/** The images `idx` of a byte batch, copied. */
export function subsetBytes(b: ImageBatch, idx: ArrayLike<number>): ImageBatch {
  const [, h, w, ch] = b.shape;
  const per = h * w * ch;
  const data = new Uint8Array(idx.length * per);
  for (let k = 0; k < idx.length; k++) data.set(b.data.subarray(idx[k] * per, (idx[k] + 1) * per), k * per);
  return { data, shape: [idx.length, h, w, ch] };
}

/**
 * The real reference set's numbers under `evaluator`: its accuracy and realism (the "real data"
 * row), its feature moments (FID's reference) and its within-class diversity.
 */
export function referenceStats(evaluator: Classifier, images: ImageBatch, labels: ArrayLike<number>): ReferenceStats {
  const K = evaluator.config.numClasses;
  const { probs, features, n } = evaluator.predictAll(images);
  const F = evaluator.config.arch.features;
  const { mean, cov } = gaussianMoments({ data: features, rows: n, cols: F });
  const floats = Float32Array.from(images.data, (v) => v / 127.5 - 1);
  const diversity = classDiversity({ data: floats, shape: images.shape }, labels, K).mean;
  return { n, accuracy: top1Accuracy({ data: probs, rows: n, cols: K }, labels), realism: inceptionScore({ data: probs, rows: n, cols: K }), moments: { mean, cov }, diversity };
}

/** FID between another real set (e.g. the training images) and the reference, in the evaluator's f-space. */
export function realFid(evaluator: Classifier, images: ImageBatch, reference: ReferenceStats): number {
  const { features, n } = evaluator.predictAll(images);
  return frechetFromMoments(gaussianMoments({ data: features, rows: n, cols: evaluator.config.arch.features }), reference.moments);
}

export interface EvaluateOptions {
  /** Generated images per class (the paper: 100 per identity). */
  perClass: number;
  /** Seeds the generator's z: the same seed gives the same images. */
  seed: number;
  reference: ReferenceStats;
  /** Classes to generate (default all of the evaluator's). */
  classes?: number[];
}

/**
 * Generates `perClass` images of every class with `model.sample` (z ~ N(0, I)) and measures them:
 * discriminability (evaluator top-1 against the requested class), realism (inception-score form),
 * FID against the reference set, and within-class diversity beside the reference's.
 */
export function evaluate(model: GenerativeModel, evaluator: Classifier, opts: EvaluateOptions): Evaluation {
  const K = evaluator.config.numClasses;
  if (model.config.numClasses !== K) throw new Error(`evaluate: the model has ${model.config.numClasses} classes, the evaluator ${K}`);
  if (!(Number.isInteger(opts.perClass) && opts.perClass >= 2)) throw new Error(`evaluate: perClass must be an integer >= 2 (got ${opts.perClass})`);
  const classes = opts.classes ?? range(0, K);
  const F = evaluator.config.arch.features;
  const N = classes.length * opts.perClass;
  const probs = new Float32Array(N * K);
  const feats = new Float32Array(N * F);
  const labels = new Int32Array(N);
  const rng = new Rng(opts.seed, 4);
  const perClassDiv: number[] = [];
  classes.forEach((c, j) => {
    const ls = new Array<number>(opts.perClass).fill(c);
    const x = model.sample(ls, { seed: rng.seed() });
    try {
      const r = evaluator.predict(x);
      probs.set(r.probs.dataSync(), j * opts.perClass * K);
      feats.set(r.features.dataSync(), j * opts.perClass * F);
      tf.dispose([r.probs, r.features]);
      const m = { data: x.dataSync(), rows: opts.perClass, cols: x.size / opts.perClass };
      perClassDiv.push(meanPairwiseRms(m, range(0, opts.perClass)));
    } finally {
      x.dispose();
    }
    labels.fill(c, j * opts.perClass, (j + 1) * opts.perClass);
  });
  const P = { data: probs, rows: N, cols: K };
  return {
    accuracy: top1Accuracy(P, labels),
    realism: inceptionScore(P),
    fid: frechetFromMoments(gaussianMoments({ data: feats, rows: N, cols: F }), opts.reference.moments),
    diversity: perClassDiv.reduce((s, v) => s + v, 0) / perClassDiv.length,
    realDiversity: opts.reference.diversity,
    n: N,
  };
}
