import { test } from 'node:test';
import assert from 'node:assert/strict';
import { executeNotebook, outputsWithMime } from './helpers/notebook';

test('notebooks/00-setup-check runs headless in the tslab kernel and shows backend, op, chart and PNG', async () => {
  const nb = await executeNotebook('notebooks/00-setup-check.ipynb', { cellTimeoutSec: 180 });
  assert.match(nb.text, /tfjs 4\.22\.0 on backend "\w+"/);
  // Which backend runs and why: the native one names its build, any other says why native is not used.
  assert.match(nb.text, /on backend "tensorflow" \(node\): TensorFlow C library from the tensorflow-cpu wheel in \.native\/|skipped node: (not built|CVAEGAN_NATIVE=)/);
  assert.match(nb.text, /\[\[7,10\],\[15,22\]\]/);
  const charts = outputsWithMime(nb, 'application/vnd.vegalite.v5+json');
  assert.equal(charts.length, 1);
  const data = charts[0].data!;
  assert.ok(!('text/html' in data), 'no text/html in a chart bundle: it would outrank vega in JupyterLab');
  assert.match(String(data['image/svg+xml']), /^<svg/);
  const chartPng = Buffer.from(String(data['image/png']), 'base64');
  assert.equal(chartPng.subarray(1, 4).toString(), 'PNG');
  const spec = data['application/vnd.vegalite.v5+json'] as { $schema: string; data: { values: unknown[] } };
  assert.match(spec.$schema, /vega-lite\/v5/);
  assert.equal(spec.data.values.length, 50);
  const pngs = outputsWithMime(nb, 'image/png').filter((o) => !('application/vnd.vegalite.v5+json' in o.data!));
  assert.equal(pngs.length, 1);
  const { loadImage, createCanvas } = await import('canvas');
  const img = await loadImage(Buffer.from(String(pngs[0].data!['image/png']), 'base64'));
  assert.deepEqual([img.width, img.height], [128, 32]);
  const ctx = createCanvas(128, 32).getContext('2d');
  ctx.drawImage(img, 0, 0);
  // tile i is at x = 32 i: red, green, blue, white
  const expected = [[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 255]];
  expected.forEach((rgb, i) => assert.deepEqual([...ctx.getImageData(i * 32 + 16, 16, 1, 1).data.slice(0, 3)], rgb));
});
