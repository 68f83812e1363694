/**
 * Sizing a Table 1 budget on this machine (`npm run reproduce -- --plan 90`): times a few training
 * steps of every model and a few evaluator batches, and says how many steps fit the target time.
 * (Its own file because its options are the reproduction's, while reproduce.ts needs budget.ts:
 * here neither imports the other in a circle.)
 */
import { Batcher } from '../../datasets/index';
import { initBackend } from '../backend/index';
import { makeConfig } from '../model/config';
import { createModel, ModelKind } from '../model/factory';
import { BUDGETS, DATASET_ALIASES, TABLE_MODELS } from './budget';
import { classifierConfig, datasetImages } from './evaluator';
import { trainClassifier } from './evaluator-training';
import type { ReproduceOptions } from './reproduce';
import { loadSplit, subsetDataset } from './splits';

export interface PlanOptions extends Pick<ReproduceOptions, 'dataset' | 'preset' | 'classes' | 'root' | 'models' | 'log'> {
  /** The whole table's target duration. */
  minutes: number;
  /** Timed steps per model (after 2 untimed ones). */
  timedSteps?: number;
}

export interface Plan {
  /** Median wall time of one training step, per model. */
  msPerStep: Partial<Record<ModelKind, number>>;
  /** Estimated evaluator training time (25 epochs, measured per image). */
  evaluatorSeconds: number;
  /** Estimated evaluation time for all models. */
  evaluationSeconds: number;
  /** Steps per model that fit `minutes`, rounded down to 100. */
  steps: number;
  /** Estimated minutes for the preset's own step count. */
  presetMinutes: number;
}

/**
 * Measures this machine: a few real training steps of every model at the preset, and a few
 * evaluator batches, and says how many steps per model fit the target time. Use it when the
 * presets or the machine change; the step count then goes to `--steps` (or BUDGETS).
 */
export async function planBudget(opts: PlanOptions): Promise<Plan> {
  const log = opts.log ?? ((l: string) => console.log(l));
  await initBackend();
  const dataset = DATASET_ALIASES[opts.dataset];
  if (!dataset) throw new Error(`unknown dataset '${opts.dataset}'; use one of ${Object.keys(DATASET_ALIASES).join(', ')}`);
  const budget = BUDGETS[opts.preset];
  const resolution = makeConfig(budget.modelPreset, { numClasses: 2 }).resolution;
  const data = await loadSplit({ dataset, resolution, classes: opts.classes, budgetClasses: budget.classes, root: opts.root, progress: false });
  const K = data.train.numClasses;
  const config = makeConfig(budget.modelPreset, { numClasses: K });
  const timed = opts.timedSteps ?? 5;
  const msPerStep: Partial<Record<ModelKind, number>> = {};
  for (const kind of opts.models ?? TABLE_MODELS.map((m) => m.kind)) {
    const model = createModel(kind, config);
    const batcher = new Batcher(data.train, config.batchSize, 1);
    try {
      const times: number[] = [];
      for (let i = 0; i < timed + 2; i++) {
        const b = batcher.next();
        const t0 = performance.now();
        model.trainStep(b.x, b.labels);
        if (i >= 2) times.push(performance.now() - t0);
        b.x.dispose();
        b.labels.dispose();
      }
      times.sort((a, b) => a - b);
      msPerStep[kind] = times[Math.floor(times.length / 2)];
      log(`  ${kind}: ${(msPerStep[kind]! / 1000).toFixed(2)} s/step (batch ${config.batchSize}, median of ${timed})`);
    } finally {
      model.dispose();
    }
  }
  // Evaluator: one epoch on a few batches' worth of images, scaled to 25 epochs of the training split.
  const ev = classifierConfig(budget.evaluatorPreset, resolution, K);
  const n = Math.min(data.train.labels.length, 4 * ev.batchSize + K);
  const idx = Array.from({ length: n }, (_, i) => i);
  const sub = subsetDataset(data.train, idx, 'plan');
  const t0 = performance.now();
  const c = await trainClassifier(datasetImages(sub), sub.labels, K, { ...ev, preset: budget.evaluatorPreset, maxEpochs: 1 });
  const perImage = (performance.now() - t0) / 1000 / n;
  c.dispose();
  const evaluatorSeconds = 25 * perImage * data.train.labels.length;
  const perStep = Object.values(msPerStep).reduce((a, b) => a + b!, 0) / 1000;
  const kinds = Object.keys(msPerStep).length;
  const evaluationSeconds = kinds * (5 + (budget.perClass * K) / 200);
  const steps = Math.max(100, Math.floor((opts.minutes * 60 - evaluatorSeconds - evaluationSeconds) / perStep / 100) * 100);
  const presetMinutes = (budget.steps * perStep + evaluatorSeconds + evaluationSeconds) / 60;
  log(`  evaluator: ~${Math.round(evaluatorSeconds)} s (25 epochs of ${data.train.labels.length} images); evaluation: ~${Math.round(evaluationSeconds)} s`);
  log(`  all models: ${perStep.toFixed(2)} s per step; ${opts.minutes} min fit ${steps} steps per model; the preset's ${budget.steps} steps take ~${Math.round(presetMinutes)} min`);
  return { msPerStep, evaluatorSeconds, evaluationSeconds, steps, presetMinutes };
}
