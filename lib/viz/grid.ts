/**
 * Image grids drawn with node-canvas: generated samples (rows = classes, columns = one shared z
 * each), real images by class, input | reconstruction pairs, interpolation strips.
 *
 * Inputs are plain: a tf.Tensor4D in NHWC (values in [-1, 1] by default, or [0, 1]) or bytes
 * (`{ data: Uint8Array, shape: [n, h, w, c] }`, 0..255), with 1 (grey), 3 (RGB) or 4 (RGBA)
 * channels. Every function returns an `ImageGrid`: show it inline, save it as PNG, or read pixels.
 */
import * as tf from '@tensorflow/tfjs';
import { createCanvas, type Canvas, type CanvasRenderingContext2D } from 'canvas';
import { mkdirSync, writeFileSync } from 'fs';
import { dirname, resolve } from 'path';
import { display, pngBundle, type MimeBundle } from './display';

/** Bytes in NHWC order, 0..255. */
export interface ImageBatch {
  data: Uint8Array | Uint8ClampedArray;
  shape: [number, number, number, number];
}
export type Images = tf.Tensor4D | ImageBatch;
/** How tensor values map to pixels: 'tanh' = [-1, 1] (generator output), 'unit' = [0, 1]. */
export type PixelRange = 'tanh' | 'unit';

export interface GridStyle {
  /** Value range of tensor inputs (default 'tanh'); byte inputs are always 0..255. */
  range?: PixelRange;
  /** Integer upscaling per tile, nearest neighbour (default: smallest that makes tiles >= 64 px). */
  scale?: number;
  /** Pixels between tiles and around the grid (default 2). */
  gap?: number;
  /** Background and gap colour (default white). */
  background?: string;
  title?: string;
  /** Label font size in px (default 12). */
  fontSize?: number;
}

export interface GridOptions extends GridStyle {
  /** Tiles per row; rows = ceil(n / columns). */
  columns: number;
  rowLabels?: string[];
  columnLabels?: string[];
  /** Set columns apart in groups of this many (e.g. 2 for input | reconstruction pairs). */
  columnGroup?: number;
}

/** Converts a tensor or a byte batch to bytes (the tensor is not disposed). */
export function toImageBatch(images: Images, range: PixelRange = 'tanh'): ImageBatch {
  if (!(images instanceof tf.Tensor)) return images;
  const [n, h, w, c] = images.shape;
  const bytes = tf.tidy(() => {
    const x = tf.cast(images, 'float32');
    const scaled = range === 'tanh' ? x.add(1).mul(127.5) : x.mul(255);
    return scaled.clipByValue(0, 255).round().toInt();
  });
  const data = Uint8Array.from(bytes.dataSync());
  bytes.dispose();
  return { data, shape: [n, h, w, c] };
}

/** One tile's bytes as RGBA (alpha 255 unless the input has its own). */
function tileRgba(batch: ImageBatch, index: number): Uint8ClampedArray {
  const [, h, w, c] = batch.shape;
  if (c !== 1 && c !== 3 && c !== 4) throw new Error(`images need 1, 3 or 4 channels, got ${c}`);
  const out = new Uint8ClampedArray(h * w * 4);
  const base = index * h * w * c;
  for (let p = 0; p < h * w; p++) {
    const src = base + p * c;
    out[p * 4] = batch.data[src];
    out[p * 4 + 1] = batch.data[c === 1 ? src : src + 1];
    out[p * 4 + 2] = batch.data[c === 1 ? src : src + 2];
    out[p * 4 + 3] = c === 4 ? batch.data[src + 3] : 255;
  }
  return out;
}

/** Where things are in a grid, in canvas pixels. */
export interface GridGeometry {
  rows: number;
  columns: number;
  /** Size of one drawn tile (source size × scale). */
  tileWidth: number;
  tileHeight: number;
  scale: number;
  gap: number;
  /** Top-left of tile (0, 0); labels and the title live left of and above it. */
  originX: number;
  originY: number;
  /** Columns come in groups of this many, with `groupGap` extra pixels between groups (0: none). */
  columnGroup: number;
  groupGap: number;
}

export class ImageGrid {
  constructor(
    readonly canvas: Canvas,
    readonly geometry: GridGeometry,
  ) {}

  get width(): number {
    return this.canvas.width;
  }

  get height(): number {
    return this.canvas.height;
  }

  /** Top-left pixel of the tile in `row`, `column`. */
  tileOrigin(row: number, column: number): { x: number; y: number } {
    const g = this.geometry;
    const groupOffset = g.columnGroup > 0 ? Math.floor(column / g.columnGroup) * g.groupGap : 0;
    return { x: g.originX + column * (g.tileWidth + g.gap) + groupOffset, y: g.originY + row * (g.tileHeight + g.gap) };
  }

