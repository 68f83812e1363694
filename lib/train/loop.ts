/**
 * A small training loop shared by the notebooks, the CLI and the reproduction runner.
 *
 *   const r = await train(model, new Batcher(ds, 32, 1), { steps: 2000, checkpointDir: 'runs/cpu', checkpointEvery: 200 });
 *
 * - Resume: if `checkpointDir` holds a checkpoint, the model and the batcher continue from it
 *   (`steps` is the total to reach, so re-running the same call after a kill finishes the run).
 * - Checkpoints are atomic (lib/model/checkpoint.ts) and carry the batcher's state, so a resumed run sees
 *   the same batches as an uninterrupted one.
 * - A non-finite loss stops training with NonFiniteLossError naming the term and step, a batch
 *   with NaN/Inf pixels with NonFiniteInputError naming the image; the rejected step left the
 *   model as it was, and the last good checkpoint on disk is left as it was (nothing is saved
 *   after an error).
 * - Display, progress bars and interrupts belong to the caller: `onStep` sees every step and
 *   `shouldStop` is polled before each one. This file prints nothing unless given `log`.
 */
import * as tf from '@tensorflow/tfjs';
import { checkCheckpointWritable, hasCheckpoint } from '../model/checkpoint';
import { NonFiniteInputError, NonFiniteLossError } from '../model/losses';
import type { GenerativeModel, StepResult } from '../model/interface';

/** What train() needs from a batch source (datasets' Batcher fits). The loop disposes x and labels. */
export interface BatchSource {
  next(): { x: tf.Tensor4D; labels: tf.Tensor1D; epoch?: number };
  state?(): object;
  restore?(state: object): void;
}

export interface TrainOptions {
  /** Train until model.step reaches this total (steps already in a resumed checkpoint count). */
  steps: number;
  /** Where checkpoints go; resumed from when it already holds one. */
  checkpointDir?: string;
  /** Save every this many steps (default: only at the end, when checkpointDir is set). */
  checkpointEvery?: number;
  /** Called after every step (awaited, so a display update can finish). */
  onStep?(r: TrainRecord): void | Promise<void>;
  /** Polled before every step; true ends training early (the end-of-run checkpoint is still written). */
  shouldStop?(): boolean;
  /** Receives one line per `logEvery` steps and one per checkpoint / resume. */
  log?(line: string): void;
  logEvery?: number;
  /**
   * Measurements of the model taken every `every` steps and after the last step (lib/diagnostics.ts:
   * label dependence of G, D's label gap); they go to that step's record as `diagnostics`.
   */
  diagnostics?: { every: number; measure(): Record<string, number> };
}

export interface TrainRecord extends StepResult {
  /** Wall time of this step (batch preparation excluded). */
  ms: number;
  /** The batcher's epoch for this batch, when it reports one. */
  epoch?: number;
  /** opts.diagnostics' measurements, on the steps where they were taken. */
  diagnostics?: Record<string, number>;
}

export interface TrainResult {
  history: TrainRecord[];
  /** Step of the checkpoint this run resumed from, if any. */
  resumedFrom?: number;
  /** 'done': reached opts.steps; 'stopped': shouldStop() returned true. */
  status: 'done' | 'stopped';
  /** The newest checkpoint written or resumed from. */
  checkpoint?: { dir: string; step: number };
  /** Mean step time in ms over this run, first step excluded (it includes one-off setup). */
  msPerStep: number;
}

export async function train(model: GenerativeModel, batcher: BatchSource, opts: TrainOptions): Promise<TrainResult> {
  if (!(Number.isInteger(opts.steps) && opts.steps >= 0)) throw new Error(`train: steps must be a non-negative integer (got ${opts.steps})`);
  if (opts.diagnostics && !(Number.isInteger(opts.diagnostics.every) && opts.diagnostics.every >= 1)) {
    throw new Error(`train: diagnostics.every must be a positive integer (got ${opts.diagnostics.every})`);
  }
  if (opts.checkpointEvery !== undefined && !(Number.isInteger(opts.checkpointEvery) && opts.checkpointEvery >= 1)) {
    throw new Error(`train: checkpointEvery must be a positive integer (got ${opts.checkpointEvery})`);
  }
  const log = opts.log ?? (() => {});
  const logEvery = opts.logEvery ?? 50;
  const dir = opts.checkpointDir;
  let checkpoint: { dir: string; step: number } | undefined;
  let resumedFrom: number | undefined;

  // A folder a checkpoint cannot be saved to fails now, not at the first save after training.
  if (dir) checkCheckpointWritable(dir);
  if (dir && hasCheckpoint(dir)) {
    const meta = await model.restore(dir);
    const extra = meta.extra as { batcher?: object } | null;
    if (extra?.batcher && batcher.restore) batcher.restore(extra.batcher);
    resumedFrom = meta.step;
    checkpoint = { dir, step: meta.step };
    log(`resumed from ${dir} at step ${meta.step}`);
  }

  const save = async () => {
    if (!dir) return;
    await model.save(dir, { batcher: batcher.state ? batcher.state() : null });
    checkpoint = { dir, step: model.step };
    log(`checkpoint: step ${model.step} -> ${dir}`);
  };

  const history: TrainRecord[] = [];
  let status: TrainResult['status'] = 'done';
  while (model.step < opts.steps) {
    if (opts.shouldStop?.()) {
      status = 'stopped';
      break;
    }
    const batch = batcher.next();
    const t0 = performance.now();
    let r: StepResult;
    try {
      r = model.trainStep(batch.x, batch.labels);
    } catch (e) {
      if (e instanceof NonFiniteLossError) {
        e.message += checkpoint
          ? ` The last good checkpoint is ${checkpoint.dir} (step ${checkpoint.step}); re-running train() with it resumes from there (with the same settings it replays the same steps).`
          : ' No checkpoint was written (pass checkpointDir / checkpointEvery to keep one).';
      } else if (e instanceof NonFiniteInputError) {
        e.message += checkpoint
          ? ` The last good checkpoint is ${checkpoint.dir} (step ${checkpoint.step}), but a resume replays the same batches: fix or drop the image first.`
          : '';
      }
      throw e;
    } finally {
      tf.dispose([batch.x, batch.labels]);
    }
    const rec: TrainRecord = { ...r, ms: performance.now() - t0, epoch: batch.epoch };
    const d = opts.diagnostics;
    if (d && (r.step % d.every === 0 || r.step === opts.steps)) {
      const m = d.measure();
      if (Object.keys(m).length) rec.diagnostics = m;
    }
    history.push(rec);
    if (logEvery > 0 && r.step % logEvery === 0) {
      log(`step ${r.step} (${rec.ms.toFixed(0)} ms): ${Object.entries(r.losses).map(([k, v]) => `${k} ${v.toPrecision(3)}`).join(' ')}`);
    }
    if (opts.onStep) await opts.onStep(rec);
    if (dir && opts.checkpointEvery && model.step % opts.checkpointEvery === 0) await save();
    // Let timers, SIGINT listeners and display messages run between steps.
    await new Promise((res) => setImmediate(res));
  }
  if (dir && (!checkpoint || checkpoint.step !== model.step)) await save();
  const timed = history.slice(1);
  const msPerStep = timed.length ? timed.reduce((s, h) => s + h.ms, 0) / timed.length : history[0]?.ms ?? 0;
  return { history, resumedFrom, status, checkpoint, msPerStep };
}
