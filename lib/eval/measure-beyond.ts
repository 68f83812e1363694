/**
 * The metrics beyond Table 1 for a model and for real data, under the evaluator (metrics-beyond.ts
 * has the formulas): intra-class FID, precision / recall (k = 3), density / coverage (k = 5), and
 * the classification accuracy score (CAS, Ravuri & Vinyals 2019: the evaluator's architecture and
 * recipe trained on generated images only, tested on the real test images).
 *
 * Which images, and why:
 * - The generated images are those of measure.ts's evaluate() (same per-class seeds, perClass per
 *   class), so these columns describe the same samples as top-1 and FID.
 * - Intra-class FID: each class's perClass generated features against that class's real test features.
 * - Precision / recall / density / coverage: the k-NN radii depend on the set sizes, so the
 *   generated set is cut to the real test set's size and class balance (the first n_c images of
 *   each class c, n_c = its real test count); the real set is the real test split.
 * - CAS: as many generated images per class as the real training split has, so CAS compares with the
 *   "Real data" top-1 (the evaluator itself: same recipe, trained on the real training images).
 * - The "Real data" row: the real training images in place of generated ones (cut to the test
 *   counts per class for the k-NN metrics), as the FID column's train-vs-test floor.
 */
import * as tf from '@tensorflow/tfjs';
import type { GenerativeModel } from '../model/interface';
import { Rng } from '../model/rng';
import type { ImageBatch } from '../viz/grid';
import { Classifier, ClassifierConfig, ClassifierPreset, range, toBytes } from './evaluator';
import { trainClassifier } from './evaluator-training';
import { forEachEvaluationSample } from './measure';
import { Matrix, top1Accuracy } from './metrics';
import { densityCoverage, intraClassFid, precisionRecall } from './metrics-beyond';

/** Labelled evaluator features: rows of `cols` values. */
export interface LabelledFeatures extends Matrix {
  labels: Int32Array;
}

export interface BeyondMetrics {
  /** Mean over classes of FID_c (generated vs real test features of class c). */
  intraFid: number;
  /** Kynkäänniemi et al. 2019, k = 3. */
  precision: number;
  recall: number;
  /** Naeem et al. 2020, k = 5. */
  density: number;
  coverage: number;
  /** Rows of each set in the k-NN metrics (equal by construction). */
  knnRows: number;
}

/** The features of `perClass` generated images per class, exactly the images measure.ts's evaluate() draws. */
export function generatedFeatures(model: GenerativeModel, evaluator: Classifier, perClass: number, seed: number, classes?: number[]): LabelledFeatures {
  const cs = classes ?? Array.from(range(0, evaluator.config.numClasses));
  const F = evaluator.config.arch.features;
  const data = new Float32Array(cs.length * perClass * F);
  const labels = new Int32Array(cs.length * perClass);
  forEachEvaluationSample(model, evaluator, perClass, seed, cs, (j, c, _x, r) => {
    data.set(r.features.dataSync(), j * perClass * F);
    labels.fill(c, j * perClass, (j + 1) * perClass);
  });
  return { data, rows: labels.length, cols: F, labels };
}

/** The evaluator's features of real images. */
export function realFeatures(evaluator: Classifier, images: ImageBatch, labels: ArrayLike<number>): LabelledFeatures {
  const { features, n } = evaluator.predictAll(images);
  return { data: features, rows: n, cols: evaluator.config.arch.features, labels: Int32Array.from(labels) };
}

/** Per class c, the first counts[c] rows of class c (in row order), class by class. */
export function takePerClass(m: LabelledFeatures, counts: readonly number[]): LabelledFeatures {
  const idx: number[] = [];
  counts.forEach((want, c) => {
    const rows: number[] = [];
    for (let i = 0; i < m.rows && rows.length < want; i++) if (m.labels[i] === c) rows.push(i);
    if (rows.length < want) throw new Error(`takePerClass: class ${c} has ${rows.length} rows, ${want} asked for`);
    idx.push(...rows);
  });
  const data = new Float64Array(idx.length * m.cols);
  idx.forEach((r, k) => {
    for (let t = 0; t < m.cols; t++) data[k * m.cols + t] = m.data[r * m.cols + t];
  });
  return { data, rows: idx.length, cols: m.cols, labels: Int32Array.from(idx, (i) => m.labels[i]) };
}

