/**
 * The datasets API: loaders, batching, downloaders. In notebooks import `./datasets/index` (tslab
 * does not resolve a folder to its index.ts); elsewhere `./datasets` works too.
 *
 *   const { dataset, root } = await findOrFetch('flowers102');   // a local copy, else the official files
 *   const ds = await loadDataset({ name: dataset, root, split: 'train', resolution: 64 });
 *   const batches = new Batcher(ds, 64, 1);           // batches.next().x: [64, 64, 64, 3] in [-1, 1]
 *
 * Offline: findOrFetch(name, { offline: true }) (or CVAEGAN_OFFLINE=1) never opens a connection;
 * official files placed in datasets/<name>/ are verified and extracted, and the staged copy in
 * ../shared/datasets is used when present.
 */
export * from './types';
export { loadDataset, resolveRoot, indexDataset, selectClassIds, applySelection, withDefaultSelection, DATASET_NAMES, RESOLUTIONS, DEFAULT_CROP, DEFAULT_SPLIT } from './loader';
export { findOrFetch, findLocal, localCandidates, officialFilesHint } from './find';
export type { FindOptions, FoundDataset } from './find';
export { toTensor, Batcher, epochPermutation, seededRandom } from './batching';
export type { Batch, BatcherState } from './batching';
export { FLOWERS102_CLASS_NAMES, FLOWERS102_SPLITS, indexFlowers102 } from './flowers102';
export { CUB200_SPLITS, indexCub200 } from './cub200';
export { FACES_SPLITS, FACES_TEST_FRACTION, indexFaces, splitIdentity } from './faces';
export { LFW_FOLDERS, LFW_MIN_IMAGES, LFW_SPLITS, indexLfw, lfwFaceBox, lfwFolder } from './lfw';
export { parseMat, readMatFile, numericVariable, MatFileError } from './matfile';
export type { MatVariable } from './matfile';
export { CorruptImageError, cropRect, incompleteReason } from './imagefile';
export { jpegScanDamage } from './jpeg-scan';
export { ProgressReporter } from './reporter';
export { cacheRoot, checksumOverrides, downloadRoot, mirrorUrls, offlineByEnvironment, sharedDatasetsRoot, sharedDataset } from './paths';
export { downloadFlowers102, downloadCub200, downloadLfw, FLOWERS102_BASE_URL, FLOWERS102_FILES, CUB200_MIRRORS, CUB200_FILE, CUB200_ARCHIVE, LFW_FILES } from './downloaders';
export type { DownloaderOptions, OfficialFile } from './downloaders';
export { downloadFaceScrub, parseFaceScrubList, faceFile } from './facescrub';
export type { FaceScrubOptions, FaceScrubResult, FaceScrubRow } from './facescrub';
export { downloadFile, fetchBuffer, md5File, sha256File, HttpError, ChecksumError, OfflineError } from './fetcher';
export type { FetchOptions, DownloadOptions } from './fetcher';
export { extractTgz } from './archive';
