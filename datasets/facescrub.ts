/**
 * FaceScrub (Ng & Winkler 2014), the paper's face set. Its URL lists are handed out by the authors
 * on request, so the user supplies them (`facescrub_actors.txt`, `facescrub_actresses.txt`:
 * tab-separated, header `name image_id face_id url bbox sha256`). For each row we fetch the URL,
 * check the SHA-256 from the list, crop `bbox` (x1,y1,x2,y2, right/bottom exclusive, clipped to
 * the image) and write `<root>/<Name_With_Underscores>/<Name>_<image_id>_<face_id>.jpg`; the
 * result loads as the identity-per-folder `faces` dataset.
 *
 * Many URLs are dead: failures are counted and appended to `<root>/_facescrub_failures.tsv`, never
 * fatal. A rerun skips faces already saved and rows already recorded as failed (unless
 * `retryFailed`), so it resumes where it stopped. Only the face crops are kept (JPEG quality 95),
 * not the full photographs, as the models train on faces.
 */
import { createHash } from 'crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'fs';
import { join } from 'path';
import { createCanvas } from 'canvas';
import { fetchBuffer } from './fetcher';
import { decodeImage } from './imagefile';
import { downloadRoot } from './paths';
import { ProgressReporter } from './reporter';

export interface FaceScrubRow {
  name: string;
  imageId: string;
  faceId: string;
  url: string;
  /** x1, y1, x2, y2 in source pixels. */
  bbox: [number, number, number, number];
  /** Lower-case hex, or '' when the list has no sha256 column. */
  sha256: string;
  /** `<list file>:<line>`, for messages. */
  source: string;
}

export interface FaceScrubOptions {
  /** The list files as handed out by the FaceScrub authors. */
  lists: string[];
  /** Output folder (default `datasets/faces/`). */
  root?: string;
  /** Parallel requests (default 8). */
  concurrency?: number;
  /** Per-request idle timeout (default 15 s). */
  timeoutMs?: number;
  /** Retries per URL for network errors and HTTP 5xx (default 2). */
  retries?: number;
  retryDelayMs?: number;
  /** Try rows recorded as failed by an earlier run again (default false). */
  retryFailed?: boolean;
  progress?: boolean;
}

export interface FaceScrubResult {
  saved: number;
  /** Dead links: HTTP errors, timeouts, non-image answers, undecodable images, unusable boxes. */
  dead: number;
  /** Images whose SHA-256 differs from the list (changed or placeholder images). */
  badHash: number;
  /** Faces already on disk from an earlier run. */
  skipped: number;
  /** Rows an earlier run recorded as failed and that were not retried. */
  previouslyFailed: number;
  /** Where failures are listed. */
  failuresFile: string;
}

const REQUIRED = ['name', 'url', 'bbox'];
const FAILURES = '_facescrub_failures.tsv';
// The authors' script sends a browser User-Agent; some image hosts refuse unknown clients.
const USER_AGENT = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36';

export const folderName = (name: string) => name.trim().replace(/[\s/\\:]+/g, '_');

/** Parses one FaceScrub list; errors name the file and line and say what was expected. */
export function parseFaceScrubList(path: string): FaceScrubRow[] {
  if (!existsSync(path)) throw new Error(`FaceScrub list ${path} does not exist`);
  const lines = readFileSync(path, 'utf8').split(/\r?\n/);
  const header = lines[0].split('\t').map((h) => h.trim().toLowerCase());
  const missing = REQUIRED.filter((c) => !header.includes(c));
  if (missing.length) {
    throw new Error(`${path}: expected a FaceScrub list with a tab-separated header "name image_id face_id url bbox sha256"; the header lacks ${missing.join(', ')} (found ${JSON.stringify(lines[0].slice(0, 100))})`);
  }
  const col = (c: string) => header.indexOf(c);
  const rows: FaceScrubRow[] = [];
  for (let i = 1; i < lines.length; i++) {
    if (!lines[i].trim()) continue;
    const f = lines[i].split('\t');
    const source = `${path}:${i + 1}`;
    const bbox = (f[col('bbox')] ?? '').split(',').map(Number);
    if (f.length < header.length || bbox.length !== 4 || bbox.some((v) => !Number.isFinite(v))) {
      throw new Error(`${source}: expected ${header.length} tab-separated fields with bbox "x1,y1,x2,y2", found ${JSON.stringify(lines[i].slice(0, 200))}`);
    }
    const get = (c: string, fallback: string) => (col(c) >= 0 ? f[col(c)].trim() : fallback);
    rows.push({
      name: f[col('name')].trim(),
      imageId: get('image_id', String(i)),
      faceId: get('face_id', '0'),
      url: f[col('url')].trim(),
      bbox: bbox as [number, number, number, number],
      sha256: get('sha256', '').toLowerCase(),
      source,
    });
  }
  return rows;
}

