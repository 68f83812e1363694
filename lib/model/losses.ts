/**
 * CVAE-GAN's loss terms, one pure function per term (Bao et al. 2017, sec. 3; paper-notes sec. 2).
 *
 * Notation: x_r real images with labels c_r; x_f = G(z, c_r) with z ~ E(x_r, c_r) (reconstructions);
 * x_p = G(z_p, c_p) with z_p ~ N(0, I) (prior samples); f_D, f_C the features of D and C.
 *
 * Every term is averaged over the batch (the paper writes expectations). Inside a term, a squared
 * norm ||v||^2 over the elements of one image or feature vector is reduced by `Reduction`:
 * 'sum' is the norm as written, 'mean' divides it by the number of elements, a number n divides
 * the sum by n. Which one the paper meant is unknown and it changes what the lambdas mean;
 * config.ts picks, docs/design.md ("model and losses") gives the measurements behind the choice.
 *
 * Stability: probabilities never appear. D's and C's outputs are logits, and
 *   -log sigmoid(l)     = softplus(-l)
 *   -log(1 - sigmoid(l)) = softplus(l)
 *   -log softmax(l)_c   = logsumexp(l) - l_c      (tf.logSoftmax)
 * are computed in those forms, which neither overflow nor return log(0).
 */
import * as tf from '@tensorflow/tfjs';

/** How a squared norm over one example's elements is reduced: sum, mean, or sum / n. */
export type Reduction = 'sum' | 'mean' | number;

/** Reduces `t` over `axes` by `reduction`. */
function reduce(t: tf.Tensor, axes: number[], reduction: Reduction): tf.Tensor {
  if (reduction === 'sum') return tf.sum(t, axes);
  if (reduction === 'mean') return tf.mean(t, axes);
  if (!(typeof reduction === 'number' && reduction > 0)) throw new Error(`reduction must be 'sum', 'mean' or a positive divisor, got ${reduction}`);
  return tf.div(tf.sum(t, axes), reduction);
}

/** Per-example squared distance ||a_i - b_i||^2 over all non-batch axes: [m]. */
export function squaredDistance(a: tf.Tensor, b: tf.Tensor, reduction: Reduction): tf.Tensor1D {
  return tf.tidy(() => {
    if (a.shape.join() !== b.shape.join()) throw new Error(`squaredDistance: shapes differ, [${a.shape}] vs [${b.shape}]`);
    const axes = a.shape.map((_, i) => i).slice(1);
    return reduce(tf.squaredDifference(a, b), axes, reduction) as tf.Tensor1D;
  });
}

/**
 * Discriminator loss, Algorithm 1:
 *   L_D = -( log D(x_r) + log(1 - D(x_f)) + log(1 - D(x_p)) )
 *       = softplus(-l_r) + softplus(l_f) + softplus(l_p)        with D(x) = sigmoid(l(x)),
 * each of the three averaged over its batch. Logits have shape [m] or [m, 1].
 */
export function discriminatorLoss(realLogits: tf.Tensor, reconLogits: tf.Tensor, priorLogits: tf.Tensor): tf.Scalar {
  return tf.tidy(() =>
    tf.addN([tf.mean(tf.softplus(tf.neg(realLogits))), tf.mean(tf.softplus(reconLogits)), tf.mean(tf.softplus(priorLogits))]) as tf.Scalar,
  );
}

/** One-hot float matrix [m, K] from integer labels [m], or the one-hot matrix itself. */
export function asOneHot(labels: tf.Tensor, numClasses: number): tf.Tensor2D {
  return tf.tidy(() => {
    if (labels.rank === 2) {
      if (labels.shape[1] !== numClasses) throw new Error(`one-hot labels have ${labels.shape[1]} columns, expected ${numClasses}`);
      return tf.cast(labels, 'float32') as tf.Tensor2D;
    }
    return tf.cast(tf.oneHot(tf.cast(labels, 'int32') as tf.Tensor1D, numClasses), 'float32') as tf.Tensor2D;
  });
}

/**
 * Classifier loss on real images only:
 *   L_C = -log P(c_r | x_r) = logsumexp(l) - l_{c_r},   averaged over the batch.
 * `labels`: integer labels [m] or one-hot [m, K].
 */
export function classifierLoss(logits: tf.Tensor2D, labels: tf.Tensor): tf.Scalar {
  return tf.tidy(() => {
    const onehot = asOneHot(labels, logits.shape[1]);
    return tf.neg(tf.mean(tf.sum(tf.mul(onehot, tf.logSoftmax(logits)), 1))) as tf.Scalar;
  });
}

