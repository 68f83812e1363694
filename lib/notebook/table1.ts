/**
 * Notebook glue for 05-table1: the paper's Table 1 as published, the reproduction results that
 * `npm run reproduce -- --results results/<dataset>` writes (lib/eval/reproduce.ts), and the two side by
 * side. Reads files; trains and evaluates nothing.
 */
import { existsSync, readdirSync, readFileSync } from 'fs';
import { join } from 'path';
import type { TableRow } from '../eval/reproduce';
import type { TopLevelSpec } from 'vega-lite';
import type { Row } from '../viz/tables';

/** The paper's Table 1 (FaceScrub, 530 identities, 128x128; the paper gives no Flowers/CUB rows here). */
export const PAPER_TABLE1: { dataset: string; rows: { method: string; top1: number; realism: number }[] } = {
  dataset: 'FaceScrub (530 identities, 128x128)',
  rows: [
    { method: 'Real data', top1: 99.61, realism: 20.85 },
    { method: 'CVAE', top1: 8.09, realism: 10.29 },
    { method: 'CGAN', top1: 61.97, realism: 15.79 },
    { method: 'FM-CGAN', top1: 79.76, realism: 19.4 },
    { method: 'CVAE-GAN', top1: 97.78, realism: 19.03 },
  ],
};

/** The paper's models, best first, per metric (from PAPER_TABLE1). */
export function paperOrder(metric: 'top1' | 'realism'): string[] {
  return PAPER_TABLE1.rows.filter((r) => r.method !== 'Real data').sort((a, b) => b[metric] - a[metric]).map((r) => r.method);
}

export interface Table1Results {
  dir: string;
  caption: string;
  rows: TableRow[];
  /** Sample grids: real.png first, then one per model in the table's order. */
  grids: { name: string; path: string }[];
  /** Loss charts per model (losses-<kind>.png), where present. */
  lossCharts: { name: string; path: string }[];
  /** The step curves' vega-lite spec (discriminability.json, lib/eval/curves.ts), where present. */
  curves?: TopLevelSpec;
}

/** The results in `dir` (table.json, grids/, losses-*.png), or undefined when there is no table.json. */
export function readTable1(dir: string): Table1Results | undefined {
  const file = join(dir, 'table.json');
  if (!existsSync(file)) return undefined;
  const t = JSON.parse(readFileSync(file, 'utf8')) as { caption: string; rows: TableRow[] };
  const gridDir = join(dir, 'grids');
  const kinds = ['real', ...t.rows.filter((r) => r.kind !== 'real').map((r) => r.kind)];
  const label = (k: string) => (k === 'real' ? 'Real test images' : t.rows.find((r) => r.kind === k)?.method ?? k);
  const grids = kinds.filter((k) => existsSync(join(gridDir, `${k}.png`))).map((k) => ({ name: label(k), path: join(gridDir, `${k}.png`) }));
  // Loss charts in the table's order, then any others.
  const charts = existsSync(dir) ? readdirSync(dir).filter((f) => /^losses-.*\.png$/.test(f)).map((f) => f.slice(7, -4)) : [];
  const rank = (k: string) => (kinds.includes(k) ? kinds.indexOf(k) : kinds.length);
  const lossCharts = charts.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b)).map((k) => ({ name: label(k), path: join(dir, `losses-${k}.png`) }));
  const curvesFile = join(dir, 'discriminability.json');
  const curves = existsSync(curvesFile) ? (JSON.parse(readFileSync(curvesFile, 'utf8')) as TopLevelSpec) : undefined;
  return { dir, caption: t.caption, rows: t.rows, grids, lossCharts, curves };
}

/** The paper's numbers and ours in one table, a row per method in the paper's order. */
export function comparisonRows(ours: readonly TableRow[]): Row[] {
  return PAPER_TABLE1.rows.map((p) => {
    const o = ours.find((r) => r.method === p.method);
    return {
      Method: p.method,
      'paper top-1 (%)': p.top1,
      'paper realism': p.realism,
      'our top-1 (%)': o ? Number(o.top1.toFixed(2)) : null,
      'our realism': o ? Number(o.realism.toFixed(3)) : null,
      'our FID': o ? Number(o.fid.toFixed(2)) : null,
      'our diversity': o ? Number(o.diversity.toFixed(4)) : null,
    };
  });
}

/** Pairs of models that two orderings (best first) put in the same order, out of the pairs both contain. */
export function concordantPairs(a: readonly string[], b: readonly string[]): { same: number; of: number } {
  const common = a.filter((m) => b.includes(m));
  let same = 0;
  let of = 0;
  for (let i = 0; i < common.length; i++) {
    for (let j = i + 1; j < common.length; j++) {
      of++;
      if (b.indexOf(common[i]) < b.indexOf(common[j])) same++;
    }
  }
  return { same, of };
}

/** Our ordering of the models per metric beside the paper's, with the number of pairs in the same order. */
export function orderingRows(ours: readonly TableRow[]): Row[] {
  const models = ours.filter((r) => r.kind !== 'real');
  const rank = (metric: 'top1' | 'realism') => [...models].sort((a, b) => b[metric] - a[metric]).map((r) => r.method);
  return (['top1', 'realism'] as const).map((metric) => {
    const paper = paperOrder(metric);
    const our = rank(metric);
    const c = concordantPairs(paper, our);
    return {
      metric: metric === 'top1' ? 'discriminability (top-1)' : 'realism',
      'paper (best first)': paper.join(' > '),
      'ours (best first)': our.join(' > '),
      'pairs in the paper\'s order': `${c.same} of ${c.of}`,
    };
  });
}

/**
 * The metrics beyond the paper (lib/eval/reproduce-beyond.ts), a row per method of our table, or
 * undefined when the results predate them (table.json without the columns: rerun the dataset's
 * command with --evaluate-only to add them from the checkpoints).
 */
export function beyondRows(ours: readonly TableRow[]): Row[] | undefined {
  if (!ours.some((r) => r.intraFid !== undefined && r.intraFid !== null)) return undefined;
  const n = (v: number | null | undefined, d: number) => (v === null || v === undefined ? null : Number(v.toFixed(d)));
  return ours.map((r) => ({
    Method: r.method,
    FID: n(r.fid, 2),
    'intra-class FID': n(r.intraFid, 2),
    precision: n(r.precision, 3),
    recall: n(r.recall, 3),
    density: n(r.density, 3),
    coverage: n(r.coverage, 3),
    'CAS (%)': n(r.cas, 2),
    'top-1 (%)': n(r.top1, 2),
  }));
}
