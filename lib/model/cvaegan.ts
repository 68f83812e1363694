/**
 * CVAE-GAN (Bao et al., ICCV 2017): four networks, six loss terms, and Algorithm 1's training step
 * with its gradient routing.
 *
 * One step on a real batch (x_r, c_r), with eps, z_p ~ N(0, I) drawn from the model's seeded Rng:
 *
 *   (1) x_f = G(mu + sigma*eps, c_r) with (mu, logvar) = E(x_r, c_r)     reconstructions
 *       x_p = G(z_p, c_p), c_p = c_r                                      prior samples
 *   (2) C <- C - grad_C L_C            L_C = -log P(c_r | x_r)
 *       D <- D - grad_D L_D            L_D = -(log D(x_r) + log(1 - D(x_f)) + log(1 - D(x_p)))
 *   (3) with the updated D and C as fixed feature extractors (D in training mode, see
 *       encoderGeneratorLosses):
 *       G <- G - grad_G (lambda2 L_G + lambda3 L_GD + lambda4 L_GC)
 *       E <- E - grad_E (lambda1 L_KL + lambda2 L_G)
 *
 * How the routing is exact with two gradient computations (the networks' variables are disjoint):
 * - (2) is one tf.variableGrads of L_C + L_D over C's and D's variables. x_f and x_p enter as
 *   plain tensors computed in (1), so nothing flows to E or G; L_C has no D variable in it and L_D
 *   no C variable, so each net gets exactly its own loss's gradient.
 * - (3) is one tf.variableGrads of S = lambda1 L_KL + lambda2 L_G + lambda3 L_GD + lambda4 L_GC over
 *   E's and G's variables. L_KL does not depend on G, so grad_G S = G's loss gradient. L_GD and L_GC
 *   depend only on x_p = G(z_p, c_p) and x_r, which do not involve E (G runs on the reconstruction
 *   batch and the prior batch separately, D sees x_p only in a joint batch with x_r, never with
 *   x_f, and C runs in inference mode, one image at a time), so grad_E S = E's loss gradient. D and
 *   C are in neither variable list of (3): their weights are fixed there, and D's batch-norm moving
 *   statistics, which its training-mode passes move, are put back afterwards.
 * Order: (2) before (3) as in Algorithm 1, so G and E learn against the D and C of this step.
 */
import * as tf from '@tensorflow/tfjs';
import { checkImageShape, ModelConfig } from './config';
import * as L from './losses';
import { keepingState, NetworkModel, reparameterize, StepReads } from './modelbase';
import { isForwardOnce, RecordedForward } from './tape';
import { buildNetworks, Networks, summarize } from './networks';
import type { StepResult } from './interface';

export const CVAEGAN_LOSSES = ['L_C', 'L_D', 'L_KL', 'L_G', 'L_GD', 'L_GC', 'L_G_pixel', 'L_G_fD', 'L_G_fC'] as const;
/** acc_C: C's accuracy on the real batch; D_*: mean D output (probability "real") per input kind. */
export const CVAEGAN_METRICS = ['acc_C', 'D_real', 'D_recon', 'D_prior'] as const;

/** The noise of one step: eps for z = mu + sigma * eps, and the prior codes z_p. Both [m, zDim]. */
export interface StepNoise {
  eps: tf.Tensor2D;
  zp: tf.Tensor2D;
}

// Shared with the CVAE baseline; still exported here, where it has always been.
export { reparameterize };

/**
 * Step (1): E and G in training mode. G runs on the reconstruction codes and on the prior codes as
 * two batches, so that x_p does not depend on E through batch-norm statistics.
 */
export function generatorForward(
  nets: Networks,
  x: tf.Tensor4D,
  onehot: tf.Tensor2D,
  onehotPrior: tf.Tensor2D,
  noise: StepNoise,
): { mu: tf.Tensor2D; logvar: tf.Tensor2D; xf: tf.Tensor4D; xp: tf.Tensor4D } {
  const [mu, logvar] = nets.E.apply([x, onehot], { training: true }) as tf.Tensor2D[];
  const z = reparameterize(mu, logvar, noise.eps);
  const xf = nets.G.apply([z, onehot], { training: true }) as tf.Tensor4D;
  const xp = nets.G.apply([noise.zp, onehotPrior], { training: true }) as tf.Tensor4D;
  return { mu, logvar, xf, xp };
}

