/**
 * The paper's applications of a trained CVAE-GAN, one call each (Bao et al. 2017; paper-notes §7):
 *
 *   const s = swapClasses(model, x, labels, [0, 3, 5]);            // keep z = E(x, c), change c
 *   const a = interpolateImages(model, xa, ca, xb, cb, 8);         // morph through z (and the label)
 *   const b = interpolateClasses(model, 2, 7, 8, { count: 4 });    // morph in the label input only
 *   const p = inpaint(model, x, centreMask(32, 0.5), labels);      // fill a hole, keep every known pixel
 *   const r = superResolve(model, downsample(x, 4), labels, { reference: x });  // r.psnr: ours vs bicubic
 *   const e = await augmentationExperiment({ model, train, test, generatedPerClass: 50 });   // accuracy both ways
 *
 * and `swapGrid`, `imageInterpolationGrid`, `classInterpolationGrid`, `inpaintingGrid`,
 * `superResolutionGrid` draw the results with lib/grid.ts in one line.
 *
 * Conventions: images are NHWC tf.Tensor4D in [-1, 1]; labels are integer class ids (an array, a
 * typed array or a Tensor1D). Every function leaves its inputs alone and returns new tensors that the
 * caller disposes (`disposeResult(r)` disposes every tensor of a result record). All networks run in
 * inference mode (batch-norm moving statistics), so an application never changes the model.
 *
 * Where the paper is silent (inpainting and super-resolution: method unknown to us), the method here
 * is our own, stated beside its code and in docs/design.md "## applications".
 */
import * as tf from '@tensorflow/tfjs';
import type { ModelConfig } from '../model/config';
import { asOneHot } from '../model/losses';
import { imageGrid, interpolateLatents, type GridStyle, type ImageBatch, type ImageGrid } from '../viz/grid';
import { classifierConfig, datasetImages, toBytes, trainClassifier, type ClassifierTrainOptions } from '../eval/evaluator';
import type { GenerativeModel } from '../model/interface';
import type { ImageDataset } from '../../datasets/types';
import { join } from 'path';

// ------------------------------------------------------------------------------------------------
// The model as the applications see it

/**
 * What the applications need: the config and the networks (CVAEGAN fits, and so do the baselines of
 * lib/baselines.ts as far as they have the networks). E is needed by everything that starts from an
 * image (swap, image interpolation, the starting z of inpainting and super-resolution), G by all.
 * D and C serve only the optional prior terms of inpainting and super-resolution, which are dropped
 * for a model that lacks them or whose D/C is conditioned on the label (a second input).
 */
export interface AppModel {
  readonly config: ModelConfig;
  readonly nets: { readonly E?: tf.LayersModel; readonly G?: tf.LayersModel; readonly D?: tf.LayersModel; readonly C?: tf.LayersModel };
}

function net(model: AppModel, name: 'E' | 'G', what: string): tf.LayersModel {
  const m = model.nets[name];
  if (!m) throw new Error(`${what} needs the model's ${name === 'E' ? 'encoder E' : 'generator G'}, and this model has none`);
  return m;
}

export type Labels = ArrayLike<number> | tf.Tensor1D;

function labelArray(labels: Labels, n: number, K: number, what: string): number[] {
  const a = labels instanceof tf.Tensor ? Array.from(labels.dataSync()) : Array.from(labels);
  if (a.length !== n) throw new Error(`${what}: ${a.length} labels for ${n} images`);
  a.forEach((c, i) => {
    if (!Number.isInteger(c) || c < 0 || c >= K) throw new Error(`${what}: label ${c} at index ${i} is not a class of this model (0..${K - 1})`);
  });
  return a;
}

