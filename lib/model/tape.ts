/**
 * Forward once, differentiate later: a forward pass recorded on tfjs's gradient tape now, and
 * differentiated through inside a later tf.variableGrads, as if it had run there.
 *
 * CVAE-GAN's step (lib/model/cvaegan.ts) needs x_f and x_p in step (2), to train D and C, and
 * then differentiates the losses of step (3) through the same E and G forward pass (E's and G's
 * weights do not change in between; only D's and C's do). The plain way runs E and G twice, once
 * for step (2) with the tape off and once more inside step (3)'s variableGrads, which is 20-30 %
 * of a cpu-preset step. CGAN and FM-CGAN do the same with G (lib/model/baselines.ts). Here the
 * forward runs once with the tape on; its tape nodes are set aside (with the tensors they saved
 * for the backward pass) while step (2) computes its own, unrelated gradients; step (3)'s
 * objective calls replay() first, which puts those nodes at the start of its tape. The gradient
 * walk then sees exactly the tape the second forward pass would have recorded: the same nodes in
 * the same order, so the same gradients, bit for bit (test/tape.test.ts compares whole steps both
 * ways), and batch-norm statistics move once, as before.
 *
 * This uses tfjs-core 4.22's tape internals (the engine's startTape/endTape and state.activeTape,
 * which tf.variableGrads itself uses); nothing else of tfjs changes. `setForwardOnce(false)` runs
 * the forward twice again (for A/B measurements, bench/ab.ts).
 */
import * as tf from '@tensorflow/tfjs';

interface TapeNode {
  saved?: tf.Tensor[];
}
interface EngineTape {
  state: { activeTape: TapeNode[] | null; gradientDepth: number };
  startTape(): void;
  endTape(): void;
  scopedRun<T>(start: () => void, end: () => void, f: () => T): T;
  tidy<T extends tf.TensorContainer>(f: () => T): T;
}

let forwardOnce = true;

/** Whether models record their shared forward pass once (default) or run it twice; returns the previous setting. */
export function setForwardOnce(on: boolean): boolean {
  const old = forwardOnce;
  forwardOnce = on;
  return old;
}

export function isForwardOnce(): boolean {
  return forwardOnce;
}

/** A forward pass whose outputs are usable now and whose gradient is taken later, in one variableGrads. */
export class RecordedForward<T extends tf.TensorContainer> {
  private nodes: TapeNode[] | null;

  private constructor(
    /** The forward's outputs (owned by this object until dispose()). */
    readonly outputs: T,
    nodes: TapeNode[],
  ) {
    this.nodes = nodes;
  }

  /** Runs `f` with the tape on, outside any gradient computation, and keeps its tape nodes aside. */
  static record<T extends tf.TensorContainer>(f: () => T): RecordedForward<T> {
    const engine = tf.engine() as unknown as EngineTape;
    if (engine.state.gradientDepth > 0) throw new Error('internal: RecordedForward.record inside a gradient computation');
    // As Engine.gradients starts its forward: a fresh tape, the ops inside a tidy (whose returned
    // tensors survive; the tensors the nodes saved are kept by the engine until a backward pass).
    const outputs = engine.scopedRun(() => engine.startTape(), () => engine.endTape(), () => engine.tidy(f));
    const nodes = engine.state.activeTape ?? [];
    engine.state.activeTape = null;
    return new RecordedForward(outputs, nodes);
  }

  /**
   * Call first thing inside the objective of tf.variableGrads: the recorded nodes go to the start
   * of its tape (which then owns their saved tensors) and the outputs are returned to build on.
   */
  replay(): T {
    const engine = tf.engine() as unknown as EngineTape;
    const tape = engine.state.activeTape;
    if (!this.nodes) throw new Error('internal: a RecordedForward can be replayed once');
    if (!tape || engine.state.gradientDepth !== 1) throw new Error('internal: RecordedForward.replay outside tf.variableGrads');
    tape.unshift(...this.nodes);
    this.nodes = null;
    return this.outputs;
  }

  /** Disposes the outputs, and the saved tensors if the forward was never replayed. */
  dispose(): void {
    if (this.nodes) for (const n of this.nodes) n.saved?.forEach((t) => t.dispose());
    this.nodes = null;
    tf.dispose(this.outputs);
  }
}
