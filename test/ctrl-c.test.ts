/**
 * Ctrl-C in a terminal (issue #17, item 2): `npm run train` and `npm run reproduce`, typed as a
 * user types them, run in a pseudo-terminal (test/helpers/pty_ctrl_c.py); Ctrl-C is pressed in the
 * middle of a training step, and the terminal's line discipline sends SIGINT to npm and everything
 * it started, as a keypress does. Both must stop after the current step with a checkpoint of that
 * step, say so, and continue from it.
 *
 * Before the fix the scripts ran under `tsx script.ts`, which runs the script in a child process
 * and SIGKILLs it when it does not acknowledge the SIGINT within 60 ms (a child busy in a step
 * cannot): nothing was printed and the newest checkpoint was the last periodic one.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'child_process';
import { mkdtempSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join, resolve } from 'path';
import { readLossLog } from '../lib/train/losslog';
import { writeSyntheticFaces } from './helpers/synthetic-faces';

const ROOT = resolve(__dirname, '..');
let work: string;
let data: string;
before(() => {
  work = mkdtempSync(join(tmpdir(), 'ctrl-c-'));
  data = writeSyntheticFaces(join(work, 'faces'), 3, 15);
});
after(() => rmSync(work, { recursive: true, force: true }));

interface PtyResult {
  exit: number | null;
  signal: number | null;
  linesAtCtrlC: number | null;
  secondsAfterCtrlC: number | null;
  timedOut: boolean;
  output: string;
}

/** `npm run <script> -- args` in a pseudo-terminal; Ctrl-C `delay` s after `watch` has `lines` lines. */
function npmInPty(script: string, args: string[], watch: string, lines: number, delay: number): Promise<PtyResult> {
  const npm = process.env.npm_execpath ? [process.execPath, process.env.npm_execpath] : ['npm'];
  return new Promise((res, rej) => {
    const child = spawn(join(ROOT, '.venv', 'bin', 'python'), [join(ROOT, 'test', 'helpers', 'pty_ctrl_c.py'), watch, String(lines), String(delay), '400', '0', '--', ...npm, 'run', script, '--', ...args], {
      cwd: ROOT,
      env: { ...process.env, CVAEGAN_CACHE_DIR: join(work, 'cache') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', rej);
    child.on('close', (code) => (code === 0 ? res(JSON.parse(out) as PtyResult) : rej(new Error(`pty_ctrl_c.py exited ${code}:\n${err}`))));
  });
}

/** The checks both commands share: stopped after the step in progress, with its checkpoint. */
function assertStoppedWithCheckpoint(r: PtyResult, modelDir: string): number {
  assert.equal(r.timedOut, false, r.output);
  assert.ok(r.linesAtCtrlC !== null, `Ctrl-C was never pressed:\n${r.output}`);
  assert.match(r.output, /interrupt: stopping after this step and writing a checkpoint/, 'the first Ctrl-C is acknowledged');
  const steps = readLossLog(join(modelDir, 'losses.jsonl')).map((x) => x.step);
  const n = steps.length;
  assert.deepEqual(steps, Array.from({ length: n }, (_, i) => i + 1));
  // The step in progress when Ctrl-C was pressed finishes, and no further one starts.
  assert.ok(n >= r.linesAtCtrlC! && n <= r.linesAtCtrlC! + 1, `${n} steps logged, Ctrl-C pressed after ${r.linesAtCtrlC}:\n${r.output}`);
  assert.equal(JSON.parse(readFileSync(join(modelDir, 'checkpoint', 'checkpoint.json'), 'utf8')).step, n, 'the checkpoint is of the last step, not a periodic one');
  return n;
}

test('npm run train: Ctrl-C in a terminal stops after the current step with a checkpoint; --resume continues from it', async () => {
  const out = join(work, 'train');
  // cpu preset: a step takes long enough (0.4-1 s) that Ctrl-C lands inside one.
  const args = ['--dataset', 'faces', '--root', data, '--model', 'cvaegan', '--preset', 'cpu', '--steps', '1000', '--checkpoint-every', '1000', '--grid-every', '1000', '--out', out];
  const r = await npmInPty('train', args, join(out, 'losses.jsonl'), 2, 0.3);
  const n = assertStoppedWithCheckpoint(r, out);
  assert.match(r.output, new RegExp(`stopped at step ${n} after .*; checkpoint ${out.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
  assert.match(r.output, /continue with the same command plus --resume/);

  const resumed = await new Promise<{ code: number | null; out: string }>((res) => {
    const c = spawn(process.execPath, ['--import', 'tsx', join('scripts', 'train.ts'), ...args.map((a) => (a === '1000' ? String(n + 1) : a)), '--resume'], {
      cwd: ROOT, env: { ...process.env, CVAEGAN_CACHE_DIR: join(work, 'cache') }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let o = '';
    c.stdout.on('data', (d) => (o += d));
    c.stderr.on('data', (d) => (o += d));
    c.on('close', (code) => res({ code, out: o }));
  });
  assert.equal(resumed.code, 0, resumed.out);
  assert.match(resumed.out, new RegExp(`resumed from .* at step ${n}`));
  assert.deepEqual(readLossLog(join(out, 'losses.jsonl')).map((x) => x.step), Array.from({ length: n + 1 }, (_, i) => i + 1));
});

test('npm run reproduce: Ctrl-C in a terminal during a model\'s training stops after the current step with a checkpoint', async () => {
  const out = join(work, 'reproduce');
  const args = ['--dataset', 'faces', '--root', data, '--preset', 'cpu', '--models', 'cvaegan', '--classes', '3', '--steps', '1000', '--out', out];
  const r = await npmInPty('reproduce', args, join(out, 'models', 'cvaegan', 'losses.jsonl'), 2, 0.3);
  const n = assertStoppedWithCheckpoint(r, join(out, 'models', 'cvaegan'));
  assert.match(r.output, new RegExp(`CVAE-GAN: stopped at step ${n}`));
  assert.match(r.output, /not finished; rerun the same command to continue/);
  const state = JSON.parse(readFileSync(join(out, 'state.json'), 'utf8'));
  assert.equal(state.stages['train:cvaegan'], undefined, 'the stopped stage is not marked done');
});
