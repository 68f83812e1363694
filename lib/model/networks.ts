/**
 * The four networks of CVAE-GAN as tf.layers functional models, built from a ModelConfig.
 *
 *   E(x, c) -> [mu, logvar]       encoder: conv trunk; the one-hot label joins at the last FC layer
 *   G(z, c) -> x in [-1, 1]       generator: [z, c] -> FC -> reshape -> (de)conv stack -> tanh
 *   D(x)    -> [logit, f_D]       discriminator: DCGAN trunk; f_D is its last hidden layer
 *   C(x)    -> [logits, f_C]      classifier: conv trunk; f_C is its last hidden layer
 *
 * D and C return their features as a second output so the training step gets the logits and the
 * features of one forward pass. Labels enter as one-hot float vectors (`tf.oneHot(labels, K)`).
 *
 * Every kernel initialiser is seeded from the model's Rng, so two models built from the same config
 * and seed are identical. No dropout anywhere (AlexNet and GoogLeNet use it): it would make steps
 * depend on an unseeded mask, and D/C already get noisy inputs from G.
 */
import * as tf from '@tensorflow/tfjs';
import { ModelConfig, TrunkConfig, TrunkLayer, validateConfig } from './config';
import { Rng } from './rng';

export interface Networks {
  E: tf.LayersModel;
  G: tf.LayersModel;
  D: tf.LayersModel;
  C: tf.LayersModel;
}
export type NetName = keyof Networks;
export const NET_NAMES: readonly NetName[] = ['E', 'G', 'D', 'C'];

type Act = 'relu' | 'leaky';
type Initializer = ReturnType<typeof tf.initializers.glorotUniform>;

/**
 * The seeded initialiser of every convolution and dense kernel (config.init):
 * - 'dcgan-normal': N(0, 0.02), as DCGAN (Radford et al. 2016, sec. 4) and the PyTorch GAN
 *   examples initialise; the default. Measured: with it our CGAN learns the label, with Glorot it
 *   does not at 3,000 steps (docs/design.md, "GAN baselines that learn the label").
 * - 'glorot-uniform': U(-a, a), a = sqrt(6 / (fan_in + fan_out)), tf.layers' default; what every
 *   model used before that measurement (a checkpoint without `init` in its config was built so).
 * Batch norm keeps gamma = 1, beta = 0 either way.
 */
export function kernelInitializer(cfg: Pick<ModelConfig, 'init'>, seed: number): Initializer {
  const init = cfg.init ?? 'glorot-uniform';
  if (init === 'dcgan-normal') return tf.initializers.randomNormal({ mean: 0, stddev: 0.02, seed });
  return tf.initializers.glorotUniform({ seed });
}

/** Shared layer-building context for one network: name prefix, normalisation, seeds. */
class Builder {
  private n = 0;
  constructor(
    private readonly prefix: string,
    private readonly cfg: ModelConfig,
    private readonly rng: Rng,
  ) {}

  private name(kind: string): string {
    return `${this.prefix}_${kind}${++this.n}`;
  }

  private init(): Initializer {
    return kernelInitializer(this.cfg, this.rng.seed());
  }

  /** Batch norm (when on) then the activation: the DCGAN ordering conv -> BN -> nonlinearity. */
  normAct(x: tf.SymbolicTensor, act: Act | 'none', norm = true): tf.SymbolicTensor {
    if (norm && this.cfg.norm === 'batch') {
      x = tf.layers.batchNormalization({ momentum: this.cfg.bnMomentum, epsilon: 1e-5, name: this.name('bn') }).apply(x) as tf.SymbolicTensor;
    }
    if (act === 'relu') return tf.layers.reLU({ name: this.name('relu') }).apply(x) as tf.SymbolicTensor;
    // DCGAN's discriminator slope.
    if (act === 'leaky') return tf.layers.leakyReLU({ alpha: 0.2, name: this.name('lrelu') }).apply(x) as tf.SymbolicTensor;
    return x;
  }

  /** A 'same'-padded convolution; no bias when batch norm follows (BN's beta replaces it). */
  conv(x: tf.SymbolicTensor, filters: number, kernel: number, stride: number, act: Act, norm = true): tf.SymbolicTensor {
    const bn = norm && this.cfg.norm === 'batch';
    const y = tf.layers
      .conv2d({ filters, kernelSize: kernel, strides: stride, padding: 'same', useBias: !bn, kernelInitializer: this.init(), name: this.name('conv') })
      .apply(x) as tf.SymbolicTensor;
    return this.normAct(y, act, norm);
  }

