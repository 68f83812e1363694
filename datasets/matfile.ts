/**
 * A reader for MATLAB level-5 MAT-files (the format of the Oxford flowers `imagelabels.mat` and
 * `setid.mat`): the 128-byte header, then data elements, each variable usually wrapped in a
 * zlib-compressed element (miCOMPRESSED) holding one miMATRIX.
 *
 * Only what the datasets need: real numeric arrays of any storage type (MATLAB stores doubles that
 * hold small integers as uint8/uint16) and char arrays. Cells, structs, sparse and complex arrays
 * are listed with their class but not decoded. We wrote our own instead of using `mat-for-js`
 * (the one npm reader that parsed these files correctly): it is GPL-3.0 in an MIT project and
 * ESM-only, and this format subset is about a hundred lines.
 */
import { readFileSync } from 'fs';
import { inflateSync } from 'zlib';

export interface MatVariable {
  name: string;
  /** MATLAB class: 'double', 'uint8', 'char', 'cell', ... */
  className: string;
  dims: number[];
  /** Values in MATLAB's column-major order (numeric classes); absent for classes we do not decode. */
  data?: Float64Array;
  /** The text of a char array. */
  text?: string;
}

export class MatFileError extends Error {}

const MI = { INT8: 1, UINT8: 2, INT16: 3, UINT16: 4, INT32: 5, UINT32: 6, SINGLE: 7, DOUBLE: 9, INT64: 12, UINT64: 13, MATRIX: 14, COMPRESSED: 15, UTF8: 16, UTF16: 17 };
const CLASS_NAMES = ['', 'cell', 'struct', 'object', 'char', 'sparse', 'double', 'single', 'int8', 'uint8', 'int16', 'uint16', 'int32', 'uint32', 'int64', 'uint64'];
const NUMERIC_CLASSES = new Set(['double', 'single', 'int8', 'uint8', 'int16', 'uint16', 'int32', 'uint32', 'int64', 'uint64']);

interface Element {
  type: number;
  bytes: Uint8Array;
  /** Offset just past the element, including padding. */
  end: number;
}

/** Reads the data element starting at `offset` of `buf`. */
function readElement(buf: Uint8Array, offset: number, little: boolean, where: string): Element {
  if (offset + 8 > buf.length) throw new MatFileError(`${where}: truncated element tag at byte ${offset}`);
  const view = new DataView(buf.buffer, buf.byteOffset + offset, 8);
  const first = view.getUint32(0, little);
  // Small data element: size in the upper 16 bits, data packed into the tag's second word.
  if (first >>> 16 !== 0) {
    const size = first >>> 16;
    if (size > 4) throw new MatFileError(`${where}: small data element at byte ${offset} claims ${size} bytes (max 4)`);
    return { type: first & 0xffff, bytes: buf.subarray(offset + 4, offset + 4 + size), end: offset + 8 };
  }
  const size = view.getUint32(4, little);
  const start = offset + 8;
  if (start + size > buf.length) {
    throw new MatFileError(`${where}: element at byte ${offset} needs ${size} bytes but only ${buf.length - start} remain (file truncated?)`);
  }
  // Compressed elements are not padded; all others are padded to 8 bytes.
  const end = first === MI.COMPRESSED ? start + size : start + Math.ceil(size / 8) * 8;
  return { type: first, bytes: buf.subarray(start, start + size), end: Math.min(end, buf.length) };
}

function numericValues(el: Element, little: boolean, where: string): Float64Array {
  const { bytes } = el;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const read: Record<number, [number, (o: number) => number]> = {
    [MI.INT8]: [1, (o) => view.getInt8(o)],
    [MI.UINT8]: [1, (o) => view.getUint8(o)],
    [MI.INT16]: [2, (o) => view.getInt16(o, little)],
    [MI.UINT16]: [2, (o) => view.getUint16(o, little)],
    [MI.INT32]: [4, (o) => view.getInt32(o, little)],
    [MI.UINT32]: [4, (o) => view.getUint32(o, little)],
    [MI.SINGLE]: [4, (o) => view.getFloat32(o, little)],
    [MI.DOUBLE]: [8, (o) => view.getFloat64(o, little)],
    [MI.INT64]: [8, (o) => Number(view.getBigInt64(o, little))],
    [MI.UINT64]: [8, (o) => Number(view.getBigUint64(o, little))],
  };
  const reader = read[el.type];
  if (!reader) throw new MatFileError(`${where}: numeric data stored with unsupported element type ${el.type}`);
  const [width, get] = reader;
  const out = new Float64Array(Math.floor(bytes.length / width));
  for (let i = 0; i < out.length; i++) out[i] = get(i * width);
  return out;
}

