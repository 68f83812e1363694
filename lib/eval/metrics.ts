/**
 * Evaluation metrics for Table 1 and beyond, as pure functions on class probabilities, feature
 * vectors and images. Inputs are tf.Tensor2D, number[][] or a flat row-major { data, shape }.
 * Everything is computed in float64 JavaScript: the sets are at most tens of thousands of rows and
 * a few hundred (features) or a few thousand (pixels) columns, and float32 would put visible error
 * into FID's matrix square root and into distances between near-identical images.
 *
 *   top1Accuracy(probs, labels)        discriminability: share of rows whose argmax is the label
 *   inceptionScore(probs)              realism: exp(E_x KL(p(y|x) || p(y))), in [1, K]
 *   frechetDistance(featsA, featsB)    FID on any feature space (we use the evaluator's penultimate layer)
 *   classDiversity(images, labels)     mean pairwise RMS distance within each class (mode collapse)
 */
import * as tf from '@tensorflow/tfjs';

/** A matrix of `rows` x `cols` values, row-major. */
export interface Matrix {
  data: ArrayLike<number>;
  rows: number;
  cols: number;
}
export type MatrixLike = tf.Tensor | number[][] | { data: ArrayLike<number>; shape: readonly number[] } | Matrix;

/**
 * Any accepted input as a row-major matrix. Tensors and { data, shape } of rank > 2 (image batches
 * [n, h, w, c]) are flattened to one row per item. Tensors are read, not disposed.
 */
export function asMatrix(x: MatrixLike): Matrix {
  if (x instanceof tf.Tensor) {
    const rows = x.shape[0] ?? 1;
    return { data: x.dataSync(), rows, cols: rows ? x.size / rows : 0 };
  }
  if (Array.isArray(x)) {
    const rows = x.length;
    const cols = rows ? x[0].length : 0;
    const data = new Float64Array(rows * cols);
    x.forEach((r, i) => {
      if (r.length !== cols) throw new Error(`matrix row ${i} has ${r.length} values, row 0 has ${cols}`);
      data.set(r, i * cols);
    });
    return { data, rows, cols };
  }
  if ('rows' in x) return x;
  const rows = x.shape[0];
  const cols = x.shape.slice(1).reduce((a, b) => a * b, 1);
  if (rows * cols !== x.data.length) throw new Error(`shape [${x.shape}] needs ${rows * cols} values, got ${x.data.length}`);
  return { data: x.data, rows, cols };
}

function checkLabels(labels: ArrayLike<number>, rows: number, what: string): void {
  if (labels.length !== rows) throw new Error(`${what}: ${rows} rows but ${labels.length} labels`);
}

/**
 * Top-1 accuracy: (1/N) sum_i [argmax_y p(y|x_i) = label_i]. Works on probabilities or logits
 * (argmax is the same). Ties go to the lowest class index.
 */
export function top1Accuracy(probs: MatrixLike, labels: ArrayLike<number>): number {
  const m = asMatrix(probs);
  checkLabels(labels, m.rows, 'top1Accuracy');
  if (m.rows === 0) throw new Error('top1Accuracy: no rows');
  let correct = 0;
  for (let i = 0; i < m.rows; i++) {
    let best = 0;
    for (let k = 1; k < m.cols; k++) if (m.data[i * m.cols + k] > m.data[i * m.cols + best]) best = k;
    if (best === labels[i]) correct++;
  }
  return correct / m.rows;
}

/**
 * The inception-score form (Salimans et al. 2016) with a classifier's class probabilities:
 *
 *   IS = exp( (1/N) sum_i KL( p(y|x_i) || p(y) ) ),   p(y) = (1/N) sum_i p(y|x_i)
 *
 * = exp(H(p(y)) - E_x H(p(y|x))): high when each image is confidently one class (low conditional
 * entropy) and the classes are spread evenly (high marginal entropy). Bounds: 1 (every row the same
 * distribution) to K (one-hot rows, classes equally frequent). 0 * log 0 = 0. Rows must be
 * probability vectors (softmax outputs), not logits.
 */
