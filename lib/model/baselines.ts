/**
 * The paper's baselines (Table 1): CVAE, CGAN and FM-CGAN, on CVAE-GAN's networks, config, data
 * pipeline and training loop, behind the same GenerativeModel interface (createModel('cvae', cfg)).
 *
 * Shared with CVAE-GAN (lib/model/cvaegan.ts), so that a comparison measures the objectives and nothing else:
 * - E and G are networks.ts's buildEncoder / buildGenerator, unchanged, from the same ModelConfig.
 *   Initialiser seeds are drawn in CVAE-GAN's order (E, then G, then D), so under one seed every
 *   model starts from the same G, and CVAE from the same E.
 * - D is the same DCGAN trunk (config.discriminator), with the label joined (see
 *   buildConditionalDiscriminator): a GAN baseline without an auxiliary classifier needs a
 *   label-conditioned D, or nothing makes G's samples depend on c.
 * - One Adam per network with config.optimizer; config.loss's weights and reductions where a term is
 *   shared; the Batcher; lib/train/loop.ts; lib/model/checkpoint.ts (via lib/model/modelbase.ts).
 * - The step's structure: prior samples x_p = G(z_p, c_p) use c_p = c_r, the real batch's labels;
 *   D trains first, in training mode on x_r and on x_p as two passes (config.discriminatorBatches);
 *   then G learns against the updated D, run the same way in training mode (see discriminatorPass).
 * - Kernels start from N(0, 0.02) (config.init, DCGAN's initialisation), as every model's do.
 *
 * What the paper says of each baseline, and what we chose where it is silent, is beside each class
 * and in docs/design.md, "## baselines". Tags as in ../shared/paper-notes.md: [P] paper text,
 * [R] unverified recollection, NOT FOUND.
 */
import * as tf from '@tensorflow/tfjs';
import type { DiscriminatorBatches, ModelConfig } from './config';
import { asOneHot, klLoss, meanFeatureMatchingLoss, pairwiseLoss } from './losses';
import { buildEncoder, buildGenerator, kernelInitializer } from './networks';
import { keepingState, NetworkModel, PhaseResult, PhaseTerms, reparameterize, StepReads } from './modelbase';
import { isForwardOnce, RecordedForward } from './tape';
import { Rng } from './rng';
import type { StepResult } from './interface';

// ------------------------------------------------------------------------------------------------
// The label-conditioned discriminator of CGAN and FM-CGAN
// ------------------------------------------------------------------------------------------------

type Initializer = ReturnType<typeof tf.initializers.glorotUniform>;

/**
 * D(x, c) -> [real/fake logit [m, 1], f_D]: buildDiscriminator's DCGAN trunk with the label joined.
 *
 * The one-hot label is tiled over the feature map and concatenated, as K extra channels, to the input
 * of the trunk's last convolution (Reed et al. 2016 join their condition to D's small map this way).
 * Why there:
 * - A label that enters only the final linear layer adds a per-class constant to the logit: D's
 *   verdict would not depend on whether x fits c, so G would learn nothing about c. The label must
 *   meet x's features before a nonlinearity.
 * - The last convolution's input is small (8x8 in every preset), so K channels are cheap even for
 *   102 classes; at the image input they would multiply the first convolution's
 *   cost by (3 + K) / 3.
 * - f_D keeps the shape and place of CVAE-GAN's f_D (flattened last conv block, or the last hidden
 *   FC), and it is label-conditioned, which FM-CGAN's feature matching needs.
 *
 * Layers as networks.ts builds D (its Builder class is private, so its few lines are repeated here):
 * conv -> batch norm -> leaky ReLU 0.2, no batch norm on the first layer, no bias before batch norm,
 * seeded Glorot-uniform kernels in build order, a linear logit.
 */
