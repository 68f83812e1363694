/**
 * Small archives in the official layouts, built here with no staged data, for the downloader tests
 * and the newcomer test's local mirror:
 * - Oxford flowers: 102flowers.tgz (jpg/image_NNNNN.jpg) + imagelabels.mat + setid.mat, the .mat
 *   files written as MATLAB 5 MAT-files with zlib-compressed variables, as the official ones are;
 * - LFW: lfw.tgz (lfw/<Person_Name>/<Person_Name>_NNNN.jpg, 250x250 JPEGs, the face in the middle).
 * Each class is drawn in its own colours, so a model can tell the classes apart.
 */
import { createHash } from 'crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'fs';
import { join } from 'path';
import { deflateSync } from 'zlib';
import { createCanvas } from 'canvas';
import * as tar from 'tar';

const HUES = [0, 120, 230, 50, 290, 170, 20, 330];

export const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');
export const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** A MATLAB 5 MAT-file holding 1 x n double row vectors, each in a miCOMPRESSED element. */
export function matFile(vars: Record<string, number[]>): Buffer {
  const header = Buffer.alloc(128, ' ');
  header.write('MATLAB 5.0 MAT-file, Platform: GLNX86, Created by: cvaegan-ts tests', 0, 'latin1');
  header.writeUInt32LE(0, 116);
  header.writeUInt32LE(0, 120);
  header.writeUInt16LE(0x0100, 124);
  header.write('IM', 126, 'latin1');
  const element = (type: number, data: Buffer) => {
    const tag = Buffer.alloc(8);
    tag.writeUInt32LE(type, 0);
    tag.writeUInt32LE(data.length, 4);
    const pad = Buffer.alloc((8 - (data.length % 8)) % 8);
    return Buffer.concat([tag, data, pad]);
  };
  const parts: Buffer[] = [header];
  for (const [name, values] of Object.entries(vars)) {
    const flags = Buffer.alloc(8);
    flags.writeUInt32LE(6, 0); // mxDOUBLE_CLASS
    const dims = Buffer.alloc(8);
    dims.writeInt32LE(1, 0);
    dims.writeInt32LE(values.length, 4);
    const real = Buffer.alloc(8 * values.length);
    values.forEach((v, i) => real.writeDoubleLE(v, 8 * i));
    const matrix = element(14, Buffer.concat([element(6, flags), element(5, dims), element(1, Buffer.from(name, 'latin1')), element(9, real)]));
    const z = deflateSync(matrix);
    const tag = Buffer.alloc(8);
    tag.writeUInt32LE(15, 0);
    tag.writeUInt32LE(z.length, 4);
    parts.push(tag, z);
  }
  return Buffer.concat(parts);
}

function jpeg(width: number, height: number, draw: (ctx: ReturnType<ReturnType<typeof createCanvas>['getContext']>) => void): Buffer {
  const c = createCanvas(width, height);
  draw(c.getContext('2d'));
  return c.toBuffer('image/jpeg', { quality: 0.9 });
}

/**
 * Oxford flowers with `classes` classes of `perClass` images (labels 1..classes, image numbers in
 * class order), split per class into 2 train, 2 val and the rest test, as the official files
 * describe it. Returns the three official files' bytes.
 */
export async function smallFlowers(dir: string, classes = 4, perClass = 12): Promise<Record<string, Buffer>> {
  mkdirSync(join(dir, 'jpg'), { recursive: true });
  const labels: number[] = [];
  const trnid: number[] = [];
  const valid: number[] = [];
  const tstid: number[] = [];
  const names: string[] = [];
  for (let k = 0; k < classes; k++) {
    for (let i = 0; i < perClass; i++) {
      const n = labels.length + 1;
      labels.push(k + 1);
      (i < 2 ? trnid : i < 4 ? valid : tstid).push(n);
      const name = `jpg/image_${String(n).padStart(5, '0')}.jpg`;
      // Photos are landscape or portrait; the loader takes the centred square.
      const [w, h] = i % 2 ? [96, 72] : [72, 90];
      writeFileSync(join(dir, name), jpeg(w, h, (ctx) => {
        ctx.fillStyle = `hsl(${(HUES[k % HUES.length] + 180) % 360}, 30%, ${30 + 3 * i}%)`;
        ctx.fillRect(0, 0, w, h);
        ctx.fillStyle = `hsl(${HUES[k % HUES.length]}, 80%, 55%)`;
        for (let p = 0; p < 5 + k; p++) {
          const a = (2 * Math.PI * p) / (5 + k) + i / 3;
          ctx.beginPath();
          ctx.arc(w / 2 + Math.cos(a) * 14, h / 2 + Math.sin(a) * 14, 9, 0, 2 * Math.PI);
          ctx.fill();
        }
      }));
      names.push(name);
    }
  }
  await tar.c({ gzip: true, file: join(dir, '102flowers.tgz'), cwd: dir }, names);
  return {
    '102flowers.tgz': readFileSync(join(dir, '102flowers.tgz')),
    'imagelabels.mat': matFile({ labels }),
    'setid.mat': matFile({ trnid, valid, tstid }),
  };
}

/** Colour of the face square of LFW person `k` and of everything outside it. */
export const LFW_FACE_RGB = (k: number): [number, number, number] => [200 - 25 * k, 120 + 20 * k, 90 + 30 * k];
export const LFW_BACKGROUND_RGB: [number, number, number] = [20, 30, 40];

/**
 * lfw.tgz with the given people (name, image count). Each 250x250 photo is dark outside the face
 * square that the loader crops (columns 62-187, rows 70-195) and the person's colour inside it,
 * with a darker "eye" band, so a test can check the crop from the pixels.
 */
export async function smallLfw(dir: string, people: [string, number][]): Promise<Buffer> {
  const names: string[] = [];
  people.forEach(([person, count], k) => {
    mkdirSync(join(dir, 'lfw', person), { recursive: true });
    for (let i = 1; i <= count; i++) {
      const name = `lfw/${person}/${person}_${String(i).padStart(4, '0')}.jpg`;
      writeFileSync(join(dir, name), jpeg(250, 250, (ctx) => {
        ctx.fillStyle = `rgb(${LFW_BACKGROUND_RGB.join(',')})`;
        ctx.fillRect(0, 0, 250, 250);
        ctx.fillStyle = `rgb(${LFW_FACE_RGB(k).join(',')})`;
        ctx.fillRect(64, 72, 122, 122);
        ctx.fillStyle = `rgb(${LFW_FACE_RGB(k).map((v) => Math.round(v * 0.6)).join(',')})`;
        ctx.fillRect(80, 100 + (i % 5), 90, 10);
      }));
      names.push(name);
    }
  });
  await tar.c({ gzip: true, file: join(dir, 'lfw.tgz'), cwd: dir }, names);
  return readFileSync(join(dir, 'lfw.tgz'));
}
