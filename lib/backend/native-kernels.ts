/**
 * Fewer, larger ops for the native backend ("tensorflow": tfjs-node on the libtensorflow of
 * `npm run native`), registered by initBackend() when it picks that backend.
 * `CVAEGAN_NATIVE_KERNELS=0` keeps tfjs's own (for comparisons); setNativeLevers() switches each
 * lever at run time (bench/ab.ts alternates them inside one process).
 *
 * Why: at the cpu preset's size a training step is bound by the cost of dispatching ops, not by
 * arithmetic. Every tfjs op is one call from JavaScript into TensorFlow's eager runtime, and tfjs
 * builds batch norm and the ReLU gradients out of many small ops. Counted on one CVAE-GAN step of
 * the cpu preset (3,336 TensorFlow ops before; docs/design.md "performance" has the table):
 *
 * - Batch norm in training mode: tfjs-layers computes the moments (mean, squared difference, mean,
 *   casts), calls the inference kernel with them, and differentiates all of it, through the
 *   moments too: ~45 ops per layer and step. Here it is TensorFlow's FusedBatchNormV3
 *   (is_training) forward and FusedBatchNormGradV3 backward, one op each (plus a reshape on each
 *   side for the dense layers' [m, C] inputs), inside a tf.customGrad. The same kernel updates
 *   the moving mean (momentum * old + (1 - momentum) * batch); the moving variance is updated as
 *   tfjs-layers does (moving -= (moving - batch) * (1 - momentum)), from the biased batch variance
 *   TensorFlow returns in a reserve output (tfjs-layers uses the biased variance too; TensorFlow's
 *   own update would use the Bessel-corrected one). Same function; float32 roundings differ.
 * - ReLU's gradient: tfjs computes dy * cast(step(x)), and step() on this backend is five ops
 *   (isNaN, select, fill, ...): seven per layer. TensorFlow's ReluGrad is one. Leaky ReLU's
 *   gradient (greater, multiply, select plus broadcasts) is LeakyReluGrad, one op. Same numbers
 *   (dy where x > 0, else 0 or alpha * dy).
 * - Dense layers: tfjs-core's fused matMul reshapes the input, the kernel and the result to 3-D
 *   around a BatchMatMul, forward and backward. Here a 2-D MatMul (TensorFlow's, transposes as
 *   attributes) and the bias Add forward, two MatMuls and a Sum backward, in a tf.customGrad.
 * - Adam (one TensorFlow op per variable instead of thirteen): lib/backend/native-adam.ts.
 *
 * The kernels are registered through tfjs (so tf.profile and the engine see them) and run
 * TensorFlow ops through tfjs-node's own executeSingleOutput / executeMultipleOutputs, exactly as
 * tfjs-node's kernels do. Each lever falls back to tfjs's code wherever it does not apply (another
 * backend, dtype, layout, or the lever switched off).
 */
import * as tf from '@tensorflow/tfjs';
import { installKernels, isProjectKernel, type Info, type KernelArgs, type ProjectKernel } from './kernel-override';
import { installNativeAdam, type NativeBackend, type NativeBinding, type OpAttr } from './native-adam';

export const NATIVE = 'tensorflow';

/** Which levers are on (all by default once installed). */
export const nativeLevers = { batchNorm: true, reluGrad: true, adam: true, dense: true };
export type NativeLever = keyof typeof nativeLevers;

/** Switches levers on or off at run time (for A/B measurements in one process); returns the previous state. */
export function setNativeLevers(levers: Partial<typeof nativeLevers>): typeof nativeLevers {
  const old = { ...nativeLevers };
  Object.assign(nativeLevers, levers);
  return old;
}

function need(inputs: tf.NamedTensorInfoMap, name: string): Info {
  const t = inputs[name];
  if (!t) throw new Error(`kernel input '${name}' is missing`);
  return t;
}

const floatT = (b: NativeBinding, name = 'T'): OpAttr => ({ name, type: b.TF_ATTR_TYPE, value: b.TF_FLOAT });

/** CvaeganReluGrad {dy, x}: dy where x > 0, else 0 (TensorFlow's ReluGrad). */
function reluGrad({ inputs, backend }: KernelArgs): Info {
  const b = backend as NativeBackend;
  return b.executeSingleOutput('ReluGrad', [floatT(b.binding)], [need(inputs, 'dy'), need(inputs, 'x')]);
}

