/**
 * Backend selection: one tfjs engine per process, on the fastest backend that loads.
 *
 * Order: tfjs-node-gpu ("tensorflow" backend on CUDA), tfjs-node ("tensorflow" on CPU), webgpu
 * (tfjs-backend-webgpu on Dawn/Vulkan; only when forced, see below), wasm (XNNPACK, SIMD), cpu
 * (pure JS: correct but minutes per training step, so only for tiny tests).
 * `CVAEGAN_BACKEND=node-gpu|node|webgpu|wasm|cpu` forces one (an error if it does not load).
 * `CVAEGAN_NATIVE=0` switches the native CPU backend off (and keeps npm start from building it).
 * The native CPU backend is the .native/ build that npm start / npm test make when PyPI answers;
 * when it is missing, the report says why (from .setup-stamps/native.json, written by setup).
 *
 * webgpu is never picked automatically: in Node it cannot read a tensor synchronously (lib/backend/webgpu-node.ts),
 * so only code that awaits its reads runs there (models' trainStepAsync, the bench); notebooks,
 * grids and the evaluator call dataSync(). Forced, it reports its adapter and says so when that is
 * a CPU implementation (lavapipe, SwiftShader), which is only good for tests.
 *
 * Every import of tfjs in this project goes through `@tensorflow/tfjs`, and danfojs-node's
 * `@tensorflow/tfjs-node` dependency is overridden to the same package in package.json, so there is
 * exactly one tfjs-core engine; `initBackend()` only chooses which backend that engine runs on.
 *
 * This file is lib/backend/'s only door (README.md there): code outside the folder imports the
 * backend from here, including the few pieces that bench/ and scripts/ switch or time on their own,
 * re-exported at the end.
 */
import * as tf from '@tensorflow/tfjs';
import * as fs from 'fs';
import * as path from 'path';
import { installLeanBackprop } from './lean-backprop';
import { installLeanGradients } from './lean-gradients';
import { registerNativeKernels } from './native-kernels';
import { activateWebGpu, describeAdapter } from './webgpu-node';
import { registerWasmKernels } from './wasm-kernels';
import { requestedWasmThreads, useThreadedWasm, wasmThreadsStatus } from './wasm-threads';

export type BackendChoice = 'node-gpu' | 'node' | 'webgpu' | 'wasm' | 'cpu';
export const BACKEND_ORDER: readonly BackendChoice[] = ['node-gpu', 'node', 'webgpu', 'wasm', 'cpu'];

export interface BackendReport {
  /** What we chose, in our own vocabulary. */
  choice: BackendChoice;
  /** tfjs's name for the active backend (`tf.getBackend()`). */
  tfBackend: string;
  /** Set when CVAEGAN_BACKEND forced the choice. */
  forced: boolean;
  /** Details of the chosen backend (wasm: SIMD and threads; node-gpu: device string; webgpu: adapter). */
  details: string[];
  /** Every faster backend that was tried or skipped, with the reason. */
  skipped: { choice: BackendChoice; reason: string }[];
  /** Kernels this project registered on top of the backend (wasm gradient kernels, webgpu's Conv2DBackpropFilter). */
  extraKernels: string[];
}

let current: BackendReport | undefined;
let pending: Promise<BackendReport> | undefined;

function parseForced(): BackendChoice | undefined {
  const raw = process.env.CVAEGAN_BACKEND?.trim();
  if (!raw) return undefined;
  const value = raw.toLowerCase() as BackendChoice;
  if (!BACKEND_ORDER.includes(value)) {
    throw new Error(
      `CVAEGAN_BACKEND=${raw} is not a backend; use one of ${BACKEND_ORDER.join(', ')} (or unset it).`,
    );
  }
  return value;
}

function firstLine(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.split('\n')[0].slice(0, 200);
}

/** The repository root, found from the project's own @tensorflow/tfjs. */
function repoRoot(): string {
  return path.join(path.dirname(require.resolve('@tensorflow/tfjs/package.json')), '..', '..', '..');
}

/**
 * tfjs-node built by scripts/build-native-tfjs.mjs against the libtensorflow inside TensorFlow's
 * PyPI wheel, in .native/ at the repository root (outside node_modules, so that package.json's
 * danfojs alias of @tensorflow/tfjs-node stays as it is). Undefined when not built.
 */
