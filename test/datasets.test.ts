/**
 * Dataset loaders on the staged real copies (../shared/datasets; each test skips with the reason
 * when its copy is missing), plus batching on synthetic data (always runs).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import * as tf from '@tensorflow/tfjs';
import {
  Batcher, FLOWERS102_CLASS_NAMES, ProgressReporter, applySelection, indexDataset, loadDataset, readMatFile, selectClassIds, sharedDataset, toTensor,
  type ImageDataset,
} from '../datasets';
import { cropRect } from '../datasets/imagefile';

const flowers = sharedDataset('flowers102');
const cub = sharedDataset('cub200');
const faces = sharedDataset('faces_celeba');
const skipOf = (d: { root: string } | { missing: string }) => ('missing' in d ? d.missing : false);
const rootOf = (d: { root: string } | { missing: string }) => ('root' in d ? d.root : '');

const cacheDir = mkdtempSync(join(tmpdir(), 'cvaegan-ds-cache-'));
process.on('exit', () => rmSync(cacheDir, { recursive: true, force: true }));

/** Captures console.log lines while `fn` runs. */
async function captureLog<T>(fn: () => Promise<T>): Promise<{ value: T; lines: string[] }> {
  const lines: string[] = [];
  const original = console.log;
  console.log = (...args: unknown[]) => lines.push(args.join(' '));
  try {
    return { value: await fn(), lines };
  } finally {
    console.log = original;
  }
}

test('flowers102 .mat files: labels 1 x 8189 in 1..102, split 1,020 / 1,020 / 6,149, disjoint, covering', { skip: skipOf(flowers) }, () => {
  const root = rootOf(flowers);
  const labels = readMatFile(join(root, 'imagelabels.mat')).get('labels')!;
  assert.equal(labels.className, 'double');
  assert.deepEqual(labels.dims, [1, 8189]);
  assert.equal(Math.min(...labels.data!), 1);
  assert.equal(Math.max(...labels.data!), 102);
  const sets = readMatFile(join(root, 'setid.mat'));
  const ids = ['trnid', 'valid', 'tstid'].map((k) => Array.from(sets.get(k)!.data!));
  assert.deepEqual(ids.map((a) => a.length), [1020, 1020, 6149]);
  const union = new Set(ids.flat());
  assert.equal(union.size, 8189, 'the three sets are disjoint and cover every image');
  // Official design: 10 training and 10 validation images per class.
  for (const set of ids.slice(0, 2)) {
    const perClass = new Map<number, number>();
    for (const n of set) perClass.set(labels.data![n - 1], (perClass.get(labels.data![n - 1]) ?? 0) + 1);
    assert.equal(perClass.size, 102);
    assert.ok([...perClass.values()].every((c) => c === 10));
  }
});

test('flowers102 index: counts, labels and splits match the metadata', { skip: skipOf(flowers) }, () => {
  const root = rootOf(flowers);
  const counts = Object.fromEntries(['train', 'val', 'test', 'trainval', 'all'].map((s) => [s, indexDataset('flowers102', root, s).files.length]));
  assert.deepEqual(counts, { train: 1020, val: 1020, test: 6149, trainval: 2040, all: 8189 });
  const all = indexDataset('flowers102', root, 'all');
  const mat = readMatFile(join(root, 'imagelabels.mat')).get('labels')!.data!;
  assert.equal(all.files[0], 'jpg/image_00001.jpg');
  all.files.forEach((f, i) => assert.equal(all.labels[i], mat[Number(f.slice(10, 15)) - 1] - 1));
  assert.equal(all.classNames.length, 102);
  assert.equal(all.classNames[0], 'pink primrose');
  assert.deepEqual(all.classNames, FLOWERS102_CLASS_NAMES);
  assert.equal(all.classSizes.reduce((a, b) => a + b), 8189);
  assert.equal(Math.min(...all.classSizes), 40);
  assert.equal(Math.max(...all.classSizes), 258);
});