function checkImages(model: AppModel, x: tf.Tensor, what: string): void {
  const R = model.config.resolution;
  if (x.rank !== 4 || x.shape[1] !== R || x.shape[2] !== R || x.shape[3] !== 3) {
    throw new Error(`${what}: images have shape [${x.shape}], expected [n, ${R}, ${R}, 3] (this model's resolution)`);
  }
  if (x.shape[0] < 1) throw new Error(`${what}: no images`);
}

function oneHot(labels: number[], K: number): tf.Tensor2D {
  return tf.tidy(() => asOneHot(tf.tensor1d(labels, 'int32'), K));
}

/** mu of q(z | x, c) = E(x, c): the posterior mean, the code that reconstructs x best. [n, zDim]. */
function encodeMean(model: AppModel, x: tf.Tensor4D, onehot: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => (net(model, 'E', 'encoding').apply([x, onehot], { training: false }) as tf.Tensor2D[])[0]);
}

/** G(z, c) in inference mode; `label` may be any vector in the label input (one-hot or a mix). */
function generate(model: AppModel, z: tf.Tensor2D, label: tf.Tensor2D): tf.Tensor4D {
  return net(model, 'G', 'generating').apply([z, label], { training: false }) as tf.Tensor4D;
}

/** Disposes every tensor found in a result record (one level deep, arrays included). */
export function disposeResult(r: object): void {
  for (const v of Object.values(r)) {
    if (v instanceof tf.Tensor) v.dispose();
    else if (Array.isArray(v)) for (const t of v) if (t instanceof tf.Tensor) t.dispose();
  }
}

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

function rowsOf(t: tf.Tensor2D): number[][] {
  return t.arraySync();
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
// Image measures and resampling

/**
 * Peak signal-to-noise ratio per image, in dB:
 *   PSNR(a, b) = 10 log10( range^2 / MSE ),   MSE = mean over the image's pixels and channels of (a - b)^2
 * range = 2 for images in [-1, 1] (the default), 1 for [0, 1], 255 for bytes. Identical images: Infinity.
 */
export function psnr(a: tf.Tensor4D, b: tf.Tensor4D, range = 2): number[] {
  if (a.shape.join() !== b.shape.join()) throw new Error(`psnr: shapes differ, [${a.shape}] vs [${b.shape}]`);
  const mse = tf.tidy(() => tf.mean(tf.squaredDifference(tf.cast(a, 'float32'), tf.cast(b, 'float32')), [1, 2, 3]));
  const v = Array.from(mse.dataSync());
  mse.dispose();
  return v.map((m) => 10 * Math.log10((range * range) / m));
}

/**
 * Mean squared error per image over the pixels where `mask` is 1 (all channels):
 *   sum(mask * (a - b)^2) / (channels * sum(mask)).   mask: [n or 1, H, W, 1] (or [H, W]), 1 = counted.
 */
export function maskedMse(a: tf.Tensor4D, b: tf.Tensor4D, mask: tf.Tensor): number[] {
  const n = a.shape[0];
  const v = tf.tidy(() => {
    const m = tf.broadcastTo(asMask4D(mask, a.shape[1], a.shape[2]), [n, a.shape[1], a.shape[2], 1]);
    const se = tf.sum(tf.mul(tf.squaredDifference(a, b), m), [1, 2, 3]);
    return tf.div(se, tf.mul(tf.sum(m, [1, 2, 3]), a.shape[3]));
  });
  const out = Array.from(v.dataSync());
  v.dispose();
  return out;
}

function checkFactor(x: tf.Tensor4D, factor: number, what: string): void {
  if (!(Number.isInteger(factor) && factor >= 1)) throw new Error(`${what}: factor must be a positive integer (got ${factor})`);
  if (x.shape[1] % factor !== 0 || x.shape[2] % factor !== 0) throw new Error(`${what}: ${x.shape[1]}x${x.shape[2]} images do not divide by ${factor}`);
}

/**
 * The observation model of our super-resolution: box-filter down-sampling by an integer factor f,
 * each low-resolution pixel the mean of an f x f block:
 *   low[i, j] = (1 / f^2) sum_{p, q < f} x[f i + p, f j + q]
 * Written as reshape + mean (not avgPool) so its gradient uses only reshapes and broadcasts.
 */
export function downsample(x: tf.Tensor4D, factor: number): tf.Tensor4D {
  checkFactor(x, factor, 'downsample');
  const [n, h, w, c] = x.shape;
  return tf.tidy(() => tf.mean(tf.reshape(x, [n, h / factor, factor, w / factor, factor, c]), [2, 4]) as tf.Tensor4D);
}

/** Nearest-neighbour up-sampling by an integer factor: each pixel becomes an f x f block (exact copies). */
export function upsampleNearest(x: tf.Tensor4D, factor: number): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  return tf.tidy(() => {
    const r = tf.tile(tf.reshape(x, [n, h, 1, w, 1, c]), [1, 1, factor, 1, factor, 1]);
    return tf.reshape(r, [n, h * factor, w * factor, c]) as tf.Tensor4D;
  });
}

