/**
 * Gradient kernels that @tensorflow/tfjs-backend-wasm 4.22 lacks, registered on the wasm backend.
 * (Work in progress: see issue "Foundation".)
 */
export function registerWasmKernels(): string[] {
  return [];
}
