/**
 * Trains one model on one dataset from a terminal: progress bar, JSONL loss log, periodic sample
 * grids, checkpoints, resume (the machinery of the reproduction runner: lib/eval/train-one.ts, lib/train/run.ts).
 *
 *   npm run train -- --dataset flowers --model cvaegan [--preset cpu] [--steps 3000] [--classes K]
 *                    [--out runs/my-run] [--resume] [--checkpoint-every N] [--grid-every N] [--root DIR] [--seed S]
 *                    [--download | --no-download]
 *
 * Data: `--root DIR`, else a local copy, else the official files downloaded into datasets/<name>/
 * (`--download`, the default); `--no-download` never touches the network. `--dataset faces` with no
 * FaceScrub or CelebA copy here trains on LFW.
 *
 * Ctrl-C stops after the current step and writes a checkpoint; `--resume` continues it.
 */
import { parseArgs } from 'node:util';
import { findData, joinNegativeValues, positiveInt as int, runMain, runStoppable } from './cli';
import type { ModelKind } from '../lib/model/factory';
import type { RunPreset } from '../lib/eval/budget';
import { trainOne } from '../lib/eval/train-one';

const USAGE = `usage: npm run train -- --dataset flowers|birds|faces|lfw --model cvaegan|cvae|cgan|fmcgan [--preset cpu|paper|tiny]
       [--steps N] [--classes K] [--out DIR] [--resume] [--checkpoint-every N] [--grid-every N] [--root DIR] [--seed S] [--smoke]
       [--download | --no-download]   (default: a local copy, else download the official files; --no-download: never)`;

async function main(): Promise<number> {
  const options = {
    dataset: { type: 'string' }, model: { type: 'string' }, preset: { type: 'string', default: 'cpu' }, steps: { type: 'string' },
    classes: { type: 'string' }, out: { type: 'string' }, resume: { type: 'boolean' }, 'checkpoint-every': { type: 'string' },
    'grid-every': { type: 'string' }, root: { type: 'string' }, seed: { type: 'string' }, smoke: { type: 'boolean' }, download: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
  } as const;
  const { values: v } = parseArgs({ allowNegative: true, options, args: joinNegativeValues(process.argv.slice(2), options) });
  if (v.help || !v.dataset || !v.model) {
    console.log(USAGE);
    return v.help ? 0 : 2;
  }
  // Bad numbers fail before the data is looked for (or downloaded).
  const n = {
    steps: int('steps', v.steps), classes: int('classes', v.classes), checkpointEvery: int('checkpoint-every', v['checkpoint-every']),
    gridEvery: int('grid-every', v['grid-every']), seed: int('seed', v.seed),
  };
  const { dataset, root } = await findData(v.dataset, v.root, v.download);
  return runStoppable((shouldStop) =>
    trainOne({ dataset, model: v.model as ModelKind, preset: v.preset as RunPreset, ...n, out: v.out, resume: v.resume, root, smoke: v.smoke, shouldStop }),
  );
}

runMain(main);
