/** Image grids: sizes, and the right tile at the right place, read back pixel by pixel. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { loadImage, createCanvas } from 'canvas';
import { mkdtempSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { fitColumnLabels, imageGrid, interpolateLatents, interpolationGrid, realImageGrid, reconstructionGrid, sampleGrid, toImageBatch, type ImageBatch, type ImageGrid } from '../lib/viz/grid';

tf.setBackend('cpu');
tf.enableProdMode();

const H = 3;
const W = 4; // not square, so a transposed tile would show
/** Tile i: solid colour (40i, 255-40i, 100), with a black pixel at its top-left and a white one at its bottom-right. */
function tileColour(i: number): [number, number, number] {
  return [40 * i, 255 - 40 * i, 100];
}
function knownTiles(n: number): ImageBatch {
  const data = new Uint8Array(n * H * W * 3);
  for (let i = 0; i < n; i++) {
    for (let p = 0; p < H * W; p++) data.set(tileColour(i), (i * H * W + p) * 3);
    data.set([0, 0, 0], i * H * W * 3);
    data.set([255, 255, 255], (i * H * W + H * W - 1) * 3);
  }
  return { data, shape: [n, H, W, 3] };
}
function pixel(grid: ImageGrid, x: number, y: number): number[] {
  return [...grid.canvas.getContext('2d').getImageData(x, y, 1, 1).data.slice(0, 3)];
}
/** Checks tile `index` sits at (row, col): centre colour and both corner markers, scaled. */
function assertTileAt(grid: ImageGrid, row: number, col: number, index: number, expectedX: number, expectedY: number): void {
  const s = grid.geometry.scale;
  assert.deepEqual(grid.tileOrigin(row, col), { x: expectedX, y: expectedY });
  assert.deepEqual(pixel(grid, expectedX + s * 2, expectedY + s * 1), tileColour(index), `centre of tile ${index} at (${row}, ${col})`);
  assert.deepEqual(pixel(grid, expectedX, expectedY), [0, 0, 0], `top-left marker of tile ${index}`);
  assert.deepEqual(pixel(grid, expectedX + s - 1, expectedY + s - 1), [0, 0, 0], 'the marker is scaled to s×s');
  assert.deepEqual(pixel(grid, expectedX + W * s - 1, expectedY + H * s - 1), [255, 255, 255], `bottom-right marker of tile ${index}`);
}

test('a grid of known tiles has the expected size and every tile in its place', async () => {
  const scale = 2;
  const gap = 3;
  const grid = imageGrid(knownTiles(5), { columns: 3, scale, gap, background: '#808080' });
  assert.equal(grid.width, gap + 3 * (W * scale + gap));
  assert.equal(grid.height, gap + 2 * (H * scale + gap));
  for (let i = 0; i < 5; i++) {
    const row = Math.floor(i / 3);
    const col = i % 3;
    assertTileAt(grid, row, col, i, gap + col * (W * scale + gap), gap + row * (H * scale + gap));
  }
  assert.deepEqual(pixel(grid, gap + 2 * (W * scale + gap) + 2, gap + (H * scale + gap) + 2), [128, 128, 128], 'the missing sixth tile is background');
  assert.deepEqual(pixel(grid, gap + W * scale + 1, gap + 1), [128, 128, 128], 'gaps are background');

  const decoded = await loadImage(grid.png());
  assert.deepEqual([decoded.width, decoded.height], [grid.width, grid.height]);
  const c = createCanvas(decoded.width, decoded.height);
  c.getContext('2d').drawImage(decoded, 0, 0);
  const p = grid.tileOrigin(1, 1);
  assert.deepEqual([...c.getContext('2d').getImageData(p.x + 4, p.y + 2, 1, 1).data.slice(0, 3)], tileColour(4), 'the PNG holds the same pixels');
});

