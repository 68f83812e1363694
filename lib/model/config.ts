/**
 * The one configuration object of a model: architecture, loss weights, optimiser, seed.
 *
 * `makeConfig(preset, overrides)` starts from a preset, applies overrides (nested objects merge,
 * arrays replace), and validates the result, so a config that cannot work fails here with a message
 * that says what to change, not as a shape error deep inside tfjs.
 *
 * Presets:
 * - `paper`: the paper's architecture at 128x128 (z = 256; G = FC 1024 -> FC 256*8*8 -> six
 *   (de)conv layers 256, 256, 128, 92, 64, 3 with kernels 3, 3, 5, 5, 5, 5; D DCGAN-like;
 *   C AlexNet-like; E a compact GoogLeNet-like trunk). Sized for a GPU.
 * - `cpu`: the same structure, narrow, at 32x32, to train on a 2-core machine in well under an hour.
 * - `tiny`: a few thousand parameters at 32x32, for tests.
 */

export type Resolution = 32 | 64 | 128;
export const RESOLUTIONS: readonly Resolution[] = [32, 64, 128];
export type Norm = 'batch' | 'none';
/** 'dcgan-normal': N(0, 0.02); 'glorot-uniform': tf.layers' default (see networks.ts, kernelInitializer). */
export type Init = 'dcgan-normal' | 'glorot-uniform';
/**
 * How the GAN baselines' D (CGAN, FM-CGAN) sees real and generated images in training mode:
 * 'separate': D(x_r) and D(x_p) as two passes, each normalised by its own batch statistics (the
 * standard PyTorch loop); 'joint': one pass over [x_r; x_p]. See lib/model/baselines.ts. CVAE-GAN
 * does not read it: its D always sees joint batches (measured better there, docs/design.md).
 */
export type DiscriminatorBatches = 'separate' | 'joint';
/** How a squared L2 norm over the elements of one image / feature vector is reduced. */
export type Reduction = 'sum' | 'mean';
/**
 * Like Reduction, plus 'per-pixel': the sum divided by the number of pixel values N = H*W*3 of an
 * image, whatever the term's own size (so two terms reduced this way keep the ratio of their sums).
 */
export type ScaledReduction = Reduction | 'per-pixel';

/** One layer of a convolutional trunk (E, D, C). All convolutions use 'same' padding. */
export type TrunkLayer =
  | { kind: 'conv'; filters: number; kernel: number; stride: number }
  | { kind: 'maxpool'; size: number; stride: number }
  /** GoogLeNet's inception module: 1x1 | 1x1 -> 3x3 | 1x1 -> 5x5 | 3x3 maxpool -> 1x1, concatenated. */
  | { kind: 'inception'; b1: number; b3reduce: number; b3: number; b5reduce: number; b5: number; poolProj: number };

export interface TrunkConfig {
  trunk: TrunkLayer[];
  /** How the last feature map becomes a vector: flatten (keeps layout) or global average pooling. */
  pool: 'flatten' | 'global-average';
  /** Fully connected hidden layers after the trunk (their widths). */
  hidden: number[];
}

export interface GeneratorLayer {
  filters: number;
  kernel: number;
  /** Stride-2 transposed convolution (doubles height and width) instead of a stride-1 one. */
  upsample: boolean;
}

export interface LossConfig {
  /** lambda1: weight of L_KL in E's loss (paper: 3). */
  lambdaKL: number;
  /** lambda2: weight of L_G in E's and G's losses (paper: 1). */
  lambdaG: number;
  /** lambda3: weight of L_GD in G's loss (paper: 1e-3). */
  lambdaGD: number;
  /** lambda4: weight of L_GC in G's loss (paper: 1e-3). */
  lambdaGC: number;
  /** ||.||^2 in L_G's pixel and feature terms. */
  pairwise: ScaledReduction;
  /** The sum over latent dimensions in L_KL. */
  kl: ScaledReduction;
  /** ||.||^2 in L_GD and L_GC: sum or mean over feature dimensions. */
  featureMatching: Reduction;
  /** Moving-average decay of the real class centres used by L_GC (paper: value not given). */
  centreDecay: number;
}

export interface OptimizerConfig {
  /** Adam for all four networks. The paper gives no optimiser; 2e-4 / 0.5 is DCGAN's choice. */
  learningRate: number;
  beta1: number;
  beta2: number;
}

