/**
 * The runner's metrics beyond the paper (lib/eval/reproduce-beyond.ts) on a smoke run: the columns
 * are in table.json/csv/md, they describe the same generated images as the FID column, and a
 * finished folder without them (as an earlier version left it) gets them with --evaluate-only
 * from its checkpoints, training nothing.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join, resolve } from 'path';
import { reproduce, TableRow } from '../lib/eval/reproduce';
import { Classifier, datasetImages } from '../lib/eval/evaluator';
import { referenceStats } from '../lib/eval/measure';
import { generatedFeatures } from '../lib/eval/measure-beyond';
import { frechetFromMoments, gaussianMoments } from '../lib/eval/metrics';
import { loadSplit } from '../lib/eval/splits';
import { loadModel } from '../lib/model/factory';
import { initBackend } from '../lib/backend/index';
import { beyondRows } from '../lib/notebook/table1';
import { writeSyntheticFaces } from './helpers/synthetic-faces';

const ROOT = resolve(__dirname, '..');
let work: string;
let data: string;
before(() => {
  work = mkdtempSync(join(tmpdir(), 'reproduce-beyond-'));
  data = writeSyntheticFaces(join(work, 'faces'), 3, 15);
  process.env.CVAEGAN_CACHE_DIR = join(work, 'cache');
});
after(() => rmSync(work, { recursive: true, force: true }));

const sink = { write: () => true, isTTY: false };
const BEYOND = ['intraFid', 'precision', 'recall', 'density', 'coverage', 'cas'] as const;
const table = (out: string) => JSON.parse(readFileSync(join(out, 'table.json'), 'utf8')) as { caption: string; rows: TableRow[] };

test('the table gets intra-class FID, precision/recall, density/coverage and CAS; --evaluate-only adds them to an older folder without training', async () => {
  const out = join(work, 'run');
  const kinds = ['cvae', 'cvaegan'] as const;
  const lines: string[] = [];
  const r = await reproduce({ dataset: 'faces', preset: 'cpu', smoke: true, root: data, out, models: [...kinds], log: (l) => lines.push(l), progressStream: sink });
  assert.equal(r.status, 'done');
  const first = table(out);
  assert.match(first.caption, /intra-class FID .*precision\/recall \(k = 3\) and density\/coverage \(k = 5\) against the 9 real test images/);
  for (const row of first.rows) {
    for (const k of BEYOND) assert.ok(typeof row[k] === 'number' && Number.isFinite(row[k]), `${row.method} ${k} = ${row[k]}`);
    for (const k of ['precision', 'recall', 'coverage'] as const) assert.ok(row[k]! >= 0 && row[k]! <= 1, `${row.method} ${k} ${row[k]}`);
    assert.ok(row.density! >= 0 && row.intraFid! >= 0 && row.cas! >= 0 && row.cas! <= 100);
  }
  // Real data's CAS is the evaluator itself: the same recipe trained on the real training split.
  assert.equal(first.rows[0].cas, first.rows[0].top1);
  const csv = readFileSync(join(out, 'table.csv'), 'utf8').trim().split('\n');
  assert.deepEqual(csv[0].split(','), Object.keys(first.rows[0]));
  assert.match(readFileSync(join(out, 'table.md'), 'utf8'), /\| Diversity \| Intra-FID \| Precision \| Recall \| Density \| Coverage \| CAS \(%\) \|/);
  assert.ok(existsSync(join(out, 'models', 'cvaegan', 'cas', 'checkpoint.json')), 'the CAS classifier is checkpointed');
  // 05-table1's table of them, and its 'not there yet' for older results.
  const nb = beyondRows(first.rows)!;
  assert.deepEqual(nb.map((x) => x.Method), ['Real data', 'CVAE', 'CVAE-GAN']);
  assert.equal(nb[2]['intra-class FID'], Number(first.rows[2].intraFid!.toFixed(2)));
  assert.equal(beyondRows(first.rows.map(({ intraFid: _i, precision: _p, recall: _r, density: _d, coverage: _c, cas: _a, ...old }) => old)), undefined);

  // The k-NN and intra-FID columns use evaluate()'s images: their features give the FID column back.
  await initBackend();
  const split = await loadSplit({ dataset: 'faces', resolution: 32, budgetClasses: 3, maxPerClass: 16, root: data, progress: false });
  const ev = await Classifier.load(join(out, 'evaluator'));
  const model = await loadModel(join(out, 'models', 'cvaegan', 'checkpoint'));
  const ref = referenceStats(ev, datasetImages(split.test), split.test.labels);
  const g = generatedFeatures(model, ev, 4, 1);
  assert.equal(frechetFromMoments(gaussianMoments(g), ref.moments), first.rows[2].fid);
  model.dispose();
  ev.dispose();

  // An earlier version's folder: no beyond:/cas: stages, no CAS checkpoints, a table without them.
  const statePath = join(out, 'state.json');
  const state = JSON.parse(readFileSync(statePath, 'utf8')) as { stages: Record<string, unknown> };
  for (const k of Object.keys(state.stages)) if (/^(beyond|cas):/.test(k)) delete state.stages[k];
  writeFileSync(statePath, JSON.stringify(state));
  for (const k of kinds) rmSync(join(out, 'models', k, 'cas'), { recursive: true });
  const ckpt = (k: string) => join(out, 'models', k, 'checkpoint', 'checkpoint.json');
  const before = kinds.map((k) => [statSync(ckpt(k)).mtimeMs, readFileSync(join(out, 'models', k, 'losses.jsonl'), 'utf8')]);
  const evBefore = statSync(join(out, 'evaluator', 'checkpoint.json')).mtimeMs;

  // The CLI, as the lead runs it; cgan was never trained here: skipped, not trained.
  const cli = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/reproduce.ts', '--smoke', '--dataset', 'faces', '--root', data, '--out', out, '--models', 'cvae,cgan,cvaegan', '--evaluate-only'], {
    cwd: ROOT, env: { ...process.env, CVAEGAN_CACHE_DIR: join(work, 'cache') }, encoding: 'utf8',
  });
  const text = cli.stdout + cli.stderr;
  assert.equal(cli.status, 0, text);
  assert.match(text, /== train:cgan: not trained here; skipped \(--evaluate-only\)/);
  assert.doesNotMatch(text, /== (train|eval):(cvae|cvaegan)\b/, 'finished stages are not redone');
  assert.match(text, /== beyond:cvaegan:/);
  assert.match(text, /== cas:cvae:/);
  assert.ok(!existsSync(join(out, 'models', 'cgan')), 'nothing of cgan is created');
  kinds.forEach((k, i) => {
    assert.equal(statSync(ckpt(k)).mtimeMs, before[i][0], `${k}'s checkpoint untouched`);
    assert.equal(readFileSync(join(out, 'models', k, 'losses.jsonl'), 'utf8'), before[i][1], `${k}'s loss log untouched`);
  });
  assert.equal(statSync(join(out, 'evaluator', 'checkpoint.json')).mtimeMs, evBefore, 'the evaluator is not retrained');
  // Everything is seeded: the added columns equal those of the run that computed them first.
  const again = table(out);
  assert.deepEqual(again.rows, first.rows);

  // --evaluate-only on a folder with no finished evaluator trains nothing and says so.
  await assert.rejects(reproduce({ dataset: 'faces', preset: 'cpu', smoke: true, root: data, out: join(work, 'empty'), evaluateOnly: true, log: () => {}, progressStream: sink }), /--evaluate-only: .*empty has no finished evaluator/);
});