export function buildConditionalDiscriminator(cfg: ModelConfig, rng: Rng): tf.LayersModel {
  const t = cfg.discriminator;
  const lastConv = t.trunk.map((l) => l.kind).lastIndexOf('conv');
  if (lastConv < 0) throw new Error('config.discriminator.trunk: the label-conditioned D joins the label at the last convolution, so the trunk needs at least one conv layer');
  const bn = cfg.norm === 'batch';
  let n = 0;
  const name = (kind: string) => `D_${kind}${++n}`;
  const init = (): Initializer => kernelInitializer(cfg, rng.seed());
  const normAct = (y: tf.SymbolicTensor, norm: boolean): tf.SymbolicTensor => {
    if (norm && bn) y = tf.layers.batchNormalization({ momentum: cfg.bnMomentum, epsilon: 1e-5, name: name('bn') }).apply(y) as tf.SymbolicTensor;
    return tf.layers.leakyReLU({ alpha: 0.2, name: name('lrelu') }).apply(y) as tf.SymbolicTensor;
  };
  const conv = (y: tf.SymbolicTensor, filters: number, kernel: number, stride: number, norm: boolean): tf.SymbolicTensor => {
    const layer = tf.layers.conv2d({ filters, kernelSize: kernel, strides: stride, padding: 'same', useBias: !(norm && bn), kernelInitializer: init(), name: name('conv') });
    return normAct(layer.apply(y) as tf.SymbolicTensor, norm);
  };
  const pool = (y: tf.SymbolicTensor, size: number, stride: number) =>
    tf.layers.maxPooling2d({ poolSize: size, strides: stride, padding: 'same', name: name('pool') }).apply(y) as tf.SymbolicTensor;

  const x = tf.input({ shape: [cfg.resolution, cfg.resolution, 3], name: 'D_x' });
  const c = tf.input({ shape: [cfg.numClasses], name: 'D_c' });
  let h: tf.SymbolicTensor = x;
  t.trunk.forEach((l, i) => {
    if (i === lastConv) {
      // [m, K] -> [m, 1, 1, K] -> [m, H, W, K]: the label as constant feature maps beside x's.
      const [H, W] = [h.shape[1] as number, h.shape[2] as number];
      const c11 = tf.layers.reshape({ targetShape: [1, 1, cfg.numClasses], name: name('label') }).apply(c) as tf.SymbolicTensor;
      const cmap = tf.layers.upSampling2d({ size: [H, W], name: name('tile') }).apply(c11) as tf.SymbolicTensor;
      h = tf.layers.concatenate({ axis: -1, name: name('merge_c') }).apply([h, cmap]) as tf.SymbolicTensor;
    }
    if (l.kind === 'conv') {
      h = conv(h, l.filters, l.kernel, l.stride, i > 0); // DCGAN: no batch norm on D's first layer
    } else if (l.kind === 'maxpool') {
      h = pool(h, l.size, l.stride);
    } else {
      // GoogLeNet's inception module, as networks.ts builds it (no preset's D uses one).
      const b1 = conv(h, l.b1, 1, 1, true);
      const b3 = conv(conv(h, l.b3reduce, 1, 1, true), l.b3, 3, 1, true);
      const b5 = conv(conv(h, l.b5reduce, 1, 1, true), l.b5, 5, 1, true);
      const bp = conv(tf.layers.maxPooling2d({ poolSize: 3, strides: 1, padding: 'same', name: name('pool') }).apply(h) as tf.SymbolicTensor, l.poolProj, 1, 1, true);
      h = tf.layers.concatenate({ axis: -1, name: name('concat') }).apply([b1, b3, b5, bp]) as tf.SymbolicTensor;
    }
  });
  h = (t.pool === 'flatten' ? tf.layers.flatten({ name: name('flatten') }) : tf.layers.globalAveragePooling2d({ name: name('gap') })).apply(h) as tf.SymbolicTensor;
  for (const units of t.hidden) {
    h = normAct(tf.layers.dense({ units, useBias: !bn, kernelInitializer: init(), name: name('fc') }).apply(h) as tf.SymbolicTensor, true);
  }
  const logit = tf.layers.dense({ units: 1, kernelInitializer: init(), name: name('fc') }).apply(h) as tf.SymbolicTensor;
  return tf.model({ inputs: [x, c], outputs: [logit, h], name: 'D' });
}

