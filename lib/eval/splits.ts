/**
 * The data of a Table 1 run: its classes loaded and split 80/20 per class by a fixed rule
 * (loadSplit), and subsets of a dataset as datasets of their own.
 */
import { basename } from 'path';
import { indexDataset, loadDataset, resolveRoot, selectClassIds, splitIdentity, withDefaultSelection } from '../../datasets/index';
import type { DatasetName, ImageDataset } from '../../datasets/index';

/** Share of each class's images in the test split, and how it is drawn (datasets/faces.ts's rule). */
export const TEST_FRACTION = 0.2;

export interface DataSplit {
  train: ImageDataset;
  test: ImageDataset;
  /** Classes of the full dataset (before the subset). */
  totalClasses: number;
  /** Set when the budget's class count was more than the copy has, and all its classes are used. */
  classesNote?: string;
}

/** The images `idx` of a dataset as a dataset of their own (pixels copied). */
export function subsetDataset(ds: ImageDataset, idx: readonly number[], split: string): ImageDataset {
  const per = ds.resolution * ds.resolution * 3;
  const images = new Uint8Array(idx.length * per);
  idx.forEach((i, k) => images.set(ds.images.subarray(i * per, (i + 1) * per), k * per));
  return { ...ds, split, images, labels: Int32Array.from(idx, (i) => ds.labels[i]), files: idx.map((i) => ds.files[i]) };
}

/**
 * Loads the classes of a run and splits them 80/20 per class: within each class, files sorted by
 * the SHA-1 of their base name, the first round(20%) are test. This is datasets/faces.ts's rule,
 * applied to all three datasets so they are treated alike; for faces it gives the loader's own
 * train/test split. Why not the official splits: the paper's split is unknown ([R]: a random
 * 80/20 per class), flowers' official training split has only 10 images per class (too few to
 * train a generator) and CUB's is about 50/50.
 */
export async function loadSplit(opts: {
  dataset: DatasetName;
  resolution: 32 | 64 | 128;
  /** The first K classes, as asked for (--classes): more than the copy has is an error. */
  classes?: number;
  /** The first K classes by a preset's budget, when `classes` is not given: at most what the copy has. */
  budgetClasses?: number;
  maxPerClass?: number;
  root?: string;
  progress?: boolean;
}): Promise<DataSplit> {
  const root = resolveRoot(opts.dataset, opts.root);
  // Classes of the copy that the dataset's default selection keeps (LFW: people with >= 20 photos).
  const totalClasses = selectClassIds(indexDataset(opts.dataset, root, 'all'), withDefaultSelection(opts.dataset)).length;
  if (opts.classes !== undefined && opts.classes > totalClasses) {
    throw new Error(`${opts.dataset}: ${opts.classes} classes asked for (--classes), but the copy at ${root} has ${totalClasses}; ask for at most ${totalClasses}`);
  }
  let classes = opts.classes ?? opts.budgetClasses;
  let classesNote: string | undefined;
  if (opts.classes === undefined && classes !== undefined && classes > totalClasses) {
    classesNote = `the preset's budget takes the first ${classes} classes, but the copy at ${root} has ${totalClasses}: all ${totalClasses} are used`;
    classes = totalClasses;
  }
  const all = await loadDataset({
    name: opts.dataset, split: 'all', resolution: opts.resolution, root, maxPerClass: opts.maxPerClass,
    classes: classes ? { first: classes } : undefined, progress: opts.progress ?? true,
  });
  const byClass: number[][] = Array.from({ length: all.numClasses }, () => []);
  all.labels.forEach((l, i) => byClass[l].push(i));
  const train: number[] = [];
  const test: number[] = [];
  for (const idx of byClass) {
    const names = idx.map((i) => basename(all.files[i]));
    const testNames = new Set(splitIdentity(names, 'test'));
    for (const i of idx) (testNames.has(basename(all.files[i])) ? test : train).push(i);
  }
  const small = byClass.map((idx, c) => ({ c, n: idx.length })).filter((x) => x.n < 5);
  if (small.length) throw new Error(`${opts.dataset}: classes ${small.map((x) => `${all.classNames[x.c]} (${x.n})`).join(', ')} have fewer than 5 images; an 80/20 split needs more`);
  return { train: subsetDataset(all, train, 'train'), test: subsetDataset(all, test, 'test'), totalClasses, ...(classesNote ? { classesNote } : {}) };
}
