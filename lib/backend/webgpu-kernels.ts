/**
 * Kernels of our own for @tensorflow/tfjs-backend-webgpu 4.22, registered on the 'webgpu' backend
 * when lib/backend/webgpu-node.ts activates it (as lib/backend/wasm-kernels.ts does for wasm):
 * Conv2DBackpropFilter in place of the shipped one, and CvaeganAdamUpdate, which Adam's
 * applyGradients uses on webgpu (below). `CVAEGAN_WEBGPU_KERNELS=0` keeps tfjs's own.
 *
 * Conv2DBackpropFilter: the shipped kernel gives each element of dW one GPU thread that loops over
 * the whole batch and every output position (N*Ho*Wo terms). dW is small next to that sum, so few
 * threads run long serial loops: on an H200 it took 168 of the 234 ms of kernel time in a
 * reference64 CVAE-GAN step, 9 ms per call for the first layer (dW [4,4,3,64]: 3,072 threads, each
 * summing 32,768 products). Here dW is one matrix product instead:
 *
 *   patches[(n,p,q), (i,j,c)] = x[n, p*sh + i - padTop, q*sw + j - padLeft, c]   (0 outside x)
 *   dW[(i,j,c), o] = sum over (n,p,q) of patches[(n,p,q), (i,j,c)] * dy[(n,p,q), o]
 *
 * patches (im2col, rows N*Ho*Wo, columns kh*kw*Cin, tap-major then channel as in the filter's
 * [kh,kw,Cin,Cout] layout) is written by one small shader of our own; the product is the backend's
 * own BatchMatMul with transposeA, which picks a tiled kernel, or split-K (atomic adds over chunks
 * of the long inner dimension) when dW is small, so the long sum runs on many workgroups. Two or
 * three dispatches per call instead of one, which matters because a step is ~2,000 dispatches.
 *
 * Inside a kernel everything is backend-level: our program through runWebGPUProgram and the
 * backend's own kernel functions on TensorInfos (no engine, no tape, nothing for tf.profile to
 * split: the whole cost shows as Conv2DBackpropFilter). Every intermediate is released with
 * backend.disposeData. NCHW, other dtypes and shapes whose patches would not fit the budget even
 * one image at a time go to the shipped kernel.
 *
 * Adam: tfjs's AdamOptimizer spends 13 dispatches per variable and step, and in Node each
 * dispatch costs more CPU time than most of these small kernels take on a GPU. A CVAE-GAN step
 * (tiny or reference64: 57 variables) was ~2,640 dispatches, 741 of them Adam's;
 * CvaeganAdamUpdate does one variable in 3 (2,045 dispatches per step).
 *
 * Nothing here loads tfjs-backend-webgpu (it must load after Dawn puts navigator.gpu in place).
 */
import * as tf from '@tensorflow/tfjs';
import { callShipped, installKernels, isProjectKernel, type Info, type KernelArgs, type ProjectKernel, type Shipped } from './kernel-override';

type Uniform = { type: 'int32' | 'float32'; data: number[] };
type NamedTensor = { name: string; tensor: tf.Tensor };

/** What this file uses of tfjs-backend-webgpu's WebGPUBackend (its program type is not exported). */
interface Backend {
  runWebGPUProgram(program: object, inputs: Info[], outputDtype: tf.DataType, uniforms?: Uniform[]): Info;
  disposeData(dataId: object): boolean;
  device: { limits: { maxStorageBufferBindingSize: number } };
}

/** Largest patches matrix in bytes (also capped by the device's storage binding size). */
let patchesBudgetBytes = 256 * 2 ** 20;

/** How Conv2DBackpropFilter calls were computed so far (for tests): as products, of them in more than one image group, or by the shipped kernel. */
export const filterGradStats = { im2col: 0, chunked: 0, shipped: 0 };

/** For tests: a small budget forces the per-image-group path. Returns the previous value. */
export function setPatchesBudgetBytes(bytes: number): number {
  const old = patchesBudgetBytes;
  patchesBudgetBytes = bytes;
  return old;
}

/**
 * im2col for the filter gradient: output [rows, kh*kw*Cin] for rows rowOffset.. of (n, p, q).
 * A WebGPUProgram in tfjs's own format: tfjs adds the buffers, the uniforms (shapes, strides,
 * size, then ours), getX() and setOutputAtIndex(), and calls main(index) once per element.
 */
class FilterGradIm2ColProgram {
  variableNames = ['x'];
  uniforms = 'pads : vec2<i32>, strides : vec2<i32>, outSize : vec2<i32>, filterWidth : i32, rowOffset : i32,';
  workgroupSize: [number, number, number] = [64, 1, 1];
  size = true;
  outputShape: number[];
  dispatchLayout = { x: [0, 1] };
  dispatch: [number, number, number];
  shaderKey = 'cvaeganFilterGradIm2Col';

