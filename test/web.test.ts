/**
 * The web page (web/) against an exported tiny generator: `npm run export` writes G, meta.json, the
 * page and the tfjs bundle; headless Chromium opens the page from a static server and draws the
 * grid; its canvas pixels equal G run here in Node on the page's own z and c (the chosen class,
 * then the slider half-way between two classes, then between two z), and differ from G's output
 * for another class.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'child_process';
import { createServer, Server } from 'http';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'fs';
import { tmpdir } from 'os';
import { extname, join, normalize, resolve } from 'path';
import { AddressInfo } from 'net';
import * as tf from '@tensorflow/tfjs';
import { chromium } from 'playwright-core';
import { initBackend } from '../lib/backend/index';
import { makeConfig } from '../lib/model/config';
import { createModel } from '../lib/model/factory';
import { NetworkModel } from '../lib/model/modelbase';
import { browserUnavailable, CHROMIUM } from './helpers/jupyterlab';

const ROOT = resolve(__dirname, '..');
let work: string;
let server: Server;
let base: string;
before(() => {
  work = mkdtempSync(join(tmpdir(), 'web-'));
});
after(() => {
  server?.close();
  rmSync(work, { recursive: true, force: true });
});

/** A static file server for `dir`, as any static host would serve it. */
function serve(dir: string): Promise<string> {
  const types: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.json': 'application/json', '.bin': 'application/octet-stream' };
  server = createServer((req, res) => {
    const path = normalize(join(dir, decodeURIComponent(new URL(req.url!, 'http://x').pathname)));
    if (!path.startsWith(dir) || !existsSync(path) || statSync(path).isDirectory()) {
      const index = join(path, 'index.html');
      if (path.startsWith(dir) && existsSync(index)) return res.writeHead(200, { 'content-type': 'text/html' }).end(readFileSync(index));
      return res.writeHead(404).end();
    }
    res.writeHead(200, { 'content-type': types[extname(path)] ?? 'application/octet-stream' }).end(readFileSync(path));
  });
  return new Promise((r) => server.listen(0, '127.0.0.1', () => r(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`)));
}

test('npm run export writes G for the page, and the page in headless Chromium draws what G draws in Node on the same z', { skip: browserUnavailable(), timeout: 300_000 }, async () => {
  await initBackend();
  // A tiny CVAE-GAN after a few steps (batch-norm statistics moved off their initial values).
  const K = 3;
  const model = createModel('cvaegan', makeConfig('tiny', { numClasses: K, seed: 3 })) as NetworkModel;
  const R = model.config.resolution;
  for (let s = 0; s < 3; s++) {
    const x = tf.randomUniform([8, R, R, 3], -1, 1, 'float32', s) as tf.Tensor4D;
    const y = tf.tensor1d([0, 1, 2, 0, 1, 2, 0, 1], 'int32');
    model.trainStep(x, y);
    tf.dispose([x, y]);
  }
  // A tiny G this young draws a flat grey (its output layer starts near zero), on which any page
  // would pass: give every weight of G a random value of order 1 (moving variances positive) so
  // that each class and z draws a different, saturating-free picture.
  // The first dense kernel's rows for c are scaled up so that the label changes the picture clearly.
  const G = model.nets.G;
  const zDim = model.config.zDim;
  G.setWeights(G.weights.map((w, i) => tf.tidy(() => {
    const shape = w.shape as number[];
    if (/moving_variance/.test(w.name)) return tf.add(tf.abs(tf.randomNormal(shape, 0, 0.5, 'float32', 100 + i)), 0.5);
    const r = tf.randomNormal(shape, 0, 0.4, 'float32', 100 + i);
    return i === 0 ? tf.mul(r, tf.concat([tf.ones([zDim, 1]), tf.fill([K, 1], 20)]).broadcastTo(shape)) : r;
  })));
  assert.deepEqual(G.weights[0].shape, [zDim + K, model.config.generator.hidden[0]], 'the first weight is the first dense kernel, [z; c] rows');
  const run = join(work, 'run');
  await model.save(join(run, 'checkpoint'));

  const site = join(work, 'site');
  const cli = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/export.ts', '--run', run, '--out', join(site, 'model')], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(cli.status, 0, cli.stdout + cli.stderr);
  for (const f of ['model/model.json', 'model/weights.bin', 'model/meta.json', 'index.html', 'app.js', 'vendor/tf.min.js']) assert.ok(existsSync(join(site, f)), f);
  const meta = JSON.parse(readFileSync(join(site, 'model', 'meta.json'), 'utf8'));
  assert.deepEqual([meta.kind, meta.numClasses, meta.zDim, meta.resolution, meta.step], ['cvaegan', K, model.config.zDim, R, 3]);
  assert.deepEqual(meta.classNames, ['class 0', 'class 1', 'class 2'], 'no run.json here: generic names');
  // G only: the exported weights are G's, not E's, D's or C's.
  const topology = JSON.parse(readFileSync(join(site, 'model', 'model.json'), 'utf8'));
  const gWeights = model.nets.G.getWeights().reduce((s, w) => s + w.size, 0);
  assert.equal(readFileSync(join(site, 'model', 'weights.bin')).length, 4 * gWeights);
  assert.equal(topology.modelTopology.config.name, 'G');

  base = await serve(site);
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
  try {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    // Offline: every request the page makes goes to the static server (no CDN).
    const requests: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    await page.goto(base, { waitUntil: 'load' });
    await page.evaluate(() => (window as unknown as { cvaegan: { ready: Promise<void> } }).cvaegan.ready);
    assert.deepEqual(errors, []);
    assert.ok(requests.every((u) => u.startsWith(base)), `requests outside the site: ${requests.filter((u) => !u.startsWith(base))}`);
    assert.match(await page.locator('#status').innerText(), /cvaegan generator after 3 steps: 3 classes/);

    type Last = { z: number[]; c: number[]; n: number; rows: number; cols: number };
    /** Sets the page's state, then reads its inputs and its canvas (RGBA). */
    const look = async (changes: object) =>
      page.evaluate((ch) => {
        const w = window as unknown as { cvaegan: { set(c: object): void; last(): Last } };
        w.cvaegan.set(ch);
        const canvas = document.getElementById('grid') as HTMLCanvasElement;
        const px = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
        return { last: w.cvaegan.last(), pixels: Array.from(px), width: canvas.width };
      }, changes);
    /** G in Node on the page's z and c, laid out as the page's grid (RGB bytes per canvas pixel). */
    const node = (last: Last, c?: number[]) => {
      const x = tf.tidy(() => model.nets.G.predict([tf.tensor2d(last.z, [last.n, meta.zDim]), tf.tensor2d(c ?? last.c, [last.n, K])]) as tf.Tensor4D);
      const v = x.dataSync();
      x.dispose();
      const W = last.cols * R;
      const out = new Uint8Array(last.rows * R * W * 3);
      for (let i = 0; i < last.n; i++) {
        for (let y = 0; y < R; y++) for (let xx = 0; xx < R; xx++) for (let ch = 0; ch < 3; ch++) {
          const b = Math.min(255, Math.max(0, Math.round((v[((i * R + y) * R + xx) * 3 + ch] + 1) * 127.5)));
          out[((Math.floor(i / last.cols) * R + y) * W + (i % last.cols) * R + xx) * 3 + ch] = b;
        }
      }
      return out;
    };
    const compare = (pixels: number[], want: Uint8Array) => {
      let max = 0;
      let sum = 0;
      for (let p = 0; p < want.length / 3; p++) {
        assert.equal(pixels[p * 4 + 3], 255);
        for (let ch = 0; ch < 3; ch++) {
          const d = Math.abs(pixels[p * 4 + ch] - want[p * 3 + ch]);
          max = Math.max(max, d);
          sum += d;
        }
      }
      return { max, mean: sum / want.length };
    };

    // Class 2 picked, slider at 0: every tile is G(z_i, onehot(2)).
    const a = await look({ classA: 2, classB: 0, mode: 'class', t: 0, seed: 5 });
    assert.equal(a.width, a.last.cols * R);
    const oneHot = (k: number) => Array.from({ length: a.last.n * K }, (_, j) => (j % K === k ? 1 : 0));
    assert.deepEqual(a.last.c, oneHot(2));
    // The browser's backend (WebGL or cpu) rounds differently from ours: a byte off at most, rarely.
    const same = compare(a.pixels, node(a.last));
    assert.ok(same.max <= 2 && same.mean < 0.05, `class 2: max ${same.max}, mean ${same.mean}`);
    const other = compare(a.pixels, node(a.last, oneHot(1)));
    assert.ok(other.mean > 5 * Math.max(same.mean, 0.1) && other.max > 30, `class 1 should look different: max ${other.max}, mean ${other.mean} (same class: max ${same.max}, mean ${same.mean})`);

    // Half-way between classes 2 and 0 (same z), and half-way between two z (class 2).
    const h = await look({ t: 0.5 });
    assert.deepEqual(h.last.z, a.last.z, 'the class slider keeps z');
    assert.deepEqual(h.last.c, Array.from({ length: h.last.n * K }, (_, j) => (j % K === 2 || j % K === 0 ? 0.5 : 0)));
    const hc = compare(h.pixels, node(h.last));
    assert.ok(hc.max <= 2 && hc.mean < 0.05, `class slider: max ${hc.max}, mean ${hc.mean}`);
    const zz = await look({ mode: 'z', t: 0.5, seedB: 9 });
    assert.notDeepEqual(zz.last.z, a.last.z);
    assert.deepEqual(zz.last.c, oneHot(2));
    const zc = compare(zz.pixels, node(zz.last));
    assert.ok(zc.max <= 2 && zc.mean < 0.05, `z slider: max ${zc.max}, mean ${zc.mean}`);
    const backend = await page.evaluate(() => (window as unknown as { cvaegan: { backend(): string } }).cvaegan.backend());
    console.log(`page backend ${backend}; |canvas - G in Node| max/mean: class ${same.max}/${same.mean.toFixed(4)}, class slider ${hc.max}/${hc.mean.toFixed(4)}, z slider ${zc.max}/${zc.mean.toFixed(4)}; another class ${other.max}/${other.mean.toFixed(2)}`);
  } finally {
    await browser.close();
    model.dispose();
  }
});