export function countPerClass(labels: ArrayLike<number>, K: number): number[] {
  const c = new Array<number>(K).fill(0);
  for (let i = 0; i < labels.length; i++) c[labels[i]]++;
  return c;
}

/** The four set metrics and intra-class FID of `other` (generated, or real training images) against the real test features. */
export function beyondMetrics(test: LabelledFeatures, other: LabelledFeatures, K: number): BeyondMetrics {
  const intra = intraClassFid(test, test.labels, other, other.labels, K);
  const matched = takePerClass(other, countPerClass(test.labels, K));
  return { intraFid: intra.mean, ...precisionRecall(test, matched, 3), ...densityCoverage(test, matched, 5), knnRows: matched.rows };
}

export interface CasResult {
  /** Top-1 accuracy on the real test images of the classifier trained on generated images, in [0, 1]. */
  cas: number;
  trainImages: number;
  epochs: number;
  bestEpoch: number;
}

/**
 * The classification accuracy score: counts[c] generated images of class c (z ~ N(0, I), seeded
 * with seed + 1 so they are not the table's evaluation images), a classifier of the evaluator's
 * config trained on them alone (its held-out early-stopping share is generated too: no real image
 * is seen in training), then top-1 on the real test images. Resumable through checkpointDir.
 */
export async function classificationAccuracyScore(
  model: GenerativeModel,
  counts: readonly number[],
  test: { images: ImageBatch; labels: ArrayLike<number> },
  opts: { config: ClassifierConfig; preset: ClassifierPreset; seed: number; checkpointDir?: string; log?(l: string): void; shouldStop?(): boolean },
): Promise<CasResult> {
  const K = model.config.numClasses;
  const R = model.config.resolution;
  const total = counts.reduce((s, v) => s + v, 0);
  const per = R * R * 3;
  const data = new Uint8Array(total * per);
  const labels = new Int32Array(total);
  const rng = new Rng(opts.seed + 1, 4);
  let n = 0;
  for (let c = 0; c < K; c++) {
    if (!counts[c]) continue;
    const x = model.sample(new Array<number>(counts[c]).fill(c), { seed: rng.seed() });
    try {
      data.set(toBytes(x).data, n * per);
    } finally {
      x.dispose();
    }
    labels.fill(c, n, n + counts[c]);
    n += counts[c];
  }
  return trainedClassifierScore({ data, shape: [total, R, R, 3] }, labels, K, test, opts);
}

/**
 * A classifier of `opts.config` trained on `images` (generated, or the real training images for
 * the real row), then its top-1 on the real test images. Resumable through checkpointDir.
 */
export async function trainedClassifierScore(
  images: ImageBatch,
  labels: ArrayLike<number>,
  numClasses: number,
  test: { images: ImageBatch; labels: ArrayLike<number> },
  opts: { config: ClassifierConfig; preset: ClassifierPreset; checkpointDir?: string; log?(l: string): void; shouldStop?(): boolean },
): Promise<CasResult> {
  const clf = await trainClassifier(images, labels, numClasses, {
    ...opts.config, preset: opts.preset, checkpointDir: opts.checkpointDir, log: opts.log, shouldStop: opts.shouldStop,
  });
  try {
    const { probs, n: m } = clf.predictAll(test.images);
    return { cas: top1Accuracy({ data: probs, rows: m, cols: numClasses }, test.labels), trainImages: labels.length, epochs: clf.history.length, bestEpoch: clf.bestEpoch };
  } finally {
    clf.dispose();
  }
}
