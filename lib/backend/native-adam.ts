/**
 * Adam on the native backend as TensorFlow's own ResourceApplyAdam: one update op per variable and
 * step instead of tfjs's thirteen (5 Mul, 3 Add, 3 RealDiv, Square, Sqrt, each a call into
 * TensorFlow, most with a scalar uploaded from a JS number). A CVAE-GAN step has 57 variables.
 *
 * ResourceApplyAdam updates TensorFlow resource variables, so each network variable gets three
 * (created with VarHandleOp on first use): its value, Adam's first and second moment. They are a
 * cache: tfjs's own variables (the network's weight and the optimizer's two moment variables)
 * stay the truth after every update, so everything that reads or replaces them (checkpoints,
 * getWeights/setWeights, lib/model/rollback.ts's step journal, which keeps a second handle on
 * each buffer and points the variables back at it) works as with tfjs's update. Per step and
 * variable:
 *   - AssignVariableOp into a resource only if its tfjs variable was pointed at another buffer
 *     since our last update (a restore, setWeights, a rolled-back step);
 *   - ResourceApplyAdam(value, m, v, beta1^t, beta2^t, lr, beta1, beta2, eps', grad);
 *   - ReadVariableOp of value, m and v, assigned to the tfjs variables. The read shares the
 *     resource's buffer; TensorFlow copies a variable's buffer before updating it whenever anyone
 *     else still holds it (as tfjs does here), so a tfjs tensor never changes under its holder.
 * 4 ops per variable and step (228 for CVAE-GAN) where tfjs's update is 13 (741).
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
 * tfjs's applyGradients, on the same tfjs variables.
 */
import * as tf from '@tensorflow/tfjs';
import type { NativeBackend, OpAttr } from './native-common';

type NamedTensor = { name: string; tensor: tf.Tensor };
type Moment = { originalName: string; variable: tf.Variable };

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

/** One network variable's resource variables: its value and its two moments, in that order. */
interface Slot {
  handles: [tf.Tensor, tf.Tensor, tf.Tensor];
  /** The dataIds our last ReadVariableOps gave the tfjs variables (while they hold them, no AssignVariableOp is needed). */
  last: [object, object, object];
}

interface State {
  slots: Slot[];
  /** lr, beta1, beta2 as scalars, remade when the optimizer's values change. */
  constants: tf.Tensor[];
  /** The numbers `constants` hold. */
  values: number[];
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

/** Drops the resource state of `opt` (tfjs's variables hold everything it caches). */
function drop(opt: object): void {
  const s = states.get(opt);
  if (!s) return;
  states.delete(opt);
  const handles = s.slots.flatMap((slot) => slot.handles);
  // DestroyResourceOp needs the native backend active; otherwise only the handles go.
  if (tf.getBackend() === 'tensorflow') destroy(backendOf(), handles);
  else tf.dispose(handles);
  tf.dispose(s.constants);
}

function scalar(x: number): tf.Tensor {
  return tf.scalar(x, 'float32');
}

/** tfjs's moment variable i of `list`, made as tfjs makes it (zeros) when the slot is new. */
function moment(list: Moment[], i: number, name: string, suffix: 'm' | 'v', value: tf.Tensor): tf.Variable {
  list[i] ??= { originalName: `${name}/${suffix}`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) };
  return list[i].variable;
}

