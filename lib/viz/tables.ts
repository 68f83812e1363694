/**
 * Results tables as danfojs-node DataFrames: an HTML table in notebooks, a box-drawn table in the
 * terminal, CSV on disk.
 *
 * danfojs takes about a second to load, so it is required on first use, not at import. It has no
 * HTML writer, and its `toCSV` neither quotes nor escapes (a model name with a comma breaks the
 * file), so both are written here from `df.columns`, `df.index` and `df.values`.
 */
import { mkdirSync, writeFileSync } from 'fs';
import { dirname, resolve } from 'path';
import type { DataFrame } from 'danfojs-node';
import { escapeHtml, htmlBundle, sendBundle } from './display';

export type Cell = string | number | boolean | null | undefined;
export type Row = Record<string, Cell>;
/** A DataFrame, or rows as plain objects (columns in order of first appearance). */
export type TableLike = DataFrame | Row[];

type Danfo = typeof import('danfojs-node');
let danfo: Danfo | undefined;
function dfd(): Danfo {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  danfo ??= require('danfojs-node') as Danfo;
  return danfo;
}

export interface TableOptions {
  /** Significant digits of non-integer numbers (default 4). */
  precision?: number;
  /** Title above the table. */
  caption?: string;
  /** Show the index column (default: only when it is not 0, 1, 2, …). */
  index?: boolean;
}

/** Rows to a DataFrame; a DataFrame passes through. Missing cells become null. */
export function toDataFrame(table: TableLike): DataFrame {
  if (!Array.isArray(table)) return table;
  const columns = [...new Set(table.flatMap((r) => Object.keys(r)))];
  const values = table.map((r) => columns.map((c) => (r[c] === undefined ? null : r[c])));
  return new (dfd().DataFrame)(values, { columns });
}

interface Grid {
  columns: string[];
  index: (string | number)[];
  values: Cell[][];
  showIndex: boolean;
}

function grid(table: TableLike, opts: TableOptions): Grid {
  const df = toDataFrame(table);
  const index = df.index as (string | number)[];
  const values = (df.values as Cell[][]).map((row) => (Array.isArray(row) ? row : [row]));
  const defaultIndex = index.every((v, i) => v === i);
  return { columns: df.columns as string[], index, values, showIndex: opts.index ?? !defaultIndex };
}

/** Integers as they are, other numbers to `precision` significant digits, missing as empty. */
export function formatCell(v: Cell, precision = 4): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') {
    if (Number.isNaN(v)) return '';
    if (Number.isInteger(v) || !Number.isFinite(v)) return String(v);
    return String(Number(v.toPrecision(precision)));
  }
  return String(v);
}

/** An HTML <table> (numbers right-aligned), for notebooks and reports. */
export function dataFrameHtml(table: TableLike, opts: TableOptions = {}): string {
  const g = grid(table, opts);
  const th = (s: string) => `<th>${escapeHtml(s)}</th>`;
  const td = (v: Cell) => `<td${typeof v === 'number' ? ' style="text-align:right"' : ''}>${escapeHtml(formatCell(v, opts.precision))}</td>`;
  const head = `<tr>${g.showIndex ? '<th></th>' : ''}${g.columns.map(th).join('')}</tr>`;
  const body = g.values.map((row, i) => `<tr>${g.showIndex ? th(String(g.index[i])) : ''}${row.map(td).join('')}</tr>`).join('\n');
  const caption = opts.caption ? `<caption style="caption-side:top;text-align:left;font-weight:bold">${escapeHtml(opts.caption)}</caption>` : '';
  return `<table class="dataframe">${caption}\n<thead>${head}</thead>\n<tbody>\n${body}\n</tbody></table>`;
}

/** The terminal table (danfojs's box drawing), every row, numbers rounded. */
export function tableText(table: TableLike, opts: TableOptions = {}): string {
  const g = grid(table, opts);
  const values = g.values.map((row) => row.map((v) => formatCell(v, opts.precision)));
  const df = new (dfd().DataFrame)(values, { columns: g.columns, index: g.index, config: { tableMaxRow: Math.max(10, values.length), tableMaxColInConsole: Math.max(10, g.columns.length) } });
  const text = df.toString();
  return opts.caption ? `${opts.caption}\n${text}` : text;
}

function csvField(v: Cell): string {
  const s = typeof v === 'number' && Number.isNaN(v) ? '' : v === null || v === undefined ? '' : String(v);
  return /[",\r\n]|^\s|\s$/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** RFC 4180 CSV, full precision, header row first. */
export function tableCsv(table: TableLike, opts: Pick<TableOptions, 'index'> = {}): string {
  const g = grid(table, opts);
  const lines: Cell[][] = [[...(g.showIndex ? [''] : []), ...g.columns]];
  g.values.forEach((row, i) => lines.push([...(g.showIndex ? [g.index[i]] : []), ...row]));
  return lines.map((line) => line.map(csvField).join(',')).join('\n') + '\n';
}

/** Writes the CSV (creating folders); returns the absolute path. */
export function saveCsv(table: TableLike, path: string, opts: Pick<TableOptions, 'index'> = {}): string {
  const file = resolve(path);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, tableCsv(table, opts));
  return file;
}

/** In a notebook: an HTML table (with the text table as its plain twin). Elsewhere: prints the text table. */
export async function showTable(table: TableLike, opts: TableOptions = {}): Promise<void> {
  const text = tableText(table, opts);
  if (!(await sendBundle(htmlBundle(dataFrameHtml(table, opts), text)))) console.log(text);
}
