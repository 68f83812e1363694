import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../lib/backend/index';
import { ToyGan, modeCoverage, ringSample, TOY_DEFAULTS, TOY_OBJECTIVES, toyScatterSpec } from '../lib/apps/toy';
import { toySeeds } from '../lib/notebook/toy';
import { Rng } from '../lib/model/rng';

before(async () => {
  await initBackend();
});

test('ring samples sit on the ring: every mode covered, all points high quality', () => {
  const pts = ringSample(4000, TOY_DEFAULTS, new Rng(3)).arraySync();
  const c = modeCoverage(pts);
  assert.equal(c.modesCovered, TOY_DEFAULTS.modes);
  // Within 3 std of a 2-D Gaussian's centre: P = 1 - exp(-9/2) = 0.989.
  assert.ok(Math.abs(c.highQuality - (1 - Math.exp(-4.5))) < 0.01, `high quality share ${c.highQuality}`);
});

test('modeCoverage counts hand-placed points', () => {
  const r = TOY_DEFAULTS.radius;
  const pts = [[r, 0], [r, 0], [0, r], [0, 0], [10, 10]];
  // 2 points at mode 0, 1 at mode 2 (90 degrees), 2 off the ring.
  assert.deepEqual(modeCoverage(pts, {}, 0.2), { modesCovered: 2, highQuality: 3 / 5 });
});

test('every objective trains without leaking tensors, from the same start, and only the G objective differs', () => {
  const first: number[] = [];
  for (const objective of TOY_OBJECTIVES) {
    const g = new ToyGan(objective, { batch: 32, hidden: 16 });
    const r1 = g.step();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 20; i++) g.step();
    assert.equal(tf.memory().numTensors, before, `${objective}: tensors leaked`);
    const r = g.step();
    for (const v of Object.values(r)) assert.ok(Number.isFinite(v));
    first.push(r1.lossD);
    g.dispose();
  }
  // Same seeds: D's first loss (before any G update) is identical for every objective.
  assert.ok(first.every((v) => v === first[0]), `first D losses ${first}`);
});

test('two toy GANs live side by side and train as they would alone', () => {
  const alone = new ToyGan('mean-feature', { batch: 32, hidden: 16 });
  const aloneLosses = [alone.step(), alone.step()].map((r) => r.lossG);
  alone.dispose();
  const a = new ToyGan('mean-feature', { batch: 32, hidden: 16 });
  const b = new ToyGan('gan', { batch: 32, hidden: 16 });
  const losses = [a.step(), b.step(), a.step(), b.step()];
  assert.deepEqual([losses[0].lossG, losses[2].lossG], aloneLosses);
  for (const r of losses) assert.ok(Number.isFinite(r.lossG));
  a.dispose();
  b.dispose();
});

test('the minimax objective\'s gradient is the smallest once D is strong (the vanishing-gradient argument)', () => {
  const norms: Record<string, number> = {};
  for (const objective of TOY_OBJECTIVES) {
    const g = new ToyGan(objective, { dSteps: 5, batch: 64, hidden: 32 });
    const late: number[] = [];
    for (let i = 0; i < 200; i++) {
      const r = g.step();
      if (i >= 150) late.push(r.gradNormG);
    }
    norms[objective] = late.sort((a, b) => a - b)[late.length >> 1];
    g.dispose();
  }
  assert.ok(norms['gan-minimax'] < norms['gan'] && norms['gan-minimax'] < norms['mean-feature'], JSON.stringify(norms));
});

test('the scatter spec holds real and generated points per source', () => {
  const spec = toyScatterSpec([[0, 0]], { gan: [[1, 1], [2, 2]] }) as unknown as { data: { values: { source: string }[] } };
  assert.deepEqual(spec.data.values.map((v) => v.source), ['real data', 'G: gan', 'G: gan']);
});

test("the fourth objective, 'cvaegan': an encoder only there, trained by the same step; G and D start as in the other runs", () => {
  const plain = new ToyGan('mean-feature', { batch: 32, hidden: 16 });
  const cg = new ToyGan('cvaegan', { batch: 32, hidden: 16 });
  assert.equal(plain.E, undefined);
  assert.ok(cg.E);
  const same = (a: tf.Variable[], b: tf.Variable[]) => a.every((v, i) => tf.equal(v, b[i]).all().dataSync()[0] === 1);
  assert.ok(same(plain.G.vars, cg.G.vars) && same(plain.D.vars, cg.D.vars), 'identical initial G and D');
  const e0 = cg.E!.vars.map((v) => v.clone());
  const r = cg.step();
  assert.ok(Number.isFinite(r.lossG) && r.gradNormG > 0);
  assert.ok(!cg.E!.vars.every((v, i) => tf.equal(v, e0[i]).all().dataSync()[0] === 1), 'E is updated by the step');
  tf.dispose(e0);
  plain.dispose();
  cg.dispose();
});

test('toySeeds: per-seed mode counts and their mean and sample standard deviation per objective', () => {
  const r = toySeeds({ steps: 2, seeds: [1, 2, 3], points: 100, config: { batch: 16, hidden: 8 }, objectives: ['gan', 'cvaegan'] });
  assert.equal(r.runs.length, 6);
  for (const row of r.rows) {
    const v = r.runs.filter((x) => x.objective === row.objective).map((x) => x.modesCovered);
    const m = (v[0] + v[1] + v[2]) / 3;
    assert.equal(row['modes covered (of 8), per seed'], v.join(' '));
    assert.equal(row['modes: mean'], Number(m.toFixed(2)));
    assert.equal(row['modes: sd'], Number(Math.sqrt(((v[0] - m) ** 2 + (v[1] - m) ** 2 + (v[2] - m) ** 2) / 2).toFixed(2)));
  }
});
