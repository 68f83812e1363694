/**
 * The downloaders end to end against a local HTTP server on 127.0.0.1 started here (never the
 * internet): success, MD5 mismatch, 404, a connection cut mid-file then resumed, a stalled server,
 * mirrors, and a FaceScrub list with one dead URL and one wrong SHA-256. Archives are built here
 * from a few staged images plus the real .mat files; tests that need them skip when the staged copy
 * is missing. Everything is downloaded into temporary folders.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import * as tar from 'tar';
import { loadImage } from 'canvas';
import { LocalServer } from './helpers/local-server';
import {
  ChecksumError, HttpError, downloadCub200, downloadFaceScrub, downloadFile, downloadFlowers102, loadDataset, readMatFile, sharedDataset,
} from '../datasets';

const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const quiet = { progress: false, retryDelayMs: 5 };
const work = mkdtempSync(join(tmpdir(), 'cvaegan-dl-'));
const servers: LocalServer[] = [];
after(() => {
  for (const s of servers) s.close();
  rmSync(work, { recursive: true, force: true });
});
async function serve(): Promise<LocalServer> {
  const s = await new LocalServer().start();
  servers.push(s);
  return s;
}
let dirCount = 0;
const freshDir = (name: string) => {
  const d = join(work, `${name}-${dirCount++}`);
  mkdirSync(d, { recursive: true });
  return d;
};

// ---------------------------------------------------------------- downloadFile (synthetic bytes)

test('downloadFile: downloads, verifies MD5, and does not fetch a verified file again', async () => {
  const s = await serve();
  const body = randomBytes(200_000);
  s.routes.set('/f.bin', { body });
  const dest = join(freshDir('ok'), 'f.bin');
  await downloadFile(s.url('/f.bin'), dest, { ...quiet, md5: md5(body), size: body.length });
  assert.ok(readFileSync(dest).equals(body));
  assert.ok(!existsSync(`${dest}.part`));
  await downloadFile(s.url('/f.bin'), dest, { ...quiet, md5: md5(body) });
  assert.equal(s.requests('/f.bin'), 1, 'the second call only re-verifies the file on disk');
});

test('downloadFile: a connection cut mid-file keeps the partial file, and the next call resumes with Range', async () => {
  const s = await serve();
  const body = randomBytes(300_000);
  s.routes.set('/cut.bin', { body, cutTimes: 1, cutAfter: 120_000 });
  const dest = join(freshDir('cut'), 'cut.bin');
  await assert.rejects(downloadFile(s.url('/cut.bin'), dest, { ...quiet, retries: 0, md5: md5(body) }), (e: Error) => {
    assert.match(e.message, /bytes received are kept in .*cut\.bin\.part; call again to resume/);
    return true;
  });
  assert.ok(!existsSync(dest));
  assert.equal(statSync(`${dest}.part`).size, 120_000);
  await downloadFile(s.url('/cut.bin'), dest, { ...quiet, retries: 0, md5: md5(body) });
  assert.equal(s.log.at(-1)!.range, 'bytes=120000-', 'the second request asked only for the rest');
  assert.ok(readFileSync(dest).equals(body));
});

test('downloadFile: retries resume within one call after a cut and after HTTP 503s', async () => {
  const s = await serve();
  const body = randomBytes(100_000);
  s.routes.set('/flaky.bin', { body, cutTimes: 2, cutAfter: 30_000 });
  const dest = join(freshDir('flaky'), 'flaky.bin');
  await downloadFile(s.url('/flaky.bin'), dest, { ...quiet, retries: 3, md5: md5(body) });
  assert.ok(readFileSync(dest).equals(body));
  assert.deepEqual(s.log.map((l) => l.range), [undefined, 'bytes=30000-', 'bytes=60000-']);

  s.routes.set('/busy.bin', { body, status: 503 });
  const busy = join(freshDir('busy'), 'busy.bin');
  await assert.rejects(downloadFile(s.url('/busy.bin'), busy, { ...quiet, retries: 2 }), /failed after 3 attempt\(s\): .*HTTP 503/);
  assert.equal(s.requests('/busy.bin'), 3);
});

test('downloadFile: a stalled server times out, keeps the partial file, and a retry resumes', async () => {
  const s = await serve();
  const body = randomBytes(50_000);
  s.routes.set('/slow.bin', { body, stallTimes: 1 });
  const dest = join(freshDir('slow'), 'slow.bin');
  await assert.rejects(downloadFile(s.url('/slow.bin'), dest, { ...quiet, retries: 0, timeoutMs: 300 }), /timed out.*kept in/);
  assert.equal(statSync(`${dest}.part`).size, 1000);
  await downloadFile(s.url('/slow.bin'), dest, { ...quiet, retries: 0, timeoutMs: 300, md5: md5(body) });
  assert.equal(s.log.at(-1)!.range, 'bytes=1000-');
  assert.ok(readFileSync(dest).equals(body));
});

test('downloadFile and fetchBuffer: a server that trickles (never idle, far too slow) is abandoned with a clear message; the bytes are kept', async () => {
  const s = await serve();
  const body = randomBytes(5_000);
  s.routes.set('/trickle.bin', { body, trickleMs: 40 });
  const dest = join(freshDir('trickle'), 'trickle.bin');
  const t0 = Date.now();
  const minRate = { bytesPerSecond: 200, windowMs: 600 };
  await assert.rejects(downloadFile(s.url('/trickle.bin'), dest, { ...quiet, retries: 0, timeoutMs: 5_000, minRate }), (e: Error) => {
    assert.match(e.message, /trickle\.bin: only \d+ bytes in the last 1 s, below the minimum of 200 bytes\/s \(the server trickles; timed out\)/);
    assert.match(e.message, /bytes received are kept in .*trickle\.bin\.part; call again to resume/);
    return true;
  });
  assert.ok(Date.now() - t0 < 4_000, 'abandoned after about one window, not the idle timeout');
  assert.ok(statSync(`${dest}.part`).size > 0);
  const { fetchBuffer } = await import('../datasets/fetcher');
  await assert.rejects(fetchBuffer(s.url('/trickle.bin'), { retries: 0, timeoutMs: 5_000, minRate }), /below the minimum of 200 bytes\/s/);
});

test('downloadFile: 404 fails at once with the URL and status; an HTML page is refused', async () => {
  const s = await serve();
  const dest = join(freshDir('404'), 'gone.bin');
  await assert.rejects(downloadFile(s.url('/gone.bin'), dest, { ...quiet, retries: 3 }), (e: unknown) => {
    assert.ok(e instanceof HttpError);
    assert.equal(e.status, 404);
    assert.match(e.message, /127\.0\.0\.1:\d+\/gone\.bin: HTTP 404/);
    return true;
  });
  assert.equal(s.requests('/gone.bin'), 1, 'a 404 is not retried');
  assert.ok(!existsSync(dest));
  assert.deepEqual(readdirSync(join(dest, '..')), [], 'no .part or .part.url left behind');
  s.routes.set('/login', { body: Buffer.from('<html>sign in</html>'), type: 'text/html; charset=utf-8' });
  await assert.rejects(downloadFile(s.url('/login'), join(freshDir('html'), 'x.tgz'), quiet), /returned an HTML page instead of x\.tgz/);
});

test('downloadFile: an MD5 mismatch names file, expected and actual, keeps the file aside, and the next call fetches again', async () => {
  const s = await serve();
  const body = randomBytes(10_000);
  s.routes.set('/m.bin', { body });
  const dest = join(freshDir('md5'), 'm.bin');
  const wrong = '0123456789abcdef0123456789abcdef';
  await assert.rejects(downloadFile(s.url('/m.bin'), dest, { ...quiet, md5: wrong }), (e: unknown) => {
    assert.ok(e instanceof ChecksumError);
    assert.match(e.message, new RegExp(`MD5 mismatch for .*m\\.bin .*expected ${wrong}.*got ${md5(body)}`));
    assert.ok(readFileSync(e.keptAs).equals(body), 'the mismatching file is kept, not deleted');
    return true;
  });
  assert.ok(!existsSync(dest));
  await downloadFile(s.url('/m.bin'), dest, { ...quiet, md5: md5(body) });
  assert.equal(s.requests('/m.bin'), 2);
});

// ---------------------------------------------------------------- dataset downloaders (staged images)

const flowers = sharedDataset('flowers102');
const cub = sharedDataset('cub200');
const faces = sharedDataset('faces_celeba');
const skipOf = (d: { root: string } | { missing: string }) => ('missing' in d ? d.missing : false);
const rootOf = (d: { root: string } | { missing: string }) => ('root' in d ? d.root : '');

/** 102flowers.tgz with the 40 images of class 1 (all splits), plus the real .mat files. */
async function flowersFiles(): Promise<Record<string, Buffer>> {
  const src = freshDir('flowers-src');
  mkdirSync(join(src, 'jpg'));
  const labels = readMatFile(join(rootOf(flowers), 'imagelabels.mat')).get('labels')!.data!;
  const names: string[] = [];
  labels.forEach((l, i) => {
    if (l !== 1) return;
    const f = `jpg/image_${String(i + 1).padStart(5, '0')}.jpg`;
    copyFileSync(join(rootOf(flowers), f), join(src, f));
    names.push(f);
  });
  const tgz = join(src, '102flowers.tgz');
  await tar.c({ gzip: true, file: tgz, cwd: src }, names);
  return {
    '102flowers.tgz': readFileSync(tgz),
    'imagelabels.mat': readFileSync(join(rootOf(flowers), 'imagelabels.mat')),
    'setid.mat': readFileSync(join(rootOf(flowers), 'setid.mat')),
  };
}

