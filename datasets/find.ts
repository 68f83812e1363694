/**
 * Where a dataset comes from, with torchvision's `download=True` habit as the default: a local
 * copy if there is one, else the official files downloaded (with progress, checksums, resume),
 * else one message that says what to do offline.
 *
 *   const { dataset, root, source } = await findOrFetch('flowers102');             // the default
 *   await findOrFetch('flowers102', { offline: true });   // never opens a connection
 *
 * Local copies, in order: the download folder datasets/<name>/ (when complete: no unextracted
 * archive, no `.part` file), then the staged copy under ../shared/datasets (CVAEGAN_SHARED_DATASETS).
 * Faces: FaceScrub (datasets/faces/, from the authors' lists) or the staged CelebA crops when
 * present, else LFW (datasets/lfw/, or downloaded there): `dataset` says which one was found.
 *
 * Offline (`offline: true` or CVAEGAN_OFFLINE=1), official files that the user placed in the
 * download folder are verified and extracted with no connection, so "copy the files there and
 * run again" works on a machine without internet.
 */
import { existsSync, readdirSync } from 'fs';
import { join } from 'path';
import { cubFolder } from './cub200';
import { CUB200_ARCHIVE, CUB200_FILE, CUB200_MIRRORS, downloadCub200, downloadFlowers102, downloadLfw, FLOWERS102_BASE_URL, FLOWERS102_FILES, LFW_FILES } from './downloaders';
import { facesFolder } from './faces';
import { holdsLfw } from './lfw';
import { downloadRoot, offlineByEnvironment, sharedDatasetsRoot } from './paths';
import type { DatasetName } from './types';

/** Where each dataset's staged copy sits under sharedDatasetsRoot(). */
export const STAGED_FOLDER: Record<DatasetName, string> = { flowers102: 'flowers102', cub200: 'cub200', faces: join('faces_celeba', 'faces'), lfw: 'lfw' };

/** True when `dir` holds `name` in its official layout (metadata present; images are checked when loading). */
export function holdsData(name: DatasetName, dir: string): boolean {
  try {
    if (name === 'flowers102') return existsSync(join(dir, 'imagelabels.mat')) && existsSync(join(dir, 'setid.mat')) && existsSync(join(dir, 'jpg'));
    if (name === 'cub200') return cubFolder(dir) !== undefined;
    if (name === 'lfw') return holdsLfw(dir);
    return facesFolder(dir) !== undefined;
  } catch {
    return false;
  }
}

/** A download that has not finished in `dir`: a `.part` file, or an archive without its extraction marker. */
export function unfinishedDownload(dir: string): string | undefined {
  if (!existsSync(dir)) return undefined;
  const files = readdirSync(dir);
  const part = files.find((f) => f.endsWith('.part'));
  if (part) return part;
  return files.find((f) => /\.(tgz|tar\.gz)$/.test(f) && !files.includes(`.${f}.extracted`));
}

/** The folders looked at for a local copy of `name`, in order. */
export function localCandidates(name: DatasetName): string[] {
  return [downloadRoot(name), join(sharedDatasetsRoot(), STAGED_FOLDER[name])];
}

/** The first complete local copy of `name`, or undefined. */
export function findLocal(name: DatasetName): string | undefined {
  return localCandidates(name).find((dir) => holdsData(name, dir) && !(dir === downloadRoot(name) && unfinishedDownload(dir)));
}

export interface FoundDataset {
  /** The dataset found: `name`, except that 'faces' becomes 'lfw' when only LFW is there or can be had. */
  dataset: DatasetName;
  root: string;
  /** How it was found, in words. */
  source: string;
}

export interface FindOptions {
  /** Never open a connection (default: CVAEGAN_OFFLINE). */
  offline?: boolean;
  progress?: boolean;
}

const DOWNLOADERS: Partial<Record<DatasetName, (o: { offline: boolean; progress: boolean }) => Promise<string>>> = {
  flowers102: downloadFlowers102,
  cub200: downloadCub200,
  lfw: downloadLfw,
};

const MB = (n: number) => `${(n / 1e6).toFixed(0)} MB`;

/** What to fetch by hand, and from where, for the offline message. */
export function officialFilesHint(name: DatasetName): string {
  if (name === 'flowers102') {
    return `${Object.entries(FLOWERS102_FILES).map(([f, o]) => `${f}${o.size! > 1e6 ? ` (${MB(o.size!)})` : ''}`).join(', ')} from ${FLOWERS102_BASE_URL}`;
  }
  if (name === 'cub200') return `${CUB200_ARCHIVE} (${MB(CUB200_FILE.size!)}) from ${CUB200_MIRRORS[0]}`;
  const lfw = LFW_FILES['lfw.tgz'];
  return `lfw.tgz (${MB(lfw.size!)}) from ${lfw.mirrors.join(' or ')}`;
}

const firstLine = (e: unknown) => (e instanceof Error ? e.message : String(e)).split('\n')[0].replace(/\.+$/, '');

function describeLocal(name: DatasetName, root: string): string {
  if (root === downloadRoot(name)) return 'a local copy in the download folder';
  return 'the staged copy (CVAEGAN_SHARED_DATASETS or ../shared/datasets)';
}

/** A local copy, else the official files (downloaded, or placed by hand when offline), else one error saying what to do. */
export async function findOrFetch(name: DatasetName, opts: FindOptions = {}): Promise<FoundDataset> {
  const offline = opts.offline ?? offlineByEnvironment();
  const progress = opts.progress ?? true;
  // Faces: the paper's FaceScrub or the staged CelebA stand-in first (our results use the latter),
  // then LFW, which anyone can download.
  const kinds: DatasetName[] = name === 'faces' ? ['faces', 'lfw'] : [name];
  for (const dataset of kinds) {
    const root = findLocal(dataset);
    if (root) return { dataset, root, source: describeLocal(dataset, root) + (dataset !== name ? ' of LFW (no FaceScrub or CelebA copy here)' : '') };
  }
  const target: DatasetName = name === 'faces' ? 'lfw' : name;
  const looked = kinds.flatMap(localCandidates);
  try {
    const root = await DOWNLOADERS[target]!({ offline, progress });
    const what = offline ? 'the official files placed in the download folder, verified and extracted offline' : 'the official files, downloaded and verified';
    return { dataset: target, root, source: `${what}${target !== name ? ' (LFW: no FaceScrub or CelebA copy here)' : ''}` };
  } catch (e) {
    const why = offline ? 'downloads are off (offline: OFFLINE = true, --no-download or CVAEGAN_OFFLINE=1)' : `downloading it failed: ${firstLine(e)}`;
    throw new Error(
      `${name}: no local copy in ${looked.join(' or ')}, and ${why}. ` +
        `To work offline: fetch ${officialFilesHint(target)} on a machine with internet, put ${target === 'lfw' ? 'it' : 'them'} in ${downloadRoot(target)}/ ` +
        `and run this again (checked against the official checksums and extracted, with no connection); or point CVAEGAN_SHARED_DATASETS at a folder holding ${STAGED_FOLDER[target]}/.`,
    );
  }
}
