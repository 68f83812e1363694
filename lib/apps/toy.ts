/**
 * The 2-D toy behind the paper's stability argument: a standard GAN generator loss against mean
 * feature matching, trained side by side on a ring of Gaussians.
 *
 * The paper (§ "Analysis of toy example"; details not available to us, see docs/design.md) argues
 * that with the usual cross-entropy objective the generator's gradient vanishes once D separates
 * real from fake, while matching the mean of D's features keeps a useful gradient. Here both
 * generators see the same data, the same D architecture and the same optimiser; only G's objective
 * differs:
 *
 *   D (all):               L_D  = -log D(x_r) - log(1 - D(G(z)))               (cross-entropy)
 *   G, 'gan-minimax':      L_G  = log(1 - D(G(z)))                               (the original minimax game)
 *   G, 'gan':              L_G  = -log D(G(z))                                   (the usual non-saturating fix)
 *   G, 'mean-feature':     L_GD = 1/2 || mean_x f_D(x_r) - mean_z f_D(G(z)) ||^2  (the paper's L_GD)
 *   G and E, 'cvaegan':    CVAE-GAN's generator side without the class (the toy has none):
 *                          (mu, log s^2) = E(x_r), z_e = mu + s * eps, x' = G(z_e)
 *                          L_KL = 1/2 mean_batch sum_j (mu_j^2 + s_j^2 - 1 - log s_j^2)
 *                          L_G  = 1/2 mean_batch ( ||x_r - x'||^2 + ||f_D(x_r) - f_D(x')||^2 )   (pairwise, data and D-feature space)
 *                          E minimises klWeight * L_KL + L_G, G minimises L_G + L_GD (on G(z), z ~ N(0, I))
 *
 * What the toy shows (see notebooks/01-method): once D is confident, the minimax objective's
 * gradient vanishes (d/dl log(1 - sigmoid(l)) = -sigmoid(l) -> 0 as D(G(z)) -> 0), while mean
 * feature matching keeps a gradient; but matching only the mean does not force G to cover every
 * mode, which is why CVAE-GAN adds the encoder and pairwise matching.
 *
 * f_D is D's last hidden layer. We record G's gradient norm each step, which is the quantity the
 * argument is about, and how many of the ring's modes the generator covers.
 */
import * as tf from '@tensorflow/tfjs';
import type { TopLevelSpec } from 'vega-lite';
import { Rng } from '../model/rng';

export type ToyObjective = 'gan-minimax' | 'gan' | 'mean-feature' | 'cvaegan';
export const TOY_OBJECTIVES: readonly ToyObjective[] = ['gan-minimax', 'gan', 'mean-feature', 'cvaegan'];

export interface ToyConfig {
  /** Gaussians evenly spaced on a circle. */
  modes: number;
  radius: number;
  /** Standard deviation of each Gaussian. */
  std: number;
  zDim: number;
  /** Width of the two hidden layers of G and D. */
  hidden: number;
  batch: number;
  learningRate: number;
  /** D updates per G update; more makes D closer to optimal, which is where the GAN loss starves. */
  dSteps: number;
  /**
   * 'cvaegan': the weight of L_KL against L_G. 1/2 ||x - x'||^2 is the log-likelihood of a unit-
   * variance Gaussian decoder, far wider than the ring's modes (std 0.05), so at weight 1 the KL
   * term wins and E's codes carry little; a small weight lets the reconstructions resolve modes.
   */
  klWeight: number;
  seed: number;
}

export const TOY_DEFAULTS: ToyConfig = {
  modes: 8,
  radius: 2,
  std: 0.05,
  zDim: 8,
  hidden: 64,
  batch: 128,
  learningRate: 1e-3,
  dSteps: 1,
  klWeight: 0.01,
  seed: 7,
};

/** `n` points of the ring mixture, drawn with `rng` (mode uniformly, then Gaussian noise). */
export function ringSample(n: number, cfg: ToyConfig, rng: Rng): tf.Tensor2D {
  const data = new Float32Array(n * 2);
  for (let i = 0; i < n; i++) {
    const angle = (2 * Math.PI * Math.floor(rng.next() * cfg.modes)) / cfg.modes;
    data[2 * i] = cfg.radius * Math.cos(angle) + cfg.std * gaussian(rng);
    data[2 * i + 1] = cfg.radius * Math.sin(angle) + cfg.std * gaussian(rng);
  }
  return tf.tensor2d(data, [n, 2]);
}

function gaussian(rng: Rng): number {
  // Box-Muller; 1 - u keeps log away from 0.
  return Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next());
}

/** Numbers each Mlp so that variable names stay unique when several toy GANs live side by side. */
let mlpCount = 0;

/** A two-hidden-layer perceptron with leaky-ReLU, as plain variables (readable, no layer machinery). */
class Mlp {
  readonly vars: tf.Variable[];
  private readonly layers: { w: tf.Variable; b: tf.Variable }[];