test('downloadFlowers102: downloads, verifies, extracts; the result loads; a second call fetches nothing', { skip: skipOf(flowers) }, async () => {
  const s = await serve();
  const files = await flowersFiles();
  for (const [name, body] of Object.entries(files)) s.routes.set(`/flowers/${name}`, { body });
  const checksums = Object.fromEntries(Object.entries(files).map(([n, b]) => [n, md5(b)]));
  const root = freshDir('flowers');
  assert.equal(await downloadFlowers102({ ...quiet, root, baseUrl: s.url('/flowers'), checksums }), root);
  const train = await loadDataset({ name: 'flowers102', root, split: 'train', resolution: 32, classes: { first: 1 }, cacheDir: false, progress: false });
  assert.equal(train.labels.length, 10, 'the 10 official training images of class 1');
  assert.equal(train.classNames[0], 'pink primrose');
  const all = await loadDataset({ name: 'flowers102', root, split: 'all', resolution: 32, classes: { first: 1 }, cacheDir: false, progress: false });
  assert.equal(all.labels.length, 40);
  const before = s.log.length;
  await downloadFlowers102({ ...quiet, root, baseUrl: s.url('/flowers'), checksums });
  assert.equal(s.log.length, before, 'already downloaded, verified and extracted');
  // Asking for classes whose images the copy lacks is an error that names the problem.
  await assert.rejects(loadDataset({ name: 'flowers102', root, split: 'train', resolution: 32, classes: { first: 2 }, cacheDir: false, progress: false }), /10 of the 20 selected images are missing .*image_\d{5}\.jpg/);
});

