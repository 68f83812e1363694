/**
 * Kernels that @tensorflow/tfjs-backend-wasm 4.22 lacks (or ships too slow for training), registered
 * on the wasm backend.
 *
 * Each kernel is a composition of the backend's own fast kernels (XNNPACK convolutions, transposes,
 * slices), written with tfjs-core ops: while a kernel runs, the engine dispatches ops to the active
 * backend (wasm) and records nothing on the gradient tape, so the ops are plain function calls here.
 * Every intermediate lives inside a tf.tidy; the result's buffer is handed to the engine by
 * `handOver` below.
 */
import * as tf from '@tensorflow/tfjs';
// Loading the package registers its own wasm kernels first, so ours replace them rather than the
// other way round (a later registration of the same name would win).
import '@tensorflow/tfjs-backend-wasm';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { callShipped, installKernels, type Info, type KernelArgs, type ProjectKernel, type Shipped } from './kernel-override';


function input(inputs: tf.NamedTensorInfoMap, name: string): Info {
  const t = inputs[name];
  if (!t) throw new Error(`kernel input '${name}' is missing`);
  return t;
}

/** The kernel inputs as Tensors. The engine passes Tensors; a bare TensorInfo gets a counted view. */
function asTensor<R extends tf.Rank>(info: Info, backend: BackendWasm): tf.Tensor<R> {
  if (info instanceof tf.Tensor) return info as tf.Tensor<R>;
  // The view must be disposed (the caller's tidy does it); incRef keeps that from freeing the input.
  backend.incRef(info.dataId);
  return tf.engine().makeTensorFromTensorInfo(info) as tf.Tensor<R>;
}

/**
 * Returns the buffer of `t` (made inside this kernel) as the kernel's output. The engine wraps a
 * kernel's output in a new Tensor without taking a reference on the buffer, so we take one for it
 * before disposing our own Tensor: tf.memory() then counts exactly one tensor and one buffer.
 */
function handOver(t: tf.Tensor, backend: BackendWasm): Info {
  backend.incRef(t.dataId);
  const out: Info = { dataId: t.dataId, shape: t.shape, dtype: t.dtype };
  t.dispose();
  return out;
}

function requireChannelsLast(kernel: string, dataFormat: unknown): void {
  if (dataFormat === 'NCHW') {
    // The wasm backend's forward Conv2D rejects NCHW too, so no model on wasm can produce this call.
    throw new Error(`${kernel} on wasm: dataFormat NCHW is not supported (the wasm backend is NHWC only)`);
  }
}

/**
 * dW[i,j,c,o] = sum_{n,p,q} xpad[n, p*s + i, q*s + j, c] * dy[n,p,q,o].
 *
 * Read with c as the batch, n as the input channel and (p,q) as the filter taps, that is a stride-1
 * convolution of x^T [C,H,W,N] with the filter dy^T [Ho,Wo,N,Co], dilated by the forward stride,
 * whose output [C,kh,kw,Co] is dW up to a transpose. One XNNPACK convolution does all the work;
 * it measured 7-14x faster than kh*kw strided-slice matMuls (numbers in docs/design.md).
 */
function conv2DBackpropFilter({ inputs, backend, attrs }: KernelArgs): Info {
  const wasm = backend as BackendWasm;
  const a = attrs as unknown as tf.Conv2DBackpropFilterAttrs;
  requireChannelsLast('Conv2DBackpropFilter', a.dataFormat);
  const result = tf.tidy(() => {
    const x = asTensor<tf.Rank.R4>(input(inputs, 'x'), wasm);
    const dy = asTensor<tf.Rank.R4>(input(inputs, 'dy'), wasm);
    const info = tf.backend_util.computeConv2DInfo(
      x.shape, a.filterShape, a.strides, 1, a.pad, a.dimRoundingMode, false, 'channelsLast');
    const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info;
    const [n, h, w, c] = x.shape;
    const [, ho, wo] = dy.shape;
    const top = info.padInfo.top;
    const left = info.padInfo.left;
    // Padding after the input so that the last tap of the last output row lands inside; negative
    // means 'valid' left rows/columns unused, which the convolution must not see.
    let bottom = (ho - 1) * sh + kh - h - top;
    let right = (wo - 1) * sw + kw - w - left;
    let xs = x;
    if (bottom < 0 || right < 0) {
      xs = tf.slice(x, [0, 0, 0, 0], [n, h + Math.min(0, bottom), w + Math.min(0, right), c]);
      bottom = Math.max(0, bottom);
      right = Math.max(0, right);
    }
    const xT = tf.transpose(xs, [3, 1, 2, 0]) as tf.Tensor4D;
    const dyT = tf.transpose(dy, [1, 2, 0, 3]) as tf.Tensor4D;
    const pads: [[number, number], [number, number], [number, number], [number, number]] =
      [[0, 0], [top, bottom], [left, right], [0, 0]];
    const g = tf.conv2d(xT, dyT, 1, pads, 'NHWC', [sh, sw]);
    return tf.transpose(g, [1, 2, 0, 3]);
  });
  return handOver(result, wasm);
}