  dense(x: tf.SymbolicTensor, units: number, act: Act | 'none', norm = true): tf.SymbolicTensor {
    const bn = norm && this.cfg.norm === 'batch' && act !== 'none';
    const y = tf.layers.dense({ units, useBias: !bn, kernelInitializer: this.init(), name: this.name('fc') }).apply(x) as tf.SymbolicTensor;
    return act === 'none' ? y : this.normAct(y, act, norm);
  }

  maxpool(x: tf.SymbolicTensor, size: number, stride: number): tf.SymbolicTensor {
    return tf.layers.maxPooling2d({ poolSize: size, strides: stride, padding: 'same', name: this.name('pool') }).apply(x) as tf.SymbolicTensor;
  }

  /**
   * GoogLeNet's inception module (Szegedy et al. 2015, fig. 2b): four parallel branches whose
   * outputs are concatenated along channels; the 1x1 "reduce" convolutions keep the 3x3 and 5x5
   * branches cheap.
   */
  inception(x: tf.SymbolicTensor, l: Extract<TrunkLayer, { kind: 'inception' }>, act: Act): tf.SymbolicTensor {
    const b1 = this.conv(x, l.b1, 1, 1, act);
    const b3 = this.conv(this.conv(x, l.b3reduce, 1, 1, act), l.b3, 3, 1, act);
    const b5 = this.conv(this.conv(x, l.b5reduce, 1, 1, act), l.b5, 5, 1, act);
    const bp = this.conv(tf.layers.maxPooling2d({ poolSize: 3, strides: 1, padding: 'same', name: this.name('pool') }).apply(x) as tf.SymbolicTensor, l.poolProj, 1, 1, act);
    return tf.layers.concatenate({ axis: -1, name: this.name('concat') }).apply([b1, b3, b5, bp]) as tf.SymbolicTensor;
  }

  /**
   * Trunk layers, then flatten / global average pooling, then the hidden FCs. Returns the last
   * hidden representation (the feature vector f for D and C).
   * `normFirst: false` leaves batch norm off the first convolution (DCGAN's discriminator).
   */
  trunk(x: tf.SymbolicTensor, t: TrunkConfig, act: Act, normFirst = true): tf.SymbolicTensor {
    t.trunk.forEach((l, i) => {
      if (l.kind === 'conv') x = this.conv(x, l.filters, l.kernel, l.stride, act, normFirst || i > 0);
      else if (l.kind === 'maxpool') x = this.maxpool(x, l.size, l.stride);
      else x = this.inception(x, l, act);
    });
    x = (t.pool === 'flatten' ? tf.layers.flatten({ name: this.name('flatten') }) : tf.layers.globalAveragePooling2d({ name: this.name('gap') })).apply(x) as tf.SymbolicTensor;
    for (const units of t.hidden) x = this.dense(x, units, act);
    return x;
  }

  /**
   * One generator layer. Upsampling layers are stride-2 transposed convolutions ("deconvolution",
   * as the paper calls G's layers); stride-1 layers are plain convolutions, which compute the same
   * family of functions as a stride-1 transposed convolution and are faster on every backend.
   */
  genLayer(x: tf.SymbolicTensor, filters: number, kernel: number, upsample: boolean, last: boolean): tf.SymbolicTensor {
    const bn = !last && this.cfg.norm === 'batch';
    const common = { filters, kernelSize: kernel, padding: 'same' as const, useBias: !bn, kernelInitializer: this.init() };
    const y = (upsample
      ? tf.layers.conv2dTranspose({ ...common, strides: 2, name: this.name('deconv') })
      : tf.layers.conv2d({ ...common, strides: 1, name: this.name('conv') })
    ).apply(x) as tf.SymbolicTensor;
    // The output layer: no batch norm (it would fix the image statistics), tanh maps to [-1, 1].
    if (last) return tf.layers.activation({ activation: 'tanh', name: this.name('tanh') }).apply(y) as tf.SymbolicTensor;
    return this.normAct(y, 'relu');
  }
}

function imageInput(cfg: ModelConfig, name: string): tf.SymbolicTensor {
  return tf.input({ shape: [cfg.resolution, cfg.resolution, 3], name });
}

