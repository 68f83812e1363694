/**
 * What a training step may change, kept as it was before the step so that a rejected step (a
 * non-finite loss in a later phase, or any error thrown mid-step) can be put back exactly: the
 * networks' weights and batch-norm statistics, each Adam's moments, powers β^t and iteration
 * count, the model's extra state (CVAE-GAN's class centres) and the position of the training Rng.
 *
 * How it is kept cheaply: tfjs changes a variable by pointing it at a new data buffer
 * (`Variable.assign` swaps the dataId), never by writing into the old one. So a snapshot is a
 * second handle on the old buffer (`share`, no copy on any backend; `tf.clone` copies on wasm),
 * which keeps it alive, and a rollback points the variable back at it. Trainable weights
 * and Adam state are snapshotted lazily, in `beforeUpdate(net)`, just before a network's first
 * update of the step, so a step that fails before any update copies nothing but the batch-norm
 * statistics and extra state. Cost per step: docs/design.md, "## reliability".
 *
 * Also here: typed access to AdamOptimizer's private state (tfjs 4.22 keeps β1^t and β2^t as the
 * variables accBeta1 / accBeta2, which `getWeights()` leaves out and `setWeights()` recomputes
 * with pow(), not bit-identical to the running product), for rollbacks and exact resumes.
 */
import * as tf from '@tensorflow/tfjs';

interface MomentSlot {
  originalName: string;
  variable: tf.Variable;
}

/** AdamOptimizer's private fields as tfjs 4.22 has them (tfjs-core/src/optimizers/adam_optimizer.ts). */
interface AdamInternals {
  accBeta1: tf.Variable;
  accBeta2: tf.Variable;
  accumulatedFirstMoment: MomentSlot[];
  accumulatedSecondMoment: MomentSlot[];
  iterations_?: number;
}

/** Adam's private state, checked to have the layout this file expects. */
export function adamInternals(opt: tf.AdamOptimizer): AdamInternals {
  const o = opt as unknown as AdamInternals;
  if (!(o.accBeta1 instanceof tf.Variable) || !(o.accBeta2 instanceof tf.Variable) || !Array.isArray(o.accumulatedFirstMoment) || !Array.isArray(o.accumulatedSecondMoment)) {
    throw new Error('internal: this tfjs AdamOptimizer has no accBeta1/accBeta2/accumulatedFirstMoment fields (tfjs 4.22 has them); lib/model/rollback.ts must follow its new layout');
  }
  return o;
}

/** β1^t and β2^t as Adam holds them (float32 values, exact as JS numbers); read asynchronously, as WebGPU needs. */
export async function adamPowers(opt: tf.AdamOptimizer): Promise<[number, number]> {
  const a = adamInternals(opt);
  return [(await a.accBeta1.data())[0], (await a.accBeta2.data())[0]];
}

/** Puts back β1^t and β2^t saved by adamPowers (setWeights has just recomputed them with pow()). */
export function setAdamPowers(opt: tf.AdamOptimizer, powers: [number, number]): void {
  const a = adamInternals(opt);
  tf.tidy(() => {
    a.accBeta1.assign(tf.scalar(powers[0]));
    a.accBeta2.assign(tf.scalar(powers[1]));
  });
}

/**
 * A second handle on `t`'s data buffer, without copying it: the buffer stays alive (and unchanged,
 * since tfjs never writes into a buffer after creating it) until the handle is disposed. Every
 * tfjs backend (cpu, wasm, webgpu, tfjs-node) counts references with incRef.
 */
function share(t: tf.Tensor): tf.Tensor {
  const engine = tf.engine();
  const s = engine.makeTensorFromDataId(t.dataId, t.shape, t.dtype);
  engine.backend.incRef(t.dataId);
  return s;
}

interface AdamSnapshot {
  opt: tf.AdamOptimizer;
  iterations: number | undefined;
  beta1: tf.Tensor;
  beta2: tf.Tensor;
  /** Moments that existed before the step, by slot; slots created during the step are dropped on rollback. */
  first: tf.Tensor[];
  second: tf.Tensor[];
}

/** A value to write back into a variable or a layer's weight. */
interface Saved {
  write(v: tf.Tensor): void;
  value: tf.Tensor;
}

export interface StepState {
  /** Layer weights not trained by gradients (batch-norm moving statistics), of every network. */
  nonTrainable: tf.LayerVariable[];
  /** Extra state variables (CVAE-GAN's centres). */
  state: tf.Variable[];
  /** Puts the Rng back to where it was at the start of the step. */
  restoreRng(): void;
}

/** The state of one training step, from its start; see the file comment. */
export class StepJournal {
  private readonly saved: Saved[] = [];
  private readonly adam: AdamSnapshot[] = [];
  private readonly updated = new Set<string>();
  private released = false;

  constructor(private readonly start: StepState) {
    for (const w of start.nonTrainable) this.saved.push({ write: (v) => w.write(v), value: share(w.read()) });
    for (const v of start.state) this.saved.push({ write: (x) => v.assign(x), value: share(v) });
  }

  /** Called before a network's update: keeps its weights and its Adam's state as they are now (once per step). */
  beforeUpdate(net: string, vars: tf.Variable[], opt: tf.AdamOptimizer): void {
    if (this.updated.has(net)) return;
    this.updated.add(net);
    for (const v of vars) this.saved.push({ write: (x) => v.assign(x), value: share(v) });
    const a = adamInternals(opt);
    this.adam.push({
      opt,
      iterations: a.iterations_,
      beta1: share(a.accBeta1),
      beta2: share(a.accBeta2),
      first: a.accumulatedFirstMoment.map((s) => share(s.variable)),
      second: a.accumulatedSecondMoment.map((s) => share(s.variable)),
    });
  }

  /** Puts everything back as it was at the start of the step. */
  rollback(): void {
    for (const s of this.saved) s.write(s.value);
    for (const s of this.adam) {
      const a = adamInternals(s.opt);
      a.accBeta1.assign(s.beta1);
      a.accBeta2.assign(s.beta2);
      const put = (slots: MomentSlot[], values: tf.Tensor[]) => {
        slots.slice(values.length).forEach((slot) => slot.variable.dispose());
        slots.length = values.length;
        values.forEach((v, i) => slots[i].variable.assign(v));
      };
      put(a.accumulatedFirstMoment, s.first);
      put(a.accumulatedSecondMoment, s.second);
      a.iterations_ = s.iterations;
    }
    this.start.restoreRng();
  }

  /** Drops the snapshot (after a rollback, or when the step succeeded). Idempotent. */
  release(): void {
    if (this.released) return;
    this.released = true;
    tf.dispose(this.saved.map((s) => s.value));
    for (const s of this.adam) tf.dispose([s.beta1, s.beta2, ...s.first, ...s.second]);
  }
}
