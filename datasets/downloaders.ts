/**
 * One-call downloaders for the official archives. Each is idempotent: files already present and
 * verified are not fetched again, an extracted archive (marker file) is not extracted again, and an
 * interrupted download resumes. Users without internet place the official files in the root
 * themselves (or pass `root` to loadDataset); the same verification then applies.
 */
import { existsSync, mkdirSync, readdirSync } from 'fs';
import { join } from 'path';
import { alreadyExtracted, extractTgz } from './archive';
import { CUB200_METADATA, cubFolder } from './cub200';
import { downloadFile, type FetchOptions } from './fetcher';
import { numericVariable, readMatFile } from './matfile';
import { downloadRoot } from './paths';

export interface OfficialFile {
  md5: string;
  size: number;
}

export const FLOWERS102_BASE_URL = 'https://www.robots.ox.ac.uk/~vgg/data/flowers/102/';
export const FLOWERS102_FILES: Record<string, OfficialFile> = {
  '102flowers.tgz': { md5: '52808999861908f626f3c1f4e79d11fa', size: 344_862_509 },
  'imagelabels.mat': { md5: 'e0620be6f572b9609742df49c70aed4d', size: 502 },
  'setid.mat': { md5: 'a5357ecc9cb78c4bef273ce3793fc85c', size: 14_989 },
};

export const CUB200_ARCHIVE = 'CUB_200_2011.tgz';
export const CUB200_FILE: OfficialFile = { md5: '97eceeb196236b17998738112f37df78', size: 1_150_585_339 };
/** Tried in this order (../shared/research/datasets-official.md); the Google Drive copy needs a browser. */
export const CUB200_MIRRORS: readonly string[] = [
  'https://data.caltech.edu/records/65de6-vp158/files/CUB_200_2011.tgz',
  'https://data.caltech.edu/records/20098/files/CUB_200_2011.tgz',
  'http://www.vision.caltech.edu/visipedia-data/CUB-200-2011/CUB_200_2011.tgz',
  'http://www.vision.caltech.edu.s3-us-west-2.amazonaws.com/visipedia-data/CUB-200-2011/CUB_200_2011.tgz',
];

export interface DownloaderOptions extends FetchOptions {
  /** Destination folder (default `datasets/<name>/` in the repository). */
  root?: string;
  /**
   * Expected MD5 per file name, replacing the official one (and then skipping the official size
   * check): for mirrors that repackage the files, and for tests.
   */
  checksums?: Record<string, string>;
}

function expected(file: string, official: OfficialFile, opts: DownloaderOptions): { md5: string; size?: number } {
  const override = opts.checksums?.[file];
  return override ? { md5: override } : official;
}

function fetchOptions(opts: DownloaderOptions): FetchOptions {
  const { timeoutMs, minRate, retries, retryDelayMs, headers, progress } = opts;
  return { timeoutMs, minRate, retries, retryDelayMs, headers, progress };
}

/** Downloads, verifies and extracts Oxford 102 flowers into `root`; returns `root`. */
export async function downloadFlowers102(opts: DownloaderOptions & { baseUrl?: string } = {}): Promise<string> {
  const root = opts.root ?? downloadRoot('flowers102');
  const base = (opts.baseUrl ?? FLOWERS102_BASE_URL).replace(/\/?$/, '/');
  mkdirSync(root, { recursive: true });
  const archive = join(root, '102flowers.tgz');
  const want = expected('102flowers.tgz', FLOWERS102_FILES['102flowers.tgz'], opts);
  for (const [file, official] of Object.entries(FLOWERS102_FILES)) {
    // Once extracted, the archive is no longer needed (the user may delete it to save 345 MB).
    if (file === '102flowers.tgz' && alreadyExtracted(archive, root, want.md5)) continue;
    await downloadFile(base + file, join(root, file), { ...fetchOptions(opts), ...expected(file, official, opts), label: file });
  }
  if (!alreadyExtracted(archive, root, want.md5)) await extractTgz(archive, root, want.md5, opts.progress ?? true);
  checkFlowersLayout(root);
  return root;
}

function checkFlowersLayout(root: string): void {
  const jpg = join(root, 'jpg');
  const images = existsSync(jpg) ? readdirSync(jpg).filter((f) => /^image_\d{5}\.jpg$/.test(f)) : [];
  if (images.length === 0) {
    throw new Error(`102flowers.tgz did not give the expected layout: no ${jpg}/image_NNNNN.jpg files (found ${readdirSync(root).join(', ')})`);
  }
  numericVariable(readMatFile(join(root, 'imagelabels.mat')), 'labels', join(root, 'imagelabels.mat'));
  const sets = readMatFile(join(root, 'setid.mat'));
  for (const v of ['trnid', 'valid', 'tstid']) numericVariable(sets, v, join(root, 'setid.mat'));
}

/** Downloads (trying the mirrors in order), verifies and extracts CUB-200-2011 into `root`; returns `root`. */
export async function downloadCub200(opts: DownloaderOptions & { mirrors?: string[] } = {}): Promise<string> {
  const root = opts.root ?? downloadRoot('cub200');
  mkdirSync(root, { recursive: true });
  const archive = join(root, CUB200_ARCHIVE);
  const want = expected(CUB200_ARCHIVE, CUB200_FILE, opts);
  if (!alreadyExtracted(archive, root, want.md5)) {
    const mirrors = opts.mirrors ?? CUB200_MIRRORS;
    const failures: string[] = [];
    for (const url of mirrors) {
      try {
        await downloadFile(url, archive, { ...fetchOptions(opts), ...want, label: CUB200_ARCHIVE });
        break;
      } catch (e) {
        failures.push(`  ${url}: ${(e as Error).message}`);
      }
    }
    if (failures.length === mirrors.length) {
      throw new Error(
        `CUB-200-2011: no mirror gave a verified ${CUB200_ARCHIVE}:\n${failures.join('\n')}\n` +
          `Download it by hand (e.g. Google Drive id 1hbzc_P1FuxMkcabkgn9ZKinBwW683j45), place it at ${archive} and call again, or pass mirrors: [...].`,
      );
    }
    await extractTgz(archive, root, want.md5, opts.progress ?? true);
  }
  let dir: string;
  try {
    dir = cubFolder(root);
  } catch {
    throw new Error(`${CUB200_ARCHIVE} did not give the expected layout: no ${join(root, 'CUB_200_2011', 'images.txt')} (found ${readdirSync(root).join(', ')})`);
  }
  const missing = CUB200_METADATA.filter((f) => !existsSync(join(dir, f)));
  if (missing.length || !existsSync(join(dir, 'images'))) {
    throw new Error(`${CUB200_ARCHIVE} did not give the expected layout: ${dir} lacks ${[...missing, ...(existsSync(join(dir, 'images')) ? [] : ['images/'])].join(', ')}`);
  }
  return root;
}
