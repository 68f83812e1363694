/**
 * Notebooks 01-06 executed headless in the tslab kernel in smoke mode (CVAEGAN_SMOKE=1: tiny
 * networks, 3 classes, a handful of steps), as CI runs them. Each must finish without a cell error
 * and produce its charts (vega-lite with data), PNG grids and tables. Smoke runs write under
 * runs/smoke/, which is cleared first so every test trains from scratch. Notebooks that need images
 * skip, with the reason, when no copy of the dataset is found (../shared/datasets or datasets/<name>/).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { resolveRoot, type DatasetName } from '../datasets/index';
import { executeNotebook, outputsWithMime, ROOT, type ExecutedCell, type ExecutedNotebook, type NotebookOutput } from './helpers/notebook';

const VL = 'application/vnd.vegalite.v5+json';
const SMOKE = { CVAEGAN_SMOKE: '1' };
const joinText = (t: unknown) => (Array.isArray(t) ? t.join('') : String(t ?? ''));

function missing(name: DatasetName): string | undefined {
  try {
    resolveRoot(name);
    return undefined;
  } catch (e) {
    return `no ${name} images here: ${(e as Error).message.split('\n')[0]}`;
  }
}

function clearSmoke(...paths: string[]): void {
  for (const p of paths) rmSync(join(ROOT, 'runs', 'smoke', p), { recursive: true, force: true });
}

/** vega-lite outputs with their inline data rows. */
function charts(nb: ExecutedNotebook | ExecutedCell): { spec: { data: { values: Record<string, unknown>[] } }; out: NotebookOutput }[] {
  return nb.outputs.filter((o) => o.data && VL in o.data).map((out) => ({ spec: out.data![VL] as { data: { values: Record<string, unknown>[] } }, out }));
}

/** PNG outputs that are images of their own (grids), not the PNG twin of a chart. */
function grids(nb: ExecutedNotebook | ExecutedCell): NotebookOutput[] {
  return nb.outputs.filter((o) => o.data && 'image/png' in o.data && !(VL in o.data));
}

function tables(nb: ExecutedNotebook | ExecutedCell): string[] {
  return nb.outputs.filter((o) => o.data && /<table class="dataframe">/.test(joinText(o.data['text/html']))).map((o) => joinText(o.data!['text/html']));
}

function assertPng(o: NotebookOutput): void {
  const png = Buffer.from(joinText(o.data!['image/png']), 'base64');
  assert.equal(png.subarray(1, 4).toString(), 'PNG', 'a real PNG');
  assert.ok(png.length > 1000, `PNG of ${png.length} bytes`);
}

function assertChartBundle(o: NotebookOutput): void {
  assert.ok(!('text/html' in o.data!), 'no text/html beside vega-lite (it would outrank the chart in JupyterLab)');
  assert.ok('image/png' in o.data!, 'the chart carries a PNG for GitHub');
}

/** The code cell whose source contains `marker`. */
function cellWith(nb: ExecutedNotebook, marker: string): ExecutedCell {
  const cell = nb.cells.find((c) => c.cell_type === 'code' && c.source.includes(marker));
  assert.ok(cell, `a code cell contains ${marker}`);
  return cell;
}

test('01-method: shapes, every loss term, one step, the toy chart, table and scatter', { timeout: 300_000 }, async () => {
  const nb = await executeNotebook('notebooks/01-method.ipynb', { env: SMOKE, cellTimeoutSec: 240 });
  for (const term of ['L_D =', 'L_C =', 'L_KL =', 'L_G =', 'L_GD =', 'L_GC =']) assert.ok(nb.text.includes(term), `prints ${term}`);
  assert.match(nb.text, /x_f = G\(z, c_r\) \[8, 32, 32, 3\]/);
  assert.match(nb.text, /f_D \[8, \d+\]/);
  const t = tables(nb);
  assert.ok(t.length >= 4, `${t.length} tables`);
  assert.ok(t.some((h) => h.includes('model.step = 1')), 'the training-step table');
  const toyTable = t.find((h) => h.includes('gan-minimax'));
  assert.ok(toyTable && toyTable.includes('mean-feature') && /modes covered/.test(toyTable), 'the toy summary table');
  const c = charts(nb);
  assert.equal(c.length, 2, 'the live gradient-norm chart and the scatter');
  const gradTerms = new Set(c[0].spec.data.values.filter((v) => v.value !== null).map((v) => v.term));
  assert.deepEqual([...gradTerms].sort(), ['|grad G| cvaegan', '|grad G| gan', '|grad G| gan-minimax', '|grad G| mean-feature']);
  const sources = new Set(c[1].spec.data.values.map((v) => v.source));
  // cvaegan has two panels: prior samples G(z) and reconstructions G(E(x)).
  assert.deepEqual([...sources].sort(), ['G: cvaegan', 'G: cvaegan, G(E(x))', 'G: gan', 'G: gan-minimax', 'G: mean-feature', 'real data']);
  assert.ok(toyTable.includes('G(E(x))'), "the toy summary has the reconstructions' columns");
  assert.ok(t.some((h) => h.includes('KL (nats)')), 'the seeds table reports the KL for cvaegan');
  c.forEach((x) => assertChartBundle(x.out));
});

const DATASET_NOTEBOOKS: { file: string; dataset: DatasetName }[] = [
  { file: '02-faces', dataset: 'faces' },
  { file: '03-flowers', dataset: 'flowers102' },
  { file: '04-birds', dataset: 'cub200' },
];

