/**
 * Table 1 for one dataset: trains the evaluator and the four models with one budget, evaluates them,
 * writes table.{json,csv,md} and sample grids under runs/. Rerun the same command to resume.
 *
 *   npm run reproduce -- --dataset flowers --preset cpu [--steps N] [--classes K] [--per-class N]
 *                        [--models cvae,cgan,fmcgan,cvaegan] [--out runs/x] [--results results/flowers]
 *                        [--root <dataset folder>] [--seed S] [--smoke] [--download | --no-download]
 *                        [--evaluate-only] [--no-cas] [--models-from runs/older]
 *   npm run reproduce -- --dataset flowers --preset cpu --plan 90   (times every model here, prints
 *                        how many steps fit 90 minutes; trains nothing)
 *
 * Data: `--root DIR`, else a local copy, else the official files downloaded into datasets/<name>/
 * (`--download`, the default); `--no-download` never touches the network. `--dataset faces` with no
 * FaceScrub or CelebA copy here runs on LFW (run directory runs/lfw-<preset>).
 *
 * `--evaluate-only` trains nothing: a finished run of an earlier version gets the columns added
 * since (intra-class FID, precision/recall, density/coverage, CAS) from its checkpoints; `--no-cas`
 * skips CAS, which trains one evaluator-sized classifier per model. `--models-from DIR` takes the
 * trained models of another run folder of the same settings (an older evaluator is the one
 * difference allowed) instead of training them: a new evaluator re-measures a finished table.
 *
 * Ctrl-C stops at the next step after writing a checkpoint (a second Ctrl-C exits at once).
 */
import { parseArgs } from 'node:util';
import { findData, joinNegativeValues, positiveInt as int, runMain, runStoppable } from './cli';
import type { ModelKind } from '../lib/model/factory';
import type { RunPreset } from '../lib/eval/budget';
import { planBudget } from '../lib/eval/plan';
import { reproduce } from '../lib/eval/reproduce';

const USAGE = `usage: npm run reproduce -- --dataset flowers|birds|faces|lfw [--preset cpu|paper|tiny] [--steps N] [--classes K]
       [--per-class N] [--models cvae,cgan,fmcgan,cvaegan] [--out DIR] [--results DIR] [--root DIR] [--seed S] [--smoke]
       [--download | --no-download]   (default: a local copy, else download the official files; --no-download: never)
       [--evaluate-only]   (train nothing; add the newer metrics to a finished run from its checkpoints)  [--no-cas]
       [--models-from DIR] (take the trained models of that run, e.g. to measure them with a new evaluator)
       npm run reproduce -- --dataset flowers --preset cpu --plan MINUTES   (measure; how many steps fit)`;

async function main(): Promise<number> {
  const options = {
    dataset: { type: 'string' }, preset: { type: 'string', default: 'cpu' }, steps: { type: 'string' }, classes: { type: 'string' },
    'per-class': { type: 'string' }, models: { type: 'string' }, out: { type: 'string' }, results: { type: 'string' }, root: { type: 'string' },
    seed: { type: 'string' }, smoke: { type: 'boolean' }, download: { type: 'boolean' }, plan: { type: 'string' }, 'evaluate-only': { type: 'boolean' }, cas: { type: 'boolean' }, 'models-from': { type: 'string' }, help: { type: 'boolean', short: 'h' },
  } as const;
  const { values: v } = parseArgs({ allowNegative: true, options, args: joinNegativeValues(process.argv.slice(2), options) });
  if (v.help || !v.dataset) {
    console.log(USAGE);
    return v.help ? 0 : 2;
  }
  // Bad numbers fail before the data is looked for (or downloaded).
  const n = { steps: int('steps', v.steps), classes: int('classes', v.classes), perClass: int('per-class', v['per-class']), seed: int('seed', v.seed) };
  const minutes = int('plan', v.plan);
  const { dataset, root } = await findData(v.dataset, v.root, v.download);
  const models = v.models?.split(',').map((s) => s.trim()) as ModelKind[] | undefined;
  if (minutes !== undefined) {
    await planBudget({ dataset, preset: v.preset as RunPreset, classes: n.classes, root, models, minutes });
    return 0;
  }
  return runStoppable((shouldStop) =>
    reproduce({ dataset, preset: v.preset as RunPreset, smoke: v.smoke, ...n, models, out: v.out, results: v.results, root, shouldStop, evaluateOnly: v['evaluate-only'], cas: v.cas, modelsFrom: v['models-from'] }),
  );
}

runMain(main);
