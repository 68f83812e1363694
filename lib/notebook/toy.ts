/**
 * Notebook glue for 01-method: trains lib/apps/toy.ts's four generator objectives (the fourth CVAE-GAN's, with an encoder) on the ring of
 * Gaussians with one live chart of G's gradient norm, and sums the runs up in a table.
 *
 * The runs go one after another, not interleaved: ToyGan names its variables ('G_w0', ...), and tfjs
 * allows one variable per name, so one ToyGan lives at a time. Every run starts from the same seeds
 * (identical data, noise and initial weights), so only G's objective differs. The chart's x axis is
 * each run's own step, so the three curves lie over each other as they would side by side.
 */
import { TrainingMonitor } from '../train/monitor';
import { Rng } from '../model/rng';
import type { TopLevelSpec } from 'vega-lite';
import { modeCoverage, ringSample, TOY_DEFAULTS, TOY_OBJECTIVES, ToyGan, toyScatterSpec, type ToyConfig, type ToyObjective, type ToyStep } from '../apps/toy';
import type { Row } from '../viz/tables';

export interface ToyRun {
  objective: ToyObjective;
  /** Every step's record (D loss, G loss, G's gradient norm, mean D outputs). */
  history: ToyStep[];
  /** `points` samples of the trained generator. */
  samples: number[][];
  coverage: { modesCovered: number; highQuality: number };
}

export interface ToyComparison {
  runs: ToyRun[];
  /** As many points of the real ring, for the scatter plot. */
  real: number[][];
  /** True when an interrupt stopped the runs early. */
  interrupted: boolean;
}

/** The chart's name of an objective's curve. */
export const gradNormTerm = (o: ToyObjective) => `|grad G| ${o}`;

/** Trains each objective for `steps` steps with a live chart of ||dL_G / d theta_G|| (log scale) and a progress bar. */
export async function compareToyObjectives(opts: { steps: number; points: number; config?: Partial<ToyConfig>; objectives?: readonly ToyObjective[] }): Promise<ToyComparison> {
  const objectives = opts.objectives ?? TOY_OBJECTIVES;
  const cfg = { ...TOY_DEFAULTS, ...(opts.config ?? {}) };
  const total = objectives.length * opts.steps;
  const monitor = new TrainingMonitor({
    steps: total,
    progress: { label: 'toy GANs', terms: [] },
    // Raw values (no smoothing) and every step kept: each run adds its curve over steps 1..N.
    plot: { title: "G's gradient norm per step (log scale)", layout: 'single', valueTitle: 'gradient norm', logScale: true, smoothing: 0, maxPoints: total + 1, terms: objectives.map(gradNormTerm), width: 560, height: 280 },
  });
  const runs: ToyRun[] = [];
  await monitor.track(
    (async () => {
      for (const [k, objective] of objectives.entries()) {
        const gan = new ToyGan(objective, cfg);
        try {
          const history: ToyStep[] = [];
          for (let s = 1; s <= opts.steps && !monitor.shouldStop(); s++) {
            const r = gan.step();
            history.push(r);
            monitor.plot?.push(s, { [gradNormTerm(objective)]: r.gradNormG });
            monitor.progress?.tick(k * opts.steps + s);
            await new Promise((res) => setImmediate(res));
          }
          const t = gan.generate(opts.points, 99);
          const samples = t.arraySync();
          t.dispose();
          runs.push({ objective, history, samples, coverage: modeCoverage(samples, cfg) });
        } finally {
          gan.dispose();
        }
        if (monitor.shouldStop()) break;
      }
    })(),
  );
  const real = ringSample(opts.points, cfg, new Rng(3));
  const points = real.arraySync();
  real.dispose();
  return { runs, real: points, interrupted: monitor.interrupted };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[s.length >> 1] : NaN;
}

function mean(xs: number[]): number {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN;
}

/**
 * One row per objective: G's median gradient norm over the first 10% of steps and over the last
 * quarter (when D is strong), D's mean outputs over the last quarter, and how many of the ring's
 * modes the samples cover.
 */
