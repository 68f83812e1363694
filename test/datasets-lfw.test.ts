/**
 * LFW end to end against a local HTTP server on 127.0.0.1 (never the internet), with a small
 * lfw.tgz in LFW's layout built here: the first mirror dead and the second used (figshare, then
 * UMass), SHA-256 verified, a cut download resumed, a wrong SHA-256 kept aside; then the loader:
 * people with at least 20 photos, ordered by photo count, the face crop, and the 80/20 split.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { ChecksumError, LFW_FILES, downloadLfw, indexDataset, lfwFaceBox, loadDataset } from '../datasets';
import { loadSplit } from '../lib/eval/splits';
import { LocalServer } from './helpers/local-server';
import { LFW_BACKGROUND_RGB, LFW_FACE_RGB, sha256, smallLfw } from './helpers/official-archives';

const work = mkdtempSync(join(tmpdir(), 'cvaegan-lfw-'));
const servers: LocalServer[] = [];
after(() => {
  for (const s of servers) s.close();
  rmSync(work, { recursive: true, force: true });
});
let n = 0;
const fresh = (name: string) => {
  const d = join(work, `${name}-${n++}`);
  mkdirSync(d, { recursive: true });
  return d;
};
const quiet = { progress: false, retryDelayMs: 5 };

/** Four people with 20-23 photos (kept, in this order: most first, ties by name) and three with fewer (dropped). */
const PEOPLE: [string, number][] = [
  ['Bob_Beta', 21], ['Ann_Alpha', 23], ['Dee_Delta', 20], ['Cid_Gamma', 21], ['Eve_Few', 19], ['Fay_Three', 3], ['Gus_One', 1],
];
let archive: Buffer | undefined;
const lfwTgz = async () => (archive ??= await smallLfw(fresh('lfw-src'), PEOPLE));

test('downloadLfw: the official facts (scikit-learn figshare copy first, UMass second; SHA-256 and size)', () => {
  const f = LFW_FILES['lfw.tgz'];
  assert.equal(f.sha256, '055f7d9c632d7370e6fb4afc7468d40f970c34a80d4c6f50ffec63f5a8d536c0');
  assert.equal(f.size, 180_566_744);
  assert.deepEqual(f.mirrors, ['https://ndownloader.figshare.com/files/5976018', 'http://vis-www.cs.umass.edu/lfw/lfw.tgz']);
  assert.equal(LFW_FILES['lfw-funneled.tgz'].sha256, 'b47c8422c8cded889dc5a13418c4bc2abbda121092b3533a83306f90d900100a');
  assert.equal(LFW_FILES['lfw-funneled.tgz'].mirrors[0], 'https://ndownloader.figshare.com/files/5976015');
});

test('downloadLfw: a dead first mirror is skipped, the second gives a SHA-256-verified archive, extracted once', async () => {
  const s = await new LocalServer().start();
  servers.push(s);
  const body = await lfwTgz();
  s.routes.set('/umass/lfw.tgz', { body });
  const root = fresh('lfw');
  const mirrors = [s.url('/figshare/5976018'), s.url('/umass/lfw.tgz')];
  assert.equal(await downloadLfw({ ...quiet, root, mirrors, checksums: { 'lfw.tgz': sha256(body) } }), root);
  assert.equal(s.requests('/figshare/5976018'), 1);
  assert.equal(readdirSync(join(root, 'lfw')).length, PEOPLE.length);
  assert.ok(existsSync(join(root, 'lfw', 'Ann_Alpha', 'Ann_Alpha_0023.jpg')));
  const served = s.log.length;
  await downloadLfw({ ...quiet, root, mirrors, checksums: { 'lfw.tgz': sha256(body) } });
  assert.equal(s.log.length, served, 'already downloaded, verified and extracted: nothing fetched');

  // Offline with nothing on disk: an error that says so, and no request.
  await assert.rejects(downloadLfw({ ...quiet, root: fresh('lfw-offline'), mirrors, offline: true }), /lfw\.tgz is not in .* downloads are off/);
  assert.equal(s.log.length, served);
});

