/**
 * Caltech-UCSD Birds-200-2011 in its official layout (the `CUB_200_2011/` folder of
 * CUB_200_2011.tgz): images/<NNN.Class>/<file>.jpg plus images.txt, classes.txt,
 * image_class_labels.txt, train_test_split.txt and bounding_boxes.txt (space-separated, 1-based ids).
 * Works unchanged on a subset whose metadata lists only the images present (the staged copy).
 */
import { existsSync, readFileSync } from 'fs';
import { join } from 'path';
import type { Box, SourceIndex } from './types';

export const CUB200_SPLITS = ['train', 'test', 'all'] as const;
export const CUB200_METADATA = ['images.txt', 'classes.txt', 'image_class_labels.txt', 'train_test_split.txt', 'bounding_boxes.txt'] as const;

/** The CUB_200_2011 folder under `root` (root itself, or root/CUB_200_2011), or an error saying what was expected. */
export function cubFolder(root: string): string {
  for (const dir of [root, join(root, 'CUB_200_2011')]) if (existsSync(join(dir, 'images.txt'))) return dir;
  throw new Error(`CUB-200-2011: no images.txt in ${root} or ${join(root, 'CUB_200_2011')}. Expected the official layout CUB_200_2011/{images/, ${CUB200_METADATA.join(', ')}} (downloadCub200() fetches it).`);
}

/** Rows of a metadata file as [id, ...fields], with errors naming file and line. */
function readTable(dir: string, name: string, fields: number): Map<number, string[]> {
  const path = join(dir, name);
  if (!existsSync(path)) throw new Error(`CUB-200-2011: metadata file ${path} is missing (expected the official ${CUB200_METADATA.join(', ')})`);
  const rows = new Map<number, string[]>();
  readFileSync(path, 'utf8').split(/\r?\n/).forEach((line, i) => {
    if (!line.trim()) return;
    const parts = line.trim().split(/\s+/);
    const id = Number(parts[0]);
    // images.txt paths contain no spaces in the official release; anything else is a format error.
    if (parts.length !== fields + 1 || !Number.isInteger(id)) {
      throw new Error(`${path}:${i + 1}: expected "<id> ${fields} field(s)", found ${JSON.stringify(line)}`);
    }
    rows.set(id, parts.slice(1));
  });
  return rows;
}

/** "001.Black_footed_Albatross" -> "Black footed Albatross". */
export const cubClassName = (folder: string) => folder.replace(/^\d+\./, '').replace(/_/g, ' ');

export function indexCub200(root: string, split: string): SourceIndex {
  if (!(CUB200_SPLITS as readonly string[]).includes(split)) throw new Error(`CUB-200-2011 has no split '${split}'; use one of ${CUB200_SPLITS.join(', ')}`);
  const dir = cubFolder(root);
  const images = readTable(dir, 'images.txt', 1);
  const classes = readTable(dir, 'classes.txt', 1);
  const imageClass = readTable(dir, 'image_class_labels.txt', 1);
  const trainTest = readTable(dir, 'train_test_split.txt', 1);
  const boxes = readTable(dir, 'bounding_boxes.txt', 4);

  // Class index = position in classes.txt (ids 1..200 in the official file).
  const classIds = [...classes.keys()].sort((a, b) => a - b);
  const classIndex = new Map(classIds.map((id, i) => [id, i]));
  const classNames = classIds.map((id) => cubClassName(classes.get(id)![0]));
  const classSizes = new Array<number>(classIds.length).fill(0);

  const imageIds = [...images.keys()].sort((a, b) => a - b);
  const files: string[] = [];
  const labels: number[] = [];
  const boxList: Box[] = [];
  for (const id of imageIds) {
    const where = (f: string) => `${join(dir, f)}: image id ${id} (${images.get(id)![0]})`;
    const cls = imageClass.get(id)?.[0];
    const flag = trainTest.get(id)?.[0];
    const box = boxes.get(id)?.map(Number);
    if (cls === undefined) throw new Error(`${where('image_class_labels.txt')} has no class`);
    if (flag !== '0' && flag !== '1') throw new Error(`${where('train_test_split.txt')} has no 0/1 train flag`);
    if (!box || box.some((v) => !Number.isFinite(v)) || box[2] <= 0 || box[3] <= 0) throw new Error(`${where('bounding_boxes.txt')} has no valid box`);
    const label = classIndex.get(Number(cls));
    if (label === undefined) throw new Error(`${where('image_class_labels.txt')} has class ${cls}, which classes.txt does not list`);
    classSizes[label]++;
    if (split === 'train' && flag !== '1') continue;
    if (split === 'test' && flag !== '0') continue;
    const rel = `images/${images.get(id)![0]}`;
    files.push(rel);
    labels.push(label);
    boxList.push({ x: box[0], y: box[1], width: box[2], height: box[3] });
  }
  return { name: 'cub200', root: dir, files, labels, classNames, classSizes, boxes: boxList };
}