const rowKey = (r: FaceScrubRow) => `${r.name}\t${r.imageId}\t${r.faceId}`;
export const faceFile = (r: FaceScrubRow) => `${folderName(r.name)}/${folderName(r.name)}_${r.imageId}_${r.faceId}.jpg`;

class Failure extends Error {
  constructor(readonly kind: 'dead' | 'badHash', message: string) {
    super(message);
  }
}

async function fetchFace(row: FaceScrubRow, opts: FaceScrubOptions): Promise<Buffer> {
  let body: Buffer;
  let contentType: string;
  try {
    const origin = new URL(row.url);
    ({ body, contentType } = await fetchBuffer(row.url, {
      timeoutMs: opts.timeoutMs ?? 15_000,
      retries: opts.retries ?? 2,
      retryDelayMs: opts.retryDelayMs ?? 1000,
      headers: { 'User-Agent': USER_AGENT, Referer: `${origin.protocol}//${origin.host}/` },
    }));
  } catch (e) {
    throw new Failure('dead', (e as Error).message);
  }
  if (contentType && !/^image\//i.test(contentType)) throw new Failure('dead', `not an image (${contentType})`);
  const actual = createHash('sha256').update(body).digest('hex');
  if (row.sha256 && actual !== row.sha256) throw new Failure('badHash', `sha256 ${actual}, list says ${row.sha256}`);
  let img;
  try {
    img = await decodeImage(body, row.url);
  } catch (e) {
    throw new Failure('dead', (e as Error).message);
  }
  const [x1, y1, x2, y2] = row.bbox;
  const left = Math.max(0, Math.floor(x1));
  const top = Math.max(0, Math.floor(y1));
  const width = Math.min(img.width, Math.ceil(x2)) - left;
  const height = Math.min(img.height, Math.ceil(y2)) - top;
  if (width < 1 || height < 1) throw new Failure('dead', `bbox ${row.bbox.join(',')} lies outside the ${img.width}x${img.height} image`);
  const canvas = createCanvas(width, height);
  canvas.getContext('2d').drawImage(img, left, top, width, height, 0, 0, width, height);
  return canvas.toBuffer('image/jpeg', { quality: 0.95 });
}

/** Downloads and crops the faces of the given FaceScrub lists; resumable, never fatal on dead links. */
export async function downloadFaceScrub(opts: FaceScrubOptions): Promise<FaceScrubResult> {
  if (!opts.lists || opts.lists.length === 0) {
    throw new Error('downloadFaceScrub needs lists: ["facescrub_actors.txt", "facescrub_actresses.txt"] (request them from the FaceScrub authors at http://vintage.winklerbros.net/facescrub.html)');
  }
  const rows = opts.lists.flatMap(parseFaceScrubList);
  const root = opts.root ?? downloadRoot('faces');
  mkdirSync(root, { recursive: true });
  const failuresFile = join(root, FAILURES);
  const failedBefore = new Set<string>();
  if (existsSync(failuresFile) && !opts.retryFailed) {
    for (const line of readFileSync(failuresFile, 'utf8').split('\n')) if (line.trim()) failedBefore.add(line.split('\t').slice(0, 3).join('\t'));
  }
  const result: FaceScrubResult = { saved: 0, dead: 0, badHash: 0, skipped: 0, previouslyFailed: 0, failuresFile };
  const todo: FaceScrubRow[] = [];
  for (const r of rows) {
    if (existsSync(join(root, faceFile(r)))) result.skipped++;
    else if (failedBefore.has(rowKey(r))) result.previouslyFailed++;
    else todo.push(r);
  }
  const bar = new ProgressReporter('FaceScrub faces', todo.length, { enabled: opts.progress ?? true });
  let next = 0;
  const worker = async () => {
    while (next < todo.length) {
      const row = todo[next++];
      try {
        const jpeg = await fetchFace(row, opts);
        const dest = join(root, faceFile(row));
        mkdirSync(join(dest, '..'), { recursive: true });
        // Temp + rename: an interrupted run never leaves a half-written face that a rerun would skip.
        writeFileSync(`${dest}.tmp`, jpeg);
        renameSync(`${dest}.tmp`, dest);
        result.saved++;
      } catch (e) {
        if (!(e instanceof Failure)) throw e;
        result[e.kind]++;
        appendFileSync(failuresFile, `${rowKey(row)}\t${row.url}\t${e.kind}: ${e.message.replace(/\s+/g, ' ')}\n`);
      }
      bar.add();
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, opts.concurrency ?? 8) }, worker));
  bar.finish(`saved ${result.saved}, dead ${result.dead}, wrong SHA-256 ${result.badHash}`);
  if (opts.progress ?? true) {
    console.log(
      `FaceScrub: ${result.saved} faces saved, ${result.skipped} already present, ${result.dead} dead links, ${result.badHash} wrong SHA-256` +
        `${result.previouslyFailed ? `, ${result.previouslyFailed} failed earlier (retryFailed: true tries them again)` : ''}; failures listed in ${failuresFile}`,
    );
  }
  return result;
}
