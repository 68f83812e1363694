/**
 * One-call downloaders for the official archives. Each is idempotent: files already present and
 * verified are not fetched again, an extracted archive (marker file) is not extracted again, and an
 * interrupted download resumes. Users without internet place the official files in the root
 * themselves and call with `offline: true` (or let findOrFetch do it): the same verification and
 * extraction then run without any connection.
 *
 * Sources: the official hosts in order, or only the mirror named by CVAEGAN_DATASET_MIRROR
 * (datasets/paths.ts) when that is set. Checksums: the official ones, unless `checksums` or CVAEGAN_DATASET_CHECKSUMS
 * replace them.
 */
import { existsSync, mkdirSync, readdirSync } from 'fs';
import { join } from 'path';
import { alreadyExtracted, extractTgz } from './archive';
import { CUB200_METADATA, cubFolder } from './cub200';
import { downloadFile, OfflineError, type DownloadOptions, type FetchOptions } from './fetcher';
import { lfwFolder } from './lfw';
import { numericVariable, readMatFile } from './matfile';
import { checksumOverrides, downloadRoot, mirrorUrls } from './paths';

export interface OfficialFile {
  /** MD5 (hex) where that is what the source publishes. */
  md5?: string;
  /** SHA-256 (hex). */
  sha256?: string;
  /** Bytes, where known. */
  size?: number;
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

/**
 * LFW archives: scikit-learn's figshare copies (the checksums are scikit-learn's), then the
 * original UMass host. lfw-funneled.tgz's size is not published.
 */
export const LFW_FILES: Record<'lfw.tgz' | 'lfw-funneled.tgz', OfficialFile & { mirrors: readonly string[] }> = {
  'lfw.tgz': {
    sha256: '055f7d9c632d7370e6fb4afc7468d40f970c34a80d4c6f50ffec63f5a8d536c0',
    size: 180_566_744,
    mirrors: ['https://ndownloader.figshare.com/files/5976018', 'http://vis-www.cs.umass.edu/lfw/lfw.tgz'],
  },
  'lfw-funneled.tgz': {
    sha256: 'b47c8422c8cded889dc5a13418c4bc2abbda121092b3533a83306f90d900100a',
    mirrors: ['https://ndownloader.figshare.com/files/5976015', 'http://vis-www.cs.umass.edu/lfw/lfw-funneled.tgz'],
  },
};

export interface DownloaderOptions extends FetchOptions {
  /** Destination folder (default `datasets/<name>/` in the repository). */
  root?: string;
  /**
   * Expected checksum per file name (32 hex digits: MD5, 64: SHA-256), replacing the official one
   * (and then skipping the official size check): for mirrors that repackage the files, and for
   * tests. Default: CVAEGAN_DATASET_CHECKSUMS's file, if set.
   */
  checksums?: Record<string, string>;
  /** Use only files already in `root` (verified, then extracted); never open a connection. */
  offline?: boolean;
}

function expected(file: string, official: OfficialFile, opts: DownloaderOptions): { md5?: string; sha256?: string; size?: number } {
  const override = (opts.checksums ?? checksumOverrides())[file];
  if (override) return override.length === 64 ? { sha256: override } : { md5: override };
  return { md5: official.md5, sha256: official.sha256, size: official.size };
}

function fetchOptions(opts: DownloaderOptions): FetchOptions & { offline?: boolean } {
  const { timeoutMs, minRate, retries, retryDelayMs, headers, progress, offline } = opts;
  return { timeoutMs, minRate, retries, retryDelayMs, headers, progress, offline };
}

/**
 * Downloads `dest` from the first of `urls` that gives a verified file. With one URL its error is
 * thrown as it is; with several, one error lists every URL's failure and says where to put the file
 * by hand. Offline, the file on disk is verified (or OfflineError says it is missing).
 */
async function fetchFirst(urls: readonly string[], dest: string, opts: DownloadOptions): Promise<string> {
  if (opts.offline || urls.length === 1) return downloadFile(urls[0], dest, opts);
  const failures: string[] = [];
  for (const url of urls) {
    try {
      return await downloadFile(url, dest, opts);
    } catch (e) {
      if (e instanceof OfflineError) throw e;
      failures.push(`  ${url}: ${(e as Error).message}`);
    }
  }
  throw new Error(`no mirror gave a verified ${opts.label ?? dest}:\n${failures.join('\n')}\nDownload it by hand, place it at ${dest} and call again (with offline: true nothing is fetched).`);
}

/** Downloads, verifies and extracts Oxford 102 flowers into `root`; returns `root`. */
export async function downloadFlowers102(opts: DownloaderOptions & { baseUrl?: string } = {}): Promise<string> {
  const root = opts.root ?? downloadRoot('flowers102');
  const base = (opts.baseUrl ?? FLOWERS102_BASE_URL).replace(/\/?$/, '/');
  mkdirSync(root, { recursive: true });
  const archive = join(root, '102flowers.tgz');
  const want = expected('102flowers.tgz', FLOWERS102_FILES['102flowers.tgz'], opts);
  const stamp = want.md5 ?? want.sha256!;
  for (const [file, official] of Object.entries(FLOWERS102_FILES)) {
    // Once extracted, the archive is no longer needed (the user may delete it to save 345 MB).
    if (file === '102flowers.tgz' && alreadyExtracted(archive, root, stamp)) continue;
    await fetchFirst(opts.baseUrl ? [base + file] : mirrorUrls('flowers102', file, [base + file]), join(root, file), { ...fetchOptions(opts), ...expected(file, official, opts), label: file });
  }
  if (!alreadyExtracted(archive, root, stamp)) await extractTgz(archive, root, stamp, opts.progress ?? true);
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
  const stamp = want.md5 ?? want.sha256!;
  if (!alreadyExtracted(archive, root, stamp)) {
    const mirrors = opts.mirrors ?? mirrorUrls('cub200', CUB200_ARCHIVE, CUB200_MIRRORS);
    const failures: string[] = [];
    for (const url of mirrors) {
      try {
        await downloadFile(url, archive, { ...fetchOptions(opts), ...want, label: CUB200_ARCHIVE });
        break;
      } catch (e) {
        if (e instanceof OfflineError) throw e;
        failures.push(`  ${url}: ${(e as Error).message}`);
      }
    }
    if (failures.length === mirrors.length) {
      throw new Error(
        `CUB-200-2011: no mirror gave a verified ${CUB200_ARCHIVE}:\n${failures.join('\n')}\n` +
          `Download it by hand (e.g. Google Drive id 1hbzc_P1FuxMkcabkgn9ZKinBwW683j45), place it at ${archive} and call again, or pass mirrors: [...].`,
      );
    }
    await extractTgz(archive, root, stamp, opts.progress ?? true);
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

/**
 * Downloads (scikit-learn's figshare copy, then UMass), verifies (SHA-256) and extracts LFW into
 * `root` (default datasets/lfw/); returns `root`. `funneled: true` takes lfw-funneled.tgz (the
 * aligned photos) instead of lfw.tgz.
 */
export async function downloadLfw(opts: DownloaderOptions & { funneled?: boolean; mirrors?: string[] } = {}): Promise<string> {
  const root = opts.root ?? downloadRoot('lfw');
  mkdirSync(root, { recursive: true });
  const file = opts.funneled ? 'lfw-funneled.tgz' : 'lfw.tgz';
  const archive = join(root, file);
  const want = expected(file, LFW_FILES[file], opts);
  const stamp = want.sha256 ?? want.md5!;
  if (!alreadyExtracted(archive, root, stamp)) {
    await fetchFirst(opts.mirrors ?? mirrorUrls('lfw', file, LFW_FILES[file].mirrors), archive, { ...fetchOptions(opts), ...want, label: file });
    await extractTgz(archive, root, stamp, opts.progress ?? true);
  }
  try {
    lfwFolder(root);
  } catch {
    throw new Error(`${file} did not give the expected layout: no ${join(root, opts.funneled ? 'lfw_funneled' : 'lfw')}/<Person_Name>/<Person_Name>_0001.jpg (found ${readdirSync(root).join(', ')})`);
  }
  return root;
}
