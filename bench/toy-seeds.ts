/**
 * The 2-D toy's four objectives over several seeds (lib/apps/toy.ts): modes covered and share of
 * high-quality points after `steps` steps, mean and spread per objective. 01-method shows the same
 * through lib/notebook/toy.ts's toySeeds.
 *
 *   npx tsx bench/toy-seeds.ts [steps=600] [seeds=5] [klWeight]
 */
import { initBackend } from '../lib/backend/index';
import { toySeeds } from '../lib/notebook/toy';

(async () => {
  await initBackend();
  const steps = Number(process.argv[2] ?? 600);
  const seeds = Array.from({ length: Number(process.argv[3] ?? 5) }, (_, i) => 7 + i);
  const klWeight = process.argv[4] === undefined ? undefined : Number(process.argv[4]);
  const t0 = Date.now();
  const r = toySeeds({ steps, seeds, points: 2000, config: { dSteps: 5, ...(klWeight === undefined ? {} : { klWeight }) } });
  console.table(r.rows);
  console.log(`${seeds.length} seeds x ${steps} steps in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
})();
