/**
 * The Table 1 reproduction runner and the single-model trainer behind `npm run reproduce` and
 * `npm run train` (scripts/reproduce.ts, scripts/train.ts); notebooks can call them too.
 *
 * reproduce({ dataset: 'flowers', preset: 'cpu' }) runs, in one run directory (default
 * runs/<dataset>-<preset>), these stages, each recorded in state.json when done:
 *
 *   evaluator          the evaluation classifier on the real training split (lib/evaluator.ts)
 *   reference          its numbers on the real test split: the "Real data" row
 *   train:<kind>       each model of TABLE_MODELS, same data, batches, seed and number of steps
 *   eval:<kind>        N generated images per class through the evaluator; the model's sample grid
 *
 * then writes table.json, table.csv, table.md and grids/<kind>.png. Rerunning the same command
 * skips finished stages and resumes an unfinished one from its checkpoint (training: lib/train.ts;
 * evaluator: one checkpoint per epoch), so a kill at any point loses at most one checkpoint
 * interval. manifest.json records what the run is (config, seeds, classes, split, budget); a
 * rerun whose settings differ stops with the differences instead of mixing two experiments.
 *
 * Layout of a run directory:
 *   manifest.json state.json table.{json,csv,md}
 *   evaluator/                       classifier checkpoint
 *   models/<kind>/checkpoint/        model checkpoint (lib/checkpoint.ts)
 *   models/<kind>/losses.jsonl       one line per step (lib/losslog.ts)
 *   models/<kind>/grids/step-*.png   periodic sample grids (fixed z)
 *   grids/<kind>.png grids/real.png  final sample grids and real test images
 */
import { basename, dirname, join, resolve } from 'path';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'fs';
import { Batcher, indexDataset, loadDataset, resolveRoot, splitIdentity } from '../../datasets/index';
import type { DatasetName, ImageDataset } from '../../datasets/index';
import { initBackend } from '../backend/index';
import { hasCheckpoint, readCheckpointMeta } from '../model/checkpoint';
import { makeConfig, ModelConfig, PresetName } from '../model/config';
import {
  Classifier, ClassifierConfig, ClassifierPreset, classifierConfig, datasetImages, evaluate, Evaluation, realFid, referenceStats, StoppedError, trainClassifier,
} from './evaluator';
import { realImageGrid, sampleGrid } from '../viz/grid';
import { renderPng } from '../viz/charts';
import { LossLog, LossLogRecord, lossHistory, readLossLog, summarizeLosses } from '../train/losslog';
import { lossChartSpec } from '../viz/lossplot';
import { createModel, GenerativeModel, loadModel, ModelKind } from '../model/factory';
import { formatDuration, formatLoss, ProgressBar } from '../train/progress';
import { saveCsv, tableText } from '../viz/tables';
import { train, TrainResult } from '../train/loop';

/** The rows of Table 1, in the paper's order: the one list of models the runner trains. */
export const TABLE_MODELS: readonly { kind: ModelKind; label: string }[] = [
  { kind: 'cvae', label: 'CVAE' },
  { kind: 'cgan', label: 'CGAN' },
  { kind: 'fmcgan', label: 'FM-CGAN' },
  { kind: 'cvaegan', label: 'CVAE-GAN' },
];

/** Command-line dataset names. */
export const DATASET_ALIASES: Record<string, DatasetName> = {
  flowers: 'flowers102', flowers102: 'flowers102', birds: 'cub200', cub: 'cub200', cub200: 'cub200', faces: 'faces',
};
const DATASET_LABEL: Record<DatasetName, string> = { flowers102: 'Oxford-102 Flowers', cub200: 'CUB-200-2011 birds', faces: 'Faces' };

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
  /** Model architecture preset (lib/config.ts). */
  modelPreset: PresetName;
  /** Evaluator preset (lib/evaluator.ts). */
  evaluatorPreset: ClassifierPreset;
  /** First K classes in the dataset's class order; undefined = all. */
  classes?: number;
  /** At most this many images per class, before the split (smoke only). */
  maxPerClass?: number;
  steps: number;
  perClass: number;
  checkpointEvery: number;
  gridEvery: number;
  /** Overrides of the evaluator's training settings. */
  evaluator?: Partial<ClassifierConfig>;
}
export type RunPreset = 'paper' | 'cpu' | 'tiny';
export const BUDGETS: Record<RunPreset | 'smoke', Budget> = {
  paper: { modelPreset: 'paper', evaluatorPreset: 'paper', steps: 50_000, perClass: 100, checkpointEvery: 1000, gridEvery: 2500 },
  cpu: { modelPreset: 'cpu', evaluatorPreset: 'cpu', classes: 20, steps: 3000, perClass: 100, checkpointEvery: 200, gridEvery: 500 },
  tiny: { modelPreset: 'tiny', evaluatorPreset: 'tiny', classes: 5, steps: 200, perClass: 20, checkpointEvery: 50, gridEvery: 50 },
  smoke: { modelPreset: 'tiny', evaluatorPreset: 'tiny', classes: 3, maxPerClass: 16, steps: 6, perClass: 4, checkpointEvery: 2, gridEvery: 3, evaluator: { maxEpochs: 2, batchSize: 8 } },
};

