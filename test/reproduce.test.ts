/**
 * The Table 1 runner end to end on a tiny budget (a synthetic 3-class image folder, smoke settings):
 * a well-formed table, finished stages skipped on rerun, a changed budget refused, a SIGKILL mid-run
 * resumed from the checkpoint to the same table as an uninterrupted run; and the `train` CLI.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join, resolve } from 'path';
import * as tf from '@tensorflow/tfjs';
import { readLossLog } from '../lib/train/losslog';
import { loadDataset, sharedDataset } from '../datasets/index';
import { TABLE_MODELS } from '../lib/eval/budget';
import { planBudget } from '../lib/eval/plan';
import { orderings, reproduce, ReproduceOptions, TableRow } from '../lib/eval/reproduce';
import { loadSplit } from '../lib/eval/splits';
import { writeSyntheticFaces } from './helpers/synthetic-faces';

const ROOT = resolve(__dirname, '..');
let work: string;
let data: string;
before(() => {
  work = mkdtempSync(join(tmpdir(), 'reproduce-'));
  data = writeSyntheticFaces(join(work, 'faces'), 3, 15);
  // Keep the preprocessed-image cache out of the repository.
  process.env.CVAEGAN_CACHE_DIR = join(work, 'cache');
});
after(() => rmSync(work, { recursive: true, force: true }));

const sink = { write: () => true, isTTY: false };
const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47]);

function run(out: string, extra: Partial<ReproduceOptions> = {}) {
  const lines: string[] = [];
  const p = reproduce({ dataset: 'faces', preset: 'cpu', smoke: true, root: data, out, log: (l) => lines.push(l), progressStream: sink, ...extra });
  return { lines, p };
}

/** Runs a CLI script with tsx; resolves with its exit code and output. */
function cli(script: string, args: string[], opts: { killWhen?: () => boolean } = {}): Promise<{ code: number | null; signal: string | null; out: string }> {
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join('scripts', script), ...args], {
      cwd: ROOT,
      env: { ...process.env, CVAEGAN_CACHE_DIR: join(work, 'cache') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    let timer: NodeJS.Timeout | undefined;
    if (opts.killWhen) {
      timer = setInterval(() => {
        if (opts.killWhen!()) {
          clearInterval(timer);
          child.kill('SIGKILL');
        }
      }, 20);
    }
    child.on('error', rej);
    child.on('close', (code, signal) => {
      if (timer) clearInterval(timer);
      res({ code, signal, out });
    });
  });
}

function checkTable(out: string, kinds: string[]): TableRow[] {
  const table = JSON.parse(readFileSync(join(out, 'table.json'), 'utf8')) as { caption: string; columns: string[]; rows: TableRow[] };
  assert.equal(table.rows.length, 1 + kinds.length);
  assert.deepEqual(table.rows.map((r) => r.kind), ['real', ...kinds]);
  assert.deepEqual(table.rows.map((r) => r.method), ['Real data', ...kinds.map((k) => TABLE_MODELS.find((m) => m.kind === k)!.label)]);
  assert.match(table.caption, /3 of 3 classes in the copy used/);
  assert.match(table.caption, /Faces/);
  for (const r of table.rows) {
    assert.ok(r.top1 >= 0 && r.top1 <= 100, `top1 ${r.top1}`);
    assert.ok(r.realism >= 1 - 1e-9 && r.realism <= 3 + 1e-9, `realism ${r.realism}`);
    assert.ok(r.fid >= 0 && Number.isFinite(r.fid), `fid ${r.fid}`);
    assert.ok(r.diversity >= 0 && r.diversity <= 2, `diversity ${r.diversity}`);
  }
  for (const r of table.rows.slice(1)) {
    assert.equal(r.images, 3 * 4, 'perClass 4 x 3 classes');
    assert.equal(r.steps, (JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as { budget: { steps: number } }).budget.steps);
    assert.ok(r.trainMinutes! > 0);
  }
  // CSV: header + one line per row, same columns as the JSON rows.
  const csv = readFileSync(join(out, 'table.csv'), 'utf8').trim().split('\n');
  assert.equal(csv.length, table.rows.length + 1);
  assert.deepEqual(csv[0].split(','), Object.keys(table.rows[0]));
  const md = readFileSync(join(out, 'table.md'), 'utf8');
  assert.match(md, /\| Method \| Top-1 \(%\) \| Realism \| FID \| Diversity \|/);
  assert.match(md, /- FID \(lower is better\): /);
  for (const g of ['real', ...kinds]) assert.deepEqual(readFileSync(join(out, 'grids', `${g}.png`)).subarray(0, 4), PNG, `grids/${g}.png`);
  return table.rows;
}