/** E(x, c) -> [mu, logvar] of q(z | x, c). */
export function buildEncoder(cfg: ModelConfig, rng: Rng): tf.LayersModel {
  const b = new Builder('E', cfg, rng);
  const x = imageInput(cfg, 'E_x');
  const c = tf.input({ shape: [cfg.numClasses], name: 'E_c' });
  const h = b.trunk(x, cfg.encoder, 'relu');
  // The paper merges the label "at the last fully connected layer": concatenate it with the image
  // features right before the two linear heads.
  const hc = tf.layers.concatenate({ name: 'E_merge_c' }).apply([h, c]) as tf.SymbolicTensor;
  const mu = b.dense(hc, cfg.zDim, 'none');
  const logvar = b.dense(hc, cfg.zDim, 'none');
  return tf.model({ inputs: [x, c], outputs: [mu, logvar], name: 'E' });
}

/** G(z, c) -> image in [-1, 1]. */
export function buildGenerator(cfg: ModelConfig, rng: Rng): tf.LayersModel {
  const { generatorBase: base } = validateConfig(cfg);
  const b = new Builder('G', cfg, rng);
  const z = tf.input({ shape: [cfg.zDim], name: 'G_z' });
  const c = tf.input({ shape: [cfg.numClasses], name: 'G_c' });
  let h = tf.layers.concatenate({ name: 'G_merge_c' }).apply([z, c]) as tf.SymbolicTensor;
  for (const units of cfg.generator.hidden) h = b.dense(h, units, 'relu');
  h = b.dense(h, base * base * cfg.generator.baseChannels, 'relu');
  h = tf.layers.reshape({ targetShape: [base, base, cfg.generator.baseChannels], name: 'G_reshape' }).apply(h) as tf.SymbolicTensor;
  const layers = cfg.generator.layers;
  layers.forEach((l, i) => {
    h = b.genLayer(h, l.filters, l.kernel, l.upsample, i === layers.length - 1);
  });
  return tf.model({ inputs: [z, c], outputs: h, name: 'G' });
}

/** D(x) -> [real/fake logit [m, 1], f_D]. Not conditioned on c (paper). */
export function buildDiscriminator(cfg: ModelConfig, rng: Rng): tf.LayersModel {
  const b = new Builder('D', cfg, rng);
  const x = imageInput(cfg, 'D_x');
  const f = b.trunk(x, cfg.discriminator, 'leaky', false);
  const logit = b.dense(f, 1, 'none');
  return tf.model({ inputs: x, outputs: [logit, f], name: 'D' });
}

/** C(x) -> [class logits [m, K], f_C]. */
export function buildClassifier(cfg: ModelConfig, rng: Rng): tf.LayersModel {
  const b = new Builder('C', cfg, rng);
  const x = imageInput(cfg, 'C_x');
  const f = b.trunk(x, cfg.classifier, 'relu');
  const logits = b.dense(f, cfg.numClasses, 'none');
  return tf.model({ inputs: x, outputs: [logits, f], name: 'C' });
}

/** All four networks, initialised from `rng` in the fixed order E, G, D, C. */
export function buildNetworks(cfg: ModelConfig, rng: Rng): Networks {
  validateConfig(cfg);
  return { E: buildEncoder(cfg, rng), G: buildGenerator(cfg, rng), D: buildDiscriminator(cfg, rng), C: buildClassifier(cfg, rng) };
}

/** Trainable variables of a network, in a fixed order (the order Adam's state is saved in). */
export function trainableVars(m: tf.LayersModel): tf.Variable[] {
  return m.trainableWeights.map((w) => w.read() as tf.Variable);
}

export interface NetSummary {
  params: number;
  trainable: number;
  /** Size of the feature vector f (D, C) or of z (E). */
  features?: number;
  layers: number;
}

/** Parameter counts per network (and in total). */
export function summarize(nets: Networks): Record<NetName | 'total', NetSummary> {
  const one = (m: tf.LayersModel): NetSummary => ({
    params: m.countParams(),
    trainable: m.trainableWeights.reduce((s, w) => s + (w.shape as number[]).reduce((a, b) => a * b, 1), 0),
    layers: m.layers.length,
  });
  const out = { E: one(nets.E), G: one(nets.G), D: one(nets.D), C: one(nets.C) } as Record<NetName | 'total', NetSummary>;
  const feat = (m: tf.LayersModel, i: number) => {
    const s = (m.outputs[i].shape as (number | null)[]).slice(1);
    return s.reduce((a: number, b) => a * (b ?? 1), 1);
  };
  out.E.features = feat(nets.E, 0);
  out.D.features = feat(nets.D, 1);
  out.C.features = feat(nets.C, 1);
  out.total = NET_NAMES.reduce(
    (t, k) => ({ params: t.params + out[k].params, trainable: t.trainable + out[k].trainable, layers: t.layers + out[k].layers }),
    { params: 0, trainable: 0, layers: 0 } as NetSummary,
  );
  return out;
}