/**
 * Keys' cubic convolution kernel with a = -0.5 (the "bicubic" of Matlab, OpenCV and PIL):
 *   W(s) = (a + 2)|s|^3 - (a + 3)|s|^2 + 1          |s| <= 1
 *   W(s) = a|s|^3 - 5a|s|^2 + 8a|s| - 4a            1 < |s| < 2
 *   W(s) = 0                                         otherwise
 */
export function keysCubic(s: number, a = -0.5): number {
  const x = Math.abs(s);
  if (x <= 1) return (a + 2) * x ** 3 - (a + 3) * x ** 2 + 1;
  if (x < 2) return a * x ** 3 - 5 * a * x ** 2 + 8 * a * x - 4 * a;
  return 0;
}

/** For each output index: the 4 source indices (clamped to the edge) and their Keys weights. */
function cubicTaps(inSize: number, outSize: number): { idx: Int32Array; w: Float64Array } {
  const idx = new Int32Array(outSize * 4);
  const w = new Float64Array(outSize * 4);
  const scale = inSize / outSize;
  for (let o = 0; o < outSize; o++) {
    // Half-pixel centres: output pixel o covers the source position (o + 0.5) * in/out - 0.5.
    const src = (o + 0.5) * scale - 0.5;
    const i0 = Math.floor(src);
    const t = src - i0;
    for (let k = -1; k <= 2; k++) {
      idx[o * 4 + k + 1] = Math.min(inSize - 1, Math.max(0, i0 + k)); // replicate the edge pixel
      w[o * 4 + k + 1] = keysCubic(t - k);
    }
  }
  return { idx, w };
}

/**
 * Bicubic resizing (Keys a = -0.5, half-pixel centres, edge pixels replicated), separable: rows,
 * then columns, on CPU arrays (tfjs has only bilinear and nearest-neighbour resizing). The kernel
 * overshoots at edges, so results are clipped to `clip` (default [-1, 1], our image range; null keeps
 * them). Identity at size = input size.
 */
export function bicubicResize(x: tf.Tensor4D, size: [number, number], clip: [number, number] | null = [-1, 1]): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  const [H, W] = size;
  if (!(Number.isInteger(H) && Number.isInteger(W) && H >= 1 && W >= 1)) throw new Error(`bicubicResize: size must be two positive integers (got ${size})`);
  const src = x.dataSync();
  const rows = cubicTaps(h, H);
  const cols = cubicTaps(w, W);
  // Pass 1: resize along height, [n, H, w, c].
  const mid = new Float64Array(n * H * w * c);
  for (let b = 0; b < n; b++) {
    for (let o = 0; o < H; o++) {
      for (let k = 0; k < 4; k++) {
        const wt = rows.w[o * 4 + k];
        if (wt === 0) continue;
        const from = (b * h + rows.idx[o * 4 + k]) * w * c;
        const to = (b * H + o) * w * c;
        for (let j = 0; j < w * c; j++) mid[to + j] += wt * src[from + j];
      }
    }
  }
  // Pass 2: resize along width, [n, H, W, c].
  const out = new Float32Array(n * H * W * c);
  for (let r = 0; r < n * H; r++) {
    for (let o = 0; o < W; o++) {
      for (let ch = 0; ch < c; ch++) {
        let s = 0;
        for (let k = 0; k < 4; k++) s += cols.w[o * 4 + k] * mid[(r * w + cols.idx[o * 4 + k]) * c + ch];
        out[(r * W + o) * c + ch] = clip ? Math.min(clip[1], Math.max(clip[0], s)) : s;
      }
    }
  }
  return tf.tensor4d(out, [n, H, W, c]);
}

