/**
 * Notebook glue: every size a notebook uses (classes, steps, sample counts, where runs go), read in
 * one place, and the smoke mode that shrinks all of it for CI.
 *
 *   const S = runSettings('flowers102', 'cpu');   // CVAEGAN_SMOKE=1: tiny networks, 3 classes, 6 steps
 *
 * Smoke runs write under runs/smoke/ so they never mix with (or resume from) full runs, which write
 * under runs/notebooks/<dataset>-<preset>/. Nothing here builds a model or touches data.
 */
import { join } from 'path';
import { makeConfig, type PresetName } from '../model/config';
import type { ClassifierTrainOptions } from '../eval/evaluator-training';
import type { DatasetName } from '../../datasets/types';

/** True when CVAEGAN_SMOKE is set to 1 / true / yes: the notebooks' CI mode. */
export function smokeMode(): boolean {
  return /^(1|true|yes)$/i.test((process.env.CVAEGAN_SMOKE ?? '').trim());
}

/** Root of every notebook run directory: runs/notebooks, or runs/smoke/notebooks in smoke mode. */
export function notebookRunsRoot(smoke = smokeMode()): string {
  return smoke ? join('runs', 'smoke', 'notebooks') : join('runs', 'notebooks');
}

export interface RunSettings {
  /** CVAEGAN_SMOKE was set: everything below is shrunk for CI. */
  smoke: boolean;
  dataset: DatasetName;
  /** The preset asked for ('tiny' replaces it in smoke mode). */
  requestedPreset: PresetName;
  /** The model preset used (lib/model/config.ts). */
  preset: PresetName;
  /** Image size of that preset; the data is loaded at this size. */
  resolution: 32 | 64 | 128;
  /** The first K classes in the dataset's class order; undefined = every class of the copy. */
  classes?: number;
  /** At most this many images per class before the 80/20 split (smoke only). */
  maxPerClass?: number;
  /** Total training steps (a resumed run counts its earlier steps). */
  steps: number;
  checkpointEvery: number;
  /** A sample grid during training every this many steps. */
  gridEvery: number;
  /** G's label dependence (lib/train/diagnostics.ts) every this many steps. */
  diagnosticsEvery: number;
  /** Rows (classes) of the grids shown after training. */
  gridClasses: number;
  /** Columns (z samples) per class in those grids. */
  samplesPerClass: number;
  /** This notebook's run directory (checkpoint/, losses.jsonl, grids/). */
  runDir: string;
  checkpointDir: string;
}

type Sizes = Pick<RunSettings, 'classes' | 'maxPerClass' | 'steps' | 'checkpointEvery' | 'gridEvery' | 'diagnosticsEvery' | 'gridClasses' | 'samplesPerClass'>;

/**
 * Full-run sizes per preset. cpu: the first 20 classes of each dataset (the reproduction's subset,
 * docs/design.md "## evaluation"), 2,000 steps of batch 16. Measured CVAE-GAN step times on the
 * 2-core machine with other work running (load ~6): 0.4-0.9 s with the native TensorFlow backend
 * (.native/), 1.4-2.5 s on wasm (~0.7 s on idle cores): about 15-30 minutes native, 25-80 on wasm.
 * paper: every class, the reproduction's 50,000 steps of batch 64 (a GPU budget).
 */
const FULL: Record<PresetName, Sizes> = {
  cpu: { classes: 20, steps: 2000, checkpointEvery: 200, gridEvery: 250, diagnosticsEvery: 100, gridClasses: 10, samplesPerClass: 10 },
  paper: { classes: undefined, steps: 50_000, checkpointEvery: 1000, gridEvery: 2500, diagnosticsEvery: 500, gridClasses: 10, samplesPerClass: 10 },
  tiny: { classes: 5, steps: 300, checkpointEvery: 50, gridEvery: 50, diagnosticsEvery: 10, gridClasses: 5, samplesPerClass: 8 },
};
const SMOKE: Sizes = { classes: 3, maxPerClass: 10, steps: 6, checkpointEvery: 3, gridEvery: 3, diagnosticsEvery: 2, gridClasses: 3, samplesPerClass: 4 };

