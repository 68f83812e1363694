/**
 * Why does the toy's 'cvaegan' cover what it covers? Trains one ToyGan('cvaegan') and reports, at
 * the end: mode coverage of prior samples G(z), z ~ N(0, I), of reconstructions G(mu(x)) and
 * G(mu + s eps); where E puts each mode (|mu|, mean s^2, KL per mode); the loss terms on a fresh
 * batch and the norm of each term's gradient with respect to G's weights.
 *
 *   npx tsx bench/toy-diagnose.ts '{"klWeight":0.01}' [steps=600] [seeds=7,8,9]
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../lib/backend/index';
import { ToyGan, modeCoverage, ringSample, type ToyConfig } from '../lib/apps/toy';
import { Rng } from '../lib/model/rng';

function gradNorm(loss: () => tf.Scalar, vars: tf.Variable[]): number {
  return tf.tidy(() => {
    const { grads } = tf.variableGrads(loss, vars);
    return Math.sqrt(Object.values(grads).reduce((a, g) => a + (tf.sum(tf.square(g)).dataSync()[0]), 0));
  });
}

(async () => {
  await initBackend();
  const cfgArg: Partial<ToyConfig> = JSON.parse(process.argv[2] ?? '{}');
  const steps = Number(process.argv[3] ?? 600);
  const seeds = (process.argv[4] ?? '7,8,9').split(',').map(Number);
  const out: Record<string, number>[] = [];
  for (const seed of seeds) {
    const g = new ToyGan('cvaegan', { dSteps: 5, ...cfgArg, seed });
    for (let s = 0; s < steps; s++) g.step();
    const cfg = g.cfg;
    const r: Record<string, number> = { seed };
    tf.tidy(() => {
      const prior = g.generate(2000, 12345).arraySync();
      r.prior = modeCoverage(prior, cfg).modesCovered;
      r.priorHQ = modeCoverage(prior, cfg).highQuality;
      const real = ringSample(2000, cfg, new Rng(4242));
      const [mu, logvar] = tf.split(g.E!.forward(real).out, 2, 1);
      const recMu = g.G.forward(mu as tf.Tensor2D).out.arraySync();
      const eps = tf.randomNormal(mu.shape, 0, 1, 'float32', 5);
      const recS = g.G.forward(tf.add(mu, tf.mul(tf.exp(tf.mul(0.5, logvar)), eps)) as tf.Tensor2D).out.arraySync();
      r.recMu = modeCoverage(recMu, cfg).modesCovered;
      r.recMuHQ = modeCoverage(recMu, cfg).highQuality;
      r.recS = modeCoverage(recS, cfg).modesCovered;
      r.recSHQ = modeCoverage(recS, cfg).highQuality;
      r.recErr = tf.mean(tf.sqrt(tf.sum(tf.square(tf.sub(real, tf.tensor2d(recMu))), 1))).dataSync()[0];
      const kl = tf.mul(0.5, tf.sum(tf.sub(tf.add(tf.square(mu), tf.exp(logvar)), tf.add(1, logvar)), 1));
      r.KL = tf.mean(kl).dataSync()[0];
      r.muNorm = tf.mean(tf.sqrt(tf.sum(tf.square(mu), 1))).dataSync()[0];
      r.sMean = tf.mean(tf.exp(tf.mul(0.5, logvar))).dataSync()[0];
      // aggregate posterior: covariance of mu across the data, its eigen-spread via trace and det
      const muC = tf.sub(mu, tf.mean(mu, 0));
      const cov = tf.div(tf.matMul(muC, muC, true, false), mu.shape[0]);
      r.aggVarTrace = tf.sum(tf.mul(cov, tf.eye(cfg.zDim))).dataSync()[0] + tf.sum(tf.exp(logvar)).dataSync()[0] / mu.shape[0];
      // distance between mode centres in z (posterior means per mode) relative to s
      const modeMu: number[][] = [];
      for (let m = 0; m < cfg.modes; m++) {
        const a = (2 * Math.PI * m) / cfg.modes;
        const c = tf.tensor2d([[cfg.radius * Math.cos(a), cfg.radius * Math.sin(a)]]);
        modeMu.push((tf.split(g.E!.forward(c).out, 2, 1)[0].arraySync() as number[][])[0]);
      }
      let dmin = Infinity;
      for (let i = 0; i < 8; i++) { const j = (i + 1) % 8; dmin = Math.min(dmin, Math.hypot(...modeMu[i].map((v, k) => v - modeMu[j][k]))); }
      r.neighbourMuDistMin = dmin;
      // loss terms and their gradient norms w.r.t. G on a fresh batch
      const x = ringSample(cfg.batch, cfg, new Rng(99));
      const z = tf.randomNormal([cfg.batch, cfg.zDim], 0, 1, 'float32', 7) as tf.Tensor2D;
      const e2 = tf.randomNormal([cfg.batch, cfg.zDim], 0, 1, 'float32', 8);
      const rec = () => { const [m, lv] = tf.split(g.E!.forward(x).out, 2, 1); return g.G.forward(tf.add(m, tf.mul(tf.exp(tf.mul(0.5, lv)), e2)) as tf.Tensor2D).out; };
      const pairX = () => tf.mul(0.5, tf.mean(tf.sum(tf.square(tf.sub(x, rec())), 1))) as tf.Scalar;
      const pairF = () => tf.mul(0.5 * cfg.pairFeatureWeight, tf.mean(tf.sum(tf.square(tf.sub(g.D.forward(x).features, g.D.forward(rec()).features)), 1))) as tf.Scalar;
      const gd = () => tf.mul(0.5 * cfg.gdWeight, tf.sum(tf.square(tf.sub(tf.mean(g.D.forward(x).features, 0), tf.mean(g.D.forward(g.G.forward(z).out).features, 0))))) as tf.Scalar;
      r.LpairX = pairX().dataSync()[0]; r.LpairF = pairF().dataSync()[0]; r.LGD = gd().dataSync()[0];
      r.gG_pairX = gradNorm(pairX, g.G.vars); r.gG_pairF = gradNorm(pairF, g.G.vars); r.gG_GD = gradNorm(gd, g.G.vars);
      r.gE_pairX = gradNorm(pairX, g.E!.vars); r.gE_pairF = gradNorm(pairF, g.E!.vars);
      r.gE_KL = gradNorm(() => { const [m, lv] = tf.split(g.E!.forward(x).out, 2, 1); return tf.mul(cfg.klWeight * 0.5, tf.mean(tf.sum(tf.sub(tf.add(tf.square(m), tf.exp(lv)), tf.add(1, lv)), 1))) as tf.Scalar; }, g.E!.vars);
    });
    g.dispose();
    out.push(Object.fromEntries(Object.entries(r).map(([k, v]) => [k, Number(v.toPrecision(3))])));
    console.error(JSON.stringify(out[out.length - 1]));
  }
  console.table(out);
})();
