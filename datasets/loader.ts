/**
 * loadDataset: find the data, list the split, pick classes, then decode + crop + resize every image
 * once and keep the result in the preprocessed cache.
 *
 * Corrupt or truncated images are skipped and counted (not fatal): one bad file among thousands of
 * web images should not stop a training run. The count and the first few names are printed and
 * kept in `ImageDataset.skipped`. Every other problem (missing metadata, a wrong layout, an empty
 * identity folder) is an error that says what was expected.
 */
import { createHash } from 'crypto';
import { existsSync, readFileSync, readdirSync } from 'fs';
import { join } from 'path';
import { cacheFilePath, fingerprint, readCache, writeCache, type CachedImages } from './cache';
import { indexCub200 } from './cub200';
import { downloadCub200, downloadFlowers102, downloadLfw } from './downloaders';
import { indexFaces } from './faces';
import { holdsData, localCandidates } from './find';
import { indexFlowers102 } from './flowers102';
import { CorruptImageError, Resizer, cropRect, decodeImage } from './imagefile';
import { indexLfw, LFW_MIN_IMAGES } from './lfw';
import { cacheRoot } from './paths';
import { ProgressReporter } from './reporter';
import type { ClassSelection, CropMode, DatasetName, ImageDataset, LoadOptions, SourceIndex } from './types';

/** Bump when decoding or resizing changes, so old caches are not reused. */
const PIPELINE_VERSION = 2; // 2: JPEGs with damaged scan data are skipped (datasets/jpeg-scan.ts)
export const DATASET_NAMES: readonly DatasetName[] = ['flowers102', 'cub200', 'faces', 'lfw'];
export const RESOLUTIONS = [32, 64, 128] as const;
export const DEFAULT_CROP: Record<DatasetName, CropMode> = { flowers102: 'center', cub200: 'bbox', faces: 'center', lfw: 'face' };
/** Default split: the official training images, so that test images stay unseen unless asked for. */
export const DEFAULT_SPLIT = 'train';
/** Selections applied unless the caller sets them: LFW keeps the people with at least 20 photos (62). */
const DEFAULT_SELECTION: Partial<Record<DatasetName, ClassSelection>> = { lfw: { minImages: LFW_MIN_IMAGES } };

const DOWNLOAD_HINT: Record<DatasetName, string> = {
  flowers102: 'downloadFlowers102()',
  cub200: 'downloadCub200()',
  faces: 'downloadFaceScrub({ lists: [...] }) or an identity-per-folder copy (CelebA crops), or use LFW (downloadLfw(), findOrFetch(\'faces\'))',
  lfw: 'downloadLfw()',
};

/** `sel` with the dataset's default selection filled in (LFW: minImages 20). */
export function withDefaultSelection(name: DatasetName, sel: ClassSelection = {}): ClassSelection {
  return { ...DEFAULT_SELECTION[name], ...sel };
}

/**
 * The dataset root: `root` when given, else the download folder `datasets/<name>/` when it holds the
 * data, else the staged copy under `sharedDatasetsRoot()`. An error names all the places tried.
 * No network: findOrFetch (datasets/find.ts) downloads when nothing is found.
 */
export function resolveRoot(name: DatasetName, root?: string): string {
  if (!DATASET_NAMES.includes(name)) throw new Error(`unknown dataset '${name}'; use one of ${DATASET_NAMES.join(', ')}`);
  if (root !== undefined) {
    if (!existsSync(root)) throw new Error(`${name}: root ${root} does not exist`);
    return root;
  }
  const candidates = localCandidates(name);
  const found = candidates.find((dir) => holdsData(name, dir));
  if (found) return found;
  throw new Error(`${name}: no data found in ${candidates.join(' or ')}. Download it with ${DOWNLOAD_HINT[name]}, or pass root: '<folder>' pointing at a copy on disk.`);
}

async function findOrDownload(name: DatasetName, progress: boolean): Promise<string> {
  try {
    return resolveRoot(name);
  } catch (e) {
    if (name === 'flowers102') return downloadFlowers102({ progress });
    if (name === 'cub200') return downloadCub200({ progress });
    if (name === 'lfw') return downloadLfw({ progress });
    throw e;
  }
}

/** Lists one split of a dataset (no decoding): files, labels, class names and sizes. */
export function indexDataset(name: DatasetName, root: string, split: string): SourceIndex {
  if (name === 'flowers102') return indexFlowers102(root, split);
  if (name === 'cub200') return indexCub200(root, split);
  if (name === 'faces') return indexFaces(root, split);
  if (name === 'lfw') return indexLfw(root, split);
  throw new Error(`unknown dataset '${name}'; use one of ${DATASET_NAMES.join(', ')}`);
}

