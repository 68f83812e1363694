/**
 * How a training step is written and driven (used by lib/model/modelbase.ts and every model):
 * the step is a generator that yields each tensor whose values it needs (the labels and the batch
 * check, each phase's losses before its update) and receives them back. trainStep() drives it
 * with dataSync(), trainStepAsync() with `await data()`; both run the same ops in the same order.
 */
import type * as tf from '@tensorflow/tfjs';

/** What one gradient phase computes: the objective to differentiate, and the values to report. */
export interface PhaseTerms {
  objective: tf.Scalar;
  /** Loss terms (checked for NaN/Inf before any update of the phase is applied). */
  losses: Record<string, tf.Scalar>;
  /** Diagnostics (not checked). */
  metrics?: Record<string, tf.Scalar>;
}

/** What a phase reports, as numbers. */
export interface PhaseResult {
  losses: Record<string, number>;
  metrics: Record<string, number>;
}

/**
 * A training step (or part of one) that yields each tensor it must read and gets its values back.
 * Run it with runStepSync or runStepAsync; `yield*` nests one in another.
 */
export type StepReads<T> = Generator<tf.Tensor, T, ArrayLike<number>>;

/** Drives a StepReads with dataSync(); an error while reading is thrown into the step at its yield. */
export function runStepSync<T>(g: StepReads<T>): T {
  let r = g.next();
  while (!r.done) {
    let values: ArrayLike<number>;
    try {
      values = (r.value as tf.Tensor).dataSync() as ArrayLike<number>;
    } catch (e) {
      r = g.throw(e);
      continue;
    }
    r = g.next(values);
  }
  return r.value as T;
}

/** Drives a StepReads with `await data()`: no synchronous read anywhere, as WebGPU in Node needs. */
export async function runStepAsync<T>(g: StepReads<T>): Promise<T> {
  let r = g.next();
  while (!r.done) {
    let values: ArrayLike<number>;
    try {
      values = (await (r.value as tf.Tensor).data()) as ArrayLike<number>;
    } catch (e) {
      r = g.throw(e);
      continue;
    }
    r = g.next(values);
  }
  return r.value as T;
}

