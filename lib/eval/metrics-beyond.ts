/**
 * Metrics a conditional-generation reviewer asks for beside Table 1's, as pure functions on feature
 * vectors (we use the evaluator's penultimate features f, as for FID). float64 JavaScript, like
 * metrics.ts.
 *
 *   intraClassFid(real, realLabels, fake, fakeLabels)   FID within each class, averaged (Miyato & Koyama 2018)
 *   precisionRecall(real, fake, k = 3)                   k-NN manifolds (Kynkäänniemi et al. 2019)
 *   densityCoverage(real, fake, k = 5)                   k-NN balls around real points (Naeem et al. 2020)
 *
 * The k-NN metrics follow the reference implementation of Naeem et al. (the `prdc` package, NAVER,
 * MIT): Euclidean distances, the radius of a point is the distance to its k-th nearest neighbour in
 * its own set (itself excluded), and "inside a ball" is a strict `<`. docs/design.md "evaluation"
 * has the comparison with it.
 */
import { asMatrix, frechetDistance, Matrix, MatrixLike } from './metrics';

/** Euclidean distances between every row of a and every row of b: out[i * b.rows + j] = ||a_i - b_j||. */
export function pairwiseDistances(a: Matrix, b: Matrix): Float64Array {
  if (a.cols !== b.cols) throw new Error(`pairwiseDistances: ${a.cols} and ${b.cols} columns`);
  const d = a.cols;
  const out = new Float64Array(a.rows * b.rows);
  for (let i = 0; i < a.rows; i++) {
    for (let j = 0; j < b.rows; j++) {
      let s = 0;
      for (let t = 0; t < d; t++) {
        const diff = a.data[i * d + t] - b.data[j * d + t];
        s += diff * diff;
      }
      out[i * b.rows + j] = Math.sqrt(s);
    }
  }
  return out;
}

/**
 * NND_k(x_i): the distance from each row to its k-th nearest other row of the same set. Computed as
 * the (k+1)-th smallest distance with the row itself counted (its 0), as prdc does, so a duplicate
 * row counts as a neighbour at distance 0.
 */
export function kthNeighbourRadii(m: Matrix, k: number): Float64Array {
  if (!(Number.isInteger(k) && k >= 1)) throw new Error(`kthNeighbourRadii: k must be a positive integer (got ${k})`);
  if (m.rows <= k) throw new Error(`kthNeighbourRadii: ${m.rows} rows, need more than k = ${k}`);
  const dist = pairwiseDistances(m, m);
  const radii = new Float64Array(m.rows);
  const row = new Float64Array(m.rows);
  for (let i = 0; i < m.rows; i++) {
    row.set(dist.subarray(i * m.rows, (i + 1) * m.rows));
    row.sort();
    radii[i] = row[k];
  }
  return radii;
}

/**
 * Improved precision and recall (Kynkäänniemi et al. 2019). The real manifold is the union of the
 * balls B(x_i, NND_k(x_i)) over the real rows, the fake manifold likewise over the fake rows:
 *
 *   precision = (1/M) sum_j 1[ exists i: ||y_j - x_i|| < NND_k(x_i) ]   (fakes on the real manifold)
 *   recall    = (1/N) sum_i 1[ exists j: ||x_i - y_j|| < NND_k(y_j) ]   (reals on the fake manifold)
 *
 * Precision measures fidelity, recall the share of the real distribution the model reaches. Both
 * depend on the set sizes through the radii: compare at equal N and M.
 */
export function precisionRecall(real: MatrixLike, fake: MatrixLike, k = 3): { precision: number; recall: number } {
  const X = asMatrix(real);
  const Y = asMatrix(fake);
  const rx = kthNeighbourRadii(X, k);
  const ry = kthNeighbourRadii(Y, k);
  const d = pairwiseDistances(X, Y); // [N, M]
  let prec = 0;
  for (let j = 0; j < Y.rows; j++) {
    for (let i = 0; i < X.rows; i++) {
      if (d[i * Y.rows + j] < rx[i]) {
        prec++;
        break;
      }
    }
  }
  let rec = 0;
  for (let i = 0; i < X.rows; i++) {
    for (let j = 0; j < Y.rows; j++) {
      if (d[i * Y.rows + j] < ry[j]) {
        rec++;
        break;
      }
    }
  }
  return { precision: prec / Y.rows, recall: rec / X.rows };
}

