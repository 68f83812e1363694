/**
 * One benchmark measurement in its own process (the tfjs backend is chosen once per process):
 * builds one model on one backend, runs warm-up steps, times `steps` full training steps, and
 * prints one line `BENCH_RESULT {json}` on stdout. Started by bench/run.ts; not meant to be run by
 * hand, but it can be:
 *
 *   BENCH_JOB='{"backend":"wasm","net":"tiny","kind":"cvaegan","steps":2,"warmup":1}' npx tsx bench/child.ts
 *
 * Backend selection goes through lib/backend/index.ts's initBackend() with CVAEGAN_BACKEND set by the
 * parent. For backend 'node' the native binding built by scripts/build-native-tfjs.mjs is required
 * from .native/ first; it registers the "tensorflow" backend on the project's tfjs engine, which
 * initBackend() then activates.
 */
import * as tf from '@tensorflow/tfjs';
import * as path from 'path';
import { describeBackend, gpuWorkDone, initBackend, installLeanBackprop, nativeEnvironment } from '../lib/backend/index';
import { createModel, ModelKind, trainStepAsync } from '../lib/model/factory';
import { BenchNet, benchConfig, LEVERS } from './configs';

export { LEVERS };

export interface BenchJob {
  /** Our backend name: node (native TensorFlow CPU), node-gpu, webgpu, wasm, cpu. */
  backend: 'node' | 'node-gpu' | 'webgpu' | 'wasm' | 'cpu';
  net: BenchNet;
  kind: ModelKind;
  batch?: number;
  steps: number;
  warmup: number;
  /** Also run one step under tf.profile and report the kernels that took the most time. */
  profile?: boolean;
  /** Levers under test: 'lean-backprop' (bench/lean-backprop.ts). */
  levers?: string[];
}

export interface BenchResult {
  job: BenchJob;
  ok: boolean;
  error?: string;
  backendReport?: string;
  backend?: string;
  batch?: number;
  params?: number;
  msPerStep?: number;
  msAll?: number[];
  /** CPU time (user + system, all threads) of this process per timed step, median: less sensitive than wall time to other load. */
  cpuMsPerStep?: number;
  /** tfjs kernel calls per timed step (the engine's runKernelFunc; every backend), median. */
  kernelsPerStep?: number;
  /** Native backend only: calls into TensorFlow's eager runtime per timed step (tfjs-node's binding.executeOp), median. */
  tfOpsPerStep?: number;
  imagesPerSec?: number;
  buildMs?: number;
  warmupMs?: number;
  /** tf.memory().numTensors after each timed step: flat when nothing leaks. */
  numTensors?: number[];
  tensorsFlat?: boolean;
  /** process.resourceUsage().maxRSS at the end, in MB. */
  peakRssMB?: number;
  /** wasm only: size of the wasm heap (it only grows) at the end, in MB. */
  wasmHeapMB?: number;
  /** Bytes held by tensors after the last step (tf.memory().numBytes), in MB. */
  tensorMB?: number;
  /** webgpu only: GPU buffers tfjs holds after the last step, including its pool of free ones (numBytesAllocatedInGPU), in MB. */
  gpuAllocatedMB?: number;
  profile?: { kernel: string; ms: number; calls: number }[];
  profileByShape?: { kernel: string; shapes: string; ms: number; calls: number }[];
  profileTotalMs?: number;
  /** Most bytes held by tensors at any moment of the profiled step (tf.profile's peakBytes), in MB. */
  profilePeakTensorMB?: number;
}

/** The native binding built into .native/ by scripts/build-native-tfjs.mjs, if there is one. */
export function nativeBindingPath(): string {
  return path.join(__dirname, '..', '.native', 'node_modules', '@tensorflow', 'tfjs-node');
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0].slice(0, 300);
}

