/**
 * What every model behind the GenerativeModel interface shares apart from its networks and its
 * training step: a set of named tf.layers networks with one Adam per network, a seeded Rng for
 * training noise and another for sampling, the step counter, input checks, sampling through G, and
 * checkpoints in lib/model/checkpoint.ts's format.
 *
 *   class MyModel extends NetworkModel {
 *     readonly kind = 'cvae' as const;  readonly lossNames = [...];  readonly metricNames = [...];
 *     constructor(config: ModelConfig) { super(config, (cfg, rng) => ({ E: ..., G: ... }), ['resolution', ...]); }
 *     protected *stepReads(x, labels) { ... yield* this.phase(['E', 'G'], step, () => ({ objective, losses })) ... }
 *   }
 *
 * The step is written once, as a generator that yields every tensor whose values it needs (the
 * labels to check, each phase's losses before its update) and receives them back (StepReads):
 * trainStep() reads them with dataSync(), trainStepAsync() awaits data(). Both run the same ops in
 * the same order and return the same numbers; the async one is for backends that cannot read
 * synchronously (WebGPU in Node, see lib/backend/webgpu-node.ts).
 *
 * The checkpoint layout, shared by every kind (CVAEGAN in lib/model/cvaegan.ts extends this class too):
 * checkpoint.json with kind, step, config, both Rng states and the optimiser manifests;
 * <net>/model.json + weights.bin per network; optimizer/<net>.bin per network. So `loadModel(dir)`
 * in factory.ts rebuilds any kind. A model with state beyond its networks and optimisers (CVAEGAN's
 * class centres) lists it in stateVariables(); it then goes to state.bin, with its manifest as
 * checkpoint.json's `state`.
 */
import * as tf from '@tensorflow/tfjs';
import { checkImageShape, ModelConfig, validateConfig } from './config';
import {
  addModelFiles, addTensorFile, CheckpointFiles, CheckpointMeta, loadModelWeights, NamedTensor, readCheckpointMeta, readModelWeights, readTensorFile, writeCheckpoint,
} from './checkpoint';
import { asOneHot, checkFinite, NonFiniteInputError } from './losses';
import { trainableVars } from './networks';
import { Rng, RngState } from './rng';
import { adamPowers as adamPowers_, setAdamPowers, StepJournal } from './rollback';
import { runStepAsync, runStepSync, type PhaseResult, type PhaseTerms, type StepReads } from './step';
import type { GenerativeModel, ModelKind, StepResult } from './interface';

/** Builds a model's networks from the config, drawing every initialiser seed from `rng` in a fixed order. */
export type NetworksBuilder = (config: ModelConfig, rng: Rng) => Record<string, tf.LayersModel>;

// The step's drivers and phase types live in step.ts; they are re-exported here, where the model
// classes have always imported them.
export { runStepAsync, runStepSync } from './step';
export type { PhaseResult, PhaseTerms, StepReads } from './step';

/** Runs `fn`, then puts back the non-trainable state (batch-norm moving statistics) of `models`. */
export function keepingState<T>(models: tf.LayersModel[], fn: () => T): T {
  const saved = models.flatMap((m) => m.nonTrainableWeights).map((w) => ({ w, v: tf.clone(w.read()) }));
  try {
    return fn();
  } finally {
    for (const s of saved) {
      s.w.write(s.v);
      s.v.dispose();
    }
  }
}

/** z ~ q(z | x, c) by reparameterisation, differentiable in mu and logvar: z = mu + exp(logvar / 2) * eps. */
export function reparameterize(mu: tf.Tensor2D, logvar: tf.Tensor2D, eps: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => tf.add(mu, tf.mul(tf.exp(tf.mul(0.5, logvar)), eps)) as tf.Tensor2D);
}

/** Integer labels as an int32 tensor (the caller disposes it). */
export function toLabelTensor(labels: ArrayLike<number> | tf.Tensor1D): tf.Tensor1D {
  return labels instanceof tf.Tensor ? (tf.cast(labels, 'int32') as tf.Tensor1D) : tf.tensor1d(Array.from(labels), 'int32');
}

