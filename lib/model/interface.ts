/**
 * The one interface through which notebooks, the training loop and the evaluation code use a
 * generative model: types only (this file compiles to nothing). The model classes (cvaegan.ts,
 * baselines.ts, modelbase.ts) implement it and import only this file; factory.ts builds them by
 * name and imports the classes. So the classes never import the factory, and nothing imports in a
 * circle.
 */
import type * as tf from '@tensorflow/tfjs';
import type { ModelConfig } from './config';
import type { CheckpointMeta } from './checkpoint';

export type ModelKind = 'cvaegan' | 'cvae' | 'cgan' | 'fmcgan';

export interface StepResult {
  /** The number of completed steps after this one (1 after the first step). */
  step: number;
  /** Every loss term of the step, by name (see GenerativeModel.lossNames). */
  losses: Record<string, number>;
  /** Diagnostics that are not losses (accuracies, mean D outputs), by name. */
  metrics: Record<string, number>;
}

export interface GenerativeModel {
  readonly kind: ModelKind;
  readonly config: ModelConfig;
  /** Keys of StepResult.losses, in plotting order. */
  readonly lossNames: readonly string[];
  /** Keys of StepResult.metrics. */
  readonly metricNames: readonly string[];
  /** Completed training steps. */
  readonly step: number;
  /**
   * One full training step on a batch: x [m, R, R, 3] in [-1, 1], labels [m] integers. Does not
   * dispose its inputs. All or nothing: a batch with NaN/Inf pixels is refused before the step
   * runs (NonFiniteInputError, naming the image), a non-finite loss stops it before that phase's
   * update (NonFiniteLossError, naming term and step), and whatever throws, the model is left
   * exactly as it was before the step (weights, optimiser state, batch-norm statistics, extra
   * state, RNG position).
   */
  trainStep(x: tf.Tensor4D, labels: tf.Tensor1D): StepResult;
  /**
   * The same step without synchronous reads (it awaits each loss), for backends that cannot read
   * synchronously: WebGPU in Node. Same ops, same numbers. Every built-in model has it; use
   * `trainStepAsync(model, x, labels)` of factory.ts for any model.
   */
  trainStepAsync?(x: tf.Tensor4D, labels: tf.Tensor1D): Promise<StepResult>;
  /** Images G(z, c) in [-1, 1] for the given labels; z ~ N(0, I) from `seed` unless given. */
  sample(labels: ArrayLike<number>, opts?: { z?: tf.Tensor2D; seed?: number }): tf.Tensor4D;
  /** The posterior q(z | x, c) = N(mu, exp(logvar)) (models with an encoder). */
  encode?(x: tf.Tensor4D, labels: ArrayLike<number> | tf.Tensor1D): { mu: tf.Tensor2D; logvar: tf.Tensor2D };
  /** G(z, c) with z = mu, or z ~ q(z | x, c) drawn with `seed` when one is given. */
  reconstruct?(x: tf.Tensor4D, labels: ArrayLike<number> | tf.Tensor1D, opts?: { seed?: number }): tf.Tensor4D;
  /**
   * D's label gap on real images (lib/train/diagnostics.ts): mean logit with the right label minus
   * with a wrong one. Only models whose D sees the label (CGAN, FM-CGAN) have it.
   */
  labelGap?(x: tf.Tensor4D, labels: ArrayLike<number>): number;
  /** Parameter counts per network and in total. */
  summary(): Record<string, { params: number }>;
  /** Writes a complete checkpoint atomically; `extra` (JSON) comes back from restore as meta.extra. */
  save(dir: string, extra?: object): Promise<void>;
  /** Loads a checkpoint of the same kind and architecture into this model (weights, optimiser, step, RNG). */
  restore(dir: string): Promise<CheckpointMeta>;
  dispose(): void;
}