/**
 * Pads (positive) or crops (negative) rows and columns of an NHWC tensor before a convolution.
 * Returns the tensor to convolve and the non-negative explicit padding for tf.conv2d.
 */
function padOrCrop(t: tf.Tensor4D, top: number, bottom: number, left: number, right: number):
  [tf.Tensor4D, [[number, number], [number, number], [number, number], [number, number]]] {
  const [n, h, w, c] = t.shape;
  const ct = Math.max(0, -top), cb = Math.max(0, -bottom), cl = Math.max(0, -left), cr = Math.max(0, -right);
  const cropped = ct || cb || cl || cr ? tf.slice(t, [0, ct, cl, 0], [n, h - ct - cb, w - cl - cr, c]) : t;
  return [cropped, [[0, 0], [Math.max(0, top), Math.max(0, bottom)], [Math.max(0, left), Math.max(0, right)], [0, 0]]];
}

/**
 * The flipped sub-filter of one phase (rh, rw): F[jh, jw, o, c] = W[(th-1-jh)*sh + ph, (tw-1-jw)*sw + pw, c, o]
 * for the th x tw taps of W whose row index is = ph (mod sh) and column index = pw (mod sw).
 */
function phaseFilter(w: Float32Array, [kh, kw, ci, co]: number[], sh: number, sw: number, ph: number, pw: number, th: number, tw: number): tf.Tensor4D {
  const f = new Float32Array(th * tw * co * ci);
  for (let jh = 0; jh < th; jh++) {
    const i = (th - 1 - jh) * sh + ph;
    for (let jw = 0; jw < tw; jw++) {
      const j = (tw - 1 - jw) * sw + pw;
      for (let c = 0; c < ci; c++) {
        const src = ((i * kw + j) * ci + c) * co;
        const dst = (jh * tw + jw) * co * ci + c;
        for (let o = 0; o < co; o++) f[dst + o * ci] = w[src + o];
      }
    }
  }
  return tf.tensor4d(f, [th, tw, co, ci]);
}

/**
 * dx of a convolution (and the forward pass of conv2dTranspose), as sh*sw stride-1 XNNPACK
 * convolutions, one per output phase (h mod sh, w mod sw) -- the "sub-pixel" decomposition.
 *
 * For h = m*s + r: with c = r + padTop = q*s + rho, dx[h] = sum_t dy[m + q - t] * W[t*s + rho]
 * over the T = ceil((k - rho)/s) taps of that phase. Each phase is a correlation of dy (shifted by
 * q) with its own flipped sub-filter, so no tap is a padding zero and no output row is wasted; the
 * phases are then interleaved by one concat + transpose + reshape. Zero-dilating dy instead would
 * spend s*s times the arithmetic on zeros, and one convolution with all phases as output channels
 * pads short phases with zero taps (36 for 25 at k=5, s=2) and, for odd padTop, computes an extra
 * row and column; numbers for all of these are in docs/design.md.
 */
function conv2DBackpropInput({ inputs, backend, attrs }: KernelArgs): Info {
  const wasm = backend as BackendWasm;
  const a = attrs as unknown as tf.Conv2DBackpropInputAttrs;
  requireChannelsLast('Conv2DBackpropInput', a.dataFormat);
  const filterInfo = input(inputs, 'filter');
  const result = tf.tidy(() => {
    const dy = asTensor<tf.Rank.R4>(input(inputs, 'dy'), wasm);
    const info = tf.backend_util.computeConv2DInfo(
      a.inputShape, filterInfo.shape as [number, number, number, number], a.strides, 1, a.pad,
      a.dimRoundingMode, false, 'channelsLast');
    const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw, inHeight: h, inWidth: w } = info;
    const [n, ho, wo] = dy.shape;
    const ci = info.inChannels;
    const mh = Math.ceil(h / sh), mw = Math.ceil(w / sw); // rows/columns per phase (padded to equal)
    const wv = wasm.readSync(filterInfo.dataId) as Float32Array;
    const phases: tf.Tensor4D[] = [];
    for (let rh = 0; rh < sh; rh++) {
      const qh = Math.floor((rh + info.padInfo.top) / sh), ph = (rh + info.padInfo.top) % sh;
      const th = Math.max(0, Math.ceil((kh - ph) / sh));
      for (let rw = 0; rw < sw; rw++) {
        const qw = Math.floor((rw + info.padInfo.left) / sw), pw = (rw + info.padInfo.left) % sw;
        const tw = Math.max(0, Math.ceil((kw - pw) / sw));
        if (th === 0 || tw === 0) {
          phases.push(tf.zeros([n, mh, mw, ci]));
          continue;
        }
        // out[m] = sum_j dy[m + q - (T-1) + j] * F[j], for m in [0, mh).
        const [dyc, pads] = padOrCrop(dy, th - 1 - qh, mh - 1 + qh - (ho - 1), tw - 1 - qw, mw - 1 + qw - (wo - 1));
        phases.push(tf.conv2d(dyc, phaseFilter(wv, filterInfo.shape, sh, sw, ph, pw, th, tw), 1, pads));
      }
    }
    if (phases.length === 1) return phases[0];
    const full = tf.transpose(tf.concat(phases, 3).reshape([n, mh, mw, sh, sw * ci]), [0, 1, 3, 2, 4])
      .reshape([n, mh * sh, mw * sw, ci]);
    return mh * sh === h && mw * sw === w ? full : tf.slice(full, [0, 0, 0, 0], [n, h, w, ci]);
  });
  return handOver(result, wasm);
}

