/** Shared shapes of the dataset loaders. */

export type DatasetName = 'flowers102' | 'cub200' | 'faces' | 'lfw';
export type Resolution = 32 | 64 | 128;
/**
 * How each source image is cut before it is resized to a square:
 * - `center`: the largest centred square (keeps the aspect ratio; the default except for CUB);
 * - `full`: the whole image, squeezed to a square (aspect ratio not kept);
 * - `bbox`: the annotated box clipped to the image, squeezed to a square (CUB only; the default there);
 * - `face`: the face square of an LFW frame (datasets/lfw.ts; the default for LFW).
 */
export type CropMode = 'center' | 'full' | 'bbox' | 'face';

/** A crop rectangle in source pixels (x, y = top-left corner). */
export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface ClassSelection {
  /** Keep only the first K classes (after the other filters), in the dataset's class order. */
  first?: number;
  /** Keep only classes with at least M images in the whole dataset (all splits counted; LFW's default: 20). */
  minImages?: number;
  /** Keep only these classes: 0-based indices into the full dataset's class list (official id - 1). */
  ids?: number[];
}

export interface LoadOptions {
  name: DatasetName;
  /** Where the data is; defaults to the download folder, else the staged copy (see resolveRoot). */
  root?: string;
  /** flowers102: train | val | test | trainval | all; cub200, faces and lfw: train | test | all. Default 'train'. */
  split?: string;
  resolution: Resolution;
  crop?: CropMode;
  classes?: ClassSelection;
  /** At most this many images per class (the first ones in the dataset's file order). */
  maxPerClass?: number;
  /** Folder of preprocessed caches (default `cacheRoot()`); `false` disables caching. */
  cacheDir?: string | false;
  /** Print progress (default true). */
  progress?: boolean;
  /**
   * When no copy is found (no `root` given, nothing in the download folder or the staged copy),
   * download it first with downloadFlowers102 / downloadCub200 / downloadLfw (default false). Faces
   * cannot be fetched this way: FaceScrub needs the authors' URL lists (downloadFaceScrub);
   * findOrFetch('faces') falls back to LFW instead.
   */
  download?: boolean;
}

export interface ImageDataset {
  name: DatasetName;
  split: string;
  resolution: number;
  /** N*H*W*3 RGB, NHWC, 0..255. Scaled to [-1, 1] only when batched (toTensor), to save memory. */
  images: Uint8Array;
  /** 0-based class per image, contiguous 0..numClasses-1 after subsetting. */
  labels: Int32Array;
  /** Human-readable class names, index = label. */
  classNames: string[];
  /** Source file of each image, relative to the dataset root. */
  files: string[];
  numClasses: number;
  /** The folder the images were read from. */
  root: string;
  crop: CropMode;
  /** For each label, the class's index in the full (unsubsetted) dataset. */
  classIds: number[];
  /** Source files that could not be decoded (truncated or corrupt) and were left out. */
  skipped: string[];
  /** True when the pixels came from the preprocessed cache. */
  fromCache: boolean;
}

/**
 * What a dataset reader finds on disk for one split, before any pixel is decoded: the source of
 * truth for counts, labels and splits.
 */
export interface SourceIndex {
  name: DatasetName;
  root: string;
  /** Paths relative to root, in the dataset's canonical order. */
  files: string[];
  /** 0-based class index in the full dataset. */
  labels: number[];
  /** Names of all classes of the full dataset. */
  classNames: string[];
  /** Number of images per class in the whole dataset (all splits), for `minImages`. */
  classSizes: number[];
  /** Per-image crop box in source pixels (CUB), when the dataset has one. */
  boxes?: Box[];
}
