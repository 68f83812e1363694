/**
 * A memory lever measured by the benchmark (`--lever lean-backprop`): tfjs's backward pass with
 * PyTorch's memory behaviour.
 *
 * tfjs-core 4.22's Engine.gradients (tape.ts backpropagateGradients) keeps, until the whole backward
 * pass ends, (a) every gradient it computed, including each intermediate dL/dy once its node has
 * been processed, and (b) every tensor saved for the backward pass, including those of nodes that
 * are not on any path from the variables to the loss (e.g. D's and C's passes over the real images
 * in CVAE-GAN's step 3). At 64x64, batch 32 that is most of the step's peak memory.
 *
 * This replacement walks the same filtered tape in the same order and computes the same gradients
 * with the same gradient functions; it only disposes tensors earlier:
 *  - saved tensors of tape nodes off the x -> y paths, before the walk starts;
 *  - after each node: the gradients of its outputs (no earlier node reads them) and its saved
 *    tensors (only its own gradient function reads them);
 * never a tensor that is still an accumulated gradient (a gradient function may return dy itself),
 * the caller's dy, or the gradient of an x. Nested gradients (gradientDepth > 0 when the backward
 * runs, e.g. tf.grad inside tf.grad) fall back to the original method, which needs the tape kept.
 *
 * getFilteredNodesXToY is tfjs-core's (Apache-2.0, Copyright 2018 Google LLC), copied because
 * tfjs-core does not export it.
 */
import * as tf from '@tensorflow/tfjs';

interface TapeNode {
  id: number;
  kernelName: string;
  inputs: Record<string, tf.Tensor>;
  outputs: tf.Tensor[];
  gradient?: (dys: (tf.Tensor | null)[]) => Record<string, () => tf.Tensor>;
  saved?: tf.Tensor[];
}

interface EngineInternals {
  state: { activeTape: TapeNode[] | null; gradientDepth: number };
  scopedRun<T>(start: () => void, end: () => void, f: () => T): T;
  startTape(): void;
  endTape(): void;
  tidy<T extends tf.TensorContainer>(nameOrFn: string | (() => T), fn?: () => T): T;
  gradients(f: () => tf.Tensor, xs: tf.Tensor[], dy?: tf.Tensor, allowNoGradients?: boolean): { value: tf.Tensor; grads: tf.Tensor[] };
}

function getFilteredNodesXToY(tape: TapeNode[], xs: tf.Tensor[], y: tf.Tensor): TapeNode[] {
  const tensorsFromX: Record<number, boolean> = {};
  const nodesFromX: Record<number, boolean> = {};
  for (const x of xs) tensorsFromX[x.id] = true;
  for (const node of tape) {
    for (const name in node.inputs) {
      if (tensorsFromX[node.inputs[name].id]) {
        node.outputs.forEach((o) => (tensorsFromX[o.id] = true));
        nodesFromX[node.id] = true;
        break;
      }
    }
  }
  const tensorsLeadToY: Record<number, boolean> = { [y.id]: true };
  const nodesToY: Record<number, boolean> = {};
  for (let i = tape.length - 1; i >= 0; i--) {
    const node = tape[i];
    if (node.outputs.some((o) => tensorsLeadToY[o.id])) {
      for (const name in node.inputs) {
        tensorsLeadToY[node.inputs[name].id] = true;
        nodesToY[node.id] = true;
      }
    }
  }
  const filtered: TapeNode[] = [];
  for (const node of tape) {
    if (nodesFromX[node.id] && nodesToY[node.id]) {
      const inputs: Record<string, tf.Tensor> = {};
      for (const name in node.inputs) if (tensorsFromX[node.inputs[name].id]) inputs[name] = node.inputs[name];
      filtered.push({ ...node, inputs, outputs: node.outputs });
    }
  }
  return filtered;
}

let original: EngineInternals['gradients'] | undefined;

