/**
 * Scores generated images made outside this code (bench/reference/cgan_ref.py's PyTorch CGAN) with
 * OUR finished Table 1 evaluator and the functions the Table 1 runner uses (lib/eval/measure.ts
 * evaluate's steps on bytes: top-1, realism, FID against the real test images' features, within-class
 * diversity; lib/train/diagnostics.ts labelDependenceOf), so an independent model lands on our scale.
 * With --cgan it also scores our own CGAN from its checkpoint twice: with evaluate() itself (the
 * runner's call, same seed: must give the table's row) and through the byte path used for the
 * PyTorch samples (the same images, quantised to uint8), to show the two paths agree.
 *
 *   npx tsx bench/reference/score-samples.ts [--evaluator DIR] [--split DIR] [--cgan CHECKPOINT_DIR] [--json FILE] SAMPLE_DIR...
 *
 * --evaluator: a finished evaluator checkpoint (default /work/t1/runs/flowers-cpu/evaluator); read only.
 * --split: the Table 1 split as dumped by bench/reference/dump-split.ts (default /tmp/split, flowers102).
 * SAMPLE_DIR: samples-x.bin (uint8 NHWC), samples-y.bin (int32), optional labeldep-x.bin (float32
 * NHWC, K blocks of the same n codes: labelDependenceOf's layout) and info.json.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../lib/backend/index';
import { Classifier, range } from '../../lib/eval/evaluator';
import type { ImageBatch } from '../../lib/viz/grid';
import { evaluate, realFid, referenceStats, type ReferenceStats } from '../../lib/eval/measure';
import { frechetFromMoments, gaussianMoments, inceptionScore, meanPairwiseRms, top1Accuracy } from '../../lib/eval/metrics';
import { loadModel } from '../../lib/model/factory';
import { Rng } from '../../lib/model/rng';
import { labelDependence, labelDependenceOf } from '../../lib/train/diagnostics';

type ImageBatchT = { data: Uint8Array; shape: [number, number, number, number] };

interface Scores {
  top1: number;
  realism: number;
  fid: number;
  diversity: number;
  labelDep?: number;
  n: number;
}

function arg(name: string, fallback?: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

function readSplit(dir: string, ds: string, s: 'train' | 'test', R = 32): { images: ImageBatchT; labels: Int32Array } {
  const x = readFileSync(join(dir, `${ds}-${s}-x.bin`));
  const y = readFileSync(join(dir, `${ds}-${s}-y.bin`));
  const labels = new Int32Array(y.buffer.slice(y.byteOffset, y.byteOffset + y.byteLength));
  return { images: { data: new Uint8Array(x.buffer, x.byteOffset, x.byteLength), shape: [labels.length, R, R, 3] }, labels };
}

/**
 * evaluate()'s measurements (lib/eval/measure.ts) on images given as bytes, class-major like
 * evaluate's: top-1 against the labels, the inception-score form, FID of the evaluator's features
 * against the reference moments, and the mean over classes of the within-class mean pairwise RMS
 * distance (on x / 127.5 - 1, the images the evaluator sees).
 */
function scoreBytes(evaluator: Classifier, images: ImageBatchT, labels: Int32Array, reference: ReferenceStats): Scores {
  const K = evaluator.config.numClasses;
  const F = evaluator.config.arch.features;
  const { probs, features, n } = evaluator.predictAll(images as ImageBatch);
  if (n !== labels.length) throw new Error(`${n} images but ${labels.length} labels`);
  const per = images.shape[1] * images.shape[2] * images.shape[3];
  const floats = Float32Array.from(images.data, (v) => v / 127.5 - 1);
  const perClassDiv: number[] = [];
  for (let c = 0; c < K; c++) {
    const rows = Int32Array.from(range(0, n).filter((i) => labels[i] === c));
    if (rows.length >= 2) perClassDiv.push(meanPairwiseRms({ data: floats, rows: n, cols: per }, rows));
  }
  return {
    top1: 100 * top1Accuracy({ data: probs, rows: n, cols: K }, labels),
    realism: inceptionScore({ data: probs, rows: n, cols: K }),
    fid: frechetFromMoments(gaussianMoments({ data: features, rows: n, cols: F }), reference.moments),
    diversity: perClassDiv.reduce((s, v) => s + v, 0) / perClassDiv.length,
    n,
  };
}

function fmt(s: Scores): string {
  return `top-1 ${s.top1.toFixed(2)}%, realism ${s.realism.toFixed(3)}, FID ${s.fid.toFixed(2)}, diversity ${s.diversity.toFixed(4)}` +
    (s.labelDep === undefined ? '' : `, label dependence ${s.labelDep.toFixed(3)}`) + ` (${s.n} images)`;
}

