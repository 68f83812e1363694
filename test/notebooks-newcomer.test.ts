/**
 * A newcomer's first hour, as a test. A fresh checkout of this working tree (tracked and untracked,
 * non-ignored files) in a folder with no ../shared beside it and no dataset folder in it; the
 * downloaders pointed at a local HTTP mirror (CVAEGAN_DATASET_MIRROR) that serves small archives
 * in the official layouts, built here (the real hosts are never contacted). `npm start --
 * --no-browser` runs in the background as a user would type it, then headless Chromium opens
 * 03-flowers and 02-faces in that JupyterLab and runs every cell in smoke mode, with no cell edited:
 * the data must come from the mirror (flowers: the three official files; faces: LFW), be trained on,
 * and be plotted.
 *
 * Kept lean: the installed packages are the repository's own, hard-linked (node_modules, .native)
 * or linked (.venv), with their set-up stamps, so `npm start` finds everything up to date and
 * installs nothing; what it does with the data is what a newcomer's run does.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import type { Page } from 'playwright-core';
import { browserUnavailable, openNotebookPage, waitForIdleKernel } from './helpers/jupyterlab';
import { LocalServer } from './helpers/local-server';
import { ROOT } from './helpers/notebook';
import { md5, sha256, smallFlowers, smallLfw } from './helpers/official-archives';

// Under CI the browser and .venv are installed: a missing one is a failure there, not a skip.
const skip = process.env.CI ? false : (browserUnavailable() ?? false);

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

/** The working tree as a fresh clone sees it: tracked and untracked files, nothing git ignores. */
function freshCheckout(dest: string): void {
  const r = spawnSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  for (const f of r.stdout.split('\0').filter(Boolean)) {
    if (!existsSync(join(ROOT, f))) continue; // deleted in the working tree
    mkdirSync(dirname(join(dest, f)), { recursive: true });
    copyFileSync(join(ROOT, f), join(dest, f));
  }
  // Installed packages, shared with this checkout (hard links: each path resolves inside the clone,
  // so the clone has one tfjs engine of its own), and the stamps that say they are up to date.
  const link = (p: string) => {
    const c = spawnSync('cp', ['-al', join(ROOT, p), join(dest, p)], { encoding: 'utf8' });
    assert.equal(c.status, 0, `cp -al ${p}: ${c.stderr}`);
  };
  link('node_modules');
  symlinkSync(join(ROOT, '.venv'), join(dest, '.venv'));
  mkdirSync(join(dest, '.setup-stamps'));
  for (const s of ['npm', 'venv', 'native', 'native.json']) if (existsSync(join(ROOT, '.setup-stamps', s))) copyFileSync(join(ROOT, '.setup-stamps', s), join(dest, '.setup-stamps', s));
  if (existsSync(join(ROOT, '.native', 'node_modules'))) {
    mkdirSync(join(dest, '.native'));
    for (const f of ['node_modules', 'package.json', '.gitignore']) if (existsSync(join(ROOT, '.native', f))) link(join('.native', f));
  }
}

interface Lab {
  base: string;
  token: string;
  log(): string;
  stop(): void;
}

