/**
 * The Table 1 runner's stages for the metrics beyond the paper (measure-beyond.ts), kept out of
 * reproduce.ts so that file stays the paper's runner:
 *
 *   beyond:real      intra-class FID, precision / recall, density / coverage of the real training
 *                    images against the test images
 *   cas:real         the CAS recipe trained on the real training images (checkpoint in cas-real/),
 *                    only where the budget gives CAS other settings than the evaluator's; otherwise
 *                    the real row's CAS is the evaluator's own test top-1
 *   beyond:<kind>    the same four and intra-class FID for the model's generated images
 *   cas:<kind>       the classification accuracy score (a classifier trained on generated images;
 *                    checkpoint in models/<kind>/cas/, so a killed run resumes)
 *
 * They only read checkpoints (the evaluator, models/<kind>/checkpoint), so a results folder of an
 * earlier version gets these columns by rerunning its command (with --evaluate-only to be sure
 * nothing is trained): finished training and evaluation stages are skipped, these run.
 */
import { join } from 'path';
import type { ImageDataset } from '../../datasets/index';
import { loadModel } from '../model/factory';
import type { ModelKind } from '../model/interface';
import { Classifier, ClassifierConfig, ClassifierPreset, datasetImages } from './evaluator';
import { StoppedError } from './evaluator-training';
import { beyondMetrics, BeyondMetrics, CasResult, classificationAccuracyScore, countPerClass, generatedFeatures, realFeatures, trainedClassifierScore } from './measure-beyond';

/** The table columns these stages add; null where a stage has not run (e.g. CAS switched off). */
export interface BeyondColumns {
  intraFid: number | null;
  precision: number | null;
  recall: number | null;
  density: number | null;
  coverage: number | null;
  /** Classification accuracy score, percent (as top-1). */
  cas: number | null;
}

export interface BeyondContext {
  evaluator: Classifier;
  train: ImageDataset;
  test: ImageDataset;
  perClass: number;
  seed: number;
  evaluatorConfig: ClassifierConfig;
  evaluatorPreset: ClassifierPreset;
  /** The CAS classifiers' config: the evaluator's, or the budget's cheaper one (budget.ts). */
  casConfig: ClassifierConfig;
  /** Train the CAS classifiers (one evaluator training per model; default true). */
  cas: boolean;
  out: string;
  done(stage: string): boolean;
  result(stage: string): unknown;
  finish(stage: string, result: unknown): void;
  stage(name: string, what: string): void;
  log(line: string): void;
  shouldStop?(): boolean;
}

const fmt = (m: BeyondMetrics) =>
  `intra-class FID ${m.intraFid.toFixed(2)}, precision ${m.precision.toFixed(3)}, recall ${m.recall.toFixed(3)}, density ${m.density.toFixed(3)}, coverage ${m.coverage.toFixed(3)} (${m.knnRows} vs ${m.knnRows} rows)`;

