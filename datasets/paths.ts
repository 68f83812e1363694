/**
 * Where data lives.
 *
 * - Downloads default to `datasets/<name>/` inside the repository (git-ignored);
 *   `CVAEGAN_DOWNLOAD_ROOT` puts them under another folder.
 * - Staged copies of the official layouts (used by tests, offline notebook runs and benchmarks)
 *   live in `../shared/datasets/` beside the checkout; `CVAEGAN_SHARED_DATASETS` overrides that.
 * - Preprocessed caches default to `.cache/` inside the repository; `CVAEGAN_CACHE_DIR` overrides.
 */
import { existsSync } from 'fs';
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

/**
 * The staged copy of one dataset (`flowers102`, `cub200`, `faces_celeba`), or a reason string when
 * it is missing, for tests to skip with: `const root = sharedDataset('flowers102')`.
 */
export function sharedDataset(folder: 'flowers102' | 'cub200' | 'faces_celeba'): { root: string } | { missing: string } {
  const root = join(sharedDatasetsRoot(), folder);
  if (!existsSync(root)) return { missing: `staged dataset not found at ${root} (set CVAEGAN_SHARED_DATASETS)` };
  return { root };
}
