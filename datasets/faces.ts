/**
 * Face datasets in the identity-per-folder layout: <root>/<identity>/<image>.{jpg,jpeg,png}. This is
 * what downloadFaceScrub() writes, what LFW unpacks to, and how the staged CelebA crops are stored.
 *
 * There is no official identity-classification split, so we make a deterministic one per identity:
 * files sorted by the SHA-1 of their name, the first round(20%) go to 'test', the rest to 'train'.
 * Hashing (instead of taking the last files) keeps the split stable when files are added, and
 * independent of naming schemes that sort by date or pose.
 */
import { createHash } from 'crypto';
import { readdirSync, statSync } from 'fs';
import { join } from 'path';
import type { SourceIndex } from './types';

export const FACES_SPLITS = ['train', 'test', 'all'] as const;
export const FACES_TEST_FRACTION = 0.2;
const IMAGE_FILE = /\.(jpe?g|png)$/i;

const isDir = (p: string) => {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
};
const subfolders = (dir: string) => readdirSync(dir).filter((f) => !f.startsWith('.') && isDir(join(dir, f))).sort();
const imageFiles = (dir: string) => readdirSync(dir).filter((f) => IMAGE_FILE.test(f) && !isDir(join(dir, f))).sort();

/**
 * The folder that holds the identity folders. A root with exactly one subfolder that itself holds
 * identity folders and no images (e.g. faces_celeba/ -> faces/, or a folder around lfw/) is entered.
 */
export function facesFolder(root: string): string {
  if (!isDir(root)) throw new Error(`faces: ${root} is not a folder; expected <root>/<identity>/<image>.jpg`);
  const subs = subfolders(root);
  if (subs.length === 1) {
    const inner = join(root, subs[0]);
    if (imageFiles(inner).length === 0 && subfolders(inner).some((s) => imageFiles(join(inner, s)).length > 0)) return inner;
  }
  if (subs.length === 0) {
    const loose = imageFiles(root).length;
    throw new Error(`faces: ${root} has no identity folders${loose ? ` (it holds ${loose} images directly)` : ''}; expected one folder per identity: <root>/<identity>/<image>.jpg`);
  }
  return root;
}

const nameHash = (f: string) => createHash('sha1').update(f).digest('hex');

/** The files of one identity that belong to `split`, in name order. */
export function splitIdentity(files: string[], split: string): string[] {
  if (split === 'all') return files;
  const byHash = [...files].sort((a, b) => (nameHash(a) < nameHash(b) ? -1 : 1));
  const test = new Set(byHash.slice(0, Math.round(files.length * FACES_TEST_FRACTION)));
  return files.filter((f) => test.has(f) === (split === 'test'));
}

export function indexFaces(root: string, split: string): SourceIndex {
  if (!(FACES_SPLITS as readonly string[]).includes(split)) throw new Error(`faces has no split '${split}'; use one of ${FACES_SPLITS.join(', ')}`);
  const dir = facesFolder(root);
  const identities = subfolders(dir);
  const files: string[] = [];
  const labels: number[] = [];
  const classSizes: number[] = [];
  identities.forEach((id, label) => {
    const all = imageFiles(join(dir, id));
    if (all.length === 0) {
      throw new Error(`faces: identity folder ${join(dir, id)} has no images (.jpg, .jpeg, .png); remove the folder or add its images`);
    }
    classSizes.push(all.length);
    for (const f of splitIdentity(all, split)) {
      files.push(`${id}/${f}`);
      labels.push(label);
    }
  });
  return { name: 'faces', root: dir, files, labels, classNames: identities.map((s) => s.replace(/_/g, ' ')), classSizes };
}