/**
 * The full-dataset class indices kept by `sel`, in class order. Counts for `minImages` come from
 * the whole dataset, so every split of one selection has the same classes and labels.
 */
export function selectClassIds(index: SourceIndex, sel: ClassSelection = {}): number[] {
  const n = index.classNames.length;
  let ids = Array.from({ length: n }, (_, i) => i);
  if (sel.ids) {
    const bad = sel.ids.filter((i) => !Number.isInteger(i) || i < 0 || i >= n);
    if (bad.length) throw new Error(`classes.ids ${bad.join(', ')} out of range: ${index.name} has classes 0..${n - 1} (0-based)`);
    const wanted = new Set(sel.ids);
    ids = ids.filter((i) => wanted.has(i));
  }
  if (sel.minImages !== undefined) ids = ids.filter((i) => index.classSizes[i] >= sel.minImages!);
  if (sel.first !== undefined) {
    if (!Number.isInteger(sel.first) || sel.first < 1) throw new Error(`classes.first must be a positive integer, got ${sel.first}`);
    if (sel.first > ids.length) {
      const what = ids.length === n ? `the copy at ${index.root} has ${n} classes` : `${ids.length} of its ${n} classes pass the other filters (${JSON.stringify({ ...sel, first: undefined })})`;
      throw new Error(`${index.name}: classes.first asks for the first ${sel.first} classes, but ${what}; ask for at most ${ids.length}`);
    }
    ids = ids.slice(0, sel.first);
  }
  if (ids.length === 0) throw new Error(`${index.name}: the class selection ${JSON.stringify(sel)} keeps no class (largest class has ${Math.max(...index.classSizes)} images)`);
  return ids;
}

/** Keeps the images of `classIds` (relabelled 0..k-1) and at most `maxPerClass` of each. */
export function applySelection(index: SourceIndex, classIds: number[], maxPerClass?: number): SourceIndex {
  if (maxPerClass !== undefined && (!Number.isInteger(maxPerClass) || maxPerClass < 1)) throw new Error(`maxPerClass must be a positive integer, got ${maxPerClass}`);
  const newLabel = new Map(classIds.map((id, i) => [id, i]));
  const taken = new Array<number>(classIds.length).fill(0);
  const keep: number[] = [];
  index.labels.forEach((l, i) => {
    const nl = newLabel.get(l);
    if (nl === undefined || (maxPerClass !== undefined && taken[nl] >= maxPerClass)) return;
    taken[nl]++;
    keep.push(i);
  });
  return {
    ...index,
    files: keep.map((i) => index.files[i]),
    labels: keep.map((i) => newLabel.get(index.labels[i])!),
    boxes: index.boxes && keep.map((i) => index.boxes![i]),
    classNames: classIds.map((id) => index.classNames[id]),
    classSizes: classIds.map((id) => index.classSizes[id]),
  };
}

/**
 * Every selected file must exist. Checked after selecting classes, so a partial copy (some classes
 * only) still loads what it has; one directory listing per folder instead of one stat per image.
 */
function checkPresent(index: SourceIndex): void {
  const listings = new Map<string, Set<string>>();
  const missing = index.files.filter((f) => {
    const cut = f.lastIndexOf('/');
    const dir = cut < 0 ? '' : f.slice(0, cut);
    if (!listings.has(dir)) {
      try {
        listings.set(dir, new Set(readdirSync(join(index.root, dir))));
      } catch {
        listings.set(dir, new Set());
      }
    }
    return !listings.get(dir)!.has(f.slice(cut + 1));
  });
  if (missing.length) {
    throw new Error(`${index.name}: ${missing.length} of the ${index.files.length} selected images are missing under ${index.root} (first: ${missing.slice(0, 3).join(', ')}); the copy is incomplete: extract the archive again (the downloader does it) or select only the classes present`);
  }
}

function validateOptions(opts: LoadOptions): void {
  if (!(RESOLUTIONS as readonly number[]).includes(opts.resolution)) {
    throw new Error(`resolution must be one of ${RESOLUTIONS.join(', ')}, got ${opts.resolution}`);
  }
  const crop = opts.crop;
  if (crop !== undefined && !['center', 'full', 'bbox', 'face'].includes(crop)) throw new Error(`crop must be 'center', 'full', 'bbox' or 'face', got '${crop}'`);
  if (crop === 'bbox' && opts.name !== 'cub200') throw new Error(`crop 'bbox' needs bounding boxes, which only cub200 has; use 'center' or 'full' for ${opts.name}`);
}

