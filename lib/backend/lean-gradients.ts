/**
 * tfjs-core's gradient of FusedBatchNorm (the kernel behind tf.batchNorm), with the same numbers
 * and fewer ops, on every backend. Installed by initBackend() beside the lean backprop;
 * `CVAEGAN_LEAN_BACKPROP=0` keeps tfjs's own (both).
 *
 * tfjs-core 4.22's gradient (gradients/FusedBatchNorm_grad.ts) computes x - mean, dy * scale,
 * rsqrt(variance + eps) and rsqrt^3 / -2 up front, whichever input gradients the tape asks for,
 * and the input gradient as reshape(dy * tile(reshape(rsqrt, [1,1,1,C]), [N,H,W,1]) * scale):
 * a full-size tiled copy of a [C] vector. Where only dx is asked for (C in inference mode in
 * CVAE-GAN's step 3: its statistics and weights are not differentiated there) that is eight ops
 * where three do. Here:
 *   - each shared term is computed on first use (memo() below), so only what the tape asks for runs;
 *   - dx = (dy * rsqrt) * scale with rsqrt [C] broadcast along the channels: the same float32
 *     products as the tiled version, element for element, and no reshape when the shape is x's;
 *   - every other input gradient is tfjs's formula, op for op.
 * So the gradients are bit-for-bit tfjs's (test/lean-gradients.test.ts checks all five).
 */
import * as tf from '@tensorflow/tfjs';

let shipped: tf.GradConfig | undefined;

/**
 * A term computed on first use and shared by the input gradients that use it. Each input gradient
 * runs in its own tidy, so the term is kept past that tidy and added to the node's saved tensors,
 * which the backward pass disposes with the node (lib/backend/lean-backprop.ts right after it,
 * tfjs's own walk at its end): no tensor outlives the backward pass.
 */
function memo(saved: tf.Tensor[], f: () => tf.Tensor): () => tf.Tensor {
  let v: tf.Tensor | undefined;
  return () => {
    if (!v) {
      v = tf.keep(f());
      saved.push(v);
    }
    return v;
  };
}

const fusedBatchNormGrad: tf.GradConfig['gradFunc'] = (dy, saved, attrs) => {
  const { varianceEpsilon } = attrs as unknown as { varianceEpsilon: number };
  const [x, mean, variance, scale] = saved;
  const d = dy as tf.Tensor;
  const scaleValue = () => (scale == null ? tf.scalar(1) : scale);
  const reductionAxes = tf.backend_util.getReductionAxes(mean.shape, x.shape);
  const xMinusMean = memo(saved, () => tf.sub(x, mean));
  const dyTimesScaleValue = memo(saved, () => tf.mul(d, scaleValue()));
  const oneOverSqrtVariance = memo(saved, () => tf.rsqrt(tf.add(variance, tf.scalar(varianceEpsilon))));
  const minusHalfRCube = memo(saved, () => {
    const r = oneOverSqrtVariance();
    return tf.mul(tf.mul(tf.mul(r, r), r), tf.scalar(-0.5));
  });
  const reduced = (t: tf.Tensor) => tf.reshape(mean.rank === 1 ? tf.sum(t, reductionAxes) : t, mean.shape);
  const derX = () => {
    // tfjs: reshape(mul(mul(dy, tile(rsqrt)), scale), x.shape), with the tile only when mean is [C].
    const dyR = tf.mul(d, oneOverSqrtVariance());
    const out = scale == null ? tf.mul(dyR, tf.scalar(1)) : tf.mul(dyR, scale);
    return tf.util.arraysEqual(out.shape, x.shape) ? out : tf.reshape(out, x.shape);
  };
  return {
    x: derX,
    mean: () => reduced(tf.mul(tf.mul(oneOverSqrtVariance(), tf.scalar(-1)), dyTimesScaleValue())),
    variance: () => reduced(tf.mul(tf.mul(minusHalfRCube(), xMinusMean()), dyTimesScaleValue())),
    scale: () => reduced(tf.mul(d, tf.mul(xMinusMean(), oneOverSqrtVariance()))),
    offset: () => reduced(d),
  };
};

/** Replaces FusedBatchNorm's registered gradient (idempotent). */
export function installLeanGradients(): void {
  if (shipped) return;
  shipped = tf.getGradient('FusedBatchNorm');
  if (!shipped) throw new Error('tfjs has no gradient registered for FusedBatchNorm');
  tf.registerGradient({ ...shipped, gradFunc: fusedBatchNormGrad });
}

/** Puts tfjs's own gradient back (for tests and A/B runs). */
export function uninstallLeanGradients(): void {
  if (!shipped) return;
  tf.registerGradient(shipped);
  shipped = undefined;
}
