/**
 * Drives a real JupyterLab (from ./.venv) in headless Chromium (Debian's /usr/bin/chromium through
 * playwright-core): open a notebook, run its cells with JupyterLab's own "Run All" command, wait for
 * outputs, take a screenshot. Used by the browser tests.
 */
import { spawn, type ChildProcess } from 'child_process';
import { existsSync } from 'fs';
import { createServer } from 'net';
import { join } from 'path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { ROOT } from './notebook';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Why a browser test cannot run here, or undefined when it can. */
export function browserUnavailable(): string | undefined {
  if (!existsSync(CHROMIUM)) return `no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`;
  if (!existsSync(join(ROOT, '.venv', 'bin', 'jupyter'))) return 'no .venv/bin/jupyter (run npm test or node scripts/setup.mjs)';
  return undefined;
}

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

export interface LabSession {
  url: string;
  page: Page;
  close(): Promise<void>;
}

/** Starts JupyterLab on notebooks/ and opens `notebook` (relative to notebooks/) in Chromium. */
export async function openInJupyterLab(notebook: string, env: Record<string, string> = {}): Promise<LabSession> {
  const port = await freePort();
  const token = 'cvaegan-test';
  const lab: ChildProcess = spawn(
    join(ROOT, '.venv', 'bin', 'jupyter'),
    ['lab', '--no-browser', `--port=${port}`, '--ip=127.0.0.1', `--ServerApp.token=${token}`, `--ServerApp.root_dir=${join(ROOT, 'notebooks')}`, '--allow-root', '--LabApp.news_url=', '--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate'],
    { cwd: ROOT, env: { ...process.env, JUPYTER_PATH: join(ROOT, 'jupyter'), ...env }, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let labLog = '';
  lab.stderr!.on('data', (b: Buffer) => (labLog += b.toString()));
  // Test-only escape hatch to show the server log when a browser test fails.
  (globalThis as { __labLog?: () => string }).__labLog = () => labLog;
  const base = `http://127.0.0.1:${port}`;
  let browser: Browser | undefined;
  const close = async () => {
    await browser?.close().catch(() => undefined);
    lab.kill('SIGTERM');
  };
  try {
    const deadline = Date.now() + 60_000;
    for (;;) {
      try {
        const r = await fetch(`${base}/api/status?token=${token}`);
        if (r.ok) break;
      } catch {
        /* not listening yet */
      }
      if (lab.exitCode !== null) throw new Error(`JupyterLab exited early:\n${labLog.slice(-3000)}`);
      if (Date.now() > deadline) throw new Error(`JupyterLab did not start in 60 s:\n${labLog.slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 300));
    }
    const opened = await openNotebookPage(base, token, notebook);
    browser = opened.browser;
    return { url: opened.url, page: opened.page, close };
  } catch (e) {
    await close();
    throw e;
  }
}

/**
 * Opens `notebook` (relative to the server's root) of a JupyterLab already listening at `base` in
 * headless Chromium and waits until its kernel is idle. `workspace`: a JupyterLab workspace of that
 * name, so that a second notebook opens alone instead of beside the ones the default workspace
 * remembers. The caller closes `browser`.
 */
export async function openNotebookPage(base: string, token: string, notebook: string, workspace?: string): Promise<{ browser: Browser; page: Page; url: string }> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const url = `${base}/lab/${workspace ? `workspaces/${workspace}/` : ''}tree/${notebook}?token=${token}`;
    await page.goto(url, { waitUntil: 'domcontentloaded', timeout: 60_000 });
    await page.locator('.jp-NotebookPanel').first().waitFor({ timeout: 60_000 });
    await waitForIdleKernel(page, 120_000);
    return { browser, page, url };
  } catch (e) {
    await browser.close().catch(() => undefined);
    throw e;
  }
}

/** The status bar reads "<kernel display name> | Idle" once the kernel has connected and is idle. */
export async function waitForIdleKernel(page: Page, timeoutMs: number): Promise<void> {
  await page.locator('.jp-StatusBar-Widget').getByText(/TypeScript \(cvaegan-ts\) \| Idle/).first().waitFor({ timeout: timeoutMs });
}

/**
 * Runs every cell through JupyterLab's Run menu and waits until all code cells have an execution
 * count (JupyterLab numbers a cell when its execute_reply arrives) and the kernel is idle.
 */
export async function runAllCells(page: Page, timeoutMs = 300_000): Promise<void> {
  await page.getByRole('menuitem', { name: 'Run', exact: true }).click();
  await page.getByRole('menuitem', { name: /^Run All Cells/ }).click();
  await page.waitForFunction(
    () => {
      const prompts = [...document.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')].map((e) => e.textContent ?? '');
      return prompts.length > 0 && prompts.every((t) => /\[\d+\]/.test(t));
    },
    undefined,
    { timeout: timeoutMs, polling: 500 },
  );
  await waitForIdleKernel(page, 60_000);
}