export interface ModelConfig {
  /** Name of the preset this config started from (informational). */
  preset: string;
  resolution: Resolution;
  /** Number of classes c; labels are 0..numClasses-1. */
  numClasses: number;
  /** Size of the latent code z. */
  zDim: number;
  /** Batch normalisation after every hidden layer, or none. */
  norm: Norm;
  /** Batch-norm moving-average momentum (only used by inference-mode calls: sample/encode). */
  bnMomentum: number;
  /** Kernel initialiser of every conv and dense layer (networks.ts, kernelInitializer). */
  init: Init;
  /**
   * CGAN's and FM-CGAN's D passes (DiscriminatorBatches). A checkpoint saved before the field
   * existed has none and resumes with 'joint', the step it was trained with.
   */
  discriminatorBatches: DiscriminatorBatches;
  /** E(x, c): trunk -> hidden FCs -> [h, one-hot c] -> (mu, logvar). */
  encoder: TrunkConfig;
  /** G(z, c): [z, one-hot c] -> hidden FCs -> FC to base*base*baseChannels -> layers -> tanh. */
  generator: { hidden: number[]; baseChannels: number; layers: GeneratorLayer[] };
  /** D(x): trunk (+ hidden FCs) -> f_D (its last hidden layer) -> real/fake logit. */
  discriminator: TrunkConfig;
  /** C(x): trunk (+ hidden FCs) -> f_C (its last hidden layer) -> class logits. */
  classifier: TrunkConfig;
  loss: LossConfig;
  optimizer: OptimizerConfig;
  /** Batch size the notebooks and CLI use to build their Batcher (the model accepts any m >= 2). */
  batchSize: number;
  /** Seeds weight initialisation and all training noise. */
  seed: number;
}

export type PresetName = 'paper' | 'cpu' | 'tiny';
type Preset = Omit<ModelConfig, 'numClasses'>;

const conv = (filters: number, kernel: number, stride: number): TrunkLayer => ({ kind: 'conv', filters, kernel, stride });
const maxpool = (size: number, stride: number): TrunkLayer => ({ kind: 'maxpool', size, stride });
const inception = (b1: number, b3reduce: number, b3: number, b5reduce: number, b5: number, poolProj: number): TrunkLayer => ({
  kind: 'inception', b1, b3reduce, b3, b5reduce, b5, poolProj,
});

/**
 * Loss weights and reductions shared by all presets. The reductions are our reading (the paper does
 * not say whether ||.||^2 is a sum or a mean); see docs/design.md "model and losses" for the
 * step-0 measurements behind them.
 */
const LOSS: LossConfig = {
  lambdaKL: 3,
  lambdaG: 1,
  lambdaGD: 1e-3,
  lambdaGC: 1e-3,
  pairwise: 'per-pixel',
  kl: 'per-pixel',
  featureMatching: 'sum',
  centreDecay: 0.9,
};
const ADAM: OptimizerConfig = { learningRate: 2e-4, beta1: 0.5, beta2: 0.999 };