test('the runner trains the evaluator and all four models and writes a well-formed table; a rerun skips every stage', async () => {
  const out = join(work, 'full');
  const first = run(out, { results: join(work, 'published') });
  const r = await first.p;
  assert.equal(r.status, 'done');
  const kinds = TABLE_MODELS.map((m) => m.kind);
  const rows = checkTable(out, kinds);
  const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
  assert.equal(manifest.classes.count, 3);
  assert.equal(manifest.split.train + manifest.split.test, 45);
  assert.deepEqual(manifest.split.testPerClass, [3, 3, 3], '20% of 15 per class');
  assert.equal(manifest.modelConfig.numClasses, 3);
  const state = JSON.parse(readFileSync(join(out, 'state.json'), 'utf8'));
  assert.deepEqual(Object.keys(state.stages).sort(), ['evaluator', 'reference', 'beyond:real', ...kinds.flatMap((k) => [`train:${k}`, `eval:${k}`, `beyond:${k}`, `cas:${k}`])].sort());
  for (const k of kinds) {
    const log = readLossLog(join(out, 'models', k, 'losses.jsonl'));
    assert.deepEqual(log.map((x) => x.step), [1, 2, 3, 4, 5, 6]);
    assert.ok(existsSync(join(out, 'models', k, 'grids', 'step-000006.png')));
  }
  for (const f of ['table.json', 'table.csv', 'table.md', 'manifest.json', 'grids/cvaegan.png', 'losses-cvae.png']) assert.ok(existsSync(join(work, 'published', f)), f);
  assert.deepEqual(readLossLog(join(work, 'published', 'losses-cvaegan.jsonl')).map((x) => x.step), [1, 2, 3, 4, 5, 6]);

  const tensors = tf.memory().numTensors;
  const second = run(out);
  const r2 = await second.p;
  assert.equal(tf.memory().numTensors, tensors, 'a rerun leaves no tensors behind');
  assert.equal(r2.status, 'done');
  const text = second.lines.join('\n');
  assert.match(text, /evaluator: done, loading it/);
  assert.doesNotMatch(text, /== (train|eval):/, 'no model is trained or evaluated again');
  assert.doesNotMatch(text, /classifier epoch/);
  assert.deepEqual(checkTable(out, kinds), rows);

  // A different budget in the same folder is refused, naming the difference.
  await assert.rejects(run(out, { steps: 9 }).p, /budget\.steps: 6 before, 9 now/);
});

test('killed after its first model checkpoint, the CLI resumes on rerun (finished stages kept) and ends with the table of an uninterrupted run', async () => {
  const out = join(work, 'killed');
  const args = ['--smoke', '--dataset', 'faces', '--root', data, '--out', out, '--models', 'cvae,cvaegan', '--steps', '20'];
  const ckpt = join(out, 'models', 'cvae', 'checkpoint', 'checkpoint.json');
  const killed = await cli('reproduce.ts', args, { killWhen: () => existsSync(ckpt) });
  assert.equal(killed.signal, 'SIGKILL', `the run ended before it could be killed:\n${killed.out}`);
  assert.ok(!existsSync(join(out, 'table.json')));
  const state = JSON.parse(readFileSync(join(out, 'state.json'), 'utf8'));
  assert.equal(state.stages.evaluator.done, true);
  assert.equal(state.stages['train:cvae'], undefined);

  const resumed = await cli('reproduce.ts', args);
  assert.equal(resumed.code, 0, resumed.out);
  assert.match(resumed.out, /evaluator: done, loading it/);
  assert.doesNotMatch(resumed.out, /classifier epoch/, 'the finished evaluator is not retrained');
  const at = /CVAE: resumed from .* at step (\d+)/.exec(resumed.out);
  assert.ok(at && Number(at[1]) >= 2 && Number(at[1]) % 2 === 0, resumed.out);
  assert.deepEqual(readLossLog(join(out, 'models', 'cvae', 'losses.jsonl')).map((x) => x.step), Array.from({ length: 20 }, (_, i) => i + 1));
  const rows = checkTable(out, ['cvae', 'cvaegan']);

  // The same command without the kill, in process.
  const straight = join(work, 'straight');
  const tensors = tf.memory().numTensors;
  const r = await run(straight, { models: ['cvae', 'cvaegan'], steps: 20 }).p;
  assert.equal(r.status, 'done');
  assert.equal(tf.memory().numTensors, tensors, 'training, evaluating and tabulating leave no tensors behind');
  const ref = checkTable(straight, ['cvae', 'cvaegan']);
  // Equal exactly: checkpoints keep Adam's beta^t as training multiplied it (test/resume-exact.test.ts).
  // A resume that lost the optimiser state or the batch position would differ in the 2nd or 3rd digit.
  const numbers = (rs: TableRow[]) => rs.flatMap((x) => [x.top1, x.realism, x.fid, x.diversity]);
  const [got, want] = [numbers(rows), numbers(ref)];
  got.forEach((v, i) => assert.ok(v === want[i], `value ${i}: resumed ${v}, uninterrupted ${want[i]}`));
});

