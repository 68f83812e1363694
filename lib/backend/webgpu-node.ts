/**
 * WebGPU in Node: tfjs-backend-webgpu on Dawn's Node bindings (npm package `webgpu`, an optional
 * dependency that ships a prebuilt dawn.node for linux-x64). Dawn drives the GPU through Vulkan, so
 * this needs a Vulkan driver (NVIDIA's, or Mesa's lavapipe on a CPU) and no CUDA libraries at all.
 *
 * What works: every kernel a training step of the CVAE-GAN and the baselines uses (tiny, cpu and
 * reference64 nets; losses agree with the cpu backend to float rounding, test/webgpu.test.ts).
 *
 * What does not: synchronous reads. tfjs-backend-webgpu implements dataSync()/arraySync() by
 * drawing into an OffscreenCanvas, which Node does not have, and Dawn offers no blocking map, so in
 * Node every read must be `await t.data()`. The models' `trainStepAsync()` (lib/model/modelbase.ts) does
 * that; notebooks, grids and the evaluator still read synchronously, which is why lib/backend/index.ts
 * uses WebGPU only when CVAEGAN_BACKEND=webgpu asks for it.
 *
 * While the Dawn instance is referenced from `navigator.gpu`, Node does not exit on its own (Dawn
 * keeps polling): a script that uses WebGPU ends with process.exit().
 */
import * as tf from '@tensorflow/tfjs';
import * as os from 'os';
import { registerWebGpuKernels } from './webgpu-kernels';

/** What the adapter says about itself (GPUAdapterInfo), plus whether it is a CPU implementation. */
export interface WebGpuAdapterSummary {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** lavapipe, SwiftShader, Dawn's fallback adapter: WebGPU on the CPU, far slower than wasm. */
  software: boolean;
  /** Why `software` was decided, for the report. */
  softwareReason?: string;
  /** A few limits that decide which tensors fit in one binding. */
  maxBufferMB: number;
  maxStorageBindingMB: number;
  /** Kernels of this project registered in place of tfjs-backend-webgpu's (activateWebGpu only). */
  kernels?: string[];
}

interface DawnModule {
  create(flags: string[]): GpuLike;
  globals: Record<string, unknown>;
}
interface GpuLike {
  requestAdapter(opts?: { powerPreference?: 'high-performance' | 'low-power'; forceFallbackAdapter?: boolean }): Promise<AdapterLike | null>;
}
interface AdapterLike {
  info?: Record<string, unknown> & { isFallbackAdapter?: boolean };
  isFallbackAdapter?: boolean;
  limits: { maxBufferSize: number; maxStorageBufferBindingSize: number };
}

const SOFTWARE = /llvmpipe|lavapipe|swiftshader|software|softpipe/i;

/** Classifies an adapter from its info (exported for the test). */
export function summarizeAdapter(a: AdapterLike): WebGpuAdapterSummary {
  const info = a.info ?? {};
  const str = (k: string) => (typeof info[k] === 'string' ? (info[k] as string) : '');
  const s: WebGpuAdapterSummary = {
    vendor: str('vendor'),
    architecture: str('architecture'),
    device: str('device'),
    description: str('description'),
    software: false,
    maxBufferMB: Math.round(a.limits.maxBufferSize / 2 ** 20),
    maxStorageBindingMB: Math.round(a.limits.maxStorageBufferBindingSize / 2 ** 20),
  };
  const text = [s.vendor, s.architecture, s.device, s.description].join(' ');
  if (info.isFallbackAdapter === true || a.isFallbackAdapter === true) {
    s.software = true;
    s.softwareReason = 'the adapter is a fallback adapter';
  } else if (SOFTWARE.test(text)) {
    s.software = true;
    s.softwareReason = `a CPU implementation (${text.match(SOFTWARE)![0]})`;
  }
  return s;
}

export function describeAdapter(s: WebGpuAdapterSummary): string {
  const name = s.description || [s.vendor, s.device].filter(Boolean).join(' ') || 'unnamed adapter';
  return `${name}${s.architecture ? ` (${s.architecture})` : ''}${s.software ? `, software: ${s.softwareReason}` : ''}`;
}

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0].slice(0, 200);
}

let gpu: GpuLike | undefined;

/**
 * Loads Dawn and puts `navigator.gpu` and the WebGPU globals (GPUBufferUsage, ...) on globalThis,
 * which tfjs-backend-webgpu needs before it is loaded. Returns why not, as a string.
 */