  png(): Buffer {
    return this.canvas.toBuffer('image/png');
  }

  bundle(alt = 'image grid'): MimeBundle {
    const g = this.geometry;
    return pngBundle(this.png(), `${alt}, ${g.rows}×${g.columns} tiles`);
  }

  /** Shows the grid inline (outside a notebook: prints a one-line description). */
  show(alt?: string): Promise<void> {
    return display(this.bundle(alt));
  }

  /** Writes the PNG (creating folders); returns the absolute path. */
  save(path: string): string {
    const file = resolve(path);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, this.png());
    return file;
  }
}

const LABEL_PAD = 6;

function measure(ctx: CanvasRenderingContext2D, labels: readonly string[] | undefined): number {
  return labels && labels.length ? Math.ceil(Math.max(...labels.map((l) => ctx.measureText(l).width))) : 0;
}

/**
 * Draws a grid: `batches[row][column]` is a one-image batch (the first image is drawn), or `null`
 * for a blank tile (e.g. a class with fewer images). All tiles must share one size.
 */
export function drawGrid(batches: (ImageBatch | null)[][], opts: Omit<GridOptions, 'columns'>): ImageGrid {
  const rows = batches.length;
  const columns = Math.max(0, ...batches.map((r) => r.length));
  const first = batches.flat().find((b): b is ImageBatch => b !== null);
  if (!first || rows === 0 || columns === 0) throw new Error('drawGrid: no images');
  const [, h, w] = first.shape;
  for (const b of batches.flat()) {
    if (b && (b.shape[1] !== h || b.shape[2] !== w)) throw new Error(`drawGrid: tiles must all be ${h}×${w}, got ${b.shape[1]}×${b.shape[2]}`);
  }
  const scale = Math.max(1, Math.round(opts.scale ?? Math.ceil(64 / Math.max(h, w))));
  const gap = opts.gap ?? 2;
  const fontSize = opts.fontSize ?? 12;
  const font = `${fontSize}px sans-serif`;
  const probe = createCanvas(1, 1).getContext('2d');
  probe.font = font;
  const labelWidth = measure(probe, opts.rowLabels);
  const rowLabelSpace = labelWidth ? labelWidth + 2 * LABEL_PAD : 0;
  const titleSpace = opts.title ? Math.ceil(fontSize * 1.3) + LABEL_PAD : 0;
  const columnLabelSpace = opts.columnLabels?.length ? Math.ceil(fontSize * 1.2) + LABEL_PAD / 2 : 0;
  const tileWidth = w * scale;
  const tileHeight = h * scale;
  const geometry: GridGeometry = {
    rows,
    columns,
    tileWidth,
    tileHeight,
    scale,
    gap,
    originX: rowLabelSpace + gap,
    originY: titleSpace + columnLabelSpace + gap,
    columnGroup: opts.columnGroup ?? 0,
    groupGap: opts.columnGroup ? Math.max(4, 3 * gap) : 0,
  };
  const groups = geometry.columnGroup > 0 ? Math.ceil(columns / geometry.columnGroup) - 1 : 0;
  const width = Math.max(geometry.originX + columns * (tileWidth + gap) + groups * geometry.groupGap, opts.title ? Math.ceil(probe.measureText(opts.title).width) + 2 * LABEL_PAD : 0);
  const height = geometry.originY + rows * (tileHeight + gap);
  const canvas = createCanvas(width, height);
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = opts.background ?? '#ffffff';
  ctx.fillRect(0, 0, width, height);
  ctx.imageSmoothingEnabled = false; // tiny images scale up as crisp pixels, not blur
  const grid = new ImageGrid(canvas, geometry);
  const scratch = createCanvas(w, h);
  const scratchCtx = scratch.getContext('2d');
  batches.forEach((row, r) =>
    row.forEach((batch, c) => {
      if (!batch) return;
      const image = scratchCtx.createImageData(w, h);
      image.data.set(tileRgba(batch, 0));
      scratchCtx.putImageData(image, 0, 0);
      const { x, y } = grid.tileOrigin(r, c);
      ctx.drawImage(scratch, x, y, tileWidth, tileHeight);
    }),
  );
  ctx.font = font;
  ctx.fillStyle = '#222222';
  if (opts.title) {
    ctx.textAlign = 'left';
    ctx.textBaseline = 'top';
    ctx.font = `bold ${font}`;
    ctx.fillText(opts.title, LABEL_PAD, LABEL_PAD / 2);
    ctx.font = font;
  }
  ctx.textBaseline = 'middle';
  ctx.textAlign = 'right';
  opts.rowLabels?.slice(0, rows).forEach((label, r) => {
    ctx.fillText(label, geometry.originX - gap - LABEL_PAD, grid.tileOrigin(r, 0).y + tileHeight / 2);
  });
  ctx.textAlign = 'center';
  ctx.textBaseline = 'bottom';
  const columnLabels = fitColumnLabels(ctx, opts.columnLabels?.slice(0, columns) ?? [], tileWidth + gap - 2, fontSize);
  ctx.font = `${columnLabels.fontSize}px sans-serif`;
  columnLabels.labels.forEach((label, c) => {
    ctx.fillText(label, grid.tileOrigin(0, c).x + tileWidth / 2, geometry.originY - gap - 1);
  });
  return grid;
}

