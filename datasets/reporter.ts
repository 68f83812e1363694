/**
 * A small progress reporter for downloads and preprocessing. On a terminal it redraws one bar in
 * place (\r); in a notebook or a log file it prints a few sparse lines (start, every quarter, end),
 * because each notebook print is a kernel message and hundreds of them flood the output.
 */
import { inNotebook } from '../lib/viz/display';

export interface ReporterOptions {
  /** False prints nothing (default true). */
  enabled?: boolean;
  /** 'bytes' formats counts as MiB. */
  unit?: 'items' | 'bytes';
  /** Redraw one line in place (default: on a terminal, outside notebooks). */
  live?: boolean;
}

const formatCount = (n: number, unit: 'items' | 'bytes') =>
  unit === 'bytes' ? `${(n / 1048576).toFixed(1)} MiB` : n.toLocaleString('en-US');

export class ProgressReporter {
  private done = 0;
  private readonly started = Date.now();
  private readonly live: boolean;
  private lastDraw = 0;
  private nextQuarter = 1;
  private finished = false;
  private readonly enabled: boolean;
  private readonly unit: 'items' | 'bytes';

  constructor(private readonly label: string, private total: number | undefined, opts: ReporterOptions = {}) {
    this.enabled = opts.enabled ?? true;
    this.unit = opts.unit ?? 'items';
    this.live = opts.live ?? (!inNotebook() && process.stderr.isTTY === true);
    if (this.enabled && !this.live) console.log(`${label}: started${total ? ` (${formatCount(total, this.unit)})` : ''}`);
  }

  /** Sets the total once it is known (a download learns it from the response headers). */
  setTotal(total: number | undefined): void {
    this.total = total;
  }

  add(n = 1): void {
    this.update(this.done + n);
  }

  update(done: number): void {
    this.done = done;
    if (!this.enabled || this.finished) return;
    if (this.live) {
      const now = Date.now();
      if (now - this.lastDraw < 100) return;
      this.lastDraw = now;
      process.stderr.write(`\r${this.line()}\x1b[K`);
    } else if (this.total) {
      const quarter = Math.floor((4 * this.done) / this.total);
      if (quarter >= this.nextQuarter && quarter < 4) {
        this.nextQuarter = quarter + 1;
        console.log(this.line());
      }
    }
  }

  /** Prints the final line (with an optional note such as "3 files skipped"). */
  finish(note?: string): void {
    if (!this.enabled || this.finished) return;
    this.finished = true;
    const text = `${this.line()} done${note ? `, ${note}` : ''}`;
    if (this.live) process.stderr.write(`\r${text}\x1b[K\n`);
    else console.log(text);
  }

  private line(): string {
    const secs = (Date.now() - this.started) / 1000;
    const count = formatCount(this.done, this.unit);
    if (!this.total) return `${this.label}: ${count} in ${secs.toFixed(1)} s`;
    const frac = Math.min(1, this.done / this.total);
    const width = 24;
    const bar = '#'.repeat(Math.round(frac * width)).padEnd(width, '.');
    return `${this.label}: [${bar}] ${(100 * frac).toFixed(0)}% ${count}/${formatCount(this.total, this.unit)} in ${secs.toFixed(1)} s`;
  }
}
