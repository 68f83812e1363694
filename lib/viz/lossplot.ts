/**
 * A live chart of every loss term against step, updated in place while a training cell runs.
 *
 * `push(step, losses)` only stores numbers; a LiveDisplay re-renders the chart from a timer (at most
 * a few times a second, less when rendering is slow) and `await flush()` sends the final state.
 * Each update is a full bundle from lib/viz/charts.ts (vega-lite JSON for JupyterLab, SVG and PNG for
 * GitHub and the classic Notebook, text). All points are kept; the chart gets at most `maxPoints`
 * per term (bucket means of raw and smoothed values, drawn at each bucket's last step, so the
 * newest step is always in the chart), which keeps updates small on long runs.
 */
import { mkdirSync, writeFileSync } from 'fs';
import { dirname, resolve } from 'path';
import type { TopLevelSpec } from 'vega-lite';
import { renderPng, vegaLiteBundle } from './charts';
import { LiveDisplay, type MimeBundle } from './display';

export interface LossChartOptions {
  title?: string;
  /** Terms to draw, in this order (default: every term pushed, in order of first appearance). */
  terms?: string[];
  /**
   * EMA weight in [0, 1) as in TensorBoard (default 0.6; 0 draws the raw values only). With
   * smoothing, raw values stay in the chart as a faint line behind the smoothed one.
   */
  smoothing?: number;
  /** Logarithmic y axis (values <= 0 are left out). */
  logScale?: boolean;
  /** 'facet': one small panel per term, each with its own y scale (default); 'single': one panel. */
  layout?: 'facet' | 'single';
  /** Panels per row in the facet layout (default 3). */
  columns?: number;
  /** Size of one panel in px (default 220×130 faceted, 520×260 single). */
  width?: number;
  height?: number;
  /** Points per term in the chart (default 500). */
  maxPoints?: number;
  /** What the values are, for the y axis and legend of the single layout (default 'loss'). */
  valueTitle?: string;
}

export interface LossPlotOptions extends LossChartOptions {
  /** Update rate cap (default 2 per second). */
  maxPerSecond?: number;
  /** Share of wall time that rendering may take (default 0.1); slow renders space updates out. */
  maxBusyShare?: number;
  /** Write the chart as PNG here on every flush (works outside notebooks too). */
  savePath?: string;
}

/** Losses recorded so far: `values[term][i]` belongs to `steps[i]` (NaN where a term was absent). */
export interface LossHistory {
  steps: number[];
  values: Record<string, number[]>;
}

/** Debiased exponential moving average (TensorBoard's smoothing); non-finite inputs are skipped. */
export function emaSmooth(values: readonly number[], weight: number): number[] {
  let acc = 0;
  let n = 0;
  return values.map((v) => {
    if (!Number.isFinite(v)) return n === 0 ? NaN : acc / (1 - Math.pow(weight, n));
    acc = acc * weight + (1 - weight) * v;
    n++;
    return acc / (1 - Math.pow(weight, n));
  });
}

/**
 * Index buckets for drawing at most `maxPoints` points of `length`: each bucket is [start, end),
 * and the last bucket ends at `length`, so the newest step is always drawn.
 */
export function downsampleBuckets(length: number, maxPoints: number): [number, number][] {
  const buckets: [number, number][] = [];
  const count = Math.min(length, Math.max(1, Math.floor(maxPoints)));
  for (let b = 0; b < count; b++) {
    buckets.push([Math.floor((b * length) / count), Math.floor(((b + 1) * length) / count)]);
  }
  return buckets;
}

function round(v: number): number | null {
  return Number.isFinite(v) ? Number(v.toPrecision(5)) : null;
}

function mean(xs: readonly number[], start: number, end: number): number {
  let sum = 0;
  let n = 0;
  for (let i = start; i < end; i++) {
    if (Number.isFinite(xs[i])) {
      sum += xs[i];
      n++;
    }
  }
  return n ? sum / n : NaN;
}

/** Chart rows in long format: one per (drawn step, term). */
export function lossChartRows(history: LossHistory, opts: LossChartOptions = {}): { step: number; term: string; value: number | null; smoothed?: number | null }[] {
  const terms = opts.terms ?? Object.keys(history.values);
  const smoothing = opts.smoothing ?? 0.6;
  const buckets = downsampleBuckets(history.steps.length, opts.maxPoints ?? 500);
  const rows: { step: number; term: string; value: number | null; smoothed?: number | null }[] = [];
  for (const term of terms) {
    const raw = history.values[term];
    if (!raw) continue;
    const smooth = smoothing > 0 ? emaSmooth(raw, smoothing) : undefined;
    for (const [start, end] of buckets) {
      const row: { step: number; term: string; value: number | null; smoothed?: number | null } = {
        step: history.steps[end - 1],
        term,
        value: round(end - start === 1 ? raw[start] : mean(raw, start, end)),
      };
      if (smooth) row.smoothed = round(mean(smooth, start, end));
      rows.push(row);
    }
  }
  return rows;
}

