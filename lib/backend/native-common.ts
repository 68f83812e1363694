/**
 * What the native backend's levers share (lib/backend/native-kernels.ts registers them): the
 * parts of tfjs-node's backend they call, which levers are on, and small helpers.
 */
import * as tf from '@tensorflow/tfjs';
import { isProjectKernel, type Info } from './kernel-override';

/** What the native files use of tfjs-node's binding and backend (its types are not a dependency). */
export interface NativeBinding {
  TF_FLOAT: number;
  TF_ATTR_TYPE: number;
  TF_ATTR_FLOAT: number;
  TF_ATTR_BOOL: number;
  TF_ATTR_STRING: number;
  TF_ATTR_SHAPE: number;
}
export type OpAttr = { name: string; type: number; value: unknown };
export interface NativeBackend {
  binding: NativeBinding;
  executeSingleOutput(name: string, attrs: OpAttr[], inputs: Info[]): tf.Tensor;
  executeMultipleOutputs(name: string, attrs: OpAttr[], inputs: Info[], numOutputs: number): tf.Tensor[];
}

export const NATIVE = 'tensorflow';

/** Which levers are on (all by default once installed); bench/ab.ts switches them per arm. */
export const nativeLevers = { batchNorm: true, reluGrad: true, adam: true, dense: true };
export type NativeLever = keyof typeof nativeLevers;

/** Switches levers on or off at run time (for A/B measurements in one process); returns the previous state. */
export function setNativeLevers(levers: Partial<typeof nativeLevers>): typeof nativeLevers {
  const old = { ...nativeLevers };
  Object.assign(nativeLevers, levers);
  return old;
}

/** Whether `kernel` (one of ours) runs now: the native backend is active and has it. */
export function ours(kernel: string): boolean {
  return tf.getBackend() === NATIVE && isProjectKernel(kernel, NATIVE);
}

export function need(inputs: tf.NamedTensorInfoMap, name: string): Info {
  const t = inputs[name];
  if (!t) throw new Error(`kernel input '${name}' is missing`);
  return t;
}

/** The attribute T (or `name`) = float32. */
export const floatT = (b: NativeBinding, name = 'T'): OpAttr => ({ name, type: b.TF_ATTR_TYPE, value: b.TF_FLOAT });