/** CvaeganLeakyReluGrad {dy, x} {alpha}: dy where x > 0, else alpha * dy (TensorFlow's LeakyReluGrad). */
function leakyReluGrad({ inputs, backend, attrs }: KernelArgs): Info {
  const b = backend as NativeBackend;
  const alpha = (attrs as { alpha: number }).alpha;
  return b.executeSingleOutput('LeakyReluGrad', [{ name: 'alpha', type: b.binding.TF_ATTR_FLOAT, value: alpha }, floatT(b.binding)],
    [need(inputs, 'dy'), need(inputs, 'x')]);
}

function batchNormAttrs(b: NativeBinding, epsilon: number): OpAttr[] {
  return [
    floatT(b), floatT(b, 'U'),
    { name: 'epsilon', type: b.TF_ATTR_FLOAT, value: epsilon },
    { name: 'data_format', type: b.TF_ATTR_STRING, value: 'NHWC' },
    { name: 'is_training', type: b.TF_ATTR_BOOL, value: true },
  ];
}

/**
 * CvaeganBatchNormTrain {x [N,H,W,C], scale, offset, movingMean, movingVariance} {epsilon,
 * momentum} -> [y, new moving mean, batch mean, biased batch variance, reserve]: FusedBatchNormV3
 * in training mode. With exponential_avg_factor = 1 - momentum, TensorFlow also returns the moving
 * mean's update, momentum * old + (1 - momentum) * batch mean (tfjs-layers' update, up to
 * rounding). Its variance update would use the Bessel-corrected batch variance where tfjs-layers
 * uses the biased one, so that output is dropped and the caller updates the moving variance from
 * reserve_space_2 (the biased variance); reserve_space_1 is the batch mean.
 */
function batchNormTrain({ inputs, backend, attrs }: KernelArgs): Info[] {
  const b = backend as NativeBackend;
  const { epsilon, momentum } = attrs as { epsilon: number; momentum: number };
  const out = b.executeMultipleOutputs('FusedBatchNormV3', [...batchNormAttrs(b.binding, epsilon), { name: 'exponential_avg_factor', type: b.binding.TF_ATTR_FLOAT, value: 1 - momentum }],
    ['x', 'scale', 'offset', 'movingMean', 'movingVariance'].map((k) => need(inputs, k)), 6);
  // out: y, new moving mean, new moving variance (Bessel-corrected), reserve_space_1 (batch mean), _2 (biased variance), _3.
  out[2].dispose();
  return [out[0], out[1], out[3], out[4], out[5]];
}

/** CvaeganBatchNormTrainGrad {dy, x, scale, mean, variance, reserve} {epsilon} -> [dx, dscale, doffset]. */
function batchNormTrainGrad({ inputs, backend, attrs }: KernelArgs): Info[] {
  const b = backend as NativeBackend;
  const { epsilon } = attrs as { epsilon: number };
  const out = b.executeMultipleOutputs('FusedBatchNormGradV3', batchNormAttrs(b.binding, epsilon),
    ['dy', 'x', 'scale', 'mean', 'variance', 'reserve'].map((k) => need(inputs, k)), 5);
  out[3].dispose();
  out[4].dispose();
  return out.slice(0, 3);
}

/** CvaeganMatMul {a, b} {transposeA, transposeB}: a 2-D product as TensorFlow's MatMul (no reshape to 3-D). */
function matMul2D({ inputs, backend, attrs }: KernelArgs): Info {
  const b = backend as NativeBackend;
  const { transposeA, transposeB } = attrs as { transposeA: boolean; transposeB: boolean };
  return b.executeSingleOutput('MatMul', [
    floatT(b.binding),
    { name: 'transpose_a', type: b.binding.TF_ATTR_BOOL, value: transposeA },
    { name: 'transpose_b', type: b.binding.TF_ATTR_BOOL, value: transposeB },
  ], [need(inputs, 'a'), need(inputs, 'b')]);
}

const KERNELS: ProjectKernel[] = [
  { name: 'CvaeganMatMul', kernelFunc: matMul2D },
  { name: 'CvaeganReluGrad', kernelFunc: reluGrad },
  { name: 'CvaeganLeakyReluGrad', kernelFunc: leakyReluGrad },
  { name: 'CvaeganBatchNormTrain', kernelFunc: batchNormTrain },
  { name: 'CvaeganBatchNormTrainGrad', kernelFunc: batchNormTrainGrad },
];

/** Whether `kernel` (one of ours) runs now: the native backend is active and has it. */
function ours(kernel: string): boolean {
  return tf.getBackend() === NATIVE && isProjectKernel(kernel, NATIVE);
}

