/**
 * From compact uint8 images to float tensors in [-1, 1], and seeded, resumable minibatches.
 *
 * Batcher: every epoch is a fresh permutation derived only from (seed, epoch), so a run restored
 * from `state()` continues with exactly the batches it would have seen. Batches are always full:
 * the last `N mod batchSize` images of each shuffled epoch are dropped (like drop_last), because the
 * models' batch-statistics and per-class mean features assume a fixed batch size; the dropped
 * images differ from epoch to epoch.
 */
import * as tf from '@tensorflow/tfjs';
import type { ImageDataset } from './types';

/** Images `indices` (default all) as a float32 [k, H, W, 3] tensor with values in [-1, 1]. */
export function toTensor(ds: ImageDataset, indices?: ArrayLike<number>): tf.Tensor4D {
  const r = ds.resolution;
  const per = r * r * 3;
  const count = ds.labels.length;
  const idx = indices ?? { length: count };
  const out = new Float32Array(idx.length * per);
  for (let k = 0; k < idx.length; k++) {
    const i = indices ? indices[k] : k;
    if (!Number.isInteger(i) || i < 0 || i >= count) throw new Error(`toTensor: index ${i} is outside 0..${count - 1}`);
    const src = ds.images.subarray(i * per, (i + 1) * per);
    const base = k * per;
    for (let j = 0; j < per; j++) out[base + j] = src[j] / 127.5 - 1;
  }
  return tf.tensor4d(out, [idx.length, r, r, 3], 'float32');
}

/** 32-bit mix (splitmix32 finaliser): decorrelates nearby seeds and epochs. */
function mix32(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x21f0aaad);
  x = Math.imul(x ^ (x >>> 15), 0x735a2d97);
  return (x ^ (x >>> 15)) >>> 0;
}

/** mulberry32: a small, fast PRNG with a 32-bit state; plenty for shuffling. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The permutation of 0..n-1 for one epoch of one seed. */
export function epochPermutation(n: number, seed: number, epoch: number): Int32Array {
  const rand = seededRandom(mix32(mix32(seed >>> 0) ^ Math.imul(epoch + 1, 0x9e3779b9)));
  const p = new Int32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
  return p;
}

export interface BatcherState {
  seed: number;
  batchSize: number;
  size: number;
  epoch: number;
  /** Batches already taken from this epoch. */
  batch: number;
}

export interface Batch {
  x: tf.Tensor4D;
  labels: tf.Tensor1D;
  indices: Int32Array;
  epoch: number;
}

export class Batcher {
  private epoch = 0;
  private batch = 0;
  private order: Int32Array;
  readonly batchesPerEpoch: number;

  constructor(private readonly ds: ImageDataset, readonly batchSize: number, readonly seed: number) {
    const n = ds.labels.length;
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`Batcher: batchSize must be a positive integer, got ${batchSize}`);
    if (batchSize > n) throw new Error(`Batcher: batchSize ${batchSize} is larger than the dataset (${n} images); use a smaller batch or more images`);
    if (!Number.isInteger(seed)) throw new Error(`Batcher: seed must be an integer, got ${seed}`);
    this.batchesPerEpoch = Math.floor(n / batchSize);
    this.order = epochPermutation(n, seed, 0);
  }

  /** The next batch; the caller disposes `x` and `labels`. */
  next(): Batch {
    if (this.batch >= this.batchesPerEpoch) {
      this.epoch++;
      this.batch = 0;
      this.order = epochPermutation(this.ds.labels.length, this.seed, this.epoch);
    }
    const start = this.batch * this.batchSize;
    const indices = this.order.slice(start, start + this.batchSize);
    const epoch = this.epoch;
    this.batch++;
    const labels = new Int32Array(indices.length);
    for (let k = 0; k < indices.length; k++) labels[k] = this.ds.labels[indices[k]];
    return { x: toTensor(this.ds, indices), labels: tf.tensor1d(labels, 'int32'), indices, epoch };
  }

  state(): BatcherState {
    return { seed: this.seed, batchSize: this.batchSize, size: this.ds.labels.length, epoch: this.epoch, batch: this.batch };
  }

  /** Continues from a saved state; the dataset, batch size and seed must be the ones it was saved with. */
  restore(state: object): void {
    const s = state as Partial<BatcherState>;
    const mine = this.state();
    for (const k of ['seed', 'batchSize', 'size'] as const) {
      if (s[k] !== mine[k]) throw new Error(`Batcher.restore: saved ${k} ${s[k]} differs from this batcher's ${mine[k]}; restore into a Batcher built with the same dataset, batch size and seed`);
    }
    if (!Number.isInteger(s.epoch) || !Number.isInteger(s.batch) || s.epoch! < 0 || s.batch! < 0 || s.batch! > this.batchesPerEpoch) {
      throw new Error(`Batcher.restore: invalid position epoch=${s.epoch} batch=${s.batch}`);
    }
    this.epoch = s.epoch!;
    this.batch = s.batch!;
    this.order = epochPermutation(this.ds.labels.length, this.seed, this.epoch);
  }
}
