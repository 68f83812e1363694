/** makeConfig's presets, overrides and validation messages; the seeded Rng. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkImageShape, makeConfig, PRESETS, validateConfig } from '../lib/model/config';
import { Rng } from '../lib/model/rng';

test('every preset validates once given numClasses, and the paper preset has the paper numbers', () => {
  for (const p of Object.keys(PRESETS) as (keyof typeof PRESETS)[]) {
    const c = makeConfig(p, { numClasses: 5 });
    assert.equal(c.numClasses, 5);
    assert.equal(c.preset, p);
  }
  const paper = makeConfig('paper', { numClasses: 102 });
  assert.equal(paper.resolution, 128);
  assert.equal(paper.zDim, 256);
  assert.deepEqual(paper.generator.hidden, [1024]);
  assert.equal(paper.generator.baseChannels, 256);
  assert.deepEqual(paper.generator.layers.map((l) => l.filters), [256, 256, 128, 92, 64, 3]);
  assert.deepEqual(paper.generator.layers.map((l) => l.kernel), [3, 3, 5, 5, 5, 5]);
  assert.equal(paper.generator.layers.filter((l) => l.upsample).length, 4);
  assert.equal(validateConfig(paper).generatorBase, 8);
  assert.deepEqual(
    [paper.loss.lambdaKL, paper.loss.lambdaG, paper.loss.lambdaGD, paper.loss.lambdaGC],
    [3, 1, 1e-3, 1e-3],
  );
});

test('overrides merge into nested objects, replace arrays, and never touch the preset', () => {
  const c = makeConfig('cpu', { numClasses: 3, loss: { lambdaKL: 1 }, classifier: { hidden: [32, 16] }, resolution: 64 });
  assert.equal(c.loss.lambdaKL, 1);
  assert.equal(c.loss.lambdaGD, 1e-3, 'other loss keys kept');
  assert.deepEqual(c.classifier.hidden, [32, 16]);
  assert.equal(c.classifier.trunk.length, PRESETS.cpu.classifier.trunk.length);
  assert.equal(validateConfig(c).generatorBase, 8, '64 px with three upsampling layers starts at 8x8');
  assert.equal(PRESETS.cpu.loss.lambdaKL, 3, 'preset unchanged');
  assert.equal(PRESETS.cpu.resolution, 32);
});

test('configs that cannot work fail at construction with a message that says what to change', () => {
  assert.throws(() => makeConfig('cpu'), /numClasses: must be an integer >= 2 \(got undefined\).*makeConfig\('cpu', \{ numClasses: ds\.numClasses \}\)/s);
  assert.throws(() => makeConfig('cpu', { numClasses: 1 }), /numClasses: must be an integer >= 2 \(got 1\)/);
  assert.throws(() => makeConfig('cpu', { numClasses: 4, resolution: 48 as never }), /resolution: 48 is not supported; use one of 32, 64, 128/);
  assert.throws(() => makeConfig('cpu', { numClasses: 4, loss: { lamdaKL: 2 } as never }), /unknown config key 'loss\.lamdaKL'/);
  assert.throws(() => makeConfig('nope' as never, { numClasses: 4 }), /unknown preset 'nope': use one of paper, cpu, tiny/);
  assert.throws(
    () => makeConfig('cpu', { numClasses: 4, generator: { layers: [{ filters: 8, kernel: 3, upsample: true }, { filters: 4, kernel: 3, upsample: false }] } }),
    /generator.layers\[1\].filters: the last layer outputs RGB, so it must have 3 filters/,
  );
  assert.throws(
    () => makeConfig('cpu', { numClasses: 4, generator: { layers: Array.from({ length: 6 }, (_, i) => ({ filters: i === 5 ? 3 : 8, kernel: 3, upsample: true })) } }),
    /generator.layers: 6 upsampling layers cannot reach 32x32 from an integer base size; use 3 upsampling layers for a 4x4 base/,
  );
  // The paper's D at 32 px would shrink images to 1x1 before flattening.
  assert.throws(() => makeConfig('paper', { numClasses: 4, resolution: 32 }), /discriminator.trunk: reduces 32x32 images to 1x1/);
  assert.throws(() => makeConfig('cpu', { numClasses: 4, loss: { pairwise: 'l1' as never } }), /loss.pairwise: must be 'sum', 'mean' or 'per-pixel'/);
  assert.throws(() => makeConfig('cpu', { numClasses: 4, loss: { centreDecay: 1 } }), /loss.centreDecay: must be in \[0, 1\)/);
  assert.throws(() => makeConfig('cpu', { numClasses: 4, optimizer: { learningRate: 0 } }), /optimizer.learningRate: must be > 0/);
  assert.throws(() => makeConfig('cpu', { numClasses: 4, batchSize: 1 }), /batchSize: must be an integer >= 2/);
  assert.throws(() => makeConfig('cpu', { numClasses: 4, discriminatorBatches: 'mixed' as never }), /discriminatorBatches: must be 'separate' or 'joint' \(got mixed\)/);
});

test('image shapes are checked against the config, naming both fixes', () => {
  const c = makeConfig('cpu', { numClasses: 4 });
  checkImageShape(c, [8, 32, 32, 3]);
  assert.throws(() => checkImageShape(c, [8, 64, 64, 3]), /shape \[8, 64, 64, 3\] but this model \(preset 'cpu'\) expects \[batch, 32, 32, 3\]: load the dataset with resolution: 32, or build the model with makeConfig\('cpu', \{ resolution: 64/);
  assert.throws(() => checkImageShape(c, [8, 32, 32, 1]), /expects \[batch, 32, 32, 3\]/);
});

test('Rng: seeded, restartable from its state, independent streams, valid tfjs seeds', () => {
  const a = new Rng(42);
  const first = Array.from({ length: 5 }, () => a.nextUint32());
  const b = new Rng(42);
  assert.deepEqual(Array.from({ length: 5 }, () => b.nextUint32()), first, 'same seed, same sequence');
  const s = b.state();
  const cont = Array.from({ length: 5 }, () => b.next());
  const c = Rng.fromState(JSON.parse(JSON.stringify(s)));
  assert.deepEqual(Array.from({ length: 5 }, () => c.next()), cont, 'state survives JSON');
  const other = new Rng(42, 1);
  assert.notDeepEqual(Array.from({ length: 5 }, () => other.nextUint32()), first, 'stream 1 differs');
  assert.notEqual(new Rng(1).nextUint32(), new Rng(2).nextUint32());
  const r = new Rng(7);
  let sum = 0;
  for (let i = 0; i < 2000; i++) {
    const sd = r.seed();
    assert.ok(Number.isInteger(sd) && sd >= 1 && sd < 2 ** 31, `seed ${sd}`);
    const u = r.next();
    assert.ok(u >= 0 && u < 1);
    sum += u;
  }
  assert.ok(Math.abs(sum / 2000 - 0.5) < 0.03, `mean of uniforms ${sum / 2000}`);
  assert.throws(() => Rng.fromState({} as never), /not an Rng state/);
  assert.throws(() => new Rng(NaN), /finite number/);
});