export const PRESETS: Record<PresetName, Preset> = {
  paper: {
    preset: 'paper',
    resolution: 128,
    zDim: 256,
    norm: 'batch',
    bnMomentum: 0.9,
    init: 'dcgan-normal',
    discriminatorBatches: 'separate',
    // Compact GoogLeNet: the stem and five of GoogLeNet's nine inception modules (3a, 3b, 4a, 4e, 5b,
    // with their published widths), ending in global average pooling, as GoogLeNet does.
    // 128 -> 64 (stem conv) -> 32 -> 16 (pools) -> 8 -> 4.
    encoder: {
      trunk: [
        conv(64, 7, 2), maxpool(3, 2), conv(64, 1, 1), conv(192, 3, 1), maxpool(3, 2),
        inception(64, 96, 128, 16, 32, 32), inception(128, 128, 192, 32, 96, 64), maxpool(3, 2),
        inception(192, 96, 208, 16, 48, 64), inception(256, 160, 320, 32, 128, 128), maxpool(3, 2),
        inception(384, 192, 384, 48, 128, 128),
      ],
      pool: 'global-average',
      hidden: [],
    },
    // The first layer refines the 8x8 map, the four middle ones double it (8 -> 128), the last maps
    // to RGB at full size. Which four layers upsample is our reading.
    generator: {
      hidden: [1024],
      baseChannels: 256,
      layers: [
        { filters: 256, kernel: 3, upsample: false },
        { filters: 256, kernel: 3, upsample: true },
        { filters: 128, kernel: 5, upsample: true },
        { filters: 92, kernel: 5, upsample: true },
        { filters: 64, kernel: 5, upsample: true },
        { filters: 3, kernel: 5, upsample: false },
      ],
    },
    // DCGAN: 5x5 stride-2 convolutions doubling the width; 128 -> 4, f_D = 4*4*512 = 8192.
    discriminator: {
      trunk: [conv(64, 5, 2), conv(128, 5, 2), conv(256, 5, 2), conv(512, 5, 2), conv(512, 5, 2)],
      pool: 'flatten',
      hidden: [],
    },
    // AlexNet (five convolutions, three max-pools, two 4096 FCs) at 128x128 input; f_C = fc7.
    classifier: {
      trunk: [
        conv(64, 11, 4), maxpool(3, 2), conv(192, 5, 1), maxpool(3, 2),
        conv(384, 3, 1), conv(256, 3, 1), conv(256, 3, 1), maxpool(3, 2),
      ],
      pool: 'flatten',
      hidden: [4096, 4096],
    },
    loss: LOSS,
    optimizer: ADAM,
    batchSize: 64,
    seed: 1,
  },
  // Sized by measurement (docs/design.md, "model and losses"): G is most of a step's cost (it runs
  // forward twice and backward once on two batches), so G is narrow with 3x3 kernels; E, D, C are
  // three 5x5 stride-2 convolutions each (32 -> 4), f_D = 4*4*128.
  cpu: {
    preset: 'cpu',
    resolution: 32,
    zDim: 64,
    norm: 'batch',
    bnMomentum: 0.9,
    init: 'dcgan-normal',
    discriminatorBatches: 'separate',
    encoder: { trunk: [conv(32, 5, 2), conv(64, 5, 2), conv(128, 5, 2)], pool: 'flatten', hidden: [256] },
    generator: {
      hidden: [256],
      baseChannels: 96,
      layers: [
        { filters: 96, kernel: 3, upsample: true },
        { filters: 48, kernel: 3, upsample: true },
        { filters: 24, kernel: 3, upsample: true },
        { filters: 3, kernel: 3, upsample: false },
      ],
    },
    discriminator: { trunk: [conv(32, 5, 2), conv(64, 5, 2), conv(128, 5, 2)], pool: 'flatten', hidden: [] },
    classifier: { trunk: [conv(32, 5, 2), conv(64, 5, 2), conv(128, 5, 2)], pool: 'flatten', hidden: [256] },
    loss: LOSS,
    optimizer: ADAM,
    batchSize: 16,
    seed: 1,
  },
  tiny: {
    preset: 'tiny',
    resolution: 32,
    zDim: 8,
    norm: 'batch',
    bnMomentum: 0.9,
    init: 'dcgan-normal',
    discriminatorBatches: 'separate',
    encoder: { trunk: [conv(4, 3, 2), conv(8, 3, 2), conv(8, 3, 2)], pool: 'flatten', hidden: [16] },
    generator: {
      hidden: [16],
      baseChannels: 8,
      layers: [
        { filters: 8, kernel: 3, upsample: true },
        { filters: 4, kernel: 3, upsample: true },
        { filters: 4, kernel: 3, upsample: true },
        { filters: 3, kernel: 3, upsample: false },
      ],
    },
    discriminator: { trunk: [conv(4, 3, 2), conv(8, 3, 2), conv(8, 3, 2)], pool: 'flatten', hidden: [] },
    classifier: { trunk: [conv(4, 3, 2), conv(8, 3, 2), conv(8, 3, 2)], pool: 'flatten', hidden: [16] },
    loss: LOSS,
    optimizer: ADAM,
    batchSize: 8,
    seed: 1,
  },
};

/** Overrides: any subset of the config; nested objects merge, arrays replace. */
export type ConfigOverrides = {
  [K in keyof ModelConfig]?: ModelConfig[K] extends unknown[] ? ModelConfig[K] : ModelConfig[K] extends object ? Partial<ModelConfig[K]> : ModelConfig[K];
};

/**
 * A validated config from a preset plus overrides. `numClasses` has no default: pass the dataset's,
 * e.g. `makeConfig('cpu', { numClasses: ds.numClasses })`.
 */
export function makeConfig(preset: PresetName, overrides: ConfigOverrides = {}): ModelConfig {
  const base = PRESETS[preset];
  if (!base) throw new Error(`unknown preset '${preset}': use one of ${Object.keys(PRESETS).join(', ')}`);
  const merged = mergeInto(clone(base) as Record<string, unknown>, overrides as Record<string, unknown>, '') as unknown as ModelConfig;
  validateConfig(merged);
  return merged;
}

function clone<T>(x: T): T {
  return JSON.parse(JSON.stringify(x)) as T;
}

