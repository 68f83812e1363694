/**
 * Our intra-class FID, precision/recall and density/coverage beside a reference we did not write:
 * prdc 0.2 (Naeem et al.'s code, NAVER, MIT) for the four k-NN metrics and pytorch-fid's formula
 * on scipy.linalg.sqrtm for each class's FID (bench/reference/metrics_beyond.py). The features are
 * post-ReLU Gaussians of the evaluator's shape (128-d), 20 classes with the flowers-20 test split's
 * counts (11-12 real per class) against 100 generated per class, one set shifted and rescaled.
 *
 *   npx tsx bench/reference/metrics-beyond.ts        (needs python3 with numpy, scipy and prdc; see the .py)
 */
import { spawnSync } from 'child_process';
import { writeFileSync } from 'fs';
import { join } from 'path';
import { tmpdir } from 'os';
import { Rng } from '../../lib/model/rng';
import { densityCoverage, intraClassFid, precisionRecall } from '../../lib/eval/metrics-beyond';
import { takePerClass, countPerClass } from '../../lib/eval/measure-beyond';

const K = 20;
const D = 128;
const rng = new Rng(7);
const normal = () => Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next());
const centres = Array.from({ length: K }, () => Array.from({ length: D }, normal));
function draw(c: number, shift: number, scale: number): number[] {
  return centres[c].map((m) => Math.max(0, m + shift + scale * normal()));
}
const realLabels: number[] = [];
const real: number[][] = [];
for (let c = 0; c < K; c++) for (let i = 0; i < (c < 10 ? 12 : 11); i++) (real.push(draw(c, 0, 1)), realLabels.push(c));
const fakeLabels: number[] = [];
const fake: number[][] = [];
for (let c = 0; c < K; c++) for (let i = 0; i < 100; i++) (fake.push(draw(c, 0.2, c % 2 ? 0.7 : 1.2)), fakeLabels.push(c));

const flat = (m: number[][]) => ({ data: Float64Array.from(m.flat()), rows: m.length, cols: D });
const F = { ...flat(fake), labels: Int32Array.from(fakeLabels) };
const matched = takePerClass(F, countPerClass(realLabels, K));
const t0 = performance.now();
const ours = {
  ...precisionRecall(real, matched, 3),
  ...(({ density, coverage }) => ({ density, coverage }))(densityCoverage(real, matched, 5)),
  intraFid: intraClassFid(real, realLabels, fake, fakeLabels, K),
};
const ms = performance.now() - t0;
const file = join(tmpdir(), 'metrics-beyond-reference.json');
writeFileSync(file, JSON.stringify({ real, realLabels, fake, fakeLabels, matched: Array.from({ length: matched.rows }, (_, i) => Array.from({ length: D }, (_, t) => matched.data[i * D + t])) }));
const py = spawnSync(process.env.PYTHON ?? 'python3', [join(__dirname, 'metrics_beyond.py'), file], { encoding: 'utf8' });
if (py.status !== 0) throw new Error(py.stderr);
const ref = JSON.parse(py.stdout.trim().split('\n').pop()!);
console.log(`ours (${ms.toFixed(0)} ms) vs reference:`);
for (const k of ['precision', 'recall', 'density', 'coverage'] as const) console.log(`  ${k}: ${ours[k]} vs ${ref[k]} (diff ${Math.abs(ours[k] - ref[k])})`);
const diffs = ours.intraFid.perClass.map((v, c) => Math.abs(v - ref.perClassFid[c]) / ref.perClassFid[c]);
console.log(`  intra-class FID: ${ours.intraFid.mean} vs ${ref.intraFid} (relative diff ${Math.abs(ours.intraFid.mean - ref.intraFid) / ref.intraFid}); per class max relative diff ${Math.max(...diffs)}`);