export abstract class NetworkModel implements GenerativeModel {
  abstract readonly kind: ModelKind;
  abstract readonly lossNames: readonly string[];
  abstract readonly metricNames: readonly string[];
  readonly config: ModelConfig;
  /** The networks by name; every model has a generator `G`. */
  readonly nets: Record<string, tf.LayersModel>;
  /** Network names in build order (also the order they are saved and restored in). */
  readonly netNames: readonly string[];
  /** Trainable variables per network, in a fixed order (Adam's state is positional). */
  protected readonly vars: Record<string, tf.Variable[]>;
  protected opt: Record<string, tf.AdamOptimizer>;
  /** Training noise (weight init, eps, z_p): saved in checkpoints. */
  protected rng: Rng;
  /** Noise for sample() without a seed, apart so that sampling never shifts training. */
  protected sampleRng: Rng;
  protected currentStep = 0;
  private disposed = false;
  /** What the step in progress may change, as it was at its start (see rollback.ts). */
  private journal: StepJournal | undefined;

  /**
   * `architecture`: the config fields that shape this model's networks; a checkpoint restores into
   * this model only when they match (loadModel rebuilds from the saved config instead).
   */
  protected constructor(
    config: ModelConfig,
    build: NetworksBuilder,
    private readonly architecture: readonly (keyof ModelConfig)[],
  ) {
    validateConfig(config);
    this.config = JSON.parse(JSON.stringify(config)) as ModelConfig;
    this.rng = new Rng(config.seed, 0);
    this.sampleRng = new Rng(config.seed, 1);
    this.nets = build(this.config, this.rng);
    if (!this.nets.G) throw new Error('internal: every model needs a generator G');
    this.netNames = Object.keys(this.nets);
    this.vars = {};
    for (const n of this.netNames) this.vars[n] = trainableVars(this.nets[n]);
    this.opt = this.makeOptimizers();
  }

  get step(): number {
    return this.currentStep;
  }

  /** One training step, written once for both drivers (see StepReads). */
  protected abstract stepReads(x: tf.Tensor4D, labels: tf.Tensor1D): StepReads<StepResult>;

  /**
   * One step, all or nothing: when it throws (bad input, a non-finite loss in any phase), the model
   * is put back exactly as it was before it (weights, Adam state, batch-norm statistics, extra
   * state, Rng position), even if an earlier phase of the step had already updated a network.
   */
  trainStep(x: tf.Tensor4D, labels: tf.Tensor1D): StepResult {
    const j = this.beginStep();
    try {
      return runStepSync(this.stepReads(x, labels));
    } catch (e) {
      j.rollback();
      throw e;
    } finally {
      this.endStep(j);
    }
  }

  /** The same step with asynchronous reads (same ops, same numbers); for backends without dataSync. */
  async trainStepAsync(x: tf.Tensor4D, labels: tf.Tensor1D): Promise<StepResult> {
    const j = this.beginStep();
    try {
      return await runStepAsync(this.stepReads(x, labels));
    } catch (e) {
      j.rollback();
      throw e;
    } finally {
      this.endStep(j);
    }
  }

  private beginStep(): StepJournal {
    this.assertUsable();
    if (this.journal) throw new Error('trainStep: another step of this model is still running (await trainStepAsync before the next step)');
    const rng = this.rng.state();
    this.journal = new StepJournal({
      nonTrainable: this.netNames.flatMap((n) => this.nets[n].nonTrainableWeights),
      state: this.stateVariables().map((v) => v.tensor),
      restoreRng: () => (this.rng = Rng.fromState(rng)),
    });
    return this.journal;
  }

  private endStep(j: StepJournal): void {
    j.release();
    this.journal = undefined;
  }

  /**
   * Variables besides the networks' weights and Adam's state that training changes, so that a
   * checkpoint must keep them: saved to state.bin in this order, restored by position, disposed
   * with the model. None by default (and then no state.bin and no `state` field are written).
   */
  protected stateVariables(): { name: string; tensor: tf.Variable }[] {
    return [];
  }

  private makeOptimizers(): Record<string, tf.AdamOptimizer> {
    const o = this.config.optimizer;
    const opt: Record<string, tf.AdamOptimizer> = {};
    for (const n of this.netNames) opt[n] = tf.train.adam(o.learningRate, o.beta1, o.beta2);
    return opt;
  }