/** The native update of one optimizer; mirrors tfjs-core 4.22's AdamOptimizer.applyGradients. */
function applyNative(opt: AdamInternals, variableGradients: tf.NamedTensorMap | NamedTensor[]): void {
  const b = backendOf();
  const list = Array.isArray(variableGradients) ? variableGradients : undefined;
  const names = list ? list.map((v) => v.name) : Object.keys(variableGradients);
  let s = states.get(opt);
  if (!s) {
    s = { slots: [], constants: [], values: [] };
    states.set(opt, s);
  }
  const state = s;
  // A schedule sets opt.learningRate between steps (tfjs reads it on every update): the scalars
  // follow the optimizer's current values instead of those of its first update.
  const now = [opt.learningRate, opt.beta1, opt.beta2];
  if (now.some((x, k) => x !== state.values[k])) {
    tf.dispose(state.constants);
    state.constants = now.map((x) => tf.keep(scalar(x)));
    state.values = now;
  }
  tf.tidy(() => {
    const [lr, beta1, beta2] = state.constants;
    // eps' = eps * sqrt(1 - beta2^t), in double precision from the float32 beta2^t.
    const epsPrime = scalar(opt.epsilon * Math.sqrt(1 - opt.accBeta2.dataSync()[0]));
    names.forEach((name, i) => {
      const value = tf.engine().registeredVariables[name];
      // Moments first, as tfjs makes them (also for a variable without a gradient this time).
      const vars = [value, moment(opt.accumulatedFirstMoment, i, name, 'm', value), moment(opt.accumulatedSecondMoment, i, name, 'v', value)] as const;
      const grad = list ? list[i].tensor : (variableGradients as tf.NamedTensorMap)[name];
      if (grad == null) return;
      let slot = state.slots[i];
      if (!slot) {
        slot = state.slots[i] = { handles: vars.map((t) => newResource(b, t.shape, t)) as Slot['handles'], last: vars.map((t) => t.dataId) as Slot['last'] };
      } else {
        vars.forEach((t, k) => {
          if (t.dataId !== slot.last[k]) b.executeMultipleOutputs('AssignVariableOp', attrs(b), [slot.handles[k], t], 0);
        });
      }
      const [hv, hm, hs] = slot.handles;
      b.executeMultipleOutputs('ResourceApplyAdam', [
        { name: 'T', type: b.binding.TF_ATTR_TYPE, value: b.binding.TF_FLOAT },
        { name: 'use_locking', type: b.binding.TF_ATTR_BOOL, value: false },
        { name: 'use_nesterov', type: b.binding.TF_ATTR_BOOL, value: false },
      ], [hv, hm, hs, opt.accBeta1, opt.accBeta2, lr, beta1, beta2, epsPrime, grad], 0);
      vars.forEach((t, k) => {
        t.assign(read(b, slot.handles[k]));
        slot.last[k] = t.dataId;
      });
    });
    opt.accBeta1.assign(tf.mul(opt.accBeta1, opt.beta1));
    opt.accBeta2.assign(tf.mul(opt.accBeta2, opt.beta2));
  });
  opt.incrementIterations();
}

let installed = false;

/**
 * Routes AdamOptimizer's applyGradients through the native update while `useNative()` holds for
 * an optimizer's update, and frees the resource variables on dispose() (idempotent; composes with
 * other patches of the same methods, e.g. lib/backend/webgpu-kernels.ts's). getWeights and
 * setWeights need nothing: tfjs's variables hold the state, and a replaced one is noticed by its
 * buffer on the next update.
 */
export function installNativeAdam(useNative: () => boolean): void {
  enabled = useNative;
  if (installed) return;
  installed = true;
  const proto = tf.AdamOptimizer.prototype as unknown as {
    applyGradients(g: tf.NamedTensorMap | NamedTensor[]): void;
    dispose(): void;
  };
  const shipped = { applyGradients: proto.applyGradients, dispose: proto.dispose };
  proto.applyGradients = function (this: AdamInternals, variableGradients) {
    const tensors = Array.isArray(variableGradients) ? variableGradients.map((v) => v.tensor) : Object.values(variableGradients);
    const names = Array.isArray(variableGradients) ? variableGradients.map((v) => v.name) : Object.keys(variableGradients);
    const native = enabled() && tensors.every((t) => t == null || t.dtype === 'float32') &&
      names.every((n) => tf.engine().registeredVariables[n]?.dtype === 'float32');
    if (native) return applyNative(this, variableGradients);
    // tfjs's update (a lever switched off, another backend) on tfjs's variables, which hold the
    // state; the resource copies, if any, would be stale afterwards.
    drop(this);
    shipped.applyGradients.call(this, variableGradients);
  };
  proto.dispose = function (this: AdamInternals) {
    drop(this);
    shipped.dispose.call(this);
  };
}