test('npm run train: progress, JSONL log, grids, checkpoint; refuses to overwrite without --resume; --resume continues', async () => {
  const out = join(work, 'train-one');
  const base = ['--smoke', '--dataset', 'faces', '--root', data, '--model', 'cvaegan', '--out', out];
  const a = await cli('train.ts', [...base, '--steps', '4']);
  assert.equal(a.code, 0, a.out);
  assert.match(a.out, /CVAE-GAN .*4\/4 \(100%\)/, 'progress line');
  assert.match(a.out, /L_KL/, 'loss summary');
  assert.deepEqual(readLossLog(join(out, 'losses.jsonl')).map((x) => x.step), [1, 2, 3, 4]);
  for (const f of ['grids/step-000003.png', 'grids/step-000004.png', 'samples.png', 'losses.png']) assert.deepEqual(readFileSync(join(out, f)).subarray(0, 4), PNG, f);
  assert.equal(JSON.parse(readFileSync(join(out, 'checkpoint', 'checkpoint.json'), 'utf8')).step, 4);

  const b = await cli('train.ts', [...base, '--steps', '6']);
  assert.equal(b.code, 1);
  assert.match(b.out, /already holds a checkpoint \(step 4\); pass --resume/);

  const c = await cli('train.ts', [...base, '--steps', '6', '--resume']);
  assert.equal(c.code, 0, c.out);
  assert.match(c.out, /resumed from .* at step 4/);
  assert.deepEqual(readLossLog(join(out, 'losses.jsonl')).map((x) => x.step), [1, 2, 3, 4, 5, 6]);
  assert.equal(JSON.parse(readFileSync(join(out, 'checkpoint', 'checkpoint.json'), 'utf8')).step, 6);
});

test('npm run train --resume with another --model, --classes or --seed fails before run.json or the checkpoint is touched', async () => {
  const out = join(work, 'train-mismatch');
  const base = ['--smoke', '--dataset', 'faces', '--root', data, '--out', out];
  const a = await cli('train.ts', [...base, '--model', 'cvae', '--steps', '2']);
  assert.equal(a.code, 0, a.out);
  const runJson = readFileSync(join(out, 'run.json'), 'utf8');
  const ckpt = readFileSync(join(out, 'checkpoint', 'checkpoint.json'), 'utf8');
  const cases: [string[], RegExp][] = [
    [['--model', 'cvaegan'], /--model: cvae before, cvaegan now/],
    [['--model', 'cvae', '--classes', '2'], /--classes: 3 classes \(.*\) before, 2 classes \(.*\) now/],
    [['--model', 'cvae', '--seed', '7'], /config\.seed \(--seed\): 1 before, 7 now/],
  ];
  for (const [extra, want] of cases) {
    const r = await cli('train.ts', [...base, ...extra, '--steps', '4', '--resume']);
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, /--resume: .*train-mismatch holds a different run \(nothing there was changed\)/);
    assert.match(r.out, want);
    assert.match(r.out, /Resume with the options it was started with, or pass --out <new folder>/);
    assert.equal(readFileSync(join(out, 'run.json'), 'utf8'), runJson, `run.json unchanged after ${extra.join(' ')}`);
    assert.equal(readFileSync(join(out, 'checkpoint', 'checkpoint.json'), 'utf8'), ckpt);
  }
  const ok = await cli('train.ts', [...base, '--model', 'cvae', '--steps', '3', '--resume']);
  assert.equal(ok.code, 0, ok.out);
  assert.match(ok.out, /resumed from .* at step 2/);
});