/**
 * Step (2)'s losses. C sees real images only. D sees [x_r; x_f; x_p] as one batch, so its batch
 * statistics describe the mixture of real and generated images it must tell apart, as step 3's
 * joint training-mode passes do. (CGAN and FM-CGAN give D separate passes, config
 * discriminatorBatches; for CVAE-GAN separate passes measured worse on flowers-20, 77.65% vs 86.1%
 * top-1, docs/design.md "GAN baselines that learn the label".)
 */
export function classifierDiscriminatorLosses(nets: Networks, x: tf.Tensor4D, onehot: tf.Tensor2D, xf: tf.Tensor4D, xp: tf.Tensor4D) {
  const [logitsC] = nets.C.apply(x, { training: true }) as tf.Tensor2D[];
  const LC = L.classifierLoss(logitsC, onehot);
  const [logitsD] = nets.D.apply(tf.concat([x, xf, xp]), { training: true }) as tf.Tensor2D[];
  const [lr, lf, lp] = tf.split(logitsD, 3);
  const LD = L.discriminatorLoss(lr, lf, lp);
  const acc = tf.mean(tf.cast(tf.equal(tf.argMax(logitsC, 1), tf.argMax(onehot, 1)), 'float32')) as tf.Scalar;
  const dMean = (l: tf.Tensor) => tf.mean(tf.sigmoid(l)) as tf.Scalar;
  return { LC, LD, acc, dReal: dMean(lr), dRecon: dMean(lf), dPrior: dMean(lp) };
}

/**
 * Step (3)'s losses. D runs in training mode on two joint batches, [x_r; x_p] for L_GD and
 * [x_r; x_f] for L_G's f_D term: G and E learn against the D being trained, with the batch
 * statistics it is trained with, and real and generated features are normalised alike within each
 * matched pair of sets (what the mean-feature terms need). x_p never shares a batch with x_f, so
 * its features do not depend on E. Measured on flowers-20, cpu preset, 3,000 steps, against D in
 * inference mode (a fixed function with stale moving statistics): evaluator top-1 84.0% vs 77.2%,
 * FID 22.4 vs 38.8 (docs/design.md, "GAN baselines that learn the label"). C, trained on real
 * images only, stays in inference mode: its moving statistics describe exactly the images it
 * learns from, so it is a faithful fixed function. The class centres are updated with this
 * batch's real features before L_GC uses them (Algorithm 1's order); the updated centres are
 * returned for the caller to store once the losses are known to be finite. `forward`: step (1)'s
 * pass of E and G, replayed onto this gradient's tape (lib/model/tape.ts); without it E and G run here.
 */
export function encoderGeneratorLosses(
  nets: Networks,
  cfg: ModelConfig,
  x: tf.Tensor4D,
  onehot: tf.Tensor2D,
  noise: StepNoise,
  centres: tf.Tensor2D,
  seen: tf.Tensor1D,
  forward?: ReturnType<typeof generatorForward>,
) {
  const lc = cfg.loss;
  const pixels = cfg.resolution * cfg.resolution * 3;
  const scaled = (r: ModelConfig['loss']['kl']): L.Reduction => (r === 'per-pixel' ? pixels : r);
  const { mu, logvar, xf, xp } = forward ?? generatorForward(nets, x, onehot, onehot, noise);
  // D: f_D of each half of a joint training-mode batch.
  const joint = (a: tf.Tensor4D, b: tf.Tensor4D) => tf.split((nets.D.apply(tf.concat([a, b]), { training: true }) as tf.Tensor2D[])[1], 2) as tf.Tensor2D[];
  const [fDrp, fDp] = joint(x, xp);
  const [fDr, fDf] = joint(x, xf);
  // C: inference mode treats each image alone, so separate passes give what one joint pass would,
  // and x_p's features have no path to E at all.
  const features = (img: tf.Tensor4D) => (nets.C.apply(img, { training: false }) as tf.Tensor2D[])[1];
  const [fCr, fCf, fCp] = [x, xf, xp].map(features);
  const KL = L.klLoss(mu, logvar, scaled(lc.kl));
  const rec = L.reconstructionLoss({ xr: x, xf, fDr, fDf, fCr, fCf }, scaled(lc.pairwise));
  const GD = L.meanFeatureMatchingLoss(fDrp, fDp, lc.featureMatching);
  const next = L.updateClassCentres(centres, seen, fCr, onehot, lc.centreDecay);
  // c_p = c_r: every class present among the prior labels has a real centre from this very batch.
  const GC = L.classFeatureMatchingLoss(next.centres, fCp, onehot, lc.featureMatching);
  const total = tf.addN([tf.mul(lc.lambdaKL, KL), tf.mul(lc.lambdaG, rec.total), tf.mul(lc.lambdaGD, GD), tf.mul(lc.lambdaGC, GC)]) as tf.Scalar;
  return { total, KL, LG: rec.total, GD, GC, pixel: rec.pixel, fD: rec.fD, fC: rec.fC, centres: next.centres, seen: next.seen };
}

