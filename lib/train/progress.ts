/**
 * A training progress bar: step, steps/s, ETA and the latest losses.
 *
 * In a notebook it is one output updated in place (an HTML <progress> plus a text twin); on a
 * terminal it redraws one line on stderr; in a log file (stderr not a TTY) it prints a line every
 * `logEverySec` seconds. `tick()` is cheap enough to call every step: drawing is rate-limited.
 */
import { escapeHtml, htmlBundle, inNotebook, LiveDisplay, type MimeBundle } from '../viz/display';

export type ProgressMode = 'notebook' | 'tty' | 'log' | 'silent';

export interface ProgressOptions {
  /** Steps in the whole run. */
  total: number;
  label?: string;
  /** Characters in the terminal bar (default 24). */
  barWidth?: number;
  /** Loss terms to show, in this order (default: every term given to tick, in its order). */
  terms?: string[];
  /** Redraws per second in a notebook or on a terminal (default 4). */
  maxPerSecond?: number;
  /** Without a TTY: one line per this many seconds (default 30). */
  logEverySec?: number;
  /** Where terminal output goes (default process.stderr). */
  stream?: { write(text: string): unknown; isTTY?: boolean };
  /** Default: notebook inside tslab, else tty or log depending on the stream. */
  mode?: ProgressMode;
  /** Clock in ms (tests). */
  now?: () => number;
}

/** Rate over roughly the last ten seconds, so a slow first step (compilation) fades out. */
const RATE_WINDOW_MS = 10_000;
const SAMPLE_SPACING_MS = 250;

export class ProgressBar {
  readonly mode: ProgressMode;
  private readonly total: number;
  private readonly now: () => number;
  private readonly stream: { write(text: string): unknown };
  /** The notebook output (notebook mode only). */
  readonly live: LiveDisplay | undefined;
  private readonly startedAt: number;
  private doneSteps = 0;
  private losses: Record<string, number> = {};
  private samples: { t: number; done: number }[] = [];
  private lastDrawAt = -Infinity;
  private finished = false;

  constructor(private readonly opts: ProgressOptions) {
    this.total = Math.max(1, opts.total);
    this.now = opts.now ?? (() => Date.now());
    this.stream = opts.stream ?? process.stderr;
    this.mode = opts.mode ?? (inNotebook() ? 'notebook' : (opts.stream ?? process.stderr).isTTY ? 'tty' : 'log');
    this.startedAt = this.now();
    if (this.mode === 'notebook') this.live = new LiveDisplay(() => this.bundle(), { maxPerSecond: opts.maxPerSecond ?? 4 });
  }

  get done(): number {
    return this.doneSteps;
  }

  /** Records that `done` steps are complete (a count, as lib/train/loop.ts reports `step`). */
  tick(done: number, losses?: Record<string, number>): void {
    const t = this.now();
    this.doneSteps = done;
    if (losses) this.losses = losses;
    const last = this.samples[this.samples.length - 1];
    if (!last || t - last.t >= SAMPLE_SPACING_MS) this.samples.push({ t, done });
    while (this.samples.length > 2 && t - this.samples[0].t > RATE_WINDOW_MS) this.samples.shift();
    this.draw(t, false);
  }

  /** Steps per second over the recent window; undefined until two ticks are apart in time. */
  stepsPerSecond(): number | undefined {
    const first = this.samples[0];
    if (!first) return undefined;
    const seconds = (this.now() - first.t) / 1000;
    const steps = this.doneSteps - first.done;
    return seconds > 0 && steps > 0 ? steps / seconds : undefined;
  }

  etaSeconds(): number | undefined {
    const rate = this.stepsPerSecond();
    return rate ? Math.max(0, this.total - this.doneSteps) / rate : undefined;
  }

  /** The status line, without the bar. */
  status(): string {
    const pct = Math.min(100, Math.floor((100 * this.doneSteps) / this.total));
    const rate = this.stepsPerSecond();
    const eta = this.etaSeconds();
    const parts = [`${this.doneSteps}/${this.opts.total} (${pct}%)`];
    parts.push(rate === undefined ? '– steps/s' : `${formatRate(rate)} steps/s`);
    parts.push(this.finished ? `took ${formatDuration((this.now() - this.startedAt) / 1000)}` : `ETA ${eta === undefined ? '–' : formatDuration(eta)}`);
    const losses = this.lossText();
    if (losses) parts.push(losses);
    return (this.opts.label ? `${this.opts.label} ` : '') + parts.join(' · ');
  }

  /** The terminal line: status with a text bar. */
  line(): string {
    const width = this.opts.barWidth ?? 24;
    const filled = Math.min(width, Math.round((width * this.doneSteps) / this.total));
    const bar = '█'.repeat(filled) + '░'.repeat(width - filled);
    const status = this.status();
    const label = this.opts.label ? `${this.opts.label} ` : '';
    return `${label}${bar} ${status.slice(label.length)}`;
  }

  bundle(): MimeBundle {
    const value = Math.min(this.doneSteps, this.total);
    const html =
      `<div style="font-family:monospace;white-space:pre">` +
      `<progress value="${value}" max="${this.total}" style="width:16em;vertical-align:middle"></progress> ` +
      `${escapeHtml(this.status())}</div>`;
    return htmlBundle(html, this.line());
  }

  /** Draws the final state (in a notebook: waits until it is sent). Idempotent. */
  async finish(): Promise<void> {
    if (this.finished) return;
    this.finished = true;
    this.draw(this.now(), true);
    if (this.live) await this.live.flush();
  }

  private lossText(): string {
    const names = this.opts.terms ?? Object.keys(this.losses);
    return names
      .filter((n) => n in this.losses)
      .map((n) => `${n} ${formatLoss(this.losses[n])}`)
      .join(' ');
  }

  private draw(t: number, final: boolean): void {
    switch (this.mode) {
      case 'notebook':
        this.live!.invalidate();
        return;
      case 'tty':
        if (!final && t - this.lastDrawAt < 1000 / (this.opts.maxPerSecond ?? 4)) return;
        this.lastDrawAt = t;
        this.stream.write(`\r\x1b[2K${this.line()}${final ? '\n' : ''}`);
        return;
      case 'log':
        if (!final && t - this.lastDrawAt < 1000 * (this.opts.logEverySec ?? 30)) return;
        this.lastDrawAt = t;
        this.stream.write(`${this.line()}\n`);
        return;
      case 'silent':
        return;
    }
  }
}

export function formatDuration(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

function formatRate(r: number): string {
  return r >= 100 ? r.toFixed(0) : r >= 10 ? r.toFixed(1) : r.toFixed(2);
}

/** Four significant digits; exponent form for very large or small magnitudes; NaN stays visible. */
export function formatLoss(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e4 || a < 1e-3)) return v.toExponential(2);
  return String(Number(v.toPrecision(4)));
}
