/**
 * Times the project's wasm conv gradient kernels against the shipped Conv2DBackpropInput, a
 * zero-dilation composition and the forward convolution, on CVAE-GAN-sized shapes.
 *
 *   npx tsx scripts/bench-wasm-kernels.ts [repeats]
 *   CVAEGAN_WASM_THREADS=2 npx tsx scripts/bench-wasm-kernels.ts [repeats]   (threaded build)
 */
import * as tf from '@tensorflow/tfjs';
import * as path from 'path';
import * as wasm from '@tensorflow/tfjs-backend-wasm';
import { registerWasmKernels, requestedWasmThreads, useThreadedWasm } from '../lib/backend/index';

const SHIPPED = 'ShippedConv2DBackpropInput';

async function setup(): Promise<void> {
  wasm.setWasmPaths(path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + path.sep);
  // Keep the package's kernel under another name before ours replaces it; its setupFunc (which binds
  // the wasm export) runs when the backend initialises, like every registered kernel's.
  const shipped = tf.getKernel('Conv2DBackpropInput', 'wasm');
  if (!shipped) throw new Error('the wasm package has no Conv2DBackpropInput kernel');
  tf.registerKernel({ ...shipped, kernelName: SHIPPED });
  const threads = requestedWasmThreads();
  if (threads > 1) useThreadedWasm(threads);
  registerWasmKernels();
  await tf.setBackend('wasm');
}

/** Median milliseconds of `repeats` runs of f (after one warm-up), reading the result back. */
async function time(f: () => tf.Tensor, repeats: number): Promise<number> {
  const ms: number[] = [];
  for (let i = 0; i <= repeats; i++) {
    const t0 = performance.now();
    const r = f();
    await r.data();
    r.dispose();
    if (i > 0) ms.push(performance.now() - t0);
  }
  ms.sort((a, b) => a - b);
  return ms[Math.floor(ms.length / 2)];
}

/** dx by inserting s-1 zeros between dy's rows/columns, then a stride-1 conv with the flipped filter. */
function zeroDilated(dy: tf.Tensor4D, w: tf.Tensor4D, xShape: number[], s: number, pad: 'same' | 'valid'): tf.Tensor4D {
  return tf.tidy(() => {
    const info = tf.backend_util.computeConv2DInfo(xShape as [number, number, number, number], w.shape, s, 1, pad);
    const [n, ho, wo, co] = dy.shape;
    const k = w.shape[0];
    const z = tf.concat([dy.reshape([n, ho, wo, 1, co]), tf.zeros([n, ho, wo, s - 1, co])], 3)
      .reshape([n, ho, wo * s, co]);
    const zz: tf.Tensor4D = tf.concat([z.reshape([n, ho, 1, wo * s, co]), tf.zeros([n, ho, s - 1, wo * s, co])], 2)
      .reshape([n, ho * s, wo * s, co]);
    const wf = tf.transpose(tf.reverse(w, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D;
    const top = k - 1 - info.padInfo.top;
    const bottom = info.inHeight + k - 1 - top - (ho * s - s + 1);
    const left = k - 1 - info.padInfo.left;
    const right = info.inWidth + k - 1 - left - (wo * s - s + 1);
    const cropped = tf.slice(zz, [0, 0, 0, 0], [n, ho * s - s + 1, wo * s - s + 1, co]);
    return tf.conv2d(cropped as tf.Tensor4D, wf, 1, [[0, 0], [top, bottom], [left, right], [0, 0]]);
  });
}

async function main(): Promise<void> {
  const repeats = Number(process.argv[2] ?? 3);
  await setup();
  // [x shape, kernel, stride, out channels]: the conv's input x and the transpose conv's output.
  const cases: [[number, number, number, number], number, number, number][] = [
    [[32, 16, 16, 128], 5, 2, 256], // 8x8x256 -> 16x16x128 transposed conv, 5x5
    [[32, 64, 64, 3], 5, 2, 64], // 32x32x64 -> 64x64x3
    [[32, 32, 32, 64], 4, 2, 128],
    [[32, 32, 32, 64], 3, 2, 128],
    [[32, 16, 16, 128], 3, 1, 128],
  ];
  console.log(`tfjs-backend-wasm ${wasm.version_wasm}, ${wasm.getThreadsCount()} thread(s), median of ${repeats}`);
  for (const [xShape, k, s, co] of cases) {
    const w = tf.randomNormal([k, k, xShape[3], co]) as tf.Tensor4D;
    const x = tf.randomNormal(xShape) as tf.Tensor4D;
    const dy = tf.randomNormal(tf.conv2d(x, w, s, 'same').shape) as tf.Tensor4D;
    const attrs = { strides: s, pad: 'same', dataFormat: 'NHWC', inputShape: xShape };
    const run = (name: string) => () => tf.engine().runKernel(name, { dy, filter: w }, attrs) as tf.Tensor;
    const ours = await time(run('Conv2DBackpropInput'), repeats);
    const shipped = await time(run(SHIPPED), repeats);
    const dilated = s > 1 ? await time(() => zeroDilated(dy, w, xShape, s, 'same'), repeats) : NaN;
    const filter = await time(() => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { ...attrs, filterShape: w.shape }) as tf.Tensor, repeats);
    const forward = await time(() => tf.conv2d(x, w, s, 'same'), repeats);
    console.log(`x ${xShape.join('x')} k${k} s${s} -> ${dy.shape.slice(1).join('x')}: ` +
      `dx sub-pixel ${ours.toFixed(0)} ms, shipped ${shipped.toFixed(0)} ms, zero-dilated ${dilated.toFixed(0)} ms; ` +
      `dW ${filter.toFixed(0)} ms; forward conv ${forward.toFixed(0)} ms`);
    tf.dispose([w, x, dy]);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
