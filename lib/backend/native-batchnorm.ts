/**
 * Batch normalization on the native backend as TensorFlow's fused kernels, one op forward and one
 * backward, in training and in inference mode (a lever of lib/backend/native-kernels.ts).
 *
 * - Training mode: tfjs-layers computes the moments (mean, squared difference, mean, casts), calls
 *   the inference kernel with them, updates both moving statistics with three ops each, and
 *   differentiates all of it, through the moments too: ~45 TensorFlow ops per layer and step.
 *   Here FusedBatchNormV3 (is_training) forward and FusedBatchNormGradV3 backward inside a
 *   tf.customGrad. The same kernel updates the moving mean (momentum * old + (1 - momentum) *
 *   batch); the moving variance is updated as tfjs-layers does (moving -= (moving - batch) *
 *   (1 - momentum)) from the biased batch variance TensorFlow returns in a reserve output
 *   (tfjs-layers uses the biased variance too; TensorFlow's own update would use the
 *   Bessel-corrected one).
 * - Inference mode (C as a fixed feature extractor in CVAE-GAN's step 3, whose input gradient
 *   is still needed; D runs there in training mode, its statistics put back afterwards): tfjs's FusedBatchNorm kernel plus a reshape forward, four ops and a
 *   reshape for the input gradient. Here FusedBatchNormV3 and FusedBatchNormGradV3 with
 *   is_training false (the moving statistics are constants of the pass: tf.layers never trains
 *   them, so no gradient is returned for them).
 * Dense layers' [m, C] inputs are reshaped to [m, 1, 1, C] around the kernels. The same functions
 * as tfjs-layers' code; float32 roundings differ (sums in another order).
 */
import * as tf from '@tensorflow/tfjs';
import type { Info, KernelArgs, ProjectKernel } from './kernel-override';
import { floatT, nativeLevers, need, ours, type NativeBackend, type NativeBinding, type OpAttr } from './native-common';

function batchNormAttrs(b: NativeBinding, epsilon: number, training: boolean): OpAttr[] {
  return [
    floatT(b), floatT(b, 'U'),
    { name: 'epsilon', type: b.TF_ATTR_FLOAT, value: epsilon },
    { name: 'data_format', type: b.TF_ATTR_STRING, value: 'NHWC' },
    { name: 'is_training', type: b.TF_ATTR_BOOL, value: training },
  ];
}

/**
 * CvaeganBatchNorm {x [N,H,W,C], scale, offset, mean, variance} {epsilon, momentum, training}.
 * Training: -> [y, new moving mean, batch mean, biased batch variance, reserve]; `mean` and
 * `variance` are the moving statistics, exponential_avg_factor = 1 - momentum updates the mean
 * (its variance output, Bessel-corrected, is dropped). Inference: -> [y, reserve], normalized by
 * `mean` and `variance`.
 */
function batchNorm({ inputs, backend, attrs }: KernelArgs): Info[] {
  const b = backend as NativeBackend;
  const { epsilon, momentum, training } = attrs as { epsilon: number; momentum: number; training: boolean };
  const out = b.executeMultipleOutputs('FusedBatchNormV3', [...batchNormAttrs(b.binding, epsilon, training),
    { name: 'exponential_avg_factor', type: b.binding.TF_ATTR_FLOAT, value: training ? 1 - momentum : 1 }],
  ['x', 'scale', 'offset', 'mean', 'variance'].map((k) => need(inputs, k)), 6);
  // out: y, batch_mean (training: new moving mean), batch_variance, reserve_space_1 (batch mean),
  // reserve_space_2 (biased batch variance), reserve_space_3.
  const keep = training ? [0, 1, 3, 4, 5] : [0, 5];
  out.forEach((t, i) => keep.includes(i) || t.dispose());
  return keep.map((i) => out[i]);
}

/**
 * CvaeganBatchNormGrad {dy, x, scale, mean, variance, reserve} {epsilon, training} -> [dx, dscale,
 * doffset]; mean and variance are the batch's (training) or the moving ones (inference).
 */
function batchNormGrad({ inputs, backend, attrs }: KernelArgs): Info[] {
  const b = backend as NativeBackend;
  const { epsilon, training } = attrs as { epsilon: number; training: boolean };
  const out = b.executeMultipleOutputs('FusedBatchNormGradV3', batchNormAttrs(b.binding, epsilon, training),
    ['dy', 'x', 'scale', 'mean', 'variance', 'reserve'].map((k) => need(inputs, k)), 5);
  out[3].dispose();
  out[4].dispose();
  return out.slice(0, 3);
}