/**
 * D's label gap (lib/train/diagnostics.ts) on real images `x` with their labels, for
 * D(x, c) -> [logit, ...] in inference mode:
 *   gap = mean_i ( l(x_i, c_i) - l(x_i, c'_i) ),   c'_i = (c_i + k_i) mod K, k_i in 1..K-1
 * Above 0, D uses the label to judge realness. The wrong labels are drawn from `seed`, never equal to the right one.
 */
export function discriminatorLabelGap(D: tf.LayersModel, x: tf.Tensor4D, labels: ArrayLike<number>, numClasses: number, seed = 777): number {
  const rng = new Rng(seed, 5);
  const wrong = Array.from(labels, (c) => (c + 1 + rng.int(numClasses - 1)) % numClasses);
  const gap = tf.tidy(() => {
    const right = tf.oneHot(tf.tensor1d(Array.from(labels), 'int32'), numClasses).toFloat();
    const other = tf.oneHot(tf.tensor1d(wrong, 'int32'), numClasses).toFloat();
    const [lr] = D.apply([x, right], { training: false }) as tf.Tensor[];
    const [lw] = D.apply([x, other], { training: false }) as tf.Tensor[];
    return tf.mean(tf.sub(lr, lw));
  });
  const v = gap.dataSync()[0];
  gap.dispose();
  return v;
}

/**
 * The conditional GAN's discriminator loss (two terms; CVAE-GAN's has a third for reconstructions):
 *   L_D = -( log D(x_r, c_r) + log(1 - D(x_p, c_p)) ) = softplus(-l_r) + softplus(l_p),
 * each averaged over its batch; logits, never probabilities (see losses.ts). Starts near ln 4 = 1.386
 * when D cannot tell (l ~ 0).
 */
export function ganDiscriminatorLoss(realLogits: tf.Tensor, fakeLogits: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.add(tf.mean(tf.softplus(tf.neg(realLogits))), tf.mean(tf.softplus(fakeLogits))) as tf.Scalar);
}

/**
 * G's non-saturating cross-entropy loss (Goodfellow et al. 2014, sec. 3):
 *   L_G_adv = -log D(x_p, c_p) = softplus(-l_p), averaged over the batch.
 * Minimising -log D instead of log(1 - D) keeps G's gradient large while D rejects its samples.
 */
export function nonSaturatingGeneratorLoss(fakeLogits: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.mean(tf.softplus(tf.neg(fakeLogits))) as tf.Scalar);
}

/** D's accuracy as a classifier of real (logit > 0) vs fake (logit < 0), over both halves. */
export function discriminatorAccuracy(realLogits: tf.Tensor, fakeLogits: tf.Tensor): tf.Scalar {
  return tf.tidy(() =>
    tf.mul(0.5, tf.add(tf.mean(tf.cast(tf.greater(realLogits, 0), 'float32')), tf.mean(tf.cast(tf.less(fakeLogits, 0), 'float32')))) as tf.Scalar,
  );
}

// ------------------------------------------------------------------------------------------------
// CVAE
// ------------------------------------------------------------------------------------------------

type LossReduction = Parameters<typeof klLoss>[2];

/**
 * A config reduction as losses.ts takes it: 'per-pixel' is the sum divided by the number of pixel
 * values H*W*3, as CVAE-GAN's step resolves it (lib/model/cvaegan.ts), so both models weigh L_KL against
 * the pixel term identically.
 */
function resolveReduction(cfg: ModelConfig, r: ModelConfig['loss']['kl']): LossReduction {
  return ((r as string) === 'per-pixel' ? cfg.resolution * cfg.resolution * 3 : r) as LossReduction;
}

