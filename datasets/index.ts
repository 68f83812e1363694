/** The datasets API: loaders, batching, downloaders. */
export * from './types';
export { loadDataset, resolveRoot, indexDataset, selectClassIds, applySelection, DATASET_NAMES, RESOLUTIONS, DEFAULT_CROP, DEFAULT_SPLIT } from './loader';
export { toTensor, Batcher, epochPermutation, seededRandom } from './batching';
export type { Batch, BatcherState } from './batching';
export { FLOWERS102_CLASS_NAMES, FLOWERS102_SPLITS, indexFlowers102 } from './flowers102';
export { CUB200_SPLITS, indexCub200 } from './cub200';
export { FACES_SPLITS, FACES_TEST_FRACTION, indexFaces, splitIdentity } from './faces';
export { parseMat, readMatFile, numericVariable, MatFileError } from './matfile';
export type { MatVariable } from './matfile';
export { CorruptImageError, incompleteReason } from './imagefile';
export { ProgressReporter } from './reporter';
export { cacheRoot, downloadRoot, sharedDatasetsRoot, sharedDataset } from './paths';
