import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { browserUnavailable, openInJupyterLab, runAllCells } from './helpers/jupyterlab';
import { ROOT } from './helpers/notebook';

test('00-setup-check runs in JupyterLab and JupyterLab renders the vega-lite chart itself', { skip: browserUnavailable(), timeout: 300_000 }, async () => {
  const lab = await openInJupyterLab('00-setup-check.ipynb');
  try {
    await runAllCells(lab.page);
    // JupyterLab's vega5 extension renders application/vnd.vegalite.v5+json into this element
    // (it outranks the SVG/PNG fallbacks in the same bundle).
    const chart = lab.page.locator('.jp-RenderedVegaCommon5').first();
    await chart.waitFor({ timeout: 60_000 });
    assert.ok((await chart.locator('svg, canvas').count()) > 0, 'the vega chart has drawn an svg or canvas');
    const text = await lab.page.locator('.jp-OutputArea-output').allInnerTexts();
    assert.ok(text.some((t) => /\[\[7,10\],\[15,22\]\]/.test(t)), 'the tensor cell printed its result');
    assert.ok(text.some((t) => /on backend "\w+"/.test(t)), 'the backend report is shown');
    const shots = join(ROOT, 'runs', 'screenshots');
    mkdirSync(shots, { recursive: true });
    await lab.page.screenshot({ path: join(shots, '00-setup-check-jupyterlab.png'), fullPage: true });
  } finally {
    await lab.close();
  }
});
