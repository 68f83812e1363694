/**
 * Table 1's files: the row type, the rankings per metric, table.{json,csv,md} of a run folder and
 * the copy of its small outputs to results/ (reproduce.ts writes them when a run finishes).
 */
import { join } from 'path';
import { copyFileSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'fs';
import type { ModelKind } from '../model/factory';
import { writeJsonAtomic } from '../train/run';
import { readLossLog } from '../train/losslog';
import { saveCsv } from '../viz/tables';
import type { BeyondColumns } from './reproduce-beyond';

export interface TableRow extends Partial<BeyondColumns> {
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

/** Rows with readable headers and rounded values (terminal and markdown). */
export function displayRows(rows: TableRow[]): Record<string, string | number | null>[] {
  return rows.map((r) => ({
    Method: r.method,
    'Top-1 (%)': round(r.top1, 2),
    Realism: round(r.realism, 3),
    FID: round(r.fid, 2),
    Diversity: round(r.diversity, 4),
    ...(r.intraFid === undefined ? {} : { 'Intra-FID': nround(r.intraFid, 2), Precision: nround(r.precision, 3), Recall: nround(r.recall, 3), Density: nround(r.density, 3), Coverage: nround(r.coverage, 3), 'CAS (%)': nround(r.cas, 2) }),
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

export function orderingText(rows: readonly TableRow[]): string {
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
const nround = (v: number | null | undefined, digits: number) => (v === null || v === undefined ? null : round(v, digits));

function markdownTable(rows: Record<string, string | number | null>[]): string {
  const cols = Object.keys(rows[0]);
  const cell = (v: string | number | null) => (v === null ? '' : String(v));
  return [`| ${cols.join(' | ')} |`, `|${cols.map((c) => (c === 'Method' ? '---' : '---:')).join('|')}|`, ...rows.map((r) => `| ${cols.map((c) => cell(r[c])).join(' | ')} |`)].join('\n') + '\n';
}

export function writeTable(out: string, rows: TableRow[], caption: string, manifest: object): void {
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
export function publish(out: string, dest: string, models: ModelKind[]): void {
  mkdirSync(join(dest, 'grids'), { recursive: true });
  for (const f of ['table.json', 'table.csv', 'table.md', 'manifest.json', 'discriminability.json', 'discriminability.png']) if (existsSync(join(out, f))) copyFileSync(join(out, f), join(dest, f));
  for (const g of existsSync(join(out, 'grids')) ? readdirSync(join(out, 'grids')) : []) copyFileSync(join(out, 'grids', g), join(dest, 'grids', g));
  const r4 = (o: Record<string, number> | undefined) => o && Object.fromEntries(Object.entries(o).map(([k, v]) => [k, Number.isFinite(v) ? Number(v.toPrecision(4)) : v]));
  for (const k of models) {
    const dir = join(out, 'models', k);
    if (existsSync(join(dir, 'losses.png'))) copyFileSync(join(dir, 'losses.png'), join(dest, `losses-${k}.png`));
    const records = readLossLog(join(dir, 'losses.jsonl'));
    if (records.length) writeFileSync(join(dest, `losses-${k}.jsonl`), records.map((r) => JSON.stringify({ step: r.step, losses: r4(r.losses), metrics: r4(r.metrics), ...(r.diagnostics ? { diagnostics: r4(r.diagnostics) } : {}) }) + '\n').join(''));
  }
}
