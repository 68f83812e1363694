/**
 * Super-resolution with a trained CVAE-GAN (paper: task named, method unknown to us; ours, see
 * superResolve):
 *
 *   const r = superResolve(model, downsample(x, 4), labels, { reference: x });  // r.psnr: ours vs bicubic
 *
 * and its grid, `superResolutionGrid`. Resampling and PSNR: image-ops.ts; z is fitted by
 * latent-fit.ts. Conventions (images, labels, disposal): common.ts.
 */
import * as tf from '@tensorflow/tfjs';
import { imageGrid, type GridStyle, type ImageGrid } from '../viz/grid';
import { checkImages, labelArray, oneHot, sideBySide, type AppModel, type Labels } from './common';
import { bicubicResize, downsample, psnr, upsampleNearest } from './image-ops';
import { fitFromEncoding, resolveWeights, type FitOptions, type FitProblem, type PriorWeights } from './latent-fit';

export interface SuperResolutionResult {
  /** G(z*, c) at the model's resolution. */
  images: tf.Tensor4D;
  /** The bicubic up-sampling of the input (the baseline, and E's input). */
  bicubic: tf.Tensor4D;
  z: number[][];
  history: number[];
  weights: PriorWeights;
  factor: number;
  /** With `reference`: PSNR (dB, range 2) of ours and of bicubic against it, per image and mean. */
  psnr?: { model: number[]; bicubic: number[]; meanModel: number; meanBicubic: number };
}

/**
 * Super-resolution (paper: task named, method unknown to us; ours). With f = R / r and down() the
 * f x f box filter (downsample):
 *   1. z_0 = mu(bicubic(low), c);
 *   2. z* = argmin_z  mean (down(G(z, c)) - low)^2 + priors (PriorWeights), Adam on z only;
 *      the projection P used by the feature priors is back-projection,
 *        P(g) = g + up_nearest(low - down(g)),
 *      the closest image to g (in L2) whose block means equal low exactly;
 *   3. output = G(z*, c).
 * `reference` (the true high-resolution images) adds PSNR of ours and of bicubic up-sampling.
 */
export function superResolve(model: AppModel, low: tf.Tensor4D, labels: Labels, opts: FitOptions & { reference?: tf.Tensor4D } = {}): SuperResolutionResult {
  const { numClasses: K, resolution: R } = model.config;
  if (low.rank !== 4 || low.shape[1] !== low.shape[2] || low.shape[3] !== 3 || R % low.shape[1] !== 0) {
    throw new Error(`superResolve: low-resolution images have shape [${low.shape}], expected [n, r, r, 3] with r dividing ${R}`);
  }
  const n = low.shape[0];
  const factor = R / low.shape[1];
  if (opts.reference) checkImages(model, opts.reference, 'superResolve: reference');
  if (opts.reference && opts.reference.shape[0] !== n) throw new Error(`superResolve: ${opts.reference.shape[0]} reference images for ${n} inputs`);
  const c = labelArray(labels, n, K, 'superResolve');
  const weights = resolveWeights(model, opts.weights);
  const label = oneHot(c, K);
  const bicubic = bicubicResize(low, [R, R]);
  try {
    const problem: FitProblem = {
      data: (g) => tf.mean(tf.squaredDifference(downsample(g, factor), low), [1, 2, 3]) as tf.Tensor1D,
      project: (g) => tf.add(g, upsampleNearest(tf.sub(low, downsample(g, factor)) as tf.Tensor4D, factor)) as tf.Tensor4D,
    };
    const { generated: images, z, history } = fitFromEncoding(model, bicubic, label, problem, weights, opts);
    const result: SuperResolutionResult = { images, bicubic, z, history, weights, factor };
    if (opts.reference) {
      const ours = psnr(images, opts.reference);
      const base = psnr(bicubic, opts.reference);
      result.psnr = { model: ours, bicubic: base, meanModel: mean(ours), meanBicubic: mean(base) };
    }
    return result;
  } catch (e) {
    bicubic.dispose();
    throw e;
  } finally {
    label.dispose();
  }
}

function mean(v: number[]): number {
  return v.reduce((s, x) => s + x, 0) / v.length;
}

// ------------------------------------------------------------------------------------------------
// Grid

/**
 * Super-resolution as a grid: input (nearest-neighbour enlarged, to show its pixels) | bicubic |
 * ours | reference (when given), one row per image, labelled with the PSNRs when the result has them.
 */
export function superResolutionGrid(low: tf.Tensor4D, r: SuperResolutionResult, opts: GridStyle & { reference?: tf.Tensor4D; rowLabels?: string[] } = {}): ImageGrid {
  const n = low.shape[0];
  const big = upsampleNearest(low, r.factor);
  const blocks = [big, r.bicubic, r.images, ...(opts.reference ? [opts.reference] : [])];
  const tiles = sideBySide(blocks, blocks.map(() => 1), n);
  const p = r.psnr;
  try {
    return imageGrid(tiles, {
      title: `super-resolution ×${r.factor}${p ? ` (mean PSNR: bicubic ${p.meanBicubic.toFixed(2)} dB, ours ${p.meanModel.toFixed(2)} dB)` : ''}`,
      rowLabels: p ? p.model.map((m, i) => `${p.bicubic[i].toFixed(1)} / ${m.toFixed(1)} dB`) : undefined,
      ...opts,
      columns: blocks.length,
      columnLabels: ['input', 'bicubic', 'ours', ...(opts.reference ? ['original'] : [])],
    });
  } finally {
    tf.dispose([big, tiles]);
  }
}