/** Share of each class's images in the test split, and how it is drawn (datasets/faces.ts's rule). */
export const TEST_FRACTION = 0.2;

export interface DataSplit {
  train: ImageDataset;
  test: ImageDataset;
  /** Classes of the full dataset (before the subset). */
  totalClasses: number;
}

/** The images `idx` of a dataset as a dataset of their own (pixels copied). */
export function subsetDataset(ds: ImageDataset, idx: readonly number[], split: string): ImageDataset {
  const per = ds.resolution * ds.resolution * 3;
  const images = new Uint8Array(idx.length * per);
  idx.forEach((i, k) => images.set(ds.images.subarray(i * per, (i + 1) * per), k * per));
  return { ...ds, split, images, labels: Int32Array.from(idx, (i) => ds.labels[i]), files: idx.map((i) => ds.files[i]) };
}

/**
 * Loads the classes of a run and splits them 80/20 per class: within each class, files sorted by
 * the SHA-1 of their base name, the first round(20%) are test. This is datasets/faces.ts's rule,
 * applied to all three datasets so they are treated alike; for faces it gives the loader's own
 * train/test split. Why not the official splits: the paper's split is unknown ([R]: a random
 * 80/20 per class), flowers' official training split has only 10 images per class (too few to
 * train a generator) and CUB's is about 50/50.
 */
export async function loadSplit(opts: { dataset: DatasetName; resolution: 32 | 64 | 128; classes?: number; maxPerClass?: number; root?: string; progress?: boolean }): Promise<DataSplit> {
  const all = await loadDataset({
    name: opts.dataset, split: 'all', resolution: opts.resolution, root: opts.root, maxPerClass: opts.maxPerClass,
    classes: opts.classes ? { first: opts.classes } : undefined, progress: opts.progress ?? true,
  });
  const byClass: number[][] = Array.from({ length: all.numClasses }, () => []);
  all.labels.forEach((l, i) => byClass[l].push(i));
  const train: number[] = [];
  const test: number[] = [];
  for (const idx of byClass) {
    const names = idx.map((i) => basename(all.files[i]));
    const testNames = new Set(splitIdentity(names, 'test'));
    for (const i of idx) (testNames.has(basename(all.files[i])) ? test : train).push(i);
  }
  const small = byClass.map((idx, c) => ({ c, n: idx.length })).filter((x) => x.n < 5);
  if (small.length) throw new Error(`${opts.dataset}: classes ${small.map((x) => `${all.classNames[x.c]} (${x.n})`).join(', ')} have fewer than 5 images; an 80/20 split needs more`);
  const totalClasses = indexDataset(opts.dataset, resolveRoot(opts.dataset, opts.root), 'all').classNames.length;
  return { train: subsetDataset(all, train, 'train'), test: subsetDataset(all, test, 'test'), totalClasses };
}

// ------------------------------------------------------------------------------------------------
// Training one model: progress bar, JSONL log, periodic grids, checkpoints, resume
// ------------------------------------------------------------------------------------------------

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
  batcher: Batcher;
  steps: number;
  /** The model's directory: checkpoint/, losses.jsonl, grids/. */
  dir: string;
  checkpointEvery: number;
  gridEvery: number;
  /** Rows of the sample grids (class ids) and their names. */
  gridClasses: number[];
  classNames: readonly string[];
  label: string;
}