// ------------------------------------------------------------------------------------------------
// Fitting z to partial observations (shared by inpainting and super-resolution)

/**
 * Weights of the prior terms added to the data term when z is optimised (all per image):
 *   E(z) = data(G(z, c)) + prior * 1/2 mean(z^2)
 *        + featureD * mean( (f_D(G) - f_D(P(G)))^2 ) + featureC * mean( (f_C(G) - f_C(P(G)))^2 )
 *        + realism * softplus(-l_D(G))
 * - prior: the N(0, I) prior of z (-log p(z) up to a constant, per dimension), keeps z where G was trained.
 * - featureD / featureC: the paper's pairwise feature matching (L_G's f_D and f_C terms), with the
 *   "real" image replaced by P(G), G(z, c) projected onto the images consistent with the observation
 *   (inpainting: the known pixels pasted in; super-resolution: the low-resolution residual added
 *   back). P(G) is a fixed target within a step (computed outside the gradient), so these terms pull
 *   G's features toward those of an image that agrees with what is known, where the pixel term
 *   alone sees only the observed pixels / the block means.
 * - realism: -log D(G(z, c)) (Yeh et al. 2017's perceptual loss for inpainting with a GAN); off by
 *   default, because our D is trained to call reconstructions fake too and pushes toward its own
 *   notion of "real" rather than toward the observation.
 * Terms whose network the model lacks (D or C) are dropped.
 * Defaults: the feature terms are kept small (0.01). By construction they add nothing about the
 * hole itself (P(G) = G there), and on our tiny test model weight 0.1 raised the hole's MSE on held-out
 * flowers from 0.165 to 0.214 (0.170 at 0.01); see docs/design.md "## applications".
 */
export interface PriorWeights {
  prior: number;
  featureD: number;
  featureC: number;
  realism: number;
}

export const DEFAULT_PRIOR_WEIGHTS: Readonly<PriorWeights> = { prior: 0.01, featureD: 0.01, featureC: 0.01, realism: 0 };

export interface FitOptions {
  /** Adam steps on z (default 100). */
  steps?: number;
  /** Adam learning rate on z (default 0.05; z ~ N(0, I) has unit scale). */
  learningRate?: number;
  weights?: Partial<PriorWeights>;
  /** Called after every step with the mean objective over the images. */
  onStep?(step: number, loss: number): void;
}

interface FitProblem {
  /** Data term per image, [n], differentiable in g = G(z, c). */
  data(g: tf.Tensor4D): tf.Tensor1D;
  /** g projected onto the images consistent with the observation (no gradient needed). */
  project(g: tf.Tensor4D): tf.Tensor4D;
}

/** An unconditional D or C with features: one input (the image), outputs [logits, f]. */
function hasFeatures(m: tf.LayersModel | undefined): m is tf.LayersModel {
  return !!m && m.inputs.length === 1 && m.outputs.length >= 2;
}

/** The second output of D / C (f_D, f_C), or undefined for a network without one. */
function featuresOf(m: tf.LayersModel | undefined, x: tf.Tensor4D): tf.Tensor2D | undefined {
  if (!hasFeatures(m)) return undefined;
  return (m.apply(x, { training: false }) as tf.Tensor[])[1] as tf.Tensor2D;
}

