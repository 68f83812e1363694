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
 * - Batch norm (~45 ops per layer and step in training mode, 7 in inference mode): TensorFlow's
 *   FusedBatchNormV3 and FusedBatchNormGradV3, one op each way: lib/backend/native-batchnorm.ts.
 * - ReLU's gradient: tfjs computes dy * cast(step(x)), and step() on this backend is five ops
 *   (isNaN, select, fill, ...): seven per layer. TensorFlow's ReluGrad is one. Leaky ReLU's
 *   gradient (greater, multiply, select plus broadcasts) is LeakyReluGrad, one op. Same numbers
 *   (dy where x > 0, else 0 or alpha * dy).
 * - Dense layers: tfjs-core's fused matMul reshapes the input, the kernel and the result to 3-D
 *   around a BatchMatMul, forward and backward. Here a 2-D MatMul (TensorFlow's, transposes as
 *   attributes) and the bias Add forward, two MatMuls and a Sum backward, in a tf.customGrad.
 * - Cast to the dtype a tensor already has (tfjs's gradients of Multiply, RealDiv, ... cast their
 *   inputs to float32): a new reference to the same buffer, as tfjs's Identity, not a Cast op.
 * - Adam (four TensorFlow ops per variable instead of thirteen): lib/backend/native-adam.ts.
 *
 * The kernels are registered through tfjs (so tf.profile and the engine see them) and run
 * TensorFlow ops through tfjs-node's own executeSingleOutput / executeMultipleOutputs, exactly as
 * tfjs-node's kernels do. Each lever falls back to tfjs's code wherever it does not apply (another
 * backend, dtype, layout, or the lever switched off).
 */
import * as tf from '@tensorflow/tfjs';
import { callShipped, installKernels, type Info, type KernelArgs, type ProjectKernel, type Shipped } from './kernel-override';
import { installNativeAdam } from './native-adam';
import { BATCH_NORM_KERNELS, patchBatchNormalization } from './native-batchnorm';
import { floatT, NATIVE, nativeLevers, need, ours, type NativeBackend } from './native-common';

export { nativeLevers, setNativeLevers, type NativeLever } from './native-common';

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

/** Cast {x} {dtype}: when x already has that dtype, another reference to its buffer (no TensorFlow op). */
function cast(args: KernelArgs, shipped: Shipped): Info {
  const x = need(args.inputs, 'x');
  if (x.dtype !== (args.attrs as { dtype: string }).dtype) return callShipped(NATIVE, 'Cast', shipped, args);
  (args.backend as { incRef(dataId: object): void }).incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
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
  { name: 'Cast', kernelFunc: cast },
  ...BATCH_NORM_KERNELS,
];

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