test('downloadFlowers102: MD5 mismatch (file kept aside, cache untouched), 404, and a cut archive resumed', { skip: skipOf(flowers) }, async () => {
  const s = await serve();
  const files = await flowersFiles();
  for (const [name, body] of Object.entries(files)) s.routes.set(`/flowers/${name}`, { body });
  const checksums = Object.fromEntries(Object.entries(files).map(([n, b]) => [n, md5(b)]));

  const cacheDir = freshDir('cache');
  writeFileSync(join(cacheDir, 'flowers102-train-32px-center-x.bin'), 'cache bytes');
  const root = freshDir('flowers-bad');
  const wrong = { ...checksums, 'setid.mat': 'ffffffffffffffffffffffffffffffff' };
  await assert.rejects(downloadFlowers102({ ...quiet, root, baseUrl: s.url('/flowers'), checksums: wrong }), (e: Error) => {
    assert.match(e.message, /MD5 mismatch for .*setid\.mat .*expected ffffffffffffffffffffffffffffffff.*got a5357ecc9cb78c4bef273ce3793fc85c/);
    return true;
  });
  assert.ok(readdirSync(root).some((f) => f.startsWith('setid.mat.md5-mismatch-')));
  assert.ok(!existsSync(join(root, 'setid.mat')));
  assert.deepEqual(readdirSync(cacheDir), ['flowers102-train-32px-center-x.bin']);
  assert.equal(readFileSync(join(cacheDir, 'flowers102-train-32px-center-x.bin'), 'utf8'), 'cache bytes');

  await assert.rejects(downloadFlowers102({ ...quiet, root: freshDir('flowers-404'), baseUrl: s.url('/nowhere'), checksums }), /nowhere\/102flowers\.tgz: HTTP 404/);

  s.routes.get('/flowers/102flowers.tgz')!.cutTimes = 1;
  const cutRoot = freshDir('flowers-cut');
  await assert.rejects(downloadFlowers102({ ...quiet, retries: 0, root: cutRoot, baseUrl: s.url('/flowers'), checksums }), /102flowers\.tgz\.part; call again to resume/);
  await downloadFlowers102({ ...quiet, retries: 0, root: cutRoot, baseUrl: s.url('/flowers'), checksums });
  const tgzRequests = s.log.filter((l) => l.path === '/flowers/102flowers.tgz');
  assert.match(tgzRequests.at(-1)!.range ?? '', /^bytes=\d+-$/, 'the archive download resumed');
  assert.equal((await loadDataset({ name: 'flowers102', root: cutRoot, split: 'val', resolution: 32, classes: { first: 1 }, cacheDir: false, progress: false })).labels.length, 10);
});