export function inceptionScore(probs: MatrixLike): number {
  const m = asMatrix(probs);
  if (m.rows === 0) throw new Error('inceptionScore: no rows');
  const { rows: n, cols: K, data } = m;
  const marginal = new Float64Array(K);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let k = 0; k < K; k++) {
      const p = data[i * K + k];
      if (!(p >= 0)) throw new Error(`inceptionScore: row ${i} has ${p} at class ${k}; pass probabilities (softmax), not logits`);
      s += p;
      marginal[k] += p / n;
    }
    if (Math.abs(s - 1) > 1e-3) throw new Error(`inceptionScore: row ${i} sums to ${s}, not 1; pass probabilities (softmax), not logits`);
  }
  let kl = 0;
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < K; k++) {
      const p = data[i * K + k];
      if (p > 0) kl += p * (Math.log(p) - Math.log(marginal[k]));
    }
  }
  return Math.exp(kl / n);
}

/** Mean vector and unbiased covariance (divided by n - 1) of the rows, in float64. */
export function gaussianMoments(feats: MatrixLike): { mean: Float64Array; cov: Float64Array; n: number; dim: number } {
  const m = asMatrix(feats);
  const { rows: n, cols: d, data } = m;
  if (n < 2) throw new Error(`gaussianMoments: need at least 2 rows, got ${n}`);
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += data[i * d + j] / n;
  const cov = new Float64Array(d * d);
  const row = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) row[j] = data[i * d + j] - mean[j];
    for (let a = 0; a < d; a++) {
      const ra = row[a];
      if (ra === 0) continue;
      for (let b = a; b < d; b++) cov[a * d + b] += ra * row[b];
    }
  }
  for (let a = 0; a < d; a++) {
    for (let b = a; b < d; b++) {
      cov[a * d + b] /= n - 1;
      cov[b * d + a] = cov[a * d + b];
    }
  }
  return { mean, cov, n, dim: d };
}

/**
 * Eigen-decomposition of a symmetric n x n matrix (row-major) by the cyclic Jacobi method:
 * A = V diag(values) V^T, eigenvectors in the columns of V. Jacobi rotations are orthogonal, so the
 * result stays symmetric and accurate to ~1e-15 relative even for the near-singular covariances of
 * a few hundred features, where a general-purpose square root (Newton, Denman-Beavers) loses
 * precision or diverges.
 */
export function symmetricEigen(A: ArrayLike<number>, n: number): { values: Float64Array; vectors: Float64Array } {
  if (A.length !== n * n) throw new Error(`symmetricEigen: ${A.length} values for a ${n}x${n} matrix`);
  const a = Float64Array.from(A);
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  let scale = 0;
  for (let i = 0; i < n * n; i++) scale = Math.max(scale, Math.abs(a[i]));
  if (scale === 0) return { values: new Float64Array(n), vectors: v };
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p * n + q] * a[p * n + q];
    if (Math.sqrt(off) <= 1e-15 * scale * n) break;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q];
        if (Math.abs(apq) <= 1e-300) continue;
        // The rotation angle that zeroes a[p][q]: t = tan(theta), the smaller root (|theta| <= pi/4).
        const theta = (a[q * n + q] - a[p * n + p]) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        // A <- J^T A J with J the rotation in the (p, q) plane: columns, then rows.
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p];
          const akq = a[k * n + q];
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k];
          const aqk = a[q * n + k];
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p];
          const vkq = v[k * n + q];
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) values[i] = a[i * n + i];
  return { values, vectors: v };
}

/**
 * The PSD square root of a symmetric positive semi-definite matrix: V diag(sqrt(max(lambda, 0))) V^T.
 * Eigenvalues below zero can only be rounding error of a PSD input (a covariance), so they are 0.
 */
export function sqrtPsd(A: ArrayLike<number>, n: number): Float64Array {
  const { values, vectors: v } = symmetricEigen(A, n);
  const out = new Float64Array(n * n);
  for (let k = 0; k < n; k++) {
    const s = Math.sqrt(Math.max(values[k], 0));
    if (s === 0) continue;
    for (let i = 0; i < n; i++) {
      const vik = v[i * n + k] * s;
      if (vik === 0) continue;
      for (let j = 0; j < n; j++) out[i * n + j] += vik * v[j * n + k];
    }
  }
  return out;
}

function matMul(A: Float64Array, B: Float64Array, n: number): Float64Array {
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < n; k++) {
      const aik = A[i * n + k];
      if (aik === 0) continue;
      for (let j = 0; j < n; j++) out[i * n + j] += aik * B[k * n + j];
    }
  }
  return out;
}

/**
 * The Frechet distance between two Gaussians (Dowson & Landau 1982; FID, Heusel et al. 2017):
 *
 *   d^2 = ||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^{1/2})
 *
 * Tr((S1 S2)^{1/2}) is computed as Tr((S1^{1/2} S2 S1^{1/2})^{1/2}): the two matrices are similar,
 * so their eigenvalues (and the traces of their square roots) agree, and the second one is
 * symmetric PSD, so both square roots come from a symmetric eigen-decomposition (no complex
 * eigenvalues from rounding, as scipy.linalg.sqrtm can produce). Clipped at 0 against rounding.
 */
