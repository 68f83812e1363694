/**
 * Checks the entropy-coded data of a baseline JPEG without decoding pixels: every Huffman code
 * must exist in its table, every scan must hold exactly the blocks its frame needs, restart
 * markers must come in order and where the restart interval puts them, and no stray bytes may
 * follow a scan. These are the cases where libjpeg prints "Corrupt JPEG data: ..." (bad Huffman
 * code, premature end of data segment, extraneous bytes before marker, wrong RST marker) and goes
 * on, filling the damaged rows with garbage; node-canvas drops that warning (it keeps libjpeg's
 * messages only for fatal errors), so a file with scrambled bytes mid-file decodes "fine".
 *
 * Sequential Huffman JPEGs only (SOF0, SOF1: what cameras and the datasets' images use);
 * progressive, lossless and arithmetic-coded files are not checked here (undefined) and are left
 * to libjpeg. Cost: one pass over the bits, a few ms per image (docs/design.md, "## reliability").
 */

interface Huffman {
  /** Per code length 1..16: the largest code of that length (-1: none), and where its symbols start. */
  maxcode: Int32Array;
  mincode: Int32Array;
  valptr: Int32Array;
  values: Uint8Array;
  /** The next 8 bits -> (code length << 8 | symbol) for codes of at most 8 bits, 0 for longer ones. */
  fast: Uint16Array;
}

function buildHuffman(counts: Uint8Array, values: Uint8Array): Huffman {
  const maxcode = new Int32Array(18).fill(-1);
  const mincode = new Int32Array(17);
  const valptr = new Int32Array(17);
  const fast = new Uint16Array(256);
  let code = 0;
  let k = 0;
  for (let len = 1; len <= 16; len++) {
    const n = counts[len - 1];
    if (n > 0) {
      valptr[len] = k;
      mincode[len] = code;
      if (len <= 8) {
        for (let c = code; c < code + n; c++) {
          const sym = values[k + c - code];
          for (let pad = 0; pad < 1 << (8 - len); pad++) fast[(c << (8 - len)) | pad] = (len << 8) | sym;
        }
      }
      code += n;
      k += n;
      maxcode[len] = code - 1;
    }
    code <<= 1;
  }
  return { maxcode, mincode, valptr, values, fast };
}

interface Component {
  id: number;
  h: number;
  v: number;
}

class Damaged extends Error {}

const PREMATURE = 'premature end of data segment (the scan ends before its last block)';

/**
 * Reads the bits of one scan's entropy-coded segment, un-stuffing FF 00 and stopping at markers:
 * whole bytes go into an accumulator (`acc`, its low `n` bits unread), so codes are read with a
 * table lookup and shifts instead of bit by bit.
 */
class BitReader {
  private acc = 0;
  private n = 0;
  /** A marker follows the bytes read so far (`pos` is at its FF). */
  private marker = false;
  constructor(
    private readonly buf: Uint8Array,
    public pos: number,
  ) {}

  /** Reads bytes until more than 16 bits are unread or a marker is next. */
  private fill(): void {
    const buf = this.buf;
    while (this.n <= 16 && !this.marker) {
      if (this.pos >= buf.length) throw new Damaged('file ends inside a scan');
      let b = buf[this.pos];
      if (b === 0xff) {
        if (buf[this.pos + 1] !== 0x00) {
          this.marker = true;
          break;
        }
        this.pos += 2;
        b = 0xff;
      } else {
        this.pos++;
      }
      this.acc = ((this.acc << 8) | b) & 0xffffff;
      this.n += 8;
    }
  }

  readBits(count: number): void {
    if (this.n < count) this.fill();
    if (this.n < count) throw new Damaged(PREMATURE);
    this.n -= count;
  }

  decode(t: Huffman): number {
    if (this.n < 16) this.fill();
    if (this.n >= 8) {
      const e = t.fast[(this.acc >>> (this.n - 8)) & 0xff];
      if (e !== 0) {
        this.n -= e >> 8;
        return e & 0xff;
      }
    }
    for (let len = 1; len <= 16; len++) {
      if (this.n < len) throw new Damaged(PREMATURE);
      const code = (this.acc >>> (this.n - len)) & ((1 << len) - 1);
      if (code <= t.maxcode[len]) {
        this.n -= len;
        return t.values[t.valptr[len] + code - t.mincode[len]];
      }
    }
    throw new Damaged('bad Huffman code');
  }

  /** Drops the padding bits of the current byte (before a restart marker or the end of the scan). */
  align(): void {
    this.n -= this.n % 8;
  }

  /** The next bytes must be a marker (fill bytes FF allowed); returns it and moves past it. */
  expectMarker(what: string): number {
    // Whole bytes already read into the accumulator are data after the last block: extraneous.
    let extraneous = this.n / 8;
    this.n = 0;
    this.acc = 0;
    const buf = this.buf;
    while (this.pos < buf.length && !(buf[this.pos] === 0xff && buf[this.pos + 1] !== 0x00)) {
      this.pos++;
      extraneous++;
    }
    if (this.pos >= buf.length) throw new Damaged(`no marker after ${what}`);
    while (buf[this.pos + 1] === 0xff) this.pos++;
    const m = buf[this.pos + 1];
    if (extraneous > 0) throw new Damaged(`${extraneous} extraneous bytes before marker 0x${(m ?? 0).toString(16)} (${what})`);
    this.pos += 2;
    this.marker = false;
    return m;
  }
}