export function beyondStages(ctx: BeyondContext) {
  const K = ctx.test.numClasses;
  const separateCas = JSON.stringify(ctx.casConfig) !== JSON.stringify(ctx.evaluatorConfig);
  let testFeats: ReturnType<typeof realFeatures> | undefined;
  const test = () => (testFeats ??= realFeatures(ctx.evaluator, datasetImages(ctx.test), ctx.test.labels));
  return {
    /** The real-data row's columns. */
    real(): void {
      if (ctx.done('beyond:real')) return;
      ctx.stage('beyond:real', 'intra-class FID, precision/recall, density/coverage of the real training images against the test images');
      const m = beyondMetrics(test(), realFeatures(ctx.evaluator, datasetImages(ctx.train), ctx.train.labels), K);
      ctx.finish('beyond:real', m);
      ctx.log(`  ${fmt(m)}`);
    },
    /** The real row's CAS where the CAS recipe is not the evaluator's; 'stopped' when shouldStop ended it. */
    async realCas(): Promise<'done' | 'stopped'> {
      if (!ctx.cas || !separateCas || ctx.done('cas:real')) return 'done';
      const n = ctx.train.labels.length;
      ctx.stage('cas:real', `the CAS recipe (${ctx.casConfig.maxEpochs} epochs, the evaluator's ${ctx.evaluatorConfig.maxEpochs}) trained on the ${n} real training images, tested on the real test images`);
      const t0 = Date.now();
      try {
        const r = await trainedClassifierScore(datasetImages(ctx.train), ctx.train.labels, K, { images: datasetImages(ctx.test), labels: ctx.test.labels }, {
          config: ctx.casConfig, preset: ctx.evaluatorPreset, checkpointDir: join(ctx.out, 'cas-real'), log: (l) => ctx.log(`  ${l}`), shouldStop: ctx.shouldStop,
        });
        ctx.finish('cas:real', r);
        ctx.log(`  CAS of the real images ${(100 * r.cas).toFixed(1)}% (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
        return 'done';
      } catch (e) {
        if (!(e instanceof StoppedError)) throw e;
        ctx.log(`  ${e.message}`);
        return 'stopped';
      }
    },
    /** A model's columns from its checkpoint; 'stopped' when shouldStop ended the CAS training. */
    async model(kind: ModelKind, label: string): Promise<'done' | 'stopped'> {
      const dir = join(ctx.out, 'models', kind);
      if (ctx.done(`beyond:${kind}`) && (!ctx.cas || ctx.done(`cas:${kind}`))) return 'done';
      const model = await loadModel(join(dir, 'checkpoint'));
      try {
        if (!ctx.done(`beyond:${kind}`)) {
          ctx.stage(`beyond:${kind}`, `${label}: the same ${ctx.perClass} generated images per class as the table's`);
          const m = beyondMetrics(test(), generatedFeatures(model, ctx.evaluator, ctx.perClass, ctx.seed), K);
          ctx.finish(`beyond:${kind}`, m);
          ctx.log(`  ${fmt(m)}`);
        }
        if (ctx.cas && !ctx.done(`cas:${kind}`)) {
          const counts = countPerClass(ctx.train.labels, K);
          ctx.stage(`cas:${kind}`, `${label}: the CAS recipe trained on ${counts.reduce((a, b) => a + b, 0)} generated images (the real training split's count per class), tested on the real test images`);
          const t0 = Date.now();
          try {
            const r = await classificationAccuracyScore(model, counts, { images: datasetImages(ctx.test), labels: ctx.test.labels }, {
              config: ctx.casConfig, preset: ctx.evaluatorPreset, seed: ctx.seed, checkpointDir: join(dir, 'cas'), log: (l) => ctx.log(`  ${l}`), shouldStop: ctx.shouldStop,
            });
            ctx.finish(`cas:${kind}`, r);
            ctx.log(`  CAS ${(100 * r.cas).toFixed(1)}% (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
          } catch (e) {
            if (!(e instanceof StoppedError)) throw e;
            ctx.log(`  ${e.message}`);
            return 'stopped';
          }
        }
        return 'done';
      } finally {
        model.dispose();
      }
    },
    /**
     * The columns of a table row. The real row's CAS is its top-1 where the evaluator is the CAS
     * recipe trained on real images, else the cas:real stage's.
     */
    columns(row: { kind: string; top1: number }): BeyondColumns {
      const m = ctx.result(`beyond:${row.kind}`) as BeyondMetrics | undefined;
      const cas = row.kind === 'real' && !separateCas ? row.top1 / 100 : (ctx.result(`cas:${row.kind}`) as CasResult | undefined)?.cas;
      return {
        intraFid: m?.intraFid ?? null, precision: m?.precision ?? null, recall: m?.recall ?? null, density: m?.density ?? null, coverage: m?.coverage ?? null,
        cas: cas === undefined ? null : 100 * cas,
      };
    },
  };
}

/** The caption's sentence on these columns. */
export function beyondCaption(m: { split: { test: number }; evaluator: ClassifierConfig; casClassifier?: ClassifierConfig }): string {
  const cas = m.casClassifier
    ? `the evaluator's net trained for ${m.casClassifier.maxEpochs} epochs (patience ${m.casClassifier.patience}) on generated images only, as many per class as the real training split (Real data: the same recipe on the real training images)`
    : `the evaluator's recipe trained on generated images only, as many per class as the real training split (Real data: the evaluator itself)`;
  return ` Beyond the paper, on the evaluator's features: intra-class FID (per class against its real test images, averaged); ` +
    `precision/recall (k = 3) and density/coverage (k = 5) against the ${m.split.test} real test images, the generated set cut to the same count per class; ` +
    `CAS = top-1 on the real test images of ${cas}.`;
}

export { countPerClass };
