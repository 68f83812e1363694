/**
 * .tgz extraction with `tar` (isaacs), which refuses absolute paths and `..` entries. A marker file
 * written after a complete extraction lets later calls skip it; an interrupted extraction has no
 * marker and is simply redone (files are overwritten).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'fs';
import { basename, join } from 'path';
import * as tar from 'tar';
import { ProgressReporter } from './reporter';

const markerPath = (dir: string, archive: string) => join(dir, `.${basename(archive)}.extracted`);

/** True when `archive` (identified by `stamp`, e.g. its MD5) was fully extracted into `dir`. */
export function alreadyExtracted(archive: string, dir: string, stamp: string): boolean {
  const marker = markerPath(dir, archive);
  return existsSync(marker) && readFileSync(marker, 'utf8').trim() === stamp;
}

export async function extractTgz(archive: string, dir: string, stamp: string, progress = true): Promise<number> {
  mkdirSync(dir, { recursive: true });
  const bar = new ProgressReporter(`extract ${basename(archive)}`, undefined, { enabled: progress });
  let entries = 0;
  try {
    await tar.x({
      file: archive,
      cwd: dir,
      strict: true,
      onReadEntry: () => {
        entries++;
        if (entries % 500 === 0) bar.update(entries);
      },
    });
  } catch (e) {
    throw new Error(`${archive} cannot be extracted (${(e as Error).message}); the archive is damaged: delete it and download again`);
  }
  bar.update(entries);
  bar.finish();
  writeFileSync(markerPath(dir, archive), stamp);
  return entries;
}