export const CVAE_LOSSES = ['L_KL', 'L_G_pixel'] as const;
/** q_sigma: mean posterior standard deviation exp(logvar / 2); near 1 everywhere means the code carries nothing. */
export const CVAE_METRICS = ['q_sigma'] as const;

/**
 * CVAE (Sohn et al. 2015, the paper's [34]).
 *
 * Paper: the first baseline of Table 1 [R]; the Introduction [P] gives the reason CVAE-GAN exists:
 * a VAE-style model trained with a pixel reconstruction loss produces blurry images. How the authors
 * trained it (networks, weights) is NOT FOUND.
 * Ours: CVAE-GAN with D and C removed, i.e. exactly its KL and pixel terms with its weights and
 * reductions (config.loss.lambdaKL, lambdaG, kl, pairwise):
 *   (mu, logvar) = E(x_r, c_r),  z = mu + exp(logvar / 2) * eps,  x_f = G(z, c_r)
 *   L_KL      = 1/2 ( mu^T mu + sum_i ( exp(logvar_i) - logvar_i - 1 ) )
 *   L_G_pixel = 1/2 || x_r - x_f ||^2
 *   E <- E - grad_E (lambda1 L_KL + lambda2 L_G_pixel),   G <- G - grad_G (lambda2 L_G_pixel)
 * One gradient of S = lambda1 L_KL + lambda2 L_G_pixel over E's and G's variables gives both
 * updates exactly, since L_KL does not depend on G. Blurry samples are the expected result.
 */
export class CVAE extends NetworkModel {
  readonly kind = 'cvae' as const;
  readonly lossNames: readonly string[] = CVAE_LOSSES;
  readonly metricNames: readonly string[] = CVAE_METRICS;

  constructor(config: ModelConfig) {
    super(config, (cfg, rng) => ({ E: buildEncoder(cfg, rng), G: buildGenerator(cfg, rng) }), ['resolution', 'numClasses', 'zDim', 'norm', 'encoder', 'generator']);
  }

  protected *stepReads(x: tf.Tensor4D, labels: tf.Tensor1D): StepReads<StepResult> {
    const m = yield* this.checkBatch(x, labels);
    const step = this.step + 1;
    const { zDim, numClasses, loss: lc } = this.config;
    const { E, G } = this.nets;
    const onehot = asOneHot(labels, numClasses);
    const eps = tf.randomNormal([m, zDim], 0, 1, 'float32', this.rng.seed()) as tf.Tensor2D;
    try {
      const r = yield* this.phase(['E', 'G'], step, (): PhaseTerms => {
        const [mu, logvar] = E.apply([x, onehot], { training: true }) as tf.Tensor2D[];
        const xf = G.apply([reparameterize(mu, logvar, eps), onehot], { training: true }) as tf.Tensor4D;
        const KL = klLoss(mu, logvar, resolveReduction(this.config, lc.kl));
        const pixel = pairwiseLoss(x, xf, resolveReduction(this.config, lc.pairwise));
        return {
          objective: tf.add(tf.mul(lc.lambdaKL, KL), tf.mul(lc.lambdaG, pixel)) as tf.Scalar,
          losses: { L_KL: KL, L_G_pixel: pixel },
          metrics: { q_sigma: tf.mean(tf.exp(tf.mul(0.5, logvar))) as tf.Scalar },
        };
      });
      return this.finishStep(step, r.losses, r.metrics);
    } finally {
      tf.dispose([onehot, eps]);
    }
  }

  /** The posterior q(z | x, c) = N(mu, exp(logvar)); the caller disposes both. */
  encode(x: tf.Tensor4D, labels: ArrayLike<number> | tf.Tensor1D): { mu: tf.Tensor2D; logvar: tf.Tensor2D } {
    return this.encodeWithE(x, labels);
  }

