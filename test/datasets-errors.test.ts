/**
 * Bad input to the loaders: truncated or corrupt images (skipped and counted), corrupt or missing
 * metadata, empty identity folders, wrong layouts, bad options. Images are made here with canvas,
 * so most tests always run; the .mat and CUB metadata cases use the staged files and skip without them.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { createCanvas } from 'canvas';
import { cropRect, incompleteReason, indexDataset, jpegScanDamage, loadDataset, parseMat, resolveRoot, sharedDataset } from '../datasets';
import { downloadRoot } from '../datasets/paths';

const work = mkdtempSync(join(tmpdir(), 'cvaegan-dserr-'));
after(() => rmSync(work, { recursive: true, force: true }));
let n = 0;
const fresh = (name: string) => {
  const d = join(work, `${name}-${n++}`);
  mkdirSync(d, { recursive: true });
  return d;
};

function picture(seed: number, type: 'image/jpeg' | 'image/png' = 'image/jpeg'): Buffer {
  const c = createCanvas(48, 40);
  const ctx = c.getContext('2d');
  ctx.fillStyle = `rgb(${(seed * 70) % 256}, ${(seed * 130) % 256}, 90)`;
  ctx.fillRect(0, 0, 48, 40);
  ctx.fillStyle = '#fff';
  ctx.fillRect(8 + seed, 8, 12, 20);
  return type === 'image/png' ? c.toBuffer('image/png') : c.toBuffer('image/jpeg', { quality: 0.9 });
}

async function captureLog<T>(fn: () => Promise<T>): Promise<{ value: T; text: string }> {
  const lines: string[] = [];
  const original = console.log;
  console.log = (...args: unknown[]) => lines.push(args.join(' '));
  try {
    return { value: await fn(), text: lines.join('\n') };
  } finally {
    console.log = original;
  }
}

test('incompleteReason: complete JPEG/PNG pass; truncated ones, an EXIF thumbnail end marker, and non-images are caught', () => {
  const jpeg = picture(1);
  assert.equal(incompleteReason(jpeg), undefined);
  assert.equal(incompleteReason(picture(2, 'image/png')), undefined);
  assert.match(incompleteReason(jpeg.subarray(0, Math.floor(jpeg.length * 0.9)))!, /without end-of-image marker/);
  assert.match(incompleteReason(jpeg.subarray(0, 40))!, /truncated in its headers|marker expected/);
  const png = picture(3, 'image/png');
  assert.match(incompleteReason(png.subarray(0, png.length - 20))!, /without IEND/);
  assert.equal(incompleteReason(Buffer.from('hello world, not an image')), 'neither JPEG nor PNG');
  // An APP1 segment holding a thumbnail's FF D9 must not make a truncated main image look complete.
  const app1 = Buffer.concat([Buffer.from([0xff, 0xe1, 0x00, 0x06]), Buffer.from([0xff, 0xd8, 0xff, 0xd9])]);
  const withThumb = Buffer.concat([jpeg.subarray(0, 2), app1, jpeg.subarray(2)]);
  assert.equal(incompleteReason(withThumb), undefined);
  assert.match(incompleteReason(withThumb.subarray(0, withThumb.length - 100))!, /without end-of-image marker/);
});

/** A noisy 64x64 JPEG (enough entropy-coded data to damage), and the same with bytes scrambled mid-file. */
function noisyJpeg(seed: number): Buffer {
  const c = createCanvas(64, 64);
  const ctx = c.getContext('2d');
  const img = ctx.createImageData(64, 64);
  let x = seed * 2654435761;
  for (let i = 0; i < img.data.length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    img.data[i] = i % 4 === 3 ? 255 : (x >>> 24) & 0xff;
  }
  ctx.putImageData(img, 0, 0);
  return c.toBuffer('image/jpeg', { quality: 0.9 });
}
/** Bytes scrambled in the middle of the scan data; no FF byte is made or touched, so every marker and the EOI stay. */
function scrambled(jpeg: Buffer): Buffer {
  const b = Buffer.from(jpeg);
  const mid = Math.floor(b.length / 2);
  for (let i = mid; i < mid + 200; i++) if (b[i] !== 0xff && b[i - 1] !== 0xff) b[i] = (b[i] * 7 + 13) % 255;
  return b;
}