/** The sample grid of a model: rows = classes, 8 columns sharing one fixed z (seed 1234). */
export function modelGrid(model: GenerativeModel, classIds: number[], classNames: readonly string[], title?: string) {
  return sampleGrid((labels, z) => model.sample(labels, { z }), { classIds, classNames, samplesPerClass: 8, zDim: model.config.zDim, seed: 1234, title });
}

/**
 * Trains `model` to `steps` total steps with lib/train.ts, resuming from `<dir>/checkpoint` when it
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
    logEvery: 0,
    log: (l) => {
      if (l.startsWith('resumed')) log(`${o.label}: ${l}`);
    },
    onStep: (r) => {
      lossLog.append({ step: r.step, ms: Math.round(r.ms * 10) / 10, epoch: r.epoch, losses: r.losses, metrics: r.metrics });
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

// ------------------------------------------------------------------------------------------------
// The reproduction
// ------------------------------------------------------------------------------------------------

export interface ReproduceOptions extends Output {
  /** flowers | birds | faces (or flowers102 | cub200). */
  dataset: string;
  preset: RunPreset;
  /** Shrink everything for tests/CI (also CVAEGAN_SMOKE=1). */
  smoke?: boolean;
  steps?: number;
  classes?: number;
  perClass?: number;
  /** Run directory (default runs/<dataset>-<preset>[-smoke]). */
  out?: string;
  /** Dataset folder (default: the download folder, else the staged copy). */
  root?: string;
  /** Models to train (default all of TABLE_MODELS). */
  models?: ModelKind[];
  seed?: number;
  /** Also copy the small results (tables, grids, manifest) to this folder. */
  results?: string;
}

export interface TableRow {
  method: string;
  kind: ModelKind | 'real';
  /** Discriminability: evaluator top-1 accuracy, percent. */
  top1: number;
  /** exp(E KL(p(y|x) || p(y))) under the evaluator. */
  realism: number;
  fid: number;
  /** Within-class mean pairwise RMS distance (images in [-1, 1]). */
  diversity: number;
  /** Images measured. */
  images: number;
  steps: number | null;
  /** Training time of the model (sum of step times), minutes. */
  trainMinutes: number | null;
}

export interface ReproduceResult {
  out: string;
  status: 'done' | 'stopped';
  rows: TableRow[];
  caption: string;
}

interface StageRecord {
  done: boolean;
  finishedAt?: string;
  result?: unknown;
}
interface RunState {
  stages: Record<string, StageRecord>;
}

function writeJsonAtomic(path: string, value: unknown): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(value, null, 1) + '\n');
  renameSync(tmp, path);
}

function readJson<T>(path: string): T | undefined {
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as T) : undefined;
}

/** The keys of two JSON values that differ, as dotted paths. */
function differences(a: unknown, b: unknown, path = ''): string[] {
  if (JSON.stringify(a) === JSON.stringify(b)) return [];
  if (a && b && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
    return keys.flatMap((k) => differences((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], path ? `${path}.${k}` : k));
  }
  return [`${path || '(root)'}: ${JSON.stringify(b)?.slice(0, 80)} before, ${JSON.stringify(a)?.slice(0, 80)} now`];
}

/** Which of `kinds` can be built now (createModel throws for an unregistered kind). */
export function checkModels(kinds: readonly ModelKind[], config: ModelConfig): void {
  for (const kind of kinds) {
    const m = createModel(kind, config);
    m.dispose();
  }
}