test('downloadLfw: a wrong SHA-256 is kept aside and named; a cut download resumes with Range', async () => {
  const s = await new LocalServer().start();
  servers.push(s);
  const body = await lfwTgz();
  s.routes.set('/lfw.tgz', { body, cutTimes: 1, cutAfter: Math.floor(body.length / 3) });
  const root = fresh('lfw-cut');
  await assert.rejects(downloadLfw({ ...quiet, retries: 0, root, mirrors: [s.url('/lfw.tgz')], checksums: { 'lfw.tgz': sha256(body) } }), /lfw\.tgz\.part; call again to resume/);
  await downloadLfw({ ...quiet, retries: 0, root, mirrors: [s.url('/lfw.tgz')], checksums: { 'lfw.tgz': sha256(body) } });
  assert.match(s.log.at(-1)!.range ?? '', /^bytes=\d+-$/, 'the second request asked only for the rest');
  assert.equal(readdirSync(join(root, 'lfw')).length, PEOPLE.length);

  const wrong = 'f'.repeat(64);
  const bad = fresh('lfw-bad');
  await assert.rejects(downloadLfw({ ...quiet, root: bad, mirrors: [s.url('/lfw.tgz')], checksums: { 'lfw.tgz': wrong } }), (e: unknown) => {
    assert.ok(e instanceof ChecksumError);
    assert.match(e.message, new RegExp(`SHA-256 mismatch for .*lfw\\.tgz .*expected ${wrong}.*got ${sha256(body)}`));
    return true;
  });
  assert.ok(readdirSync(bad).some((f) => f.startsWith(`lfw.tgz.sha256-mismatch-${sha256(body)}`)), 'the file is kept aside, not deleted');
  // Without an override, the official checksum and size apply: the small archive is refused.
  await assert.rejects(downloadLfw({ ...quiet, root: fresh('lfw-official'), mirrors: [s.url('/lfw.tgz')] }), /SHA-256 mismatch .*expected 055f7d9c.* \/ 180566744 bytes/);
});

test('LFW loader: people with >= 20 photos, ordered by photo count, the face crop by default, the 80/20 split', async () => {
  const s = await new LocalServer().start();
  servers.push(s);
  const body = await lfwTgz();
  s.routes.set('/lfw.tgz', { body });
  const root = fresh('lfw-load');
  await downloadLfw({ ...quiet, root, mirrors: [s.url('/lfw.tgz')], checksums: { 'lfw.tgz': sha256(body) } });

  const index = indexDataset('lfw', root, 'all');
  assert.deepEqual(index.classNames, ['Ann Alpha', 'Bob Beta', 'Cid Gamma', 'Dee Delta', 'Eve Few', 'Fay Three', 'Gus One'], 'most photos first, ties by name');
  assert.deepEqual(index.classSizes, [23, 21, 21, 20, 19, 3, 1]);

  const all = await loadDataset({ name: 'lfw', root, split: 'all', resolution: 32, cacheDir: false, progress: false });
  assert.equal(all.numClasses, 4, 'people with fewer than 20 photos are left out');
  assert.deepEqual(all.classNames, ['Ann Alpha', 'Bob Beta', 'Cid Gamma', 'Dee Delta']);
  assert.equal(all.labels.length, 23 + 21 + 21 + 20);
  assert.equal(all.crop, 'face');
  // The crop is the face square: its corners are the person's colour, not the dark frame around it.
  const px = (img: number, x: number, y: number) => Array.from(all.images.subarray(((img * 32 + y) * 32 + x) * 3, ((img * 32 + y) * 32 + x) * 3 + 3));
  const close = (a: number[], b: number[], tol: number) => a.every((v, i) => Math.abs(v - b[i]) <= tol);
  for (const img of [0, all.labels.indexOf(3)]) {
    const face = LFW_FACE_RGB(PEOPLE.findIndex(([p]) => p.replace(/_/g, ' ') === all.classNames[all.labels[img]]));
    for (const [x, y] of [[2, 2], [29, 2], [2, 29], [29, 29], [16, 3]]) assert.ok(close(px(img, x, y), face, 24), `pixel ${x},${y} of image ${img}: ${px(img, x, y)} vs face ${face}`);
  }
  const full = await loadDataset({ name: 'lfw', root, split: 'all', resolution: 32, crop: 'center', classes: { first: 1 }, cacheDir: false, progress: false });
  assert.ok(close(Array.from(full.images.subarray(0, 3)), LFW_BACKGROUND_RGB, 24), 'without the face crop the corner is the dark frame');
  assert.deepEqual(lfwFaceBox(250, 250), { x: 62.5, y: 70, width: 125, height: 125 });

  // classes.minImages lowers the minimum; first K are the best-populated people.
  const some = await loadDataset({ name: 'lfw', root, split: 'all', resolution: 32, classes: { minImages: 3 }, cacheDir: false, progress: false });
  assert.equal(some.numClasses, 6);
  const split = await loadSplit({ dataset: 'lfw', resolution: 32, classes: 2, root, progress: false });
  assert.equal(split.totalClasses, 4, 'of the 4 people the default minimum keeps');
  assert.deepEqual(split.train.classNames, ['Ann Alpha', 'Bob Beta']);
  assert.equal(split.test.labels.length, Math.round(0.2 * 23) + Math.round(0.2 * 21));
  const train = new Set(split.train.files);
  assert.ok(split.test.files.every((f) => !train.has(f)));
});
