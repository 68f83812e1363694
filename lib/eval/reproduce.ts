/**
 * The Table 1 reproduction runner behind `npm run reproduce` (scripts/reproduce.ts); notebooks can
 * call it too. Its budgets: budget.ts; its data split: splits.ts; training each model:
 * lib/train/run.ts; sizing a budget (--plan): plan.ts; one model alone (`npm run train`): train-one.ts.
 *
 * reproduce({ dataset: 'flowers', preset: 'cpu' }) runs, in one run directory (default
 * runs/<dataset>-<preset>), these stages, each recorded in state.json when done:
 *
 *   evaluator          the evaluation classifier on the real training split (lib/eval/evaluator.ts)
 *   reference          its numbers on the real test split: the "Real data" row
 *   train:<kind>       each model of TABLE_MODELS, same data, batches, seed and number of steps
 *   eval:<kind>        N generated images per class through the evaluator; the model's sample grid
 *
 * then writes table.json, table.csv, table.md (table-files.ts) and grids/<kind>.png. Rerunning the same command
 * skips finished stages and resumes an unfinished one from its checkpoint (training: lib/train/loop.ts;
 * evaluator: one checkpoint per epoch), so a kill at any point loses at most one checkpoint
 * interval. manifest.json records what the run is (config, seeds, classes, split, budget); a
 * rerun whose settings differ stops with the differences instead of mixing two experiments.
 *
 * Layout of a run directory:
 *   manifest.json state.json table.{json,csv,md}
 *   evaluator/                       classifier checkpoint
 *   models/<kind>/checkpoint/        model checkpoint (lib/model/checkpoint.ts)
 *   models/<kind>/losses.jsonl       one line per step (lib/train/losslog.ts); its diagnostics: G's
 *                                    label dependence, D's label gap, and the evaluator's numbers
 *                                    every curveEvery steps
 *   discriminability.{json,png}      the step curves (curves.ts)
 *   models/<kind>/grids/step-*.png   periodic sample grids (fixed z)
 *   grids/<kind>.png grids/real.png  final sample grids and real test images
 */
import { basename, join, relative, resolve, sep } from 'path';
import { copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'fs';
import * as tf from '@tensorflow/tfjs';
import { Batcher, toTensor } from '../../datasets/index';
import type { DatasetName, ImageDataset } from '../../datasets/index';
import { initBackend } from '../backend/index';
import { makeConfig, ModelConfig } from '../model/config';
import { createModel, loadModel, ModelKind } from '../model/factory';
import { trainingDiagnostics } from '../train/diagnostics';
import { modelGrid, Output, runTraining, writeJsonAtomic } from '../train/run';
import { readLossLog } from '../train/losslog';
import { realImageGrid } from '../viz/grid';
import { saveCsv, tableText } from '../viz/tables';
import { BUDGETS, DATASET_ALIASES, DATASET_LABEL, RunPreset, TABLE_MODELS } from './budget';
import { writeStepCurves } from './curves';
import { Classifier, ClassifierConfig, classifierConfig, datasetImages } from './evaluator';
import { StoppedError, trainClassifier } from './evaluator-training';
import { evaluate, Evaluation, realFid, referenceStats } from './measure';
import { loadSplit, TEST_FRACTION } from './splits';
import { beyondCaption, beyondStages } from './reproduce-beyond';
import { adoptModels, AdoptedModels, differences, readJson, RunState } from './models-from';
import { displayRows, orderingText, publish, TableRow, writeTable } from './table-files';

export { orderings } from './table-files';
export type { TableRow } from './table-files';

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
  /** Train nothing: only evaluate the checkpoints there are (adds new metrics to an older run). */
  evaluateOnly?: boolean;
  /** Train the CAS classifiers (reproduce-beyond.ts; default true). */
  cas?: boolean;
  /**
   * Take the trained models of this run folder instead of training them (same data, nets, budget
   * and seeds; the evaluator may differ): a new evaluator re-measures a finished table.
   */
  modelsFrom?: string;
  /** Overrides of the budget's evaluator settings (e.g. { maxEpochs: 300 }); recorded in manifest.json. */
  evaluator?: Partial<ClassifierConfig>;
  /** Overrides of the CAS classifiers' settings, on top of the evaluator's and the budget's. */
  casClassifier?: Partial<ClassifierConfig>;
}


