/**
 * findOrFetch, the default every notebook and `npm run train` / `npm run reproduce` use: a local
 * copy, else the official files (here from a local mirror on 127.0.0.1 named by
 * CVAEGAN_DATASET_MIRROR, with CVAEGAN_DATASET_CHECKSUMS for the small archives built here; never
 * the internet), else one message that says what to do offline. Every test runs with empty
 * download and staged folders of its own.
 */
import { test, after, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { downloadRoot, findOrFetch, loadDataset } from '../datasets';
import { LocalServer } from './helpers/local-server';
import { md5, sha256, smallFlowers, smallLfw } from './helpers/official-archives';
import { writeSyntheticFaces } from './helpers/synthetic-faces';

const ROOT = join(__dirname, '..');
const work = mkdtempSync(join(tmpdir(), 'cvaegan-find-'));
const VARS = ['CVAEGAN_DOWNLOAD_ROOT', 'CVAEGAN_SHARED_DATASETS', 'CVAEGAN_DATASET_MIRROR', 'CVAEGAN_DATASET_CHECKSUMS', 'CVAEGAN_OFFLINE', 'CVAEGAN_CACHE_DIR'] as const;
const saved = Object.fromEntries(VARS.map((v) => [v, process.env[v]]));
let server: LocalServer;
let files: Record<string, Buffer>;
let lfw: Buffer;
let n = 0;
const fresh = (name: string) => {
  const d = join(work, `${name}-${n++}`);
  mkdirSync(d, { recursive: true });
  return d;
};

/** A mirror in the layout <mirror>/<dataset>/<official file name>, and the checksums of its files. */
async function mirror(): Promise<void> {
  if (server) return;
  files = await smallFlowers(fresh('flowers-src'), 3, 10);
  lfw = await smallLfw(fresh('lfw-src'), [['Ann_A', 21], ['Bo_B', 20], ['Cy_C', 22], ['Di_D', 2]]);
  server = await new LocalServer().start();
  for (const [f, body] of Object.entries(files)) server.routes.set(`/m/flowers102/${f}`, { body });
  server.routes.set('/m/lfw/lfw.tgz', { body: lfw });
  const sums = join(work, 'checksums.json');
  writeFileSync(sums, JSON.stringify({ ...Object.fromEntries(Object.entries(files).map(([f, b]) => [f, md5(b)])), 'lfw.tgz': sha256(lfw) }));
  process.env.CVAEGAN_DATASET_CHECKSUMS = sums;
}

beforeEach(async () => {
  await mirror();
  process.env.CVAEGAN_DOWNLOAD_ROOT = fresh('downloads');
  process.env.CVAEGAN_SHARED_DATASETS = fresh('shared');
  process.env.CVAEGAN_CACHE_DIR = fresh('cache');
  process.env.CVAEGAN_DATASET_MIRROR = server.url('/m');
  delete process.env.CVAEGAN_OFFLINE;
});
afterEach(() => {
  for (const v of VARS) if (v !== 'CVAEGAN_DATASET_CHECKSUMS') (saved[v] === undefined ? delete process.env[v] : (process.env[v] = saved[v]));
});
after(() => {
  server?.close();
  for (const v of VARS) (saved[v] === undefined ? delete process.env[v] : (process.env[v] = saved[v]));
  rmSync(work, { recursive: true, force: true });
});
const quiet = { progress: false };

test('nothing local: the official files come from the mirror, verified and extracted; the second call uses the local copy', async () => {
  const before = server.log.length;
  const found = await findOrFetch('flowers102', quiet);
  assert.deepEqual([found.dataset, found.root], ['flowers102', downloadRoot('flowers102')]);
  assert.match(found.source, /downloaded and verified/);
  assert.deepEqual(server.log.slice(before).map((l) => l.path).sort(), ['/m/flowers102/102flowers.tgz', '/m/flowers102/imagelabels.mat', '/m/flowers102/setid.mat']);
  const ds = await loadDataset({ name: 'flowers102', root: found.root, split: 'all', resolution: 32, progress: false });
  assert.equal(ds.labels.length, 30);
  const again = await findOrFetch('flowers102', quiet);
  assert.match(again.source, /local copy in the download folder/);
  assert.equal(server.log.length, before + 3, 'nothing fetched the second time');
});

test('an interrupted download is not taken for a local copy: the next call resumes it', async () => {
  const root = downloadRoot('flowers102');
  mkdirSync(join(root, 'jpg'), { recursive: true });
  for (const f of ['imagelabels.mat', 'setid.mat']) writeFileSync(join(root, f), files[f]);
  writeFileSync(join(root, '102flowers.tgz.part'), files['102flowers.tgz'].subarray(0, 1000));
  writeFileSync(join(root, '102flowers.tgz.part.url'), `${server.url('/m')}/flowers102/102flowers.tgz`);
  const before = server.log.length;
  const found = await findOrFetch('flowers102', quiet);
  assert.match(found.source, /downloaded/);
  assert.deepEqual(server.log.slice(before), [{ path: '/m/flowers102/102flowers.tgz', range: 'bytes=1000-' }]);
  assert.equal(readdirSync(join(root, 'jpg')).length, 30);
});

test('faces: FaceScrub or the staged CelebA crops when present, else LFW from the mirror', async () => {
  const before = server.log.length;
  const got = await findOrFetch('faces', quiet);
  assert.deepEqual([got.dataset, got.root], ['lfw', downloadRoot('lfw')]);
  assert.match(got.source, /LFW: no FaceScrub or CelebA copy here/);
  assert.deepEqual(server.log.slice(before).map((l) => l.path), ['/m/lfw/lfw.tgz']);
  const ds = await loadDataset({ name: got.dataset, root: got.root, split: 'all', resolution: 32, progress: false });
  assert.deepEqual(ds.classNames, ['Cy C', 'Ann A', 'Bo B'], 'people with >= 20 photos, most first');

  // Once downloaded, LFW is the local copy; a staged CelebA copy still comes first (our results' source).
  assert.match((await findOrFetch('faces', quiet)).source, /local copy in the download folder of LFW/);
  writeSyntheticFaces(join(process.env.CVAEGAN_SHARED_DATASETS!, 'faces_celeba', 'faces'), 2, 6);
  const staged = await findOrFetch('faces', quiet);
  assert.deepEqual([staged.dataset, staged.root], ['faces', join(process.env.CVAEGAN_SHARED_DATASETS!, 'faces_celeba', 'faces')]);
  writeSyntheticFaces(downloadRoot('faces'), 2, 6);
  assert.deepEqual((await findOrFetch('faces', quiet)).root, downloadRoot('faces'), 'a FaceScrub download in datasets/faces/ first of all');
});

test('offline with nothing local: one message naming the folders looked in, the files to fetch and where to put them; no connection', async () => {
  process.env.CVAEGAN_OFFLINE = '1';
  const before = server.log.length;
  await assert.rejects(findOrFetch('flowers102', quiet), (e: Error) => {
    assert.match(e.message, /^flowers102: no local copy in .*downloads[^ ]*\/flowers102 or .*shared[^ ]*\/flowers102, and downloads are off/);
    assert.match(e.message, /fetch 102flowers\.tgz \(345 MB\), imagelabels\.mat, setid\.mat from https:\/\/www\.robots\.ox\.ac\.uk\/~vgg\/data\/flowers\/102\//);
    assert.match(e.message, /put them in .*downloads[^ ]*\/flowers102\/ and run this again/);
    assert.ok(!e.message.includes('\n'), 'one line');
    return true;
  });
  await assert.rejects(findOrFetch('faces', { ...quiet, offline: true }), /faces: no local copy in .*faces .*lfw, and downloads are off.*fetch lfw\.tgz \(181 MB\) from https:\/\/ndownloader\.figshare\.com\/files\/5976018 or http:\/\/vis-www\.cs\.umass\.edu\/lfw\/lfw\.tgz.*put it in .*\/lfw\//);
  assert.equal(server.log.length, before, 'no request while offline');
});

test('offline with the official files placed by hand: verified and extracted with no connection', async () => {
  const root = downloadRoot('lfw');
  mkdirSync(root, { recursive: true });
  writeFileSync(join(root, 'lfw.tgz'), lfw);
  const before = server.log.length;
  const got = await findOrFetch('faces', { ...quiet, offline: true });
  assert.deepEqual([got.dataset, got.root], ['lfw', root]);
  assert.match(got.source, /placed in the download folder, verified and extracted offline/);
  assert.equal(server.log.length, before);
  assert.ok(existsSync(join(root, 'lfw', 'Ann_A', 'Ann_A_0021.jpg')));
});

test('the mirror failing: the message says why and what to do; the official hosts are not tried', async () => {
  process.env.CVAEGAN_DATASET_MIRROR = server.url('/nowhere');
  await assert.rejects(findOrFetch('flowers102', { ...quiet }), (e: Error) => {
    assert.match(e.message, /downloading it failed: .*\/nowhere\/flowers102\/102flowers\.tgz: HTTP 404.*To work offline: fetch 102flowers\.tgz/);
    return true;
  });
  assert.ok(server.log.every((l) => !/robots\.ox/.test(l.path)));
});

test('npm run train / reproduce --no-download never touch the network and say what to do; the default downloads', { timeout: 600_000 }, async () => {
  const env: NodeJS.ProcessEnv = { ...process.env, CVAEGAN_SMOKE: '1' };
  delete env.CVAEGAN_OFFLINE;
  // Asynchronous: the mirror answers from this process.
  const cli = (args: string[], script = 'scripts/train.ts') =>
    new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
      const p = spawn(process.execPath, ['--import', 'tsx', script, ...args], { cwd: ROOT, env });
      let out = '';
      let err = '';
      p.stdout.on('data', (b: Buffer) => (out += b));
      p.stderr.on('data', (b: Buffer) => (err += b));
      p.on('close', (code) => resolve({ code, out, err }));
    });
  const before = server.log.length;
  const off = await cli(['--dataset', 'flowers', '--model', 'cvaegan', '--no-download', '--out', fresh('run-off')]);
  assert.equal(off.code, 1, off.out + off.err);
  assert.match(off.err, /flowers102: no local copy .* downloads are off .*To work offline/);
  const reproduceOff = await cli(['--dataset', 'birds', '--no-download', '--out', fresh('repro-off')], 'scripts/reproduce.ts');
  assert.equal(reproduceOff.code, 1, reproduceOff.out + reproduceOff.err);
  assert.match(reproduceOff.err, /cub200: no local copy .* downloads are off .*fetch CUB_200_2011\.tgz \(1151 MB\)/);
  assert.equal(server.log.length, before);
  const on = await cli(['--dataset', 'faces', '--model', 'cvae', '--steps', '2', '--out', fresh('run-on')]);
  assert.equal(on.code, 0, on.out + on.err);
  assert.match(on.out, /data: .*lfw \(the official files, downloaded and verified \(LFW: no FaceScrub or CelebA copy here\)\)/);
  assert.match(on.out, /train: CVAE on LFW faces \(3 classes/);
  assert.ok(server.log.slice(before).some((l) => l.path === '/m/lfw/lfw.tgz'));
});

test('CVAEGAN_DATASET_CHECKSUMS that is not a checksum file is an error naming it', async () => {
  const bad = join(work, 'bad.json');
  writeFileSync(bad, JSON.stringify({ 'lfw.tgz': 'not-hex' }));
  const previous = process.env.CVAEGAN_DATASET_CHECKSUMS;
  process.env.CVAEGAN_DATASET_CHECKSUMS = bad;
  try {
    await assert.rejects(findOrFetch('lfw', quiet), /CVAEGAN_DATASET_CHECKSUMS=.*bad\.json: expected \{ "<file name>": "<32 hex digits \(MD5\) or 64 \(SHA-256\)>" \}; bad entries: lfw\.tgz/);
  } finally {
    process.env.CVAEGAN_DATASET_CHECKSUMS = previous;
  }
});