/** Architecture fields: a checkpoint can be restored into a model only when these match. */
const ARCHITECTURE = ['resolution', 'numClasses', 'zDim', 'norm', 'encoder', 'generator', 'discriminator', 'classifier'] as const;

/**
 * NetworkModel supplies the config, Rngs, optimisers, checks, sample(), save()/restore() and
 * dispose(); CVAEGAN adds its class centres (kept in checkpoints through stateVariables()), its
 * two-phase step, encode() and reconstruct().
 */
export class CVAEGAN extends NetworkModel {
  readonly kind = 'cvaegan' as const;
  readonly lossNames: readonly string[] = CVAEGAN_LOSSES;
  readonly metricNames: readonly string[] = CVAEGAN_METRICS;
  /**
   * The base class builds these with buildNetworks. `declare` only narrows the type (E, G, D, C
   * by name) and emits no field, which would otherwise reset it after super().
   */
  declare readonly nets: Networks & Record<string, tf.LayersModel>;
  /** Real class centres of f_C for L_GC, [K, d_C], and which classes have been seen (0/1, [K]). */
  private readonly centres: tf.Variable;
  private readonly seen: tf.Variable;

  constructor(config: ModelConfig) {
    // Spread: the Networks interface has no index signature, the base takes a Record of networks.
    super(config, (cfg, rng) => ({ ...buildNetworks(cfg, rng) }), ARCHITECTURE);
    const dC = (this.nets.C.outputs[1].shape as number[])[1];
    // tidy: tf.variable shares the zeros' data, and the zeros themselves must not stay allocated.
    this.centres = tf.tidy(() => tf.variable(tf.zeros([config.numClasses, dC]), false));
    this.seen = tf.tidy(() => tf.variable(tf.zeros([config.numClasses]), false));
  }

  /** The centres change with every step, so a resumed run needs them: they go to state.bin. */
  protected stateVariables(): { name: string; tensor: tf.Variable }[] {
    return [
      { name: 'centres', tensor: this.centres },
      { name: 'seen', tensor: this.seen },
    ];
  }

