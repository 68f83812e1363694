/**
 * One model from the command line (`npm run train`, scripts/train.ts): the reproduction's budgets
 * (budget.ts) and data split (splits.ts) for a single model, trained into its own run directory by
 * lib/train/run.ts. Run directory: run.json (what was trained), samples.png, and the layout of
 * lib/train/run.ts.
 */
import { join, resolve } from 'path';
import { existsSync, mkdirSync, readFileSync } from 'fs';
import { Batcher } from '../../datasets/index';
import { initBackend } from '../backend/index';
import { hasCheckpoint, readCheckpointMeta, type CheckpointMeta } from '../model/checkpoint';
import { makeConfig, type ModelConfig } from '../model/config';
import { createModel } from '../model/factory';
import type { ModelKind } from '../model/interface';
import { formatDuration } from '../train/progress';
import { modelGrid, Output, runTraining, writeJsonAtomic } from '../train/run';
import { BUDGETS, DATASET_ALIASES, DATASET_LABEL, RunPreset, TABLE_MODELS } from './budget';
import { loadSplit } from './splits';

export interface TrainOneOptions extends Output {
  dataset: string;
  model: ModelKind;
  preset: RunPreset;
  steps?: number;
  classes?: number;
  /** Run directory (default runs/train-<dataset>-<model>-<preset>). */
  out?: string;
  /** Continue the checkpoint in `out`; without it an existing checkpoint is an error. */
  resume?: boolean;
  root?: string;
  seed?: number;
  checkpointEvery?: number;
  gridEvery?: number;
  smoke?: boolean;
}

/** How the run asked for now differs from the one in the folder (its checkpoint and run.json). */
function runDifferences(meta: CheckpointMeta, before: Partial<{ dataset: string; model: string; preset: string; classes: string[] }>, now: { dataset: string; model: string; preset: string; classes: readonly string[]; config: ModelConfig }): string[] {
  const diff: string[] = [];
  if (meta.kind !== now.model) diff.push(`--model: ${meta.kind} before, ${now.model} now`);
  if (before.dataset !== undefined && before.dataset !== now.dataset) diff.push(`--dataset: ${before.dataset} before, ${now.dataset} now`);
  if (before.preset !== undefined && before.preset !== now.preset) diff.push(`--preset: ${before.preset} before, ${now.preset} now`);
  const classes = before.classes ?? undefined;
  if (classes && JSON.stringify(classes) !== JSON.stringify(now.classes)) {
    const show = (c: readonly string[]) => `${c.length} classes (${c.slice(0, 3).join(', ')}${c.length > 3 ? ', ...' : ''})`;
    diff.push(`--classes: ${show(classes)} before, ${show(now.classes)} now`);
  }
  const saved = meta.config as Record<string, unknown>;
  const cfg = now.config as unknown as Record<string, unknown>;
  for (const k of new Set([...Object.keys(saved), ...Object.keys(cfg)])) {
    if (k === 'numClasses' && classes) continue; // said above
    if (JSON.stringify(saved[k]) !== JSON.stringify(cfg[k])) diff.push(`config.${k}${k === 'seed' ? ' (--seed)' : ''}: ${JSON.stringify(saved[k])?.slice(0, 80)} before, ${JSON.stringify(cfg[k])?.slice(0, 80)} now`);
  }
  return diff;
}

/** Trains one model on a dataset's training split with the reproduction's machinery. */
export async function trainOne(opts: TrainOneOptions): Promise<{ out: string; status: 'done' | 'stopped'; step: number }> {
  const log = opts.log ?? ((l: string) => console.log(l));
  const backend = await initBackend();
  const dataset = DATASET_ALIASES[opts.dataset];
  if (!dataset) throw new Error(`unknown dataset '${opts.dataset}'; use one of ${Object.keys(DATASET_ALIASES).join(', ')}`);
  const label = TABLE_MODELS.find((m) => m.kind === opts.model)?.label;
  if (!label) throw new Error(`unknown model '${opts.model}'; use ${TABLE_MODELS.map((m) => m.kind).join(', ')}`);
  const smoke = opts.smoke ?? process.env.CVAEGAN_SMOKE === '1';
  const budget = smoke ? BUDGETS.smoke : BUDGETS[opts.preset];
  if (!budget) throw new Error(`unknown preset '${opts.preset}'; use paper, cpu or tiny`);
  const out = resolve(opts.out ?? join('runs', `train-${opts.dataset}-${opts.model}-${opts.preset}`));
  const ckpt = join(out, 'checkpoint');
  if (hasCheckpoint(ckpt) && !opts.resume) {
    throw new Error(`${out} already holds a checkpoint (step ${readCheckpointMeta(ckpt).step}); pass --resume to continue it, or --out <new folder>`);
  }
  const resolution = makeConfig(budget.modelPreset, { numClasses: 2 }).resolution;
  const data = await loadSplit({ dataset, resolution, classes: opts.classes, budgetClasses: budget.classes, maxPerClass: budget.maxPerClass, root: opts.root, progress: !smoke });
  if (data.classesNote) log(`train: ${data.classesNote}`);
  const config = makeConfig(budget.modelPreset, { numClasses: data.train.numClasses, seed: opts.seed ?? 1 });
  const steps = opts.steps ?? budget.steps;
  log(`train: ${label} on ${DATASET_LABEL[dataset]} (${data.train.numClasses} classes, ${data.train.labels.length} training images), preset ${opts.preset}, ${steps} steps of batch ${config.batchSize}, into ${out}; backend ${backend.choice}`);
  const run = { dataset, model: opts.model, preset: opts.preset, steps, classes: data.train.classNames, config };
  const runPath = join(out, 'run.json');
  // A resume continues the same run: check before anything in `out` is written.
  if (opts.resume && hasCheckpoint(ckpt)) {
    const diff = runDifferences(readCheckpointMeta(ckpt), existsSync(runPath) ? (JSON.parse(readFileSync(runPath, 'utf8')) as Partial<typeof run>) : {}, run);
    if (diff.length) {
      throw new Error(`--resume: ${out} holds a different run (nothing there was changed):\n  ${diff.join('\n  ')}\nResume with the options it was started with, or pass --out <new folder>.`);
    }
  }
  mkdirSync(out, { recursive: true });
  writeJsonAtomic(runPath, run);
  const model = createModel(opts.model, config);
  try {
    const t0 = Date.now();
    const r = await runTraining({
      model, batcher: new Batcher(data.train, config.batchSize, config.seed), steps, dir: out,
      checkpointEvery: opts.checkpointEvery ?? budget.checkpointEvery, gridEvery: opts.gridEvery ?? budget.gridEvery,
      gridClasses: Array.from({ length: Math.min(10, data.train.numClasses) }, (_, i) => i), classNames: data.train.classNames,
      label, log: opts.log, progressStream: opts.progressStream, shouldStop: opts.shouldStop,
    });
    modelGrid(model, Array.from({ length: Math.min(10, data.train.numClasses) }, (_, i) => i), data.train.classNames, `${label}, step ${model.step}`).save(join(out, 'samples.png'));
    log(`${r.status === 'done' ? 'done' : 'stopped'} at step ${model.step} after ${formatDuration((Date.now() - t0) / 1000)}; checkpoint ${ckpt}, losses ${join(out, 'losses.jsonl')}, grids ${join(out, 'grids')}`);
    if (r.status === 'stopped') log(`continue with the same command plus --resume`);
    return { out, status: r.status, step: model.step };
  } finally {
    model.dispose();
  }
}