export interface ReproduceResult {
  out: string;
  status: 'done' | 'stopped';
  rows: TableRow[];
  caption: string;
}


function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/**
 * The real images D's label gap is measured on: up to 64 training images, the same few of every
 * class (the first ones in the split's order), with their labels. The caller disposes x.
 */
export function probeBatch(ds: ImageDataset, size = 64): { x: tf.Tensor4D; labels: number[] } {
  const perClass = Math.max(1, Math.floor(size / ds.numClasses));
  const taken = new Array<number>(ds.numClasses).fill(0);
  const idx: number[] = [];
  ds.labels.forEach((l, i) => {
    if (taken[l] < perClass && idx.length < size) {
      taken[l]++;
      idx.push(i);
    }
  });
  return { x: toTensor(ds, idx), labels: idx.map((i) => ds.labels[i]) };
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
  const data = await loadSplit({ dataset, resolution, classes: opts.classes, budgetClasses: budget.classes, maxPerClass: budget.maxPerClass, root: opts.root, progress: !smoke });
  if (data.classesNote) log(`reproduce: ${data.classesNote}`);
  const K = data.train.numClasses;
  const config = makeConfig(budget.modelPreset, { numClasses: K, seed });
  checkModels(kinds, config);
  const evalBase = classifierConfig(budget.evaluatorPreset, resolution, K, { seed, ...budget.evaluator, ...opts.evaluator });
  // Small subsets (a few classes of ~20 images): at least four batches per epoch.
  const evalBatch = Math.min(evalBase.batchSize, Math.max(2, Math.floor(((1 - evalBase.heldOutFraction) * data.train.labels.length) / 4)));
  const evalConfig = { ...evalBase, batchSize: evalBatch };
  const casConfig: ClassifierConfig = { ...evalConfig, ...budget.cas, ...opts.casClassifier };
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
    budget: { steps, batchSize: config.batchSize, checkpointEvery: budget.checkpointEvery, perClass, diagnosticsEvery: budget.diagnosticsEvery, curveEvery: budget.curveEvery },
    seeds: { model: seed, batcher: seed, evaluation: seed, grid: 1234 },
    modelConfig: config,
    evaluator: evalConfig,
    // Only where CAS has its own recipe, so that the folders of earlier versions still match.
    ...(JSON.stringify(casConfig) === JSON.stringify(evalConfig) ? {} : { casClassifier: casConfig }),
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
  const withCas = opts.cas ?? true;
  if (opts.modelsFrom) adoptModels(resolve(opts.modelsFrom), out, manifest, kinds, state, { finish, log, casConfig, cas: withCas });
  const adopted = state.stages['models-from']?.result as AdoptedModels | undefined;

  // 1. The evaluator.
  if (opts.evaluateOnly && !done('evaluator')) throw new Error(`--evaluate-only: ${out} has no finished evaluator; run without it first`);
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
    const beyond = beyondStages({ evaluator, train: data.train, test: data.test, perClass, seed, evaluatorConfig: evalConfig, evaluatorPreset: budget.evaluatorPreset, casConfig, cas: withCas, out, done, finish, stage, log, shouldStop, result: (s) => state.stages[s]?.result });
    beyond.real();
    let stopped = (await beyond.realCas()) === 'stopped' || shouldStop();

    // 3. Each model: train, then evaluate.
    for (const kind of TABLE_MODELS.map((m) => m.kind).filter((k) => !stopped && kinds.includes(k))) {
      const label = TABLE_MODELS.find((m) => m.kind === kind)!.label;
      const dir = join(out, 'models', kind);
      if (opts.evaluateOnly && !done(`train:${kind}`)) {
        log(`\n== train:${kind}: not trained here; skipped (--evaluate-only)`);
        continue;
      }
      if (!done(`train:${kind}`)) {
        stage(`train:${kind}`, `${label}, ${steps} steps of batch ${config.batchSize}`);
        const model = createModel(kind, config);
        const probe = probeBatch(data.train);
        try {
          // G's label dependence and D's label gap every diagnosticsEvery steps; the evaluator's
          // numbers on the same generated images as the table's every curveEvery steps (the
          // step curves of the figure), and at the last step.
          const diagnose = trainingDiagnostics(model, probe, budget.diagnosticsEvery);
          const diagnostics = {
            every: gcd(budget.diagnosticsEvery, budget.curveEvery),
            measure: (): Record<string, number> => {
              const d = model.step % budget.diagnosticsEvery === 0 || model.step === steps ? diagnose.measure() : {};
              if (model.step % budget.curveEvery !== 0 && model.step !== steps) return d;
              const e = evaluate(model, evaluator, { perClass, seed, reference });
              return { ...d, top1: 100 * e.accuracy, realism: e.realism, fid: e.fid };
            },
          };
          const r = await runTraining({
            model, batcher: new Batcher(data.train, config.batchSize, seed), steps, dir, checkpointEvery: budget.checkpointEvery, gridEvery: budget.gridEvery,
            gridClasses, classNames: names, label, log: (l) => log(`  ${l}`), progressStream: opts.progressStream, shouldStop, diagnostics,
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
          probe.x.dispose();
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
      if ((await beyond.model(kind, label)) === 'stopped' || shouldStop()) {
        stopped = true;
        break;
      }
    }

    // 4. The table, from every finished evaluation.
    const rows: TableRow[] = [state.stages.reference.result as TableRow, ...TABLE_MODELS.filter((m) => done(`eval:${m.kind}`)).map((m) => state.stages[`eval:${m.kind}`].result as TableRow)].map((r) => ({ ...r, ...beyond.columns(r) }));
    const caption = tableCaption(manifest, evaluator, models, adopted) + beyondCaption(manifest);
    writeTable(out, rows, caption, manifest);
    // Adopted models' curves were measured during their training, under the other run's evaluator.
    await writeStepCurves(out, models, adopted
      ? { realTop1: adopted.evaluatorTop1, numClasses: K, title: `${DATASET_LABEL[dataset]}: discriminability during training (under the evaluator of ${adopted.runName}, ${adopted.evaluatorTop1.toFixed(1)}% on real)` }
      : { realTop1: reference.accuracy * 100, numClasses: K, title: `${DATASET_LABEL[dataset]}: discriminability during training` });
    log(`\n${tableText(displayRows(rows), { caption, precision: 4 })}`);
    if (rows.length > 2) log(orderingText(rows));
    if (opts.results) publish(out, resolve(opts.results), models);
    // --evaluate-only: a model never trained here is skipped (said above), not an unfinished stage.
    const status = stopped || kinds.some((k) => !done(`eval:${k}`) && !(opts.evaluateOnly && !done(`train:${k}`))) ? 'stopped' : 'done';
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


function tableCaption(m: Manifest, ev: Classifier, models: ModelKind[], adopted?: AdoptedModels): string {
  const arch = ev.config.arch;
  const from = adopted
    ? ` The models (${adopted.models.join(', ')}) were trained in ${adopted.runName} and measured here with this run's evaluator; their step curves were measured during training under that run's ${adopted.evaluatorEpochs}-epoch evaluator (${adopted.evaluatorTop1.toFixed(1)}% on the real test images).`
    : '';
  return `Table 1 reproduction: ${DATASET_LABEL[m.dataset]}, preset ${m.preset}${m.smoke ? ' (smoke: tiny networks, few images)' : ''}. ` +
    `${m.classes.count} of ${m.classes.of} classes in the copy used (${m.classes.rule}), ${m.resolution}x${m.resolution} px; ` +
    `per-class 80/20 split: ${m.split.train} train / ${m.split.test} test images. ` +
    `Each model (${models.join(', ')}): ${m.budget.steps} steps of batch ${m.budget.batchSize}, seed ${m.seeds.model}, same batches. ` +
    `${m.budget.perClass} generated images per class. Evaluator: conv ${[...arch.stem, ...arch.blocks].join('-')}, f = ${arch.features}, ` +
    `${ev.config.maxEpochs} epochs at most on the train split (best held-out epoch ${ev.bestEpoch + 1}); Real data row = its numbers on the test split, FID of train vs test.${from}`;
}