test('flowers102 load: every resolution, splits agree with the index, cache round-trip identical', { skip: skipOf(flowers) }, async () => {
  const root = rootOf(flowers);
  for (const resolution of [32, 64, 128] as const) {
    const opts = { name: 'flowers102' as const, root, split: 'val', resolution, classes: { first: 3 }, cacheDir, progress: false };
    const first = await loadDataset(opts);
    assert.equal(first.fromCache, false);
    assert.equal(first.labels.length, 30, '10 val images for each of 3 classes');
    assert.equal(first.images.length, 30 * resolution * resolution * 3);
    assert.deepEqual([...new Set(first.labels)].sort(), [0, 1, 2]);
    assert.deepEqual(first.classNames, FLOWERS102_CLASS_NAMES.slice(0, 3));
    const index = indexDataset('flowers102', root, 'val');
    first.files.forEach((f, i) => assert.equal(index.labels[index.files.indexOf(f)], first.labels[i]));
    // Real photographs, not blank canvases: pixel values spread over most of the range.
    let lo = 255, hi = 0;
    for (const v of first.images) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
    assert.ok(hi - lo > 200, `pixel range ${lo}..${hi}`);
    const second = await loadDataset(opts);
    assert.equal(second.fromCache, true);
    assert.deepEqual(second.files, first.files);
    assert.deepEqual(second.labels, first.labels);
    assert.ok(Buffer.from(second.images).equals(Buffer.from(first.images)), 'cached pixels equal the decoded ones');
  }
});

