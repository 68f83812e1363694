/**
 * Adam on the native backend as TensorFlow's own ResourceApplyAdam: one op per variable and step
 * instead of tfjs's thirteen (5 Mul, 3 Add, 3 RealDiv, Square, Sqrt, each a call into TensorFlow,
 * most with a scalar uploaded from a JS number). A CVAE-GAN step has 57 variables: 741 ops before.
 *
 * ResourceApplyAdam updates TensorFlow resource variables in place, so each network variable gets
 * three (created with VarHandleOp on first use): its value, Adam's first and second moment. Per
 * step and variable:
 *   - AssignVariableOp(value) only if the tfjs variable was changed by someone else since our last
 *     update (a restore, setWeights): otherwise the tfjs variable already holds the buffer we read;
 *   - ResourceApplyAdam(value, m, v, beta1^t, beta2^t, lr, beta1, beta2, eps', grad);
 *   - ReadVariableOp(value), assigned to the tfjs variable (the buffer is shared; TensorFlow copies
 *     it on the next update while tfjs still holds it, so the tfjs tensor never changes under it).
 * The moments live only in the resource variables while training; tfjs's own moment variables
 * are disposed, and getWeights() (checkpoints) reads them back into fresh ones, which the next
 * update disposes again. setWeights() and dispose() drop the resource state, so a restore starts
 * from what was restored.
 *
 * The same update as tfjs's AdamOptimizer, up to float32 rounding:
 *   tfjs:       m' = b1 m + (1 - b1) g,  v' = b2 v + (1 - b2) g^2,
 *               w' = w - lr (m' / (1 - b1^t)) / (sqrt(v' / (1 - b2^t)) + eps)
 *   TensorFlow: m' = m + (g - m)(1 - b1), v' = v + (g^2 - v)(1 - b2),
 *               w' = w - (lr sqrt(1 - b2^t) / (1 - b1^t)) m' / (sqrt(v') + eps')
 * which are equal for eps' = eps sqrt(1 - b2^t) (TensorFlow puts epsilon outside the bias
 * correction; we move it back). beta1^t and beta2^t are tfjs's own accBeta1/accBeta2 variables,
 * advanced as tfjs advances them, so iterations, getWeights/setWeights and checkpoints keep their
 * format. Anything else (another backend, a non-float32 variable, the lever switched off) runs
 * tfjs's applyGradients.
 */
import * as tf from '@tensorflow/tfjs';
import type { NativeBackend, OpAttr } from './native-common';

type NamedTensor = { name: string; tensor: tf.Tensor };
type Moment = { originalName: string; variable: tf.Variable | null };

/** tfjs-core's AdamOptimizer internals (private in its typings). */
interface AdamInternals {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  accBeta1: tf.Variable;
  accBeta2: tf.Variable;
  accumulatedFirstMoment: Moment[];
  accumulatedSecondMoment: Moment[];
  incrementIterations(): void;
}

/** One network variable's resource variables. */
interface Slot {
  name: string;
  value: tf.Tensor;
  m: tf.Tensor;
  v: tf.Tensor;
  /** The dataId our last ReadVariableOp gave the tfjs variable (so no AssignVariableOp is needed). */
  lastDataId: object | undefined;
}

interface State {
  slots: Slot[];
  /** lr, beta1, beta2 as scalars, made once. */
  constants: tf.Tensor[];
  /** getWeights() put fresh moment variables into the optimizer; the next update disposes them. */
  materialized: boolean;
}

const states = new WeakMap<object, State>();
let counter = 0;

/** Whether the next applyGradients of an optimizer runs natively (set by native-kernels.ts). */
let enabled: () => boolean = () => false;

function backendOf(): NativeBackend {
  return tf.backend() as unknown as NativeBackend;
}

function attrs(b: NativeBackend, extra: OpAttr[] = []): OpAttr[] {
  return [{ name: 'dtype', type: b.binding.TF_ATTR_TYPE, value: b.binding.TF_FLOAT }, ...extra];
}