  constructor(rows: number, cols: number) {
    this.outputShape = [rows, cols];
    // tfjs folds x > maxComputeWorkgroupsPerDimension into y and z (reshapeDispatch).
    this.dispatch = [Math.ceil((rows * cols) / this.workgroupSize[0]), 1, 1];
  }

  getUserCode(): string {
    return `
      fn main(index : i32) {
        if (index < uniforms.size) {
          let cols = uniforms.outShape[1];
          let r = index / cols;
          let col = index - r * cols;
          let row = r + uniforms.rowOffset;
          let q = row % uniforms.outSize[1];
          let np = row / uniforms.outSize[1];
          let p = np % uniforms.outSize[0];
          let n = np / uniforms.outSize[0];
          let c = col % uniforms.xShape[3];
          let tap = col / uniforms.xShape[3];
          let xr = p * uniforms.strides[0] + tap / uniforms.filterWidth - uniforms.pads[0];
          let xc = q * uniforms.strides[1] + tap % uniforms.filterWidth - uniforms.pads[1];
          var value = 0.0;
          if (xr >= 0 && xr < uniforms.xShape[1] && xc >= 0 && xc < uniforms.xShape[2]) {
            value = getX(n, xr, xc, c);
          }
          setOutputAtIndex(index, value);
        }
      }
    `;
  }
}

/** The backend's own kernel function (the registry's, so a replacement of ours would be used too). */
function kernel(name: string): tf.KernelFunc {
  const k = tf.getKernel(name, 'webgpu');
  if (!k) throw new Error(`the webgpu backend has no ${name} kernel`);
  return k.kernelFunc;
}

function run(name: string, backend: Backend, inputs: tf.NamedTensorInfoMap, attrs: object): Info {
  return kernel(name)({ inputs, backend: backend as unknown as tf.KernelBackend, attrs: attrs as tf.NamedAttrMap }) as Info;
}

function conv2DBackpropFilter(args: KernelArgs, shipped: Shipped): Info {
  const backend = args.backend as Backend;
  const a = args.attrs as unknown as tf.Conv2DBackpropFilterAttrs;
  const x = args.inputs.x;
  const dy = args.inputs.dy;
  if (!x || !dy) throw new Error('Conv2DBackpropFilter: inputs x and dy are required');
  if (a.dataFormat === 'NCHW' || x.dtype !== 'float32' || dy.dtype !== 'float32') {
    filterGradStats.shipped++;
    return callShipped('webgpu', 'Conv2DBackpropFilter', shipped, args);
  }
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number], a.filterShape, a.strides, 1, a.pad, a.dimRoundingMode, false, 'channelsLast');
  const { batchSize: n, outHeight: ho, outWidth: wo, filterHeight: kh, filterWidth: kw, inChannels: ci, outChannels: co } = info;
  if (dy.shape.length !== 4 || dy.shape[0] !== n || dy.shape[1] !== ho || dy.shape[2] !== wo || dy.shape[3] !== co) {
    throw new Error(`Conv2DBackpropFilter: dy has shape [${dy.shape}], the convolution of x [${x.shape}] gives [${[n, ho, wo, co]}]`);
  }
  const cols = kh * kw * ci;
  const perImage = ho * wo * cols; // patches elements per image
  const budget = Math.min(patchesBudgetBytes, backend.device.limits.maxStorageBufferBindingSize) / 4;
  const imagesPerChunk = Math.min(n, Math.floor(budget / perImage));
  if (imagesPerChunk < 1 || n * ho * wo === 0) {
    filterGradStats.shipped++;
    return callShipped('webgpu', 'Conv2DBackpropFilter', shipped, args);
  }
  filterGradStats.im2col++;
  if (imagesPerChunk < n) filterGradStats.chunked++;

  const base: Uniform[] = [
    { type: 'int32', data: [info.padInfo.top, info.padInfo.left] },
    { type: 'int32', data: [info.strideHeight, info.strideWidth] },
    { type: 'int32', data: [ho, wo] },
    { type: 'int32', data: [kw] },
  ];
  const release = (t: Info) => backend.disposeData(t.dataId);
  let acc: Info | undefined;
  for (let n0 = 0; n0 < n; n0 += imagesPerChunk) {
    const m = Math.min(imagesPerChunk, n - n0);
    const rows = m * ho * wo;
    const patches = backend.runWebGPUProgram(new FilterGradIm2ColProgram(rows, cols), [x], 'float32',
      [...base, { type: 'int32', data: [n0 * ho * wo] }]);
    const dyPart: Info = m === n ? dy : run('Slice', backend, { x: dy }, { begin: [n0, 0, 0, 0], size: [m, ho, wo, co] });
    const dy2 = run('Reshape', backend, { x: dyPart }, { shape: [rows, co] });
    const part = run('BatchMatMul', backend, { a: patches, b: dy2 }, { transposeA: true, transposeB: false });
    release(patches);
    release(dy2);
    if (dyPart !== dy) release(dyPart);
    if (acc) {
      const sum = run('Add', backend, { a: acc, b: part }, {});
      release(acc);
      release(part);
      acc = sum;
    } else {
      acc = part;
    }
  }
  const dW = run('Reshape', backend, { x: acc! }, { shape: [kh, kw, ci, co] });
  release(acc!);
  return dW;
}

