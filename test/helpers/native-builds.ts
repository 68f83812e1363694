/**
 * Where the native builds are, for the tests that run on them (test/native.test.ts,
 * test/native-gpu.test.ts), and the environment that makes a fresh process pick each.
 */
import * as fs from 'fs';
import * as path from 'path';

export const ROOT = path.join(__dirname, '..', '..');

/** The CPU build of `npm run native` (.native/). */
export function cpuBuild(): string | undefined {
  return fs.existsSync(path.join(ROOT, '.native', 'node_modules', '@tensorflow', 'tfjs-node', 'package.json')) ? path.join(ROOT, '.native') : undefined;
}

/** Where test/native-gpu.test.ts builds the GPU variant when asked to (CVAEGAN_TEST_GPU_BUILD=1); git-ignored. */
export const GPU_TEST_PREFIX = path.join(ROOT, '.cache', 'native-gpu');

const hasGpuBuild = (dir: string) => fs.existsSync(path.join(dir, 'node_modules', '@tensorflow', 'tfjs-node-gpu', 'package.json'));

/** The GPU build of `npm run native -- --gpu`: CVAEGAN_NATIVE_GPU_DIR, .native-gpu/, or the test's own. */
export function gpuBuild(): string | undefined {
  const dirs = [process.env.CVAEGAN_NATIVE_GPU_DIR, path.join(ROOT, '.native-gpu'), GPU_TEST_PREFIX].filter((d): d is string => !!d);
  return dirs.map((d) => path.resolve(d)).find(hasGpuBuild);
}
