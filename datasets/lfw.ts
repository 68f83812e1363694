/**
 * Labeled Faces in the Wild (Huang, Ramesh, Berg, Learned-Miller 2007; UMass Amherst): 13,233
 * photos of 5,749 people, 250x250 px, the face detected and centred in the frame. `lfw.tgz` unpacks
 * to `lfw/<Person_Name>/<Person_Name>_<NNNN>.jpg` (`lfw-funneled.tgz`: `lfw_funneled/...`, the same
 * photos aligned by congealing). Downloadable without a form, so it is the face set anyone can get;
 * the paper's FaceScrub is only a list of URLs.
 *
 * As a classification set: one class per person, classes ordered by image count (most first, ties
 * by name), so "the first 20 classes" are the best-populated people. Most people have one or two
 * photos, so the loader keeps only people with at least LFW_MIN_IMAGES photos (20: 62 people)
 * unless told otherwise (`classes.minImages`). There is no official identification split:
 * the per-identity 80/20 hashing rule of datasets/faces.ts is used.
 *
 * Crop ('face', the loader's default for LFW): rows 70-195 of the 250-px frame, the band that
 * scikit-learn's fetch_lfw_people keeps (eyebrows to chin), made square around the vertical centre
 * line (columns 62-187); as fractions of the frame so that a resized copy crops alike.
 */
import { existsSync, readdirSync, statSync } from 'fs';
import { join } from 'path';
import { splitIdentity } from './faces';
import type { Box, SourceIndex } from './types';

export const LFW_SPLITS = ['train', 'test', 'all'] as const;
export const LFW_MIN_IMAGES = 20;
/** Folders the LFW archives unpack to, in the order they are looked for. */
export const LFW_FOLDERS = ['lfw', 'lfw_funneled', 'lfw-deepfunneled'] as const;
const IMAGE_FILE = /\.(jpe?g|png)$/i;

const isDir = (p: string) => {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
};

/** The folder holding the person folders: root/lfw (or lfw_funneled, lfw-deepfunneled), or root itself. */
export function lfwFolder(root: string): string {
  for (const f of LFW_FOLDERS) if (isDir(join(root, f))) return join(root, f);
  if (isDir(root) && readdirSync(root).some((f) => !f.startsWith('.') && isDir(join(root, f)) && readdirSync(join(root, f)).some((x) => IMAGE_FILE.test(x)))) return root;
  throw new Error(`LFW: no ${LFW_FOLDERS.map((f) => join(root, f)).join(' or ')} with person folders; expected the layout of lfw.tgz: lfw/<Person_Name>/<Person_Name>_0001.jpg (downloadLfw() fetches it)`);
}

/** 'face' crop: the square [0.25, 0.75] x [0.28, 0.78] of the frame (62-187 x 70-195 at 250 px). */
export function lfwFaceBox(width: number, height: number): Box {
  const side = Math.min(width, height) * 0.5;
  return { x: (width - side) / 2, y: Math.min(height - side, height * 0.28), width: side, height: side };
}

/** Every person of the copy (no minimum here: the loader applies it), most images first. */
export function indexLfw(root: string, split: string): SourceIndex {
  if (!(LFW_SPLITS as readonly string[]).includes(split)) throw new Error(`lfw has no split '${split}'; use one of ${LFW_SPLITS.join(', ')}`);
  const dir = lfwFolder(root);
  const people = readdirSync(dir)
    .filter((p) => !p.startsWith('.') && isDir(join(dir, p)))
    .map((p) => ({ name: p, files: readdirSync(join(dir, p)).filter((f) => IMAGE_FILE.test(f)).sort() }))
    .filter((p) => p.files.length > 0)
    .sort((a, b) => b.files.length - a.files.length || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  if (people.length === 0) throw new Error(`LFW: ${dir} has no person folder with images`);
  const files: string[] = [];
  const labels: number[] = [];
  people.forEach((p, label) => {
    for (const f of splitIdentity(p.files, split)) {
      files.push(`${p.name}/${f}`);
      labels.push(label);
    }
  });
  return { name: 'lfw', root: dir, files, labels, classNames: people.map((p) => p.name.replace(/_/g, ' ')), classSizes: people.map((p) => p.files.length) };
}

/** True when `root` holds an unpacked LFW (used to find a local copy). */
export function holdsLfw(root: string): boolean {
  try {
    return existsSync(lfwFolder(root));
  } catch {
    return false;
  }
}