  constructor(sizes: number[], seed: number, name: string) {
    const prefix = `toy${mlpCount++}_${name}`;
    this.layers = sizes.slice(1).map((out, i) => ({
      w: tf.variable(tf.initializers.glorotUniform({ seed: seed + i }).apply([sizes[i], out]) as tf.Tensor2D, true, `${prefix}_w${i}`),
      b: tf.variable(tf.zeros([out]), true, `${prefix}_b${i}`),
    }));
    this.vars = this.layers.flatMap((l) => [l.w, l.b]);
  }

  /** Returns the output and the last hidden activation (the features f). */
  forward(x: tf.Tensor2D): { out: tf.Tensor2D; features: tf.Tensor2D } {
    let h = x;
    let features = x;
    this.layers.forEach((l, i) => {
      const a = tf.add(tf.matMul(h, l.w), l.b) as tf.Tensor2D;
      if (i < this.layers.length - 1) {
        h = tf.leakyRelu(a, 0.2);
        features = h;
      } else h = a;
    });
    return { out: h, features };
  }

  dispose(): void {
    tf.dispose(this.vars);
  }
}

export interface ToyStep {
  step: number;
  lossD: number;
  /** G's own objective (cross-entropy or L_GD, depending on the objective). */
  lossG: number;
  /** || dL_G / d theta_G ||_2 over all of G's parameters. */
  gradNormG: number;
  /** Mean D(x) on real and generated points. */
  dReal: number;
  dFake: number;
}

/** One generator/discriminator pair trained with one objective. */
export class ToyGan {
  readonly objective: ToyObjective;
  readonly cfg: ToyConfig;
  readonly G: Mlp;
  readonly D: Mlp;
  /** The encoder of 'cvaegan' (x -> [mu, log s^2]); absent for the other objectives. */
  readonly E?: Mlp;
  private readonly optG: tf.Optimizer;
  private readonly optD: tf.Optimizer;
  private readonly rng: Rng;
  private steps = 0;

  constructor(objective: ToyObjective, cfg: Partial<ToyConfig> = {}) {
    this.objective = objective;
    this.cfg = { ...TOY_DEFAULTS, ...cfg };
    const { zDim, hidden, seed } = this.cfg;
    // Same seeds for both objectives: identical initial G and D, identical data and noise.
    this.G = new Mlp([zDim, hidden, hidden, 2], seed * 100, 'G');
    this.D = new Mlp([2, hidden, hidden, 1], seed * 100 + 50, 'D');
    // E's own seeds: G and D start exactly as in the other runs.
    if (objective === 'cvaegan') this.E = new Mlp([2, hidden, hidden, 2 * zDim], seed * 100 + 75, 'E');
    this.optG = tf.train.adam(this.cfg.learningRate, 0.5);
    this.optD = tf.train.adam(this.cfg.learningRate, 0.5);
    this.rng = new Rng(seed, 1);
  }

  /** n generated points. */
  generate(n: number, seed = this.rng.seed()): tf.Tensor2D {
    return tf.tidy(() => this.G.forward(tf.randomNormal([n, this.cfg.zDim], 0, 1, 'float32', seed)).out);
  }