export function nativeBuildPath(): string | undefined {
  const dir = path.join(repoRoot(), '.native', 'node_modules', '@tensorflow', 'tfjs-node');
  return fs.existsSync(path.join(dir, 'package.json')) ? dir : undefined;
}

/**
 * tfjs-node-gpu built by `npm run native -- --gpu` against the CUDA 12 TensorFlow C library of the
 * `tensorflow` wheel, in .native-gpu/ (or the directory CVAEGAN_NATIVE_GPU_DIR names, which holds
 * the same layout: node_modules/@tensorflow/tfjs-node-gpu). Undefined when not built.
 */
export function nativeGpuBuildPath(): string | undefined {
  const base = process.env.CVAEGAN_NATIVE_GPU_DIR ? path.resolve(process.env.CVAEGAN_NATIVE_GPU_DIR) : path.join(repoRoot(), '.native-gpu');
  const dir = path.join(base, 'node_modules', '@tensorflow', 'tfjs-node-gpu');
  return fs.existsSync(path.join(dir, 'package.json')) ? dir : undefined;
}

/** Which native TensorFlow this process loaded (one per process): our CPU or GPU build, or an npm install. */
let loadedNative: { pkg: string; built?: string } | undefined;

/** What `npm start` / `npm test` (scripts/setup.mjs) did about the native backend, if they ran. */
export interface NativeSetupStatus {
  state: 'built' | 'off' | 'unreachable' | 'failed' | 'unsupported';
  reason: string;
  at: string;
}

export function nativeSetupStatus(): NativeSetupStatus | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(repoRoot(), '.setup-stamps', 'native.json'), 'utf8')) as NativeSetupStatus;
  } catch {
    return undefined;
  }
}

/** CVAEGAN_NATIVE=0 (or false, no, off): never load the native backend. */
const nativeOptOut = () => /^(0|false|no|off)$/i.test((process.env.CVAEGAN_NATIVE ?? '').trim());

/** Why .native/ is not there, in the words of the setup step that would have built it. */
function whyNotBuilt(): string {
  const s = nativeSetupStatus();
  const when = s?.at ? ` (setup, ${s.at.slice(0, 16).replace('T', ' ')} UTC)` : '';
  switch (s?.state) {
    case 'off':
      return `not built: opted out with ${s.reason}${when}; unset CVAEGAN_NATIVE and rerun npm start, or run npm run native`;
    case 'unreachable':
      return `not built: npm start could not reach PyPI for the tensorflow-cpu wheel (${s.reason})${when}; npm run native builds it once PyPI answers`;
    case 'failed':
      return `not built: the build failed (${s.reason})${when}; npm run native retries`;
    case 'unsupported':
      return `not built: ${s.reason}`;
    default:
      return 'not built (no .native/): npm start and npm test build it when PyPI can be reached, or run npm run native';
  }
}

/**
 * TensorFlow settings read when its library loads; call before requiring a native build. A user's
 * own values win.
 */
export function nativeEnvironment(): void {
  // TensorFlow's C++ logging (CPU feature notes, oneDNN banner) goes to stderr; keep warnings and errors.
  process.env.TF_CPP_MIN_LOG_LEVEL ??= '1';
  // TensorFlow turns its oneDNN kernels on by itself only on CPUs with AVX-512 VNNI/BF16 or AMX;
  // elsewhere (e.g. AVX2-only AMD EPYC) it runs Eigen's, whose convolution gradients are 3-5x
  // slower at the cpu preset's shapes (docs/design.md "Issue 18", oneDNN).
  process.env.TF_ENABLE_ONEDNN_OPTS ??= '1';
}

