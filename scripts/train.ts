/**
 * Trains one model on one dataset from a terminal: progress bar, JSONL loss log, periodic sample
 * grids, checkpoints, resume (the machinery of the reproduction runner, lib/reproduce.ts).
 *
 *   npm run train -- --dataset flowers --model cvaegan [--preset cpu] [--steps 3000] [--classes K]
 *                    [--out runs/my-run] [--resume] [--checkpoint-every N] [--grid-every N] [--root DIR] [--seed S]
 *
 * Ctrl-C stops after the current step and writes a checkpoint; `--resume` continues it.
 */
import { parseArgs } from 'node:util';
import { stopOnInterrupt } from '../lib/interrupt';
import type { ModelKind } from '../lib/model';
import { RunPreset, trainOne } from '../lib/reproduce';

const USAGE = `usage: npm run train -- --dataset flowers|birds|faces --model cvaegan|cvae|cgan|fmcgan [--preset cpu|paper|tiny]
       [--steps N] [--classes K] [--out DIR] [--resume] [--checkpoint-every N] [--grid-every N] [--root DIR] [--seed S] [--smoke]`;

async function main(): Promise<number> {
  const { values: v } = parseArgs({
    options: {
      dataset: { type: 'string' }, model: { type: 'string' }, preset: { type: 'string', default: 'cpu' }, steps: { type: 'string' },
      classes: { type: 'string' }, out: { type: 'string' }, resume: { type: 'boolean' }, 'checkpoint-every': { type: 'string' },
      'grid-every': { type: 'string' }, root: { type: 'string' }, seed: { type: 'string' }, smoke: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (v.help || !v.dataset || !v.model) {
    console.log(USAGE);
    return v.help ? 0 : 2;
  }
  const int = (name: string, s: string | undefined) => {
    if (s === undefined) return undefined;
    const n = Number(s);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer (got ${s})`);
    return n;
  };
  const flag = stopOnInterrupt({ onInterrupt: () => console.error('\ninterrupt: stopping after this step and writing a checkpoint (Ctrl-C again to exit at once)') });
  try {
    const r = await trainOne({
      dataset: v.dataset, model: v.model as ModelKind, preset: v.preset as RunPreset, steps: int('steps', v.steps), classes: int('classes', v.classes),
      out: v.out, resume: v.resume, checkpointEvery: int('checkpoint-every', v['checkpoint-every']), gridEvery: int('grid-every', v['grid-every']),
      root: v.root, seed: int('seed', v.seed), smoke: v.smoke, shouldStop: () => flag.stopped,
    });
    return r.status === 'done' ? 0 : 3;
  } finally {
    flag.dispose();
  }
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  },
);
