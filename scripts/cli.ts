/** What `npm run train` and `npm run reproduce` share: integer options, finding the data, Ctrl-C handling, exit codes. */
import { findOrFetch } from '../datasets/index';
import { DATASET_ALIASES } from '../lib/eval/budget';
import { stopOnInterrupt } from '../lib/train/interrupt';

/**
 * The command line with `--name -5` joined into `--name=-5` for string options: Node's parseArgs
 * refuses a value that starts with a dash as "ambiguous", where the user meant a (negative)
 * number, which positiveInt then rejects with a message that says what is wrong.
 */
export function joinNegativeValues(args: readonly string[], options: Record<string, { type: 'string' | 'boolean' }>): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const name = /^--([^=]+)$/.exec(args[i])?.[1];
    if (name && options[name]?.type === 'string' && i + 1 < args.length && /^-[\d.]/.test(args[i + 1])) {
      out.push(`${args[i]}=${args[++i]}`);
    } else {
      out.push(args[i]);
    }
  }
  return out;
}

/**
 * The dataset and folder a command runs on. `--root DIR`: that folder. Otherwise a local copy, else
 * the official files downloaded into datasets/<name>/ (the default, `--download`), and with
 * `--no-download` (or CVAEGAN_OFFLINE=1) a local copy only. `--dataset faces` with no FaceScrub or
 * CelebA copy here becomes LFW: the returned dataset name is then 'lfw'.
 */
export async function findData(dataset: string, root: string | undefined, download: boolean | undefined): Promise<{ dataset: string; root: string | undefined }> {
  const name = DATASET_ALIASES[dataset];
  if (root !== undefined || !name) return { dataset, root };
  const found = await findOrFetch(name, { offline: download === false ? true : undefined });
  console.log(`data: ${found.root} (${found.source})`);
  return { dataset: found.dataset === name ? dataset : found.dataset, root: found.root };
}

/** A command-line option that must be a positive integer, or undefined when not given. */
export function positiveInt(name: string, s: string | undefined): number | undefined {
  if (s === undefined) return undefined;
  const n = Number(s);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer (got ${s})`);
  return n;
}

/**
 * Runs a training job that checks `shouldStop()` between steps: the first Ctrl-C asks it to stop after
 * the current step (it writes a checkpoint), a second exits at once. Exit code 0 when done, 3 when stopped.
 */
export async function runStoppable(job: (shouldStop: () => boolean) => Promise<{ status: string }>): Promise<number> {
  const flag = stopOnInterrupt({ onInterrupt: () => console.error('\ninterrupt: stopping after this step and writing a checkpoint (Ctrl-C again to exit at once)') });
  try {
    const r = await job(() => flag.stopped);
    return r.status === 'done' ? 0 : 3;
  } finally {
    flag.dispose();
  }
}

/** Exits with main's code; an error prints its message only (no stack) and exits 1. */
export function runMain(main: () => Promise<number>): void {
  main().then(
    (code) => process.exit(code),
    (e) => {
      console.error(e instanceof Error ? e.message : e);
      process.exit(1);
    },
  );
}