test('CLI values: a negative number is called "must be a positive integer", and more classes than the copy has is an error', async () => {
  for (const script of ['train.ts', 'reproduce.ts']) {
    const r = await cli(script, ['--smoke', '--dataset', 'faces', '--root', data, ...(script === 'train.ts' ? ['--model', 'cvae'] : []), '--steps', '-5']);
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, /^--steps must be a positive integer \(got -5\)$/m, `${script}: ${r.out}`);
    assert.doesNotMatch(r.out, /ambiguous/);
  }
  const r = await cli('train.ts', ['--smoke', '--dataset', 'faces', '--root', data, '--model', 'cvae', '--classes', '500', '--out', join(work, 'too-many')]);
  assert.equal(r.code, 1, r.out);
  assert.match(r.out, /faces: 500 classes asked for \(--classes\), but the copy at .* has 3; ask for at most 3/);
  // A preset's budget that asks for more classes than the copy has uses them all, and says so.
  const split = await loadSplit({ dataset: 'faces', resolution: 32, budgetClasses: 5, root: data, progress: false });
  assert.equal(split.train.numClasses, 3);
  assert.match(split.classesNote!, /the preset's budget takes the first 5 classes, but the copy at .* has 3: all 3 are used/);
});

test('orderings rank the models per metric: top-1 and realism descending, FID ascending, diversity by closeness to real', () => {
  const row = (method: string, top1: number, realism: number, fid: number, diversity: number): TableRow => ({
    method, kind: method === 'Real data' ? 'real' : 'cvae', top1, realism, fid, diversity, images: 10, steps: 1, trainMinutes: 1,
  });
  const o = orderings([row('Real data', 90, 5, 1, 0.5), row('A', 50, 2, 10, 0.1), row('B', 60, 1.5, 5, 0.45), row('C', 40, 3, 20, 0.95)]);
  assert.equal(o.top1, 'B (60.0) > A (50.0) > C (40.0)');
  assert.equal(o.realism, 'C (3.00) > A (2.00) > B (1.50)');
  assert.equal(o.fid, 'B (5.00) > A (10.00) > C (20.00)');
  // |0.45 - 0.5| = 0.05 < |0.1 - 0.5| = 0.4 < |0.95 - 0.5| = 0.45: closeness, not size, ranks.
  assert.equal(o.diversity, 'B (0.450) > A (0.100) > C (0.950)');
  assert.equal(orderings([row('Real data', 90, 5, 1, 0.5), row('A', 50, 2, 10, 0.1), row('B', 50, 2, 5, 0.45)]).top1, 'A (50.0) = B (50.0)');
});

test('--plan times every model on real batches and sizes the step count to the target minutes', async () => {
  const lines: string[] = [];
  const p = await planBudget({ dataset: 'faces', preset: 'tiny', classes: 3, root: data, minutes: 30, timedSteps: 2, log: (l) => lines.push(l) });
  assert.deepEqual(Object.keys(p.msPerStep), TABLE_MODELS.map((m) => m.kind));
  for (const ms of Object.values(p.msPerStep)) assert.ok(ms! > 0 && ms! < 60_000, `ms/step ${ms}`);
  const perStep = Object.values(p.msPerStep).reduce((a, b) => a + b!, 0) / 1000;
  assert.equal(p.steps % 100, 0);
  // The steps fit: planned time <= target, and 100 more would not.
  const planned = (n: number) => n * perStep + p.evaluatorSeconds + p.evaluationSeconds;
  assert.ok(planned(p.steps) <= 30 * 60 && planned(p.steps + 100) > 30 * 60, `steps ${p.steps}, ${perStep} s/step`);
  assert.match(lines.join('\n'), /30 min fit \d+ steps per model/);
});

test('the 80/20 split of the staged datasets: disjoint, about 20% test per class, and for faces the loader\'s own split', async (t) => {
  for (const [name, folder] of [['flowers102', 'flowers102'], ['cub200', 'cub200'], ['faces', 'faces_celeba']] as const) {
    const staged = sharedDataset(folder);
    if ('missing' in staged) {
      t.skip(staged.missing);
      return;
    }
    const s = await loadSplit({ dataset: name, resolution: 32, classes: 3, progress: false });
    assert.equal(s.train.numClasses, 3);
    const trainFiles = new Set(s.train.files);
    assert.ok(s.test.files.every((f) => !trainFiles.has(f)), `${name}: a file is in both splits`);
    for (let c = 0; c < 3; c++) {
      const nTest = Array.from(s.test.labels).filter((l) => l === c).length;
      const n = nTest + Array.from(s.train.labels).filter((l) => l === c).length;
      assert.equal(nTest, Math.round(0.2 * n), `${name} class ${c}: ${nTest} of ${n} in test`);
    }
    if (name === 'faces') {
      const own = await loadDataset({ name: 'faces', split: 'test', resolution: 32, classes: { first: 3 }, progress: false });
      assert.deepEqual([...s.test.files].sort(), [...own.files].sort());
    }
  }
});
