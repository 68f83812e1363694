/**
 * Opt-in multithreaded wasm backend in Node: `CVAEGAN_WASM_THREADS=<n>` (n >= 2).
 *
 * tfjs-backend-wasm ships a threaded-SIMD build (Emscripten pthreads, which in Node run on
 * worker_threads), but never loads it in Node, for three reasons this module works around:
 *  1. flags_wasm.js reports no thread support when IS_NODE, so init() picks the 1-thread build.
 *     We do not touch the flag; we register our own 'wasm' backend factory that instantiates the
 *     threaded build directly (wasm-out/tfjs-backend-wasm-threaded-simd.js) and wraps it in the
 *     package's own BackendWasm class, so every registered wasm kernel works unchanged.
 *  2. init() hands Emscripten the pthread worker script as a Blob URL, which Node's Worker cannot
 *     load. The package also ships that script as a string (wasm-out/...worker.js exports it), so
 *     we write it to a file once and point Emscripten's locateFile at it.
 *  3. The C++ side caps threads at emscripten_num_logical_cores()/2, read through os.cpus() while
 *     the module starts. On a 2-core machine that is 1, so during start-up only, os.cpus() reports
 *     2n entries (the real ones, repeated); it is restored as soon as the module has started.
 * If any step fails, the factory falls back to the package's single-threaded backend and
 * `wasmThreadsStatus()` says why.
 */
import * as tf from '@tensorflow/tfjs';
import * as fs from 'fs';
import * as path from 'path';
import * as wasmPkg from '@tensorflow/tfjs-backend-wasm';

/** Emscripten module as returned by the threaded factory, plus the bridge BackendWasm expects. */
interface EmscriptenModule {
  cwrap: (name: string, ret: string | null, args: string[]) => (...a: number[]) => number;
  tfjs?: Record<string, (...a: number[]) => number>;
  PThread?: { runningWorkers: { unref(): void }[] };
}
type Factory = (config: Record<string, unknown>) => Promise<EmscriptenModule>;

const START_TIMEOUT_MS = 60_000;

// The module object itself (an `import * as` namespace has read-only getters), because start-up
// patches its cpus() and Emscripten calls require('os').cpus().
// eslint-disable-next-line @typescript-eslint/no-require-imports
const os = require('os') as typeof import('os');

let status: string | undefined;

/** Threads requested through CVAEGAN_WASM_THREADS, or 0 (= leave the backend single-threaded). */
export function requestedWasmThreads(): number {
  const raw = process.env.CVAEGAN_WASM_THREADS?.trim();
  if (!raw) return 0;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 8) {
    // 8: the threaded build pre-creates 8 pthread workers and its C++ side caps threads there.
    throw new Error(`CVAEGAN_WASM_THREADS=${raw} must be an integer from 1 to 8`);
  }
  return n;
}

/** Why the threaded backend is or is not in use, after `useThreadedWasm` ran; else undefined. */
export function wasmThreadsStatus(): string | undefined {
  return status;
}

function packageRoot(): string {
  return path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json'));
}

/** Writes the pthread worker script (shipped as a JS string) to a file Node's Worker can load. */
function workerFile(root: string): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { wasmWorkerContents } = require(path.join(root, 'wasm-out', 'tfjs-backend-wasm-threaded-simd.worker.js')) as { wasmWorkerContents: string };
  // The template literal it came from turned the source's "\n" escapes into real newlines, which
  // would split string literals; tfjs's own init() escapes them back the same way.
  const text = wasmWorkerContents.replace(/\n/g, '\\n');
  const file = path.join(os.tmpdir(), `cvaegan-tfjs-wasm-${wasmPkg.version_wasm}-threaded-simd.worker.js`);
  if (!fs.existsSync(file) || fs.readFileSync(file, 'utf8') !== text) {
    // Write-then-rename, so a process starting at the same moment never loads half a file.
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, text);
    fs.renameSync(tmp, file);
  }
  return file;
}

async function startThreaded(threads: number): Promise<wasmPkg.BackendWasm> {
  const root = packageRoot();
  const worker = workerFile(root);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const factory = require(path.join(root, 'wasm-out', 'tfjs-backend-wasm-threaded-simd.js')) as Factory;
  const realCpus = os.cpus;
  // The pthread workers are unref'd, so nothing else keeps a bare `node script` alive while the
  // module waits for them to load.
  const keepAlive = setInterval(() => undefined, 1000);
  let timer: NodeJS.Timeout | undefined;
  try {
    os.cpus = () => {
      const real = realCpus();
      return Array.from({ length: 2 * threads }, (_, i) => real[i % real.length]);
    };
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`threaded wasm did not start within ${START_TIMEOUT_MS / 1000} s`)), START_TIMEOUT_MS);
    });
    const module = await Promise.race([
      factory({
        locateFile: (file: string, prefix: string) => {
          if (file.endsWith('.worker.js')) return worker;
          if (file.endsWith('.wasm')) return path.join(root, 'dist', 'tfjs-backend-wasm-threaded-simd.wasm');
          return prefix + file;
        },
      }),
      timeout,
    ]);
    // The same bridge tfjs's init() attaches (backend_wasm.js); BackendWasm calls these.
    module.tfjs = {
      init: module.cwrap('init', null, []),
      initWithThreadsCount: module.cwrap('init_with_threads_count', null, ['number']),
      getThreadsCount: module.cwrap('get_threads_count', 'number', []),
      registerTensor: module.cwrap('register_tensor', null, ['number', 'number', 'number']),
      disposeData: module.cwrap('dispose_data', null, ['number']),
      dispose: module.cwrap('dispose', null, []),
    };
    wasmPkg.setThreadsCount(threads);
    // The constructor creates the thread pool (init_with_threads_count), reading the core count
    // again, so os.cpus stays patched until it returns.
    const backend = new wasmPkg.BackendWasm(module as unknown as ConstructorParameters<typeof wasmPkg.BackendWasm>[0]);
    // Emscripten ref()s a worker while its pthread runs, and pool threads run until the process
    // ends, so a script would never exit. The main thread waits on them synchronously (atomics),
    // never through the event loop, so unref'ing them is safe.
    for (const w of module.PThread?.runningWorkers ?? []) w.unref();
    return backend;
  } finally {
    os.cpus = realCpus;
    clearInterval(keepAlive);
    if (timer) clearTimeout(timer);
  }
}

/**
 * Replaces the 'wasm' backend factory by one that starts the threaded build with `threads`
 * threads. Call after importing @tensorflow/tfjs-backend-wasm and before tf.setBackend('wasm').
 * Returns false (and does nothing) when the wasm backend was already initialised in this process.
 */
export function useThreadedWasm(threads: number): boolean {
  // Not tf.findBackend('wasm'): that STARTS the registered (single-threaded) backend.
  const engine = tf.engine() as unknown as { registry: Record<string, unknown> };
  if (engine.registry.wasm) {
    status = 'wasm backend already initialised in this process; threads unchanged';
    return false;
  }
  const singleThreaded = tf.findBackendFactory('wasm');
  tf.removeBackend('wasm');
  tf.registerBackend('wasm', async () => {
    try {
      const backend = await startThreaded(threads);
      status = `threaded-SIMD build, ${threads} threads requested (CVAEGAN_WASM_THREADS)`;
      return backend;
    } catch (e) {
      status = `threaded wasm failed (${e instanceof Error ? e.message : String(e)}); using the single-threaded build`;
      if (!singleThreaded) throw e;
      wasmPkg.setThreadsCount(1);
      return singleThreaded();
    }
  }, 2);
  return true;
}