export async function reproduce(opts: ReproduceOptions): Promise<ReproduceResult> {
  const log = opts.log ?? ((l: string) => console.log(l));
  const backend = await initBackend();
  const smoke = opts.smoke ?? process.env.CVAEGAN_SMOKE === '1';
  const dataset = DATASET_ALIASES[opts.dataset];
  if (!dataset) throw new Error(`unknown dataset '${opts.dataset}'; use one of ${Object.keys(DATASET_ALIASES).join(', ')}`);
  if (!(opts.preset in BUDGETS)) throw new Error(`unknown preset '${opts.preset}'; use paper, cpu or tiny`);
  const budget = smoke ? BUDGETS.smoke : BUDGETS[opts.preset];
  const steps = opts.steps ?? budget.steps;
  const perClass = opts.perClass ?? budget.perClass;
  const classes = opts.classes ?? budget.classes;
  const seed = opts.seed ?? 1;
  const kinds = opts.models ?? TABLE_MODELS.map((m) => m.kind);
  for (const k of kinds) if (!TABLE_MODELS.some((m) => m.kind === k)) throw new Error(`unknown model '${k}'; use ${TABLE_MODELS.map((m) => m.kind).join(', ')}`);
  const out = resolve(opts.out ?? join('runs', `${opts.dataset}-${opts.preset}${smoke ? '-smoke' : ''}`));
  mkdirSync(out, { recursive: true });
  log(`reproduce: ${DATASET_LABEL[dataset]}, preset ${opts.preset}${smoke ? ' (smoke)' : ''}, run directory ${out}; backend ${backend.choice} (${backend.details.join(', ')})`);

  const resolution = makeConfig(budget.modelPreset, { numClasses: 2 }).resolution;
  const data = await loadSplit({ dataset, resolution, classes, maxPerClass: budget.maxPerClass, root: opts.root, progress: !smoke });
  const K = data.train.numClasses;
  const config = makeConfig(budget.modelPreset, { numClasses: K, seed });
  checkModels(kinds, config);
  const evalBase = classifierConfig(budget.evaluatorPreset, resolution, K, { seed, ...budget.evaluator });
  // Small subsets (a few classes of ~20 images): at least four batches per epoch.
  const evalBatch = Math.min(evalBase.batchSize, Math.max(2, Math.floor(((1 - evalBase.heldOutFraction) * data.train.labels.length) / 4)));
  const evalConfig = { ...evalBase, batchSize: evalBatch };
  const countPerClass = (ds: ImageDataset) => {
    const c = new Array<number>(K).fill(0);
    ds.labels.forEach((l) => c[l]++);
    return c;
  };

  // What this run is. Everything here must match on a rerun; the model list may grow.
  const manifest = {
    format: 'cvaegan-ts/reproduction@1',
    dataset,
    preset: opts.preset,
    smoke,
    resolution,
    classes: { count: K, of: data.totalClasses, rule: classes ? `first ${classes} in class order` : 'all', ids: data.train.classIds, names: data.train.classNames },
    split: { rule: `per class: files sorted by SHA-1 of the base name, first round(${TEST_FRACTION * 100}%) test`, maxPerClass: budget.maxPerClass ?? null, train: data.train.labels.length, test: data.test.labels.length, trainPerClass: countPerClass(data.train), testPerClass: countPerClass(data.test) },
    budget: { steps, batchSize: config.batchSize, checkpointEvery: budget.checkpointEvery, perClass },
    seeds: { model: seed, batcher: seed, evaluation: seed, grid: 1234 },
    modelConfig: config,
    evaluator: evalConfig,
  };
  const manifestPath = join(out, 'manifest.json');
  const before = readJson<typeof manifest & { createdAt: string; models: ModelKind[] }>(manifestPath);
  if (before) {
    const { createdAt: _c, models: _m, ...old } = before;
    const diff = differences(manifest, old);
    if (diff.length) throw new Error(`${out} holds a different run:\n  ${diff.join('\n  ')}\nRerun with the settings it was started with, or pass --out <new folder>.`);
  }
  const models = [...new Set([...(before?.models ?? []), ...kinds])].filter((k) => TABLE_MODELS.some((m) => m.kind === k));
  writeJsonAtomic(manifestPath, { ...manifest, models, createdAt: before?.createdAt ?? new Date().toISOString() });

  const statePath = join(out, 'state.json');
  const state: RunState = readJson<RunState>(statePath) ?? { stages: {} };
  const done = (name: string) => state.stages[name]?.done === true;
  const finish = (name: string, result?: unknown) => {
    state.stages[name] = { done: true, finishedAt: new Date().toISOString(), result };
    writeJsonAtomic(statePath, state);
  };
  const stage = (name: string, what: string) => log(`\n== ${name}: ${what}`);
  const shouldStop = opts.shouldStop ?? (() => false);
  const gridClasses = Array.from({ length: Math.min(K, 10) }, (_, i) => i);
  const names = data.train.classNames;

  // 1. The evaluator.
  stage('evaluator', done('evaluator') ? 'done, loading it' : `training on ${data.train.labels.length} real training images (${K} classes)`);
  let evaluator: Classifier;
  try {
    evaluator = await trainClassifier(datasetImages(data.train), data.train.labels, K, {
      ...evalConfig,
      preset: budget.evaluatorPreset,
      checkpointDir: join(out, 'evaluator'),
      log: (l) => log(`  ${l}`),
      shouldStop: opts.shouldStop,
    });
  } catch (e) {
    if (!(e instanceof StoppedError)) throw e;
    log(`  ${e.message}\nnot finished; rerun the same command to continue`);
    return { out, status: 'stopped', rows: [], caption: '' };
  }
  try {
    if (!done('evaluator')) finish('evaluator', { bestEpoch: evaluator.bestEpoch, epochs: evaluator.history.length, heldOutAccuracy: evaluator.history[evaluator.bestEpoch]?.heldOutAccuracy });

    // 2. The real-data row. The reference statistics are recomputed on every run (seconds): every
    // model's FID is measured against them.
    const t0 = Date.now();
    const reference = referenceStats(evaluator, datasetImages(data.test), data.test.labels);
    if (!done('reference')) {
      stage('reference', `the evaluator on ${data.test.labels.length} real test images`);
      const row: TableRow = {
        method: 'Real data', kind: 'real', top1: 100 * reference.accuracy, realism: reference.realism,
        fid: realFid(evaluator, datasetImages(data.train), reference), diversity: reference.diversity, images: reference.n, steps: null, trainMinutes: null,
      };
      realImageGrid(datasetImages(data.test), data.test.labels, { classIds: gridClasses, classNames: names, perClass: 8, title: 'real test images' }).save(join(out, 'grids', 'real.png'));
      finish('reference', row);
      log(`  test accuracy ${row.top1.toFixed(1)}%, realism ${row.realism.toFixed(2)}, FID(train, test) ${row.fid.toFixed(2)}, diversity ${row.diversity.toFixed(3)} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    }

    // 3. Each model: train, then evaluate.
    let stopped = false;
    for (const kind of TABLE_MODELS.map((m) => m.kind).filter((k) => kinds.includes(k))) {
      const label = TABLE_MODELS.find((m) => m.kind === kind)!.label;
      const dir = join(out, 'models', kind);
      if (!done(`train:${kind}`)) {
        stage(`train:${kind}`, `${label}, ${steps} steps of batch ${config.batchSize}`);
        const model = createModel(kind, config);
        try {
          const r = await runTraining({
            model, batcher: new Batcher(data.train, config.batchSize, seed), steps, dir, checkpointEvery: budget.checkpointEvery, gridEvery: budget.gridEvery,
            gridClasses, classNames: names, label, log: (l) => log(`  ${l}`), progressStream: opts.progressStream, shouldStop,
          });
          if (r.status === 'stopped') {
            stopped = true;
            log(`  stopped at step ${model.step}; rerun the same command to continue from the checkpoint`);
            break;
          }
          const records = readLossLog(join(dir, 'losses.jsonl'));
          finish(`train:${kind}`, { steps: model.step, trainMinutes: records.reduce((s, x) => s + (x.ms ?? 0), 0) / 60000 });
        } finally {
          model.dispose();
        }
      }
      if (!done(`eval:${kind}`)) {
        stage(`eval:${kind}`, `${label}: ${perClass} generated images per class x ${K} classes`);
        const t0 = Date.now();
        const model = await loadModel(join(dir, 'checkpoint'));
        try {
          const e: Evaluation = evaluate(model, evaluator, { perClass, seed, reference });
          const trained = state.stages[`train:${kind}`].result as { steps: number; trainMinutes: number };
          const row: TableRow = { method: label, kind, top1: 100 * e.accuracy, realism: e.realism, fid: e.fid, diversity: e.diversity, images: e.n, steps: trained.steps, trainMinutes: trained.trainMinutes };
          modelGrid(model, gridClasses, names, `${label} after ${trained.steps} steps`).save(join(out, 'grids', `${kind}.png`));
          finish(`eval:${kind}`, row);
          log(`  top-1 ${row.top1.toFixed(1)}%, realism ${row.realism.toFixed(2)}, FID ${row.fid.toFixed(2)}, diversity ${row.diversity.toFixed(3)} (real ${reference.diversity.toFixed(3)}) (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
        } finally {
          model.dispose();
        }
      }
      if (shouldStop()) {
        stopped = true;
        break;
      }
    }

    // 4. The table, from every finished evaluation.
    const rows: TableRow[] = [state.stages.reference.result as TableRow, ...TABLE_MODELS.filter((m) => done(`eval:${m.kind}`)).map((m) => state.stages[`eval:${m.kind}`].result as TableRow)];
    const caption = tableCaption(manifest, evaluator, models);
    writeTable(out, rows, caption, manifest);
    log(`\n${tableText(displayRows(rows), { caption, precision: 4 })}`);
    if (rows.length > 2) log(orderingText(rows));
    if (opts.results) publish(out, resolve(opts.results), models);
    const status = stopped || kinds.some((k) => !done(`eval:${k}`)) ? 'stopped' : 'done';
    log(status === 'done' ? `\nall stages done; results in ${out}` : `\nnot finished; rerun the same command to continue`);
    return { out, status, rows, caption };
  } finally {
    evaluator.dispose();
  }
}

