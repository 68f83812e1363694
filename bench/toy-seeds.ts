/**
 * The 2-D toy's four objectives over several seeds (lib/apps/toy.ts): modes covered and share of
 * high-quality points after `steps` steps, mean and spread per objective. 01-method shows the same
 * through lib/notebook/toy.ts's toySeeds.
 *
 *   npx tsx bench/toy-seeds.ts [steps=1500] [seeds=5 (7..11), or a list: 10,11] [klWeight]
 */
import { initBackend } from '../lib/backend/index';
import { toySeeds } from '../lib/notebook/toy';

(async () => {
  await initBackend();
  const steps = Number(process.argv[2] ?? 1500);
  const arg = process.argv[3] ?? '5';
  const seeds = arg.includes(',') ? arg.split(',').map(Number) : Array.from({ length: Number(arg) }, (_, i) => 7 + i);
  const klWeight = process.argv[4] === undefined ? undefined : Number(process.argv[4]);
  const t0 = Date.now();
  const r = toySeeds({ steps, seeds, points: 2000, config: { dSteps: 5, ...(klWeight === undefined ? {} : { klWeight }) } });
  console.table(r.rows);
  for (const run of r.runs) console.log(JSON.stringify(run));
  console.log(`${seeds.length} seeds x ${steps} steps in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
})();
