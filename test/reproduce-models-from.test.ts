/**
 * `--models-from`: a finished table re-measured with a new evaluator without retraining its
 * models (lib/eval/reproduce.ts, adoptModels), and the CAS recipe of its own (budget.cas: the
 * real row's CAS then comes from the cas:real stage, not from the evaluator).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { reproduce, TableRow } from '../lib/eval/reproduce';
import { Classifier, datasetImages } from '../lib/eval/evaluator';
import { evaluate, referenceStats } from '../lib/eval/measure';
import { loadSplit } from '../lib/eval/splits';
import { loadModel } from '../lib/model/factory';
import { initBackend } from '../lib/backend/index';
import { writeSyntheticFaces } from './helpers/synthetic-faces';

let work: string;
let data: string;
before(() => {
  work = mkdtempSync(join(tmpdir(), 'reproduce-from-'));
  data = writeSyntheticFaces(join(work, 'faces'), 3, 15);
  process.env.CVAEGAN_CACHE_DIR = join(work, 'cache');
});
after(() => rmSync(work, { recursive: true, force: true }));

const sink = { write: () => true, isTTY: false };
const table = (out: string) => JSON.parse(readFileSync(join(out, 'table.json'), 'utf8')) as { caption: string; rows: TableRow[] };
const state = (out: string) => JSON.parse(readFileSync(join(out, 'state.json'), 'utf8')) as { stages: Record<string, { result?: Record<string, unknown> }> };
const kinds = ['cvae', 'cgan'] as const;

test('--models-from measures another run\'s trained models with this run\'s evaluator, trains none of them, and keeps CAS classifiers whose recipe is unchanged', async () => {
  // The older run: an evaluator of one epoch (smoke's is two).
  const old = join(work, 'old');
  const r0 = await reproduce({ dataset: 'faces', preset: 'cpu', smoke: true, root: data, out: old, models: [...kinds], evaluator: { maxEpochs: 1 }, log: () => {}, progressStream: sink });
  assert.equal(r0.status, 'done');

  // The new run: the smoke evaluator, CAS at the older evaluator's recipe, so the older run's CAS
  // classifiers and its evaluator (the real images' CAS classifier) are reused, not retrained.
  const out = join(work, 'new');
  const lines: string[] = [];
  const r = await reproduce({ dataset: 'faces', preset: 'cpu', smoke: true, root: data, out, models: [...kinds], modelsFrom: old, casClassifier: { maxEpochs: 1 }, log: (l) => lines.push(l), progressStream: sink });
  assert.equal(r.status, 'done');
  const text = lines.join('\n');
  for (const k of kinds) {
    assert.match(text, new RegExp(`== train:${k}: taken from .*old.models.${k} \\(with its CAS classifier\\)`));
    assert.doesNotMatch(text, new RegExp(`== train:${k}: .*steps of batch`), `${k} is not trained again`);
    assert.equal(readFileSync(join(out, 'models', k, 'losses.jsonl'), 'utf8'), readFileSync(join(old, 'models', k, 'losses.jsonl'), 'utf8'));
    assert.equal(state(out).stages[`train:${k}`].result!.from, old);
  }
  assert.match(text, /== cas:real: .*evaluator is this run's CAS recipe on the real images; taken/);
  assert.match(text, /== evaluator: training/, 'the new evaluator is trained');
  assert.doesNotMatch(text, /classifier epoch 1\/1:/, 'no CAS classifier is retrained');

  const before = table(old);
  const now = table(out);
  // The models' rows are measured with the new evaluator: evaluate() of the older checkpoint under it.
  await initBackend();
  const split = await loadSplit({ dataset: 'faces', resolution: 32, budgetClasses: 3, maxPerClass: 16, root: data, progress: false });
  const ev = await Classifier.load(join(out, 'evaluator'));
  assert.equal(ev.config.maxEpochs, 2);
  const reference = referenceStats(ev, datasetImages(split.test), split.test.labels);
  assert.equal(now.rows[0].top1, 100 * reference.accuracy);
  const model = await loadModel(join(old, 'models', 'cgan', 'checkpoint'));
  const e = evaluate(model, ev, { perClass: 4, seed: 1, reference });
  assert.equal(now.rows[2].top1, 100 * e.accuracy);
  assert.equal(now.rows[2].fid, e.fid);
  model.dispose();
  ev.dispose();
  // CAS: the same classifiers as before, so the same numbers; the real row's is the older
  // evaluator's top-1 (it is the CAS recipe trained on the real images), not the new one's.
  assert.deepEqual(now.rows.slice(1).map((x) => x.cas), before.rows.slice(1).map((x) => x.cas));
  assert.equal(now.rows[0].cas, before.rows[0].top1);
  assert.match(now.caption, /The models \(cvae, cgan\) were trained in old and measured here with this run's evaluator; their step curves were measured during training under that run's 1-epoch evaluator/);
  assert.match(now.caption, /CAS = top-1 on the real test images of the evaluator's net trained for 1 epochs .*Real data: the same recipe on the real training images/);
  const curves = JSON.parse(readFileSync(join(out, 'discriminability.json'), 'utf8')) as { title: unknown };
  assert.match(JSON.stringify(curves.title), /under the evaluator of old/);

  // Rerunning the same command redoes nothing and gives the same table.
  const r2 = await reproduce({ dataset: 'faces', preset: 'cpu', smoke: true, root: data, out, models: [...kinds], modelsFrom: old, casClassifier: { maxEpochs: 1 }, log: () => {}, progressStream: sink });
  assert.deepEqual(r2.rows, r.rows);

  // Without CAS nothing of it is taken or trained.
  const noCas = join(work, 'no-cas');
  const r3 = await reproduce({ dataset: 'faces', preset: 'cpu', smoke: true, root: data, out: noCas, models: [...kinds], modelsFrom: old, cas: false, casClassifier: { maxEpochs: 1 }, log: () => {}, progressStream: sink });
  assert.ok(!existsSync(join(noCas, 'cas-real')));
  assert.deepEqual(r3.rows.map((x) => x.cas), [null, null, null]);
});

test('--models-from refuses a run of other settings and a folder that is no run, and copies nothing', async () => {
  const old = join(work, 'old-steps');
  await reproduce({ dataset: 'faces', preset: 'cpu', smoke: true, root: data, out: old, models: ['cvae'], steps: 4, log: () => {}, progressStream: sink });
  const out = join(work, 'refused');
  await assert.rejects(
    reproduce({ dataset: 'faces', preset: 'cpu', smoke: true, root: data, out, models: ['cvae'], modelsFrom: old, log: () => {}, progressStream: sink }),
    /--models-from: .*old-steps is a run of other settings \(only the evaluator may differ\):\n {2}budget\.steps: 4 before, 6 now/,
  );
  assert.ok(!existsSync(join(out, 'models')), 'nothing is copied');
  await assert.rejects(
    reproduce({ dataset: 'faces', preset: 'cpu', smoke: true, root: data, out: join(work, 'refused2'), modelsFrom: join(work, 'nowhere'), log: () => {}, progressStream: sink }),
    /--models-from: .*nowhere has no manifest\.json/,
  );
});

test('a CAS recipe other than the evaluator\'s trains the real row\'s CAS classifier (cas:real), the same classifier as an evaluator of that recipe', async () => {
  const out = join(work, 'cas-real');
  const lines: string[] = [];
  await reproduce({ dataset: 'faces', preset: 'cpu', smoke: true, root: data, out, models: ['cvae'], casClassifier: { maxEpochs: 1 }, log: (l) => lines.push(l), progressStream: sink });
  assert.match(lines.join('\n'), /== cas:real: the CAS recipe \(1 epochs, the evaluator's 2\) trained on the \d+ real training images/);
  assert.ok(existsSync(join(out, 'cas-real', 'checkpoint.json')));
  // The 'old' run of the first test has an evaluator of exactly this recipe (seeded): the same
  // classifier, prediction for prediction; the two-epoch evaluator is another one.
  await initBackend();
  const split = await loadSplit({ dataset: 'faces', resolution: 32, budgetClasses: 3, maxPerClass: 16, root: data, progress: false });
  const probs = async (dir: string) => {
    const c = await Classifier.load(dir);
    const p = Array.from(c.predictAll(datasetImages(split.test)).probs);
    c.dispose();
    return p;
  };
  const casReal = await probs(join(out, 'cas-real'));
  assert.deepEqual(casReal, await probs(join(work, 'old', 'evaluator')));
  assert.notDeepEqual(casReal, await probs(join(out, 'evaluator')));
  assert.equal(table(out).rows[0].cas, table(join(work, 'old')).rows[0].top1);
  assert.equal(JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')).casClassifier.maxEpochs, 1);
});
