/**
 * Identity / species swap and interpolation (morphing) with a trained CVAE-GAN (paper-notes §7), and
 * their grids:
 *
 *   const s = swapClasses(model, x, labels, [0, 3, 5]);            // keep z = E(x, c), change c
 *   const a = interpolateImages(model, xa, ca, xb, cb, 8);         // morph through z (and the label)
 *   const b = interpolateClasses(model, 2, 7, 8, { count: 4 });    // morph in the label input only
 *
 * `swapGrid`, `imageInterpolationGrid` and `classInterpolationGrid` draw them with lib/viz/grid.ts
 * in one line. Conventions (images, labels, disposal): common.ts.
 */
import * as tf from '@tensorflow/tfjs';
import { imageGrid, interpolateLatents, type ImageGrid } from '../viz/grid';
import { checkImages, encodeMean, generate, labelArray, nameOf, net, oneHot, rowsOf, sideBySide, type AppGridStyle, type AppModel, type Labels } from './common';

// ------------------------------------------------------------------------------------------------
// Identity / species swap

export interface SwapResult {
  /** [n * T, R, R, 3], row-major: image i * T + t is G(z_i, targetClasses[t]). */
  images: tf.Tensor4D;
  /** z_i = E(x_i, c_i) (the posterior mean unless `seed` drew z ~ q), [n][zDim]: the same z for all T targets. */
  z: number[][];
  rows: number;
  columns: number;
}

/**
 * Identity / species swap [S4]: z = E(x, c_source) holds what the label does not (pose, expression,
 * lighting, background); G(z, c_target) redraws it as each target class.
 *   z_i = mu(x_i, c_i)            (or z_i ~ N(mu, sigma^2) with `seed`)
 *   out[i, t] = G(z_i, e_{target_t})
 */
export function swapClasses(model: AppModel, x: tf.Tensor4D, sourceLabels: Labels, targetClasses: number[], opts: { seed?: number } = {}): SwapResult {
  checkImages(model, x, 'swapClasses');
  const { numClasses: K, zDim } = model.config;
  const n = x.shape[0];
  const src = labelArray(sourceLabels, n, K, 'swapClasses');
  const targets = labelArray(targetClasses, targetClasses.length, K, 'swapClasses: targetClasses');
  if (targets.length < 1) throw new Error('swapClasses: give at least one target class');
  const T = targets.length;
  const { images, z } = tf.tidy(() => {
    const onehot = oneHot(src, K);
    const [mu, logvar] = net(model, 'E', 'swapClasses').apply([x, onehot], { training: false }) as tf.Tensor2D[];
    // z = mu + sigma * eps when a seed asks for a posterior draw.
    const z = opts.seed === undefined ? mu : (tf.add(mu, tf.mul(tf.exp(tf.mul(0.5, logvar)), tf.randomNormal([n, zDim], 0, 1, 'float32', opts.seed))) as tf.Tensor2D);
    // Row i repeated T times, one row per (source, target) pair.
    const zRep = tf.reshape(tf.tile(tf.expandDims(z, 1), [1, T, 1]), [n * T, zDim]) as tf.Tensor2D;
    const labels: number[] = [];
    for (let i = 0; i < n; i++) labels.push(...targets);
    return { images: generate(model, zRep, oneHot(labels, K)), z };
  });
  const zRows = rowsOf(z);
  z.dispose();
  return { images, z: zRows, rows: n, columns: T };
}

// ------------------------------------------------------------------------------------------------
// Interpolation / morphing

export type LatentPath = 'linear' | 'slerp';

/**
 * Morphs between image pairs (xa_i, xb_i) through the latent space, `steps` images per pair:
 *   z_a = mu(xa, c_a), z_b = mu(xb, c_b),   t_k = k / (steps - 1)
 *   out[i, k] = G( path(z_a, z_b, t_k), (1 - t_k) e_{c_a} + t_k e_{c_b} )
 * `path` is linear (default) or slerp. When c_a = c_b the label stays that class's one-hot; when they
 * differ, the label input moves along the segment between the two one-hots, so the morph changes
 * identity/species and attributes together. Returns [n * steps, R, R, 3], row i = pair i.
 */