function parseMatrix(bytes: Uint8Array, little: boolean, where: string): MatVariable {
  const flags = readElement(bytes, 0, little, where);
  const dimsEl = readElement(bytes, flags.end, little, where);
  const nameEl = readElement(bytes, dimsEl.end, little, where);
  if (flags.type !== MI.UINT32 || flags.bytes.length < 8 || dimsEl.type !== MI.INT32) {
    throw new MatFileError(`${where}: miMATRIX does not start with array flags and dimensions`);
  }
  const flagWord = new DataView(flags.bytes.buffer, flags.bytes.byteOffset, 8).getUint32(0, little);
  const className = CLASS_NAMES[flagWord & 0xff] ?? `class ${flagWord & 0xff}`;
  const dims = Array.from(numericValues(dimsEl, little, where));
  const name = Buffer.from(nameEl.bytes).toString('latin1');
  const variable: MatVariable = { name, className, dims };
  const complex = (flagWord & 0x0800) !== 0;
  if (complex || !(NUMERIC_CLASSES.has(className) || className === 'char')) return variable;
  const real = readElement(bytes, nameEl.end, little, `${where}, variable '${name}'`);
  const count = dims.reduce((a, b) => a * b, 1);
  if (className === 'char') {
    variable.text = real.type === MI.UTF8 ? Buffer.from(real.bytes).toString('utf8') : String.fromCharCode(...numericValues(real, little, where));
    return variable;
  }
  const data = numericValues(real, little, `${where}, variable '${name}'`);
  if (data.length !== count) {
    throw new MatFileError(`${where}: variable '${name}' has dimensions ${dims.join('x')} (${count} values) but stores ${data.length}`);
  }
  variable.data = data;
  return variable;
}

/** Parses a MAT v5 file's bytes; `source` names the file in error messages. */
export function parseMat(buf: Uint8Array, source = 'MAT-file'): Map<string, MatVariable> {
  if (buf.length < 128) throw new MatFileError(`${source}: ${buf.length} bytes, too short for a MAT-file (the header alone is 128 bytes)`);
  const header = Buffer.from(buf.subarray(0, 116)).toString('latin1');
  const endian = String.fromCharCode(buf[126], buf[127]);
  if (header.startsWith('MATLAB 7.3')) {
    throw new MatFileError(`${source}: MATLAB 7.3 (HDF5) files are not supported; save it with -v7 or -v6`);
  }
  if (!header.startsWith('MATLAB 5.0 MAT-file') || (endian !== 'IM' && endian !== 'MI')) {
    throw new MatFileError(`${source}: not a MATLAB 5 MAT-file (header starts ${JSON.stringify(header.slice(0, 24))})`);
  }
  const little = endian === 'IM';
  const vars = new Map<string, MatVariable>();
  let offset = 128;
  while (offset < buf.length) {
    const el = readElement(buf, offset, little, source);
    let matrix: Uint8Array | undefined;
    if (el.type === MI.COMPRESSED) {
      let inflated: Uint8Array;
      try {
        inflated = inflateSync(el.bytes);
      } catch (e) {
        throw new MatFileError(`${source}: compressed element at byte ${offset} does not inflate (${(e as Error).message}); the file is corrupt, download it again`);
      }
      const inner = readElement(inflated, 0, little, source);
      if (inner.type === MI.MATRIX) matrix = inner.bytes;
    } else if (el.type === MI.MATRIX) {
      matrix = el.bytes;
    }
    if (matrix) {
      const v = parseMatrix(matrix, little, source);
      vars.set(v.name, v);
    }
    offset = el.end;
  }
  return vars;
}

export function readMatFile(path: string): Map<string, MatVariable> {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (e) {
    throw new MatFileError(`cannot read ${path}: ${(e as Error).message}`);
  }
  return parseMat(buf, path);
}

/** The numeric variable `name` of a parsed file, or an error naming the file and what it holds. */
export function numericVariable(vars: Map<string, MatVariable>, name: string, source: string): Float64Array {
  const v = vars.get(name);
  if (!v || !v.data) {
    const found = [...vars.values()].map((x) => `${x.name} (${x.className} ${x.dims.join('x')})`).join(', ') || 'no variables';
    throw new MatFileError(`${source}: expected a numeric variable '${name}', found ${found}`);
  }
  return v.data;
}