/** `npm start -- --no-browser ...` in `dir`, in its own process group; resolves once JupyterLab answers. */
async function npmStart(dir: string, env: NodeJS.ProcessEnv): Promise<Lab> {
  const port = await freePort();
  const token = 'newcomer';
  const child: ChildProcess = spawn('npm', ['start', '--', '--no-browser', `--port=${port}`, '--ip=127.0.0.1', `--ServerApp.token=${token}`, '--LabApp.news_url=', '--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate'], {
    cwd: dir, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (b: Buffer) => (out += b));
  child.stderr!.on('data', (b: Buffer) => (out += b));
  const lab: Lab = {
    base: `http://127.0.0.1:${port}`,
    token,
    log: () => out,
    stop: () => {
      try {
        process.kill(-child.pid!, 'SIGTERM'); // the group we started: npm, setup.mjs, jupyter, kernels
      } catch {
        /* already gone */
      }
    },
  };
  const deadline = Date.now() + 180_000;
  for (;;) {
    try {
      if ((await fetch(`${lab.base}/api/status?token=${token}`)).ok) return lab;
    } catch {
      /* not listening yet */
    }
    if (child.exitCode !== null) throw new Error(`npm start exited (${child.exitCode}):\n${out.slice(-3000)}`);
    if (Date.now() > deadline) {
      lab.stop();
      throw new Error(`JupyterLab from npm start did not answer in 180 s:\n${out.slice(-3000)}`);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** Run All Cells, then wait until every code cell has run; stops early with the error text when a cell fails. */
async function runAll(page: Page, timeoutMs: number): Promise<void> {
  await page.getByRole('menuitem', { name: 'Run', exact: true }).click();
  await page.getByRole('menuitem', { name: /^Run All Cells/ }).click();
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const state = await page.evaluate(() => {
      const prompts = [...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputArea-prompt')].map((e) => e.textContent ?? '');
      const errors = [...document.querySelectorAll('.jp-Notebook .jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')].map((e) => (e as HTMLElement).innerText);
      const busy = [...document.querySelectorAll('.jp-StatusBar-Widget')].some((e) => /\| Busy/.test(e.textContent ?? ''));
      return { done: prompts.length > 0 && prompts.every((t) => /\[\d+\]/.test(t)), errors: errors.filter((t) => /Error/.test(t)), busy };
    });
    if (state.errors.length && !state.busy) throw new Error(`a cell failed:\n${state.errors.join('\n').slice(0, 3000)}`);
    if (state.done) break;
    if (Date.now() > deadline) throw new Error(`not every cell ran in ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 1000));
  }
  await waitForIdleKernel(page, 60_000);
}

/** Opens a notebook of the running lab, runs all its cells and returns its outputs' text and counts. */
async function runNotebook(lab: Lab, notebook: string, shots: string): Promise<{ text: string; vegaCharts: number; images: number; seconds: number }> {
  const started = Date.now();
  const { browser, page } = await openNotebookPage(lab.base, lab.token, notebook, `newcomer-${notebook.slice(0, 2)}`);
  try {
    // Start from a notebook without the committed outputs, so that everything checked was produced now.
    await page.getByRole('menuitem', { name: 'Edit', exact: true }).click();
    await page.getByRole('menuitem', { name: /^Clear Outputs of All Cells/ }).click();
    await page.waitForFunction(() => document.querySelectorAll('.jp-Notebook .jp-OutputArea-output').length === 0, undefined, { timeout: 30_000 });
    await runAll(page, 600_000);
    const text = (await page.locator('.jp-Notebook .jp-OutputArea-output').allInnerTexts()).join('\n');
    const vegaCharts = await page.locator('.jp-Notebook .jp-RenderedVegaCommon5 svg, .jp-Notebook .jp-RenderedVegaCommon5 canvas').count();
    const images = await page.locator('.jp-Notebook .jp-RenderedImage img').count();
    await page.locator('.jp-Notebook .jp-RenderedVegaCommon5').first().scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(shots, `newcomer-${notebook.replace('.ipynb', '')}.png`), fullPage: false });
    return { text, vegaCharts, images, seconds: (Date.now() - started) / 1000 };
  } catch (e) {
    await page.screenshot({ path: join(shots, `newcomer-${notebook.replace('.ipynb', '')}-failed.png`), fullPage: false }).catch(() => undefined);
    throw e;
  } finally {
    await browser.close().catch(() => undefined);
  }
}

test('a newcomer: fresh clone, no ../shared, no data; npm start; 03-flowers and 02-faces run top to bottom in JupyterLab on data downloaded from the mirror', { skip, timeout: 1_500_000 }, async () => {
  // X/cvaegan-ts with no X/shared; under runs/ (git-ignored) so that hard links stay on one file system.
  mkdirSync(join(ROOT, 'runs'), { recursive: true });
  const outer = mkdtempSync(join(ROOT, 'runs', 'newcomer-'));
  const clone = join(outer, 'cvaegan-ts');
  const mirror = await new LocalServer().start();
  let lab: Lab | undefined;
  try {
    freshCheckout(clone);
    assert.ok(!existsSync(join(outer, 'shared')) && readdirSync(join(clone, 'datasets')).every((f) => f.endsWith('.ts')), 'no ../shared, no dataset folder');

    // The mirror: <mirror>/<dataset>/<official file name>, and the checksums of these small archives.
    const files = await smallFlowers(join(outer, 'src-flowers'), 4, 12);
    for (const [f, body] of Object.entries(files)) mirror.routes.set(`/flowers102/${f}`, { body });
    const lfw = await smallLfw(join(outer, 'src-lfw'), [['Ada_Lovelace', 22], ['Alan_Turing', 21], ['Grace_Hopper', 20], ['Kurt_Goedel', 24], ['Emmy_Noether', 4]]);
    mirror.routes.set('/lfw/lfw.tgz', { body: lfw });
    const checksums = join(outer, 'checksums.json');
    writeFileSync(checksums, JSON.stringify({ ...Object.fromEntries(Object.entries(files).map(([f, b]) => [f, md5(b)])), 'lfw.tgz': sha256(lfw) }));

    const env: NodeJS.ProcessEnv = { ...process.env, CVAEGAN_SMOKE: '1', CVAEGAN_DATASET_MIRROR: mirror.url(''), CVAEGAN_DATASET_CHECKSUMS: checksums };
    for (const v of ['CVAEGAN_SHARED_DATASETS', 'CVAEGAN_DOWNLOAD_ROOT', 'CVAEGAN_CACHE_DIR', 'CVAEGAN_OFFLINE', 'CVAEGAN_BACKEND', 'JUPYTER_PATH']) delete env[v];
    // The native backend as this checkout has it: built (linked above), else not built here either.
    if (!existsSync(join(clone, '.native'))) env.CVAEGAN_NATIVE = '0';
    const settings = join(outer, 'lab-settings');
    mkdirSync(join(settings, '@jupyterlab', 'notebook-extension'), { recursive: true });
    writeFileSync(join(settings, '@jupyterlab', 'notebook-extension', 'tracker.jupyterlab-settings'), JSON.stringify({ windowingMode: 'none' }));
    env.JUPYTERLAB_SETTINGS_DIR = settings;
    env.JUPYTERLAB_WORKSPACES_DIR = settings;

    const t0 = Date.now();
    lab = await npmStart(clone, env);
    const startSeconds = (Date.now() - t0) / 1000;
    assert.match(lab.log(), /\[setup\] npm packages: up to date/);
    assert.match(lab.log(), /\[setup\] native backend: /);
    const shots = join(ROOT, 'runs', 'screenshots');
    mkdirSync(shots, { recursive: true });

    const flowers = await runNotebook(lab, '03-flowers.ipynb', shots);
    assert.match(flowers.text, /download 102flowers\.tgz: .*done/, 'download progress in the data cell');
    assert.ok(flowers.text.includes(`data: ${join(clone, 'datasets', 'flowers102')} (the official files, downloaded and verified)`), flowers.text.slice(0, 2000));
    assert.match(flowers.text, /3 of 4 species, \d+ training and \d+ test images at 32x32 px/);
    assert.match(flowers.text, /6\/6 \(100%\)/, 'trained: the smoke run\'s 6 steps');
    assert.ok(flowers.vegaCharts >= 1, 'JupyterLab drew the live loss chart');
    assert.ok(flowers.images >= 7, `${flowers.images} images: real, periodic grid, class x z, reconstructions, swap, two interpolations`);
    assert.deepEqual(mirror.log.map((l) => l.path).sort(), ['/flowers102/102flowers.tgz', '/flowers102/imagelabels.mat', '/flowers102/setid.mat']);
    assert.equal(readdirSync(join(clone, 'datasets', 'flowers102', 'jpg')).length, 48);

    const faces = await runNotebook(lab, '02-faces.ipynb', shots);
    assert.match(faces.text, /download lfw\.tgz: .*done/);
    assert.ok(faces.text.includes(`data: ${join(clone, 'datasets', 'lfw')} (the official files, downloaded and verified (LFW: no FaceScrub or CelebA copy here))`), faces.text.slice(0, 2000));
    assert.match(faces.text, /3 of 4 identities, \d+ training and \d+ test images at 32x32 px/, 'people with >= 20 photos; the first 3 by photo count');
    assert.match(faces.text, /6\/6 \(100%\)/);
    assert.ok(faces.vegaCharts >= 1);
    assert.ok(faces.images >= 7, `${faces.images} images`);
    assert.ok(mirror.log.some((l) => l.path === '/lfw/lfw.tgz'));
    assert.ok(existsSync(join(clone, 'datasets', 'lfw', 'lfw', 'Kurt_Goedel', 'Kurt_Goedel_0024.jpg')));
    console.log(`newcomer: npm start answered in ${startSeconds.toFixed(0)} s; 03-flowers ran in ${flowers.seconds.toFixed(0)} s, 02-faces in ${faces.seconds.toFixed(0)} s`);
  } finally {
    lab?.stop();
    mirror.close();
    // Give the kernels a moment to exit before their folder goes.
    await new Promise((r) => setTimeout(r, 1000));
    rmSync(outer, { recursive: true, force: true });
  }
});
