/**
 * The datasets API: loaders, batching, downloaders. In notebooks import `./datasets/index` (tslab
 * does not resolve a folder to its index.ts); elsewhere `./datasets` works too.
 *
 *   await downloadFlowers102();                       // once, on a machine with internet
 *   const ds = await loadDataset({ name: 'flowers102', split: 'train', resolution: 64 });
 *   const batches = new Batcher(ds, 64, 1);           // batches.next().x: [64, 64, 64, 3] in [-1, 1]
 *
 * Offline: pass `root` to loadDataset (or place the official files in datasets/<name>/); without
 * either, the staged copy in ../shared/datasets is used.
 */
export * from './types';
export { loadDataset, resolveRoot, indexDataset, selectClassIds, applySelection, DATASET_NAMES, RESOLUTIONS, DEFAULT_CROP, DEFAULT_SPLIT } from './loader';
export { toTensor, Batcher, epochPermutation, seededRandom } from './batching';
export type { Batch, BatcherState } from './batching';
export { FLOWERS102_CLASS_NAMES, FLOWERS102_SPLITS, indexFlowers102 } from './flowers102';
export { CUB200_SPLITS, indexCub200 } from './cub200';
export { FACES_SPLITS, FACES_TEST_FRACTION, indexFaces, splitIdentity } from './faces';
export { parseMat, readMatFile, numericVariable, MatFileError } from './matfile';
export type { MatVariable } from './matfile';
export { CorruptImageError, cropRect, incompleteReason } from './imagefile';
export { jpegScanDamage } from './jpeg-scan';
export { ProgressReporter } from './reporter';
export { cacheRoot, downloadRoot, sharedDatasetsRoot, sharedDataset } from './paths';
export { downloadFlowers102, downloadCub200, FLOWERS102_BASE_URL, FLOWERS102_FILES, CUB200_MIRRORS, CUB200_FILE, CUB200_ARCHIVE } from './downloaders';
export type { DownloaderOptions, OfficialFile } from './downloaders';
export { downloadFaceScrub, parseFaceScrubList, faceFile } from './facescrub';
export type { FaceScrubOptions, FaceScrubResult, FaceScrubRow } from './facescrub';
export { downloadFile, fetchBuffer, md5File, HttpError, ChecksumError } from './fetcher';
export type { FetchOptions, DownloadOptions } from './fetcher';
export { extractTgz } from './archive';
