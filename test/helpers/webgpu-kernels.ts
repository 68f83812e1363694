/**
 * Child process of test/webgpu.test.ts: with CVAEGAN_BACKEND=webgpu, runs the project's webgpu
 * kernels (lib/webgpu-kernels.ts) against the cpu backend on the same numbers: Conv2DBackpropFilter
 * on small versions of the filter-gradient shapes our nets use, and three Adam steps. Prints one
 * JSON line `{ registered, cases: [{ name, relErr, path, leakedTensors, leakedData }], adam }`
 * (path: how our kernel computed it), or `{ skip: reason }` when WebGPU does not load here.
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../lib/backend/index';
import { filterGradStats, isProjectWebGpuKernel, setPatchesBudgetBytes } from '../../lib/backend/webgpu-kernels';

type Pad = 'same' | 'valid' | number | [[number, number], [number, number], [number, number], [number, number]];
interface Case {
  name: string;
  x: [number, number, number, number];
  filter: [number, number, number, number];
  strides: number | [number, number];
  pad: Pad;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  dataFormat?: 'NHWC' | 'NCHW';
  /** Patches budget in bytes (default: the module's). */
  budget?: number;
}

const CASES: Case[] = [
  // The nets' layers, scaled down: 4x4 stride 2 (reference64), 5x5 stride 2 (cpu/paper), 3x3 (G, tiny).
  { name: '4x4 s2 same, odd size', x: [3, 9, 9, 3], filter: [4, 4, 3, 5], strides: 2, pad: 'same' },
  { name: '4x4 s2 same, split-K matmul', x: [2, 64, 64, 3], filter: [4, 4, 3, 8], strides: 2, pad: 'same' },
  { name: '4x4 s2 same, tiled matmul', x: [2, 8, 8, 32], filter: [4, 4, 32, 64], strides: 2, pad: 'same' },
  { name: '5x5 s2 same, non-square', x: [2, 11, 7, 3], filter: [5, 5, 3, 4], strides: 2, pad: 'same' },
  { name: '5x5 s2 valid', x: [3, 10, 10, 5], filter: [5, 5, 5, 3], strides: 2, pad: 'valid' },
  { name: '3x3 s1 same', x: [2, 9, 9, 4], filter: [3, 3, 4, 8], strides: 1, pad: 'same' },
  { name: '3x3 s1 valid, small dW (reduce matmul)', x: [2, 7, 9, 3], filter: [3, 3, 3, 4], strides: 1, pad: 'valid' },
  { name: '3x3 strides [2,1], explicit padding', x: [2, 9, 8, 3], filter: [3, 3, 3, 4], strides: [2, 1], pad: [[0, 0], [1, 2], [0, 1], [0, 0]] },
  { name: '4x4 s2 explicit padding', x: [2, 8, 8, 6], filter: [4, 4, 6, 3], strides: 2, pad: [[0, 0], [1, 1], [2, 1], [0, 0]] },
  { name: '3x3 s2 pad 1, dimRoundingMode ceil', x: [2, 8, 8, 3], filter: [3, 3, 3, 2], strides: 2, pad: 1, dimRoundingMode: 'ceil' },
  // 9216 x 512 patches: more than 65,535 workgroups of 64, so tfjs folds the dispatch into 2-D
  // (as for reference64's first layer at batch 96). Few output channels keep the cpu side short.
  { name: 'folded dispatch (4.7 M patches)', x: [9, 64, 64, 32], filter: [4, 4, 32, 2], strides: 2, pad: 'same' },
  // 2 images' patches per chunk: 3 chunks (2 + 2 + 1 images), sliced dy, summed products.
  { name: 'chunked over images', x: [5, 9, 9, 3], filter: [4, 4, 3, 5], strides: 2, pad: 'same', budget: 2 * 25 * 48 * 4 },
  // One image does not fit: the shipped kernel.
  { name: 'too big for the budget: shipped kernel', x: [2, 9, 9, 3], filter: [4, 4, 3, 5], strides: 2, pad: 'same', budget: 64 },
  { name: 'NCHW: shipped kernel', x: [2, 3, 9, 9], filter: [3, 3, 3, 4], strides: 2, pad: 'same', dataFormat: 'NCHW' },
];

