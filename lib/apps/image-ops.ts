/**
 * Image measures and resampling for inpainting and super-resolution: PSNR, masked MSE, masks in one
 * shape, box-filter down-sampling (super-resolution's observation model), nearest-neighbour and
 * bicubic up-sampling. Plain tensor functions, no model.
 */
import * as tf from '@tensorflow/tfjs';

/**
 * Peak signal-to-noise ratio per image, in dB:
 *   PSNR(a, b) = 10 log10( range^2 / MSE ),   MSE = mean over the image's pixels and channels of (a - b)^2
 * range = 2 for images in [-1, 1] (the default), 1 for [0, 1], 255 for bytes. Identical images: Infinity.
 */
export function psnr(a: tf.Tensor4D, b: tf.Tensor4D, range = 2): number[] {
  if (a.shape.join() !== b.shape.join()) throw new Error(`psnr: shapes differ, [${a.shape}] vs [${b.shape}]`);
  const mse = tf.tidy(() => tf.mean(tf.squaredDifference(tf.cast(a, 'float32'), tf.cast(b, 'float32')), [1, 2, 3]));
  const v = Array.from(mse.dataSync());
  mse.dispose();
  return v.map((m) => 10 * Math.log10((range * range) / m));
}

/**
 * Mean squared error per image over the pixels where `mask` is 1 (all channels):
 *   sum(mask * (a - b)^2) / (channels * sum(mask)).   mask: [n or 1, H, W, 1] (or [H, W]), 1 = counted.
 */
export function maskedMse(a: tf.Tensor4D, b: tf.Tensor4D, mask: tf.Tensor): number[] {
  const n = a.shape[0];
  const v = tf.tidy(() => {
    const m = tf.broadcastTo(asMask4D(mask, a.shape[1], a.shape[2]), [n, a.shape[1], a.shape[2], 1]);
    const se = tf.sum(tf.mul(tf.squaredDifference(a, b), m), [1, 2, 3]);
    return tf.div(se, tf.mul(tf.sum(m, [1, 2, 3]), a.shape[3]));
  });
  const out = Array.from(v.dataSync());
  v.dispose();
  return out;
}

function checkFactor(x: tf.Tensor4D, factor: number, what: string): void {
  if (!(Number.isInteger(factor) && factor >= 1)) throw new Error(`${what}: factor must be a positive integer (got ${factor})`);
  if (x.shape[1] % factor !== 0 || x.shape[2] % factor !== 0) throw new Error(`${what}: ${x.shape[1]}x${x.shape[2]} images do not divide by ${factor}`);
}

/**
 * The observation model of our super-resolution: box-filter down-sampling by an integer factor f,
 * each low-resolution pixel the mean of an f x f block:
 *   low[i, j] = (1 / f^2) sum_{p, q < f} x[f i + p, f j + q]
 * Written as reshape + mean (not avgPool) so its gradient uses only reshapes and broadcasts.
 */
export function downsample(x: tf.Tensor4D, factor: number): tf.Tensor4D {
  checkFactor(x, factor, 'downsample');
  const [n, h, w, c] = x.shape;
  return tf.tidy(() => tf.mean(tf.reshape(x, [n, h / factor, factor, w / factor, factor, c]), [2, 4]) as tf.Tensor4D);
}

/** Nearest-neighbour up-sampling by an integer factor: each pixel becomes an f x f block (exact copies). */
export function upsampleNearest(x: tf.Tensor4D, factor: number): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  return tf.tidy(() => {
    const r = tf.tile(tf.reshape(x, [n, h, 1, w, 1, c]), [1, 1, factor, 1, factor, 1]);
    return tf.reshape(r, [n, h * factor, w * factor, c]) as tf.Tensor4D;
  });
}

/**
 * Keys' cubic convolution kernel with a = -0.5 (the "bicubic" of Matlab, OpenCV and PIL):
 *   W(s) = (a + 2)|s|^3 - (a + 3)|s|^2 + 1          |s| <= 1
 *   W(s) = a|s|^3 - 5a|s|^2 + 8a|s| - 4a            1 < |s| < 2
 *   W(s) = 0                                         otherwise
 */