/** Loads the tfjs-node(-gpu) native binding, if installed, and returns why not otherwise. */
function loadNative(pkg: '@tensorflow/tfjs-node-gpu' | '@tensorflow/tfjs-node'): string | undefined {
  if (pkg === '@tensorflow/tfjs-node' && nativeOptOut()) return `CVAEGAN_NATIVE=${process.env.CVAEGAN_NATIVE}: the native backend is switched off`;
  if (tf.findBackendFactory('tensorflow') != null) return undefined;
  const built = pkg === '@tensorflow/tfjs-node' ? nativeBuildPath() : nativeGpuBuildPath();
  if (built) {
    nativeEnvironment();
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      require(built);
      if (tf.findBackendFactory('tensorflow') == null) return `${built} loaded but registered no "tensorflow" backend`;
      loadedNative = { pkg, built };
      return undefined;
    } catch (e) {
      return `the native build in ${path.relative(repoRoot(), path.join(built, '..', '..', '..')) || built} failed to load (${firstLine(e)}); rebuild it with node scripts/build-native-tfjs.mjs${pkg.endsWith('gpu') ? ' --gpu' : ''}`;
    }
  }
  try {
    // Dynamic require: these packages are optional and absent on machines without internet.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require(pkg);
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'MODULE_NOT_FOUND' && firstLine(e).includes(pkg)) {
      return pkg.endsWith('gpu')
        ? `not built (npm run native -- --gpu builds tfjs-node-gpu against TensorFlow's CUDA 12 wheel; README "Backends")`
        : `${pkg} is not installed (npm run native builds it; README "Backends")`;
    }
    return `${pkg} failed to load: ${firstLine(e)}`;
  }
  if (tf.findBackendFactory('tensorflow') == null) {
    // package.json aliases @tensorflow/tfjs-node to plain tfjs for danfojs, so it "loads" without
    // providing a native backend: the only native CPU backend here is the .native/ build.
    if (pkg === '@tensorflow/tfjs-node') return whyNotBuilt();
    return `${pkg} resolves to plain @tensorflow/tfjs, not the native binding`;
  }
  loadedNative = { pkg };
  return undefined;
}

interface Loaded {
  details: string[];
  extra: string[];
}

/** Why webgpu is not among the automatic choices (it is tried only when forced). */
export const WEBGPU_NOT_AUTOMATIC =
  'used only when forced (CVAEGAN_BACKEND=webgpu): in Node it cannot read tensors synchronously, and notebooks, grids and the evaluator do (training through trainStepAsync and the bench work)';

/** Activates `choice`; returns what loaded, or the reason it did not (a string). */
async function tryBackend(choice: BackendChoice, forced: boolean): Promise<Loaded | string> {
  switch (choice) {
    case 'webgpu': {
      if (!forced) return WEBGPU_NOT_AUTOMATIC;
      const r = await activateWebGpu();
      if (typeof r === 'string') return r;
      const details = [`adapter: ${describeAdapter(r)}`, 'synchronous reads unavailable: use trainStepAsync'];
      if (r.software) details.push('a CPU implementation of WebGPU: for tests only, slower than wasm');
      return { details, extra: r.kernels ?? [] };
    }
    case 'node-gpu':
    case 'node': {
      const pkg = choice === 'node-gpu' ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node';
      const why = loadNative(pkg);
      if (why) return why;
      if (!(await tf.setBackend('tensorflow'))) return `${pkg}: tf.setBackend('tensorflow') failed`;
      const details: string[] = [];
      const gpuBuild = loadedNative?.pkg === '@tensorflow/tfjs-node-gpu';
      const where = loadedNative?.built ? path.relative(repoRoot(), path.join(loadedNative.built, '..', '..', '..')) || loadedNative.built : undefined;
      if (choice === 'node-gpu') {
        // tfjs-node-gpu silently falls back to the CPU when the CUDA libraries do not load; say so,
        // and let the next choice ('node') run this same TensorFlow on the CPU.
        const gpu = await nativeHasGpu();
        if (!gpu) {
          return `${where ? `the GPU build (${where}/)` : pkg} loaded, but TensorFlow sees no GPU (no NVIDIA driver, or the CUDA 12 / cuDNN 9 libraries missing${where ? `: rebuild with npm run native -- --gpu for them` : ''}); ${forced ? 'unset CVAEGAN_BACKEND to run it on the CPU' : 'running it on the CPU'}`;
        }
        details.push(`CUDA GPU${where ? ` (TensorFlow C library from the tensorflow wheel, ${where}/)` : ''}`);
      } else if (gpuBuild) {
        details.push(`no GPU visible: the GPU build${where ? ` (${where}/)` : ''} runs on the CPU`);
      } else if (where) {
        const st = nativeSetupStatus();
        details.push(`TensorFlow C library from the tensorflow-cpu wheel in ${where}/${st?.state === 'built' ? ` (${st.reason})` : ''}`);
      }
      return { details, extra: registerNativeKernels() };
    }
    case 'wasm': {
      try {
        const wasm = await import('@tensorflow/tfjs-backend-wasm');
        const dist = path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + path.sep;
        wasm.setWasmPaths(dist);
        const extra = registerWasmKernels();
        if (!(await tf.setBackend('wasm'))) return 'tf.setBackend("wasm") returned false';
        const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
        const threads = wasm.getThreadsCount();
        return { details: [`SIMD ${simd ? 'on' : 'off'}`, `${threads} thread${threads === 1 ? '' : 's'}`], extra };
      } catch (e) {
        return `wasm failed to initialise: ${firstLine(e)}`;
      }
    }
    case 'cpu': {
      await tf.setBackend('cpu');
      return { details: ['pure JavaScript: fine for tiny tests, far too slow to train (minutes per step)'], extra: [] };
    }
  }
}

