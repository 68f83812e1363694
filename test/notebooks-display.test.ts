/**
 * The display layer in a real tslab kernel: test/notebooks/display-live.ipynb executed headless
 * (saved outputs checked), and test/helpers/kernel_interrupt.py (training cells interrupted the
 * way Jupyter's stop button does it).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'child_process';
import { join } from 'path';
import { createCanvas, loadImage } from 'canvas';
import { executeNotebook, ROOT, type ExecutedCell, type NotebookOutput } from './helpers/notebook';

const VL = 'application/vnd.vegalite.v5+json';
const joinText = (t: string | string[] | undefined) => (Array.isArray(t) ? t.join('') : (t ?? ''));

function probe(cell: ExecutedCell, name: string): Record<string, unknown> {
  const line = cell.outputs
    .filter((o) => o.output_type === 'stream')
    .map((o) => joinText(o.text))
    .join('')
    .split('\n')
    .find((l) => l.includes(`"probe":"${name}"`));
  assert.ok(line, `cell prints its ${name} probe; outputs: ${JSON.stringify(cell.outputs).slice(0, 500)}`);
  return JSON.parse(line);
}
const displays = (cell: ExecutedCell) => cell.outputs.filter((o) => o.output_type === 'display_data');
const vegaValues = (o: NotebookOutput) => (o.data![VL] as { data: { values: { step: number; term: string }[] } }).data.values;

async function pixels(pngBase64: unknown) {
  const img = await loadImage(Buffer.from(String(pngBase64), 'base64'));
  const ctx = createCanvas(img.width, img.height).getContext('2d');
  ctx.drawImage(img, 0, 0);
  return { width: img.width, height: img.height, at: (x: number, y: number) => [...ctx.getImageData(x, y, 1, 1).data.slice(0, 3)] };
}

test('display-live notebook: live chart, sample grid, table and training monitor in the saved outputs', async () => {
  const nb = await executeNotebook('test/notebooks/display-live.ipynb', { cellTimeoutSec: 180 });
  const code = nb.cells.filter((c) => c.cell_type === 'code');
  const [, lossCell, gridCell, tableCell, monitorCell] = code;

  // Live loss plot, reported every step: one output updated in place, a bounded number of updates.
  const loss = probe(lossCell, 'lossplot') as { seconds: number; displays: number; updates: number; busyRetries: number };
  assert.equal(loss.displays, 1);
  assert.ok(loss.updates >= 1 && loss.updates <= Math.ceil(loss.seconds * 3) + 1, `${loss.updates} updates in ${loss.seconds}s (cap 3/s) for 600 steps`);
  assert.equal(loss.busyRetries, 0);
  const charts = displays(lossCell);
  assert.equal(charts.length, 1, 'updates replace the chart instead of appending outputs');
  const chart = charts[0].data!;
  assert.deepEqual(Object.keys(chart).sort(), [VL, 'image/png', 'image/svg+xml', 'text/plain'].sort());
  const values = vegaValues(charts[0]);
  assert.equal(values.length, 600 * 6, 'the saved chart holds every step of every term');
  assert.equal(Math.max(...values.map((v) => v.step)), 599);
  assert.deepEqual([...new Set(values.map((v) => v.term))], ['L_D', 'L_C', 'L_KL', 'L_G', 'L_GD', 'L_GC']);
  assert.match(String(chart['image/svg+xml']), /^<svg[\s\S]*L_GC/);
  const chartPng = await pixels(chart['image/png']);
  assert.ok(chartPng.width > 500 && chartPng.height > 200, `chart PNG ${chartPng.width}×${chartPng.height}`);

  // Sample grid: rows are classes 0, 3, 5 (red = class/5), columns share z (green constant down a column).
  const gridProbe = probe(gridCell, 'grid') as { width: number; height: number; origin: { x: number; y: number } };
  const [gridOut] = displays(gridCell);
  const grid = await pixels(gridOut.data!['image/png']);
  assert.deepEqual([grid.width, grid.height], [gridProbe.width, gridProbe.height]);
  const tile = 16 * 4 + 2; // 16 px tiles scaled ×4, gap 2
  const first = { x: gridProbe.origin.x - 2 * tile, y: gridProbe.origin.y - tile };
  const greens: number[] = [];
  [0, 3, 5].forEach((cls, r) => {
    for (let c = 0; c < 5; c++) {
      const [red, green, blue] = grid.at(first.x + c * tile + 30, first.y + r * tile + 30);
      assert.ok(Math.abs(red - cls * 0.2 * 127.5) <= 1, `row ${r} red ${red} for class ${cls}`);
      assert.equal(blue, 128);
      if (r === 0) greens.push(green);
      else assert.equal(green, greens[c], `column ${c} keeps its z in row ${r}`);
    }
  });
  assert.ok(new Set(greens).size > 1, 'different columns use different z');

  // danfojs table as HTML with a text twin.
  const [table] = displays(tableCell);
  assert.match(String(table.data!['text/html']), /<table class="dataframe">[\s\S]*<td>CVAE-GAN<\/td><td style="text-align:right">12.35<\/td>/);
  assert.match(joinText(table.data!['text/plain'] as string[]), /fake results\n╔/);
  probe(tableCell, 'table');

  // Training monitor: progress, chart, grid, in that order, each in its final state.
  assert.deepEqual(probe(monitorCell, 'monitor'), { probe: 'monitor', trained: 200, interrupted: false });
  const [progress, monitorChart, monitorGrid] = displays(monitorCell);
  assert.equal(displays(monitorCell).length, 3);
  assert.match(String(progress.data!['text/html']), /<progress value="200" max="200"/);
  assert.match(joinText(progress.data!['text/plain'] as string[]), /200\/200 \(100%\).*took/);
  assert.equal(vegaValues(monitorChart).length, 200 * 6);
  assert.ok('image/svg+xml' in monitorChart.data! && 'image/png' in monitorChart.data!);
  assert.match(joinText(monitorGrid.data!['text/plain'] as string[]), /samples at step 200/);
  for (const o of nb.outputs) {
    if (o.data && VL in o.data) assert.ok(!('text/html' in o.data), 'no text/html next to vega-lite');
  }
});

interface InterruptReport {
  trainingCells: { status: string; text: string; counts: Record<string, number>; seconds: number; alive: boolean }[];
  check: { status: string; text: string };
  aliveAtEnd: boolean;
}

test('interrupting a training cell twice stops training, keeps the kernel and the model, allows a checkpoint', async () => {
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn(join(ROOT, '.venv', 'bin', 'python'), [join(ROOT, 'test', 'helpers', 'kernel_interrupt.py')], {
      cwd: ROOT,
      env: { ...process.env, JUPYTER_PATH: join(ROOT, 'jupyter') },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b));
    child.stderr.on('data', (b: Buffer) => (stderr += b));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(stdout) : reject(new Error(`kernel_interrupt.py exited ${code}:\n${stderr.slice(-4000)}`))));
  });
  const report = JSON.parse(out.trim().split('\n').pop()!) as InterruptReport;
  assert.equal(report.trainingCells.length, 2);
  for (const [i, cell] of report.trainingCells.entries()) {
    assert.equal(cell.alive, true, `kernel alive after interrupt ${i + 1}`);
    assert.equal(cell.status, 'error', 'tslab ends an interrupted async cell with an error');
    assert.match(cell.text, /Interrupted asynchronously/);
    const updates = cell.counts.update_display_data ?? 0;
    assert.ok(updates >= 2, `live updates while training (${updates})`);
    // progress (4/s) + chart (2/s), plus the final flushes
    assert.ok(updates <= Math.ceil(cell.seconds * 6) + 4, `${updates} updates in ${cell.seconds}s`);
  }
  assert.equal(report.check.status, 'ok', report.check.text);
  const result = JSON.parse(report.check.text.split('RESULT ')[1]) as {
    runs: number;
    steps: number;
    stoppedStepping: boolean;
    interrupted: boolean;
    w: number;
    restored: number;
    prediction: number[];
    activeFlags: number;
    sigintListeners: number;
  };
  assert.equal(result.runs, 2);
  assert.ok(result.steps > 20, `trained ${result.steps} steps`);
  assert.equal(result.stoppedStepping, true, 'the background loop stopped after the interrupt');
  assert.equal(result.interrupted, true);
  assert.ok(Math.abs(result.w - 3) < 0.05, `the model kept its training (w = ${result.w})`);
  assert.equal(result.restored, result.w, 'a checkpoint was written and read back');
  result.prediction.forEach((p, i) => assert.ok(Math.abs(p - 3 * (i + 1)) < 0.2));
  assert.equal(result.activeFlags, 0, 'finished monitors stop listening for SIGINT');
  assert.equal(result.sigintListeners, 1, "only tslab's own SIGINT listener remains");
  assert.equal(report.aliveAtEnd, true);
});