/** The settings of a dataset notebook (02-faces, 03-flowers, 04-birds) and of 06-applications. */
export function runSettings(dataset: DatasetName, preset: PresetName, smoke = smokeMode()): RunSettings {
  if (!(preset in FULL)) throw new Error(`unknown preset '${preset}'; use 'cpu', 'paper' or 'tiny'`);
  const used: PresetName = smoke ? 'tiny' : preset;
  const sizes = smoke ? SMOKE : FULL[preset];
  const runDir = join(notebookRunsRoot(smoke), `${dataset}-${used}`);
  return {
    smoke,
    dataset,
    requestedPreset: preset,
    preset: used,
    resolution: makeConfig(used, { numClasses: 2 }).resolution,
    ...sizes,
    runDir,
    checkpointDir: join(runDir, 'checkpoint'),
  };
}

/** One paragraph saying what a run will do, for the settings cell. */
export function describeSettings(s: RunSettings): string {
  return [
    s.smoke ? `SMOKE MODE (CVAEGAN_SMOKE=1): preset '${s.requestedPreset}' replaced by 'tiny', sizes shrunk for CI` : `preset '${s.preset}'`,
    `${s.dataset} at ${s.resolution}x${s.resolution} px, ${s.classes ? `the first ${s.classes} classes` : 'every class'}${s.maxPerClass ? `, at most ${s.maxPerClass} images per class` : ''}`,
    `${s.steps} training steps, checkpoint every ${s.checkpointEvery}, sample grid every ${s.gridEvery}`,
    `run directory ${s.runDir}`,
  ].join('\n');
}

/** 01-method: the 2-D toy's length and the network preset used to show shapes. */
export function methodSettings(smoke = smokeMode()) {
  return {
    smoke,
    /** Preset of the networks whose shapes and losses are shown (nothing is trained but one step). */
    preset: (smoke ? 'tiny' : 'cpu') as PresetName,
    /**
     * Steps of each toy GAN, and D updates per G update (a strong D is where the argument bites).
     * One budget for all four objectives: 'cvaegan' at its own weights needs about 1,500 (at 600 its
     * prior samples cover 2.6 of 8 modes, at 1,500 7.4; docs/design.md, "the toy's fourth objective").
     */
    toySteps: smoke ? 40 : 1500,
    toyDSteps: 5,
    /** Generated points per objective in the scatter plots and the mode count. */
    toyPoints: smoke ? 400 : 2000,
    /**
     * Seeds of the seeds table (every objective from each; one run of a toy GAN is noise). Three, not
     * five: at 1,500 steps each seed costs about 5 minutes on two busy cores.
     */
    toySeeds: smoke ? [7] : [7, 8, 9],
  };
}

/** 06-applications: sizes of the fits and of the augmentation experiment. */
export function applicationSettings(smoke = smokeMode()) {
  return {
    smoke,
    /** Test images (one per class, first classes) used for inpainting, super-resolution. */
    examples: smoke ? 3 : 8,
    /** Adam steps on z for inpainting and super-resolution (lib default 100). */
    fitSteps: smoke ? 5 : 100,
    /** Super-resolution factor (32 px images: 8 px inputs at 4). */
    srFactor: 4,
    /** Steps of the stand-in model trained when 03-flowers left no checkpoint. */
    fallbackSteps: smoke ? 6 : 300,
    /** Generated images added per class in the augmentation experiment. */
    generatedPerClass: smoke ? 4 : 50,
    /** The experiment's classifier (lib/eval/evaluator-training.ts trainClassifier). */
    classifier: (smoke ? { preset: 'tiny', maxEpochs: 1, batchSize: 8 } : { preset: 'cpu', maxEpochs: 10 }) as ClassifierTrainOptions,
  };
}

/** 05-table1: where the committed results are, and the tiny stand-in run of smoke mode. */
export function table1Settings(smoke = smokeMode()) {
  return {
    smoke,
    /** The three reproductions, as `npm run reproduce -- --dataset <name> --results results/<name>` writes them. */
    datasets: ['flowers', 'birds', 'faces'],
    resultsRoot: 'results',
    /** Grids of this dataset's results are shown (all three would make the notebook large). */
    gridsFor: 'flowers',
    /** The longer run (10,000 steps per model on flowers), as `npm run reproduce -- --dataset flowers --preset cpu --steps 10000 --results results/flowers-10k` writes it. */
    longerRun: 'flowers-10k',
    /** Smoke mode with no committed results: a tiny reproduction of this dataset runs here instead. */
    smokeDataset: 'flowers',
    smokeOut: join('runs', 'smoke', 'table1-flowers'),
  };
}