/**
 * Gradient of max pooling: each dy goes to the first largest element of its window, as on the cpu
 * backend. The shipped wasm MaxPoolGrad drops the gradient of windows whose maximum is negative
 * (it returned 0 where cpu gives dy; found by test/wasm-gradients.test.ts), which after a
 * leaky ReLU is most windows of some channels. A JS loop over the wasm heap: pooling gradients
 * are a small part of a step.
 */
function maxPoolGrad({ inputs, backend, attrs }: KernelArgs): Info {
  const wasm = backend as BackendWasm;
  const a = attrs as unknown as tf.MaxPoolGradAttrs;
  const x = input(inputs, 'input');
  const dyInfo = input(inputs, 'dy');
  const info = tf.backend_util.computePool2DInfo(
    x.shape as [number, number, number, number], a.filterSize, a.strides, 1, a.pad, a.dimRoundingMode);
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: c, outHeight: ho, outWidth: wo } = info;
  const xs = wasm.readSync(x.dataId) as Float32Array;
  const dy = wasm.readSync(dyInfo.dataId) as Float32Array;
  const dx = new Float32Array(xs.length);
  const best = new Float32Array(c);
  const bestAt = new Int32Array(c);
  for (let b = 0; b < n; b++) {
    for (let p = 0; p < ho; p++) {
      const r0 = p * info.strideHeight - info.padInfo.top;
      const rLo = Math.max(0, r0), rHi = Math.min(h, r0 + info.effectiveFilterHeight);
      for (let q = 0; q < wo; q++) {
        const c0 = q * info.strideWidth - info.padInfo.left;
        const cLo = Math.max(0, c0), cHi = Math.min(w, c0 + info.effectiveFilterWidth);
        best.fill(-Infinity);
        bestAt.fill(-1);
        for (let r = rLo; r < rHi; r++) {
          for (let col = cLo; col < cHi; col++) {
            const base = ((b * h + r) * w + col) * c;
            for (let d = 0; d < c; d++) {
              if (xs[base + d] > best[d]) {
                best[d] = xs[base + d];
                bestAt[d] = base + d;
              }
            }
          }
        }
        const dyBase = ((b * ho + p) * wo + q) * c;
        for (let d = 0; d < c; d++) if (bestAt[d] >= 0) dx[bestAt[d]] += dy[dyBase + d];
      }
    }
  }
  return wasm.makeOutput(x.shape, 'float32', undefined, dx);
}

/**
 * Sum of the rows of x that share a segment id; ids outside [0, numSegments) are dropped, as on the
 * cpu backend. It only backs the gradient of tf.gather (embedding-style lookups), so a plain loop
 * over the wasm heap is enough.
 */
function unsortedSegmentSum({ inputs, backend, attrs }: KernelArgs): Info {
  const wasm = backend as BackendWasm;
  const x = input(inputs, 'x');
  const segmentIds = input(inputs, 'segmentIds');
  const numSegments = (attrs as unknown as tf.UnsortedSegmentSumAttrs).numSegments;
  const ids = wasm.readSync(segmentIds.dataId) as Int32Array | Float32Array;
  const values = wasm.readSync(x.dataId) as Int32Array | Float32Array;
  const inner = values.length / Math.max(1, ids.length);
  const out = x.dtype === 'int32' ? new Int32Array(numSegments * inner) : new Float32Array(numSegments * inner);
  for (let i = 0; i < ids.length; i++) {
    const s = ids[i];
    if (s < 0 || s >= numSegments) continue;
    for (let k = 0, src = i * inner, dst = s * inner; k < inner; k++) out[dst + k] += values[src + k];
  }
  const shape = [numSegments, ...x.shape.slice(segmentIds.shape.length)];
  return wasm.makeOutput(shape, x.dtype, undefined, out);
}