/**
 * KL divergence of q(z | x, c) = N(mu, exp(logvar)) from the prior N(0, I):
 *   L_KL = 1/2 ( mu^T mu + sum_i ( exp(logvar_i) - logvar_i - 1 ) )
 * reduced over latent dimensions by `reduction`, averaged over the batch.
 */
export function klLoss(mu: tf.Tensor2D, logvar: tf.Tensor2D, reduction: Reduction): tf.Scalar {
  return tf.tidy(() => {
    const perDim = tf.mul(0.5, tf.add(tf.square(mu), tf.sub(tf.sub(tf.exp(logvar), logvar), 1)));
    const perExample = reduce(perDim, [1], reduction);
    return tf.mean(perExample) as tf.Scalar;
  });
}

/**
 * One pairwise matching term of L_G: 1/2 ||a - b||^2 per example, averaged over the batch.
 * Pairwise: the i-th reconstruction is compared with the i-th real image (or its features).
 */
export function pairwiseLoss(a: tf.Tensor, b: tf.Tensor, reduction: Reduction): tf.Scalar {
  return tf.tidy(() => tf.mul(0.5, tf.mean(squaredDistance(a, b, reduction))) as tf.Scalar);
}

export interface ReconstructionTerms {
  pixel: tf.Scalar;
  fD: tf.Scalar;
  fC: tf.Scalar;
  /** L_G = pixel + fD + fC. */
  total: tf.Scalar;
}

/**
 * Pixel and pairwise feature matching of reconstructions (trains E and G):
 *   L_G = 1/2 ( ||x_r - x_f||^2 + ||f_D(x_r) - f_D(x_f)||^2 + ||f_C(x_r) - f_C(x_f)||^2 )
 * The caller owns the returned scalars (dispose them, or call inside a tidy).
 */
export function reconstructionLoss(
  t: { xr: tf.Tensor4D; xf: tf.Tensor4D; fDr: tf.Tensor2D; fDf: tf.Tensor2D; fCr: tf.Tensor2D; fCf: tf.Tensor2D },
  reduction: Reduction,
): ReconstructionTerms {
  const pixel = pairwiseLoss(t.xr, t.xf, reduction);
  const fD = pairwiseLoss(t.fDr, t.fDf, reduction);
  const fC = pairwiseLoss(t.fCr, t.fCf, reduction);
  return { pixel, fD, fC, total: tf.addN([pixel, fD, fC]) as tf.Scalar };
}

/** Reduces the squared entries of a [.., d] difference over the feature axis (last). */
function reduceFeatures(sq: tf.Tensor, reduction: Reduction): tf.Tensor {
  return reduce(sq, [sq.rank - 1], reduction);
}

/**
 * Mean feature matching of prior samples against real images through D (G's adversarial loss):
 *   L_GD = 1/2 || mean_i f_D(x_r,i) - mean_j f_D(x_p,j) ||^2
 * Matching the batch means (Salimans et al. 2016), not each pair: G only has to produce samples
 * whose features are distributed like the real ones on average.
 */
export function meanFeatureMatchingLoss(fReal: tf.Tensor2D, fFake: tf.Tensor2D, reduction: Reduction): tf.Scalar {
  return tf.tidy(() => tf.mul(0.5, reduceFeatures(tf.squaredDifference(tf.mean(fReal, 0), tf.mean(fFake, 0)), reduction)) as tf.Scalar);
}

/**
 * Per-class feature means: means[c] = sum_{i: c_i = c} f_i / n_c, and the counts n_c.
 * Computed as one-hot^T * features (unsortedSegmentSum has no wasm kernel). Rows of absent classes
 * are zero.
 */
export function classMeans(features: tf.Tensor2D, onehot: tf.Tensor2D): { means: tf.Tensor2D; counts: tf.Tensor1D } {
  return tf.tidy(() => {
    const counts = tf.sum(onehot, 0) as tf.Tensor1D;
    const sums = tf.matMul(onehot, features, true, false);
    const means = tf.div(sums, tf.expandDims(tf.maximum(counts, 1), 1)) as tf.Tensor2D;
    return { means, counts };
  });
}

/**
 * Moving-average update of the real class centres used by L_GC, for the classes in this batch:
 *   centre_c <- decay * centre_c + (1 - decay) * mean_{i: c_i = c} f_C(x_r,i)
 * A class seen for the first time starts at its batch mean (no bias towards the zero init). Absent
 * classes keep their centre. `seen` is a 0/1 float vector [K]. Returns new tensors; the caller
 * assigns them to its state (after checking the step's losses are finite).
 */