  step(): ToyStep {
    const { batch, zDim } = this.cfg;
    let lossD = 0;
    let dReal = 0;
    let dFake = 0;
    for (let k = 0; k < this.cfg.dSteps; k++) {
      const stats = tf.tidy(() => {
        const real = ringSample(batch, this.cfg, this.rng);
        const fake = this.generate(batch);
        const { value, grads } = tf.variableGrads(() => {
          const lr = this.D.forward(real).out;
          const lf = this.D.forward(fake).out;
          // -log sigmoid(l) = softplus(-l); -log(1 - sigmoid(l)) = softplus(l): stable in logits.
          return tf.add(tf.mean(tf.softplus(tf.neg(lr))), tf.mean(tf.softplus(lf))) as tf.Scalar;
        }, this.D.vars);
        this.optD.applyGradients(grads);
        const pr = tf.mean(tf.sigmoid(this.D.forward(real).out));
        const pf = tf.mean(tf.sigmoid(this.D.forward(fake).out));
        return tf.stack([value, pr, pf]);
      });
      [lossD, dReal, dFake] = stats.dataSync() as unknown as number[];
      stats.dispose();
    }
    const g = tf.tidy(() => {
      const real = ringSample(batch, this.cfg, this.rng);
      const z = tf.randomNormal([batch, zDim], 0, 1, 'float32', this.rng.seed());
      // The encoder's noise is drawn only by 'cvaegan', after the others' draws: same data and z.
      const eps = this.E ? tf.randomNormal([batch, zDim], 0, 1, 'float32', this.rng.seed()) : undefined;
      const { value, grads } = tf.variableGrads(() => {
        const fake = this.G.forward(z as tf.Tensor2D).out;
        if (this.E) {
          const [mu, logvar] = tf.split(this.E.forward(real).out, 2, 1);
          const rec = this.G.forward(tf.add(mu, tf.mul(tf.exp(tf.mul(0.5, logvar)), eps!)) as tf.Tensor2D).out;
          const kl = tf.mul(0.5, tf.mean(tf.sum(tf.sub(tf.add(tf.square(mu), tf.exp(logvar)), tf.add(1, logvar)), 1)));
          const dr = this.D.forward(real).features;
          const pair = tf.mul(0.5, tf.mean(tf.add(tf.sum(tf.square(tf.sub(real, rec)), 1), tf.sum(tf.square(tf.sub(dr, this.D.forward(rec).features)), 1))));
          const gd = tf.mul(0.5, tf.sum(tf.square(tf.sub(tf.mean(dr, 0), tf.mean(this.D.forward(fake).features, 0)))));
          // One sum, one backward pass: L_KL does not depend on G, L_GD not on E, so each network
          // gets exactly the gradient of its own objective.
          return tf.addN([tf.mul(this.cfg.klWeight, kl), pair, gd]) as tf.Scalar;
        }
        if (this.objective === 'gan-minimax') {
          return tf.neg(tf.mean(tf.softplus(this.D.forward(fake).out))) as tf.Scalar; // log(1 - D(G(z)))
        }
        if (this.objective === 'gan') {
          return tf.mean(tf.softplus(tf.neg(this.D.forward(fake).out))) as tf.Scalar; // -log D(G(z))
        }
        const fr = tf.mean(this.D.forward(real).features, 0);
        const ff = tf.mean(this.D.forward(fake).features, 0);
        return tf.mul(0.5, tf.sum(tf.square(tf.sub(fr, ff)))) as tf.Scalar; // L_GD
      }, [...this.G.vars, ...(this.E?.vars ?? [])]);
      // G's gradient norm only (E's parameters are not G's): the quantity compared across objectives.
      const gNames = new Set(this.G.vars.map((v) => v.name));
      const norm = tf.sqrt(tf.addN(Object.entries(grads).filter(([k]) => gNames.has(k)).map(([, t]) => tf.sum(tf.square(t)))));
      this.optG.applyGradients(grads);
      return tf.stack([value, norm]);
    });
    const [lossG, gradNormG] = g.dataSync() as unknown as number[];
    g.dispose();
    this.steps++;
    return { step: this.steps, lossD, lossG, gradNormG, dReal, dFake };
  }

  dispose(): void {
    this.G.dispose();
    this.D.dispose();
    this.E?.dispose();
    this.optG.dispose();
    this.optD.dispose();
  }
}

/**
 * How many of the ring's modes have at least `minShare` of the points within 3 std of their centre,
 * and the share of points that are within 3 std of any mode ("high quality").
 */
export function modeCoverage(points: number[][], cfg: Partial<ToyConfig> = {}, minShare = 0.02): { modesCovered: number; highQuality: number } {
  const c = { ...TOY_DEFAULTS, ...cfg };
  const counts = new Array(c.modes).fill(0);
  let good = 0;
  for (const [x, y] of points) {
    for (let m = 0; m < c.modes; m++) {
      const a = (2 * Math.PI * m) / c.modes;
      if (Math.hypot(x - c.radius * Math.cos(a), y - c.radius * Math.sin(a)) <= 3 * c.std) {
        counts[m]++;
        good++;
        break;
      }
    }
  }
  const n = Math.max(points.length, 1);
  return { modesCovered: counts.filter((k) => k / n >= minShare).length, highQuality: good / n };
}

/** Scatter plots of real points and each objective's samples, side by side. */
export function toyScatterSpec(real: number[][], generated: Partial<Record<ToyObjective, number[][]>>, title = 'samples'): TopLevelSpec {
  const values = [
    ...real.map(([x, y]) => ({ x, y, source: 'real data' })),
    ...Object.entries(generated).flatMap(([objective, pts]) => (pts ?? []).map(([x, y]) => ({ x, y, source: `G: ${objective}` }))),
  ];
  const extent = [-TOY_DEFAULTS.radius * 1.8, TOY_DEFAULTS.radius * 1.8];
  return {
    title,
    data: { values },
    mark: { type: 'circle', size: 8, opacity: 0.5 },
    encoding: {
      x: { field: 'x', type: 'quantitative', scale: { domain: extent } },
      y: { field: 'y', type: 'quantitative', scale: { domain: extent } },
      color: { field: 'source', type: 'nominal' },
      column: { field: 'source', type: 'nominal', title: null },
    },
    width: 200,
    height: 200,
  } as TopLevelSpec;
}
