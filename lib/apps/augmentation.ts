/**
 * The paper's data-augmentation experiment (Table 2) in our datasets' terms: a classifier trained on
 * a few real images per class, then on those plus generated ones, each measured on real test images.
 *
 *   const e = await augmentationExperiment({ model, train, test, generatedPerClass: 50 });   // accuracy both ways
 */
import type { ImageDataset } from '../../datasets/types';
import type { GenerativeModel } from '../model/interface';
import type { ImageBatch } from '../viz/grid';
import { classifierConfig, datasetImages, toBytes } from '../eval/evaluator';
import { trainClassifier, type ClassifierTrainOptions } from '../eval/evaluator-training';
import { join } from 'path';

export interface AugmentationOptions {
  /** Any generative model (CVAE-GAN or a baseline): the generated images are model.sample(c, seed). */
  model: Pick<GenerativeModel, 'sample' | 'config'>;
  /** The few real training images per class (e.g. loadDataset({ ..., maxPerClass: 5 })). */
  train: ImageDataset;
  /** Real test images of the same classes (e.g. the same selection with split 'test'). */
  test: ImageDataset;
  /** Generated images added per class. */
  generatedPerClass: number;
  /** For lib/eval/evaluator-training.ts's trainClassifier (preset, epochs, ...); default heldOutFraction 0 (see below). */
  classifierOpts?: ClassifierTrainOptions;
  /**
   * 'steps' (default): both classifiers get the same number of minibatch updates (the real-only run
   * gets proportionally more epochs), so a gain cannot come from training longer. 'epochs': both
   * train classifierOpts.maxEpochs epochs over their own set.
   */
  budget?: 'steps' | 'epochs';
  /** Seeds the generated images and both classifiers (default 1). */
  seed?: number;
  /** Checkpoints of the two classifiers go to <dir>/real-only and <dir>/real+generated. */
  checkpointDir?: string;
  log?(line: string): void;
}

export interface AugmentationRun {
  /** Top-1 accuracy on the real test images. */
  accuracy: number;
  trainImages: number;
  /** Epochs trained and the epoch whose weights were kept. */
  epochs: number;
  bestEpoch: number;
}

export interface AugmentationResult {
  realOnly: AugmentationRun;
  realPlusGenerated: AugmentationRun;
  /** realPlusGenerated.accuracy - realOnly.accuracy. */
  gain: number;
  realPerClass: number[];
  generatedPerClass: number;
  testImages: number;
}

/** Images G(z, c) with z ~ N(0, I), `perClass` per class, as bytes (as a saved PNG would be), class-major. */
export function generateByClass(model: Pick<GenerativeModel, 'sample' | 'config'>, perClass: number, seed = 1, chunk = 64): { images: ImageBatch; labels: Int32Array } {
  const { numClasses: K, resolution: R } = model.config;
  if (!(Number.isInteger(perClass) && perClass >= 0)) throw new Error(`generateByClass: perClass must be a non-negative integer (got ${perClass})`);
  const per = R * R * 3;
  const data = new Uint8Array(K * perClass * per);
  const labels = new Int32Array(K * perClass);
  let n = 0;
  for (let c = 0; c < K; c++) {
    for (let s = 0, part = 0; s < perClass; s += chunk, part++) {
      const m = Math.min(chunk, perClass - s);
      // One seed per (class, chunk), derived from `seed`: reruns give the same images.
      const x = model.sample(new Array<number>(m).fill(c), { seed: (Math.imul(seed, 0x9e3779b1) + c * 65537 + part) >>> 0 });
      try {
        data.set(toBytes(x).data, n * per);
      } finally {
        x.dispose();
      }
      labels.fill(c, n, n + m);
      n += m;
    }
  }
  return { images: { data, shape: [n, R, R, 3] }, labels };
}

/**
 * The paper's data-augmentation experiment in our datasets' terms. The paper (Table 2, [S1]) trains
 * a face recognition model on real identities, then on real plus CVAE-GAN-generated images of the
 * same identities, and reports LFW verification accuracy 91.87% -> 92.98%. We have no LFW pairs, so:
 * a classifier (lib/eval/evaluator-training.ts's trainClassifier, the same architecture and seed both times) is
 * trained on `train` (a few real images per class), then on `train` plus `generatedPerClass`
 * generated images per class, and each is measured by top-1 accuracy on the real `test` images.
 *
 * Held-out early stopping is off by default (heldOutFraction 0, the last epoch is kept): in the
 * second run a held-out share would be partly generated, and the test set must not choose epochs.
 */