type Manifest = {
  dataset: DatasetName;
  preset: string;
  smoke: boolean;
  resolution: number;
  classes: { count: number; of: number; rule: string };
  split: { train: number; test: number };
  budget: { steps: number; batchSize: number; perClass: number };
  seeds: { model: number };
  evaluator: ClassifierConfig;
};

function tableCaption(m: Manifest, ev: Classifier, models: ModelKind[]): string {
  const arch = ev.config.arch;
  return `Table 1 reproduction: ${DATASET_LABEL[m.dataset]}, preset ${m.preset}${m.smoke ? ' (smoke: tiny networks, few images)' : ''}. ` +
    `${m.classes.count} of ${m.classes.of} classes in the copy used (${m.classes.rule}), ${m.resolution}x${m.resolution} px; ` +
    `per-class 80/20 split: ${m.split.train} train / ${m.split.test} test images. ` +
    `Each model (${models.join(', ')}): ${m.budget.steps} steps of batch ${m.budget.batchSize}, seed ${m.seeds.model}, same batches. ` +
    `${m.budget.perClass} generated images per class. Evaluator: conv ${[...arch.stem, ...arch.blocks].join('-')}, f = ${arch.features}, ` +
    `trained on the train split (best held-out epoch ${ev.bestEpoch + 1}); Real data row = its numbers on the test split, FID of train vs test.`;
}

