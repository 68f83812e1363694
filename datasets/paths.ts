/**
 * Where data lives, and the environment variables that move it.
 *
 * - Downloads default to `datasets/<name>/` inside the repository (git-ignored);
 *   `CVAEGAN_DOWNLOAD_ROOT` puts them under another folder.
 * - Staged copies of the official layouts (used by tests, offline notebook runs and benchmarks)
 *   live in `../shared/datasets/` beside the checkout; `CVAEGAN_SHARED_DATASETS` overrides that.
 * - Preprocessed caches default to `.cache/` inside the repository; `CVAEGAN_CACHE_DIR` overrides.
 * - `CVAEGAN_OFFLINE=1`: no downloader opens a connection (local copies only).
 * - `CVAEGAN_DATASET_MIRROR=<url>`: downloaders fetch `<url>/<dataset>/<official file name>` instead
 *   of the official hosts (a lab's cache, or the local server of the newcomer test, which must never
 *   reach the real hosts).
 * - `CVAEGAN_DATASET_CHECKSUMS=<file.json>`: `{ "<file name>": "<md5 or sha-256 hex>" }` replacing
 *   the official checksums, for mirrors that repackage the files and for tests (the `checksums`
 *   option of the downloaders, from the environment).
 */
import { existsSync, readFileSync } from 'fs';
import { join, resolve } from 'path';

/** The repository root (this file is <root>/datasets/paths.ts). */
export const REPO_ROOT = resolve(__dirname, '..');

export function downloadRoot(name: string): string {
  return join(process.env.CVAEGAN_DOWNLOAD_ROOT ?? join(REPO_ROOT, 'datasets'), name);
}

export function sharedDatasetsRoot(): string {
  return process.env.CVAEGAN_SHARED_DATASETS ?? resolve(REPO_ROOT, '..', 'shared', 'datasets');
}

export function cacheRoot(): string {
  return process.env.CVAEGAN_CACHE_DIR ?? join(REPO_ROOT, '.cache');
}

const truthy = (v: string | undefined) => /^(1|true|yes)$/i.test((v ?? '').trim());

/** True when CVAEGAN_OFFLINE is 1 / true / yes: never download. */
export function offlineByEnvironment(): boolean {
  return truthy(process.env.CVAEGAN_OFFLINE);
}

/** `[<CVAEGAN_DATASET_MIRROR>/<dataset>/<file>]` when a mirror is set, else `official`. */
export function mirrorUrls(dataset: string, file: string, official: readonly string[]): string[] {
  const base = process.env.CVAEGAN_DATASET_MIRROR?.trim();
  return base ? [`${base.replace(/\/+$/, '')}/${dataset}/${file}`] : [...official];
}

/** Checksum overrides from the JSON file named by CVAEGAN_DATASET_CHECKSUMS ({} when unset). */
export function checksumOverrides(): Record<string, string> {
  const file = process.env.CVAEGAN_DATASET_CHECKSUMS?.trim();
  if (!file) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`CVAEGAN_DATASET_CHECKSUMS=${file}: not a readable JSON file (${(e as Error).message})`);
  }
  const bad = Object.entries(parsed as Record<string, unknown>).filter(([, v]) => typeof v !== 'string' || !/^([0-9a-f]{32}|[0-9a-f]{64})$/i.test(v));
  if (!parsed || typeof parsed !== 'object' || bad.length) {
    throw new Error(`CVAEGAN_DATASET_CHECKSUMS=${file}: expected { "<file name>": "<32 hex digits (MD5) or 64 (SHA-256)>" }${bad.length ? `; bad entries: ${bad.map(([k]) => k).join(', ')}` : ''}`);
  }
  return parsed as Record<string, string>;
}

/**
 * The staged copy of one dataset (`flowers102`, `cub200`, `faces_celeba`), or a reason string when
 * it is missing, for tests to skip with: `const root = sharedDataset('flowers102')`.
 */
export function sharedDataset(folder: 'flowers102' | 'cub200' | 'faces_celeba'): { root: string } | { missing: string } {
  const root = join(sharedDatasetsRoot(), folder);
  if (!existsSync(root)) return { missing: `staged dataset not found at ${root} (set CVAEGAN_SHARED_DATASETS)` };
  return { root };
}