function loadDawn(): GpuLike | string {
  if (gpu) return gpu;
  let dawn: DawnModule;
  try {
    // The package is ESM without top-level await; Node >= 20.19 require()s it.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    dawn = require('webgpu') as DawnModule;
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'MODULE_NOT_FOUND' && firstLine(e).includes("'webgpu'")) {
      return 'the optional package `webgpu` (Dawn for Node) is not installed';
    }
    return `the package \`webgpu\` failed to load: ${firstLine(e)}`;
  }
  // Dawn's Vulkan loader wants a runtime directory (it only warns without one).
  process.env.XDG_RUNTIME_DIR ??= os.tmpdir();
  for (const [k, v] of Object.entries(dawn.globals)) {
    if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;
  }
  const g = dawn.create([]);
  const nav = (globalThis as { navigator?: object }).navigator;
  if (nav) Object.defineProperty(nav, 'gpu', { value: g, configurable: true, writable: true });
  else Object.defineProperty(globalThis, 'navigator', { value: { gpu: g }, configurable: true, writable: true });
  gpu = g;
  return g;
}

/** The adapter Dawn would give tfjs, or why there is none. Loads Dawn (once per process). */
export async function probeWebGpu(): Promise<WebGpuAdapterSummary | string> {
  const g = loadDawn();
  if (typeof g === 'string') return g;
  let adapter: AdapterLike | null;
  try {
    adapter = await g.requestAdapter({ powerPreference: 'high-performance' });
  } catch (e) {
    return `Dawn's requestAdapter failed: ${firstLine(e)}`;
  }
  if (!adapter) {
    return 'Dawn found no WebGPU adapter (no usable Vulkan driver: install one, or point VK_DRIVER_FILES at its ICD json; ' +
      "Debian 12's lavapipe 22.3 is too old for Dawn, bookworm-backports' 25.0 works)";
  }
  return summarizeAdapter(adapter);
}

/**
 * Registers tfjs-backend-webgpu (after Dawn is loaded), replaces some of its kernels with the
 * project's (lib/backend/webgpu-kernels.ts) and activates it. Returns the adapter, or why WebGPU is
 * unavailable.
 */
export async function activateWebGpu(): Promise<WebGpuAdapterSummary | string> {
  const probe = await probeWebGpu();
  if (typeof probe === 'string') return probe;
  try {
    // Registers the 'webgpu' backend factory, which asks navigator.gpu for the same adapter.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require('@tensorflow/tfjs-backend-webgpu');
  } catch (e) {
    return `@tensorflow/tfjs-backend-webgpu failed to load: ${firstLine(e)}`;
  }
  if (tf.findBackendFactory('webgpu') == null) return '@tensorflow/tfjs-backend-webgpu loaded but registered no "webgpu" backend';
  // Faster kernels of our own (lib/backend/webgpu-kernels.ts), in place of the package's.
  const kernels = registerWebGpuKernels();
  try {
    if (!(await tf.setBackend('webgpu'))) return 'tf.setBackend("webgpu") returned false';
  } catch (e) {
    return `tf.setBackend("webgpu") failed: ${firstLine(e)}`;
  }
  explainSyncReads(tf.backend() as unknown as SyncReader);
  return { ...probe, kernels };
}

interface SyncReader {
  readSync(dataId: object): unknown;
}

/**
 * A synchronous read of a tensor that lives on the GPU fails in Node with "OffscreenCanvas is not
 * defined"; say what to do instead. Reads of values still on the CPU work as before.
 */
function explainSyncReads(backend: SyncReader): void {
  const readSync = backend.readSync.bind(backend);
  backend.readSync = (dataId: object) => {
    try {
      return readSync(dataId);
    } catch (e) {
      if (e instanceof ReferenceError && /OffscreenCanvas/.test(e.message)) {
        throw new Error('dataSync()/arraySync() cannot read a GPU tensor on WebGPU in Node (tfjs-backend-webgpu reads synchronously through OffscreenCanvas, which Node lacks): use `await t.data()`, and model.trainStepAsync() instead of trainStep()');
      }
      throw e;
    }
  };
}

/**
 * Waits until the GPU has finished all work tfjs has queued so far (no-op on other backends).
 * A loss read back waits only for the work it depends on; timing a whole step needs this too.
 */
export async function gpuWorkDone(): Promise<void> {
  if (tf.getBackend() !== 'webgpu') return;
  const b = tf.backend() as unknown as {
    ensureCommandEncoderReady(): void;
    endComputePassEncoder(): void;
    submitQueue(): void;
    device: { queue: { onSubmittedWorkDone(): Promise<void> } };
  };
  // What tfjs does before each read (getBufferData): close the open pass, submit what is recorded.
  b.ensureCommandEncoderReady();
  b.endComputePassEncoder();
  b.submitQueue();
  await b.device.queue.onSubmittedWorkDone();
}
