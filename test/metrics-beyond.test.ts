/**
 * Intra-class FID, precision/recall and density/coverage against values worked out by hand (small
 * 1-D and 2-D sets, where every distance and radius can be read off), plus the identities they
 * must satisfy. The comparison with prdc (Naeem et al.'s code) and scipy: docs/design.md "evaluation".
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { densityCoverage, intraClassFid, kthNeighbourRadii, pairwiseDistances, precisionRecall } from '../lib/eval/metrics-beyond';
import { asMatrix, frechetDistance } from '../lib/eval/metrics';

const close = (a: number, b: number, tol: number, what = '') => assert.ok(Math.abs(a - b) <= tol, `${what} ${a} vs ${b} (tol ${tol})`);
const col = (xs: number[]) => xs.map((x) => [x]);

test('k-th neighbour radii exclude the point itself; distances are Euclidean', () => {
  // 1-D: [0, 1, 3, 7]. Nearest other point: 1, 1, 2, 4; second nearest: 3, 2, 3, 6.
  assert.deepEqual(Array.from(kthNeighbourRadii(asMatrix(col([0, 1, 3, 7])), 1)), [1, 1, 2, 4]);
  assert.deepEqual(Array.from(kthNeighbourRadii(asMatrix(col([0, 1, 3, 7])), 2)), [3, 2, 3, 6]);
  // A duplicate is a neighbour at distance 0.
  assert.deepEqual(Array.from(kthNeighbourRadii(asMatrix(col([0, 0, 5])), 1)), [0, 0, 5]);
  // 3-4-5 triangles.
  assert.deepEqual(Array.from(pairwiseDistances(asMatrix([[0, 0], [3, 4]]), asMatrix([[6, 8], [3, 0]]))), [10, 3, 5, 4]);
  assert.throws(() => kthNeighbourRadii(asMatrix(col([0, 1, 2])), 3), /3 rows, need more than k = 3/);
});

test('precision and recall on a hand-worked 1-D example (k = 1)', () => {
  // Real [0, 1, 3, 7]: radii 1, 1, 2, 4. Fake [0.5, 0.7, 12]: radii 0.2, 0.2, 11.3.
  // Precision: 0.5 (0.5 < 1 from 0) yes, 0.7 yes, 12 (5 from 7, radius 4) no -> 2/3.
  // Recall: 0 is 0.5, 0.7, 12 from the fakes (radii 0.2, 0.2, 11.3): no; 1 is 11 < 11.3 from 12: yes;
  // 3 (9 from 12) and 7 (5 from 12) yes -> 3/4.
  const pr = precisionRecall(col([0, 1, 3, 7]), col([0.5, 0.7, 12]), 1);
  close(pr.precision, 2 / 3, 1e-15, 'precision');
  close(pr.recall, 3 / 4, 1e-15, 'recall');
  // The boundary is strict, as in prdc: fake 5 is exactly 2 from real 3 (radius 2) and 2 from 7
  // (radius 4): inside 7's ball only. Fake 9: 2 from 7, inside. Fake 11 is exactly 4 from 7: outside.
  close(precisionRecall(col([0, 1, 3, 7]), col([5, 9, 11, 11.5]), 1).precision, 2 / 4, 1e-15, 'strict boundary');
  // Swapping the sets swaps the two numbers.
  const sw = precisionRecall(col([0.5, 0.7, 12]), col([0, 1, 3, 7]), 1);
  close(sw.precision, pr.recall, 0, 'swap');
  close(sw.recall, pr.precision, 0, 'swap');
  // A set against itself: every point is inside its own ball (distance 0 < radius > 0).
  const self = precisionRecall(col([0, 1, 3, 7, 8]), col([0, 1, 3, 7, 8]), 3);
  assert.deepEqual(self, { precision: 1, recall: 1 });
});

test('density and coverage on hand-worked examples', () => {
  // Real [0, 1, 3, 7] (radii 1, 1, 2, 4 at k = 1), fake [0.5, 0.7, 12]. Pairs inside a real ball:
  // ball of 0 holds 0.5 and 0.7, ball of 1 holds 0.5 and 0.7, balls of 3 and 7 hold none: 4 pairs.
  // density = 4 / (k M) = 4 / 3; coverage = 2 of 4 balls.
  const dc = densityCoverage(col([0, 1, 3, 7]), col([0.5, 0.7, 12]), 1);
  close(dc.density, 4 / 3, 1e-15, 'density');
  close(dc.coverage, 1 / 2, 1e-15, 'coverage');
  // 2-D: real (0,0), (3,4), (6,8): every radius 5 at k = 1. Fake (3,0): 3 from (0,0), 4 from (3,4),
  // sqrt(73) from (6,8) -> 2 pairs: density 2 / (1 * 1) = 2 (above 1: fakes crowd the real balls),
  // coverage 2/3.
  const d2 = densityCoverage([[0, 0], [3, 4], [6, 8]], [[3, 0]], 1);
  close(d2.density, 2, 1e-15, '2-D density');
  close(d2.coverage, 2 / 3, 1e-15, '2-D coverage');
  // Duplicated real points have radius 0: nothing is strictly inside.
  assert.deepEqual(densityCoverage(col([0, 0, 5]), col([0]), 1), { density: 0, coverage: 0 });
  // Default k = 5 needs at least 6 real rows.
  assert.throws(() => densityCoverage(col([0, 1, 2, 3, 4]), col([0])), /need more than k = 5/);
});

test('intra-class FID: per class FID, averaged; classes short of two rows are left out', () => {
  // 1-D Gaussians: FID = (m1 - m2)^2 + (s1 - s2)^2 with s the standard deviations (unbiased).
  // Class 0: real [0, 2] (mean 1, var 2), fake [1, 3] (mean 2, var 2): FID 1.
  // Class 1: real [0, 2], fake [0, 4, 8] (mean 4, var 16): 9 + (4 - sqrt 2)^2.
  // Class 2: a single real row: NaN, not averaged.
  const r = intraClassFid(col([0, 2, 0, 2, 5]), [0, 0, 1, 1, 2], col([1, 3, 0, 4, 8, 5, 6]), [0, 0, 1, 1, 1, 2, 2]);
  close(r.perClass[0], 1, 1e-9, 'class 0');
  close(r.perClass[1], 9 + (4 - Math.SQRT2) ** 2, 1e-9, 'class 1');
  assert.ok(Number.isNaN(r.perClass[2]));
  close(r.mean, (1 + 9 + (4 - Math.SQRT2) ** 2) / 2, 1e-9, 'mean');
  // A class-blind generator: both classes' fakes are the pooled real set. Its overall FID is 0,
  // its intra-class FID is not (each class is compared with its own real images).
  const real = col([-2, -1, -3, 2, 1, 3]);
  const realLabels = [0, 0, 0, 1, 1, 1];
  const fake = col([-2, -1, -3, 2, 1, 3, -2, -1, -3, 2, 1, 3]);
  const fakeLabels = [0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1];
  close(frechetDistance(real, col([-2, -1, -3, 2, 1, 3])), 0, 1e-9, 'pooled FID');
  // Class 0: real mean -2, var 1; fake mean 0, var (4+1+9)*2/5 = 5.6: 4 + (sqrt 5.6 - 1)^2.
  const blind = intraClassFid(real, realLabels, fake, fakeLabels);
  close(blind.mean, 4 + (Math.sqrt(5.6) - 1) ** 2, 1e-9, 'class-blind');
  assert.throws(() => intraClassFid(col([0]), [0], col([1, 2]), [0, 0]), /no class has two or more rows/);
  assert.throws(() => intraClassFid(col([0, 1]), [0], col([1, 2]), [0, 0]), /2 real rows but 1 labels/);
});
