/**
 * Oxford 102 Category Flowers (Nilsback & Zisserman 2008) in its official layout:
 *   <root>/jpg/image_00001.jpg ... image_08189.jpg, <root>/imagelabels.mat, <root>/setid.mat
 * with the official split (setid.mat: trnid 1,020 / valid 1,020 / tstid 6,149).
 */
import { existsSync } from 'fs';
import { join } from 'path';
import { numericVariable, readMatFile } from './matfile';
import type { SourceIndex } from './types';

/**
 * Class names by label 1..102. The official files have none; this is the widely used list from
 * Udacity's `cat_to_name.json` (keys "1".."102" = the imagelabels.mat values), verbatim, including
 * its "lotus lotus" for class 78.
 */
export const FLOWERS102_CLASS_NAMES: readonly string[] = [
  "pink primrose", "hard-leaved pocket orchid", "canterbury bells", "sweet pea", "english marigold", "tiger lily",
  "moon orchid", "bird of paradise", "monkshood", "globe thistle", "snapdragon", "colt's foot",
  "king protea", "spear thistle", "yellow iris", "globe-flower", "purple coneflower", "peruvian lily",
  "balloon flower", "giant white arum lily", "fire lily", "pincushion flower", "fritillary", "red ginger",
  "grape hyacinth", "corn poppy", "prince of wales feathers", "stemless gentian", "artichoke", "sweet william",
  "carnation", "garden phlox", "love in the mist", "mexican aster", "alpine sea holly", "ruby-lipped cattleya",
  "cape flower", "great masterwort", "siam tulip", "lenten rose", "barbeton daisy", "daffodil",
  "sword lily", "poinsettia", "bolero deep blue", "wallflower", "marigold", "buttercup",
  "oxeye daisy", "common dandelion", "petunia", "wild pansy", "primula", "sunflower",
  "pelargonium", "bishop of llandaff", "gaura", "geranium", "orange dahlia", "pink-yellow dahlia",
  "cautleya spicata", "japanese anemone", "black-eyed susan", "silverbush", "californian poppy", "osteospermum",
  "spring crocus", "bearded iris", "windflower", "tree poppy", "gazania", "azalea",
  "water lily", "rose", "thorn apple", "morning glory", "passion flower", "lotus lotus",
  "toad lily", "anthurium", "frangipani", "clematis", "hibiscus", "columbine",
  "desert-rose", "tree mallow", "magnolia", "cyclamen", "watercress", "canna lily",
  "hippeastrum", "bee balm", "ball moss", "foxglove", "bougainvillea", "camellia",
  "mallow", "mexican petunia", "bromelia", "blanket flower", "trumpet creeper", "blackberry lily",
];

export const FLOWERS102_SPLITS = ['train', 'val', 'test', 'trainval', 'all'] as const;

export const flowersImageFile = (n: number) => `jpg/image_${String(n).padStart(5, '0')}.jpg`;

function requireFile(root: string, name: string): string {
  const path = join(root, name);
  if (!existsSync(path)) {
    throw new Error(`Oxford flowers: ${path} is missing. Expected the official layout <root>/jpg/image_NNNNN.jpg, <root>/imagelabels.mat, <root>/setid.mat (downloadFlowers102() fetches it).`);
  }
  return path;
}

/** Reads the labels and split files and lists the images of `split`, in ascending image number. */
export function indexFlowers102(root: string, split: string): SourceIndex {
  if (!(FLOWERS102_SPLITS as readonly string[]).includes(split)) {
    throw new Error(`Oxford flowers has no split '${split}'; use one of ${FLOWERS102_SPLITS.join(', ')}`);
  }
  const labelsPath = requireFile(root, 'imagelabels.mat');
  const setidPath = requireFile(root, 'setid.mat');
  requireFile(root, 'jpg');
  const labels = numericVariable(readMatFile(labelsPath), 'labels', labelsPath);
  const sets = readMatFile(setidPath);
  const count = labels.length;
  let numClasses = 0;
  for (const l of labels) {
    if (!Number.isInteger(l) || l < 1) throw new Error(`${labelsPath}: labels must be integers >= 1, found ${l}`);
    numClasses = Math.max(numClasses, l);
  }
  const byName = { train: ['trnid'], val: ['valid'], test: ['tstid'], trainval: ['trnid', 'valid'], all: [] as string[] }[split as (typeof FLOWERS102_SPLITS)[number]];
  let numbers: number[];
  if (split === 'all') {
    numbers = Array.from({ length: count }, (_, i) => i + 1);
  } else {
    numbers = byName.flatMap((v) => Array.from(numericVariable(sets, v, setidPath)));
    for (const n of numbers) {
      if (!Number.isInteger(n) || n < 1 || n > count) throw new Error(`${setidPath}: image number ${n} is outside 1..${count} (imagelabels.mat has ${count} labels)`);
    }
    numbers.sort((a, b) => a - b);
  }
  const files = numbers.map(flowersImageFile);
  const classSizes = new Array<number>(numClasses).fill(0);
  for (const l of labels) classSizes[l - 1]++;
  const classNames = numClasses === FLOWERS102_CLASS_NAMES.length ? [...FLOWERS102_CLASS_NAMES] : Array.from({ length: numClasses }, (_, i) => `class ${i + 1}`);
  return { name: 'flowers102', root, files, labels: numbers.map((n) => labels[n - 1] - 1), classNames, classSizes };
}