  protected *stepReads(x: tf.Tensor4D, labels: tf.Tensor1D): StepReads<StepResult> {
    const m = yield* this.checkBatch(x, labels);
    const step = this.currentStep + 1;
    const { zDim, loss: lc } = this.config;
    const epsSeed = this.rng.seed();
    const zSeed = this.rng.seed();
    const onehot = L.asOneHot(labels, this.config.numClasses);
    const noise: StepNoise = {
      eps: tf.randomNormal([m, zDim], 0, 1, 'float32', epsSeed),
      zp: tf.randomNormal([m, zDim], 0, 1, 'float32', zSeed),
    };
    const { E, G, D, C } = this.nets;
    let fwd: RecordedForward<ReturnType<typeof generatorForward>> | undefined;
    try {
      // (1) Reconstructions and prior samples with the current E, G, recorded on the gradient
      // tape: (3) differentiates through this very pass (lib/model/tape.ts; E and G do not change
      // in between), so their batch-norm statistics move once per step, here. (Without it, as
      // before: a pass with the statistics put back, and (3) runs E and G again.)
      if (isForwardOnce()) fwd = RecordedForward.record(() => generatorForward(this.nets, x, onehot, onehot, noise));
      const { xf, xp } = fwd
        ? fwd.outputs
        : keepingState([E, G], () =>
            tf.tidy(() => {
              const r = generatorForward(this.nets, x, onehot, onehot, noise);
              return { xf: r.xf, xp: r.xp };
            }),
          );
      // (2) C by L_C, D by L_D.
      let kept1: tf.Tensor1D | undefined;
      const g1 = tf.variableGrads(() => {
        const r = classifierDiscriminatorLosses(this.nets, x, onehot, xf, xp);
        kept1 = tf.keep(tf.stack([r.LC, r.LD, r.acc, r.dReal, r.dRecon, r.dPrior]) as tf.Tensor1D);
        return tf.add(r.LC, r.LD) as tf.Scalar;
      }, [...this.vars.C, ...this.vars.D]);
      tf.dispose(fwd ? [g1.value] : [xf, xp, g1.value]);
      const v1 = yield kept1!;
      kept1!.dispose();
      const lossesCD = { L_C: v1[0], L_D: v1[1] };
      const metrics = { acc_C: v1[2], D_real: v1[3], D_recon: v1[4], D_prior: v1[5] };
      try {
        L.checkFinite(lossesCD, step);
        this.applyGrads('C', g1.grads);
        this.applyGrads('D', g1.grads);
      } finally {
        tf.dispose(g1.grads);
      }

      // (3) G by lambda2 L_G + lambda3 L_GD + lambda4 L_GC, E by lambda1 L_KL + lambda2 L_G.
      let kept2: tf.Tensor1D | undefined;
      let next: { centres: tf.Tensor2D; seen: tf.Tensor1D } | undefined;
      // D's batch-norm moving statistics move once per step, in (2).
      const g2 = keepingState([D], () =>
        tf.variableGrads(() => {
          const r = encoderGeneratorLosses(this.nets, this.config, x, onehot, noise, this.centres as tf.Tensor2D, this.seen as tf.Tensor1D, fwd?.replay());
          kept2 = tf.keep(tf.stack([r.KL, r.LG, r.GD, r.GC, r.pixel, r.fD, r.fC]) as tf.Tensor1D);
          next = { centres: tf.keep(r.centres), seen: tf.keep(r.seen) };
          return r.total;
        }, [...this.vars.E, ...this.vars.G]),
      );
      g2.value.dispose();
      const v2 = yield kept2!;
      kept2!.dispose();
      const lossesEG = { L_KL: v2[0], L_G: v2[1], L_GD: v2[2], L_GC: v2[3], L_G_pixel: v2[4], L_G_fD: v2[5], L_G_fC: v2[6] };
      try {
        L.checkFinite(lossesEG, step);
        this.applyGrads('G', g2.grads);
        this.applyGrads('E', g2.grads);
        this.centres.assign(next!.centres);
        this.seen.assign(next!.seen);
      } finally {
        tf.dispose(g2.grads);
        tf.dispose([next!.centres, next!.seen]);
      }
      return this.finishStep(step, { ...lossesCD, ...lossesEG }, metrics);
    } finally {
      fwd?.dispose();
      tf.dispose([onehot, noise.eps, noise.zp]);
    }
  }

  encode(x: tf.Tensor4D, labels: ArrayLike<number> | tf.Tensor1D): { mu: tf.Tensor2D; logvar: tf.Tensor2D } {
    this.assertUsable();
    checkImageShape(this.config, x.shape, 'encode: images');
    return this.encodeWithE(x, labels);
  }

  reconstruct(x: tf.Tensor4D, labels: ArrayLike<number> | tf.Tensor1D, opts: { seed?: number } = {}): tf.Tensor4D {
    return this.decodePosterior(this.encode(x, labels), labels, opts.seed);
  }

  /** Per network also the trainable parameters, layers and feature sizes (the base counts parameters only). */
  summary() {
    return summarize(this.nets);
  }
}