/**
 * One Adam update of one variable as three elementwise programs (new m, new v, new value) instead
 * of tfjs's thirteen (5 Multiply, 3 Add, 3 RealDiv, Square, Sqrt, each a dispatch, most with a
 * scalar made from a JS number and uploaded). The same float32 operations in the same order as
 * tfjs's AdamOptimizer.applyGradients; the scalars travel as uniforms.
 */
class AdamProgram {
  variableNames: string[];
  uniforms: string;
  workgroupSize: [number, number, number] = [64, 1, 1];
  size = true;
  outputShape: number[];
  dispatchLayout = { x: [0] };
  dispatch: [number, number, number];
  shaderKey: string;

  constructor(private part: 'm' | 'v' | 'value', n: number) {
    this.variableNames = part === 'value' ? ['adamM', 'adamV', 'adamValue', 'adamCorr1', 'adamCorr2'] : ['adamMoment', 'adamGrad'];
    this.uniforms = part === 'value' ? 'negLr : f32, eps : f32,' : 'beta : f32, oneMinusBeta : f32,';
    this.outputShape = [n];
    this.dispatch = [Math.ceil(n / this.workgroupSize[0]), 1, 1];
    this.shaderKey = `cvaeganAdam_${part}`;
  }

  getUserCode(): string {
    const value = {
      // add(mul(m, beta1), mul(g, 1 - beta1))
      m: 'adamMoment[index] * uniforms.beta + adamGrad[index] * uniforms.oneMinusBeta',
      // add(mul(v, beta2), mul(square(g), 1 - beta2))
      v: 'adamMoment[index] * uniforms.beta + (adamGrad[index] * adamGrad[index]) * uniforms.oneMinusBeta',
      // add(mul(div(m / (1 - beta1^t), add(sqrt(v / (1 - beta2^t)), eps)), -lr), value)
      value: '((adamM[index] / adamCorr1[0]) / (sqrt(adamV[index] / adamCorr2[0]) + uniforms.eps)) * uniforms.negLr + adamValue[index]',
    }[this.part];
    return `
      fn main(index : i32) {
        if (index < uniforms.size) {
          setOutputAtIndex(index, ${value});
        }
      }
    `;
  }
}

/** Kernel CvaeganAdamUpdate: inputs grad, m, v, value, corr1 = 1 - beta1^t, corr2 (scalars); outputs new m, v, value. */
function adamUpdate(args: KernelArgs): Info[] {
  const backend = args.backend as Backend;
  const { beta1, beta2, learningRate, epsilon } = args.attrs as unknown as { beta1: number; beta2: number; learningRate: number; epsilon: number };
  const need = (k: string) => {
    const t = args.inputs[k];
    if (!t) throw new Error(`CvaeganAdamUpdate: input ${k} is missing`);
    return t;
  };
  const value = need('value');
  const shape = value.shape;
  const n = shape.reduce((a, b) => a * b, 1);
  const flat = (t: Info) => run('Reshape', backend, { x: t }, { shape: [n] });
  const [g, m, v, w] = ['grad', 'm', 'v', 'value'].map((k) => flat(need(k)));
  const f32 = (x: number): Uniform => ({ type: 'float32', data: [x] });
  const m2 = backend.runWebGPUProgram(new AdamProgram('m', n), [m, g], 'float32', [f32(beta1), f32(1 - beta1)]);
  const v2 = backend.runWebGPUProgram(new AdamProgram('v', n), [v, g], 'float32', [f32(beta2), f32(1 - beta2)]);
  const w2 = backend.runWebGPUProgram(new AdamProgram('value', n), [m2, v2, w, need('corr1'), need('corr2')], 'float32',
    [f32(-learningRate), f32(epsilon)]);
  const out = [m2, v2, w2].map((t) => run('Reshape', backend, { x: t }, { shape }));
  for (const t of [g, m, v, w, m2, v2, w2]) backend.disposeData(t.dataId);
  return out;
}