  /** G(z, c) with z = mu, or z ~ q(z | x, c) drawn with `seed` when one is given. */
  reconstruct(x: tf.Tensor4D, labels: ArrayLike<number> | tf.Tensor1D, opts: { seed?: number } = {}): tf.Tensor4D {
    return this.decodePosterior(this.encode(x, labels), labels, opts.seed);
  }
}

// ------------------------------------------------------------------------------------------------
// CGAN and FM-CGAN: one training step, two generator losses
// ------------------------------------------------------------------------------------------------

/** acc_D: D's real-vs-fake accuracy on the step's batch (training mode); D_real / D_fake: mean D output. */
export const GAN_METRICS = ['acc_D', 'D_real', 'D_fake'] as const;

/** D(x, c) in training mode: the logits and f_D of one pass. */
function discriminatorOn(D: tf.LayersModel, x: tf.Tensor4D, onehot: tf.Tensor2D) {
  const [logits, features] = D.apply([x, onehot], { training: true }) as tf.Tensor2D[];
  return { logits, features };
}

/**
 * D on real and generated images in training mode, labels c for both: the logits and f_D of each.
 * Both D's update and G's use it, so D judges G's samples with batch statistics as it is trained.
 * - 'separate' (config.discriminatorBatches, the presets' choice): D(x_r, c) and D(x_p, c) as two
 *   passes, each normalised by its own batch statistics, as the standard PyTorch loop does.
 * - 'joint': one pass over [x_r; x_p] (the step before #14's replay; old checkpoints resume with it).
 *
 * Why separate (measured, docs/design.md "GAN baselines that learn the label"): PyTorch replays of
 * our CGAN from our initial weights, batches and z, step for step, reach 61.7% top-1 on flowers-20
 * with separate passes and 36.9% with the joint batch (ours, joint: 33.2%); the joint batch's
 * statistics mix the two halves, so D's batch norm partly cancels what tells them apart and D
 * stays near chance (L_D ~1.1-1.3 late in training against ~0.8 separate).
 * Why training mode for G too: in inference mode, D's batch norm uses its moving averages, and G
 * learns to fool that stale, fixed normalisation instead of the D being trained; on flowers-20
 * (cpu preset, 3,000 steps) G's label dependence then stayed near 0.08 for 1,500 steps.
 */
function discriminatorPass(D: tf.LayersModel, x: tf.Tensor4D, xp: tf.Tensor4D, onehot: tf.Tensor2D, batches: DiscriminatorBatches) {
  if (batches === 'separate') {
    const r = discriminatorOn(D, x, onehot);
    const p = discriminatorOn(D, xp, onehot);
    return { real: r.logits, fake: p.logits, realFeatures: r.features, fakeFeatures: p.features };
  }
  const { logits, features } = discriminatorOn(D, tf.concat([x, xp]) as tf.Tensor4D, tf.concat([onehot, onehot]) as tf.Tensor2D);
  const [real, fake] = tf.split(logits, 2) as tf.Tensor2D[];
  const [realFeatures, fakeFeatures] = tf.split(features, 2) as tf.Tensor2D[];
  return { real, fake, realFeatures, fakeFeatures };
}

/** E's seeds are drawn and E is dropped, so that G and D get the seeds they get in CVAE-GAN. */
function buildGanNetworks(cfg: ModelConfig, rng: Rng): Record<string, tf.LayersModel> {
  buildEncoder(cfg, rng).dispose();
  return { G: buildGenerator(cfg, rng), D: buildConditionalDiscriminator(cfg, rng) };
}

/**
 * The step CGAN and FM-CGAN share; they differ only in G's loss (`generatorTerms`).
 *
 *   (1) x_p = G(z_p, c_r), z_p ~ N(0, I)              G in training mode, recorded for (3)'s gradient
 *   (2) D <- D - grad_D L_D,  L_D = -( log D(x_r, c_r) + log(1 - D(x_p, c_r)) )
 *   (3) G <- G - grad_G L_gen(x_r, x_p = G(z_p, c_r))  against the updated D, in training mode
 *
 * D runs in training mode in (2) and (3), on x_r and x_p as two passes or one joint batch
 * (discriminatorPass, config.discriminatorBatches). (2)
 * differentiates over D's variables only (x_p enters as a plain tensor), (3) over G's only (D's
 * weights are fixed there, and its batch-norm moving statistics are put back afterwards, so they
 * move once per step, in D's own update), so each network gets exactly its own loss's gradient.
 */
