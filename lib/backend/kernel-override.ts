/**
 * Registering the project's own kernels for a backend (lib/backend/wasm-kernels.ts, lib/backend/webgpu-kernels.ts):
 * the shipped kernel of the same name is kept and handed to ours, which falls back to it for the
 * cases it does not cover.
 */
import * as tf from '@tensorflow/tfjs';

export type Info = tf.TensorInfo;
export type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap };
/** The package's own kernel, for the cases a replacement hands back to it. */
export type Shipped = tf.KernelConfig | undefined;

export interface ProjectKernel {
  name: string;
  kernelFunc: (args: KernelArgs, shipped: Shipped) => Info | Info[];
  /** false: only fill a gap; a kernel the package already ships is kept (default true: replace it). */
  replaces?: boolean;
}

export function callShipped(backendName: string, name: string, shipped: Shipped, args: KernelArgs): Info {
  if (!shipped) throw new Error(`${name} on ${backendName}: no shipped kernel to fall back to`);
  return shipped.kernelFunc(args as Parameters<tf.KernelFunc>[0]) as Info;
}

const ours = new Set<tf.KernelFunc>();

/** Whether the kernel registered for `name` on `backendName` is this project's (for tests and reports). */
export function isProjectKernel(name: string, backendName: string): boolean {
  const k = tf.getKernel(name, backendName);
  return !!k && ours.has(k.kernelFunc);
}

/** Registers `kernels` for `backendName` (idempotent) and returns the names that are ours now. */
export function installKernels(backendName: string, kernels: readonly ProjectKernel[]): string[] {
  const names: string[] = [];
  for (const k of kernels) {
    const existing = tf.getKernel(k.name, backendName);
    if (existing && ours.has(existing.kernelFunc)) {
      names.push(k.name);
      continue;
    }
    if (existing) {
      if (k.replaces === false) continue; // the package gained this kernel; keep its version
      tf.unregisterKernel(k.name, backendName);
    }
    const fn = ((args: KernelArgs) => k.kernelFunc(args, existing)) as unknown as tf.KernelFunc;
    // The shipped setupFunc binds what a fallback to the shipped kernel calls (wasm: its export).
    tf.registerKernel({ kernelName: k.name, backendName, kernelFunc: fn, setupFunc: existing?.setupFunc, disposeFunc: existing?.disposeFunc });
    ours.add(fn);
    names.push(k.name);
  }
  return names;
}
