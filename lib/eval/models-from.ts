/**
 * A run folder's state.json records and `--models-from` (adoptModels): taking another run's trained
 * models so that a new evaluator re-measures a finished table without retraining.
 */
import { basename, join, relative, sep } from 'path';
import { cpSync, existsSync, readFileSync } from 'fs';
import type { ModelKind } from '../model/factory';
import type { ClassifierConfig } from './evaluator';
import type { TableRow } from './table-files';

export interface StageRecord {
  done: boolean;
  finishedAt?: string;
  result?: unknown;
}
export interface RunState {
  stages: Record<string, StageRecord>;
}

export function readJson<T>(path: string): T | undefined {
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as T) : undefined;
}

/** The keys of two JSON values that differ, as dotted paths. */
export function differences(a: unknown, b: unknown, path = ''): string[] {
  if (JSON.stringify(a) === JSON.stringify(b)) return [];
  if (a && b && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
    return keys.flatMap((k) => differences((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], path ? `${path}.${k}` : k));
  }
  return [`${path || '(root)'}: ${JSON.stringify(b)?.slice(0, 80)} before, ${JSON.stringify(a)?.slice(0, 80)} now`];
}

/** What --models-from took from the other run (state.json's 'models-from' stage). */
export interface AdoptedModels {
  from: string;
  runName: string;
  models: ModelKind[];
  /** The other run's evaluator on the real test images, percent: its step curves are under it. */
  evaluatorTop1: number;
  evaluatorEpochs: number;
}

/**
 * --models-from: the trained models of another run folder of the same data, nets, budget and
 * seeds (only the evaluator and CAS settings may differ), so that a new evaluator re-measures a
 * finished table without retraining. Copies models/<kind>/ (checkpoint, losses.jsonl with the step
 * curves measured during training, grids) and marks train:<kind> done; a CAS classifier comes too
 * where its config is this run's, and the other run's evaluator becomes the real row's CAS
 * classifier (cas-real/) where it is this run's CAS recipe. Nothing is overwritten.
 */
export function adoptModels(src: string, out: string, manifest: Record<string, unknown>, kinds: readonly ModelKind[], state: RunState,
  ctx: { finish(stage: string, result: unknown): void; log(line: string): void; casConfig: ClassifierConfig; cas: boolean }): void {
  if (src === out) throw new Error(`--models-from: ${src} is this run's own folder`);
  const theirs = readJson<Record<string, unknown>>(join(src, 'manifest.json'));
  if (!theirs) throw new Error(`--models-from: ${src} has no manifest.json (not a run folder of npm run reproduce)`);
  const { createdAt: _c, models: _m, evaluator: theirEvaluator, casClassifier: theirCas, ...theirRest } = theirs;
  const { evaluator: _e, casClassifier: _k, ...ourRest } = manifest;
  const diff = differences(ourRest, theirRest);
  if (diff.length) throw new Error(`--models-from: ${src} is a run of other settings (only the evaluator may differ):\n  ${diff.join('\n  ')}`);
  const theirState = readJson<RunState>(join(src, 'state.json')) ?? { stages: {} };
  const reference = theirState.stages.reference?.result as TableRow | undefined;
  if (!reference) throw new Error(`--models-from: ${src} has no finished evaluator and reference row`);
  const before = state.stages['models-from']?.result as AdoptedModels | undefined;
  if (before && before.from !== src) throw new Error(`--models-from: this run took its models from ${before.from}, not ${src}`);
  const sameCas = JSON.stringify(theirCas ?? theirEvaluator) === JSON.stringify(ctx.casConfig);
  const adopted: ModelKind[] = [];
  for (const kind of kinds) {
    const trained = theirState.stages[`train:${kind}`];
    if (state.stages[`train:${kind}`]?.done || !trained?.done) continue;
    const from = join(src, 'models', kind);
    const to = join(out, 'models', kind);
    if (existsSync(to)) throw new Error(`--models-from: ${to} exists already and train:${kind} is not done; delete it or use another --out`);
    cpSync(from, to, { recursive: true, filter: (p) => sameCas || relative(from, p).split(sep)[0] !== 'cas' });
    ctx.finish(`train:${kind}`, { ...(trained.result as object), from: src });
    adopted.push(kind);
    ctx.log(`== train:${kind}: taken from ${from}${sameCas && existsSync(join(from, 'cas')) ? ' (with its CAS classifier)' : ''}`);
  }
  if (ctx.cas && JSON.stringify(theirEvaluator) === JSON.stringify(ctx.casConfig) && theirState.stages.evaluator?.done && !existsSync(join(out, 'cas-real'))) {
    cpSync(join(src, 'evaluator'), join(out, 'cas-real'), { recursive: true });
    ctx.log(`== cas:real: ${src}'s evaluator is this run's CAS recipe on the real images; taken`);
  }
  const ev = theirEvaluator as ClassifierConfig;
  ctx.finish('models-from', { from: src, runName: basename(src), models: [...new Set([...(before?.models ?? []), ...adopted])], evaluatorTop1: reference.top1, evaluatorEpochs: ev.maxEpochs } satisfies AdoptedModels);
}
