/**
 * Fitting z to a partial observation, shared by inpainting and super-resolution: start at E's mean
 * for the observed image, then Adam on z alone (the networks stay fixed) against a data term and
 * the prior terms of PriorWeights. The method is our own; the paper does not give one
 * (docs/design.md "## applications").
 */
import * as tf from '@tensorflow/tfjs';
import { encodeMean, generate, rowsOf, type AppModel } from './common';

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

export interface FitProblem {
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

export function resolveWeights(model: AppModel, w: Partial<PriorWeights> | undefined): PriorWeights {
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
export function fitFromEncoding(model: AppModel, start: tf.Tensor4D, label: tf.Tensor2D, problem: FitProblem, weights: PriorWeights, opts: FitOptions): { generated: tf.Tensor4D; z: number[][]; history: number[] } {
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