export function frechetFromMoments(
  a: { mean: ArrayLike<number>; cov: ArrayLike<number> },
  b: { mean: ArrayLike<number>; cov: ArrayLike<number> },
): number {
  const d = a.mean.length;
  if (b.mean.length !== d || a.cov.length !== d * d || b.cov.length !== d * d) {
    throw new Error(`frechetFromMoments: dimensions differ (means ${a.mean.length} and ${b.mean.length}, covariances ${a.cov.length} and ${b.cov.length} values)`);
  }
  let meanTerm = 0;
  for (let j = 0; j < d; j++) meanTerm += (a.mean[j] - b.mean[j]) ** 2;
  let traces = 0;
  for (let j = 0; j < d; j++) traces += a.cov[j * d + j] + b.cov[j * d + j];
  const s1 = sqrtPsd(a.cov, d);
  const middle = matMul(matMul(s1, Float64Array.from(b.cov), d), s1, d);
  // Symmetrise: the products above are symmetric up to rounding.
  for (let i = 0; i < d; i++) for (let j = i + 1; j < d; j++) middle[i * d + j] = middle[j * d + i] = (middle[i * d + j] + middle[j * d + i]) / 2;
  const { values } = symmetricEigen(middle, d);
  let traceSqrt = 0;
  for (const v of values) traceSqrt += Math.sqrt(Math.max(v, 0));
  return Math.max(0, meanTerm + traces - 2 * traceSqrt);
}

/**
 * FID between two sets of feature vectors (rows): the Frechet distance of Gaussians fitted to each.
 * Biased upwards for small sets (estimation noise in the covariances), so compare values only at
 * equal set sizes; we report the sizes beside every FID.
 */
export function frechetDistance(featsA: MatrixLike, featsB: MatrixLike): number {
  return frechetFromMoments(gaussianMoments(featsA), gaussianMoments(featsB));
}

export interface Diversity {
  /** Mean over classes with at least two images of the within-class mean pairwise distance. */
  mean: number;
  /** Per class (index = label); NaN for a class with fewer than two images. */
  perClass: number[];
}

/**
 * Within-class diversity: for each class c with images x_1..x_n (flattened, n >= 2),
 *
 *   div_c = (2 / (n (n - 1))) sum_{i<j} sqrt( (1/D) sum_d (x_i[d] - x_j[d])^2 )
 *
 * the mean pairwise RMS difference per value (D values per image; for images in [-1, 1] it lies in
 * [0, 2]); the result is the mean of div_c over classes. It is 0 when every sample of a class is
 * the same image (full mode collapse), and it is an unbiased estimate of the expected distance
 * between two draws, so sets of different sizes (100 generated vs ~20 real per class) compare.
 */
export function classDiversity(images: MatrixLike, labels: ArrayLike<number>, numClasses?: number): Diversity {
  const m = asMatrix(images);
  checkLabels(labels, m.rows, 'classDiversity');
  let K = numClasses ?? 0;
  for (let i = 0; i < labels.length; i++) K = Math.max(K, labels[i] + 1);
  const members: number[][] = Array.from({ length: K }, () => []);
  for (let i = 0; i < labels.length; i++) members[labels[i]].push(i);
  const perClass = members.map((idx) => meanPairwiseRms(m, idx));
  const valid = perClass.filter((v) => !Number.isNaN(v));
  if (valid.length === 0) throw new Error('classDiversity: no class has two or more images');
  return { mean: valid.reduce((s, v) => s + v, 0) / valid.length, perClass };
}

/** Mean pairwise RMS distance between the given rows (NaN for fewer than two). */
export function meanPairwiseRms(m: Matrix, rows: ArrayLike<number>): number {
  const n = rows.length;
  if (n < 2) return NaN;
  const D = m.cols;
  let total = 0;
  for (let a = 0; a < n; a++) {
    const oa = rows[a] * D;
    for (let b = a + 1; b < n; b++) {
      const ob = rows[b] * D;
      let s = 0;
      for (let d = 0; d < D; d++) {
        const diff = m.data[oa + d] - m.data[ob + d];
        s += diff * diff;
      }
      total += Math.sqrt(s / D);
    }
  }
  return total / ((n * (n - 1)) / 2);
}