function newResource(b: NativeBackend, shape: number[], init: tf.Tensor): tf.Tensor {
  const handle = tf.tidy(() => b.executeSingleOutput('VarHandleOp', attrs(b, [
    { name: 'shape', type: b.binding.TF_ATTR_SHAPE, value: shape },
    { name: 'container', type: b.binding.TF_ATTR_STRING, value: '' },
    { name: 'shared_name', type: b.binding.TF_ATTR_STRING, value: `cvaegan_adam_${process.pid}_${++counter}` },
  ]), []));
  b.executeMultipleOutputs('AssignVariableOp', attrs(b), [handle, init], 0);
  return tf.keep(handle);
}

function read(b: NativeBackend, handle: tf.Tensor): tf.Tensor {
  return b.executeSingleOutput('ReadVariableOp', attrs(b), [handle]);
}

function destroy(b: NativeBackend, handles: tf.Tensor[]): void {
  for (const h of handles) {
    b.executeMultipleOutputs('DestroyResourceOp', [{ name: 'ignore_lookup_error', type: b.binding.TF_ATTR_BOOL, value: true }], [h], 0);
    h.dispose();
  }
}

/** Reads the moments back into fresh tfjs variables of the optimizer (for getWeights, or before tfjs's own update). */
function materialize(opt: AdamInternals, s: State): void {
  const b = backendOf();
  s.slots.forEach((slot, i) => {
    for (const [list, handle] of [[opt.accumulatedFirstMoment, slot.m], [opt.accumulatedSecondMoment, slot.v]] as const) {
      list[i].variable?.dispose();
      list[i].variable = tf.tidy(() => read(b, handle).variable(false));
    }
  });
  s.materialized = true;
}

/** Drops the resource state of `opt` (its tfjs moment variables must hold the moments first). */
function drop(opt: object): void {
  const s = states.get(opt);
  if (!s) return;
  states.delete(opt);
  destroy(backendOf(), s.slots.flatMap((slot) => [slot.value, slot.m, slot.v]));
  tf.dispose(s.constants);
}

function scalar(x: number): tf.Tensor {
  return tf.scalar(x, 'float32');
}

/** The native update of one optimizer; mirrors tfjs-core 4.22's AdamOptimizer.applyGradients. */
function applyNative(opt: AdamInternals, variableGradients: tf.NamedTensorMap | NamedTensor[]): void {
  const b = backendOf();
  const list = Array.isArray(variableGradients) ? variableGradients : undefined;
  const names = list ? list.map((v) => v.name) : Object.keys(variableGradients);
  let s = states.get(opt);
  if (!s) {
    s = { slots: [], constants: [opt.learningRate, opt.beta1, opt.beta2].map((x) => tf.keep(scalar(x))), materialized: false };
    states.set(opt, s);
  }
  const state = s;
  if (state.materialized) {
    // The snapshot getWeights() made: the resource variables are still the truth.
    for (const l of [opt.accumulatedFirstMoment, opt.accumulatedSecondMoment]) {
      for (const mo of l) {
        mo.variable?.dispose();
        mo.variable = null;
      }
    }
    state.materialized = false;
  }
  tf.tidy(() => {
    const [lr, beta1, beta2] = state.constants;
    // eps' = eps * sqrt(1 - beta2^t), in double precision from the float32 beta2^t.
    const epsPrime = scalar(opt.epsilon * Math.sqrt(1 - opt.accBeta2.dataSync()[0]));
    names.forEach((name, i) => {
      const value = tf.engine().registeredVariables[name];
      let slot = state.slots[i];
      if (!slot) {
        // First update: the moments start from tfjs's (restored or earlier) ones, else zeros, as tfjs's do.
        const m = opt.accumulatedFirstMoment[i]?.variable;
        const v = opt.accumulatedSecondMoment[i]?.variable;
        const zeros = tf.zerosLike(value);
        slot = state.slots[i] = {
          name,
          value: newResource(b, value.shape, value),
          m: newResource(b, value.shape, m ?? zeros),
          v: newResource(b, value.shape, v ?? zeros),
          lastDataId: value.dataId,
        };
        opt.accumulatedFirstMoment[i] = { originalName: `${name}/m`, variable: null };
        opt.accumulatedSecondMoment[i] = { originalName: `${name}/v`, variable: null };
        m?.dispose();
        v?.dispose();
      }
      const grad = list ? list[i].tensor : (variableGradients as tf.NamedTensorMap)[name];
      if (grad == null) return;
      if (value.dataId !== slot.lastDataId) b.executeMultipleOutputs('AssignVariableOp', attrs(b), [slot.value, value], 0);
      b.executeMultipleOutputs('ResourceApplyAdam', [
        { name: 'T', type: b.binding.TF_ATTR_TYPE, value: b.binding.TF_FLOAT },
        { name: 'use_locking', type: b.binding.TF_ATTR_BOOL, value: false },
        { name: 'use_nesterov', type: b.binding.TF_ATTR_BOOL, value: false },
      ], [slot.value, slot.m, slot.v, opt.accBeta1, opt.accBeta2, lr, beta1, beta2, epsPrime, grad], 0);
      value.assign(read(b, slot.value));
      slot.lastDataId = value.dataId;
    });
    opt.accBeta1.assign(tf.mul(opt.accBeta1, opt.beta1));
    opt.accBeta2.assign(tf.mul(opt.accBeta2, opt.beta2));
  });
  opt.incrementIterations();
}