  protected assertUsable(): void {
    if (this.disposed) throw new Error('this model was disposed; create or load a new one');
  }

  protected checkLabels(labels: tf.Tensor, m: number, what: string): void {
    this.checkLabelShape(labels, m, what);
    this.checkLabelValues(labels.dataSync(), what);
  }

  private checkLabelShape(labels: tf.Tensor, m: number, what: string): void {
    if (labels.rank !== 1 || labels.shape[0] !== m) throw new Error(`${what}: labels have shape [${labels.shape}], expected [${m}] (one integer class per image)`);
  }

  private checkLabelValues(v: ArrayLike<number>, what: string): void {
    const K = this.config.numClasses;
    for (let i = 0; i < v.length; i++) {
      if (!Number.isInteger(v[i]) || v[i] < 0 || v[i] >= K) {
        throw new Error(`${what}: label ${v[i]} at index ${i} is not a class of this model (0..${K - 1}); was the model built with the dataset's numClasses?`);
      }
    }
  }

  /**
   * The checks every trainStep starts with, before any op of the step; returns the batch size m.
   * The labels and the sum of the images are read together (one read): a NaN or Infinity anywhere
   * in x makes the sum non-finite, and the step is rejected with NonFiniteInputError before any
   * network runs. Only then is x itself read, to say which image and pixel.
   */
  protected *checkBatch(x: tf.Tensor4D, labels: tf.Tensor1D): StepReads<number> {
    this.assertUsable();
    checkImageShape(this.config, x.shape, 'trainStep: images');
    const m = x.shape[0];
    if (m < 2) throw new Error(`trainStep: a batch needs at least 2 images (batch statistics and batch means), got ${m}`);
    this.checkLabelShape(labels, m, 'trainStep');
    const probe = tf.tidy(() => tf.concat([tf.cast(labels, 'float32'), tf.reshape(tf.sum(tf.cast(x, 'float32')), [1])]));
    let v: ArrayLike<number>;
    try {
      v = yield probe;
    } finally {
      probe.dispose();
    }
    this.checkLabelValues(Array.prototype.slice.call(v, 0, m) as number[], 'trainStep');
    if (!Number.isFinite(v[m])) throw new NonFiniteInputError(this.currentStep + 1, x.shape, yield x);
    return m;
  }

  /** Adam on one network, gradients passed in the network's fixed variable order. */
  protected applyGrads(net: string, grads: tf.NamedTensorMap): void {
    this.journal?.beforeUpdate(net, this.vars[net], this.opt[net]);
    const ordered = this.vars[net].map((v) => {
      const g = grads[v.name];
      if (!g) throw new Error(`internal: no gradient for ${net} variable ${v.name}`);
      return { name: v.name, tensor: g };
    });
    this.opt[net].applyGradients(ordered);
  }

  /**
   * One gradient phase: the gradient of `fn().objective` with respect to the variables of `update`
   * (and nothing else: other networks act as fixed functions), then one Adam step per network.
   * When a loss term is not finite, no update of the phase is applied and NonFiniteLossError names
   * the term and `step`; trainStep then puts back everything the step changed before (earlier
   * phases' updates, batch-norm statistics moved by training-mode passes). Returns the reported
   * values as numbers.
   */
  protected *phase(update: string[], step: number, fn: () => PhaseTerms): StepReads<PhaseResult> {
    let kept: tf.Tensor1D | undefined;
    let lossKeys: string[] = [];
    let metricKeys: string[] = [];
    let g: { value: tf.Scalar; grads: tf.NamedTensorMap } | undefined;
    const losses: Record<string, number> = {};
    const metrics: Record<string, number> = {};
    try {
      g = tf.variableGrads(() => {
        const t = fn();
        lossKeys = Object.keys(t.losses);
        metricKeys = Object.keys(t.metrics ?? {});
        const values = [...lossKeys.map((k) => t.losses[k]), ...metricKeys.map((k) => t.metrics![k])];
        kept = tf.keep(tf.stack(values) as tf.Tensor1D);
        return t.objective;
      }, update.flatMap((n) => this.vars[n]));
      g.value.dispose();
      const v = yield kept!;
      lossKeys.forEach((k, i) => (losses[k] = v[i]));
      metricKeys.forEach((k, i) => (metrics[k] = v[lossKeys.length + i]));
      checkFinite(losses, step);
    } catch (e) {
      if (g) tf.dispose(g.grads);
      throw e;
    } finally {
      kept?.dispose();
    }
    try {
      for (const n of update) this.applyGrads(n, g.grads);
    } finally {
      tf.dispose(g.grads);
    }
    return { losses, metrics };
  }