/**
 * The reason the entropy-coded data of JPEG `buf` is damaged, or undefined when it checks out or
 * is not a sequential Huffman JPEG (see the file comment). Assumes the marker structure was checked.
 */
export function jpegScanDamage(buf: Uint8Array): string | undefined {
  const dc: (Huffman | undefined)[] = [];
  const ac: (Huffman | undefined)[] = [];
  let comps: Component[] | undefined;
  let width = 0;
  let height = 0;
  let restart = 0;
  let scan = 0;
  let i = 2;
  try {
    while (i + 4 <= buf.length) {
      if (buf[i] !== 0xff) return undefined; // the marker walk of imagefile.ts reports this
      const marker = buf[i + 1];
      if (marker === 0xff) {
        i++;
        continue;
      }
      if (marker === 0xd9) return undefined;
      if ((marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) {
        i += 2;
        continue;
      }
      const length = (buf[i + 2] << 8) | buf[i + 3];
      const seg = buf.subarray(i + 4, i + 2 + length);
      if (marker === 0xc0 || marker === 0xc1) {
        if (seg[0] !== 8) return undefined; // 12-bit samples: other coefficient sizes, not checked
        height = (seg[1] << 8) | seg[2];
        width = (seg[3] << 8) | seg[4];
        const n = seg[5];
        comps = [];
        for (let c = 0; c < n; c++) comps.push({ id: seg[6 + 3 * c], h: seg[7 + 3 * c] >> 4, v: seg[7 + 3 * c] & 15 });
        if (width === 0 || height === 0 || comps.some((c) => c.h < 1 || c.v < 1)) return undefined; // DNL or odd frames: libjpeg's call
      } else if ((marker >= 0xc2 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc)) {
        return undefined; // progressive, lossless, hierarchical or arithmetic: not checked
      } else if (marker === 0xc4) {
        let p = 0;
        while (p < seg.length) {
          const tc = seg[p] >> 4;
          const th = seg[p] & 15;
          const counts = seg.subarray(p + 1, p + 17);
          const total = counts.reduce((a, b) => a + b, 0);
          (tc === 0 ? dc : ac)[th] = buildHuffman(counts, seg.subarray(p + 17, p + 17 + total));
          p += 17 + total;
        }
      } else if (marker === 0xdd) {
        restart = (seg[0] << 8) | seg[1];
      } else if (marker === 0xda) {
        if (!comps) return 'JPEG scan before its frame header';
        scan++;
        const ns = seg[0];
        const inScan: { comp: Component; dc: Huffman; ac: Huffman }[] = [];
        for (let c = 0; c < ns; c++) {
          const comp = comps.find((x) => x.id === seg[1 + 2 * c]);
          const tdc = dc[seg[2 + 2 * c] >> 4];
          const tac = ac[seg[2 + 2 * c] & 15];
          if (!comp || !tdc || !tac) return `JPEG scan ${scan} names a component or Huffman table that does not exist`;
          inScan.push({ comp, dc: tdc, ac: tac });
        }
        const hmax = Math.max(...comps.map((c) => c.h));
        const vmax = Math.max(...comps.map((c) => c.v));
        // Blocks per MCU and MCUs per scan (A.2: a one-component scan is not interleaved).
        let mcus: number;
        let blocks: { dc: Huffman; ac: Huffman }[];
        if (ns === 1) {
          const c = inScan[0].comp;
          const cw = Math.ceil((width * c.h) / hmax);
          const ch = Math.ceil((height * c.v) / vmax);
          mcus = Math.ceil(cw / 8) * Math.ceil(ch / 8);
          blocks = [inScan[0]];
        } else {
          mcus = Math.ceil(width / (8 * hmax)) * Math.ceil(height / (8 * vmax));
          blocks = inScan.flatMap((s) => Array.from({ length: s.comp.h * s.comp.v }, () => s));
        }
        const r = new BitReader(buf, i + 2 + length);
        let expectRst = 0;
        for (let m = 0; m < mcus; m++) {
          if (restart > 0 && m > 0 && m % restart === 0) {
            r.align();
            const rst = r.expectMarker(`restart marker ${expectRst} of scan ${scan}`);
            if (rst !== 0xd0 + expectRst) throw new Damaged(`found marker 0x${rst.toString(16)} where restart marker ${expectRst} belongs`);
            expectRst = (expectRst + 1) & 7;
          }
          for (const b of blocks) {
            const s = r.decode(b.dc);
            if (s > 11) throw new Damaged(`DC coefficient of ${s} bits`);
            r.readBits(s);
            for (let k = 1; k < 64; ) {
              const rs = r.decode(b.ac);
              const run = rs >> 4;
              const size = rs & 15;
              if (size === 0) {
                if (run !== 15) break;
                k += 16;
              } else {
                k += run;
                if (size > 10) throw new Damaged(`AC coefficient of ${size} bits`);
                r.readBits(size);
                k++;
              }
              if (k > 64) throw new Damaged('a block with more than 64 coefficients');
            }
          }
        }
        r.align();
        const pos = r.pos;
        const next = r.expectMarker(`end of scan ${scan}`);
        if (next >= 0xd0 && next <= 0xd7) throw new Damaged('a restart marker after the last block of the scan');
        i = pos;
        continue;
      }
      i += 2 + length;
    }
  } catch (e) {
    if (e instanceof Damaged) return `JPEG data is damaged in scan ${scan}: ${e.message}`;
    throw e;
  }
  return undefined;
}
