/**
 * How much work the Table 1 reproduction (reproduce.ts) and `npm run train` (train-one.ts) do:
 * the models of the table, the dataset names the command line takes, and the step, class and
 * image budgets per preset. Sizing a budget on this machine: plan.ts.
 */
import type { DatasetName } from '../../datasets/index';
import type { PresetName } from '../model/config';
import type { ModelKind } from '../model/interface';
import type { ClassifierConfig, ClassifierPreset } from './evaluator';

/** The rows of Table 1, in the paper's order: the one list of models the runner trains. */
export const TABLE_MODELS: readonly { kind: ModelKind; label: string }[] = [
  { kind: 'cvae', label: 'CVAE' },
  { kind: 'cgan', label: 'CGAN' },
  { kind: 'fmcgan', label: 'FM-CGAN' },
  { kind: 'cvaegan', label: 'CVAE-GAN' },
];

/** Command-line dataset names. */
export const DATASET_ALIASES: Record<string, DatasetName> = {
  flowers: 'flowers102', flowers102: 'flowers102', birds: 'cub200', cub: 'cub200', cub200: 'cub200', faces: 'faces', lfw: 'lfw',
};
/** Dataset names as captions and log lines write them. */
export const DATASET_LABEL: Record<DatasetName, string> = { flowers102: 'Oxford-102 Flowers', cub200: 'CUB-200-2011 birds', faces: 'Faces', lfw: 'LFW faces' };

/**
 * How much work one reproduction does, per preset. The paper gives no iteration count, optimiser
 * schedule or sample count for flowers/birds (paper-notes sec. 5, 8), so:
 * - paper: every class, 100 images per class as for FaceScrub, 50k steps of batch 64 (a GPU budget).
 * - cpu: 20 classes and 3000 steps per model (of the cpu preset's batch), sized so that one
 *   dataset's table (evaluator + four models + evaluation) takes about 90 minutes on 2 cores
 *   (docs/design.md, "## evaluation", has the measured step times). When the presets or the
 *   machine change, `npm run reproduce -- --dataset flowers --plan 90` re-measures.
 * - tiny / smoke: for tests; smoke also uses the tiny networks and a few images per class.
 */
export interface Budget {
  /** Model architecture preset (lib/model/config.ts). */
  modelPreset: PresetName;
  /** Evaluator preset (lib/eval/evaluator.ts). */
  evaluatorPreset: ClassifierPreset;
  /** First K classes in the dataset's class order; undefined = all. */
  classes?: number;
  /** At most this many images per class, before the split (smoke only). */
  maxPerClass?: number;
  steps: number;
  perClass: number;
  checkpointEvery: number;
  gridEvery: number;
  /** Label dependence and D's label gap (lib/train/diagnostics.ts) every this many steps. */
  diagnosticsEvery: number;
  /** The evaluator's numbers (top-1, realism, FID) on each model every this many steps: the step curves. */
  curveEvery: number;
  /** Overrides of the evaluator's training settings. */
  evaluator?: Partial<ClassifierConfig>;
  /**
   * The CAS classifiers' settings where they differ from the evaluator's (reproduce-beyond.ts).
   * CAS trains one classifier per model (four per table) and one on the real images, so the cpu
   * preset keeps them at the evaluator's former 100-epoch schedule: half the cost of the 200-epoch
   * evaluator (docs/design.md, "Why this evaluator").
   */
  cas?: Partial<ClassifierConfig>;
}
export type RunPreset = 'paper' | 'cpu' | 'tiny';
export const BUDGETS: Record<RunPreset | 'smoke', Budget> = {
  paper: { modelPreset: 'paper', evaluatorPreset: 'paper', steps: 50_000, perClass: 100, checkpointEvery: 1000, gridEvery: 2500, diagnosticsEvery: 500, curveEvery: 5000 },
  cpu: { modelPreset: 'cpu', evaluatorPreset: 'cpu', classes: 20, steps: 3000, perClass: 100, checkpointEvery: 200, gridEvery: 500, diagnosticsEvery: 100, curveEvery: 500, cas: { maxEpochs: 100, patience: 30 } },
  tiny: { modelPreset: 'tiny', evaluatorPreset: 'tiny', classes: 5, steps: 200, perClass: 20, checkpointEvery: 50, gridEvery: 50, diagnosticsEvery: 10, curveEvery: 50 },
  smoke: { modelPreset: 'tiny', evaluatorPreset: 'tiny', classes: 3, maxPerClass: 16, steps: 6, perClass: 4, checkpointEvery: 2, gridEvery: 3, diagnosticsEvery: 2, curveEvery: 3, evaluator: { maxEpochs: 2, batchSize: 8 } },
};
