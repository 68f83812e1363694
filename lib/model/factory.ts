/**
 * The registry that builds a generative model by name (the interface itself, GenerativeModel, is in
 * interface.ts and re-exported here).
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
import type { GenerativeModel, ModelKind, StepResult } from './interface';
import { readCheckpointMeta } from './checkpoint';
import { CVAEGAN } from './cvaegan';
import { CGAN, CVAE, FMCGAN } from './baselines';

export { NonFiniteInputError, NonFiniteLossError } from './losses';
export type { CheckpointMeta } from './checkpoint';
export type { GenerativeModel, ModelKind, StepResult } from './interface';

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
