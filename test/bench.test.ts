/**
 * The benchmark (bench/run.ts) runs end to end on the tiny net and writes well-formed results.
 * Times nothing: CI never judges speed. Writes to a temporary file, never to bench/results.json.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';

const root = path.join(__dirname, '..');
const tsx = path.join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs');

function bench(args: string[]) {
  return spawnSync(process.execPath, [tsx, path.join(root, 'bench', 'run.ts'), ...args], { cwd: root, encoding: 'utf8', timeout: 240_000 });
}

test('bench runs the tiny net on wasm beside the PyTorch reference and writes results', { timeout: 300_000 }, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cvaegan-bench-test-'));
  const out = path.join(dir, 'results.json');
  try {
    const r = bench(['--tiny', '--backends', 'wasm,cpu', '--nets', 'tiny', '--kinds', 'cvaegan', '--steps', '2', '--warmup', '1', '--out', out]);
    assert.equal(r.status, 0, `bench failed:\n${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /x PyTorch/);
    const res = JSON.parse(fs.readFileSync(out, 'utf8'));
    assert.ok(res.machine.cores >= 1 && Array.isArray(res.machine.loadAverageStart));
    assert.equal(res.options.steps, 2);
    const runs = res.runs as Array<Record<string, any>>;
    assert.equal(runs.length, 2);
    for (const run of runs) {
      assert.equal(run.ok, true, `${run.variant}: ${run.error}`);
      assert.equal(run.job.net, 'tiny');
      assert.equal(run.batch, 8);
      assert.equal(run.msAll.length, 2);
      assert.ok(run.msPerStep > 0 && run.imagesPerSec > 0 && run.cpuMsPerStep >= 0);
      assert.ok(run.peakRssMB > 10);
      assert.equal(run.tensorsFlat, true, `tensors per step: ${run.numTensors}`);
      assert.equal(run.params, 11698);
    }
    assert.equal(runs.find((x) => x.variant === 'wasm')!.backend, 'wasm');
    assert.equal(runs.find((x) => x.variant === 'cpu')!.backend, 'cpu');
    assert.ok(runs.find((x) => x.variant === 'wasm')!.wasmHeapMB > 0);
    // The PyTorch reference: where torch is installed it must build the same net (same parameter
    // count) and give a ratio; where it is not, the reason is recorded instead.
    const ref = res.reference[0];
    assert.equal(ref.net, 'tiny');
    if (ref.ok) {
      assert.equal(ref.paramsTotal, 11698);
      assert.ok(ref.imagesPerSec > 0 && ref.peakRssMB > 10);
      assert.equal(res.ratios.length, 2);
      for (const q of res.ratios) assert.ok(Math.abs(q.ratio - q.tfjsImagesPerSec / q.torchImagesPerSec) < 1e-9);
    } else {
      assert.match(ref.error, /PyTorch reference/);
    }
    // The reference64 target is only judged when reference64 ran.
    assert.equal(res.target.met, false);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('bench skips what it cannot time, with the reason', { timeout: 120_000 }, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cvaegan-bench-test-'));
  const out = path.join(dir, 'r.json');
  try {
    const r = bench(['--backends', 'cpu', '--nets', 'reference64', '--kinds', 'cvaegan', '--no-reference', '--out', out, '--quiet']);
    assert.equal(r.status, 0, r.stderr);
    const res = JSON.parse(fs.readFileSync(out, 'utf8'));
    assert.equal(res.runs[0].ok, false);
    assert.match(res.runs[0].skipped, /pure-JS cpu backend/);
    assert.deepEqual(res.reference, []);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('bench rejects unknown options and names', () => {
  for (const args of [['--fast'], ['--backends', 'gpu'], ['--nets', 'huge'], ['--threads', '0']]) {
    const r = bench([...args, '--out', path.join(os.tmpdir(), 'never-written.json')]);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, /^bench: /);
  }
});

test('bench/reference/reference64.json (used without Node by bench/reference/gpu.sh) equals benchConfig("reference64")', async () => {
  const { benchConfig } = await import('../bench/configs');
  const file = JSON.parse(fs.readFileSync(path.join(root, 'bench', 'reference', 'reference64.json'), 'utf8'));
  assert.deepEqual(file, JSON.parse(JSON.stringify(benchConfig('reference64'))));
});