export function interpolateImages(
  model: AppModel,
  xa: tf.Tensor4D,
  labelsA: Labels,
  xb: tf.Tensor4D,
  labelsB: Labels,
  steps: number,
  opts: { path?: LatentPath } = {},
): tf.Tensor4D {
  checkImages(model, xa, 'interpolateImages: xa');
  checkImages(model, xb, 'interpolateImages: xb');
  checkSteps(steps, 'interpolateImages');
  const K = model.config.numClasses;
  const n = xa.shape[0];
  if (xb.shape[0] !== n) throw new Error(`interpolateImages: ${n} images in xa but ${xb.shape[0]} in xb (one pair per row)`);
  const ca = labelArray(labelsA, n, K, 'interpolateImages: labelsA');
  const cb = labelArray(labelsB, n, K, 'interpolateImages: labelsB');
  return tf.tidy(() => {
    const za = encodeMean(model, xa, oneHot(ca, K));
    const zb = encodeMean(model, xb, oneHot(cb, K));
    const zRows: tf.Tensor2D[] = [];
    const cRows: tf.Tensor2D[] = [];
    for (let i = 0; i < n; i++) {
      const [a, b] = [tf.squeeze(tf.slice(za, [i, 0], [1, -1]), [0]) as tf.Tensor1D, tf.squeeze(tf.slice(zb, [i, 0], [1, -1]), [0]) as tf.Tensor1D];
      zRows.push(interpolateLatents(a, b, steps, opts.path ?? 'linear'));
      cRows.push(labelPath(ca[i], cb[i], steps, K));
    }
    return generate(model, tf.concat(zRows) as tf.Tensor2D, tf.concat(cRows) as tf.Tensor2D);
  });
}

/**
 * Morphs between two classes in the label input only, with z fixed per row:
 *   out[i, k] = G( z_i, (1 - t_k) e_a + t_k e_b ),   t_k = k / (steps - 1)
 * z: given ([n, zDim], e.g. an encoded image's mu) or `count` codes drawn from N(0, I) with `seed`.
 * Returns [n * steps, R, R, 3], row i = z_i.
 */
export function interpolateClasses(
  model: AppModel,
  classA: number,
  classB: number,
  steps: number,
  opts: { z?: tf.Tensor2D; count?: number; seed?: number } = {},
): tf.Tensor4D {
  const { numClasses: K, zDim } = model.config;
  labelArray([classA, classB], 2, K, 'interpolateClasses');
  checkSteps(steps, 'interpolateClasses');
  if (opts.z && (opts.z.rank !== 2 || opts.z.shape[1] !== zDim)) throw new Error(`interpolateClasses: z has shape [${opts.z.shape}], expected [n, ${zDim}]`);
  const n = opts.z ? opts.z.shape[0] : opts.count ?? 1;
  if (!(Number.isInteger(n) && n >= 1)) throw new Error(`interpolateClasses: count must be a positive integer (got ${opts.count})`);
  return tf.tidy(() => {
    const z = opts.z ?? (tf.randomNormal([n, zDim], 0, 1, 'float32', opts.seed) as tf.Tensor2D);
    // Each z repeated `steps` times, beside the same label path.
    const zRep = tf.reshape(tf.tile(tf.expandDims(z, 1), [1, steps, 1]), [n * steps, zDim]) as tf.Tensor2D;
    const c = tf.tile(labelPath(classA, classB, steps, K), [n, 1]) as tf.Tensor2D;
    return generate(model, zRep, c);
  });
}