/**
 * Density and coverage (Naeem et al. 2020), both on balls around the real rows only (outliers in the
 * fake set do not inflate a fake manifold):
 *
 *   density  = (1/(k M)) sum_j sum_i 1[ ||y_j - x_i|| < NND_k(x_i) ]    (about 1 when fakes are as dense as reals; unbounded)
 *   coverage = (1/N) sum_i 1[ exists j: ||y_j - x_i|| < NND_k(x_i) ]   (share of real balls holding a fake, in [0, 1])
 */
export function densityCoverage(real: MatrixLike, fake: MatrixLike, k = 5): { density: number; coverage: number } {
  const X = asMatrix(real);
  const Y = asMatrix(fake);
  const rx = kthNeighbourRadii(X, k);
  const d = pairwiseDistances(X, Y);
  let inside = 0;
  let covered = 0;
  for (let i = 0; i < X.rows; i++) {
    let any = false;
    for (let j = 0; j < Y.rows; j++) {
      if (d[i * Y.rows + j] < rx[i]) {
        inside++;
        any = true;
      }
    }
    if (any) covered++;
  }
  return { density: inside / (k * Y.rows), coverage: covered / X.rows };
}

/** The rows of m whose label is c, as a new matrix. */
export function rowsOfClass(m: Matrix, labels: ArrayLike<number>, c: number): Matrix {
  const idx: number[] = [];
  for (let i = 0; i < labels.length; i++) if (labels[i] === c) idx.push(i);
  const data = new Float64Array(idx.length * m.cols);
  idx.forEach((r, i) => {
    for (let t = 0; t < m.cols; t++) data[i * m.cols + t] = m.data[r * m.cols + t];
  });
  return { data, rows: idx.length, cols: m.cols };
}

export interface IntraClassFid {
  /** Mean of perClass over the classes with at least two rows in both sets. */
  mean: number;
  /** FID_c (index = label); NaN where either set has fewer than two rows of the class. */
  perClass: number[];
}

/**
 * Intra-class FID (Miyato & Koyama 2018): the Frechet distance between Gaussians fitted to the
 * real and the generated features of each class c, then the mean over classes:
 *
 *   FID_c = ||mu_c^r - mu_c^g||^2 + Tr(S_c^r + S_c^g - 2 (S_c^r S_c^g)^{1/2}),   intra-FID = (1/K) sum_c FID_c
 *
 * A class-blind generator whose samples match the overall distribution gets a low FID but a high
 * intra-FID: each class is compared with its own real images. With a few real images per class the
 * covariance has rank < dim, so FID_c is strongly biased upwards: compare values only at equal sizes.
 */
export function intraClassFid(real: MatrixLike, realLabels: ArrayLike<number>, fake: MatrixLike, fakeLabels: ArrayLike<number>, numClasses?: number): IntraClassFid {
  const X = asMatrix(real);
  const Y = asMatrix(fake);
  if (realLabels.length !== X.rows) throw new Error(`intraClassFid: ${X.rows} real rows but ${realLabels.length} labels`);
  if (fakeLabels.length !== Y.rows) throw new Error(`intraClassFid: ${Y.rows} generated rows but ${fakeLabels.length} labels`);
  let K = numClasses ?? 0;
  for (const ls of [realLabels, fakeLabels]) for (let i = 0; i < ls.length; i++) K = Math.max(K, ls[i] + 1);
  const perClass: number[] = [];
  for (let c = 0; c < K; c++) {
    const a = rowsOfClass(X, realLabels, c);
    const b = rowsOfClass(Y, fakeLabels, c);
    perClass.push(a.rows >= 2 && b.rows >= 2 ? frechetDistance(a, b) : NaN);
  }
  const valid = perClass.filter((v) => !Number.isNaN(v));
  if (valid.length === 0) throw new Error('intraClassFid: no class has two or more rows in both sets');
  return { mean: valid.reduce((s, v) => s + v, 0) / valid.length, perClass };
}
