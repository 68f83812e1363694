/**
 * What every application of lib/apps/ shares: the model as the applications see it (AppModel: the
 * config and the networks E, G, D, C), label and image checks, E's posterior mean and G in
 * inference mode, disposing a result, and the tile layout the grids use.
 *
 * Conventions of every application: images are NHWC tf.Tensor4D in [-1, 1]; labels are integer
 * class ids (an array, a typed array or a Tensor1D). Every function leaves its inputs alone and
 * returns new tensors that the caller disposes (`disposeResult(r)` disposes every tensor of a result
 * record). All networks run in inference mode (batch-norm moving statistics), so an application
 * never changes the model.
 */
import * as tf from '@tensorflow/tfjs';
import type { ModelConfig } from '../model/config';
import { asOneHot } from '../model/losses';
import type { GridStyle } from '../viz/grid';

/**
 * What the applications need: the config and the networks (CVAEGAN fits, and so do the baselines of
 * lib/model/baselines.ts as far as they have the networks). E is needed by everything that starts from an
 * image (swap, image interpolation, the starting z of inpainting and super-resolution), G by all.
 * D and C serve only the optional prior terms of inpainting and super-resolution, which are dropped
 * for a model that lacks them or whose D/C is conditioned on the label (a second input).
 */
export interface AppModel {
  readonly config: ModelConfig;
  readonly nets: { readonly E?: tf.LayersModel; readonly G?: tf.LayersModel; readonly D?: tf.LayersModel; readonly C?: tf.LayersModel };
}

export function net(model: AppModel, name: 'E' | 'G', what: string): tf.LayersModel {
  const m = model.nets[name];
  if (!m) throw new Error(`${what} needs the model's ${name === 'E' ? 'encoder E' : 'generator G'}, and this model has none`);
  return m;
}

export type Labels = ArrayLike<number> | tf.Tensor1D;

export function labelArray(labels: Labels, n: number, K: number, what: string): number[] {
  const a = labels instanceof tf.Tensor ? Array.from(labels.dataSync()) : Array.from(labels);
  if (a.length !== n) throw new Error(`${what}: ${a.length} labels for ${n} images`);
  a.forEach((c, i) => {
    if (!Number.isInteger(c) || c < 0 || c >= K) throw new Error(`${what}: label ${c} at index ${i} is not a class of this model (0..${K - 1})`);
  });
  return a;
}

export function checkImages(model: AppModel, x: tf.Tensor, what: string): void {
  const R = model.config.resolution;
  if (x.rank !== 4 || x.shape[1] !== R || x.shape[2] !== R || x.shape[3] !== 3) {
    throw new Error(`${what}: images have shape [${x.shape}], expected [n, ${R}, ${R}, 3] (this model's resolution)`);
  }
  if (x.shape[0] < 1) throw new Error(`${what}: no images`);
}

export function oneHot(labels: number[], K: number): tf.Tensor2D {
  return tf.tidy(() => asOneHot(tf.tensor1d(labels, 'int32'), K));
}

/** mu of q(z | x, c) = E(x, c): the posterior mean, the code that reconstructs x best. [n, zDim]. */
export function encodeMean(model: AppModel, x: tf.Tensor4D, onehot: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => (net(model, 'E', 'encoding').apply([x, onehot], { training: false }) as tf.Tensor2D[])[0]);
}

/** G(z, c) in inference mode; `label` may be any vector in the label input (one-hot or a mix). */
export function generate(model: AppModel, z: tf.Tensor2D, label: tf.Tensor2D): tf.Tensor4D {
  return net(model, 'G', 'generating').apply([z, label], { training: false }) as tf.Tensor4D;
}

/** Disposes every tensor found in a result record (one level deep, arrays included). */
export function disposeResult(r: object): void {
  for (const v of Object.values(r)) {
    if (v instanceof tf.Tensor) v.dispose();
    else if (Array.isArray(v)) for (const t of v) if (t instanceof tf.Tensor) t.dispose();
  }
}

export function rowsOf(t: tf.Tensor2D): number[][] {
  return t.arraySync();
}

// ------------------------------------------------------------------------------------------------
// Grids (lib/viz/grid.ts) in one call: what the grid helpers share

export interface AppGridStyle extends GridStyle {
  /** Class names indexed by label (the dataset's classNames); `#id` without them. */
  classNames?: readonly string[];
}

export function nameOf(names: readonly string[] | undefined, id: number): string {
  return names?.[id] ?? `#${id}`;
}

/** Rows of tiles from column blocks [n, k_j, R, R, 3] (k_j tiles each) side by side: [n * sum k_j, R, R, 3]. */
export function sideBySide(blocks: tf.Tensor4D[], perRow: number[], n: number): tf.Tensor4D {
  return tf.tidy(() => {
    const [, h, w, c] = blocks[0].shape;
    const parts = blocks.map((b, j) => tf.reshape(b, [n, perRow[j], h, w, c]));
    return tf.reshape(tf.concat(parts, 1), [-1, h, w, c]) as tf.Tensor4D;
  });
}