async function checkDatasetNotebook(file: string, dataset: DatasetName): Promise<ExecutedNotebook> {
  const nb = await executeNotebook(`notebooks/${file}.ipynb`, { env: SMOKE, cellTimeoutSec: 240 });
  assert.match(nb.text, /SMOKE MODE/);
  assert.ok(nb.text.includes(`run directory runs/smoke/notebooks/${dataset}-tiny`), 'smoke runs stay under runs/smoke/');
  assert.match(nb.text, /3 of \d+ \w+, \d+ training and \d+ test images at 32x32 px/);
  const training = cellWith(nb, 'new TrainingMonitor');
  const shown = training.outputs.filter((o) => o.output_type === 'display_data');
  assert.equal(shown.length, 3, 'progress bar, loss chart, sample grid');
  assert.match(joinText(shown[0].data!['text/html']), /<progress value="6" max="6"/);
  const [chart] = charts(training);
  assertChartBundle(chart.out);
  const terms = new Set(chart.spec.data.values.map((v) => v.term));
  for (const t of ['L_C', 'L_D', 'L_KL', 'L_G', 'L_GD', 'L_GC']) assert.ok(terms.has(t), `chart has ${t}`);
  assert.equal(Math.max(...chart.spec.data.values.map((v) => Number(v.step))), 6);
  assert.match(joinText(shown[2].data!['text/plain']), /samples at step 6/);
  // Real images, the periodic grid, class x z, reconstructions, swap, two interpolations.
  const pngs = grids(nb);
  assert.equal(pngs.length, 7, `${pngs.length} grids`);
  pngs.forEach(assertPng);
  for (const what of ['real images', 'class x z grid', 'reconstructions', 'swap', 'image interpolation', 'label interpolation']) {
    assert.ok(pngs.some((o) => joinText(o.data!['text/plain']).includes(what)), `a ${what} grid`);
  }
  assert.ok(tables(nb).length >= 2, 'parameter and loss-summary tables');
  return nb;
}

for (const { file, dataset } of DATASET_NOTEBOOKS) {
  test(`${file}: data grid, live training (progress, chart, grid), checkpoint, sample / reconstruction / swap / interpolation grids`, { skip: missing(dataset), timeout: 300_000 }, async () => {
    clearSmoke(join('notebooks', `${dataset}-tiny`));
    await checkDatasetNotebook(file, dataset);
  });
}

test('03-flowers run again resumes from its checkpoint: nothing retrained, the whole chart replayed', { skip: missing('flowers102'), timeout: 300_000 }, async () => {
  // Continues the smoke run of the 03-flowers test above (same file, run before this one).
  const nb = await executeNotebook('notebooks/03-flowers.ipynb', { env: SMOKE, cellTimeoutSec: 240 });
  assert.match(nb.text, /resumed from runs\/smoke\/notebooks\/flowers102-tiny\/checkpoint at step 6/);
  assert.match(nb.text, /continuing from the checkpoint at step 6 \(6 logged steps back in the chart\)/);
  const training = cellWith(nb, 'new TrainingMonitor');
  const [chart] = charts(training);
  const steps = new Set(chart.spec.data.values.map((v) => Number(v.step)));
  assert.deepEqual([...steps].sort((a, b) => a - b), [1, 2, 3, 4, 5, 6], 'every step once, from the log');
  assert.match(nb.text, /done at step 6/);
});

test('05-table1: the paper\'s table, ours beside it, orderings and grids (a smoke reproduction when no results are committed)', { skip: missing('flowers102'), timeout: 300_000 }, async () => {
  clearSmoke('table1-flowers');
  const nb = await executeNotebook('notebooks/05-table1.ipynb', { env: SMOKE, cellTimeoutSec: 240 });
  const t = tables(nb);
  assert.ok(t[0].includes('97.78') && t[0].includes('FM-CGAN'), "the paper's Table 1");
  const comparison = t.filter((h) => h.includes('paper top-1 (%)') && h.includes('our top-1 (%)'));
  assert.ok(comparison.length >= 1, 'our table beside the paper\'s');
  for (const m of ['Real data', 'CVAE', 'CGAN', 'FM-CGAN', 'CVAE-GAN']) assert.ok(comparison[0].includes(`<td>${m}</td>`), `row ${m}`);
  assert.ok(t.some((h) => h.includes('pairs in the paper')), 'the orderings table');
  const pngs = grids(nb);
  assert.ok(pngs.length >= 5, `${pngs.length} grids and loss charts`);
  pngs.forEach(assertPng);
});

test('06-applications: inpainting, super-resolution and augmentation on the flowers model', { skip: missing('flowers102'), timeout: 300_000 }, async () => {
  const nb = await executeNotebook('notebooks/06-applications.ipynb', { env: SMOKE, cellTimeoutSec: 240 });
  assert.match(nb.text, /(loaded runs\/smoke\/notebooks\/flowers102-tiny\/checkpoint|stand-in model): step \d+/);
  const pngs = grids(nb);
  for (const what of ['inpainting', 'super-resolution']) assert.ok(pngs.some((o) => joinText(o.data!['text/plain']).includes(what)), `a ${what} grid`);
  pngs.forEach(assertPng);
  assert.match(nb.text, /mean PSNR vs the originals: bicubic [\d.]+ dB, CVAE-GAN [\d.]+ dB/);
  const t = tables(nb);
  assert.ok(t.some((h) => h.includes('hole MSE')), 'the inpainting error table');
  assert.ok(t.some((h) => h.includes('real only') && h.includes('generated per class')), 'the augmentation table');
  assert.equal(outputsWithMime(nb, VL).length, 0, 'no charts here, only grids and tables');
});