test('labels and a title move the tiles but leave them intact; save() writes the PNG', () => {
  const plain = imageGrid(knownTiles(4), { columns: 2, scale: 3 });
  const labelled = imageGrid(knownTiles(4), { columns: 2, scale: 3, rowLabels: ['first class', 'second'], columnLabels: ['a', 'b'], title: 'title' });
  const o = labelled.tileOrigin(0, 0);
  assert.ok(o.x > plain.tileOrigin(0, 0).x + 30 && o.y > plain.tileOrigin(0, 0).y + 20, `origin ${JSON.stringify(o)}`);
  assert.equal(labelled.width - o.x, plain.width - plain.tileOrigin(0, 0).x);
  const step = 4 * 3 + 2;
  for (let i = 0; i < 4; i++) assertTileAt(labelled, Math.floor(i / 2), i % 2, i, o.x + (i % 2) * step, o.y + Math.floor(i / 2) * (3 * 3 + 2));
  // Label ink: some non-white pixel left of each row.
  const ctx = labelled.canvas.getContext('2d');
  for (let r = 0; r < 2; r++) {
    const y = labelled.tileOrigin(r, 0).y;
    const strip = ctx.getImageData(0, y, o.x - 2, 3 * 3).data;
    assert.ok(strip.some((v, k) => k % 4 !== 3 && v < 128), `row ${r} has a label`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'grid-'));
  try {
    const file = labelled.save(join(dir, 'nested', 'grid.png'));
    assert.deepEqual(readFileSync(file), labelled.png());
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('tensors in [-1, 1] or [0, 1] map to bytes; grey images become grey RGB', () => {
  const tanh = tf.tensor4d([-1, 0, 1, 0.5], [1, 2, 2, 1]);
  assert.deepEqual([...toImageBatch(tanh).data], [0, 128, 255, 191]);
  const unit = tf.tensor4d([0, 0.5, 1, 2], [1, 2, 2, 1]);
  assert.deepEqual([...toImageBatch(unit, 'unit').data], [0, 128, 255, 255]);
  const grid = imageGrid(tanh, { columns: 1, scale: 1, gap: 0 });
  assert.deepEqual(pixel(grid, 1, 0), [128, 128, 128]);
  assert.deepEqual(pixel(grid, 0, 1), [255, 255, 255]);
  tf.dispose([tanh, unit]);
});

test('sampleGrid: one z shared by every row, one row per class, nothing leaked', () => {
  const seenZ: number[][][] = [];
  const seenLabels: number[][] = [];
  // Red encodes the class, green the first z coordinate: a column must keep its green.
  const sampleFn = (labels: number[], z: tf.Tensor2D) => {
    seenLabels.push(labels);
    seenZ.push(z.arraySync());
    return tf.tidy(() => {
      const n = labels.length;
      const red = tf.tensor1d(labels).mul(0.25).sub(1).reshape([n, 1, 1, 1]);
      const green = z.slice([0, 0], [n, 1]).tanh().reshape([n, 1, 1, 1]);
      const blue = tf.zeros([n, 1, 1, 1]).sub(1);
      return tf.concat([red, green, blue], 3).tile([1, 6, 6, 1]) as tf.Tensor4D;
    });
  };
  const before = tf.memory().numTensors;
  const grid = sampleGrid(sampleFn, { classIds: [2, 0, 5], classNames: ['c0', 'c1', 'c2', 'c3', 'c4', 'c5'], samplesPerClass: 4, zDim: 3, seed: 7, scale: 2 });
  assert.equal(tf.memory().numTensors, before);
  assert.deepEqual(seenLabels, [[2, 2, 2, 2], [0, 0, 0, 0], [5, 5, 5, 5]]);
  assert.deepEqual(seenZ[1], seenZ[0]);
  assert.deepEqual(seenZ[2], seenZ[0]);
  assert.deepEqual([grid.geometry.rows, grid.geometry.columns], [3, 4]);
  [2, 0, 5].forEach((label, r) => {
    for (let c = 0; c < 4; c++) {
      const { x, y } = grid.tileOrigin(r, c);
      const [red, green, blue] = pixel(grid, x + 5, y + 5);
      assert.equal(red, Math.round((label * 0.25 - 1 + 1) * 127.5), `row ${r} is class ${label}`);
      assert.equal(green, Math.round((Math.tanh(seenZ[0][c][0]) + 1) * 127.5), `column ${c} keeps its z`);
      assert.equal(blue, 0);
    }
  });
  const again = sampleGrid(sampleFn, { classIds: [1], samplesPerClass: 4, zDim: 3, seed: 7 });
  assert.deepEqual(seenZ[3], seenZ[0], 'the same seed gives the same z on a later call');
  assert.equal(again.geometry.rows, 1);
});

test('realImageGrid groups by class and leaves blanks; reconstructionGrid pairs input with reconstruction', () => {
  const tiles = knownTiles(6);
  const labels = [1, 0, 1, 2, 1, 0];
  const real = realImageGrid(tiles, labels, { perClass: 3, scale: 2, classNames: ['zero', 'one', 'two'] });
  const o = real.tileOrigin(0, 0);
  const step = { x: W * 2 + 2, y: H * 2 + 2 };
  // class 0: images 1, 5; class 1: images 0, 2, 4; class 2: image 3
  [[1, 5, null], [0, 2, 4], [3, null, null]].forEach((row, r) =>
    row.forEach((index, c) => {
      if (index === null) assert.deepEqual(pixel(real, o.x + c * step.x + 3, o.y + r * step.y + 2), [255, 255, 255], `blank at (${r}, ${c})`);
      else assertTileAt(real, r, c, index, o.x + c * step.x, o.y + r * step.y);
    }),
  );

  const recon = reconstructionGrid(knownTiles(3), { data: knownTiles(6).data.slice(3 * H * W * 3), shape: [3, H, W, 3] }, { pairsPerRow: 2, scale: 2 });
  assert.deepEqual([recon.geometry.rows, recon.geometry.columns], [2, 4]);
  const g = recon.geometry;
  const r0 = recon.tileOrigin(0, 0);
  assertTileAt(recon, 0, 0, 0, r0.x, r0.y);
  assertTileAt(recon, 0, 1, 3, r0.x + step.x, r0.y);
  assertTileAt(recon, 0, 2, 1, r0.x + 2 * step.x + g.groupGap, r0.y);
  assertTileAt(recon, 0, 3, 4, r0.x + 3 * step.x + g.groupGap, r0.y);
  assertTileAt(recon, 1, 0, 2, r0.x, r0.y + step.y);
  assertTileAt(recon, 1, 1, 5, r0.x + step.x, r0.y + step.y);
  assert.ok(g.groupGap > 0);
});

test('interpolation: endpoints are exact, slerp keeps the norm, strips are rows of `steps`', () => {
  const a = [3, 0, 0, 0];
  const b = [0, 3, 0, 0];
  const lin = interpolateLatents(a, b, 5).arraySync();
  assert.deepEqual(lin[0], a);
  assert.deepEqual(lin[4], b);
  assert.deepEqual(lin[2], [1.5, 1.5, 0, 0]);
  const slerp = interpolateLatents(a, b, 5, 'slerp').arraySync();
  for (const z of slerp) assert.ok(Math.abs(Math.hypot(...z) - 3) < 1e-4, `norm ${Math.hypot(...z)}`);
  assert.ok(Math.abs(slerp[4][1] - 3) < 1e-5);
  const strip = interpolationGrid(knownTiles(6), { steps: 3, rowLabels: ['x', 'y'], scale: 2 });
  assert.deepEqual([strip.geometry.rows, strip.geometry.columns], [2, 3]);
  const o = strip.tileOrigin(1, 2);
  assertTileAt(strip, 1, 2, 5, o.x, o.y);
});

test('column labels never overlap: one smaller font first, then an ellipsis', () => {
  const ctx = createCanvas(1, 1).getContext('2d');
  const short = fitColumnLabels(ctx, ['A', '0.5', 'B'], 64, 12);
  assert.deepEqual(short, { fontSize: 12, labels: ['A', '0.5', 'B'] });
  const names = ['input', 'Rhododendron', 'Purple Coneflower'];
  const shrunk = fitColumnLabels(ctx, names, 70, 12);
  assert.ok(shrunk.fontSize < 12 && shrunk.fontSize >= 8, `font ${shrunk.fontSize}`);
  ctx.font = `${shrunk.fontSize}px sans-serif`;
  for (const label of shrunk.labels) assert.ok(ctx.measureText(label).width <= 70, `${label} wider than 70 px`);
  const cut = fitColumnLabels(ctx, ['Bishop of Llandaff dahlia'], 30, 12);
  assert.equal(cut.fontSize, 8);
  assert.ok(cut.labels[0].endsWith('…') && cut.labels[0].length < 'Bishop of Llandaff dahlia'.length);
  ctx.font = '8px sans-serif';
  assert.ok(ctx.measureText(cut.labels[0]).width <= 30);
});
