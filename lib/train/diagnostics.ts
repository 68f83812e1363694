/**
 * Two numbers that tell, while a conditional GAN trains, whether it is learning the label at all.
 *
 * - Label dependence of G: for a fixed set of codes z_1..z_n, the mean RMS pixel distance
 *     dep = mean_{c1 < c2} mean_j RMS( G(z_j, c1) - G(z_j, c2) )        (images in [-1, 1])
 *   0 means G ignores c (every class row of a sample grid shows the same images). For scale: two
 *   different real images of one class are about 0.6 apart (results/ "diversity").
 * - D's label gap (for a label-conditioned D): the mean logit on real images with their own label
 *   minus the mean logit with a wrong one,
 *     gap = mean_i ( l(x_i, c_i) - l(x_i, c'_i) ),   c'_i = (c_i + k_i) mod K, k_i in 1..K-1
 *   Above 0: D uses the label to judge realness, so G has a reason to honour it. Near 0: D has
 *   learnt real vs fake only, and no gradient pushes G towards the class.
 *
 * The gap is computed by the model that has such a D (model.labelGap, lib/model/baselines.ts).
 * Both are inference-mode measurements: they change no weight, no batch-norm statistic and no
 * training RNG (z and the wrong labels come from their own seeds).
 */
import * as tf from '@tensorflow/tfjs';

/**
 * The label-dependence formula on images already generated: `images` holds K blocks of n images
 * (block c = G(z_1..z_n, c), the same codes in every block), each `size` values long.
 */
export function labelDependenceOf(images: ArrayLike<number>, numClasses: number, perClass: number, size: number): number {
  if (images.length !== numClasses * perClass * size) throw new Error(`labelDependenceOf: ${images.length} values, expected ${numClasses} x ${perClass} x ${size}`);
  if (numClasses < 2 || perClass < 1) throw new Error('labelDependenceOf: needs at least 2 classes and 1 code');
  let total = 0;
  let pairs = 0;
  for (let a = 0; a < numClasses; a++) {
    for (let b = a + 1; b < numClasses; b++) {
      for (let j = 0; j < perClass; j++) {
        const oa = (a * perClass + j) * size;
        const ob = (b * perClass + j) * size;
        let s = 0;
        for (let d = 0; d < size; d++) {
          const diff = images[oa + d] - images[ob + d];
          s += diff * diff;
        }
        total += Math.sqrt(s / size);
        pairs++;
      }
    }
  }
  return total / pairs;
}

/** What labelDependence needs of a model (every GenerativeModel fits). */
export interface Sampler {
  readonly config: { numClasses: number; zDim: number };
  sample(labels: ArrayLike<number>, opts?: { z?: tf.Tensor2D; seed?: number }): tf.Tensor4D;
}

/** Label dependence of `model`'s G over `classes` (default: up to the first 20) with `perClass` fixed codes. */
export function labelDependence(model: Sampler, opts: { classes?: number[]; perClass?: number; seed?: number } = {}): number {
  const K = model.config.numClasses;
  const classes = opts.classes ?? Array.from({ length: Math.min(K, 20) }, (_, i) => i);
  const n = opts.perClass ?? 8;
  const z1 = tf.randomNormal([n, model.config.zDim], 0, 1, 'float32', opts.seed ?? 4321) as tf.Tensor2D;
  const z = tf.tile(z1, [classes.length, 1]) as tf.Tensor2D;
  const labels = classes.flatMap((c) => new Array<number>(n).fill(c));
  try {
    // A seed with z: the model then draws nothing from its own sampling RNG.
    const x = model.sample(labels, { z, seed: 0 });
    const size = x.size / labels.length;
    const v = x.dataSync();
    x.dispose();
    return labelDependenceOf(v, classes.length, n, size);
  } finally {
    tf.dispose([z1, z]);
  }
}

/** What trainingDiagnostics needs of a model (every GenerativeModel fits). */
export interface DiagnosedModel extends Sampler {
  labelGap?(x: tf.Tensor4D, labels: ArrayLike<number>): number;
}

/**
 * lib/train.ts's `diagnostics` option for `model`: every `every` steps, `label_dep` (G's label
 * dependence) and, for a label-conditioned D and when probe images are given, `D_label_gap` on
 * them (real images with their labels, in [-1, 1]; the caller keeps the tensor alive during
 * training and disposes it).
 */
export function trainingDiagnostics(model: DiagnosedModel, probe?: { x: tf.Tensor4D; labels: ArrayLike<number> }, every = 100): { every: number; measure(): Record<string, number> } {
  return {
    every,
    measure: () => ({
      label_dep: labelDependence(model),
      ...(model.labelGap && probe ? { D_label_gap: model.labelGap(probe.x, probe.labels) } : {}),
    }),
  };
}
