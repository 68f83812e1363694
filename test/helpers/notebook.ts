/**
 * Runs a notebook headless with the tslab kernel (nbclient in ./.venv) and returns its outputs, so
 * tests can assert on MIME types and content. Throws, with the kernel's stderr, if any cell fails.
 */
import { spawn } from 'child_process';
import { mkdtempSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join, resolve } from 'path';

export const ROOT = resolve(__dirname, '..', '..');
const PYTHON = join(ROOT, '.venv', 'bin', 'python');

export interface NotebookOutput {
  output_type: string;
  name?: string;
  text?: string | string[];
  data?: Record<string, unknown>;
  metadata?: Record<string, unknown>;
  transient?: Record<string, unknown>;
}
export interface ExecutedCell {
  cell_type: string;
  source: string;
  outputs: NotebookOutput[];
}
export interface ExecutedNotebook {
  cells: ExecutedCell[];
  /** All outputs of all code cells, in order. */
  outputs: NotebookOutput[];
  /** All stream text (stdout + stderr) joined. */
  text: string;
}

const joinText = (t: string | string[] | undefined) => (Array.isArray(t) ? t.join('') : (t ?? ''));

export async function executeNotebook(
  notebook: string,
  opts: { env?: Record<string, string>; cellTimeoutSec?: number } = {},
): Promise<ExecutedNotebook> {
  const dir = mkdtempSync(join(tmpdir(), 'cvaegan-nb-'));
  const out = join(dir, 'out.ipynb');
  try {
    const args = [join(ROOT, 'test', 'helpers', 'execute_notebook.py'), resolve(ROOT, notebook), out, '--timeout', String(opts.cellTimeoutSec ?? 600)];
    const env = { ...process.env, JUPYTER_PATH: join(ROOT, 'jupyter'), ...opts.env };
    const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((res, rej) => {
      const child = spawn(PYTHON, args, { cwd: ROOT, env, stdio: ['ignore', 'inherit', 'pipe'] });
      let err = '';
      child.stderr.on('data', (b: Buffer) => (err += b.toString()));
      child.on('error', rej);
      child.on('close', (c) => res({ code: c, stderr: err }));
    });
    let nb: { cells: { cell_type: string; source: string | string[]; outputs?: NotebookOutput[] }[] } | undefined;
    try {
      nb = JSON.parse(readFileSync(out, 'utf8'));
    } catch {
      /* not written: the runner failed before executing */
    }
    if (code !== 0) {
      throw new Error(`executing ${notebook} failed (exit ${code}):\n${stderr.slice(-6000)}`);
    }
    const cells = nb!.cells.map((c) => ({ cell_type: c.cell_type, source: joinText(c.source), outputs: c.outputs ?? [] }));
    const outputs = cells.flatMap((c) => c.outputs);
    const text = outputs.filter((o) => o.output_type === 'stream').map((o) => joinText(o.text)).join('');
    return { cells, outputs, text };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Outputs that carry the given MIME type. */
export function outputsWithMime(nb: ExecutedNotebook, mime: string): NotebookOutput[] {
  return nb.outputs.filter((o) => o.data !== undefined && mime in o.data);
}