export function keysCubic(s: number, a = -0.5): number {
  const x = Math.abs(s);
  if (x <= 1) return (a + 2) * x ** 3 - (a + 3) * x ** 2 + 1;
  if (x < 2) return a * x ** 3 - 5 * a * x ** 2 + 8 * a * x - 4 * a;
  return 0;
}

/** For each output index: the 4 source indices (clamped to the edge) and their Keys weights. */
function cubicTaps(inSize: number, outSize: number): { idx: Int32Array; w: Float64Array } {
  const idx = new Int32Array(outSize * 4);
  const w = new Float64Array(outSize * 4);
  const scale = inSize / outSize;
  for (let o = 0; o < outSize; o++) {
    // Half-pixel centres: output pixel o covers the source position (o + 0.5) * in/out - 0.5.
    const src = (o + 0.5) * scale - 0.5;
    const i0 = Math.floor(src);
    const t = src - i0;
    for (let k = -1; k <= 2; k++) {
      idx[o * 4 + k + 1] = Math.min(inSize - 1, Math.max(0, i0 + k)); // replicate the edge pixel
      w[o * 4 + k + 1] = keysCubic(t - k);
    }
  }
  return { idx, w };
}

/**
 * Bicubic resizing (Keys a = -0.5, half-pixel centres, edge pixels replicated), separable: rows,
 * then columns, on CPU arrays (tfjs has only bilinear and nearest-neighbour resizing). The kernel
 * overshoots at edges, so results are clipped to `clip` (default [-1, 1], our image range; null keeps
 * them). Identity at size = input size.
 */
export function bicubicResize(x: tf.Tensor4D, size: [number, number], clip: [number, number] | null = [-1, 1]): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  const [H, W] = size;
  if (!(Number.isInteger(H) && Number.isInteger(W) && H >= 1 && W >= 1)) throw new Error(`bicubicResize: size must be two positive integers (got ${size})`);
  const src = x.dataSync();
  const rows = cubicTaps(h, H);
  const cols = cubicTaps(w, W);
  // Pass 1: resize along height, [n, H, w, c].
  const mid = new Float64Array(n * H * w * c);
  for (let b = 0; b < n; b++) {
    for (let o = 0; o < H; o++) {
      for (let k = 0; k < 4; k++) {
        const wt = rows.w[o * 4 + k];
        if (wt === 0) continue;
        const from = (b * h + rows.idx[o * 4 + k]) * w * c;
        const to = (b * H + o) * w * c;
        for (let j = 0; j < w * c; j++) mid[to + j] += wt * src[from + j];
      }
    }
  }
  // Pass 2: resize along width, [n, H, W, c].
  const out = new Float32Array(n * H * W * c);
  for (let r = 0; r < n * H; r++) {
    for (let o = 0; o < W; o++) {
      for (let ch = 0; ch < c; ch++) {
        let s = 0;
        for (let k = 0; k < 4; k++) s += cols.w[o * 4 + k] * mid[(r * w + cols.idx[o * 4 + k]) * c + ch];
        out[(r * W + o) * c + ch] = clip ? Math.min(clip[1], Math.max(clip[0], s)) : s;
      }
    }
  }
  return tf.tensor4d(out, [n, H, W, c]);
}

/** Brings a mask to [n or 1, H, W, 1] float (1 = hole). Accepts [H, W], [H, W, 1], [n, H, W] or [n, H, W, 1]. */
export function asMask4D(mask: tf.Tensor, h: number, w: number): tf.Tensor4D {
  return tf.tidy(() => {
    let m: tf.Tensor = tf.cast(mask, 'float32');
    if (m.rank === 2) m = tf.reshape(m, [1, h, w, 1]);
    else if (m.rank === 3) m = m.shape[2] === 1 && m.shape[0] === h ? tf.reshape(m, [1, h, w, 1]) : tf.expandDims(m, 3);
    if (m.rank !== 4 || m.shape[1] !== h || m.shape[2] !== w || m.shape[3] !== 1) {
      throw new Error(`mask has shape [${mask.shape}], expected [${h}, ${w}] or [n, ${h}, ${w}, 1]`);
    }
    // Anything non-zero is hole: the mask is binary.
    return tf.cast(tf.notEqual(m, 0), 'float32') as tf.Tensor4D;
  });
}