  /** Marks a step as completed and orders its losses as `lossNames`. */
  protected finishStep(step: number, losses: Record<string, number>, metrics: Record<string, number>): StepResult {
    this.currentStep = step;
    const ordered: Record<string, number> = {};
    for (const k of this.lossNames) ordered[k] = losses[k];
    return { step, losses: ordered, metrics };
  }

  sample(labels: ArrayLike<number>, opts: { z?: tf.Tensor2D; seed?: number } = {}): tf.Tensor4D {
    this.assertUsable();
    const n = labels.length;
    if (n < 1) throw new Error('sample: give at least one label');
    const c = toLabelTensor(labels);
    try {
      this.checkLabels(c, n, 'sample');
      if (opts.z && (opts.z.rank !== 2 || opts.z.shape[0] !== n || opts.z.shape[1] !== this.config.zDim)) {
        throw new Error(`sample: z has shape [${opts.z.shape}], expected [${n}, ${this.config.zDim}] (one code per label)`);
      }
      const seed = opts.seed ?? this.sampleRng.seed();
      return tf.tidy(() => {
        const z = opts.z ?? tf.randomNormal([n, this.config.zDim], 0, 1, 'float32', seed);
        return this.nets.G.apply([z, asOneHot(c, this.config.numClasses)], { training: false }) as tf.Tensor4D;
      });
    } finally {
      c.dispose();
    }
  }

  /**
   * encode() of the models with an encoder E (CVAE, CVAE-GAN): the posterior q(z | x, c) =
   * N(mu, exp(logvar)); the caller disposes both.
   */
  protected encodeWithE(x: tf.Tensor4D, labels: ArrayLike<number> | tf.Tensor1D): { mu: tf.Tensor2D; logvar: tf.Tensor2D } {
    this.assertUsable();
    const c = toLabelTensor(labels);
    try {
      this.checkLabels(c, x.shape[0], 'encode');
      const [mu, logvar] = tf.tidy(() => this.nets.E.apply([x, asOneHot(c, this.config.numClasses)], { training: false }) as tf.Tensor2D[]);
      return { mu, logvar };
    } finally {
      c.dispose();
    }
  }

  /**
   * reconstruct() of the models with an encoder, from the posterior their encode() gave (disposed
   * here): G(z, c) with z = mu, or z ~ q(z | x, c) drawn with `seed` when one is given.
   */
  protected decodePosterior(q: { mu: tf.Tensor2D; logvar: tf.Tensor2D }, labels: ArrayLike<number> | tf.Tensor1D, seed: number | undefined): tf.Tensor4D {
    const { mu, logvar } = q;
    const c = toLabelTensor(labels);
    try {
      return tf.tidy(() => {
        const z = seed === undefined ? mu : reparameterize(mu, logvar, tf.randomNormal(mu.shape, 0, 1, 'float32', seed) as tf.Tensor2D);
        return this.nets.G.apply([z, asOneHot(c, this.config.numClasses)], { training: false }) as tf.Tensor4D;
      });
    } finally {
      tf.dispose([mu, logvar, c]);
    }
  }

  summary(): Record<string, { params: number }> {
    const out: Record<string, { params: number }> = {};
    let total = 0;
    for (const n of this.netNames) {
      out[n] = { params: this.nets[n].countParams() };
      total += out[n].params;
    }
    out.total = { params: total };
    return out;
  }

