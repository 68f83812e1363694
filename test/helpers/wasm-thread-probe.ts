/**
 * A fixed conv / conv2dTranspose / dense computation whose forward value and gradients are compared
 * between the single-threaded and the threaded wasm build (test/wasm-gradients.test.ts). Sizes are
 * large enough for XNNPACK to split the work across threads (it parallelises over output tiles).
 */
import * as tf from '@tensorflow/tfjs';

function values(seed: number, n: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.sin(seed * 1000 + i * 0.7311) * 0.5;
  return out;
}

/** Loss and its gradients w.r.t. the input and every weight, as plain arrays. */
export async function threadProbe(): Promise<number[][]> {
  const x = tf.tensor4d(values(1, 8 * 16 * 16 * 8), [8, 16, 16, 8]);
  const w1 = tf.variable(tf.tensor4d(values(2, 5 * 5 * 8 * 32), [5, 5, 8, 32]));
  const w2 = tf.variable(tf.tensor4d(values(3, 4 * 4 * 8 * 32), [4, 4, 8, 32]));
  const w3 = tf.variable(tf.tensor2d(values(4, 16 * 16 * 8 * 4), [16 * 16 * 8, 4]));
  const xv = tf.variable(x);
  const f = () => tf.tidy(() => {
    const h = tf.leakyRelu(tf.conv2d(xv, w1 as tf.Variable<tf.Rank.R4>, 2, 'same'), 0.2);
    const y = tf.conv2dTranspose(h, w2 as tf.Variable<tf.Rank.R4>, [8, 16, 16, 8], 2, 'same');
    return tf.sum(tf.square(tf.matMul(tf.reshape(y, [8, -1]), w3))) as tf.Scalar;
  });
  const { value, grads } = tf.variableGrads(f, [xv, w1, w2, w3]);
  const out = [[(await value.data())[0]]];
  for (const v of [xv, w1, w2, w3]) out.push(Array.from(await grads[v.name].data()));
  tf.dispose([value, ...Object.values(grads), x, xv, w1, w2, w3]);
  return out;
}