test('jpegScanDamage: intact JPEGs pass; scrambled scan data (EOI intact, libjpeg only warns) is caught and named', () => {
  for (let seed = 1; seed <= 5; seed++) {
    const good = noisyJpeg(seed);
    assert.equal(jpegScanDamage(good), undefined, `seed ${seed}`);
    const bad = scrambled(good);
    assert.equal(incompleteReason(bad), undefined, 'the marker structure and the end-of-image marker are intact');
    assert.match(jpegScanDamage(bad)!, /^JPEG data is damaged in scan 1: (bad Huffman code|premature end of data segment|\d+ extraneous bytes before marker|[A-Z]+ coefficient of|a block with more than 64)/, `seed ${seed}`);
  }
  assert.equal(jpegScanDamage(picture(1)), undefined);
  // A restart interval: canvas does not write one, so a DRI segment is added and the data re-checked
  // through its markers is refused (no RST markers where the interval puts them).
  const good = noisyJpeg(7);
  const sos = good.indexOf(Buffer.from([0xff, 0xda]));
  const withDri = Buffer.concat([good.subarray(0, sos), Buffer.from([0xff, 0xdd, 0x00, 0x04, 0x00, 0x02]), good.subarray(sos)]);
  assert.match(jpegScanDamage(withDri)!, /restart marker 0 of scan 1|premature end|extraneous/);
  // Restart markers, 4:2:0 at an odd size, grayscale (test/fixtures/jpeg, written by Pillow): intact
  // ones pass and decode, scrambled ones are caught. Progressive files are left to libjpeg.
  const fixtures = join(__dirname, 'fixtures', 'jpeg');
  for (const f of ['restart-every-3-mcus.jpg', 'restart-every-row-420-61x37.jpg', 'gray-restart-every-2.jpg']) {
    const jpeg = readFileSync(join(fixtures, f));
    assert.equal(jpegScanDamage(jpeg), undefined, f);
    assert.match(jpegScanDamage(scrambled(jpeg))!, /^JPEG data is damaged in scan 1/, `${f} scrambled`);
  }
  const progressive = readFileSync(join(fixtures, 'progressive.jpg'));
  assert.equal(jpegScanDamage(progressive), undefined);
  assert.equal(jpegScanDamage(scrambled(progressive)), undefined, 'not checked');
});

function facesRoot(): string {
  const root = fresh('faces');
  mkdirSync(join(root, 'Ann_A'));
  mkdirSync(join(root, 'Ben_B'));
  for (let i = 0; i < 3; i++) writeFileSync(join(root, 'Ann_A', `a${i}.jpg`), picture(i));
  const good = picture(9);
  writeFileSync(join(root, 'Ann_A', 'cut.jpg'), good.subarray(0, Math.floor(good.length * 0.6)));
  writeFileSync(join(root, 'Ann_A', 'junk.jpg'), Buffer.from('<html>404 not found</html>'));
  writeFileSync(join(root, 'Ann_A', 'notes.txt'), 'not an image, ignored by extension');
  for (let i = 0; i < 2; i++) writeFileSync(join(root, 'Ben_B', `b${i}.png`), picture(5 + i, 'image/png'));
  return root;
}