/** Smallest font size column labels shrink to before they are cut short with an ellipsis. */
const MIN_COLUMN_LABEL_FONT = 8;

/**
 * Column labels that each fit in `maxWidth` px, so that neighbours never overlap: one smaller font
 * for all of them when the widest does not fit (down to 8 px), then an ellipsis on any still too wide.
 */
export function fitColumnLabels(ctx: CanvasRenderingContext2D, labels: readonly string[], maxWidth: number, fontSize: number): { fontSize: number; labels: string[] } {
  ctx.font = `${fontSize}px sans-serif`;
  const widest = measure(ctx, labels);
  let size = fontSize;
  if (widest > maxWidth) size = Math.max(MIN_COLUMN_LABEL_FONT, Math.floor((fontSize * maxWidth) / widest));
  ctx.font = `${size}px sans-serif`;
  const fitted = labels.map((label) => {
    if (ctx.measureText(label).width <= maxWidth) return label;
    let cut = label;
    while (cut.length > 0 && ctx.measureText(`${cut}…`).width > maxWidth) cut = cut.slice(0, -1);
    return `${cut}…`;
  });
  return { fontSize: size, labels: fitted };
}

/** Splits a batch into one single-image batch per image (views, no copies). */
function splitBatch(batch: ImageBatch): ImageBatch[] {
  const [n, h, w, c] = batch.shape;
  const size = h * w * c;
  return Array.from({ length: n }, (_, i) => ({ data: batch.data.subarray(i * size, (i + 1) * size), shape: [1, h, w, c] }));
}

/** A plain grid: images row-major, `columns` per row. */
export function imageGrid(images: Images, opts: GridOptions): ImageGrid {
  const tiles = splitBatch(toImageBatch(images, opts.range));
  const rows: ImageBatch[][] = [];
  for (let i = 0; i < tiles.length; i += opts.columns) rows.push(tiles.slice(i, i + opts.columns));
  return drawGrid(rows, opts);
}

/** A model's sampler: images for `labels[i]` from latent row `z[i]`, values in `range`. */
export type SampleFn = (labels: number[], z: tf.Tensor2D) => tf.Tensor4D;

export interface SampleGridOptions extends GridStyle {
  /** Classes, one per row, top to bottom. */
  classIds: number[];
  /** Names indexed by class id (the dataset's list); rows are labelled `#id` without it. */
  classNames?: readonly string[];
  samplesPerClass: number;
  zDim: number;
  /** Seed of the shared z (default 1234): the same seed gives the same z at every call. */
  seed?: number;
  /** Column labels (default none). */
  columnLabels?: string[];
}

/** Draws the z shared by every row of a sample grid: [samplesPerClass, zDim], N(0, 1). */
export function gridLatents(samplesPerClass: number, zDim: number, seed = 1234): tf.Tensor2D {
  return tf.randomNormal([samplesPerClass, zDim], 0, 1, 'float32', seed) as tf.Tensor2D;
}

/**
 * Rows = classes, columns = samples. One set of z is drawn and reused for every row, so moving
 * down a column changes only the class (identity, species) and moving along a row only z
 * (pose, background, attributes). Calls `sampleFn` once per row.
 */
export function sampleGrid(sampleFn: SampleFn, opts: SampleGridOptions): ImageGrid {
  const z = gridLatents(opts.samplesPerClass, opts.zDim, opts.seed);
  try {
    const rows = opts.classIds.map((id) => {
      const images = sampleFn(new Array<number>(opts.samplesPerClass).fill(id), z);
      try {
        return splitBatch(toImageBatch(images, opts.range));
      } finally {
        images.dispose();
      }
    });
    return drawGrid(rows, { ...opts, rowLabels: opts.classIds.map((id) => className(opts.classNames, id)) });
  } finally {
    z.dispose();
  }
}