const KERNELS: ProjectKernel[] = [
  { name: 'Conv2DBackpropFilter', kernelFunc: conv2DBackpropFilter },
  { name: 'CvaeganAdamUpdate', kernelFunc: adamUpdate },
];

/** tfjs-core's AdamOptimizer internals that applyGradients uses (private in its typings). */
interface AdamState {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  accBeta1: tf.Variable;
  accBeta2: tf.Variable;
  accumulatedFirstMoment: { originalName: string; variable: tf.Variable }[];
  accumulatedSecondMoment: { originalName: string; variable: tf.Variable }[];
  incrementIterations(): void;
}

/**
 * tfjs-core 4.22's AdamOptimizer.applyGradients with the per-variable arithmetic in one
 * CvaeganAdamUpdate kernel: the same state (moments named `${name}/m` and `/v`, created on first
 * use in the same order, so getWeights/setWeights and checkpoints are unchanged), the same
 * bias-correction scalars, the same skipping of missing gradients.
 */
function fusedApplyGradients(opt: AdamState, variableGradients: tf.NamedTensorMap | NamedTensor[]): void {
  const list = Array.isArray(variableGradients) ? variableGradients : undefined;
  const names = list ? list.map((v) => v.name) : Object.keys(variableGradients);
  tf.tidy(() => {
    const corr1 = tf.sub(1, opt.accBeta1);
    const corr2 = tf.sub(1, opt.accBeta2);
    names.forEach((name, i) => {
      const value = tf.engine().registeredVariables[name];
      opt.accumulatedFirstMoment[i] ??= { originalName: `${name}/m`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) };
      opt.accumulatedSecondMoment[i] ??= { originalName: `${name}/v`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) };
      const grad = list ? list[i].tensor : (variableGradients as tf.NamedTensorMap)[name];
      if (grad == null) return;
      const m = opt.accumulatedFirstMoment[i].variable;
      const v = opt.accumulatedSecondMoment[i].variable;
      const [m2, v2, value2] = tf.engine().runKernel('CvaeganAdamUpdate', { grad, m, v, value, corr1, corr2 },
        { beta1: opt.beta1, beta2: opt.beta2, learningRate: opt.learningRate, epsilon: opt.epsilon }) as tf.Tensor[];
      m.assign(m2);
      v.assign(v2);
      value.assign(value2);
    });
    opt.accBeta1.assign(tf.mul(opt.accBeta1, opt.beta1));
    opt.accBeta2.assign(tf.mul(opt.accBeta2, opt.beta2));
  });
  opt.incrementIterations();
}

let adamPatched = false;

/**
 * Routes AdamOptimizer.applyGradients through fusedApplyGradients while the active backend is
 * webgpu with our kernel registered and every variable and gradient is float32; otherwise tfjs's
 * own method runs. Installed once per process.
 */
function patchAdam(): void {
  if (adamPatched) return;
  adamPatched = true;
  const proto = tf.AdamOptimizer.prototype as unknown as { applyGradients(g: tf.NamedTensorMap | NamedTensor[]): void };
  const original = proto.applyGradients;
  proto.applyGradients = function (this: AdamState, variableGradients: tf.NamedTensorMap | NamedTensor[]) {
    const tensors = Array.isArray(variableGradients) ? variableGradients.map((v) => v.tensor) : Object.values(variableGradients);
    const names = Array.isArray(variableGradients) ? variableGradients.map((v) => v.name) : Object.keys(variableGradients);
    const fused = tf.getBackend() === 'webgpu' && isProjectWebGpuKernel('CvaeganAdamUpdate') &&
      tensors.every((t) => t == null || t.dtype === 'float32') &&
      names.every((n) => tf.engine().registeredVariables[n]?.dtype === 'float32');
    if (fused) fusedApplyGradients(this, variableGradients);
    else original.call(this, variableGradients);
  };
}

/** Whether the kernel registered for `name` on webgpu is this project's (for tests and reports). */
export function isProjectWebGpuKernel(name: string): boolean {
  return isProjectKernel(name, 'webgpu');
}

/**
 * Registers the project's kernels for the 'webgpu' backend in place of the shipped ones
 * (idempotent) and returns their names. Call after tfjs-backend-webgpu is loaded (its kernels are
 * the fallbacks). `CVAEGAN_WEBGPU_KERNELS=0` keeps the shipped kernels, for comparisons.
 */
export function registerWebGpuKernels(): string[] {
  if (process.env.CVAEGAN_WEBGPU_KERNELS === '0') return [];
  const names = installKernels('webgpu', KERNELS);
  patchAdam();
  return names;
}