test('corrupt and truncated images are skipped, counted and named; the cache keeps that record', async () => {
  const root = facesRoot();
  const cacheDir = fresh('cache');
  const opts = { name: 'faces' as const, root, split: 'all', resolution: 32 as const, cacheDir, progress: false };
  const { value: ds, text } = await captureLog(() => loadDataset(opts));
  assert.equal(ds.labels.length, 5);
  assert.deepEqual(ds.skipped.sort(), ['Ann_A/cut.jpg', 'Ann_A/junk.jpg']);
  assert.deepEqual(ds.files, ['Ann_A/a0.jpg', 'Ann_A/a1.jpg', 'Ann_A/a2.jpg', 'Ben_B/b0.png', 'Ben_B/b1.png']);
  assert.deepEqual(Array.from(ds.labels), [0, 0, 0, 1, 1]);
  assert.deepEqual(ds.classNames, ['Ann A', 'Ben B']);
  assert.equal(ds.images.length, 5 * 32 * 32 * 3);
  assert.match(text, /skipped 2 corrupt or truncated image\(s\): Ann_A\/cut\.jpg, Ann_A\/junk\.jpg/);
  const { value: again, text: text2 } = await captureLog(() => loadDataset(opts));
  assert.equal(again.fromCache, true);
  assert.deepEqual(again.skipped, ds.skipped);
  assert.match(text2, /skipped 2 corrupt/);
});

test('a JPEG with damaged scan data is skipped and counted like a truncated one', async () => {
  const root = facesRoot();
  writeFileSync(join(root, 'Ann_A', 'scrambled.jpg'), scrambled(noisyJpeg(3)));
  writeFileSync(join(root, 'Ben_B', 'noisy.jpg'), noisyJpeg(4));
  copyFileSync(join(__dirname, 'fixtures', 'jpeg', 'restart-every-3-mcus.jpg'), join(root, 'Ben_B', 'restart.jpg'));
  const { value: ds, text } = await captureLog(() => loadDataset({ name: 'faces', root, split: 'all', resolution: 32, cacheDir: false, progress: false }));
  assert.deepEqual(ds.skipped.sort(), ['Ann_A/cut.jpg', 'Ann_A/junk.jpg', 'Ann_A/scrambled.jpg']);
  assert.ok(ds.files.includes('Ben_B/noisy.jpg') && ds.files.includes('Ben_B/restart.jpg'), 'the intact ones are kept');
  assert.match(text, /skipped 3 corrupt or truncated image\(s\)/);
});

test('a class whose every image is corrupt, and more classes than the copy has, are errors that say so', async () => {
  const root = facesRoot();
  mkdirSync(join(root, 'Cat_C'));
  writeFileSync(join(root, 'Cat_C', 'c0.jpg'), Buffer.from('<html>not an image</html>'));
  writeFileSync(join(root, 'Cat_C', 'c1.jpg'), scrambled(noisyJpeg(5)));
  await assert.rejects(
    captureLog(() => loadDataset({ name: 'faces', root, split: 'all', resolution: 32, cacheDir: false, progress: false })),
    /faces all 32px: every image of class\(es\) Cat C \(2 files\) is corrupt or truncated, so the class would have no images; fix or remove those files or folders, or select other classes/,
  );
  // The first two classes load.
  const { value: two } = await captureLog(() => loadDataset({ name: 'faces', root, split: 'all', resolution: 32, cacheDir: false, progress: false, classes: { first: 2 } }));
  assert.deepEqual(two.classNames, ['Ann A', 'Ben B']);
  await assert.rejects(
    loadDataset({ name: 'faces', root, split: 'all', resolution: 32, cacheDir: false, progress: false, classes: { first: 500 } }),
    /faces: classes\.first asks for the first 500 classes, but the copy at .* has 3 classes; ask for at most 3/,
  );
  await assert.rejects(
    loadDataset({ name: 'faces', root, split: 'all', resolution: 32, cacheDir: false, progress: false, classes: { minImages: 3, first: 3 } }),
    /classes\.first asks for the first 3 classes, but 1 of its 3 classes pass the other filters/,
  );
});

test('a bounding box smaller than one pixel is called that, not "outside the image"', () => {
  assert.throws(() => cropRect(100, 80, 'bbox', { x: 10, y: 10, width: 0.4, height: 20 }), /bounding box .* is smaller than one pixel inside the 100x80 image \(0\.4 x 20 px\); fix its line in bounding_boxes\.txt/);
  assert.throws(() => cropRect(100, 80, 'bbox', { x: 120, y: 10, width: 5, height: 5 }), /lies outside the 100x80 image/);
  assert.deepEqual(cropRect(100, 80, 'bbox', { x: 98, y: 10, width: 5, height: 5 }), { x: 98, y: 10, width: 2, height: 5 });
});

