/**
 * Loss logs as JSON Lines: one object per training step, appended as training runs, so a killed run
 * keeps everything up to its last step and a notebook can plot any run later.
 *
 *   {"step":1,"ms":812.4,"epoch":0,"losses":{"L_C":3.9,...},"metrics":{"acc_C":0.03,...}}
 *
 * `step` is the number of completed steps (1 after the first). On resume from a checkpoint at step
 * s, `truncateAfter(s)` drops the lines of steps the checkpoint does not contain (they are trained
 * again), so every step appears once. Non-finite values are written as null and read back as NaN.
 *
 *   const h = lossHistory(readLossLog('runs/flowers-cpu/models/cvaegan/losses.jsonl'));
 *   await display(await vegaLiteBundle(lossChartSpec(h)));      // lib/viz/lossplot.ts + lib/viz/charts.ts
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'fs';
import { dirname } from 'path';
import type { LossHistory } from '../viz/lossplot';

export interface LossLogRecord {
  step: number;
  ms?: number;
  epoch?: number;
  losses: Record<string, number>;
  metrics?: Record<string, number>;
  /** lib/diagnostics.ts measurements, on the steps where they were taken. */
  diagnostics?: Record<string, number>;
}

/** Reads a JSONL loss log; a torn last line (a kill mid-write) is ignored, any other bad line is an error. */
export function readLossLog(path: string): LossLogRecord[] {
  if (!existsSync(path)) return [];
  const lines = readFileSync(path, 'utf8').split('\n');
  const out: LossLogRecord[] = [];
  lines.forEach((line, i) => {
    if (!line.trim()) return;
    let rec: LossLogRecord;
    try {
      rec = JSON.parse(line, (_k, v) => (v === null ? NaN : v)) as LossLogRecord;
    } catch (e) {
      if (i === lines.length - 1) return; // no newline after it: torn by a kill mid-write
      throw new Error(`${path}:${i + 1} is not JSON (${(e as Error).message})`);
    }
    if (typeof rec.step !== 'number' || typeof rec.losses !== 'object') throw new Error(`${path}:${i + 1} is not a loss record (needs step and losses)`);
    out.push(rec);
  });
  return out;
}

/** Appends records to a JSONL file, creating folders. */
export class LossLog {
  constructor(readonly path: string) {
    mkdirSync(dirname(path), { recursive: true });
  }

  append(rec: LossLogRecord): void {
    appendFileSync(this.path, JSON.stringify(rec) + '\n');
  }

  /** Keeps only records with step <= `step` (0 empties the log); rewritten atomically. */
  truncateAfter(step: number): void {
    if (!existsSync(this.path)) return;
    const keep = readLossLog(this.path).filter((r) => r.step <= step);
    const tmp = `${this.path}.tmp-${process.pid}`;
    writeFileSync(tmp, keep.map((r) => JSON.stringify(r) + '\n').join(''));
    renameSync(tmp, this.path);
  }
}

/**
 * Records as lib/viz/lossplot.ts's LossHistory, for charts: the losses, then the diagnostics (NaN on
 * the steps without a measurement), then the metrics when asked.
 */
export function lossHistory(records: readonly LossLogRecord[], opts: { metrics?: boolean } = {}): LossHistory {
  const steps = records.map((r) => r.step);
  const values: Record<string, number[]> = {};
  const add = (pick: (r: LossLogRecord) => Record<string, number> | undefined) =>
    records.forEach((r, i) => {
      for (const [k, v] of Object.entries(pick(r) ?? {})) (values[k] ??= new Array<number>(records.length).fill(NaN))[i] = v;
    });
  add((r) => r.losses);
  add((r) => r.diagnostics);
  if (opts.metrics) add((r) => r.metrics);
  return { steps, values };
}

/**
 * One row per term: the mean over the first and the last `share` of the steps (default 10%, at
 * least one step each), and the minimum. What the CLI prints when a model finishes.
 */
export function summarizeLosses(records: readonly LossLogRecord[], share = 0.1): { term: string; first: number; last: number; min: number }[] {
  if (records.length === 0) return [];
  const k = Math.max(1, Math.round(records.length * share));
  const h = lossHistory(records);
  const mean = (a: number[]) => {
    const f = a.filter(Number.isFinite);
    return f.length ? f.reduce((s, v) => s + v, 0) / f.length : NaN;
  };
  return Object.entries(h.values).map(([term, v]) => ({
    term,
    first: mean(v.slice(0, k)),
    last: mean(v.slice(-k)),
    min: Math.min(...v.filter(Number.isFinite)),
  }));
}