/**
 * matMul with transposeA/transposeB, as the wasm backend's XNNPACK path plus explicit transposes.
 * The shipped BatchMatMul only uses XNNPACK when neither operand is transposed and both batch
 * sizes are 1; otherwise it runs a blocked scalar loop ~10x slower. Every dense layer's gradient
 * is such a call (dx = dy W^T, dW = x^T dy). Transposing an operand costs one copy of it, small
 * next to the product. Batched products keep the shipped kernel.
 */
function batchMatMul(args: KernelArgs, shipped: Shipped): Info {
  const wasm = args.backend as BackendWasm;
  const { transposeA, transposeB } = args.attrs as unknown as tf.BatchMatMulAttrs;
  const a = input(args.inputs, 'a');
  const b = input(args.inputs, 'b');
  const batch = (t: Info) => t.shape.slice(0, -2).reduce((x, y) => x * y, 1);
  if ((!transposeA && !transposeB) || batch(a) !== 1 || batch(b) !== 1 || a.dtype !== 'float32' || b.dtype !== 'float32') {
    return callShipped('wasm', 'BatchMatMul', shipped, args);
  }
  const result = tf.tidy(() => {
    const swapLast = (t: tf.Tensor) => tf.transpose(t, [...t.shape.keys()].map((i, _, all) =>
      i === all.length - 2 ? all.length - 1 : i === all.length - 1 ? all.length - 2 : i));
    const at = transposeA ? swapLast(asTensor(a, wasm)) : asTensor(a, wasm);
    const bt = transposeB ? swapLast(asTensor(b, wasm)) : asTensor(b, wasm);
    return tf.matMul(at, bt); // no transposes now: the shipped XNNPACK path, through this kernel
  });
  return handOver(result, wasm);
}

/**
 * tf.tile as a broadcasting add. Batch-norm gradients tile per-channel [1,1,1,C] values to the
 * activation's shape, and the shipped Tile (an index-arithmetic loop) took ~70 ms for
 * [1,1,1,32] -> [16,32,32,32], against ~2 ms for this. Each axis i of the output splits into
 * (rep r_i, data d_i), rep-major; adjacent splits of the same kind merge, then x reshaped to the
 * data sizes (1 for reps) plus zeros of the full shape broadcast to it.
 */
function tile(args: KernelArgs, shipped: Shipped): Info {
  const wasm = args.backend as BackendWasm;
  const x = input(args.inputs, 'x');
  const { reps } = args.attrs as unknown as tf.TileAttrs;
  const dims: { size: number; rep: boolean }[] = [];
  x.shape.forEach((d, i) => {
    for (const seg of [{ size: reps[i], rep: true }, { size: d, rep: false }]) {
      if (seg.size === 1) continue;
      const last = dims[dims.length - 1];
      if (last && last.rep === seg.rep) last.size *= seg.size;
      else dims.push(seg);
    }
  });
  // XNNPACK broadcasts up to 6 dimensions; other dtypes and bigger ranks keep the shipped kernel.
  if (x.dtype !== 'float32' || dims.length > 6 || x.shape.some((d) => d === 0)) return callShipped('wasm', 'Tile', shipped, args);
  const result = tf.tidy(() => {
    const xs = asTensor(x, wasm).reshape(dims.map((s) => (s.rep ? 1 : s.size)));
    return tf.add(xs, tf.zeros(dims.map((s) => s.size))).reshape(x.shape.map((d, i) => d * reps[i]));
  });
  return handOver(result, wasm);
}

const KERNELS: ProjectKernel[] = [
  { name: 'Conv2DBackpropFilter', kernelFunc: conv2DBackpropFilter, replaces: false },
  { name: 'UnsortedSegmentSum', kernelFunc: unsortedSegmentSum, replaces: false },
  // The shipped one is a scalar loop, several times slower than the convolution it differentiates.
  { name: 'Conv2DBackpropInput', kernelFunc: conv2DBackpropInput, replaces: true },
  // The shipped one loses the gradient of windows whose maximum is negative.
  { name: 'MaxPoolGrad', kernelFunc: maxPoolGrad, replaces: true },
  // These two keep the shipped kernel for the cases they do not speed up.
  { name: 'BatchMatMul', kernelFunc: batchMatMul, replaces: true },
  { name: 'Tile', kernelFunc: tile, replaces: true },
];

/**
 * Registers the project's kernels for the 'wasm' backend (idempotent) and returns their names.
 * Call before tf.setBackend('wasm'): replacements that fall back to a shipped kernel need its
 * setup step, which runs when the backend starts.
 */
export function registerWasmKernels(): string[] {
  return installKernels('wasm', KERNELS);
}