test('downloadFlowers102: an archive without jpg/ is a layout error that says what was expected', { skip: skipOf(flowers) }, async () => {
  const s = await serve();
  const files = await flowersFiles();
  const src = freshDir('wrong-layout');
  mkdirSync(join(src, 'images'));
  copyFileSync(join(rootOf(flowers), 'jpg', 'image_00001.jpg'), join(src, 'images', 'a.jpg'));
  await tar.c({ gzip: true, file: join(src, 'x.tgz'), cwd: src }, ['images/a.jpg']);
  files['102flowers.tgz'] = readFileSync(join(src, 'x.tgz'));
  for (const [name, body] of Object.entries(files)) s.routes.set(`/f/${name}`, { body });
  const checksums = Object.fromEntries(Object.entries(files).map(([n, b]) => [n, md5(b)]));
  await assert.rejects(downloadFlowers102({ ...quiet, root: freshDir('wl'), baseUrl: s.url('/f'), checksums }), /did not give the expected layout: no .*jpg\/image_NNNNN\.jpg files \(found .*images/);
});

test('downloadCub200: a dead mirror is skipped, the next one is used, and the result loads with boxes', { skip: skipOf(cub) }, async () => {
  const s = await serve();
  const staged = join(rootOf(cub), 'CUB_200_2011');
  const src = freshDir('cub-src');
  const names = ['CUB_200_2011/README', 'images.txt', 'classes.txt', 'image_class_labels.txt', 'train_test_split.txt', 'bounding_boxes.txt'].map((f) => (f.startsWith('CUB') ? f : `CUB_200_2011/${f}`));
  mkdirSync(join(src, 'CUB_200_2011', 'images', '001.Black_footed_Albatross'), { recursive: true });
  for (const f of names) copyFileSync(join(rootOf(cub), f), join(src, f));
  for (const f of readdirSync(join(staged, 'images', '001.Black_footed_Albatross'))) {
    const rel = `CUB_200_2011/images/001.Black_footed_Albatross/${f}`;
    copyFileSync(join(rootOf(cub), rel), join(src, rel));
    names.push(rel);
  }
  writeFileSync(join(src, 'attributes.txt'), '1 has_bill_shape::curved_(up_or_down)\n');
  names.push('attributes.txt');
  await tar.c({ gzip: true, file: join(src, 'cub.tgz'), cwd: src }, names);
  const body = readFileSync(join(src, 'cub.tgz'));
  s.routes.set('/mirror2/CUB_200_2011.tgz', { body });
  const checksums = { 'CUB_200_2011.tgz': md5(body) };
  const root = freshDir('cub');
  await downloadCub200({ ...quiet, root, checksums, mirrors: [s.url('/mirror1/CUB_200_2011.tgz'), s.url('/mirror2/CUB_200_2011.tgz')] });
  assert.equal(s.requests('/mirror1/CUB_200_2011.tgz'), 1);
  const ds = await loadDataset({ name: 'cub200', root, split: 'train', resolution: 32, classes: { first: 1 }, cacheDir: false, progress: false });
  const trainFlags = readFileSync(join(staged, 'train_test_split.txt'), 'utf8').trim().split('\n').map((l) => l.split(' '));
  const classOne = new Set(readFileSync(join(staged, 'image_class_labels.txt'), 'utf8').trim().split('\n').map((l) => l.split(' ')).filter((r) => r[1] === '1').map((r) => r[0]));
  assert.equal(ds.labels.length, trainFlags.filter((r) => classOne.has(r[0]) && r[1] === '1').length);
  assert.equal(ds.crop, 'bbox');

  await assert.rejects(
    downloadCub200({ ...quiet, root: freshDir('cub-none'), checksums, mirrors: [s.url('/a/CUB_200_2011.tgz'), s.url('/b/CUB_200_2011.tgz')] }),
    (e: Error) => {
      assert.match(e.message, /no mirror gave a verified CUB_200_2011\.tgz/);
      assert.match(e.message, /\/a\/CUB_200_2011\.tgz: .*HTTP 404/);
      assert.match(e.message, /\/b\/CUB_200_2011\.tgz: .*HTTP 404/);
      assert.match(e.message, /place it at .*CUB_200_2011\.tgz/);
      return true;
    },
  );
});

test('downloadFaceScrub: one dead URL and one wrong SHA-256 are counted, crops saved per identity, reruns resume', { skip: skipOf(faces) }, async () => {
  const s = await serve();
  const facesDir = join(rootOf(faces), 'faces');
  const [idA, idB] = readdirSync(facesDir).sort();
  const imgA = readFileSync(join(facesDir, idA, readdirSync(join(facesDir, idA)).sort()[0]));
  const imgB = readFileSync(join(facesDir, idA, readdirSync(join(facesDir, idA)).sort()[1]));
  const imgC = readFileSync(join(facesDir, idB, readdirSync(join(facesDir, idB)).sort()[0]));
  s.routes.set('/img/a.jpg', { body: imgA, type: 'image/jpeg' });
  s.routes.set('/img/b.jpg', { body: imgB, type: 'image/jpeg' });
  s.routes.set('/img/c.jpg', { body: imgC, type: 'image/jpeg' });
  const row = (name: string, imageId: number, url: string, bbox: string, sha: string) => [name, imageId, 1, s.url(url), bbox, sha].join('\t');
  const list = join(freshDir('lists'), 'facescrub_actors.txt');
  writeFileSync(list, [
    'name\timage_id\tface_id\turl\tbbox\tsha256',
    row('Alice Example', 1, '/img/a.jpg', '10,20,110,130', sha256(imgA)),
    row('Alice Example', 2, '/img/b.jpg', '100,100,400,400', sha256(imgB)), // overruns the 144 px image: clipped
    row('Bob Example', 3, '/img/c.jpg', '0,0,64,64', sha256(imgC)),
    row('Bob Example', 4, '/img/dead.jpg', '0,0,50,50', sha256(imgC)),
    row('Bob Example', 5, '/img/a.jpg', '0,0,50,50', sha256(imgC)),
  ].join('\n') + '\n');
  const root = freshDir('facescrub');
  const opts = { ...quiet, lists: [list], root, concurrency: 3, timeoutMs: 2000, retries: 1 };
  const first = await downloadFaceScrub(opts);
  assert.deepEqual({ ...first, failuresFile: undefined }, { saved: 3, dead: 1, badHash: 1, skipped: 0, previouslyFailed: 0, failuresFile: undefined });
  const a1 = await loadImage(join(root, 'Alice_Example', 'Alice_Example_1_1.jpg'));
  assert.deepEqual([a1.width, a1.height], [100, 110], 'cropped to the listed box');
  const a2 = await loadImage(join(root, 'Alice_Example', 'Alice_Example_2_1.jpg'));
  assert.ok(a2.width === 44 && a2.height >= 44 && a2.height <= 46, `box clipped to the image: ${a2.width}x${a2.height}`);
  const failures = readFileSync(first.failuresFile, 'utf8');
  assert.match(failures, /Bob Example\t4\t1\t.*dead\.jpg\tdead: .*HTTP 404/);
  assert.match(failures, /Bob Example\t5\t1\t.*a\.jpg\tbadHash: sha256/);

  const served = s.log.length;
  const again = await downloadFaceScrub(opts);
  assert.deepEqual({ ...again, failuresFile: undefined }, { saved: 0, dead: 0, badHash: 0, skipped: 3, previouslyFailed: 2, failuresFile: undefined });
  assert.equal(s.log.length, served, 'a rerun fetches nothing');
  const retried = await downloadFaceScrub({ ...opts, retryFailed: true });
  assert.deepEqual([retried.saved, retried.dead, retried.badHash, retried.skipped], [0, 1, 1, 3]);

  const ds = await loadDataset({ name: 'faces', root, split: 'all', resolution: 32, cacheDir: false, progress: false });
  assert.deepEqual(ds.classNames, ['Alice Example', 'Bob Example']);
  assert.deepEqual(Array.from(ds.labels), [0, 0, 1]);

  writeFileSync(list, 'name\turl\n');
  await assert.rejects(downloadFaceScrub({ ...opts, lists: [list] }), /expected a FaceScrub list with a tab-separated header .*lacks bbox/);
});