export const BATCH_NORM_KERNELS: ProjectKernel[] = [
  { name: 'CvaeganBatchNorm', kernelFunc: batchNorm },
  { name: 'CvaeganBatchNormGrad', kernelFunc: batchNormGrad },
];

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
 * y = batch norm of x [N,H,W,C] as one op forward and one op backward (gradients for x, gamma and
 * beta). Training also returns the moving mean's update and the batch's biased variance (not
 * differentiated: they feed the moving statistics); the caller disposes both.
 */
function fusedBatchNorm(x: tf.Tensor4D, layer: BatchNormLayer, training: boolean): { y: tf.Tensor4D; movingMean?: tf.Tensor1D; variance?: tf.Tensor1D } {
  const { epsilon, momentum } = layer;
  let movingMean: tf.Tensor1D | undefined;
  let variance: tf.Tensor1D | undefined;
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xx, g, bb] = args as tf.Tensor[];
    const save = args[3] as tf.GradSaveFunc;
    const [mean0, var0] = [layer.movingMean.read(), layer.movingVariance.read()];
    const outs = tf.engine().runKernel('CvaeganBatchNorm', { x: xx, scale: g, offset: bb, mean: mean0, variance: var0 }, { epsilon, momentum, training }) as tf.Tensor[];
    let y: tf.Tensor;
    if (training) {
      const [y0, mm, m, v, reserve] = outs;
      save([xx, g, m, v, reserve]);
      // Kept past customGrad's own tidy; disposed by the caller once the moving statistics have them.
      movingMean = tf.keep(mm) as tf.Tensor1D;
      variance = tf.keep(v) as tf.Tensor1D;
      y = y0;
    } else {
      const [y0, reserve] = outs;
      save([xx, g, mean0, var0, reserve]);
      y = y0;
    }
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, s: tf.Tensor[]) => {
        const [sx, sg, sm, sv, sr] = s;
        return tf.engine().runKernel('CvaeganBatchNormGrad', { dy, x: sx, scale: sg, mean: sm, variance: sv, reserve: sr }, { epsilon, training }) as tf.Tensor[];
      },
    };
  });
  const y = op(x, layer.gamma.read(), layer.beta.read()) as tf.Tensor4D;
  return { y, movingMean, variance };
}

/** tfjs-layers' moving-average update, op for op: moving <- moving - (moving - value) * (1 - momentum). */
function movingAverage(variable: BatchNormLayer['movingMean'], value: tf.Tensor, momentum: number): void {
  tf.tidy(() => {
    const decay = 1 - momentum;
    const orig = variable.read();
    variable.write(tf.sub(orig, tf.mul(tf.sub(orig, value), decay)));
  });
}

let patched = false;

/** BatchNormalization.call with the fused paths where they apply; tfjs-layers' call elsewhere. */
export function patchBatchNormalization(): void {
  if (patched) return;
  patched = true;
  const proto = Object.getPrototypeOf(tf.layers.batchNormalization({})) as { call: CallFn };
  const shipped = proto.call;
  proto.call = function (this: BatchNormLayer, inputs, kwargs) {
    const x = Array.isArray(inputs) ? (inputs.length === 1 ? inputs[0] : undefined) : inputs;
    const applies = nativeLevers.batchNorm && x !== undefined && x.dtype === 'float32' && (x.rank === 4 || x.rank === 2) &&
      (this.axis === -1 || this.axis === x.rank - 1) && this.center && this.scale && ours('CvaeganBatchNorm');
    if (!applies) return shipped.call(this, inputs, kwargs);
    const training = kwargs?.training === true;
    return tf.tidy(() => {
      const c = x.shape[x.rank - 1];
      const x4 = x.rank === 4 ? (x as tf.Tensor4D) : (tf.reshape(x, [x.shape[0], 1, 1, c]) as tf.Tensor4D);
      const { y, movingMean, variance } = fusedBatchNorm(x4, this, training);
      if (movingMean && variance) {
        this.movingMean.write(movingMean);
        movingAverage(this.movingVariance, variance, this.momentum);
        tf.dispose([movingMean, variance]);
      }
      return x.rank === 4 ? y : tf.reshape(y, x.shape);
    });
  };
}
