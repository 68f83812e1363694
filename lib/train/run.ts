/**
 * Training one model into a run directory, as `npm run reproduce` and `npm run train` do: the
 * training loop (loop.ts) with a progress bar, a JSONL loss log, periodic sample grids, checkpoints,
 * resume and a loss chart at the end.
 *
 * Layout of a model's directory:
 *   checkpoint/        model checkpoint (lib/model/checkpoint.ts)
 *   losses.jsonl       one line per step (losslog.ts), with the diagnostics on the steps that have them
 *   losses.png         the loss chart
 *   grids/step-*.png   periodic sample grids (fixed z)
 */
import { dirname, join } from 'path';
import { mkdirSync, renameSync, writeFileSync } from 'fs';
import { hasCheckpoint, readCheckpointMeta } from '../model/checkpoint';
import type { GenerativeModel } from '../model/interface';
import { renderPng } from '../viz/charts';
import { sampleGrid } from '../viz/grid';
import { lossChartSpec } from '../viz/lossplot';
import { LossLog, LossLogRecord, lossHistory, readLossLog, summarizeLosses } from './losslog';
import { BatchSource, train, TrainResult } from './loop';
import { formatLoss, ProgressBar } from './progress';

/** Where output goes: lines of text (default console.log) and the progress bar's stream. */
export interface Output {
  log?(line: string): void;
  /** Progress bar stream (default process.stderr; a file or pipe gets a line every 30 s). */
  progressStream?: { write(text: string): unknown; isTTY?: boolean };
  /** Polled between steps (e.g. a Ctrl-C flag); true stops after writing a checkpoint. */
  shouldStop?(): boolean;
}

export interface TrainRunOptions extends Output {
  model: GenerativeModel;
  /** Batches of the training split; restored from the checkpoint on resume. */
  batcher: BatchSource;
  steps: number;
  /** The model's directory: checkpoint/, losses.jsonl, grids/. */
  dir: string;
  checkpointEvery: number;
  gridEvery: number;
  /** Rows of the sample grids (class ids) and their names. */
  gridClasses: number[];
  classNames: readonly string[];
  label: string;
  /**
   * Measurements every `every` steps (lib/train/loop.ts's `diagnostics`, e.g. trainingDiagnostics
   * plus the evaluator's top-1): logged with their step in losses.jsonl and charted with the losses.
   */
  diagnostics?: { every: number; measure(): Record<string, number> };
}

/** The sample grid of a model: rows = classes, 8 columns sharing one fixed z (seed 1234). */
export function modelGrid(model: GenerativeModel, classIds: number[], classNames: readonly string[], title?: string) {
  return sampleGrid((labels, z) => model.sample(labels, { z }), { classIds, classNames, samplesPerClass: 8, zDim: model.config.zDim, seed: 1234, title });
}

/**
 * Trains `model` to `steps` total steps with lib/train/loop.ts, resuming from `<dir>/checkpoint` when it
 * holds one. Every step goes to `<dir>/losses.jsonl` (lines past the checkpoint's step, from a
 * killed run, are dropped first, since those steps run again) and to the progress bar; every
 * `gridEvery` steps a sample grid goes to `<dir>/grids/step-NNNNNN.png`. Prints a loss summary.
 */
export async function runTraining(o: TrainRunOptions): Promise<TrainResult> {
  const log = o.log ?? ((l: string) => console.log(l));
  const ckpt = join(o.dir, 'checkpoint');
  const lossLog = new LossLog(join(o.dir, 'losses.jsonl'));
  lossLog.truncateAfter(hasCheckpoint(ckpt) ? readCheckpointMeta(ckpt).step : 0);
  const progress = new ProgressBar({ total: o.steps, label: o.label, terms: o.model.lossNames.slice(0, 4), stream: o.progressStream ?? process.stderr });
  const grid = (step: number) => {
    modelGrid(o.model, o.gridClasses, o.classNames, `${o.label}, step ${step}`).save(join(o.dir, 'grids', `step-${String(step).padStart(6, '0')}.png`));
  };
  const result = await train(o.model, o.batcher, {
    steps: o.steps,
    checkpointDir: ckpt,
    checkpointEvery: o.checkpointEvery,
    shouldStop: o.shouldStop,
    diagnostics: o.diagnostics,
    logEvery: 0,
    log: (l) => {
      if (l.startsWith('resumed')) log(`${o.label}: ${l}`);
    },
    onStep: (r) => {
      lossLog.append({ step: r.step, ms: Math.round(r.ms * 10) / 10, epoch: r.epoch, losses: r.losses, metrics: r.metrics, ...(r.diagnostics ? { diagnostics: r.diagnostics } : {}) });
      progress.tick(r.step, r.losses);
      if (r.step % o.gridEvery === 0 || r.step === o.steps) grid(r.step);
    },
  });
  await progress.finish();
  const records = readLossLog(lossLog.path);
  if (records.length) {
    await saveLossChart(records, join(o.dir, 'losses.png'), `${o.label}: losses`);
    const rows = summarizeLosses(records);
    log(`${o.label}: ${result.status === 'done' ? 'finished' : 'stopped'} at step ${o.model.step}; ${(result.msPerStep / 1000).toFixed(2)} s/step this session`);
    log(`  ${'term'.padEnd(10)} ${'first 10%'.padStart(10)} ${'last 10%'.padStart(10)} ${'min'.padStart(10)}`);
    for (const r of rows) log(`  ${r.term.padEnd(10)} ${formatLoss(r.first).padStart(10)} ${formatLoss(r.last).padStart(10)} ${formatLoss(r.min).padStart(10)}`);
  }
  return result;
}

/** The loss chart of a run (every term in its own panel, EMA-smoothed) as a PNG. */
export async function saveLossChart(records: readonly LossLogRecord[], path: string, title: string): Promise<void> {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, await renderPng(lossChartSpec(lossHistory(records), { title, maxPoints: 300 }), 1.5));
}

/** Writes `value` as JSON to `path` through a temporary file and a rename, so a reader never sees half a file. */
export function writeJsonAtomic(path: string, value: unknown): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(value, null, 1) + '\n');
  renameSync(tmp, path);
}
