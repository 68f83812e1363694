/** Results tables: DataFrame from rows, HTML, terminal text, CSV that survives commas and quotes. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { dataFrameHtml, formatCell, saveCsv, tableCsv, tableText, toDataFrame } from '../lib/viz/tables';

const rows = [
  { model: 'CVAE-GAN', fid: 12.3456789, accuracy: 0.91234, steps: 30000 },
  { model: 'cVAE, "baseline" <b>', fid: 40.1, steps: 30000 },
];

test('rows become a DataFrame with columns in order of first appearance and missing cells as null', () => {
  const df = toDataFrame(rows);
  assert.deepEqual(df.columns, ['model', 'fid', 'accuracy', 'steps']);
  assert.deepEqual(df.shape, [2, 4]);
  assert.equal((df.values as unknown[][])[1][2], null);
  assert.equal(toDataFrame(df), df);
});

test('the DataFrame renders as an escaped HTML table with rounded numbers', () => {
  const html = dataFrameHtml(rows, { caption: 'Table 1 <flowers>' });
  assert.match(html, /^<table class="dataframe"><caption[^>]*>Table 1 &lt;flowers&gt;<\/caption>/);
  assert.match(html, /<thead><tr><th>model<\/th><th>fid<\/th><th>accuracy<\/th><th>steps<\/th><\/tr><\/thead>/);
  const bodyRows = html.split('<tbody>')[1].match(/<tr>.*?<\/tr>/g)!;
  assert.equal(bodyRows.length, 2);
  assert.match(bodyRows[0], /<td>CVAE-GAN<\/td><td style="text-align:right">12.35<\/td><td style="text-align:right">0.9123<\/td><td style="text-align:right">30000<\/td>/);
  assert.match(bodyRows[1], /cVAE, &quot;baseline&quot; &lt;b&gt;<\/td>.*<td><\/td>/);
  assert.ok(!html.includes('<th></th>'), 'a default 0..n-1 index is not shown');
  assert.match(dataFrameHtml(rows, { index: true }), /<tr><th>1<\/th><td>cVAE/);
});

test('terminal text shows every row, rounded', () => {
  const many = Array.from({ length: 15 }, (_, i) => ({ run: `r${i}`, loss: 1 / (i + 3) }));
  const text = tableText(many, { caption: 'runs' });
  assert.ok(text.startsWith('runs\n'));
  assert.ok(text.includes('r14'), 'rows past danfojs\'s default of 10 are printed');
  assert.ok(text.includes('0.3333') && !text.includes('0.33333'));
});

test('CSV quotes commas and quotes, keeps full precision, leaves missing cells empty; saveCsv writes it', () => {
  const csv = tableCsv(rows);
  assert.equal(csv, 'model,fid,accuracy,steps\nCVAE-GAN,12.3456789,0.91234,30000\n"cVAE, ""baseline"" <b>",40.1,,30000\n');
  const dir = mkdtempSync(join(tmpdir(), 'tables-'));
  try {
    const file = saveCsv(rows, join(dir, 'out', 'table1.csv'));
    assert.equal(readFileSync(file, 'utf8'), csv);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('cell formatting', () => {
  assert.deepEqual([formatCell(3), formatCell(2 / 3), formatCell(2 / 3, 2), formatCell(null), formatCell(NaN), formatCell(true), formatCell(Infinity)], ['3', '0.6667', '0.67', '', '', 'true', 'Infinity']);
});
