/**
 * Inpainting with a trained CVAE-GAN (paper: task shown, method unknown to us; ours, see inpaint):
 *
 *   const p = inpaint(model, x, centreMask(32, 0.5), labels);      // fill a hole, keep every known pixel
 *
 * and its grid, `inpaintingGrid`. Masks: boxMask, centreMask (1 = missing). z is fitted by
 * latent-fit.ts. Conventions (images, labels, disposal): common.ts.
 */
import * as tf from '@tensorflow/tfjs';
import { imageGrid, type GridStyle, type ImageGrid } from '../viz/grid';
import { checkImages, labelArray, oneHot, sideBySide, type AppModel, type Labels } from './common';
import { asMask4D } from './image-ops';
import { fitFromEncoding, resolveWeights, type FitOptions, type FitProblem, type PriorWeights } from './latent-fit';

/** A [1, R, R, 1] mask with a rectangular hole (1 inside the box). */
export function boxMask(resolution: number, box: { x: number; y: number; width: number; height: number }): tf.Tensor4D {
  const { x, y, width, height } = box;
  if (![x, y, width, height].every(Number.isInteger) || x < 0 || y < 0 || width < 1 || height < 1 || x + width > resolution || y + height > resolution) {
    throw new Error(`boxMask: box ${JSON.stringify(box)} does not fit in ${resolution}x${resolution}`);
  }
  const m = new Float32Array(resolution * resolution);
  for (let r = y; r < y + height; r++) m.fill(1, r * resolution + x, r * resolution + x + width);
  return tf.tensor4d(m, [1, resolution, resolution, 1]);
}

/** A centred square hole whose side is `fraction` of the image side (default 0.5: a quarter of the area). */
export function centreMask(resolution: number, fraction = 0.5): tf.Tensor4D {
  const side = Math.max(1, Math.min(resolution, Math.round(resolution * fraction)));
  const o = Math.floor((resolution - side) / 2);
  return boxMask(resolution, { x: o, y: o, width: side, height: side });
}

/**
 * x with the hole replaced by `fill`: 'mean' (default) = each image's per-channel mean over its
 * known pixels, a neutral guess that keeps E's input in the range of real images; a number = that
 * value in every channel. The hole's content of x is never read.
 */
export function maskImages(x: tf.Tensor4D, mask: tf.Tensor, fill: 'mean' | number = 'mean'): tf.Tensor4D {
  return tf.tidy(() => {
    const m = asMask4D(mask, x.shape[1], x.shape[2]);
    const known = tf.sub(1, m);
    // Known-pixel mean per image and channel: sum(k * x) / sum(k); where(k) keeps hole values out of it entirely.
    const value =
      fill === 'mean'
        ? tf.div(tf.sum(tf.where(tf.cast(known, 'bool'), x, tf.zerosLike(x)), [1, 2], true), tf.maximum(tf.sum(tf.broadcastTo(known, [x.shape[0], x.shape[1], x.shape[2], 1]), [1, 2], true), 1))
        : tf.scalar(fill);
    return tf.where(tf.cast(tf.broadcastTo(m, x.shape), 'bool'), tf.broadcastTo(value, x.shape), x) as tf.Tensor4D;
  });
}

export interface InpaintResult {
  /** The answer: mask ? G(z, c) : x. Known pixels are x's own values, bit for bit. */
  images: tf.Tensor4D;
  /** G(z, c) over the whole image (what filled the hole). */
  generated: tf.Tensor4D;
  /** What E saw: x with the hole filled (maskImages). */
  masked: tf.Tensor4D;
  /** The optimised codes, [n][zDim]. */
  z: number[][];
  /** Mean objective per image after each Adam step. */
  history: number[];
  /** The weights actually used (terms without their network dropped). */
  weights: PriorWeights;
}

/**
 * Inpainting (paper: task shown, method unknown to us; ours):
 *   1. x_m = x with the hole filled (maskImages, default the known pixels' mean colour);
 *   2. z_0 = mu(x_m, c), E's guess from the visible content;
 *   3. z* = argmin_z  mean_{known pixels} (G(z, c) - x)^2 + priors (PriorWeights), Adam on z only,
 *      `steps` steps — the known pixels choose the code, the priors keep it plausible;
 *   4. output = mask ? G(z*, c) : x (a plain paste, no blending at the seam; known pixels untouched).
 * mask: 1 = missing. [H, W] / [1, H, W, 1] (same hole everywhere) or [n, H, W, 1].
 */
export function inpaint(model: AppModel, x: tf.Tensor4D, mask: tf.Tensor, labels: Labels, opts: FitOptions & { fill?: 'mean' | number } = {}): InpaintResult {
  checkImages(model, x, 'inpaint');
  const { numClasses: K, resolution: R } = model.config;
  const n = x.shape[0];
  const c = labelArray(labels, n, K, 'inpaint');
  const weights = resolveWeights(model, opts.weights);
  const m = asMask4D(mask, R, R);
  if (m.shape[0] !== 1 && m.shape[0] !== n) {
    m.dispose();
    throw new Error(`inpaint: ${m.shape[0]} masks for ${n} images (give one, or one per image)`);
  }
  const hole = tf.tidy(() => tf.cast(tf.broadcastTo(m, [n, R, R, 3]), 'bool') as tf.Tensor4D);
  const known = tf.tidy(() => tf.sub(1, tf.broadcastTo(m, [n, R, R, 1])) as tf.Tensor4D);
  const label = oneHot(c, K);
  const masked = maskImages(x, m, opts.fill ?? 'mean');
  try {
    const problem: FitProblem = {
      // mean over the known pixels and channels of (G - x)^2, per image; hole pixels of x get weight 0.
      data: (g) => tf.div(tf.sum(tf.mul(tf.squaredDifference(g, masked), known), [1, 2, 3]), tf.mul(tf.maximum(tf.sum(known, [1, 2, 3]), 1), 3)) as tf.Tensor1D,
      project: (g) => tf.where(hole, g, x) as tf.Tensor4D,
    };
    const { generated, z, history } = fitFromEncoding(model, masked, label, problem, weights, opts);
    const images = tf.where(hole, generated, x) as tf.Tensor4D;
    return { images, generated, masked, z, history, weights };
  } catch (e) {
    masked.dispose();
    throw e;
  } finally {
    tf.dispose([m, hole, known, label]);
  }
}

// ------------------------------------------------------------------------------------------------
// Grid

/** Inpainting as a grid: original | masked input | G(z*, c) | result, one row per image. */
export function inpaintingGrid(x: tf.Tensor4D, r: InpaintResult, opts: GridStyle & { rowLabels?: string[] } = {}): ImageGrid {
  const n = x.shape[0];
  const tiles = sideBySide([x, r.masked, r.generated, r.images], [1, 1, 1, 1], n);
  try {
    return imageGrid(tiles, { title: 'inpainting', ...opts, columns: 4, columnLabels: ['original', 'masked', 'G(z*, c)', 'inpainted'] });
  } finally {
    tiles.dispose();
  }
}
