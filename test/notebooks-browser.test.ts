/**
 * 03-flowers in a real JupyterLab (from ./.venv) in headless Chromium: clear the saved outputs, run
 * the cells up to and including the training cell in smoke mode, and check that JupyterLab's own
 * vega renderer drew the live loss chart. A screenshot goes to runs/screenshots/.
 *
 * The committed notebook holds full-run outputs, so it must not be overwritten: JupyterLab runs with
 * its own settings directory with autosave off, the page is closed without saving, and the test
 * checks that the file on disk is unchanged.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { browserUnavailable, openInJupyterLab } from './helpers/jupyterlab';
import { ROOT } from './helpers/notebook';
import { resolveRoot } from '../datasets/index';

const NOTEBOOK = join(ROOT, 'notebooks', '03-flowers.ipynb');

function skipReason(): string | undefined {
  const browser = browserUnavailable();
  if (browser) return browser;
  try {
    resolveRoot('flowers102');
    return undefined;
  } catch (e) {
    return `no flowers102 images here: ${(e as Error).message.split('\n')[0]}`;
  }
}

/** A JupyterLab settings folder: no autosave, every cell attached to the DOM. */
function labSettings(): string {
  const dir = mkdtempSync(join(tmpdir(), 'cvaegan-lab-settings-'));
  const put = (plugin: string, value: object) => {
    const [pkg, name] = plugin.split(':');
    mkdirSync(join(dir, pkg), { recursive: true });
    writeFileSync(join(dir, pkg, `${name}.jupyterlab-settings`), JSON.stringify(value));
  };
  put('@jupyterlab/docmanager-extension:plugin', { autosave: false });
  put('@jupyterlab/notebook-extension:tracker', { windowingMode: 'none' });
  return dir;
}

const sha1 = (path: string) => createHash('sha1').update(readFileSync(path)).digest('hex');

test('03-flowers in JupyterLab: the first cells run in smoke mode and JupyterLab renders the live loss chart', { skip: skipReason(), timeout: 600_000 }, async () => {
  const before = sha1(NOTEBOOK);
  const cells = (JSON.parse(readFileSync(NOTEBOOK, 'utf8')) as { cells: { cell_type: string; source: string | string[] }[] }).cells;
  const training = cells.findIndex((c) => c.cell_type === 'code' && [c.source].flat().join('').includes('new TrainingMonitor'));
  assert.ok(training > 0 && cells[training + 1]?.cell_type === 'markdown', 'the training cell is followed by a markdown cell');
  const codeCellsToRun = cells.slice(0, training + 1).filter((c) => c.cell_type === 'code').length;
  rmSync(join(ROOT, 'runs', 'smoke', 'notebooks', 'flowers102-tiny'), { recursive: true, force: true });
  const settings = labSettings();
  const lab = await openInJupyterLab('03-flowers.ipynb', { CVAEGAN_SMOKE: '1', JUPYTERLAB_SETTINGS_DIR: settings, JUPYTERLAB_WORKSPACES_DIR: settings });
  try {
    const page = lab.page;
    // Start from a notebook without outputs, so that what is checked below was produced now.
    await page.getByRole('menuitem', { name: 'Edit', exact: true }).click();
    await page.getByRole('menuitem', { name: /^Clear Outputs of All Cells/ }).click();
    await page.waitForFunction(() => document.querySelectorAll('.jp-Notebook .jp-OutputArea-output').length === 0, undefined, { timeout: 30_000 });
    // Select the markdown cell after the training cell and run everything above it.
    await page.locator('.jp-Notebook .jp-Cell').nth(training + 1).click();
    await page.getByRole('menuitem', { name: 'Run', exact: true }).click();
    await page.getByRole('menuitem', { name: /^Run All Above Selected Cell/ }).click();
    await page.waitForFunction(
      (n) => {
        const prompts = [...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputArea-prompt')].slice(0, n).map((e) => e.textContent ?? '');
        return prompts.length === n && prompts.every((t) => /\[\d+\]/.test(t));
      },
      codeCellsToRun,
      { timeout: 420_000, polling: 500 },
    );
    const trainingCell = page.locator('.jp-Notebook .jp-Cell').nth(training);
    const chart = trainingCell.locator('.jp-RenderedVegaCommon5').first();
    await chart.waitFor({ timeout: 60_000 });
    await page.waitForFunction(
      (i) => document.querySelectorAll('.jp-Notebook .jp-Cell')[i]?.querySelectorAll('.jp-RenderedVegaCommon5 svg, .jp-RenderedVegaCommon5 canvas').length > 0,
      training,
      { timeout: 60_000 },
    );
    assert.ok((await chart.locator('svg, canvas').count()) > 0, 'JupyterLab drew the vega-lite chart (svg or canvas)');
    const text = (await trainingCell.locator('.jp-OutputArea-output').allInnerTexts()).join('\n');
    assert.match(text, /6\/6 \(100%\)/, 'the progress bar reached the smoke run\'s 6 steps');
    const errors = await page.locator('.jp-Notebook .jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]').allInnerTexts();
    assert.ok(!errors.some((t) => /Error/.test(t)), `no errors in the cells run: ${errors.join('\n').slice(0, 500)}`);
    const shots = join(ROOT, 'runs', 'screenshots');
    mkdirSync(shots, { recursive: true });
    await chart.scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(shots, '03-flowers-jupyterlab.png') });
  } finally {
    await lab.close();
    rmSync(settings, { recursive: true, force: true });
  }
  assert.equal(sha1(NOTEBOOK), before, 'the committed notebook on disk is unchanged (no autosave)');
});