  async save(dir: string, extra?: object): Promise<void> {
    this.assertUsable();
    const files: CheckpointFiles = new Map();
    for (const n of this.netNames) await addModelFiles(files, n, this.nets[n]);
    const optimizers: Record<string, tf.io.WeightsManifestEntry[]> = {};
    for (const n of this.netNames) {
      const w = await this.opt[n].getWeights();
      try {
        optimizers[n] = await addTensorFile(files, `optimizer/${n}.bin`, w);
      } finally {
        w[0].tensor.dispose(); // the iteration count, created by getWeights; the rest are Adam's own variables
      }
    }
    // Adam's beta1^t, beta2^t as it holds them: setWeights() would recompute them with pow(),
    // which differs from the running product in the last bits and makes a resume drift.
    const adamPowers: Record<string, [number, number]> = {};
    for (const n of this.netNames) adamPowers[n] = await adamPowers_(this.opt[n]);
    const stateVars = this.stateVariables();
    const state = stateVars.length > 0 ? await addTensorFile(files, 'state.bin', stateVars) : undefined;
    writeCheckpoint(dir, {
      kind: this.kind,
      step: this.currentStep,
      config: this.config,
      rng: this.rng.state(),
      sampleRng: this.sampleRng.state(),
      optimizers,
      adamPowers,
      ...(state ? { state } : {}), // before `extra`: the field order CVAEGAN's checkpoints always had
      extra: extra ?? null,
    }, files);
  }

  /**
   * Everything is read and checked first (kind, architecture, files, finite values), and only then
   * written into this model, so a checkpoint that is refused leaves the model as it was.
   */
  async restore(dir: string): Promise<CheckpointMeta> {
    this.assertUsable();
    const meta = readCheckpointMeta(dir);
    if (meta.kind !== this.kind) throw new Error(`checkpoint at ${dir} holds a '${meta.kind}' model, not '${this.kind}'; load it with loadModel(dir)`);
    const saved = meta.config as ModelConfig;
    for (const k of this.architecture) {
      if (JSON.stringify(saved[k]) !== JSON.stringify(this.config[k])) {
        throw new Error(`checkpoint at ${dir} was saved with a different config.${k} (${JSON.stringify(saved[k]).slice(0, 120)} there, ${JSON.stringify(this.config[k]).slice(0, 120)} here); use loadModel(dir) to rebuild it, or a fresh checkpoint directory`);
      }
    }
    const optimizers = meta.optimizers as Record<string, tf.io.WeightsManifestEntry[]>;
    for (const n of this.netNames) {
      if (!optimizers?.[n]) throw new Error(`checkpoint at ${dir} has no optimiser state for network ${n}`);
    }
    const powers = meta.adamPowers as Record<string, [number, number]> | undefined; // absent before #17
    const stateVars = this.stateVariables();
    const weights: Record<string, tf.NamedTensorMap> = {};
    const opt: Record<string, NamedTensor[]> = {};
    let state: NamedTensor[] = [];
    try {
      for (const n of this.netNames) weights[n] = readModelWeights(dir, n);
      for (const n of this.netNames) opt[n] = readTensorFile(dir, `optimizer/${n}.bin`, optimizers[n]);
      if (stateVars.length > 0) state = readTensorFile(dir, 'state.bin', meta.state as tf.io.WeightsManifestEntry[]);
      for (const n of this.netNames) loadModelWeights(dir, n, this.nets[n], weights[n]);
      for (const n of this.netNames) this.opt[n].dispose();
      this.opt = this.makeOptimizers();
      for (const n of this.netNames) {
        await this.opt[n].setWeights(opt[n]);
        if (powers?.[n]) setAdamPowers(this.opt[n], powers[n]);
      }
      stateVars.forEach((v, i) => v.tensor.assign(state[i].tensor));
    } finally {
      tf.dispose(Object.values(weights).flatMap((w) => Object.values(w)));
      tf.dispose([...Object.values(opt).flat(), ...state].map((t) => t.tensor));
    }
    this.rng = Rng.fromState(meta.rng as RngState);
    this.sampleRng = Rng.fromState(meta.sampleRng as RngState);
    this.currentStep = meta.step;
    return meta;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const n of this.netNames) {
      this.opt[n].dispose();
      this.nets[n].dispose();
    }
    for (const v of this.stateVariables()) v.tensor.dispose();
  }
}
