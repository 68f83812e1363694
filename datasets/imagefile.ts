/**
 * Decoding, checking, cropping and resizing one source image with node-canvas.
 *
 * libjpeg decodes a truncated JPEG with only a warning (the missing rows come out grey), and one
 * whose entropy-coded data is damaged with only a "Corrupt JPEG data" warning (garbage rows), and
 * node-canvas drops both warnings; so we check the bytes ourselves before decoding: a JPEG must
 * have an end-of-image marker after its first scan and intact scan data (jpeg-scan.ts), a PNG its
 * IEND chunk. Files that fail are reported as `CorruptImageError`; the loader skips
 * and counts them (policy in loader.ts).
 */
import { createCanvas, loadImage, type Image } from 'canvas';
import { jpegScanDamage } from './jpeg-scan';
import { lfwFaceBox } from './lfw';
import type { Box, CropMode } from './types';

export class CorruptImageError extends Error {}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** The reason `buf` is not a complete JPEG or PNG, or undefined when it looks complete. */
export function incompleteReason(buf: Uint8Array): string | undefined {
  if (buf.length >= 2 && buf[0] === 0xff && buf[1] === 0xd8) return jpegIncompleteReason(buf);
  if (buf.length >= 8 && PNG_SIGNATURE.every((b, i) => buf[i] === b)) {
    // IEND is the last chunk: "IEND" + 4-byte CRC; allow trailing bytes after it.
    const tail = Buffer.from(buf.subarray(Math.max(0, buf.length - 4096)));
    return tail.lastIndexOf('IEND') >= 0 ? undefined : 'PNG without IEND chunk (truncated)';
  }
  if (buf.length === 0) return 'empty file';
  return 'neither JPEG nor PNG';
}

function jpegIncompleteReason(buf: Uint8Array): string | undefined {
  // Walk the marker segments to the first start-of-scan (skipping EXIF thumbnails, which carry
  // their own end marker), then require an end-of-image marker after it. Entropy-coded data never
  // contains FF D9 (0xFF bytes are stuffed as FF 00), so its presence means the scan data ended.
  let i = 2;
  while (i + 4 <= buf.length) {
    if (buf[i] !== 0xff) return `JPEG marker expected at byte ${i}`;
    const marker = buf[i + 1];
    if (marker === 0xff) {
      i++;
      continue;
    }
    if (marker === 0xd9) return 'JPEG ends before its image data';
    if ((marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) {
      i += 2;
      continue;
    }
    const length = (buf[i + 2] << 8) | buf[i + 3];
    if (marker === 0xda) {
      const scan = Buffer.from(buf.buffer, buf.byteOffset, buf.length);
      return scan.indexOf(Buffer.from([0xff, 0xd9]), i + 2 + length) >= 0 ? undefined : 'JPEG without end-of-image marker (truncated)';
    }
    i += 2 + length;
  }
  return 'JPEG truncated in its headers';
}

/** Decodes a JPEG or PNG; throws CorruptImageError (naming `file`) when it is incomplete or undecodable. */
export async function decodeImage(buf: Uint8Array, file: string): Promise<Image> {
  const reason = incompleteReason(buf) ?? (buf[0] === 0xff ? jpegScanDamage(buf) : undefined);
  if (reason) throw new CorruptImageError(`${file}: ${reason}`);
  try {
    return await loadImage(Buffer.from(buf.buffer, buf.byteOffset, buf.length));
  } catch (e) {
    throw new CorruptImageError(`${file}: cannot be decoded (${(e as Error).message})`);
  }
}

/** The source rectangle to cut from a width x height image. */
export function cropRect(width: number, height: number, mode: CropMode, box?: Box): Box {
  if (mode === 'full') return { x: 0, y: 0, width, height };
  if (mode === 'center') {
    const side = Math.min(width, height);
    return { x: (width - side) / 2, y: (height - side) / 2, width: side, height: side };
  }
  if (mode === 'face') return lfwFaceBox(width, height);
  if (!box) throw new Error(`crop 'bbox' needs a bounding box for every image; use crop 'center' or 'full'`);
  // A few official CUB boxes overrun the image by 1-3 px: clip them.
  const x0 = Math.max(0, box.x);
  const y0 = Math.max(0, box.y);
  const x1 = Math.min(width, box.x + box.width);
  const y1 = Math.min(height, box.y + box.height);
  if (box.x >= width || box.y >= height || box.x + box.width <= 0 || box.y + box.height <= 0) {
    throw new Error(`bounding box ${JSON.stringify(box)} lies outside the ${width}x${height} image`);
  }
  if (x1 - x0 < 1 || y1 - y0 < 1) {
    throw new Error(`bounding box ${JSON.stringify(box)} is smaller than one pixel inside the ${width}x${height} image (${+(x1 - x0).toFixed(3)} x ${+(y1 - y0).toFixed(3)} px); fix its line in bounding_boxes.txt, or load with crop 'center' or 'full'`);
  }
  return { x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
}

/** Draws crops onto one reusable size x size canvas and copies out RGB bytes. */
export class Resizer {
  private readonly canvas;
  private readonly ctx;

  constructor(readonly size: number) {
    this.canvas = createCanvas(size, size);
    this.ctx = this.canvas.getContext('2d');
    this.ctx.imageSmoothingEnabled = true;
    // node-canvas supports it (Cairo's best filter) but its typings omit it.
    (this.ctx as unknown as { imageSmoothingQuality: string }).imageSmoothingQuality = 'high';
  }

  /** Writes the size*size*3 RGB bytes of `rect` of `img` into `out` at `offset`. */
  draw(img: Image, rect: Box, out: Uint8Array, offset: number): void {
    const { ctx, size } = this;
    // Transparent PNG areas become black rather than showing the previous image.
    ctx.fillStyle = '#000';
    ctx.fillRect(0, 0, size, size);
    ctx.drawImage(img, rect.x, rect.y, rect.width, rect.height, 0, 0, size, size);
    const rgba = ctx.getImageData(0, 0, size, size).data;
    for (let p = 0, q = offset; p < rgba.length; p += 4, q += 3) {
      out[q] = rgba[p];
      out[q + 1] = rgba[p + 1];
      out[q + 2] = rgba[p + 2];
    }
  }
}
