import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../lib/backend/index';
import { ToyGan, modeCoverage, ringSample, TOY_DEFAULTS, TOY_OBJECTIVES, toyScatterSpec } from '../lib/apps/toy';
import { toySeeds } from '../lib/notebook/toy';
import { PRESETS } from '../lib/model/config';
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

test("'cvaegan' reconstructs through its encoder: reconstruct() is G(mu(x)) (or G(mu + s eps)), klNats the mean KL; the others have no encoder", () => {
  const cg = new ToyGan('cvaegan', { batch: 32, hidden: 16 });
  for (let i = 0; i < 3; i++) cg.step();
  const x = ringSample(16, cg.cfg, new Rng(5));
  const [mu, logvar] = tf.split(cg.E!.forward(x).out, 2, 1);
  const want = cg.G.forward(mu as tf.Tensor2D).out;
  const got = cg.reconstruct(x);
  assert.ok(tf.max(tf.abs(tf.sub(want, got))).dataSync()[0] < 1e-6);
  const sampled = cg.reconstruct(x, true, 3);
  assert.ok(tf.max(tf.abs(tf.sub(want, sampled))).dataSync()[0] > 0, 'a sampled code differs from the mean');
  const kl = tf.mean(tf.mul(0.5, tf.sum(tf.sub(tf.add(tf.square(mu), tf.exp(logvar)), tf.add(1, logvar)), 1))).dataSync()[0];
  assert.ok(Math.abs(cg.klNats(x) - kl) < 1e-5 && kl >= 0);
  tf.dispose([x, mu, logvar, want, got, sampled]);
  cg.dispose();
  const plain = new ToyGan('gan', { batch: 32, hidden: 16 });
  assert.throws(() => plain.reconstruct(tf.zeros([1, 2]) as tf.Tensor2D), /no encoder/);
  plain.dispose();
});

test("toySeeds reports the encoder's path for 'cvaegan' only: modes of G(E(x)) and the KL", () => {
  const r = toySeeds({ steps: 2, seeds: [1, 2], points: 100, config: { batch: 16, hidden: 8 }, objectives: ['gan', 'cvaegan'] });
  const [gan, cv] = r.rows;
  assert.equal(gan['G(E(x)) modes, per seed'], undefined);
  const runs = r.runs.filter((x) => x.objective === 'cvaegan');
  assert.equal(cv['G(E(x)) modes, per seed'], runs.map((x) => x.reconModesCovered).join(' '));
  assert.ok(runs.every((x) => Number.isFinite(x.klNats) && x.klNats! >= 0));
});

test("'cvaegan''s weights: pairFeatureWeight and gdWeight scale their terms (0 removes them from the loss)", () => {
  const base = { batch: 32, hidden: 16 };
  const loss = (cfg: object) => { const g = new ToyGan('cvaegan', { ...base, ...cfg }); const l = g.step().lossG; g.dispose(); return l; };
  const all = loss({});
  const noF = loss({ pairFeatureWeight: 0 });
  const noGD = loss({ gdWeight: 0 });
  const none = loss({ pairFeatureWeight: 0, gdWeight: 0 });
  // The first step's loss is evaluated before any update, so the terms add up exactly (up to float32).
  assert.ok(Math.abs(all - noF - noGD + none) < 1e-5 * Math.max(1, all), JSON.stringify({ all, noF, noGD, none }));
  assert.ok(noF < all && noGD < all);
});

test("'cvaegan''s default weights are the full model's config.loss, as lib/model/cvaegan.ts applies them (per value, N = 2 on the toy)", () => {
  const l = PRESETS.paper.loss;
  // cvaegan.ts: lambda_KL KL / N + lambda_G L_G / N + lambda_GD L_GD (KL and L_G 'per-pixel', L_GD a sum); the toy's loss is that times N / lambda_G.
  assert.equal(l.kl, 'per-pixel');
  assert.equal(l.pairwise, 'per-pixel');
  assert.equal(l.featureMatching, 'sum');
  assert.equal(TOY_DEFAULTS.klWeight, l.lambdaKL / l.lambdaG);
  assert.equal(TOY_DEFAULTS.pairFeatureWeight, 1);
  assert.equal(TOY_DEFAULTS.gdWeight, (2 * l.lambdaGD) / l.lambdaG);
});