/** Replaces tf.engine().gradients (used by tf.grads, tf.variableGrads, optimizers). Idempotent. */
export function installLeanBackprop(): void {
  const engine = tf.engine() as unknown as EngineInternals;
  if (original) return;
  original = engine.gradients;
  const orig = original;
  engine.gradients = function gradients(f, xs, dy, allowNoGradients = false) {
    if (engine.state.gradientDepth > 0) return orig.call(engine, f, xs, dy, allowNoGradients);
    if (xs.length === 0) throw new Error('gradients() received an empty list of xs.');
    if (dy != null && dy.dtype !== 'float32') throw new Error(`dy must have 'float32' dtype, but has '${dy.dtype}'`);
    const y = engine.scopedRun(() => engine.startTape(), () => engine.endTape(), () => engine.tidy('forward', f));
    if (!(y instanceof tf.Tensor)) throw new Error('The result y returned by f() must be a tensor.');
    const tape = engine.state.activeTape ?? [];
    const filtered = getFilteredNodesXToY(tape, xs, y);
    if (!allowNoGradients && filtered.length === 0 && xs.length > 0) {
      throw new Error('Cannot compute gradient of y=f(x) with respect to x. Make sure that the f you passed encloses all operations that lead from x to y.');
    }
    return engine.tidy('backward', () => {
      const onPath = new Set(filtered.map((n) => n.id));
      for (const node of tape) if (!onPath.has(node.id)) node.saved?.forEach((t) => t.dispose());
      const keep = new Set<number>(xs.map((x) => x.id));
      const grad = new Map<number, tf.Tensor>();
      const live = new Map<tf.Tensor, number>(); // accumulated gradient tensor -> how many ids hold it
      const hold = (id: number, t: tf.Tensor) => {
        grad.set(id, t);
        live.set(t, (live.get(t) ?? 0) + 1);
      };
      const release = (id: number) => {
        const t = grad.get(id);
        if (!t) return undefined;
        grad.delete(id);
        const n = (live.get(t) ?? 1) - 1;
        if (n > 0) live.set(t, n);
        else live.delete(t);
        return t;
      };
      hold(y.id, dy ?? tf.ones(y.shape));
      for (let i = filtered.length - 1; i >= 0; i--) {
        const node = filtered[i];
        const dys = node.outputs.map((o) => grad.get(o.id) ?? null);
        if (!node.gradient) throw new Error(`Cannot compute gradient: gradient function not found for ${node.kernelName}.`);
        const inputGradients = node.gradient(dys);
        for (const name in node.inputs) {
          if (!(name in inputGradients)) throw new Error(`Cannot backprop through input ${name}. Available gradients found: ${Object.keys(inputGradients)}.`);
          const dx = engine.tidy(() => inputGradients[name]());
          if (dx.dtype !== 'float32') throw new Error(`Error in gradient for op ${node.kernelName}. The gradient of input ${name} must have 'float32' dtype, but has '${dx.dtype}'`);
          const x = node.inputs[name];
          if (!tf.util.arraysEqual(dx.shape, x.shape)) {
            throw new Error(`Error in gradient for op ${node.kernelName}. The gradient of input '${name}' has shape '${dx.shape}', which does not match the shape of the input '${x.shape}'`);
          }
          const cur = release(x.id);
          if (cur === undefined) hold(x.id, dx);
          else {
            hold(x.id, tf.add(cur, dx));
            if (!live.has(cur)) cur.dispose();
            if (!live.has(dx)) dx.dispose();
          }
        }
        // This node's output gradients and saved tensors are read by no node still to come.
        for (const o of node.outputs) {
          if (keep.has(o.id)) continue;
          const t = release(o.id);
          if (t && !live.has(t) && t !== dy) t.dispose();
        }
        node.saved?.forEach((t) => t.dispose());
      }
      const grads = xs.map((x) => grad.get(x.id) as tf.Tensor);
      tape.forEach((node) => node.saved?.forEach((t) => t.dispose()));
      engine.state.activeTape = null;
      return { value: y, grads };
    });
  } as EngineInternals['gradients'];
}

/** Puts tfjs's own method back (for tests). */
export function uninstallLeanBackprop(): void {
  if (!original) return;
  (tf.engine() as unknown as EngineInternals).gradients = original;
  original = undefined;
}
