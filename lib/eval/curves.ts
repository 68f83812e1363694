/**
 * The step curves of a Table 1 run: each model's discriminability (the evaluator's top-1 on the
 * table's generated images) at every `curveEvery` steps, read back from the `top1` diagnostics in
 * its losses.jsonl, beside the real test images' accuracy and chance.
 *
 *   const c = stepCurves('runs/flowers-cpu', ['cgan', 'cvaegan']);   // { series, spec }
 *   writeFileSync('discriminability.png', await renderPng(c.spec, 2));
 */
import { existsSync, writeFileSync } from 'fs';
import { join } from 'path';
import type { ModelKind } from '../model/interface';
import { readLossLog } from '../train/losslog';
import { renderPng } from '../viz/charts';
import { curveChartSpec, CurveSeries } from '../viz/curves';
import { TABLE_MODELS } from './budget';

/** The series of `metric` (a diagnostic logged with the evaluator's numbers: top1, realism, fid) per model. */
export function stepSeries(runDir: string, models: readonly ModelKind[], metric = 'top1'): CurveSeries[] {
  return TABLE_MODELS.filter((m) => models.includes(m.kind)).flatMap((m) => {
    const path = join(runDir, 'models', m.kind, 'losses.jsonl');
    if (!existsSync(path)) return [];
    const points = readLossLog(path).flatMap((r) => (r.diagnostics && metric in r.diagnostics ? [[r.step, r.diagnostics[metric]] as [number, number]] : []));
    return points.length ? [{ name: m.label, points }] : [];
  });
}

/** The discriminability chart of a run (vega-lite spec) and its series. */
export function stepCurves(runDir: string, models: readonly ModelKind[], ref: { realTop1: number; numClasses: number; title?: string }) {
  const series = stepSeries(runDir, models, 'top1');
  const spec = curveChartSpec(series, {
    title: ref.title ?? 'discriminability during training',
    yTitle: 'evaluator top-1 on generated images (%)',
    rules: [
      { value: ref.realTop1, label: `real test images ${ref.realTop1.toFixed(1)}%` },
      { value: 100 / ref.numClasses, label: `chance ${(100 / ref.numClasses).toFixed(1)}%` },
    ],
  });
  return { series, spec };
}

/** Writes discriminability.json (the spec) and discriminability.png into `runDir`. */
export async function writeStepCurves(runDir: string, models: readonly ModelKind[], ref: { realTop1: number; numClasses: number; title?: string }): Promise<void> {
  const { series, spec } = stepCurves(runDir, models, ref);
  if (!series.length) return;
  writeFileSync(join(runDir, 'discriminability.json'), JSON.stringify(spec) + '\n');
  writeFileSync(join(runDir, 'discriminability.png'), await renderPng(spec, 2));
}