let installed = false;

/**
 * Routes AdamOptimizer's applyGradients, getWeights, setWeights and dispose through the native
 * update while `useNative()` holds for an optimizer's update (idempotent; composes with other
 * patches of the same methods, e.g. lib/backend/webgpu-kernels.ts's).
 */
export function installNativeAdam(useNative: () => boolean): void {
  enabled = useNative;
  if (installed) return;
  installed = true;
  const proto = tf.AdamOptimizer.prototype as unknown as {
    applyGradients(g: tf.NamedTensorMap | NamedTensor[]): void;
    getWeights(): Promise<NamedTensor[]>;
    setWeights(w: NamedTensor[]): Promise<void>;
    dispose(): void;
  };
  const shipped = { applyGradients: proto.applyGradients, getWeights: proto.getWeights, setWeights: proto.setWeights, dispose: proto.dispose };
  proto.applyGradients = function (this: AdamInternals, variableGradients) {
    const tensors = Array.isArray(variableGradients) ? variableGradients.map((v) => v.tensor) : Object.values(variableGradients);
    const names = Array.isArray(variableGradients) ? variableGradients.map((v) => v.name) : Object.keys(variableGradients);
    const native = enabled() && tensors.every((t) => t == null || t.dtype === 'float32') &&
      names.every((n) => tf.engine().registeredVariables[n]?.dtype === 'float32');
    if (native) return applyNative(this, variableGradients);
    const s = states.get(this);
    if (s) {
      // Back to tfjs's update (a lever switched off): its moment variables must hold the moments.
      if (!s.materialized) materialize(this, s);
      drop(this);
    }
    shipped.applyGradients.call(this, variableGradients);
  };
  proto.getWeights = async function (this: AdamInternals) {
    const s = states.get(this);
    if (s && !s.materialized) materialize(this, s);
    return shipped.getWeights.call(this);
  };
  proto.setWeights = async function (this: AdamInternals, w) {
    const s = states.get(this);
    const old = [...this.accumulatedFirstMoment, ...this.accumulatedSecondMoment];
    await shipped.setWeights.call(this, w);
    if (s) {
      // What was restored replaces the moments (tfjs's setWeights made new variables from it, so
      // a getWeights() snapshot passed back in may be disposed now).
      if (s.materialized) old.forEach((mo) => mo.variable?.dispose());
      drop(this);
    }
  };
  proto.dispose = function (this: AdamInternals) {
    drop(this);
    shipped.dispose.call(this);
  };
}