async function nativeHasGpu(): Promise<boolean> {
  try {
    // tfjs-node's backend records whether TensorFlow found a CUDA device when it loaded.
    const backend = tf.backend() as unknown as { isUsingGpuDevice?: boolean; binding?: { isUsingGpuDevice?: () => boolean } };
    return backend.isUsingGpuDevice ?? backend.binding?.isUsingGpuDevice?.() ?? false;
  } catch {
    return false;
  }
}

async function select(): Promise<BackendReport> {
  const forced = parseForced();
  const order = forced ? [forced] : BACKEND_ORDER;
  const skipped: BackendReport['skipped'] = [];
  for (const choice of order) {
    const r = await tryBackend(choice, forced !== undefined);
    if (typeof r !== 'string') {
      tf.enableProdMode(); // silences tfjs's "use tfjs-node" banner and per-op NaN checks
      return { choice, tfBackend: tf.getBackend(), forced: forced !== undefined, details: r.details, skipped, extraKernels: r.extra };
    }
    skipped.push({ choice, reason: r });
    if (forced) throw new Error(`CVAEGAN_BACKEND=${forced} was requested but it does not load: ${r}`);
  }
  throw new Error(`no tfjs backend loads: ${skipped.map((s) => `${s.choice}: ${s.reason}`).join('; ')}`);
}

/**
 * Picks and activates the backend once per process; later calls return the same report.
 * Call it before building any model.
 */
export function initBackend(): Promise<BackendReport> {
  if (current) return Promise.resolve(current);
  if (!pending) {
    try {
      // Opt-in threaded wasm (lib/backend/wasm-threads.ts) swaps the 'wasm' factory before anything starts it.
      const threads = requestedWasmThreads();
      if (threads > 1) useThreadedWasm(threads);
    } catch (e) {
      return Promise.reject(e);
    }
    pending = select().then((r) => {
      const note = wasmThreadsStatus();
      if (note && r.choice === 'wasm') r.details.push(note);
      // tfjs keeps every gradient and saved activation until a backward pass ends; the lean walk
      // frees them as it goes (same gradients, bit for bit; ~40% lower peak memory, see
      // docs/design.md "performance"). Batch norm's gradient computes only what the tape asks
      // for (same numbers, fewer ops). CVAEGAN_LEAN_BACKPROP=0 keeps tfjs's own (both).
      if (process.env.CVAEGAN_LEAN_BACKPROP !== '0') {
        installLeanBackprop();
        installLeanGradients();
        r.details.push('lean backprop');
      }
      return (current = r);
    });
  }
  return pending;
}

/** One line per fact, for notebooks and the CLI. */
export function describeBackend(r: BackendReport): string {
  const lines = [`tfjs ${tf.version.tfjs} on backend "${r.tfBackend}" (${r.choice}${r.forced ? ', forced by CVAEGAN_BACKEND' : ''}): ${r.details.join(', ')}`];
  for (const s of r.skipped) lines.push(`  skipped ${s.choice}: ${s.reason}`);
  if (r.extraKernels.length) lines.push(`  project kernels registered: ${r.extraKernels.join(', ')}`);
  return lines.join('\n');
}

// The pieces that bench/ and scripts/ use directly: the lean-backprop lever, the WebGPU probe and
// queue drain, the wasm kernels and threads.
export { installLeanBackprop, uninstallLeanBackprop } from './lean-backprop';
export { installLeanGradients, uninstallLeanGradients } from './lean-gradients';
export { nativeLevers, setNativeLevers, type NativeLever } from './native-kernels';
export { gpuWorkDone, probeWebGpu } from './webgpu-node';
export { registerWasmKernels } from './wasm-kernels';
export { requestedWasmThreads, useThreadedWasm } from './wasm-threads';