export function updateClassCentres(
  centres: tf.Tensor2D,
  seen: tf.Tensor1D,
  fReal: tf.Tensor2D,
  onehot: tf.Tensor2D,
  decay: number,
): { centres: tf.Tensor2D; seen: tf.Tensor1D } {
  return tf.tidy(() => {
    const { means, counts } = classMeans(fReal, onehot);
    const present = tf.cast(tf.greater(counts, 0), 'float32');
    // Per-class mixing weight of the old centre: decay if seen before, 0 if new; absent rows keep 1.
    const keep = tf.add(tf.mul(present, tf.mul(seen, decay)), tf.sub(1, present));
    const next = tf.add(tf.mul(centres, tf.expandDims(keep, 1)), tf.mul(means, tf.expandDims(tf.sub(1, keep), 1))) as tf.Tensor2D;
    return { centres: next, seen: tf.maximum(seen, present) as tf.Tensor1D };
  });
}

/**
 * Per-class mean feature matching of prior samples through C:
 *   L_GC = 1/2 sum_c || centre_c - mean_{j: c_p,j = c} f_C(x_p,j) ||^2
 * over the classes present among the prior labels c_p. The real centres are moving averages held
 * outside any gradient (no variable of E or G produces them), so the gradient flows into the
 * generated side only.
 */
export function classFeatureMatchingLoss(centres: tf.Tensor2D, fFake: tf.Tensor2D, onehotFake: tf.Tensor2D, reduction: Reduction): tf.Scalar {
  return tf.tidy(() => {
    const { means, counts } = classMeans(fFake, onehotFake);
    const present = tf.cast(tf.greater(counts, 0), 'float32');
    const perClass = reduceFeatures(tf.squaredDifference(centres, means), reduction);
    return tf.mul(0.5, tf.sum(tf.mul(present, perClass))) as tf.Scalar;
  });
}

/** Fraction of rows whose arg-max logit equals the label (C's accuracy; a metric, not a loss). */
export function accuracy(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => tf.mean(tf.cast(tf.equal(tf.argMax(logits, 1), tf.cast(labels, 'int32')), 'float32')) as tf.Scalar);
}

/**
 * Thrown by a training step when a loss term is NaN or infinite, before any gradient of that
 * phase is applied (trainStep then rolls back what earlier phases of the step changed). Names the
 * term and the step, and carries every loss value of that phase.
 */
export class NonFiniteLossError extends Error {
  constructor(
    readonly term: string,
    readonly step: number,
    readonly value: number,
    readonly losses: Record<string, number>,
  ) {
    super(
      `loss ${term} is ${value} at step ${step} (${Object.entries(losses).map(([k, v]) => `${k}=${v}`).join(', ')}); the step was rejected and the model is as it was after step ${step - 1}. ` +
        'The batch was finite (images with NaN or Infinity are refused before the step), so training diverged: lower the learning rate.',
    );
    this.name = 'NonFiniteLossError';
  }
}

/**
 * A training batch whose images hold NaN or Infinity, refused before any op of the step, so the
 * model is unchanged. Names the first such image and pixel.
 */
export class NonFiniteInputError extends Error {
  /** Index of the first image in the batch with a non-finite value; -1 when all values are finite but their sum overflows. */
  readonly image: number;
  readonly value: number;
  constructor(
    readonly step: number,
    shape: readonly number[],
    values: ArrayLike<number>,
  ) {
    const [, h, w, ch] = shape;
    let i = 0;
    while (i < values.length && Number.isFinite(values[i])) i++;
    const found = i < values.length;
    const perImage = h * w * ch;
    const image = found ? Math.floor(i / perImage) : -1;
    const where = i % perImage;
    super(
      found
        ? `trainStep: image ${image} of the batch for step ${step} holds ${values[i]} (row ${Math.floor(where / (w * ch))}, column ${Math.floor(where / ch) % w}, channel ${where % ch}); the step was refused before it ran, and the model is unchanged. ` +
            'Fix or drop that image in the data source (a damaged file, a division by zero in preprocessing); pixel values must be finite, in [-1, 1].'
        : `trainStep: the images of the batch for step ${step} are so large that their sum overflows float32; the step was refused and the model is unchanged. Pixel values must be in [-1, 1].`,
    );
    this.name = 'NonFiniteInputError';
    this.image = image;
    this.value = found ? values[i] : Infinity;
  }
}

/** Throws NonFiniteLossError for the first non-finite value among `losses`. */
export function checkFinite(losses: Record<string, number>, step: number): void {
  for (const [term, value] of Object.entries(losses)) {
    if (!Number.isFinite(value)) throw new NonFiniteLossError(term, step, value, losses);
  }
}