async function profileStep(step: () => Promise<void>): Promise<Pick<BenchResult, 'profile' | 'profileByShape' | 'profileTotalMs' | 'profilePeakTensorMB'>> {
  const info = await tf.profile(async () => {
    await step();
  });
  const byKernel = new Map<string, { ms: number; calls: number }>();
  const byShape = new Map<string, { kernel: string; shapes: string; ms: number; calls: number }>();
  let total = 0;
  for (const k of info.kernels) {
    // Ops with a custom gradient (fused conv/matMul) appear twice: as 'name__op' around the kernel.
    if (k.name.endsWith('__op')) continue;
    const t = await k.kernelTimeMs;
    const ms = typeof t === 'number' ? t : 0;
    total += ms;
    const a = byKernel.get(k.name) ?? { ms: 0, calls: 0 };
    a.ms += ms;
    a.calls++;
    byKernel.set(k.name, a);
    const shapes = `${k.inputShapes.map((s) => `[${s}]`).join(' ')} -> ${k.outputShapes.map((s) => `[${s}]`).join(' ')}`;
    const key = `${k.name} ${shapes}`;
    const b = byShape.get(key) ?? { kernel: k.name, shapes, ms: 0, calls: 0 };
    b.ms += ms;
    b.calls++;
    byShape.set(key, b);
  }
  const round = (x: number) => Math.round(x * 10) / 10;
  return {
    profileTotalMs: round(total),
    profilePeakTensorMB: round(info.peakBytes / 2 ** 20),
    profile: [...byKernel.entries()].map(([kernel, v]) => ({ kernel, ms: round(v.ms), calls: v.calls })).sort((a, b) => b.ms - a.ms).slice(0, 25),
    profileByShape: [...byShape.values()].map((v) => ({ ...v, ms: round(v.ms) })).sort((a, b) => b.ms - a.ms).slice(0, 25),
  };
}

/**
 * Counts tfjs kernel calls (the engine's runKernelFunc, every backend) and, on the native backend,
 * calls into TensorFlow (tfjs-node's binding.executeOp, through a wrapper object: the addon's own
 * properties are read-only). One JS call more per op while counting: negligible beside an op.
 */
function countOps(): { kernels: () => number; ops: () => number; native: boolean; remove(): void } {
  let kernels = 0;
  let ops = 0;
  const engine = tf.engine() as unknown as { runKernelFunc: (p: unknown) => unknown };
  const own = Object.prototype.hasOwnProperty.call(engine, 'runKernelFunc');
  const run = engine.runKernelFunc;
  engine.runKernelFunc = function (this: unknown, p: unknown) {
    kernels++;
    return run.call(engine, p);
  };
  const backend = tf.backend() as unknown as { binding?: Record<string, unknown> };
  const binding = tf.getBackend() === 'tensorflow' ? backend.binding : undefined;
  if (binding) {
    const wrapped = Object.create(binding) as Record<string, unknown>;
    const execute = binding.executeOp as (...a: unknown[]) => unknown;
    Object.defineProperty(wrapped, 'executeOp', { value: (...a: unknown[]) => (ops++, execute.apply(binding, a)) });
    backend.binding = wrapped;
  }
  return {
    kernels: () => kernels,
    ops: () => ops,
    native: !!binding,
    remove() {
      if (own) engine.runKernelFunc = run;
      else delete (engine as { runKernelFunc?: unknown }).runKernelFunc;
      if (binding) backend.binding = binding;
    },
  };
}