function resolveWeights(model: AppModel, w: Partial<PriorWeights> | undefined): PriorWeights {
  const r: PriorWeights = { ...DEFAULT_PRIOR_WEIGHTS, ...(w ?? {}) };
  for (const [k, v] of Object.entries(r)) if (!(Number.isFinite(v) && v >= 0)) throw new Error(`weights.${k} must be a finite number >= 0 (got ${v})`);
  const { D, C } = model.nets;
  if (!hasFeatures(D)) {
    r.featureD = 0;
    r.realism = 0;
  }
  if (!hasFeatures(C)) r.featureC = 0;
  return r;
}

/**
 * Minimises E(z) (see PriorWeights) over z with Adam, starting from z0; only z is updated (the
 * networks are fixed). Returns the final z and the objective after every step.
 */
function fitLatent(model: AppModel, z0: tf.Tensor2D, label: tf.Tensor2D, problem: FitProblem, weights: PriorWeights, opts: FitOptions): { z: tf.Tensor2D; history: number[] } {
  const steps = opts.steps ?? 100;
  if (!(Number.isInteger(steps) && steps >= 0)) throw new Error(`steps must be a non-negative integer (got ${steps})`);
  const n = z0.shape[0];
  const { D, C } = model.nets;
  const useFeatures = weights.featureD > 0 || weights.featureC > 0;
  const z = tf.variable(z0, true);
  const optimizer = tf.train.adam(opts.learningRate ?? 0.05, 0.9, 0.999);
  const history: number[] = [];
  try {
    for (let s = 0; s < steps; s++) {
      // The feature targets f(P(G(z, c))) of this step, outside the gradient: a fixed target.
      const targets: { fD?: tf.Tensor2D; fC?: tf.Tensor2D } = useFeatures
        ? tf.tidy(() => {
            const p = problem.project(generate(model, z, label));
            return { fD: weights.featureD > 0 ? featuresOf(D, p) : undefined, fC: weights.featureC > 0 ? featuresOf(C, p) : undefined };
          })
        : {};
      const cost = optimizer.minimize(
        () => {
          const g = generate(model, z, label);
          const terms: tf.Tensor1D[] = [problem.data(g)];
          // 1/2 mean_d z_d^2 per image: the Gaussian prior, scaled like L_KL's 'mean' reduction.
          if (weights.prior > 0) terms.push(tf.mul(weights.prior, tf.mul(0.5, tf.mean(tf.square(z), 1))) as tf.Tensor1D);
          const match = (f: tf.Tensor2D | undefined, target: tf.Tensor2D | undefined, w: number) => {
            if (f && target) terms.push(tf.mul(w, tf.mean(tf.squaredDifference(f, target), 1)) as tf.Tensor1D);
          };
          if (weights.featureD > 0 || weights.realism > 0) {
            const [logit, fD] = D!.apply(g, { training: false }) as tf.Tensor2D[];
            if (weights.featureD > 0) match(fD, targets.fD, weights.featureD);
            // -log D(G) = softplus(-l), per image.
            if (weights.realism > 0) terms.push(tf.mul(weights.realism, tf.reshape(tf.softplus(tf.neg(logit)), [n])) as tf.Tensor1D);
          }
          if (weights.featureC > 0) match(featuresOf(C, g), targets.fC, weights.featureC);
          // Summed over images: each image's z gets the gradient of its own objective only.
          return tf.sum(tf.addN(terms)) as tf.Scalar;
        },
        true,
        [z],
      );
      tf.dispose([targets.fD, targets.fC]);
      const v = cost!.dataSync()[0] / n;
      cost!.dispose();
      if (!Number.isFinite(v)) throw new Error(`latent optimisation diverged at step ${s + 1} (objective ${v}); lower learningRate`);
      history.push(v);
      opts.onStep?.(s + 1, v);
    }
    return { z: tf.clone(z) as tf.Tensor2D, history };
  } finally {
    z.dispose();
    optimizer.dispose();
  }
}