async function decodeAll(index: SourceIndex, size: number, crop: CropMode, progress: boolean, label: string): Promise<CachedImages> {
  const n = index.files.length;
  const pixels = new Uint8Array(n * size * size * 3);
  const resizer = new Resizer(size);
  const files: string[] = [];
  const labels: number[] = [];
  const skipped: string[] = [];
  const bar = new ProgressReporter(label, n, { enabled: progress });
  for (let i = 0; i < n; i++) {
    const file = index.files[i];
    const path = join(index.root, file);
    try {
      const img = await decodeImage(readFileSync(path), path);
      const rect = cropRect(img.width, img.height, crop, index.boxes?.[i]);
      resizer.draw(img, rect, pixels, files.length * size * size * 3);
      files.push(file);
      labels.push(index.labels[i]);
    } catch (e) {
      if (!(e instanceof CorruptImageError)) throw new Error(`${path}: ${(e as Error).message}`);
      skipped.push(file);
    }
    bar.add();
  }
  bar.finish(skipped.length ? `${skipped.length} corrupt image(s) skipped` : undefined);
  const used = files.length * size * size * 3;
  return { files, labels, skipped, pixels: used === pixels.length ? pixels : pixels.slice(0, used) };
}

/**
 * Loads one split of a dataset as compact RGB bytes at `resolution`, from the cache when it holds
 * this exact selection of these exact source files.
 */
export async function loadDataset(opts: LoadOptions): Promise<ImageDataset> {
  validateOptions(opts);
  const { name, resolution } = opts;
  const split = opts.split ?? DEFAULT_SPLIT;
  const crop = opts.crop ?? DEFAULT_CROP[name];
  const progress = opts.progress ?? true;
  const root = opts.download && opts.root === undefined ? await findOrDownload(name, progress) : resolveRoot(name, opts.root);
  const full = indexDataset(name, root, split);
  const classIds = selectClassIds(full, withDefaultSelection(name, opts.classes));
  const index = applySelection(full, classIds, opts.maxPerClass);
  const label = `${name} ${split} ${resolution}px`;
  if (index.files.length === 0) throw new Error(`${label}: the selection has no images`);
  checkPresent(index);

  const started = Date.now();
  const keyHash = createHash('sha256')
    .update(JSON.stringify({ v: PIPELINE_VERSION, name, split, resolution, crop, classIds, maxPerClass: opts.maxPerClass ?? null, files: fingerprint(index.root, index.files), labels: index.labels, boxes: index.boxes ?? null }))
    .digest('hex');
  const cacheDir = opts.cacheDir === false ? undefined : (opts.cacheDir ?? cacheRoot());
  const cachePath = cacheDir && cacheFilePath(cacheDir, `${name}-${split}-${resolution}px-${crop}`, keyHash);

  const cached = cachePath ? readCache(cachePath, keyHash) : undefined;
  let data: CachedImages | undefined;
  if (cached !== undefined) {
    if ('corrupt' in cached) {
      console.log(`${label}: cache file ${cachePath} is unusable (${cached.corrupt}); rebuilding it`);
    } else {
      data = cached;
      if (progress) console.log(`${label}: ${data.files.length} images from cache in ${((Date.now() - started) / 1000).toFixed(2)} s`);
    }
  }
  const fromCache = data !== undefined;
  if (!data) {
    data = await decodeAll(index, resolution, crop, progress, label);
    if (cachePath) writeCache(cachePath, keyHash, data);
  }
  if (data.skipped.length) {
    console.log(`${label}: skipped ${data.skipped.length} corrupt or truncated image(s): ${data.skipped.slice(0, 5).join(', ')}${data.skipped.length > 5 ? ', ...' : ''}`);
  }
  // A class whose every image was skipped would stay as a label with no images.
  const perClass = new Array<number>(classIds.length).fill(0);
  for (const l of data.labels) perClass[l]++;
  const empty = perClass.flatMap((c, k) => (c === 0 ? [k] : []));
  if (empty.length) {
    const names = empty.map((k) => `${index.classNames[k]} (${index.labels.filter((l) => l === k).length} files)`);
    throw new Error(`${label}: every image of class(es) ${names.slice(0, 5).join(', ')}${names.length > 5 ? ', ...' : ''} is corrupt or truncated, so the class would have no images; fix or remove those files or folders, or select other classes`);
  }
  return {
    name,
    split,
    resolution,
    images: data.pixels,
    labels: Int32Array.from(data.labels),
    classNames: index.classNames,
    files: data.files,
    numClasses: classIds.length,
    root: index.root,
    crop,
    classIds,
    skipped: data.skipped,
    fromCache,
  };
}