/** Deterministic values in [-1, 1). */
function values(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

async function filterGrad(c: Case, xv: Float32Array, dyv: Float32Array, dyShape: number[]): Promise<Float32Array> {
  const x = tf.tensor4d(xv, c.x);
  const dy = tf.tensor4d(dyv, dyShape as [number, number, number, number]);
  const attrs = { strides: c.strides, pad: c.pad, dataFormat: c.dataFormat ?? 'NHWC', dimRoundingMode: c.dimRoundingMode, filterShape: c.filter };
  const out = tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
  const data = (await out.data()) as Float32Array;
  tf.dispose([x, dy, out]);
  return data;
}

async function main(): Promise<void> {
  try {
    await initBackend();
  } catch (e) {
    console.log(JSON.stringify({ skip: (e as Error).message }));
    return;
  }
  const registered = isProjectWebGpuKernel('Conv2DBackpropFilter');
  const cases = [];
  for (const [i, c] of CASES.entries()) {
    const channelsLast = (c.dataFormat ?? 'NHWC') === 'NHWC';
    const info = tf.backend_util.computeConv2DInfo(c.x, c.filter, c.strides, 1, c.pad, c.dimRoundingMode, false, channelsLast ? 'channelsLast' : 'channelsFirst');
    const dyShape = channelsLast ? [c.x[0], info.outHeight, info.outWidth, c.filter[3]] : [c.x[0], c.filter[3], info.outHeight, info.outWidth];
    const xv = values(c.x.reduce((a, b) => a * b), 100 + i);
    const dyv = values(dyShape.reduce((a, b) => a * b), 200 + i);

    await tf.setBackend('webgpu');
    const old = c.budget !== undefined ? setPatchesBudgetBytes(c.budget) : undefined;
    // A first run compiles the shaders; the second is the one whose leftovers are counted.
    await filterGrad(c, xv, dyv, dyShape);
    const tensors = tf.memory().numTensors;
    const dataIds = tf.backend().numDataIds();
    const stats = { ...filterGradStats };
    const gpu = await filterGrad(c, xv, dyv, dyShape);
    const path = (['im2col', 'chunked', 'shipped'] as const).filter((k) => filterGradStats[k] > stats[k]).join('+');
    const leakedTensors = tf.memory().numTensors - tensors;
    const leakedData = tf.backend().numDataIds() - dataIds;
    if (old !== undefined) setPatchesBudgetBytes(old);

    await tf.setBackend('cpu');
    const cpu = await filterGrad(c, xv, dyv, dyShape);
    let maxErr = 0;
    let maxRef = 0;
    for (let k = 0; k < cpu.length; k++) {
      maxErr = Math.max(maxErr, Math.abs(gpu[k] - cpu[k]));
      maxRef = Math.max(maxRef, Math.abs(cpu[k]));
    }
    cases.push({ name: c.name, size: cpu.length, sameSize: gpu.length === cpu.length, relErr: maxErr / maxRef, maxRef, path, leakedTensors, leakedData });
  }
  console.log(JSON.stringify({ registered, cases, adam: await adamSteps() }));
}

/**
 * Three Adam steps on a few variables, on webgpu (CvaeganAdamUpdate through the patched
 * applyGradients) and on cpu (tfjs's own), from the same values and gradients; the second step
 * passes a map with one gradient missing (that variable must not move).
 */
async function adamSteps() {
  const shapes = [[3, 5], [7], [2, 2, 2, 3], [1]];
  const run = async (backend: string) => {
    await tf.setBackend(backend);
    const vars = shapes.map((s, i) => tf.variable(tf.tensor(values(s.reduce((a, b) => a * b, 1), 300 + i), s), true, `adamtest-${backend}/v${i}`));
    const opt = tf.train.adam(0.01, 0.5, 0.999);
    const kernels = new Set<string>();
    const counts: number[] = [];
    for (let step = 0; step < 3; step++) {
      const grads = vars.map((v, i) => tf.tensor(values(v.size, 1000 * step + i), v.shape));
      const update = () => {
        if (step === 1) {
          // Same order as the other steps (Adam's state is by position); one variable has no gradient.
          const map: tf.NamedTensorMap = {};
          vars.forEach((v, i) => { map[v.name] = i === 2 ? (undefined as unknown as tf.Tensor) : grads[i]; });
          opt.applyGradients(map as tf.NamedTensorMap as Parameters<typeof opt.applyGradients>[0]);
        } else {
          opt.applyGradients(vars.map((v, i) => ({ name: v.name, tensor: grads[i] })));
        }
      };
      const info = await tf.profile(update);
      for (const k of info.kernels) kernels.add(k.name);
      tf.dispose(grads);
      counts.push(tf.memory().numTensors, tf.backend().numDataIds());
    }
    const weights = await opt.getWeights();
    const out = {
      values: await Promise.all(vars.map(async (v) => Array.from(await v.data()))),
      weights: await Promise.all(weights.map(async (w) => ({ name: w.name.replace(`-${backend}`, ''), data: Array.from(await w.tensor.data()) }))),
      kernels: [...kernels].sort(),
      counts,
    };
    opt.dispose();
    tf.dispose(vars);
    return out;
  };
  const gpu = await run('webgpu');
  const cpu = await run('cpu');
  let maxErr = 0;
  const compare = (a: number[], b: number[]) => a.forEach((x, i) => { maxErr = Math.max(maxErr, Math.abs(x - b[i]) / Math.max(1, Math.abs(b[i]))); });
  gpu.values.forEach((v, i) => compare(v, cpu.values[i]));
  gpu.weights.forEach((w, i) => compare(w.data, cpu.weights[i].data));
  return {
    maxErr,
    sameWeightNames: JSON.stringify(gpu.weights.map((w) => w.name)) === JSON.stringify(cpu.weights.map((w) => w.name)),
    weightNames: gpu.weights.map((w) => w.name),
    webgpuKernels: gpu.kernels,
    cpuKernels: cpu.kernels,
    // numTensors, numDataIds after each webgpu step: flat from the first (moments created then).
    counts: gpu.counts,
  };
}

main().then(
  // Dawn keeps the process alive while navigator.gpu is referenced.
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