test('faces: an empty identity folder and a folder without identity folders are errors saying what to do', async () => {
  const root = facesRoot();
  mkdirSync(join(root, 'Cat_C'));
  writeFileSync(join(root, 'Cat_C', 'readme.txt'), 'no images');
  assert.throws(() => indexDataset('faces', root, 'all'), /identity folder .*Cat_C has no images \(\.jpg, \.jpeg, \.png\); remove the folder or add its images/);
  const flat = fresh('flat');
  writeFileSync(join(flat, 'x.jpg'), picture(1));
  await assert.rejects(loadDataset({ name: 'faces', root: flat, resolution: 32, cacheDir: false, progress: false }), /has no identity folders \(it holds 1 images directly\); expected one folder per identity: <root>\/<identity>\/<image>\.jpg/);
  // A wrapper folder around the identity folders (faces_celeba/ -> faces/) is entered.
  const wrapper = fresh('wrapper');
  const inner = facesRoot();
  rmSync(join(inner, 'Ann_A', 'cut.jpg'));
  rmSync(join(inner, 'Ann_A', 'junk.jpg'));
  copyDir(inner, join(wrapper, 'faces'));
  assert.deepEqual(indexDataset('faces', wrapper, 'all').files, indexDataset('faces', inner, 'all').files);
});

function copyDir(src: string, dest: string): void {
  mkdirSync(dest, { recursive: true });
  for (const id of ['Ann_A', 'Ben_B']) {
    mkdirSync(join(dest, id));
    for (const f of require('fs').readdirSync(join(src, id)) as string[]) copyFileSync(join(src, id, f), join(dest, id, f));
  }
}

test('bad options are rejected with the allowed values', async () => {
  const root = facesRoot();
  const base = { name: 'faces' as const, root, cacheDir: false as const, progress: false };
  await assert.rejects(loadDataset({ ...base, resolution: 48 as 32 }), /resolution must be one of 32, 64, 128, got 48/);
  await assert.rejects(loadDataset({ ...base, resolution: 32, crop: 'bbox' }), /crop 'bbox' needs bounding boxes, which only cub200 has/);
  await assert.rejects(loadDataset({ ...base, resolution: 32, split: 'val' }), /faces has no split 'val'; use one of train, test, all/);
  await assert.rejects(loadDataset({ ...base, resolution: 32, classes: { first: 0 } }), /classes.first must be a positive integer/);
  await assert.rejects(loadDataset({ ...base, resolution: 32, root: join(root, 'nope') }), /root .*nope does not exist/);
  await assert.rejects(loadDataset({ ...base, name: 'mnist' as 'faces', resolution: 32 }), /unknown dataset 'mnist'; use one of flowers102, cub200, faces/);
});

test('no data anywhere: the error names the download folder and the staged folder, and how to get the data', async () => {
  const previous = process.env.CVAEGAN_SHARED_DATASETS;
  const previousDownloads = process.env.CVAEGAN_DOWNLOAD_ROOT;
  const empty = fresh('no-shared');
  process.env.CVAEGAN_SHARED_DATASETS = empty;
  // An empty download folder too, so a real download in datasets/ cannot hide the error.
  process.env.CVAEGAN_DOWNLOAD_ROOT = fresh('no-downloads');
  try {
    assert.throws(() => resolveRoot('cub200'), (e: Error) => {
      assert.ok(e.message.includes(downloadRoot('cub200')) && e.message.includes(join(empty, 'cub200')), e.message);
      assert.match(e.message, /downloadCub200\(\), or pass root/);
      return true;
    });
    // download: true cannot fetch faces (FaceScrub needs the authors' lists): the same error.
    await assert.rejects(loadDataset({ name: 'faces', resolution: 32, download: true, cacheDir: false, progress: false }), /faces: no data found in .*downloadFaceScrub/);
  } finally {
    if (previous === undefined) delete process.env.CVAEGAN_SHARED_DATASETS;
    else process.env.CVAEGAN_SHARED_DATASETS = previous;
    if (previousDownloads === undefined) delete process.env.CVAEGAN_DOWNLOAD_ROOT;
    else process.env.CVAEGAN_DOWNLOAD_ROOT = previousDownloads;
  }
});