/** Starts z at E's mean for `start`, fits it to `problem`, and returns G(z*, c) with z* as rows. */
function fitFromEncoding(model: AppModel, start: tf.Tensor4D, label: tf.Tensor2D, problem: FitProblem, weights: PriorWeights, opts: FitOptions): { generated: tf.Tensor4D; z: number[][]; history: number[] } {
  const z0 = encodeMean(model, start, label);
  let fit: { z: tf.Tensor2D; history: number[] };
  try {
    fit = fitLatent(model, z0, label, problem, weights, opts);
  } finally {
    z0.dispose();
  }
  try {
    return { generated: tf.tidy(() => generate(model, fit.z, label)), z: rowsOf(fit.z), history: fit.history };
  } finally {
    fit.z.dispose();
  }
}

// ------------------------------------------------------------------------------------------------
// Inpainting

/** Brings a mask to [n or 1, H, W, 1] float (1 = hole). Accepts [H, W], [H, W, 1], [n, H, W] or [n, H, W, 1]. */
function asMask4D(mask: tf.Tensor, h: number, w: number): tf.Tensor4D {
  return tf.tidy(() => {
    let m: tf.Tensor = tf.cast(mask, 'float32');
    if (m.rank === 2) m = tf.reshape(m, [1, h, w, 1]);
    else if (m.rank === 3) m = m.shape[2] === 1 && m.shape[0] === h ? tf.reshape(m, [1, h, w, 1]) : tf.expandDims(m, 3);
    if (m.rank !== 4 || m.shape[1] !== h || m.shape[2] !== w || m.shape[3] !== 1) {
      throw new Error(`mask has shape [${mask.shape}], expected [${h}, ${w}] or [n, ${h}, ${w}, 1]`);
    }
    // Anything non-zero is hole: the mask is binary.
    return tf.cast(tf.notEqual(m, 0), 'float32') as tf.Tensor4D;
  });
}

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
// Super-resolution

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
// Data augmentation

export interface AugmentationOptions {
  /** Any generative model (CVAE-GAN or a baseline): the generated images are model.sample(c, seed). */
  model: Pick<GenerativeModel, 'sample' | 'config'>;
  /** The few real training images per class (e.g. loadDataset({ ..., maxPerClass: 5 })). */
  train: ImageDataset;
  /** Real test images of the same classes (e.g. the same selection with split 'test'). */
  test: ImageDataset;
  /** Generated images added per class. */
  generatedPerClass: number;
  /** For lib/evaluator.ts's trainClassifier (preset, epochs, ...); default heldOutFraction 0 (see below). */
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
 * a classifier (lib/evaluator.ts's trainClassifier, the same architecture and seed both times) is
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

// ------------------------------------------------------------------------------------------------
// Grids (lib/grid.ts) in one call

export interface AppGridStyle extends GridStyle {
  /** Class names indexed by label (the dataset's classNames); `#id` without them. */
  classNames?: readonly string[];
}

function nameOf(names: readonly string[] | undefined, id: number): string {
  return names?.[id] ?? `#${id}`;
}

/** Rows of tiles from column blocks [n, k_j, R, R, 3] (k_j tiles each) side by side: [n * sum k_j, R, R, 3]. */
function sideBySide(blocks: tf.Tensor4D[], perRow: number[], n: number): tf.Tensor4D {
  return tf.tidy(() => {
    const [, h, w, c] = blocks[0].shape;
    const parts = blocks.map((b, j) => tf.reshape(b, [n, perRow[j], h, w, c]));
    return tf.reshape(tf.concat(parts, 1), [-1, h, w, c]) as tf.Tensor4D;
  });
}

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