// ------------------------------------------------------------------------------------------------
// Gradients of Relu and LeakyRelu
// ------------------------------------------------------------------------------------------------

let gradientsPatched = false;

/** Relu's and LeakyRelu's registered gradients, with one kernel of ours on the native backend. */
function patchActivationGradients(): void {
  if (gradientsPatched) return;
  gradientsPatched = true;
  for (const [kernelName, kernel] of [['Relu', 'CvaeganReluGrad'], ['LeakyRelu', 'CvaeganLeakyReluGrad']] as const) {
    const shipped = tf.getGradient(kernelName);
    if (!shipped) throw new Error(`tfjs has no gradient registered for ${kernelName}`);
    tf.registerGradient({
      ...shipped,
      gradFunc: (dy, saved, attrs) => {
        const [x] = saved;
        const d = dy as tf.Tensor;
        if (!nativeLevers.reluGrad || !ours(kernel) || d.dtype !== 'float32' || x.dtype !== 'float32') return shipped.gradFunc(dy, saved, attrs);
        return { x: () => tf.engine().runKernel(kernel, { dy: d, x }, attrs ?? {}) as tf.Tensor };
      },
    });
  }
}

// ------------------------------------------------------------------------------------------------
// Batch normalization in training mode
// ------------------------------------------------------------------------------------------------

/** tfjs-layers' BatchNormalization, the fields its call() reads (private in its typings). */
interface BatchNormLayer {
  axis: number;
  momentum: number;
  epsilon: number;
  center: boolean;
  scale: boolean;
  gamma: { read(): tf.Tensor };
  beta: { read(): tf.Tensor };
  movingMean: { read(): tf.Tensor; write(t: tf.Tensor): void };
  movingVariance: { read(): tf.Tensor; write(t: tf.Tensor): void };
}
type CallFn = (this: BatchNormLayer, inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>) => tf.Tensor | tf.Tensor[];

/**
 * y = batch norm of x [N,H,W,C] with the batch's own statistics, as one op forward and one op
 * backward; also returns the moving mean's update and the batch's biased variance (neither is
 * differentiated: they only feed the moving statistics). The caller disposes both.
 */
function fusedBatchNormTraining(x: tf.Tensor4D, layer: BatchNormLayer): { y: tf.Tensor4D; movingMean: tf.Tensor1D; variance: tf.Tensor1D } {
  const { epsilon, momentum } = layer;
  let movingMean: tf.Tensor1D | undefined;
  let variance: tf.Tensor1D | undefined;
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xx, g, bb] = args as tf.Tensor[];
    const save = args[3] as tf.GradSaveFunc;
    const [y, mm, m, v, reserve] = tf.engine().runKernel('CvaeganBatchNormTrain',
      { x: xx, scale: g, offset: bb, movingMean: layer.movingMean.read(), movingVariance: layer.movingVariance.read() }, { epsilon, momentum }) as tf.Tensor[];
    save([xx, g, m, v, reserve]);
    // Kept past customGrad's own tidy; disposed by the caller once the moving statistics have them.
    movingMean = tf.keep(mm) as tf.Tensor1D;
    variance = tf.keep(v) as tf.Tensor1D;
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, s: tf.Tensor[]) => {
        const [sx, sg, sm, sv, sr] = s;
        return tf.engine().runKernel('CvaeganBatchNormTrainGrad', { dy, x: sx, scale: sg, mean: sm, variance: sv, reserve: sr }, { epsilon }) as tf.Tensor[];
      },
    };
  });
  const y = op(x, layer.gamma.read(), layer.beta.read()) as tf.Tensor4D;
  return { y, movingMean: movingMean!, variance: variance! };
}

/** tfjs-layers' moving-average update, op for op: moving <- moving - (moving - value) * (1 - momentum). */
function movingAverage(variable: BatchNormLayer['movingMean'], value: tf.Tensor, momentum: number): void {
  tf.tidy(() => {
    const decay = 1 - momentum;
    const orig = variable.read();
    variable.write(tf.sub(orig, tf.mul(tf.sub(orig, value), decay)));
  });
}

// ------------------------------------------------------------------------------------------------
// Dense layers
// ------------------------------------------------------------------------------------------------

function matMul(a: tf.Tensor, b: tf.Tensor, transposeA: boolean, transposeB: boolean): tf.Tensor {
  return tf.engine().runKernel('CvaeganMatMul', { a, b }, { transposeA, transposeB }) as tf.Tensor;
}

