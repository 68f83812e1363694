/**
 * The preprocessed cache: one file per (dataset, split, resolution, crop, class subset, source
 * files) holding the resized RGB bytes, so a second load skips decoding.
 *
 * File layout: 8-byte magic, uint32 LE header length, a JSON header (the key's hash, the image
 * list, labels, pixel byte count and CRC-32), then the raw pixels. Writes go to a temporary file
 * that is renamed into place, so an interrupted write never leaves a half file under the real name.
 * A file whose size or CRC does not match its header is reported and rebuilt.
 */
import { closeSync, mkdirSync, openSync, readSync, renameSync, rmSync, statSync, writeSync, fstatSync } from 'fs';
import { join } from 'path';
import { crc32 } from 'zlib';

const MAGIC = 'CVGDSC01';

export interface CachedImages {
  files: string[];
  labels: number[];
  skipped: string[];
  pixels: Uint8Array;
}

interface Header {
  keyHash: string;
  count: number;
  pixelBytes: number;
  crc32: number;
  files: string[];
  labels: number[];
  skipped: string[];
}

export function cacheFilePath(dir: string, stem: string, keyHash: string): string {
  return join(dir, `${stem}-${keyHash.slice(0, 16)}.bin`);
}

/**
 * Reads a cache file. Returns undefined when there is none; `{ corrupt }` when there is one that
 * cannot be trusted (the caller rebuilds it).
 */
export function readCache(path: string, keyHash: string): CachedImages | { corrupt: string } | undefined {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return undefined;
  }
  try {
    const size = fstatSync(fd).size;
    const head = Buffer.alloc(12);
    if (readSync(fd, head, 0, 12, 0) !== 12 || head.toString('latin1', 0, 8) !== MAGIC) return { corrupt: 'bad magic' };
    const headerLength = head.readUInt32LE(8);
    if (12 + headerLength > size) return { corrupt: 'header runs past the end of the file' };
    const headerBytes = Buffer.alloc(headerLength);
    readSync(fd, headerBytes, 0, headerLength, 12);
    let header: Header;
    try {
      header = JSON.parse(headerBytes.toString('utf8'));
    } catch {
      return { corrupt: 'header is not JSON' };
    }
    if (header.keyHash !== keyHash) return { corrupt: 'written for different source files or options' };
    const expected = 12 + headerLength + header.pixelBytes;
    if (size !== expected) return { corrupt: `${size} bytes, header says ${expected}` };
    const pixels = new Uint8Array(header.pixelBytes);
    for (let done = 0; done < pixels.length; ) {
      const n = readSync(fd, pixels, done, Math.min(pixels.length - done, 1 << 30), 12 + headerLength + done);
      if (n <= 0) return { corrupt: 'short read' };
      done += n;
    }
    if (crc32(pixels) !== header.crc32) return { corrupt: 'pixel checksum mismatch' };
    return { files: header.files, labels: header.labels, skipped: header.skipped, pixels };
  } finally {
    closeSync(fd);
  }
}

export function writeCache(path: string, keyHash: string, data: CachedImages): void {
  const header: Header = {
    keyHash,
    count: data.files.length,
    pixelBytes: data.pixels.length,
    crc32: crc32(data.pixels),
    files: data.files,
    labels: data.labels,
    skipped: data.skipped,
  };
  const headerBytes = Buffer.from(JSON.stringify(header), 'utf8');
  const head = Buffer.alloc(12);
  head.write(MAGIC, 0, 'latin1');
  head.writeUInt32LE(headerBytes.length, 8);
  mkdirSync(join(path, '..'), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}-${Date.now()}`;
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, head);
    writeSync(fd, headerBytes);
    for (let done = 0; done < data.pixels.length; ) done += writeSync(fd, data.pixels, done, Math.min(data.pixels.length - done, 1 << 30));
  } catch (e) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw e;
  }
  closeSync(fd);
  renameSync(tmp, path);
}

/** Size and mtime of each file, for the cache key (a changed file means a new key). */
export function fingerprint(root: string, files: string[]): string[] {
  return files.map((f) => {
    const s = statSync(join(root, f));
    return `${f}:${s.size}:${Math.round(s.mtimeMs)}`;
  });
}