abstract class ConditionalGAN extends NetworkModel {
  readonly metricNames: readonly string[] = GAN_METRICS;

  constructor(config: ModelConfig) {
    super(config, buildGanNetworks, ['resolution', 'numClasses', 'zDim', 'norm', 'generator', 'discriminator']);
  }

  /** config.discriminatorBatches; a config saved before the field existed trained with 'joint'. */
  protected get discriminatorBatches(): DiscriminatorBatches {
    return this.config.discriminatorBatches ?? 'joint';
  }

  labelGap(x: tf.Tensor4D, labels: ArrayLike<number>): number {
    this.assertUsable();
    return discriminatorLabelGap(this.nets.D, x, labels, this.config.numClasses);
  }

  /** G's loss terms; its `objective` is differentiated over G's variables. */
  protected abstract generatorTerms(x: tf.Tensor4D, onehot: tf.Tensor2D, xp: tf.Tensor4D): PhaseTerms;

  protected *stepReads(x: tf.Tensor4D, labels: tf.Tensor1D): StepReads<StepResult> {
    const m = yield* this.checkBatch(x, labels);
    const step = this.step + 1;
    const { zDim, numClasses } = this.config;
    const { G, D } = this.nets;
    const onehot = asOneHot(labels, numClasses);
    const zp = tf.randomNormal([m, zDim], 0, 1, 'float32', this.rng.seed()) as tf.Tensor2D;
    let fwd: RecordedForward<tf.Tensor4D> | undefined;
    try {
      // (1) Prior samples for D, recorded on the gradient tape: (3) differentiates through this
      // very pass (lib/model/tape.ts; G does not change in between), so G's batch-norm statistics
      // move once per step, here. (Without it: a pass with them put back, and (3) runs G again.)
      if (isForwardOnce()) fwd = RecordedForward.record(() => G.apply([zp, onehot], { training: true }) as tf.Tensor4D);
      const xp = fwd ? fwd.outputs : keepingState([G], () => tf.tidy(() => G.apply([zp, onehot], { training: true }) as tf.Tensor4D));
      // (2) D by cross-entropy on reals and fakes.
      let d: PhaseResult;
      try {
        d = yield* this.phase(['D'], step, (): PhaseTerms => {
          const { real: lr, fake: lp } = discriminatorPass(D, x, xp, onehot, this.discriminatorBatches);
          const LD = ganDiscriminatorLoss(lr, lp);
          return {
            objective: LD,
            losses: { L_D: LD },
            metrics: { acc_D: discriminatorAccuracy(lr, lp), D_real: tf.mean(tf.sigmoid(lr)) as tf.Scalar, D_fake: tf.mean(tf.sigmoid(lp)) as tf.Scalar },
          };
        });
      } finally {
        if (!fwd) xp.dispose();
      }
      // (3) G against the D of this step; same z_p and labels as (1).
      const dState = D.nonTrainableWeights.map((w) => ({ w, v: tf.clone(w.read()) }));
      let g: PhaseResult;
      try {
        g = yield* this.phase(['G'], step, () => this.generatorTerms(x, onehot, fwd ? fwd.replay() : (G.apply([zp, onehot], { training: true }) as tf.Tensor4D)));
      } finally {
        for (const s of dState) {
          s.w.write(s.v);
          s.v.dispose();
        }
      }
      return this.finishStep(step, { ...d.losses, ...g.losses }, { ...d.metrics, ...g.metrics });
    } finally {
      fwd?.dispose();
      tf.dispose([onehot, zp]);
    }
  }
}