async function main(): Promise<void> {
  const evalDir = arg('--evaluator', '/work/t1/runs/flowers-cpu/evaluator')!;
  const splitDir = arg('--split', '/tmp/split')!;
  const dataset = arg('--dataset', 'flowers102')!;
  const cgan = arg('--cgan');
  const jsonOut = arg('--json');
  const flags = new Set(['--evaluator', '--split', '--dataset', '--cgan', '--json']);
  const dirs = process.argv.slice(2).filter((a, i, all) => !flags.has(a) && !flags.has(all[i - 1]));

  const backend = await initBackend();
  console.log(`backend ${backend.choice}; evaluator ${evalDir}; split ${splitDir}`);
  const evaluator = await Classifier.load(evalDir);
  const K = evaluator.config.numClasses;
  const test = readSplit(splitDir, dataset, 'test');
  const train = readSplit(splitDir, dataset, 'train');
  // The runner's reference: the evaluator on the real test images (its "Real data" row).
  const reference = referenceStats(evaluator, test.images as ImageBatch, test.labels);
  const out: Record<string, unknown> = {
    evaluator: evalDir,
    real: { top1: 100 * reference.accuracy, realism: reference.realism, fidTrainTest: realFid(evaluator, train.images as ImageBatch, reference), diversity: reference.diversity, n: reference.n },
  };
  console.log(`real test images: top-1 ${(100 * reference.accuracy).toFixed(2)}%, realism ${reference.realism.toFixed(3)}, FID(train, test) ${(out.real as { fidTrainTest: number }).fidTrainTest.toFixed(3)}, diversity ${reference.diversity.toFixed(4)} (${reference.n})`);

  if (cgan) {
    const model = await loadModel(cgan);
    try {
      // The runner's call (reproduce.ts: perClass 100, seed 1) and the same images through the byte path.
      const e = evaluate(model, evaluator, { perClass: 100, seed: 1, reference });
      const runner: Scores = { top1: 100 * e.accuracy, realism: e.realism, fid: e.fid, diversity: e.diversity, labelDep: labelDependence(model), n: e.n };
      const rng = new Rng(1, 4); // evaluate()'s per-class seeds
      const chunks: Uint8Array[] = [];
      const labels = new Int32Array(K * 100);
      for (let c = 0; c < K; c++) {
        const x = model.sample(new Array<number>(100).fill(c), { seed: rng.seed() });
        const bytes = tf.tidy(() => tf.clipByValue(tf.round(tf.mul(tf.add(x, 1), 127.5)), 0, 255));
        chunks.push(Uint8Array.from(bytes.dataSync()));
        tf.dispose([x, bytes]);
        labels.fill(c, c * 100, (c + 1) * 100);
      }
      const data = new Uint8Array(chunks.reduce((s, b) => s + b.length, 0));
      let o = 0;
      for (const b of chunks) (data.set(b, o), (o += b.length));
      const viaBytes = scoreBytes(evaluator, { data, shape: [K * 100, 32, 32, 3] }, labels, reference);
      viaBytes.labelDep = runner.labelDep;
      console.log(`our CGAN (${cgan}), step ${model.step}:\n  evaluate():  ${fmt(runner)}\n  byte path:   ${fmt(viaBytes)}`);
      out.oursCgan = { checkpoint: cgan, step: model.step, evaluate: runner, bytePath: viaBytes };
    } finally {
      model.dispose();
    }
  }

  const samples: Record<string, unknown> = {};
  for (const dir of dirs) {
    const x = readFileSync(join(dir, 'samples-x.bin'));
    const y = readFileSync(join(dir, 'samples-y.bin'));
    const labels = new Int32Array(y.buffer.slice(y.byteOffset, y.byteOffset + y.byteLength));
    const s = scoreBytes(evaluator, { data: new Uint8Array(x.buffer, x.byteOffset, x.byteLength), shape: [labels.length, 32, 32, 3] }, labels, reference);
    const ldFile = join(dir, 'labeldep-x.bin');
    if (existsSync(ldFile)) {
      const b = readFileSync(ldFile);
      const v = new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
      const size = 32 * 32 * 3;
      s.labelDep = labelDependenceOf(v, K, v.length / (K * size), size);
    }
    const info = existsSync(join(dir, 'info.json')) ? (JSON.parse(readFileSync(join(dir, 'info.json'), 'utf8')) as Record<string, unknown>) : {};
    console.log(`${dir}${info.seed === undefined ? '' : ` (seed ${info.seed})`}: ${fmt(s)}`);
    samples[dir] = { ...s, seed: info.seed, labelDepPython: info.label_dep };
  }
  out.samples = samples;
  if (jsonOut) writeFileSync(jsonOut, JSON.stringify(out, null, 1) + '\n');
  evaluator.dispose();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
