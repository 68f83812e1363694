/**
 * Checkpoints: atomic directory writes (including a real SIGKILL in the middle of saving), clear
 * errors for missing or damaged ones, and a full model round trip: weights, optimiser state, class
 * centres, step and RNG come back, so training continues exactly as if it had never stopped.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../lib/backend/index';
import { fileLoadHandler, hasCheckpoint, readCheckpointMeta, recoverCheckpoint, writeCheckpoint } from '../lib/model/checkpoint';
import { makeConfig } from '../lib/model/config';
import { CVAEGAN } from '../lib/model/cvaegan';
import { createModel, loadModel } from '../lib/model/factory';
import { NET_NAMES, trainableVars } from '../lib/model/networks';

const ROOT = path.join(__dirname, '..');
before(async () => {
  await initBackend();
});

const made: string[] = [];
const tmp = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'cvaegan-ckpt-'));
  made.push(d);
  return d;
};
after(() => {
  for (const d of made) fs.rmSync(d, { recursive: true, force: true });
});
const files = (v: number, size = 1000) => new Map<string, Uint8Array | string>([['a/data.bin', new Uint8Array(size).fill(v % 256)], ['b.txt', `version ${v}`]]);

test('writeCheckpoint replaces atomically; damaged, partial and foreign directories get clear errors', () => {
  const root = tmp();
  const dir = path.join(root, 'ck');
  assert.throws(() => readCheckpointMeta(dir), /no checkpoint at .*ck: the directory does not exist/);
  assert.equal(hasCheckpoint(dir), false);
  writeCheckpoint(dir, { kind: 'test', step: 1 }, files(1));
  writeCheckpoint(dir, { kind: 'test', step: 2 }, files(2));
  const meta = readCheckpointMeta(dir);
  assert.equal(meta.step, 2);
  assert.deepEqual(meta.files, { 'a/data.bin': 1000, 'b.txt': 9 });
  assert.equal(fs.readFileSync(path.join(dir, 'b.txt'), 'utf8'), 'version 2');
  assert.deepEqual(fs.readdirSync(root), ['ck'], 'no temporary or aside directories left');

  fs.truncateSync(path.join(dir, 'a/data.bin'), 10);
  assert.throws(() => readCheckpointMeta(dir), /is damaged: a\/data.bin has 10 bytes, checkpoint.json says 1000/);
  fs.rmSync(path.join(dir, 'a/data.bin'));
  assert.throws(() => readCheckpointMeta(dir), /is incomplete: a\/data.bin is missing/);
  fs.writeFileSync(path.join(dir, 'checkpoint.json'), '{"format": "cvaegan-ts/checkpoint@1", trunc');
  assert.throws(() => readCheckpointMeta(dir), /is damaged: checkpoint.json is not valid JSON/);

  const foreign = path.join(root, 'notes');
  fs.mkdirSync(foreign);
  fs.writeFileSync(path.join(foreign, 'mine.txt'), 'keep me');
  assert.throws(() => writeCheckpoint(foreign, { kind: 'test', step: 1 }, files(1)), /exists and is not a checkpoint .* refusing to replace it/);
  assert.equal(fs.readFileSync(path.join(foreign, 'mine.txt'), 'utf8'), 'keep me');
  assert.throws(() => readCheckpointMeta(foreign), /checkpoint.json is missing/);
});

test('a save interrupted between its two renames is recovered; dead processes\' temp dirs are removed', () => {
  const root = tmp();
  const dir = path.join(root, 'ck');
  writeCheckpoint(dir, { kind: 'test', step: 5 }, files(5));
  // The state a kill leaves after "rename old aside", before "rename new into place".
  fs.renameSync(dir, `${dir}.old-4242-deadbeef`);
  fs.mkdirSync(`${dir}.tmp-999999-0badf00d`); // pid 999999 does not run
  assert.equal(hasCheckpoint(dir), true);
  assert.equal(readCheckpointMeta(dir).step, 5);
  assert.deepEqual(fs.readdirSync(root), ['ck']);
  // A kill after the second rename leaves the new checkpoint plus an old copy: the copy goes.
  fs.mkdirSync(`${dir}.old-4242-feedface`);
  recoverCheckpoint(dir);
  assert.deepEqual(fs.readdirSync(root), ['ck']);
});

test('SIGKILL at random moments during saves always leaves a complete checkpoint', async () => {
  const root = tmp();
  const dir = path.join(root, 'ck');
  // A child that saves 4 MB checkpoints in a loop; each file's bytes encode the version in its meta.
  const code = `
    const { writeCheckpoint } = require('./lib/model/checkpoint');
    for (let v = 1; ; v++) {
      writeCheckpoint(${JSON.stringify(dir)}, { kind: 'test', step: v }, new Map([
        ['x/big.bin', new Uint8Array(4 << 20).fill(v % 256)], ['y/small.bin', new Uint8Array(100).fill(v % 256)],
      ]));
      console.log('saved ' + v);
    }`;
  for (let round = 0; round < 3; round++) {
    const child = spawn(process.execPath, ['--import', 'tsx', '-e', code], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (b: Buffer) => (err += b));
    await new Promise<void>((res, rej) => {
      child.stdout.once('data', () => res());
      child.once('exit', (c) => rej(new Error(`child exited (${c}) before saving: ${err}`)));
    });
    await new Promise((r) => setTimeout(r, 50 + Math.random() * 400));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const meta = readCheckpointMeta(dir);
    const v = meta.step % 256;
    for (const rel of ['x/big.bin', 'y/small.bin']) {
      const data = fs.readFileSync(path.join(dir, rel));
      assert.ok(data.every((b) => b === v), `round ${round}: ${rel} belongs to version ${meta.step}`);
    }
    assert.deepEqual(fs.readdirSync(root), ['ck'], `round ${round}: leftovers cleaned up`);
  }
});

test('save + loadModel restores everything: the loaded model takes the same next steps', async () => {
  const cfg = makeConfig('tiny', { numClasses: 3 });
  const x = tf.tidy(() => tf.tanh(tf.randomNormal([6, 32, 32, 3], 0, 1, 'float32', 1))) as tf.Tensor4D;
  const labels = tf.tensor1d([0, 1, 2, 0, 1, 2], 'int32');
  const straight = new CVAEGAN(cfg);
  const resumed = new CVAEGAN(cfg);
  for (let i = 0; i < 3; i++) {
    straight.trainStep(x, labels);
    resumed.trainStep(x, labels);
  }
  const dir = path.join(tmp(), 'run');
  await resumed.save(dir, { note: 'hello' });
  resumed.dispose();
  const loaded = await loadModel(dir);
  assert.equal(loaded.kind, 'cvaegan');
  assert.equal(loaded.step, 3);
  assert.deepEqual(loaded.config, cfg);
  // N/2 steps, save, load, N/2 steps == N steps straight.
  for (let i = 0; i < 3; i++) assert.deepEqual(loaded.trainStep(x, labels), straight.trainStep(x, labels), `step ${4 + i}`);
  const l = loaded as CVAEGAN;
  for (const n of NET_NAMES) {
    const a = l.nets[n].getWeights(); // includes batch-norm moving statistics
    const b = straight.nets[n].getWeights();
    a.forEach((w, i) => assert.ok(tf.tidy(() => tf.max(tf.abs(tf.sub(w, b[i]))).dataSync()[0]) <= 1e-6, `${n} weight ${i}`));
  }
  const s1 = l.sample([0, 1, 2], { seed: 9 });
  const s2 = straight.sample([0, 1, 2], { seed: 9 });
  assert.ok(tf.tidy(() => tf.max(tf.abs(tf.sub(s1, s2))).dataSync()[0]) <= 1e-5);
  assert.deepEqual((readCheckpointMeta(dir).extra as { note: string }).note, 'hello');

  // Each network is a standard tfjs Layers model on disk.
  const E = await tf.loadLayersModel(fileLoadHandler(path.join(dir, 'E', 'model.json')));
  await l.save(dir);
  const E2 = await tf.loadLayersModel(fileLoadHandler(path.join(dir, 'E', 'model.json')));
  const c = tf.oneHot(labels, 3).toFloat();
  const [mu] = E2.predict([x, c]) as tf.Tensor[];
  const [muRef] = l.nets.E.apply([x, c], { training: false }) as tf.Tensor[];
  assert.ok(tf.tidy(() => tf.max(tf.abs(tf.sub(mu, muRef))).dataSync()[0]) <= 1e-6);
  assert.equal(trainableVars(E).length, trainableVars(l.nets.E).length);
  tf.dispose([x, labels, s1, s2, c, mu, muRef]);
  for (const m of [E, E2]) m.dispose();
  loaded.dispose();
  straight.dispose();
});

test('restoring into a model with another architecture or kind fails with a clear message', async () => {
  const dir = path.join(tmp(), 'run');
  const a = new CVAEGAN(makeConfig('tiny', { numClasses: 3 }));
  await a.save(dir);
  const b = new CVAEGAN(makeConfig('tiny', { numClasses: 3, zDim: 4 }));
  await assert.rejects(b.restore(dir), /saved with a different config.zDim \(8 there, 4 here\); use loadModel\(dir\)/);
  const c = new CVAEGAN(makeConfig('tiny', { numClasses: 4 }));
  await assert.rejects(c.restore(dir), /config.numClasses \(3 there, 4 here\)/);
  const other = createModel('cvae', makeConfig('tiny', { numClasses: 3 }));
  await assert.rejects(other.restore(dir), /holds a 'cvaegan' model, not 'cvae'/);
  for (const m of [a, b, c, other]) m.dispose();
});