/** Rows with readable headers and rounded values (terminal and markdown). */
function displayRows(rows: TableRow[]): Record<string, string | number | null>[] {
  return rows.map((r) => ({
    Method: r.method,
    'Top-1 (%)': round(r.top1, 2),
    Realism: round(r.realism, 3),
    FID: round(r.fid, 2),
    Diversity: round(r.diversity, 4),
    Images: r.images,
    Steps: r.steps,
    'Train (min)': r.trainMinutes === null ? null : round(r.trainMinutes, 1),
  }));
}

/**
 * The models ranked per metric, best first, as text: higher is better for top-1 and realism, lower
 * for FID; for diversity, closer to the real test images' diversity is better (more is not: noise
 * is maximally diverse; much less is mode collapse).
 */
export function orderings(rows: readonly TableRow[]): Record<'top1' | 'realism' | 'fid' | 'diversity', string> {
  const real = rows.find((r) => r.kind === 'real');
  const models = rows.filter((r) => r.kind !== 'real');
  // Equal values (e.g. every model at chance) are joined by '=', not ranked.
  const rank = (key: (r: TableRow) => number, show: (r: TableRow) => string) =>
    [...models]
      .sort((a, b) => key(a) - key(b))
      .map((r, i, all) => `${i === 0 ? '' : key(r) === key(all[i - 1]) ? ' = ' : ' > '}${r.method} (${show(r)})`)
      .join('');
  return {
    top1: rank((r) => -r.top1, (r) => r.top1.toFixed(1)),
    realism: rank((r) => -r.realism, (r) => r.realism.toFixed(2)),
    fid: rank((r) => r.fid, (r) => r.fid.toFixed(2)),
    diversity: rank((r) => Math.abs(r.diversity - (real ? real.diversity : 0)), (r) => r.diversity.toFixed(3)),
  };
}