export function toySummary(c: ToyComparison, modes = TOY_DEFAULTS.modes): Row[] {
  return c.runs.map((r) => {
    const n = r.history.length;
    const early = r.history.slice(0, Math.max(1, Math.round(n / 10)));
    const late = r.history.slice(Math.floor((3 * n) / 4));
    return {
      'G objective': r.objective,
      steps: n,
      'median |grad G|, first 10%': median(early.map((h) => h.gradNormG)),
      'median |grad G|, last 25%': median(late.map((h) => h.gradNormG)),
      'D(real), last 25%': mean(late.map((h) => h.dReal)),
      'D(G(z)), last 25%': mean(late.map((h) => h.dFake)),
      [`modes covered (of ${modes})`]: r.coverage.modesCovered,
      'samples on a mode': r.coverage.highQuality,
    };
  });
}

/**
 * The scatter plot of the real ring and each objective's samples (lib/apps/toy.ts's toyScatterSpec), at
 * most `limit` points per panel, real data in the first panel, and points outside the plotted
 * square clipped to it (a diverged generator would otherwise spill over the neighbouring panels).
 */
export function toyScatter(c: ToyComparison, limit = 500, title = "the real ring and each generator's samples"): TopLevelSpec {
  const samples = Object.fromEntries(c.runs.map((r) => [r.objective, r.samples.slice(0, limit)]));
  const spec = toyScatterSpec(c.real.slice(0, limit), samples, title) as unknown as { mark: object; encoding: { column: object } };
  spec.mark = { ...spec.mark, clip: true };
  spec.encoding.column = { ...spec.encoding.column, sort: ['real data', ...c.runs.map((r) => `G: ${r.objective}`)] };
  return spec as unknown as TopLevelSpec;
}

/**
 * Every objective from each of `seeds` (one run of a toy GAN is noise): modes covered and the share
 * of high-quality samples after `steps` steps, per seed, and their mean and standard deviation per
 * objective. Synchronous and chart-free: for the seeds table of 01-method and bench/toy-seeds.ts.
 */
export function toySeeds(opts: { steps: number; seeds: readonly number[]; points: number; config?: Partial<ToyConfig>; objectives?: readonly ToyObjective[] }): {
  runs: { objective: ToyObjective; seed: number; modesCovered: number; highQuality: number }[];
  rows: Row[];
} {
  const runs: { objective: ToyObjective; seed: number; modesCovered: number; highQuality: number }[] = [];
  for (const objective of opts.objectives ?? TOY_OBJECTIVES) {
    for (const seed of opts.seeds) {
      const g = new ToyGan(objective, { ...(opts.config ?? {}), seed });
      try {
        for (let s = 0; s < opts.steps; s++) g.step();
        const x = g.generate(opts.points, 12345);
        const pts = x.arraySync();
        x.dispose();
        runs.push({ objective, seed, ...modeCoverage(pts, g.cfg) });
      } finally {
        g.dispose();
      }
    }
  }
  const stats = (v: number[]) => {
    const m = v.reduce((a, b) => a + b, 0) / v.length;
    // Sample standard deviation (n - 1); 0 for a single seed.
    return { mean: m, sd: v.length > 1 ? Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / (v.length - 1)) : 0 };
  };
  const rows = (opts.objectives ?? TOY_OBJECTIVES).map((objective) => {
    const mine = runs.filter((r) => r.objective === objective);
    const m = stats(mine.map((r) => r.modesCovered));
    const q = stats(mine.map((r) => r.highQuality));
    return {
      objective, seeds: mine.length, 'modes covered (of 8), per seed': mine.map((r) => r.modesCovered).join(' '),
      'modes: mean': Number(m.mean.toFixed(2)), 'modes: sd': Number(m.sd.toFixed(2)), 'high quality: mean': Number(q.mean.toFixed(3)), 'high quality: sd': Number(q.sd.toFixed(3)),
    };
  });
  return { runs, rows };
}