/** [steps, K]: row k = (1 - t_k) e_a + t_k e_b, a convex mix of two one-hots (sums to 1). */
export function labelPath(a: number, b: number, steps: number, K: number): tf.Tensor2D {
  return tf.tidy(() => {
    const t = tf.reshape(tf.linspace(0, 1, steps), [steps, 1]);
    const ea = tf.oneHot(tf.tensor1d([a], 'int32'), K).toFloat();
    const eb = tf.oneHot(tf.tensor1d([b], 'int32'), K).toFloat();
    return tf.add(tf.mul(tf.sub(1, t), ea), tf.mul(t, eb)) as tf.Tensor2D;
  });
}

function checkSteps(steps: number, what: string): void {
  if (!(Number.isInteger(steps) && steps >= 2)) throw new Error(`${what}: steps must be an integer >= 2 (got ${steps})`);
}

// ------------------------------------------------------------------------------------------------
// Grids

/** Swap as a grid: one row per source image, its input first, then one column per target class. */
export function swapGrid(model: AppModel, x: tf.Tensor4D, sourceLabels: Labels, targetClasses: number[], opts: AppGridStyle & { seed?: number } = {}): ImageGrid {
  const r = swapClasses(model, x, sourceLabels, targetClasses, { seed: opts.seed });
  const src = labelArray(sourceLabels, x.shape[0], model.config.numClasses, 'swapGrid');
  const tiles = sideBySide([x, r.images], [1, r.columns], r.rows);
  try {
    return imageGrid(tiles, {
      title: 'class swap: z = E(x, c), then G(z, c\')',
      ...opts,
      columns: r.columns + 1,
      columnLabels: ['input', ...targetClasses.map((t) => nameOf(opts.classNames, t))],
      rowLabels: src.map((c) => nameOf(opts.classNames, c)),
    });
  } finally {
    tf.dispose([r.images, tiles]);
  }
}

/** Image-to-image morphs as a grid: xa, the `steps` generated images, xb, one row per pair. */
export function imageInterpolationGrid(
  model: AppModel,
  xa: tf.Tensor4D,
  labelsA: Labels,
  xb: tf.Tensor4D,
  labelsB: Labels,
  steps: number,
  opts: AppGridStyle & { path?: LatentPath } = {},
): ImageGrid {
  const path = interpolateImages(model, xa, labelsA, xb, labelsB, steps, { path: opts.path });
  const n = xa.shape[0];
  const tiles = sideBySide([xa, path, xb], [1, steps, 1], n);
  const K = model.config.numClasses;
  const ca = labelArray(labelsA, n, K, 'imageInterpolationGrid');
  const cb = labelArray(labelsB, n, K, 'imageInterpolationGrid');
  try {
    return imageGrid(tiles, {
      title: 'interpolation between encoded images',
      ...opts,
      columns: steps + 2,
      columnLabels: ['A', ...Array.from({ length: steps }, (_, k) => String(Number((k / (steps - 1)).toFixed(2)))), 'B'],
      rowLabels: ca.map((a, i) => (a === cb[i] ? nameOf(opts.classNames, a) : `${nameOf(opts.classNames, a)} → ${nameOf(opts.classNames, cb[i])}`)),
    });
  } finally {
    tf.dispose([path, tiles]);
  }
}

/** Class-to-class morphs in the label input as a grid: one row per z, columns t = 0 … 1. */
export function classInterpolationGrid(
  model: AppModel,
  classA: number,
  classB: number,
  steps: number,
  opts: AppGridStyle & { z?: tf.Tensor2D; count?: number; seed?: number } = {},
): ImageGrid {
  const images = interpolateClasses(model, classA, classB, steps, opts);
  const a = nameOf(opts.classNames, classA);
  const b = nameOf(opts.classNames, classB);
  try {
    return imageGrid(images, {
      title: `label interpolation: ${a} → ${b}`,
      ...opts,
      columns: steps,
      columnLabels: Array.from({ length: steps }, (_, k) => (k === 0 ? a : k === steps - 1 ? b : String(Number((k / (steps - 1)).toFixed(2))))),
    });
  } finally {
    images.dispose();
  }
}
