/**
 * The one interface through which notebooks, the training loop and the evaluation code use a
 * generative model, and the registry that builds one by name.
 *
 *   const model = createModel('cvaegan', makeConfig('cpu', { numClasses: ds.numClasses }));
 *   const r = model.trainStep(x, labels);          // one full Algorithm-1 step, losses as numbers
 *   const imgs = model.sample([0, 0, 1, 1], { seed: 7 });   // [-1, 1], caller disposes
 *   await model.save('runs/flowers');  const again = await loadModel('runs/flowers');
 *
 * Baselines (CVAE, CGAN, FM-CGAN) implement GenerativeModel and add themselves to REGISTRY below
 * (or call registerModel from the notebook that defines them); loadModel reads the kind from the
 * checkpoint and rebuilds the right class.
 */
import * as tf from '@tensorflow/tfjs';
import type { ModelConfig } from './config';
import { CheckpointMeta, readCheckpointMeta } from './checkpoint';
import { CVAEGAN } from './cvaegan';
import { CGAN, CVAE, FMCGAN } from './baselines';

export { NonFiniteLossError } from './losses';
export type { CheckpointMeta } from './checkpoint';

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
   * dispose its inputs. Throws NonFiniteLossError (naming term and step) before applying an update
   * whose loss is not finite.
   */
  trainStep(x: tf.Tensor4D, labels: tf.Tensor1D): StepResult;
  /**
   * The same step without synchronous reads (it awaits each loss), for backends that cannot read
   * synchronously: WebGPU in Node. Same ops, same numbers. Every built-in model has it; use
   * `trainStepAsync(model, x, labels)` below for any model.
   */
  trainStepAsync?(x: tf.Tensor4D, labels: tf.Tensor1D): Promise<StepResult>;
  /** Images G(z, c) in [-1, 1] for the given labels; z ~ N(0, I) from `seed` unless given. */
  sample(labels: ArrayLike<number>, opts?: { z?: tf.Tensor2D; seed?: number }): tf.Tensor4D;
  /** The posterior q(z | x, c) = N(mu, exp(logvar)) (models with an encoder). */
  encode?(x: tf.Tensor4D, labels: ArrayLike<number> | tf.Tensor1D): { mu: tf.Tensor2D; logvar: tf.Tensor2D };
  /** G(z, c) with z = mu, or z ~ q(z | x, c) drawn with `seed` when one is given. */
  reconstruct?(x: tf.Tensor4D, labels: ArrayLike<number> | tf.Tensor1D, opts?: { seed?: number }): tf.Tensor4D;
  /** Parameter counts per network and in total. */
  summary(): Record<string, { params: number }>;
  /** Writes a complete checkpoint atomically; `extra` (JSON) comes back from restore as meta.extra. */
  save(dir: string, extra?: object): Promise<void>;
  /** Loads a checkpoint of the same kind and architecture into this model (weights, optimiser, step, RNG). */
  restore(dir: string): Promise<CheckpointMeta>;
  dispose(): void;
}

/** model.trainStepAsync when the model has it, else its synchronous trainStep. */
export async function trainStepAsync(model: GenerativeModel, x: tf.Tensor4D, labels: tf.Tensor1D): Promise<StepResult> {
  return model.trainStepAsync ? model.trainStepAsync(x, labels) : model.trainStep(x, labels);
}

export interface ModelFactory {
  create(config: ModelConfig): GenerativeModel;
}

const REGISTRY: Partial<Record<ModelKind, ModelFactory>> = {
  cvaegan: { create: (config) => new CVAEGAN(config) },
  cvae: { create: (config) => new CVAE(config) },
  cgan: { create: (config) => new CGAN(config) },
  fmcgan: { create: (config) => new FMCGAN(config) },
};

/** Adds or replaces the factory for `kind`. */
export function registerModel(kind: ModelKind, factory: ModelFactory): void {
  REGISTRY[kind] = factory;
}

export function createModel(kind: ModelKind, config: ModelConfig): GenerativeModel {
  const f = REGISTRY[kind];
  if (!f) {
    throw new Error(`no model of kind '${kind}' is registered (registered: ${Object.keys(REGISTRY).join(', ')}); import the file that defines it, or call registerModel('${kind}', ...)`);
  }
  return f.create(config);
}

/** Rebuilds the model saved in `dir` (any registered kind) and loads its state. */
export async function loadModel(dir: string): Promise<GenerativeModel> {
  const meta = readCheckpointMeta(dir);
  const model = createModel(meta.kind as ModelKind, meta.config as ModelConfig);
  try {
    await model.restore(dir);
  } catch (e) {
    model.dispose();
    throw e;
  }
  return model;
}
