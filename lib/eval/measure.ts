/**
 * Table 1's numbers under the evaluation classifier (evaluator.ts): for the real reference set
 * (referenceStats: the "Real data" row and FID's reference moments; realFid) and for a generative
 * model's samples (evaluate: discriminability, realism, FID, diversity). The metrics themselves:
 * metrics.ts.
 */
import * as tf from '@tensorflow/tfjs';
import type { GenerativeModel } from '../model/interface';
import { Rng } from '../model/rng';
import type { ImageBatch } from '../viz/grid';
import { Classifier, range } from './evaluator';
import { classDiversity, frechetFromMoments, gaussianMoments, inceptionScore, meanPairwiseRms, top1Accuracy } from './metrics';

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
 * The evaluation images: for the j-th of `classes`, class c, `perClass` samples of the model with
 * z drawn from that class's seed (one per class, in order, from Rng(seed, 4)), and the evaluator's
 * outputs on them; both are disposed after `fn`. Every metric of a model's row (evaluate() here,
 * measure-beyond.ts's features) is computed on these same images.
 */
export function forEachEvaluationSample(
  model: GenerativeModel,
  evaluator: Classifier,
  perClass: number,
  seed: number,
  classes: ArrayLike<number>,
  fn: (j: number, c: number, x: tf.Tensor4D, r: { probs: tf.Tensor; features: tf.Tensor }) => void,
): void {
  const rng = new Rng(seed, 4);
  for (let j = 0; j < classes.length; j++) {
    const c = classes[j];
    const x = model.sample(new Array<number>(perClass).fill(c), { seed: rng.seed() });
    let r: { probs: tf.Tensor; features: tf.Tensor } | undefined;
    try {
      r = evaluator.predict(x);
      fn(j, c, x, r);
    } finally {
      if (r) tf.dispose([r.probs, r.features]);
      x.dispose();
    }
  }
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
  const perClassDiv: number[] = [];
  forEachEvaluationSample(model, evaluator, opts.perClass, opts.seed, classes, (j, c, x, r) => {
    probs.set(r.probs.dataSync(), j * opts.perClass * K);
    feats.set(r.features.dataSync(), j * opts.perClass * F);
    const m = { data: x.dataSync(), rows: opts.perClass, cols: x.size / opts.perClass };
    perClassDiv.push(meanPairwiseRms(m, range(0, opts.perClass)));
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