const flowers = sharedDataset('flowers102');
const cub = sharedDataset('cub200');
const skipOf = (d: { root: string } | { missing: string }) => ('missing' in d ? d.missing : false);
const rootOf = (d: { root: string } | { missing: string }) => ('root' in d ? d.root : '');

test('flowers102: missing or corrupt .mat files are errors naming the file', { skip: skipOf(flowers) }, () => {
  const root = fresh('flowers');
  mkdirSync(join(root, 'jpg'));
  assert.throws(() => indexDataset('flowers102', root, 'train'), /imagelabels\.mat is missing\. Expected the official layout/);
  copyFileSync(join(rootOf(flowers), 'imagelabels.mat'), join(root, 'imagelabels.mat'));
  const setid = readFileSync(join(rootOf(flowers), 'setid.mat'));
  writeFileSync(join(root, 'setid.mat'), setid.subarray(0, 3000));
  assert.throws(() => indexDataset('flowers102', root, 'train'), /setid\.mat: element at byte \d+ needs \d+ bytes but only \d+ remain \(file truncated\?\)/);
  const flipped = Buffer.from(setid);
  for (let i = 200; i < 260; i++) flipped[i] ^= 0x5a;
  writeFileSync(join(root, 'setid.mat'), flipped);
  assert.throws(() => indexDataset('flowers102', root, 'train'), /setid\.mat: compressed element at byte 128 does not inflate .*corrupt, download it again/);
  writeFileSync(join(root, 'setid.mat'), Buffer.alloc(300, 0x41));
  assert.throws(() => indexDataset('flowers102', root, 'train'), /setid\.mat: not a MATLAB 5 MAT-file/);
  // The right file under the wrong name: the expected variable is named, and what the file holds.
  copyFileSync(join(rootOf(flowers), 'imagelabels.mat'), join(root, 'setid.mat'));
  assert.throws(() => indexDataset('flowers102', root, 'train'), /setid\.mat: expected a numeric variable 'trnid', found labels \(double 1x8189\)/);
  assert.throws(() => parseMat(Buffer.alloc(10), 'tiny.mat'), /tiny\.mat: 10 bytes, too short/);
});

test('cub200: a missing metadata file or a malformed line is an error naming file (and line)', { skip: skipOf(cub) }, () => {
  const staged = join(rootOf(cub), 'CUB_200_2011');
  const dir = join(fresh('cub'), 'CUB_200_2011');
  mkdirSync(dir);
  for (const f of ['images.txt', 'classes.txt', 'image_class_labels.txt', 'train_test_split.txt']) copyFileSync(join(staged, f), join(dir, f));
  assert.throws(() => indexDataset('cub200', join(dir, '..'), 'train'), /metadata file .*bounding_boxes\.txt is missing/);
  const boxes = readFileSync(join(staged, 'bounding_boxes.txt'), 'utf8').split('\n');
  boxes[4] = '5 12.0 oops 3.0 4.0';
  writeFileSync(join(dir, 'bounding_boxes.txt'), boxes.join('\n'));
  assert.throws(() => indexDataset('cub200', join(dir, '..'), 'train'), /bounding_boxes\.txt: image id 5 .* has no valid box/);
  boxes[4] = '5 12.0 3.0';
  writeFileSync(join(dir, 'bounding_boxes.txt'), boxes.join('\n'));
  assert.throws(() => indexDataset('cub200', join(dir, '..'), 'train'), /bounding_boxes\.txt:5: expected "<id> 4 field\(s\)"/);
  assert.throws(() => indexDataset('cub200', fresh('empty'), 'train'), /no images\.txt in .* Expected the official layout CUB_200_2011\/\{images\/, images\.txt/);
});
