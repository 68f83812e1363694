/**
 * A measurement against training steps, one line per series, with labelled horizontal reference
 * lines: the step curves of Table 1 (each model's discriminability every 500 steps, beside the real
 * images' accuracy and chance).
 *
 *   const spec = curveChartSpec([{ name: 'CGAN', points: [[500, 8.1], [1000, 21.4]] }], {
 *     title: 'discriminability', yTitle: 'top-1 (%)', rules: [{ value: 5, label: 'chance' }] });
 *   await display(await vegaLiteBundle(spec));   // or writeFileSync(path, await renderPng(spec))
 */
import type { TopLevelSpec } from 'vega-lite';

export interface CurveSeries {
  name: string;
  /** [x, y] pairs in x order. */
  points: [number, number][];
}

export interface CurveChartOptions {
  title?: string;
  xTitle?: string;
  yTitle?: string;
  /** Horizontal reference lines, drawn dashed with their label at the right end. */
  rules?: { value: number; label: string }[];
  width?: number;
  height?: number;
}

/** The vega-lite spec (data inline) of the series as lines with points, series in the given order. */
export function curveChartSpec(series: readonly CurveSeries[], opts: CurveChartOptions = {}): TopLevelSpec {
  const names = series.map((s) => s.name);
  const values = series.flatMap((s) => s.points.map(([x, y]) => ({ series: s.name, x, y: Number.isFinite(y) ? Number(y.toPrecision(5)) : null })));
  const rules = opts.rules ?? [];
  const xMax = Math.max(0, ...values.map((v) => v.x));
  const x = { field: 'x', type: 'quantitative' as const, title: opts.xTitle ?? 'step', scale: { domainMin: 0 } };
  const y = { field: 'y', type: 'quantitative' as const, title: opts.yTitle ?? null };
  const layer: unknown[] = [
    {
      data: { values },
      mark: { type: 'line', point: true, strokeWidth: 2 },
      encoding: {
        x, y,
        color: { field: 'series', type: 'nominal', sort: names, title: null },
        tooltip: [{ field: 'series', type: 'nominal' }, { field: 'x', type: 'quantitative', title: opts.xTitle ?? 'step' }, { field: 'y', type: 'quantitative', format: '.4g', title: opts.yTitle ?? 'value' }],
      },
    },
  ];
  if (rules.length) {
    const ruleValues = rules.map((r) => ({ y: r.value, label: r.label, x: xMax }));
    layer.push(
      { data: { values: ruleValues }, mark: { type: 'rule', strokeDash: [4, 4], color: 'gray' }, encoding: { y: { field: 'y', type: 'quantitative' } } },
      { data: { values: ruleValues }, mark: { type: 'text', align: 'right', baseline: 'bottom', dy: -2, color: 'gray' }, encoding: { x: { field: 'x', type: 'quantitative' }, y: { field: 'y', type: 'quantitative' }, text: { field: 'label' } } },
    );
  }
  return { title: opts.title, width: opts.width ?? 420, height: opts.height ?? 260, layer } as TopLevelSpec;
}