/** The vega-lite spec of a loss chart (data inline, so the saved notebook is self-contained). */
export function lossChartSpec(history: LossHistory, opts: LossChartOptions = {}): TopLevelSpec {
  const terms = (opts.terms ?? Object.keys(history.values)).filter((t) => t in history.values);
  const facet = (opts.layout ?? 'facet') === 'facet';
  const smoothed = (opts.smoothing ?? 0.6) > 0;
  const yScale = opts.logScale ? { type: 'log' as const } : { zero: false };
  const x = { field: 'step', type: 'quantitative' as const, title: 'step' };
  const color = { field: 'term', type: 'nominal' as const, sort: terms, title: opts.valueTitle ?? 'loss', legend: facet ? null : { symbolOpacity: 1 } };
  const line = (field: 'value' | 'smoothed', faint: boolean) => ({
    // Log scales cannot show 0 or negatives; null values leave gaps instead of breaking the chart.
    transform: opts.logScale ? [{ filter: `datum.${field} > 0` }] : [],
    mark: { type: 'line' as const, opacity: faint ? 0.3 : 1, strokeWidth: faint ? 1 : 1.75, clip: true },
    encoding: {
      x,
      y: { field, type: 'quantitative' as const, title: facet ? null : opts.valueTitle ?? 'loss', scale: yScale },
      color,
      tooltip: [
        { field: 'term', type: 'nominal' as const },
        { field: 'step', type: 'quantitative' as const },
        { field: 'value', type: 'quantitative' as const, title: 'raw', format: '.4g' },
        ...(smoothed ? [{ field: 'smoothed', type: 'quantitative' as const, format: '.4g' }] : []),
      ],
    },
  });
  const layer = smoothed ? [line('value', true), line('smoothed', false)] : [line('value', false)];
  const values = lossChartRows(history, { ...opts, terms });
  const title = opts.title ?? `losses (${history.steps.length} steps${smoothed ? `, EMA ${opts.smoothing ?? 0.6}` : ''})`;
  if (facet) {
    return {
      title,
      data: { values },
      facet: { field: 'term', type: 'nominal', sort: terms, title: null },
      columns: Math.min(opts.columns ?? 3, Math.max(1, terms.length)),
      spec: { width: opts.width ?? 220, height: opts.height ?? 130, layer },
      resolve: { scale: { y: 'independent' } },
    } as TopLevelSpec;
  }
  return { title, data: { values }, width: opts.width ?? 520, height: opts.height ?? 260, layer } as TopLevelSpec;
}

export class LiveLossPlot {
  private readonly steps: number[] = [];
  private readonly values: Record<string, number[]> = {};
  readonly live: LiveDisplay;

  constructor(private readonly opts: LossPlotOptions = {}) {
    this.live = new LiveDisplay(() => this.bundle(), { maxPerSecond: opts.maxPerSecond ?? 2, maxBusyShare: opts.maxBusyShare });
  }

  /** Records one step. Cheap: no rendering happens here. Non-finite losses are kept as gaps. */
  push(step: number, losses: Record<string, number>): void {
    const i = this.steps.length;
    this.steps.push(step);
    for (const [term, v] of Object.entries(losses)) {
      let column = this.values[term];
      if (!column) {
        column = this.values[term] = new Array<number>(i).fill(NaN);
      }
      column.push(v);
    }
    for (const column of Object.values(this.values)) if (column.length === i) column.push(NaN);
    this.live.invalidate();
  }

  /** Steps recorded so far. */
  get length(): number {
    return this.steps.length;
  }

  /** A copy of everything recorded. */
  history(): LossHistory {
    const values: Record<string, number[]> = {};
    for (const [term, column] of Object.entries(this.values)) values[term] = [...column];
    return { steps: [...this.steps], values };
  }

  spec(): TopLevelSpec {
    return lossChartSpec({ steps: this.steps, values: this.values }, this.opts);
  }

  bundle(): Promise<MimeBundle> {
    const last = this.steps.length ? `, last step ${this.steps[this.steps.length - 1]}` : '';
    return vegaLiteBundle(this.spec(), { alt: `<loss chart: ${Object.keys(this.values).join(', ')}${last}>`, pngScale: 1.25 });
  }

  /** Sends the final chart (notebook) and writes `savePath` if set. Call at the end of training. */
  async flush(): Promise<void> {
    await this.live.flush();
    if (this.opts.savePath && this.steps.length) await this.savePng(this.opts.savePath);
  }

  /** Writes the chart as PNG; returns the absolute path. */
  async savePng(path: string): Promise<string> {
    const file = resolve(path);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, await renderPng(this.spec(), 2));
    return file;
  }
}