function className(names: readonly string[] | undefined, id: number): string {
  return names?.[id] ?? `#${id}`;
}

export interface RealGridOptions extends GridStyle {
  /** Rows, top to bottom (default: every label present, ascending). */
  classIds?: number[];
  classNames?: readonly string[];
  /** Images per row (default 8); a class with fewer leaves blanks. */
  perClass?: number;
}

/** Real images grouped by class: row = class, the first `perClass` images of that class. */
export function realImageGrid(images: Images, labels: ArrayLike<number>, opts: RealGridOptions = {}): ImageGrid {
  const tiles = splitBatch(toImageBatch(images, opts.range));
  if (tiles.length !== labels.length) throw new Error(`realImageGrid: ${tiles.length} images but ${labels.length} labels`);
  const perClass = opts.perClass ?? 8;
  const classIds = opts.classIds ?? [...new Set(Array.from(labels))].sort((a, b) => a - b);
  const rows = classIds.map((id) => {
    const row: (ImageBatch | null)[] = [];
    for (let i = 0; i < tiles.length && row.length < perClass; i++) if (labels[i] === id) row.push(tiles[i]);
    while (row.length < perClass) row.push(null);
    return row;
  });
  return drawGrid(rows, { ...opts, rowLabels: classIds.map((id) => className(opts.classNames, id)) });
}

/** Input | reconstruction side by side, `pairsPerRow` pairs per row (default 4). */
export function reconstructionGrid(inputs: Images, reconstructions: Images, opts: GridStyle & { pairsPerRow?: number; rowLabels?: string[] } = {}): ImageGrid {
  const a = splitBatch(toImageBatch(inputs, opts.range));
  const b = splitBatch(toImageBatch(reconstructions, opts.range));
  if (a.length !== b.length) throw new Error(`reconstructionGrid: ${a.length} inputs but ${b.length} reconstructions`);
  const pairs = opts.pairsPerRow ?? 4;
  const rows: ImageBatch[][] = [];
  for (let i = 0; i < a.length; i += pairs) {
    rows.push(a.slice(i, i + pairs).flatMap((tile, k) => [tile, b[i + k]]));
  }
  const columnLabels = Array.from({ length: 2 * Math.min(pairs, a.length) }, (_, k) => (k % 2 === 0 ? 'input' : 'recon.'));
  return drawGrid(rows, { ...opts, columnLabels, columnGroup: 2 });
}

/**
 * Rows of `steps` images each, left to right along a path (e.g. between two z, or two classes).
 * Columns are labelled with the path position 0 … 1.
 */
export function interpolationGrid(images: Images, opts: GridStyle & { steps: number; rowLabels?: string[] }): ImageGrid {
  const columnLabels = Array.from({ length: opts.steps }, (_, k) => String(Number((k / Math.max(1, opts.steps - 1)).toFixed(2))));
  return imageGrid(images, { ...opts, columns: opts.steps, columnLabels });
}

/**
 * `steps` points from `from` to `to` (both [zDim]), as a [steps, zDim] tensor. 'slerp' follows the
 * great circle, which keeps the norm typical of a Gaussian sample; 'linear' cuts through the middle.
 */
export function interpolateLatents(from: tf.Tensor1D | number[], to: tf.Tensor1D | number[], steps: number, method: 'linear' | 'slerp' = 'linear'): tf.Tensor2D {
  return tf.tidy(() => {
    const a = from instanceof tf.Tensor ? from : tf.tensor1d(from);
    const b = to instanceof tf.Tensor ? to : tf.tensor1d(to);
    const t = tf.linspace(0, 1, steps).reshape([steps, 1]);
    if (method === 'linear') return a.reshape([1, -1]).mul(tf.sub(1, t)).add(b.reshape([1, -1]).mul(t)) as tf.Tensor2D;
    const cos = tf.sum(a.mul(b)).div(tf.norm(a).mul(tf.norm(b))).clipByValue(-1, 1);
    const omega = tf.acos(cos);
    const sinOmega = tf.sin(omega);
    if (sinOmega.dataSync()[0] < 1e-6) return a.reshape([1, -1]).mul(tf.sub(1, t)).add(b.reshape([1, -1]).mul(t)) as tf.Tensor2D;
    const wa = tf.sin(tf.sub(1, t).mul(omega)).div(sinOmega);
    const wb = tf.sin(t.mul(omega)).div(sinOmega);
    return a.reshape([1, -1]).mul(wa).add(b.reshape([1, -1]).mul(wb)) as tf.Tensor2D;
  });
}
