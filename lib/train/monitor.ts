/**
 * Everything a training cell shows, behind two hooks: `new TrainingMonitor({...})` gives `onStep`
 * and `shouldStop` for lib/train/loop.ts, and shows (top to bottom) a progress bar, a live loss chart
 * and a periodic sample grid, and stops training on Jupyter's stop button.
 *
 *   const monitor = new TrainingMonitor({ steps, grid: { every: 500, draw: () => sampleGrid(...) } });
 *   await monitor.track(train(model, batcher, { steps, ...monitor.hooks }));
 *
 * `track` finishes the monitor (final chart, final grid, progress line) when training ends, also
 * after an interrupt, when tslab has already ended the cell and the loop stops in the background
 * at its next step. tslab forgets the declarations of a cell that failed, and an interrupted cell
 * fails, so the next cell cannot name `monitor`; it calls `latestMonitor()` instead:
 *
 *   await latestMonitor()?.done;   // the loop has stopped: safe to save a checkpoint now
 *
 * The training loop must yield to the event loop between steps (`await new Promise(setImmediate)`),
 * or neither live updates nor interrupts get through until it ends.
 */
import { inNotebook, LiveDisplay, type MimeBundle } from '../viz/display';
import type { ImageGrid } from '../viz/grid';
import { stopOnInterrupt, type InterruptFlag } from './interrupt';
import { LiveLossPlot, type LossPlotOptions } from '../viz/lossplot';
import { ProgressBar, type ProgressOptions } from './progress';

/** What lib/train/loop.ts reports after each step: `step` = steps completed (1 after the first step). */
export interface StepReport {
  step: number;
  losses: Record<string, number>;
  /** lib/diagnostics.ts measurements on the steps that have them; charted beside the losses. */
  diagnostics?: Record<string, number>;
}

export interface PeriodicGridOptions {
  /** Draw a grid after the first step reported, whenever step % every === 0, and after the last step. */
  every: number;
  /** Draws the grid for the model as it is now (e.g. sampleGrid with a fixed seed). */
  draw: (step: number) => ImageGrid;
  /** Also save each grid as `<saveDir>/step-000500.png`. */
  saveDir?: string;
  /** Display updates per second (default 1). */
  maxPerSecond?: number;
}

export interface MonitorOptions {
  /** Steps to reach, counted like lib/train/loop.ts (a resumed run's earlier steps included). */
  steps: number;
  /** Loss chart options, or false for none. */
  plot?: LossPlotOptions | false;
  /** Progress bar options, or false for none. */
  progress?: Omit<ProgressOptions, 'total'> | false;
  grid?: PeriodicGridOptions;
  /** Stop on interrupt (default true). */
  stopOnInterrupt?: boolean;
}

let latest: TrainingMonitor | undefined;

/** The monitor created last in this process (the one an interrupted cell was running). */
export function latestMonitor(): TrainingMonitor | undefined {
  return latest;
}

export class TrainingMonitor {
  readonly plot: LiveLossPlot | undefined;
  readonly progress: ProgressBar | undefined;
  private readonly interrupt: InterruptFlag | undefined;
  private readonly gridDisplay: LiveDisplay | undefined;
  private latestGrid: { step: number; grid: ImageGrid } | undefined;
  private lastStep: number | undefined;
  private finishing: Promise<void> | undefined;
  private resolveDone!: () => void;
  /** Resolves once training ended and the final outputs were sent. */
  readonly done: Promise<void> = new Promise((r) => (this.resolveDone = r));

  constructor(private readonly opts: MonitorOptions) {
    latest = this;
    if (opts.progress !== false) this.progress = new ProgressBar({ total: opts.steps, ...opts.progress });
    if (opts.plot !== false) this.plot = new LiveLossPlot(opts.plot || {});
    if (opts.grid) {
      this.gridDisplay = new LiveDisplay(() => this.gridBundle(), { maxPerSecond: opts.grid.maxPerSecond ?? 1 });
    }
    if (opts.stopOnInterrupt ?? true) this.interrupt = stopOnInterrupt();
    // Placeholders fix the order of the outputs; timers would otherwise decide it.
    if (inNotebook()) {
      const placeholder = (text: string): MimeBundle => ({ 'text/plain': text });
      const shows = [
        this.progress?.live?.showNow(this.progress.bundle()),
        this.plot?.live.showNow(placeholder('<loss chart: appears after the first step>')),
        this.gridDisplay?.showNow(placeholder(`<sample grid: appears after the first step and every ${opts.grid?.every} steps>`)),
      ];
      for (const shown of shows) shown?.catch((e) => console.error('monitor output failed:', e));
    }
  }

  /** Pass to train(): `{ steps, ...monitor.hooks }`. */
  get hooks(): { onStep: (r: StepReport) => void; shouldStop: () => boolean } {
    return { onStep: this.onStep, shouldStop: this.shouldStop };
  }

  readonly onStep = (r: StepReport): void => {
    const first = this.lastStep === undefined;
    this.lastStep = r.step;
    this.plot?.push(r.step, r.diagnostics ? { ...r.losses, ...r.diagnostics } : r.losses);
    this.progress?.tick(r.step, r.losses);
    if (this.opts.grid && (first || r.step % this.opts.grid.every === 0)) this.drawGrid(r.step);
  };

  readonly shouldStop = (): boolean => this.interrupt?.stopped ?? false;

  /** True when an interrupt (or stop()) ended training early. */
  get interrupted(): boolean {
    return this.interrupt?.stopped ?? false;
  }

  /** Asks the loop to stop at its next step, as an interrupt would. */
  stop(): void {
    this.interrupt?.stop();
  }

  /** The last grid drawn, if any. */
  get grid(): ImageGrid | undefined {
    return this.latestGrid?.grid;
  }

  /** Awaits the training promise, then finishes the monitor whether training returned or threw. */
  async track<T>(training: Promise<T>): Promise<T> {
    try {
      return await training;
    } finally {
      await this.finish();
    }
  }

  /** Final grid, chart and progress line; stops listening for interrupts. Idempotent. */
  finish(): Promise<void> {
    this.finishing ??= this.finishOnce().finally(() => this.resolveDone());
    return this.finishing;
  }

  private async finishOnce(): Promise<void> {
    try {
      if (this.opts.grid && this.lastStep !== undefined && this.latestGrid?.step !== this.lastStep) this.drawGrid(this.lastStep);
      await this.progress?.finish();
      await this.plot?.flush();
      await this.gridDisplay?.flush();
      if (this.interrupted) {
        console.log(
          `training stopped early (interrupt) after step ${this.lastStep ?? '(none)'}; the model is intact. ` +
            'In the next cell, `await latestMonitor()?.done` before saving a checkpoint.',
        );
      }
    } finally {
      this.interrupt?.dispose();
    }
  }

  private drawGrid(step: number): void {
    const opts = this.opts.grid!;
    const grid = opts.draw(step);
    this.latestGrid = { step, grid };
    if (opts.saveDir) grid.save(`${opts.saveDir}/step-${String(step).padStart(6, '0')}.png`);
    this.gridDisplay!.invalidate();
  }

  private gridBundle(): MimeBundle {
    const latest = this.latestGrid!;
    return latest.grid.bundle(`samples at step ${latest.step}`);
  }
}
