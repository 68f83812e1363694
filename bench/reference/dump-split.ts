/**
 * Writes the Table 1 split (first 20 classes, 32 px) of each staged dataset as raw bytes for
 * evaluator_ref.py: <out>/<dataset>-<train|test>-x.bin (uint8 NHWC) and -y.bin (int32 labels).
 *   npx tsx bench/reference/dump-split.ts <out> [flowers102,cub200,faces]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend } from '../../lib/backend/index';
import { loadSplit } from '../../lib/eval/splits';
import type { DatasetName } from '../../datasets';

async function main(): Promise<void> {
  const out = process.argv[2];
  if (!out) throw new Error('usage: npx tsx bench/reference/dump-split.ts <out folder> [datasets]');
  mkdirSync(out, { recursive: true });
  await initBackend();
  for (const ds of (process.argv[3] ?? 'flowers102,cub200,faces').split(',') as DatasetName[]) {
    const d = await loadSplit({ dataset: ds, resolution: 32, classes: 20, progress: false });
    for (const s of ['train', 'test'] as const) {
      writeFileSync(join(out, `${ds}-${s}-x.bin`), d[s].images);
      writeFileSync(join(out, `${ds}-${s}-y.bin`), Buffer.from(Int32Array.from(d[s].labels).buffer));
      console.log(ds, s, d[s].labels.length);
    }
  }
}
main();