function mergeInto(target: Record<string, unknown>, src: Record<string, unknown>, path: string): Record<string, unknown> {
  for (const [k, v] of Object.entries(src)) {
    if (v === undefined) continue;
    const where = path ? `${path}.${k}` : k;
    // numClasses is the only key a preset lacks on purpose.
    if (!(k in target) && where !== 'numClasses') {
      throw new Error(`unknown config key '${where}'; known keys here: ${Object.keys(target).join(', ')}`);
    }
    const cur = target[k];
    if (v !== null && typeof v === 'object' && !Array.isArray(v) && cur !== null && typeof cur === 'object' && !Array.isArray(cur)) {
      mergeInto(cur as Record<string, unknown>, v as Record<string, unknown>, where);
    } else {
      target[k] = clone(v);
    }
  }
  return target;
}

/** Spatial size after a trunk layer with 'same' padding (what tfjs computes: ceil(in / stride)). */
function after(size: number, stride: number): number {
  return Math.ceil(size / stride);
}

const isPosInt = (n: unknown): n is number => typeof n === 'number' && Number.isInteger(n) && n >= 1;

/**
 * Throws an Error naming the field and the fix when the config cannot build or train.
 * Also returns the derived shapes, which the networks use.
 */
export function validateConfig(c: ModelConfig): { generatorBase: number; trunkOut: Record<'encoder' | 'discriminator' | 'classifier', number> } {
  const bad = (field: string, msg: string): never => {
    throw new Error(`config.${field}: ${msg}`);
  };
  if (!RESOLUTIONS.includes(c.resolution)) {
    bad('resolution', `${c.resolution} is not supported; use one of ${RESOLUTIONS.join(', ')} (and load the dataset at the same resolution)`);
  }
  if (!isPosInt(c.numClasses) || c.numClasses < 2) {
    bad('numClasses', `must be an integer >= 2 (got ${c.numClasses}); a conditional model needs at least two classes. Pass the dataset's count, e.g. makeConfig('cpu', { numClasses: ds.numClasses })`);
  }
  if (!isPosInt(c.zDim)) bad('zDim', `must be a positive integer (got ${c.zDim})`);
  if (c.norm !== 'batch' && c.norm !== 'none') bad('norm', `must be 'batch' or 'none' (got ${c.norm})`);
  if (!(c.bnMomentum >= 0 && c.bnMomentum < 1)) bad('bnMomentum', `must be in [0, 1) (got ${c.bnMomentum})`);
  if (c.init !== undefined && c.init !== 'dcgan-normal' && c.init !== 'glorot-uniform') bad('init', `must be 'dcgan-normal' or 'glorot-uniform' (got ${c.init})`);
  if (c.discriminatorBatches !== undefined && c.discriminatorBatches !== 'separate' && c.discriminatorBatches !== 'joint') bad('discriminatorBatches', `must be 'separate' or 'joint' (got ${c.discriminatorBatches})`);
  if (!isPosInt(c.batchSize) || c.batchSize < 2) bad('batchSize', `must be an integer >= 2 (batch statistics and batch means need two images; got ${c.batchSize})`);
  if (!Number.isFinite(c.seed)) bad('seed', `must be a finite number (got ${c.seed})`);

  const trunkOut = {} as Record<'encoder' | 'discriminator' | 'classifier', number>;
  for (const net of ['encoder', 'discriminator', 'classifier'] as const) {
    const t = c[net];
    if (!t || !Array.isArray(t.trunk) || t.trunk.length === 0) bad(`${net}.trunk`, 'needs at least one layer');
    if (t.pool !== 'flatten' && t.pool !== 'global-average') bad(`${net}.pool`, `must be 'flatten' or 'global-average' (got ${t.pool})`);
    if (!Array.isArray(t.hidden) || !t.hidden.every(isPosInt)) bad(`${net}.hidden`, `must be a list of positive integers (got ${JSON.stringify(t.hidden)})`);
    let size: number = c.resolution;
    t.trunk.forEach((l, i) => {
      const at = `${net}.trunk[${i}]`;
      if (l.kind === 'conv') {
        if (!isPosInt(l.filters) || !isPosInt(l.kernel) || !isPosInt(l.stride)) bad(at, `conv needs positive integer filters, kernel, stride (got ${JSON.stringify(l)})`);
        size = after(size, l.stride);
      } else if (l.kind === 'maxpool') {
        if (!isPosInt(l.size) || !isPosInt(l.stride)) bad(at, `maxpool needs positive integer size and stride (got ${JSON.stringify(l)})`);
        size = after(size, l.stride);
      } else if (l.kind === 'inception') {
        for (const k of ['b1', 'b3reduce', 'b3', 'b5reduce', 'b5', 'poolProj'] as const) if (!isPosInt(l[k])) bad(`${at}.${k}`, `must be a positive integer (got ${l[k]})`);
      } else {
        bad(at, `unknown layer kind ${JSON.stringify((l as { kind?: unknown }).kind)}; use 'conv', 'maxpool' or 'inception'`);
      }
    });
    // A trunk that shrinks a map below 2x2 is almost certainly a resolution/preset mismatch.
    if (size < 2 && t.pool === 'flatten') {
      bad(`${net}.trunk`, `reduces ${c.resolution}x${c.resolution} images to ${size}x${size}; remove a stride-2 layer or use a larger resolution`);
    }
    trunkOut[net] = size;
  }

  const g = c.generator;
  if (!g || !Array.isArray(g.layers) || g.layers.length === 0) bad('generator.layers', 'needs at least one layer');
  if (!Array.isArray(g.hidden) || !g.hidden.every(isPosInt)) bad('generator.hidden', `must be a list of positive integers (got ${JSON.stringify(g.hidden)})`);
  if (!isPosInt(g.baseChannels)) bad('generator.baseChannels', `must be a positive integer (got ${g.baseChannels})`);
  g.layers.forEach((l, i) => {
    if (!isPosInt(l.filters) || !isPosInt(l.kernel) || typeof l.upsample !== 'boolean') {
      bad(`generator.layers[${i}]`, `needs positive integer filters and kernel and a boolean upsample (got ${JSON.stringify(l)})`);
    }
  });
  const last = g.layers[g.layers.length - 1];
  if (last.filters !== 3) bad(`generator.layers[${g.layers.length - 1}].filters`, `the last layer outputs RGB, so it must have 3 filters (got ${last.filters})`);
  const ups = g.layers.filter((l) => l.upsample).length;
  const generatorBase = c.resolution / 2 ** ups;
  if (!Number.isInteger(generatorBase) || generatorBase < 1) {
    bad('generator.layers', `${ups} upsampling layers cannot reach ${c.resolution}x${c.resolution} from an integer base size; use ${Math.log2(c.resolution) - 2} upsampling layers for a 4x4 base, or change resolution`);
  }

  const L = c.loss;
  for (const k of ['lambdaKL', 'lambdaG', 'lambdaGD', 'lambdaGC'] as const) {
    if (!(typeof L[k] === 'number' && L[k] >= 0 && Number.isFinite(L[k]))) bad(`loss.${k}`, `must be a finite number >= 0 (got ${L[k]})`);
  }
  for (const k of ['pairwise', 'kl'] as const) {
    if (L[k] !== 'sum' && L[k] !== 'mean' && L[k] !== 'per-pixel') bad(`loss.${k}`, `must be 'sum', 'mean' or 'per-pixel' (got ${L[k]})`);
  }
  if (L.featureMatching !== 'sum' && L.featureMatching !== 'mean') bad('loss.featureMatching', `must be 'sum' or 'mean' (got ${L.featureMatching})`);
  if (!(L.centreDecay >= 0 && L.centreDecay < 1)) bad('loss.centreDecay', `must be in [0, 1) (got ${L.centreDecay}); 0 uses only the current batch`);
  const o = c.optimizer;
  if (!(o.learningRate > 0 && Number.isFinite(o.learningRate))) bad('optimizer.learningRate', `must be > 0 (got ${o.learningRate})`);
  if (!(o.beta1 >= 0 && o.beta1 < 1)) bad('optimizer.beta1', `must be in [0, 1) (got ${o.beta1})`);
  if (!(o.beta2 >= 0 && o.beta2 < 1)) bad('optimizer.beta2', `must be in [0, 1) (got ${o.beta2})`);
  return { generatorBase, trunkOut };
}

/**
 * Checks that images fit the config; the message says which side to change.
 * `shape` is [batch, height, width, channels].
 */
export function checkImageShape(c: ModelConfig, shape: readonly number[], what = 'images'): void {
  const [m, h, w, ch] = shape;
  if (shape.length !== 4 || h !== c.resolution || w !== c.resolution || ch !== 3) {
    throw new Error(
      `${what} have shape [${shape.join(', ')}] but this model (preset '${c.preset}') expects [batch, ${c.resolution}, ${c.resolution}, 3]: ` +
        `load the dataset with resolution: ${c.resolution}, or build the model with makeConfig('${c.preset}', { resolution: ${h}, ... })`,
    );
  }
  if (!(m >= 1)) throw new Error(`${what} batch is empty`);
}