export const CGAN_LOSSES = ['L_D', 'L_G_adv'] as const;

/**
 * CGAN (Mirza & Osindero 2014).
 *
 * Paper: the second baseline of Table 1 [R]; G trained with the usual cross-entropy GAN loss, which
 * is what CVAE-GAN's asymmetric loss replaces ([P]: with cross-entropy, D separates real from fake
 * easily and G's gradient vanishes). Networks and how c enters D: NOT FOUND.
 * Ours: CVAE-GAN's G; buildConditionalDiscriminator's D; the non-saturating G loss
 *   L_G_adv = -log D(x_p, c_p)
 * (the "usual" form in practice; the minimax log(1 - D) form saturates early, which would make the
 * baseline weaker than it needs to be).
 */
export class CGAN extends ConditionalGAN {
  readonly kind = 'cgan' as const;
  readonly lossNames: readonly string[] = CGAN_LOSSES;

  protected generatorTerms(x: tf.Tensor4D, onehot: tf.Tensor2D, xp: tf.Tensor4D): PhaseTerms {
    // Separate passes: D(x_p) alone; D(x_r) would not enter L_G_adv.
    const lp = this.discriminatorBatches === 'separate' ? discriminatorOn(this.nets.D, xp, onehot).logits : discriminatorPass(this.nets.D, x, xp, onehot, 'joint').fake;
    const LG = nonSaturatingGeneratorLoss(lp);
    return { objective: LG, losses: { L_G_adv: LG } };
  }
}

export const FMCGAN_LOSSES = ['L_D', 'L_GD'] as const;

/**
 * FM-CGAN: CGAN whose G minimises feature matching (Salimans et al. 2016, sec. 3.1).
 *
 * Paper: the third baseline of Table 1 [R], isolating CVAE-GAN's asymmetric loss (D by
 * cross-entropy, G by mean feature matching [P]) from its encoder and classifier. Which D layer is
 * matched: NOT FOUND; Salimans et al. use an intermediate layer.
 * Ours: D exactly as in CGAN (cross-entropy); G minimises CVAE-GAN's L_GD on this D:
 *   L_GD = 1/2 || mean_i f_D(x_r,i, c_r,i) - mean_j f_D(x_p,j, c_p,j) ||^2
 * - f_D is D's last hidden layer, the one CVAE-GAN matches. In our D it is label-conditioned, so the
 *   matched mean is that of (image, label) pairs: matching the label-free trunk features instead
 *   would leave G without any signal to make a flower of class c look like class c.
 * - Both sides come from D in training mode, as in D's update (discriminatorPass): separate passes
 *   normalise each side by its own batch statistics, which removes part of the mean difference of
 *   the batch-normed features, yet measured on flowers-20 (cpu preset, 3,000 steps, seed 1, our
 *   86.1% evaluator) separate passes give 40.1% top-1 (label dependence 0.50, FID 16.5) against the
 *   joint batch's 13.6% (FID 23.1): the D that the separate passes train is much the stronger one.
 *   Inference mode would match features under stale moving averages.
 * - Reduction: config.loss.featureMatching, as CVAE-GAN's L_GD. Unweighted: it is G's only loss and
 *   Adam's step does not change when a loss is multiplied by a constant (up to its epsilon), so
 *   lambda3 would change only the printed value.
 */
export class FMCGAN extends ConditionalGAN {
  readonly kind = 'fmcgan' as const;
  readonly lossNames: readonly string[] = FMCGAN_LOSSES;

  protected generatorTerms(x: tf.Tensor4D, onehot: tf.Tensor2D, xp: tf.Tensor4D): PhaseTerms {
    const { realFeatures: fr, fakeFeatures: fp } = discriminatorPass(this.nets.D, x, xp, onehot, this.discriminatorBatches);
    const GD = meanFeatureMatchingLoss(fr, fp, this.config.loss.featureMatching);
    return { objective: GD, losses: { L_GD: GD } };
  }
}