test('flowers102 cache: a corrupt cache file is detected, reported and rebuilt', { skip: skipOf(flowers) }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cvaegan-ds-corrupt-'));
  try {
    const opts = { name: 'flowers102' as const, root: rootOf(flowers), split: 'train', resolution: 32 as const, classes: { first: 2 }, cacheDir: dir, progress: false };
    const fresh = await loadDataset(opts);
    const [file] = readdirSync(dir);
    const bytes = readFileSync(join(dir, file));
    bytes[bytes.length - 100] ^= 0xff;
    writeFileSync(join(dir, file), bytes);
    const { value: rebuilt, lines } = await captureLog(() => loadDataset(opts));
    assert.equal(rebuilt.fromCache, false);
    assert.match(lines.join('\n'), /unusable \(pixel checksum mismatch\); rebuilding/);
    assert.ok(Buffer.from(rebuilt.images).equals(Buffer.from(fresh.images)));
    writeFileSync(join(dir, file), bytes.subarray(0, bytes.length - 10));
    const { lines: truncated } = await captureLog(() => loadDataset(opts));
    assert.match(truncated.join('\n'), /unusable \(\d+ bytes, header says \d+\)/);
    assert.equal((await loadDataset(opts)).fromCache, true, 'the rebuilt file is used again');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('flowers102 class subsets: first K, minImages over the whole dataset, ids, maxPerClass', { skip: skipOf(flowers) }, () => {
  const root = rootOf(flowers);
  const train = indexDataset('flowers102', root, 'train');
  const big = selectClassIds(train, { minImages: 200 });
  assert.ok(big.length > 0 && big.every((id) => train.classSizes[id] >= 200));
  assert.deepEqual(selectClassIds(train, { minImages: 100, first: 2 }), selectClassIds(train, { minImages: 100 }).slice(0, 2), 'first applies after minImages');
  assert.deepEqual(selectClassIds(train, { ids: [5, 2, 90] }), [2, 5, 90]);
  const sub = applySelection(train, [2, 5, 90], 4);
  assert.equal(sub.files.length, 12);
  assert.deepEqual(sub.classNames, [FLOWERS102_CLASS_NAMES[2], FLOWERS102_CLASS_NAMES[5], FLOWERS102_CLASS_NAMES[90]]);
  assert.deepEqual([0, 1, 2].map((l) => sub.labels.filter((x) => x === l).length), [4, 4, 4]);
  assert.throws(() => selectClassIds(train, { minImages: 1000 }), /keeps no class/);
  assert.throws(() => selectClassIds(train, { ids: [102] }), /out of range.*0\.\.101/);
});

test('cub200 index: counts, labels and splits match the metadata files', { skip: skipOf(cub) }, () => {
  const root = rootOf(cub);
  const dir = join(root, 'CUB_200_2011');
  const lines = (f: string) => readFileSync(join(dir, f), 'utf8').trim().split('\n').map((l) => l.split(' '));
  const split = lines('train_test_split.txt');
  const all = indexDataset('cub200', root, 'all');
  const train = indexDataset('cub200', root, 'train');
  const testSplit = indexDataset('cub200', root, 'test');
  assert.equal(all.files.length, lines('images.txt').length);
  assert.equal(train.files.length, split.filter((r) => r[1] === '1').length);
  assert.equal(testSplit.files.length, split.filter((r) => r[1] === '0').length);
  assert.equal(train.files.length + testSplit.files.length, all.files.length);
  assert.equal(all.classNames.length, lines('classes.txt').length);
  assert.equal(all.classNames[0], 'Black footed Albatross');
  const classOf = new Map(lines('image_class_labels.txt').map((r) => [r[0], Number(r[1])]));
  const pathOf = new Map(lines('images.txt').map((r) => [`images/${r[1]}`, r[0]]));
  all.files.forEach((f, i) => assert.equal(all.labels[i], classOf.get(pathOf.get(f)!)! - 1));
  assert.ok(all.files.every((f, i) => f.startsWith(`images/${String(all.labels[i] + 1).padStart(3, '0')}.`)), 'each image lies in its class folder');
});

test('cub200 bounding boxes: every crop lies inside its image (overrunning boxes clipped)', { skip: skipOf(cub) }, () => {
  const root = rootOf(cub);
  const sizes = new Map(readFileSync(join(root, 'CUB_200_2011', '_staging', 'image_sizes.txt'), 'utf8').trim().split('\n').map((l) => {
    const [id, , , w, h] = l.split(' ').map(Number);
    return [id, [w, h]];
  }));
  const ids = readFileSync(join(root, 'CUB_200_2011', 'images.txt'), 'utf8').trim().split('\n').map((l) => Number(l.split(' ')[0]));
  const all = indexDataset('cub200', root, 'all');
  let clipped = 0;
  all.boxes!.forEach((box, i) => {
    const [w, h] = sizes.get(ids[i])!;
    const r = cropRect(w, h, 'bbox', box);
    assert.ok(r.x >= 0 && r.y >= 0 && r.x + r.width <= w && r.y + r.height <= h && r.width >= 1 && r.height >= 1, `${all.files[i]}: ${JSON.stringify(r)} in ${w}x${h}`);
    if (box.x + box.width > w || box.y + box.height > h || box.x < 0 || box.y < 0) clipped++;
  });
  assert.ok(clipped > 0, 'the staged metadata has boxes that overrun the image; they were clipped');
});

test('cub200 load: bbox and full crops at 64 px, grayscale images become RGB, cache round-trip', { skip: skipOf(cub) }, async () => {
  const root = rootOf(cub);
  const opts = { name: 'cub200' as const, root, split: 'all', resolution: 64 as const, classes: { ids: [8, 24] }, cacheDir, progress: false };
  const bbox = await loadDataset(opts);
  const full = await loadDataset({ ...opts, crop: 'full' });
  assert.equal(bbox.crop, 'bbox');
  assert.equal(bbox.labels.length, full.labels.length);
  assert.deepEqual(bbox.classNames, ['Brewer Blackbird', 'Pelagic Cormorant']);
  assert.ok(!Buffer.from(bbox.images).equals(Buffer.from(full.images)), 'the two crops differ');
  const per = 64 * 64 * 3;
  for (const gray of ['Brewer_Blackbird_0028_2682.jpg', 'Pelagic_Cormorant_0022_23802.jpg']) {
    const i = bbox.files.findIndex((f) => f.endsWith(gray));
    assert.ok(i >= 0, `${gray} loaded`);
    const px = bbox.images.subarray(i * per, (i + 1) * per);
    for (let p = 0; p < px.length; p += 3) assert.ok(px[p] === px[p + 1] && px[p] === px[p + 2], 'a grayscale source gives R = G = B');
  }
  const again = await loadDataset(opts);
  assert.equal(again.fromCache, true);
  assert.ok(Buffer.from(again.images).equals(Buffer.from(bbox.images)));
});

test('faces index: 66 identities, deterministic per-identity 80/20 split', { skip: skipOf(faces) }, () => {
  const root = rootOf(faces);
  const all = indexDataset('faces', root, 'all');
  const train = indexDataset('faces', root, 'train');
  const testSplit = indexDataset('faces', root, 'test');
  assert.equal(all.classNames.length, 66);
  const listed = readFileSync(join(root, 'identity_CelebA_subset.txt'), 'utf8').trim().split(/\r?\n/);
  assert.equal(all.files.length, listed.length);
  const identityOf = new Map(listed.map((l) => l.trim().split(' ') as [string, string]));
  all.files.forEach((f, i) => assert.equal(Number(identityOf.get(f.split('/')[1])), Number(all.classNames[all.labels[i]])));
  assert.equal(train.files.length + testSplit.files.length, all.files.length);
  assert.equal(new Set([...train.files, ...testSplit.files]).size, all.files.length, 'train and test are disjoint');
  for (let c = 0; c < 66; c++) {
    const n = all.classSizes[c];
    assert.equal(testSplit.labels.filter((l) => l === c).length, Math.round(n * 0.2));
  }
  assert.deepEqual(indexDataset('faces', join(root, 'faces'), 'test').files, testSplit.files, 'root = the identity folder itself gives the same split');
});

test('faces load at 32 px: labels follow identity folders', { skip: skipOf(faces) }, async () => {
  const ds = await loadDataset({ name: 'faces', root: rootOf(faces), split: 'test', resolution: 32, classes: { first: 4 }, cacheDir, progress: false });
  assert.equal(ds.numClasses, 4);
  assert.equal(ds.images.length, ds.labels.length * 32 * 32 * 3);
  ds.files.forEach((f, i) => assert.equal(f.split('/')[0], ds.classNames[ds.labels[i]]));
});

test('every staged dataset loads at 32, 64 and 128 px (2 classes, 3 images each)', { skip: skipOf(flowers) || skipOf(cub) || skipOf(faces) }, async () => {
  const roots = { flowers102: rootOf(flowers), cub200: rootOf(cub), faces: rootOf(faces) };
  for (const name of ['flowers102', 'cub200', 'faces'] as const) {
    for (const resolution of [32, 64, 128] as const) {
      const ds = await loadDataset({ name, root: roots[name], split: 'train', resolution, classes: { first: 2 }, maxPerClass: 3, cacheDir: false, progress: false });
      assert.equal(ds.labels.length, 6, `${name} ${resolution}`);
      assert.equal(ds.images.length, 6 * resolution * resolution * 3);
      assert.deepEqual([0, 1].map((l) => ds.labels.filter((x) => x === l).length), [3, 3]);
      const x = toTensor(ds);
      assert.deepEqual(x.shape, [6, resolution, resolution, 3]);
      const [lo, hi] = [x.min().dataSync()[0], x.max().dataSync()[0]];
      assert.ok(lo >= -1 && hi <= 1 && hi - lo > 1, `${name} ${resolution}: values ${lo}..${hi}`);
      tf.dispose(x);
    }
  }
});

function synthetic(n: number, classes: number): ImageDataset {
  const r = 32;
  const images = new Uint8Array(n * r * r * 3);
  for (let i = 0; i < n; i++) images.fill(i % 256, i * r * r * 3, (i + 1) * r * r * 3);
  images[0] = 0;
  images[1] = 255;
  const labels = Int32Array.from({ length: n }, (_, i) => i % classes);
  return {
    name: 'faces', split: 'all', resolution: r, images, labels, classNames: Array.from({ length: classes }, (_, i) => `c${i}`),
    files: Array.from({ length: n }, (_, i) => `f${i}.jpg`), numClasses: classes, root: '/nowhere', crop: 'center',
    classIds: Array.from({ length: classes }, (_, i) => i), skipped: [], fromCache: false,
  };
}

test('toTensor: float32 NHWC in [-1, 1], 0 -> -1 and 255 -> 1, chosen indices in order', () => {
  const ds = synthetic(10, 3);
  const x = toTensor(ds, [3, 0]);
  assert.deepEqual(x.shape, [2, 32, 32, 3]);
  assert.equal(x.dtype, 'float32');
  const v = x.dataSync();
  assert.ok(Math.abs(v[5] - (3 / 127.5 - 1)) < 1e-7, 'first row is image 3');
  const img0 = v.subarray(32 * 32 * 3);
  assert.equal(img0[0], -1);
  assert.equal(img0[1], 1);
  assert.equal(toTensor(ds).shape[0], 10);
  assert.throws(() => toTensor(ds, [10]), /outside 0\.\.9/);
  tf.dispose(x);
});

test('Batcher: seeded epochs are permutations, full batches, reproducible and restorable', () => {
  const ds = synthetic(10, 3);
  const a = new Batcher(ds, 4, 7);
  assert.equal(a.batchesPerEpoch, 2);
  const seen: number[][] = [];
  for (let k = 0; k < 6; k++) {
    const b = a.next();
    assert.deepEqual(b.x.shape, [4, 32, 32, 3]);
    assert.deepEqual(Array.from(b.labels.dataSync()), Array.from(b.indices, (i) => i % 3));
    assert.equal(b.epoch, Math.floor(k / 2));
    seen.push(Array.from(b.indices));
    tf.dispose([b.x, b.labels]);
  }
  for (let e = 0; e < 3; e++) assert.equal(new Set([...seen[2 * e], ...seen[2 * e + 1]]).size, 8, 'no repeats within an epoch');
  assert.notDeepEqual(seen[0], seen[2], 'epochs are shuffled differently');
  const b = new Batcher(ds, 4, 7);
  const same = [0, 1, 2].map(() => { const x = b.next(); tf.dispose([x.x, x.labels]); return Array.from(x.indices); });
  assert.deepEqual(same, seen.slice(0, 3), 'same seed, same batches');
  const saved = JSON.parse(JSON.stringify(b.state()));
  const c = new Batcher(ds, 4, 7);
  c.restore(saved);
  const resumed = [0, 1, 2].map(() => { const x = c.next(); tf.dispose([x.x, x.labels]); return Array.from(x.indices); });
  assert.deepEqual(resumed, seen.slice(3, 6), 'a restored batcher continues where the saved one stopped');
  const other = new Batcher(ds, 4, 8).next();
  assert.notDeepEqual(Array.from(other.indices), seen[0], 'another seed, another order');
  tf.dispose([other.x, other.labels]);
  assert.throws(() => new Batcher(ds, 4, 8).restore(saved), /saved seed 7 differs/);
  assert.throws(() => new Batcher(ds, 11, 1), /larger than the dataset/);
});

test('ProgressReporter: a few sparse lines outside a terminal (start, quarters, end), silent when disabled', async () => {
  const { lines } = await captureLog(async () => {
    const bar = new ProgressReporter('decode', 1000, { live: false });
    for (let i = 0; i < 1000; i++) bar.add();
    bar.finish('2 skipped');
    const off = new ProgressReporter('quiet', 10, { enabled: false, live: false });
    off.add(10);
    off.finish();
  });
  assert.equal(lines.length, 5, lines.join('\n'));
  assert.equal(lines[0], 'decode: started (1,000)');
  assert.match(lines[1], /^decode: \[######\.+\] 25% 250\/1,000 in [\d.]+ s$/);
  assert.match(lines[4], /^decode: \[#{24}\] 100% 1,000\/1,000 in [\d.]+ s done, 2 skipped$/);
});