/**
 * x W (+ bias) for x [m, k]: one MatMul (and one Add) forward, two MatMuls (and one Sum) backward.
 * tfjs-core's fused matMul reshapes x, W and the result to 3-D for a BatchMatMul, forward and
 * backward: ~12 ops per dense layer and step where these are 4-6.
 */
function denseForward(x: tf.Tensor2D, kernel: tf.Tensor2D, bias: tf.Tensor1D | null): tf.Tensor2D {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xx, w, bb] = args as tf.Tensor[];
    const save = args[args.length - 1] as tf.GradSaveFunc;
    save([xx, w]);
    const xw = matMul(xx, w, false, false);
    return {
      value: bias ? tf.add(xw, bb) : xw,
      gradFunc: (dy: tf.Tensor, [sx, sw]: tf.Tensor[]) => {
        const grads = [matMul(dy, sw, false, true), matMul(sx, dy, true, false)];
        return bias ? [...grads, tf.sum(dy, 0)] : grads;
      },
    };
  });
  return (bias ? op(x, kernel, bias) : op(x, kernel)) as tf.Tensor2D;
}

/** tfjs-layers' Dense, the fields its call() reads (private in its typings). */
interface DenseLayer {
  activation: { getClassName(): string };
  kernel: { read(): tf.Tensor };
  bias: { read(): tf.Tensor } | null;
  invokeCallHook(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): void;
}

let densePatched = false;

/** Dense.call with the 2-D path above where it applies (rank-2 float32 input, linear activation). */
function patchDense(): void {
  if (densePatched) return;
  densePatched = true;
  const proto = Object.getPrototypeOf(tf.layers.dense({ units: 1 })) as { call: (this: DenseLayer, inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>) => tf.Tensor };
  const shipped = proto.call;
  proto.call = function (this: DenseLayer, inputs, kwargs) {
    const x = Array.isArray(inputs) ? (inputs.length === 1 ? inputs[0] : undefined) : inputs;
    const applies = nativeLevers.dense && x !== undefined && x.rank === 2 && x.dtype === 'float32' &&
      this.activation.getClassName() === 'linear' && ours('CvaeganMatMul');
    if (!applies) return shipped.call(this, inputs, kwargs);
    return tf.tidy(() => {
      this.invokeCallHook(inputs, kwargs);
      return denseForward(x as tf.Tensor2D, this.kernel.read() as tf.Tensor2D, this.bias ? (this.bias.read() as tf.Tensor1D) : null);
    });
  };
}

let batchNormPatched = false;

/** BatchNormalization.call with the fused training path where it applies; tfjs-layers' call elsewhere. */
function patchBatchNormalization(): void {
  if (batchNormPatched) return;
  batchNormPatched = true;
  const layer = tf.layers.batchNormalization({});
  const proto = Object.getPrototypeOf(layer) as { call: CallFn };
  const shipped = proto.call;
  proto.call = function (this: BatchNormLayer, inputs, kwargs) {
    const x = Array.isArray(inputs) ? (inputs.length === 1 ? inputs[0] : undefined) : inputs;
    const applies = nativeLevers.batchNorm && kwargs?.training === true && x !== undefined && x.dtype === 'float32' &&
      (x.rank === 4 || x.rank === 2) && (this.axis === -1 || this.axis === x.rank - 1) && this.center && this.scale &&
      ours('CvaeganBatchNormTrain');
    if (!applies) return shipped.call(this, inputs, kwargs);
    return tf.tidy(() => {
      const c = x.shape[x.rank - 1];
      const x4 = x.rank === 4 ? (x as tf.Tensor4D) : tf.reshape(x, [x.shape[0], 1, 1, c]) as tf.Tensor4D;
      const { y, movingMean, variance } = fusedBatchNormTraining(x4, this);
      this.movingMean.write(movingMean);
      movingAverage(this.movingVariance, variance, this.momentum);
      tf.dispose([movingMean, variance]);
      return x.rank === 4 ? y : tf.reshape(y, x.shape);
    });
  };
}

/**
 * Registers the kernels above on the native backend and routes the gradients, batch norm and
 * Adam to them (idempotent). Returns what is ours now; nothing with CVAEGAN_NATIVE_KERNELS=0.
 */
export function registerNativeKernels(): string[] {
  if (process.env.CVAEGAN_NATIVE_KERNELS === '0') return [];
  const names = installKernels(NATIVE, KERNELS);
  patchActivationGradients();
  patchBatchNormalization();
  patchDense();
  installNativeAdam(() => nativeLevers.adam && tf.getBackend() === NATIVE);
  return [...names, 'ResourceApplyAdam (Adam)'];
}