export async function augmentationExperiment(opts: AugmentationOptions): Promise<AugmentationResult> {
  const { model, train, test } = opts;
  const { numClasses: K, resolution: R } = model.config;
  const log = opts.log ?? (() => {});
  for (const [what, ds] of [['train', train], ['test', test]] as const) {
    if (ds.numClasses !== K) throw new Error(`augmentationExperiment: ${what} has ${ds.numClasses} classes, the model ${K}`);
    if (ds.resolution !== R) throw new Error(`augmentationExperiment: ${what} is ${ds.resolution} px, the model ${R} px`);
  }
  if (JSON.stringify(train.classIds) !== JSON.stringify(test.classIds)) {
    throw new Error('augmentationExperiment: train and test select different classes (classIds differ); load both with the same classes option');
  }
  const seed = opts.seed ?? 1;
  const base: ClassifierTrainOptions = { heldOutFraction: 0, seed, ...(opts.classifierOpts ?? {}) };
  if (base.checkpointDir) throw new Error('augmentationExperiment: pass checkpointDir to the experiment, not in classifierOpts (it holds two classifiers)');
  const real = datasetImages(train);
  const gen = generateByClass(model, opts.generatedPerClass, seed);
  const both: ImageBatch = { data: new Uint8Array(real.data.length + gen.images.data.length), shape: [real.shape[0] + gen.images.shape[0], R, R, 3] };
  both.data.set(real.data, 0);
  both.data.set(gen.images.data, real.data.length);
  const bothLabels = new Int32Array(both.shape[0]);
  bothLabels.set(train.labels, 0);
  bothLabels.set(gen.labels, train.labels.length);

  // Equal updates: an epoch is floor(N / batch) minibatches, so the real-only run gets that many more epochs.
  // The classifier's resolved batch size and epochs (its preset's, unless overridden).
  // (checkpointDir, onEpoch and log are trainClassifier's options, not config fields.)
  const { preset = 'cpu', checkpointDir: _dir, onEpoch: _onEpoch, log: _log, ...overrides } = base;
  const resolved = classifierConfig(preset, R, K, overrides);
  const batch = resolved.batchSize;
  const epochs = resolved.maxEpochs;
  const perEpoch = (n: number) => Math.floor(n / batch);
  if (perEpoch(real.shape[0]) < 1) throw new Error(`augmentationExperiment: ${real.shape[0]} real images is less than one batch of ${batch}; set classifierOpts.batchSize`);
  const realEpochs = (opts.budget ?? 'steps') === 'steps' ? Math.max(epochs, Math.round((epochs * perEpoch(both.shape[0])) / perEpoch(real.shape[0]))) : epochs;

  const run = async (images: ImageBatch, labels: ArrayLike<number>, maxEpochs: number, name: string): Promise<AugmentationRun> => {
    log(`augmentation: training on ${name} (${images.shape[0]} images, ${maxEpochs} epochs)`);
    const c = await trainClassifier(images, labels, K, { ...base, maxEpochs, log, checkpointDir: opts.checkpointDir ? join(opts.checkpointDir, name) : undefined });
    try {
      const accuracy = c.accuracy(datasetImages(test), test.labels);
      log(`augmentation: ${name}: test accuracy ${(100 * accuracy).toFixed(2)}%`);
      return { accuracy, trainImages: images.shape[0], epochs: c.history.length, bestEpoch: c.bestEpoch };
    } finally {
      c.dispose();
    }
  };
  const realOnly = await run(real, train.labels, realEpochs, 'real-only');
  const realPlusGenerated = await run(both, bothLabels, epochs, 'real+generated');
  const realPerClass = new Array<number>(K).fill(0);
  for (const l of train.labels) realPerClass[l]++;
  return { realOnly, realPlusGenerated, gain: realPlusGenerated.accuracy - realOnly.accuracy, realPerClass, generatedPerClass: opts.generatedPerClass, testImages: test.labels.length };
}
