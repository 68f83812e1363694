/**
 * Stop a long async loop (training) cleanly on Jupyter's stop button or Ctrl-C.
 *
 * An interrupt is a SIGINT to the kernel. tslab then ends the cell with "Interrupted
 * asynchronously", but it cannot stop async work: the loop keeps running in the background unless
 * it checks a flag. `stopOnInterrupt()` gives it that flag.
 *
 * Two rules from tslab's internals (docs: /work/shared/research/toolchain.md §1):
 * - The SIGINT listener is added and removed one macrotask later (setImmediate). A cell's
 *   synchronous part runs under `vm` `breakOnSigint`, which takes every SIGINT listener off and puts
 *   back the ones it saw; a listener added in that window makes the next interrupt kill the kernel.
 * - The loop must yield to the event loop between steps (`await new Promise(setImmediate)`):
 *   signal listeners run from the event loop, so a loop that only awaits resolved promises or
 *   tensor data never sees the interrupt.
 *
 * In a terminal the first Ctrl-C stops training (the caller can then write a checkpoint); a second
 * one, once every flag is already set, exits with status 130 as Node would have. This needs the
 * script to be the Node process itself: `tsx script.ts` runs it in a child, forwards a Ctrl-C to
 * it, and SIGKILLs the child when it has not acknowledged the signal within 60 ms, which a child
 * busy in a training step (signal listeners run between steps) never does. So package.json runs
 * the CLIs with `node --import tsx` (test/ctrl-c.test.ts presses Ctrl-C in a pseudo-terminal).
 */
import { inNotebook } from '../viz/display';

export interface InterruptFlag {
  /** True once an interrupt arrived (or `stop()` was called). */
  readonly stopped: boolean;
  /** Sets the flag by hand, e.g. from an early-stopping rule. */
  stop(): void;
  /** Stops listening. Idempotent. */
  dispose(): void;
}

const active = new Set<Flag>();
let listening = false;
let syncQueued = false;

class Flag implements InterruptFlag {
  stopped = false;
  constructor(private readonly onInterrupt: (() => void) | undefined) {}

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.onInterrupt?.();
  }

  dispose(): void {
    if (active.delete(this)) queueListenerSync();
  }
}

function onSigint(): void {
  const pending = [...active].filter((f) => !f.stopped);
  if (pending.length === 0 && !inNotebook()) process.exit(130);
  for (const f of pending) f.stop();
}

/** Makes "is our listener attached" match "is any flag active", one macrotask later. */
function queueListenerSync(): void {
  if (syncQueued) return;
  syncQueued = true;
  setImmediate(() => {
    syncQueued = false;
    const want = active.size > 0;
    if (want && !listening) process.on('SIGINT', onSigint);
    if (!want && listening) process.removeListener('SIGINT', onSigint);
    listening = want;
  });
}

/**
 * A flag that an interrupt sets. Pass `() => flag.stopped` as the training loop's `shouldStop`,
 * and `dispose()` it when training ends. `onInterrupt` runs once, when the flag is first set.
 */
export function stopOnInterrupt(opts: { onInterrupt?: () => void } = {}): InterruptFlag {
  const flag = new Flag(opts.onInterrupt);
  active.add(flag);
  queueListenerSync();
  return flag;
}

/** Number of live flags (for tests and for diagnosing leaked listeners). */
export function activeInterruptFlags(): number {
  return active.size;
}