export async function runJob(job: BenchJob): Promise<BenchResult> {
  const res: BenchResult = { job, ok: false };
  try {
    if (job.backend === 'node') {
      // Registers the "tensorflow" backend; without a build this throws MODULE_NOT_FOUND, which
      // the parent reports as the reason the backend was skipped.
      nativeEnvironment();
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      require(nativeBindingPath());
    }
    const report = await initBackend();
    for (const l of job.levers ?? []) {
      if (l === 'lean-backprop') installLeanBackprop();
      else throw new Error(`unknown lever '${l}' (known: ${LEVERS.join(', ')})`);
    }
    res.backendReport = describeBackend(report);
    res.backend = tf.getBackend();
    const config = benchConfig(job.net, job.batch);
    const m = config.batchSize;
    res.batch = m;
    const t0 = performance.now();
    const model = createModel(job.kind, config);
    res.buildMs = performance.now() - t0;
    res.params = Object.entries(model.summary())
      .filter(([k]) => k !== 'total')
      .reduce((s, [, v]) => s + ((v as { trainable?: number; params: number }).trainable ?? v.params), 0);
    const R = config.resolution;
    // One fixed batch: the step's cost does not depend on the pixel values.
    const x = tf.randomUniform([m, R, R, 3], -1, 1, 'float32', 7) as tf.Tensor4D;
    const labels = tf.tensor1d(Array.from({ length: m }, (_, i) => (i * 37) % config.numClasses), 'int32');
    // The step reads its losses back with `await data()` (trainStepAsync: WebGPU in Node has no
    // synchronous read; elsewhere it is the same as trainStep). On webgpu, gpuWorkDone() then waits
    // for the Adam updates queued after the last read, so a timed step is a finished step (PyTorch's
    // reference calls torch.cuda.synchronize() likewise).
    const step = async () => {
      await trainStepAsync(model, x, labels);
      await gpuWorkDone();
    };
    const tw = performance.now();
    for (let i = 0; i < job.warmup; i++) await step();
    res.warmupMs = performance.now() - tw;
    const ms: number[] = [];
    const cpu: number[] = [];
    const tensors: number[] = [];
    const count = countOps();
    const kernels: number[] = [];
    const ops: number[] = [];
    for (let i = 0; i < job.steps; i++) {
      const [k0, o0] = [count.kernels(), count.ops()];
      const c = process.cpuUsage();
      const s = performance.now();
      await step();
      ms.push(performance.now() - s);
      const dc = process.cpuUsage(c);
      cpu.push((dc.user + dc.system) / 1000);
      kernels.push(count.kernels() - k0);
      ops.push(count.ops() - o0);
      tensors.push(tf.memory().numTensors);
    }
    count.remove();
    res.cpuMsPerStep = median(cpu);
    res.kernelsPerStep = median(kernels);
    if (count.native) res.tfOpsPerStep = median(ops);
    res.msAll = ms.map((v) => Math.round(v * 10) / 10);
    res.msPerStep = median(ms);
    res.imagesPerSec = m / (res.msPerStep / 1000);
    res.numTensors = tensors;
    res.tensorsFlat = tensors.every((n) => n === tensors[0]);
    res.tensorMB = tf.memory().numBytes / 2 ** 20;
    const mem = tf.memory() as { numBytesAllocatedInGPU?: number };
    if (mem.numBytesAllocatedInGPU !== undefined) res.gpuAllocatedMB = mem.numBytesAllocatedInGPU / 2 ** 20;
    if (job.profile) Object.assign(res, await profileStep(step));
    const wasmModule = (tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } }).wasm;
    if (res.backend === 'wasm' && wasmModule?.HEAPU8) res.wasmHeapMB = wasmModule.HEAPU8.buffer.byteLength / 2 ** 20;
    res.ok = true;
    model.dispose();
    tf.dispose([x, labels]);
  } catch (e) {
    res.error = firstLine(e);
  }
  res.peakRssMB = process.resourceUsage().maxRSS / 1024;
  return res;
}

if (require.main === module) {
  const raw = process.env.BENCH_JOB;
  if (!raw) {
    console.error('bench/child.ts: set BENCH_JOB (bench/run.ts does)');
    process.exit(2);
  }
  runJob(JSON.parse(raw) as BenchJob).then(
    (r) => {
      process.stdout.write(`BENCH_RESULT ${JSON.stringify(r)}\n`);
      // Threaded wasm, TensorFlow and Dawn keep threads alive: leave without waiting for them.
      process.exit(0);
    },
    (e) => {
      console.error(e);
      process.exit(1);
    },
  );
}
