/**
 * Records one training run of our CGAN (or FM-CGAN) for bench/reference/replay_cgan.py: the cpu
 * preset on the flowers-20 split dumped by bench/reference/dump-split.ts (/tmp/split), seed 1,
 * Batcher seed 1; writes the initial G and D weights (w-0.bin, w-meta.json), weights after steps
 * 1, 2, 5, 10 and N, every batch's indices (idx.bin), every z_p drawn in trainStep (z.bin, caught
 * at tfjs-core's randomNormal), the losses (log.json) and the final checkpoint (ckpt/, for
 * score-samples.ts --cgan).
 *
 *   DB=separate|joint npx tsx bench/reference/replay-record.ts OUT_DIR [STEPS] [cgan|fmcgan]
 *
 * DB overrides config.discriminatorBatches (default: the preset's).
 */
import * as tf from '@tensorflow/tfjs';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { initBackend } from '../../lib/backend/index';
import { makeConfig } from '../../lib/model/config';
import { createModel } from '../../lib/model/factory';
import '../../lib/model/baselines';
import '../../lib/model/cvaegan';
import { Batcher } from '../../datasets/batching';

const out = process.argv[2];
if (!out) throw new Error('usage: DB=separate|joint npx tsx bench/reference/replay-record.ts OUT_DIR [STEPS] [cgan|fmcgan]');
const N = Number(process.argv[3] ?? 50);
const kind = (process.argv[4] ?? 'cgan') as any;
const snapAt = new Set([1, 2, 5, 10, N]);
async function main() {
  mkdirSync(out, { recursive: true });
  const rep = await initBackend();
  console.log('backend', rep.tfBackend);
  const images = new Uint8Array(readFileSync('/tmp/split/flowers102-train-x.bin'));
  const lb = readFileSync('/tmp/split/flowers102-train-y.bin'); const labels = Int32Array.from(new Int32Array(lb.buffer, lb.byteOffset, lb.length / 4));
  const ds: any = { name: 'flowers102', split: 'train', resolution: 32, images, labels, classNames: [], files: [], numClasses: 20, root: '', crop: 'center' };
  const cfg = makeConfig('cpu', { numClasses: 20, seed: 1, ...(process.env.DB ? { discriminatorBatches: process.env.DB as any } : {}) });
  console.log('batch', cfg.batchSize, 'init', cfg.init, 'bn', cfg.bnMomentum, 'D batches', cfg.discriminatorBatches);
  const model: any = createModel(kind, cfg);
  const dump = (tag: string) => {
    const meta: any[] = [];
    const bufs: Float32Array[] = [];
    for (const net of ['G', 'D']) {
      const m: tf.LayersModel = model.nets[net];
      for (const w of m.weights) {
        const v = w.read().dataSync() as Float32Array;
        meta.push({ net, name: w.originalName ?? w.name, shape: w.shape, trainable: w.trainable, n: v.length });
        bufs.push(Float32Array.from(v));
      }
    }
    const total = bufs.reduce((s, b) => s + b.length, 0);
    const all = new Float32Array(total);
    let o = 0;
    for (const b of bufs) { all.set(b, o); o += b.length; }
    writeFileSync(`${out}/w-${tag}.bin`, Buffer.from(all.buffer));
    writeFileSync(`${out}/w-meta.json`, JSON.stringify(meta, null, 0));
  };
  dump('0');
  // capture every z drawn inside trainStep
  const zs: Float32Array[] = [];
  const core = require('@tensorflow/tfjs-core');
  const orig = core.randomNormal;
  let capture = false;
  core.randomNormal = (...a: any[]) => { const t = orig(...a); if (capture) zs.push(Float32Array.from(t.dataSync())); return t; };
  const b = new Batcher(ds, cfg.batchSize, 1);
  const idx: number[] = [];
  const log: any[] = [];
  for (let s = 1; s <= N; s++) {
    const batch = b.next();
    idx.push(...batch.indices);
    capture = true;
    const r = model.trainStep(batch.x, batch.labels);
    capture = false;
    batch.x.dispose(); batch.labels.dispose();
    log.push({ step: s, ...r.losses, ...r.metrics });
    if (s <= 3 || s % 10 === 0) console.log(JSON.stringify(log[log.length - 1]));
    if (snapAt.has(s)) dump(String(s));
  }
  console.log('z draws', zs.length, zs[0]?.length);
  const zall = new Float32Array(zs.reduce((s, z) => s + z.length, 0));
  let o = 0; for (const z of zs) { zall.set(z, o); o += z.length; }
  writeFileSync(`${out}/z.bin`, Buffer.from(zall.buffer));
  writeFileSync(`${out}/idx.bin`, Buffer.from(Int32Array.from(idx).buffer));
  writeFileSync(`${out}/log.json`, JSON.stringify(log));
  await model.save(`${out}/ckpt`);
}
main();