function orderingText(rows: readonly TableRow[]): string {
  const o = orderings(rows);
  const real = rows.find((r) => r.kind === 'real');
  return [
    `Top-1 (higher is better): ${o.top1}`,
    `Realism (higher is better): ${o.realism}`,
    `FID (lower is better): ${o.fid}`,
    `Diversity (closest to the real ${real ? real.diversity.toFixed(3) : '?'} first): ${o.diversity}`,
  ].join('\n');
}

function round(v: number, digits: number): number {
  return Number.isFinite(v) ? Number(v.toFixed(digits)) : v;
}

function markdownTable(rows: Record<string, string | number | null>[]): string {
  const cols = Object.keys(rows[0]);
  const cell = (v: string | number | null) => (v === null ? '' : String(v));
  return [`| ${cols.join(' | ')} |`, `|${cols.map((c) => (c === 'Method' ? '---' : '---:')).join('|')}|`, ...rows.map((r) => `| ${cols.map((c) => cell(r[c])).join(' | ')} |`)].join('\n') + '\n';
}

function writeTable(out: string, rows: TableRow[], caption: string, manifest: object): void {
  writeJsonAtomic(join(out, 'table.json'), { caption, columns: Object.keys(rows[0]), rows, orderings: orderings(rows), manifest });
  saveCsv(rows as unknown as Record<string, string | number | null>[], join(out, 'table.csv'));
  const order = rows.length > 2 ? `\nOrdering:\n\n${orderingText(rows).split('\n').map((l) => `- ${l}`).join('\n')}\n` : '';
  writeFileSync(join(out, 'table.md'), `${caption}\n\n${markdownTable(displayRows(rows))}${order}`);
}

/**
 * Copies the small outputs to a results folder (for committing): tables, manifest, final grids,
 * each model's loss chart, and its loss log with values rounded to 4 significant digits (about a
 * third of the size; enough to plot).
 */
function publish(out: string, dest: string, models: ModelKind[]): void {
  mkdirSync(join(dest, 'grids'), { recursive: true });
  for (const f of ['table.json', 'table.csv', 'table.md', 'manifest.json']) copyFileSync(join(out, f), join(dest, f));
  for (const g of existsSync(join(out, 'grids')) ? readdirSync(join(out, 'grids')) : []) copyFileSync(join(out, 'grids', g), join(dest, 'grids', g));
  const r4 = (o: Record<string, number> | undefined) => o && Object.fromEntries(Object.entries(o).map(([k, v]) => [k, Number.isFinite(v) ? Number(v.toPrecision(4)) : v]));
  for (const k of models) {
    const dir = join(out, 'models', k);
    if (existsSync(join(dir, 'losses.png'))) copyFileSync(join(dir, 'losses.png'), join(dest, `losses-${k}.png`));
    const records = readLossLog(join(dir, 'losses.jsonl'));
    if (records.length) writeFileSync(join(dest, `losses-${k}.jsonl`), records.map((r) => JSON.stringify({ step: r.step, losses: r4(r.losses), metrics: r4(r.metrics) }) + '\n').join(''));
  }
}

// ------------------------------------------------------------------------------------------------
// Sizing a budget on this machine (npm run reproduce -- --plan 90)
// ------------------------------------------------------------------------------------------------

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
  const data = await loadSplit({ dataset, resolution, classes: opts.classes ?? budget.classes, root: opts.root, progress: false });
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

// ------------------------------------------------------------------------------------------------
// One model from the command line (npm run train)
// ------------------------------------------------------------------------------------------------

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
  const data = await loadSplit({ dataset, resolution, classes: opts.classes ?? budget.classes, maxPerClass: budget.maxPerClass, root: opts.root, progress: !smoke });
  const config = makeConfig(budget.modelPreset, { numClasses: data.train.numClasses, seed: opts.seed ?? 1 });
  const steps = opts.steps ?? budget.steps;
  log(`train: ${label} on ${DATASET_LABEL[dataset]} (${data.train.numClasses} classes, ${data.train.labels.length} training images), preset ${opts.preset}, ${steps} steps of batch ${config.batchSize}, into ${out}; backend ${backend.choice}`);
  mkdirSync(out, { recursive: true });
  writeJsonAtomic(join(out, 'run.json'), { dataset, model: opts.model, preset: opts.preset, steps, classes: data.train.classNames, config });
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
