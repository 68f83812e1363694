/**
 * A small labelled image folder in the identity-per-folder layout (datasets/faces.ts), so that the
 * evaluator and the reproduction runner can be tested without the staged datasets. Class k is a
 * noisy picture dominated by one colour with a class-specific stripe, so a classifier can learn it.
 */
import { mkdirSync, writeFileSync } from 'fs';
import { join } from 'path';
import { createCanvas } from 'canvas';
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../../lib/model/rng';

const COLOURS = [[220, 40, 40], [40, 200, 60], [50, 70, 230], [230, 210, 40], [200, 60, 200]];

/** RGBA pixels of image `i` of class `k`, `size` px. */
function pixels(k: number, i: number, size: number): Uint8ClampedArray {
  const rng = new Rng(1000 * k + i, 9);
  const [r, g, b] = COLOURS[k % COLOURS.length];
  const out = new Uint8ClampedArray(size * size * 4);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const stripe = Math.floor((y * (k + 2)) / size) % 2 === 0 ? 1 : 0.55;
      const p = (y * size + x) * 4;
      const noise = () => (rng.next() - 0.5) * 90;
      out[p] = r * stripe + noise();
      out[p + 1] = g * stripe + noise();
      out[p + 2] = b * stripe + noise();
      out[p + 3] = 255;
    }
  }
  return out;
}

/** Writes `classes` identity folders of `perClass` PNGs (40 px, centre-cropped to 32 on load); returns the root. */
export function writeSyntheticFaces(root: string, classes = 3, perClass = 15): string {
  for (let k = 0; k < classes; k++) {
    const dir = join(root, `id${String(k).padStart(2, '0')}`);
    mkdirSync(dir, { recursive: true });
    for (let i = 0; i < perClass; i++) {
      const c = createCanvas(40, 40);
      const ctx = c.getContext('2d');
      const img = ctx.createImageData(40, 40);
      img.data.set(pixels(k, i, 40));
      ctx.putImageData(img, 0, 0);
      writeFileSync(join(dir, `img${String(i).padStart(3, '0')}.png`), c.toBuffer('image/png'));
    }
  }
  return root;
}

/** The same kind of images as a tensor [classes * perClass, size, size, 3] in [-1, 1], with labels. */
export function syntheticTensor(classes: number, perClass: number, size = 32, offset = 0): { x: tf.Tensor4D; labels: number[] } {
  const n = classes * perClass;
  const data = new Float32Array(n * size * size * 3);
  const labels: number[] = [];
  for (let k = 0; k < classes; k++) {
    for (let i = 0; i < perClass; i++) {
      const j = k * perClass + i;
      const px = pixels(k, i + offset, size);
      for (let p = 0; p < size * size; p++) for (let c = 0; c < 3; c++) data[(j * size * size + p) * 3 + c] = px[p * 4 + c] / 127.5 - 1;
      labels.push(k);
    }
  }
  return { x: tf.tensor4d(data, [n, size, size, 3]), labels };
}
