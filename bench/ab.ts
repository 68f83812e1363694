/**
 * A/B of the native backend's levers inside one process, for a machine that is not quiet: two
 * models of the same config, one trained with the levers off (tfjs's own ops), one with them on,
 * their steps alternated, so that both arms see the same load. Per arm: median wall ms and CPU ms
 * (process.cpuUsage: user + system, all threads) per step, TensorFlow ops per step (calls into
 * tfjs-node's binding.executeOp, counted exactly) and tfjs kernels per step (engine.runKernelFunc).
 *
 *   npx tsx bench/ab.ts                                   # cpu preset, CVAE-GAN, every lever, 12 pairs
 *   npx tsx bench/ab.ts --net tiny --kind cgan --levers adam --pairs 20
 *
 * Levers: adam, batchNorm, reluGrad (lib/backend/native-kernels.ts), leanGradients
 * (lib/backend/lean-gradients.ts), forwardOnce (lib/model/tape.ts); `--levers none` times A against A (the noise floor). Needs the native build (npm run native). Threads are read from
 * TF_NUM_INTRAOP_THREADS / TF_NUM_INTEROP_THREADS when TensorFlow starts (set them for the
 * whole process; bench/run.ts sets them to --threads).
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend, installLeanGradients, nativeLevers, setNativeLevers, uninstallLeanGradients } from '../lib/backend/index';
import { createModel, type ModelKind } from '../lib/model/factory';
import { setForwardOnce } from '../lib/model/tape';
import { type BenchNet, benchConfig } from './configs';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : dflt;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** Counts calls into TensorFlow (tfjs-node's binding.executeOp) and tfjs kernels. */
function installCounters(): { ops: () => number; kernels: () => number } {
  let ops = 0;
  let kernels = 0;
  const backend = tf.backend() as unknown as { binding: Record<string, unknown> };
  const binding = backend.binding;
  // The addon's properties are read-only: count through a wrapper object in front of it.
  const wrapped = Object.create(binding) as Record<string, unknown>;
  const execute = binding.executeOp as (...a: unknown[]) => unknown;
  Object.defineProperty(wrapped, 'executeOp', { value: (...a: unknown[]) => (ops++, execute.apply(binding, a)) });
  backend.binding = wrapped;
  const engine = tf.engine() as unknown as { runKernelFunc: (p: unknown) => unknown };
  const run = engine.runKernelFunc.bind(engine);
  engine.runKernelFunc = (p: unknown) => (kernels++, run(p));
  return { ops: () => ops, kernels: () => kernels };
}

async function main(): Promise<void> {
  process.env.CVAEGAN_BACKEND ??= 'node';
  process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';
  const report = await initBackend();
  if (report.tfBackend !== 'tensorflow') throw new Error(`bench/ab.ts times the native backend; got ${report.tfBackend} (build it with npm run native)`);
  const net = arg('net', 'cpu') as BenchNet;
  const kind = arg('kind', 'cvaegan') as ModelKind;
  const pairs = Number(arg('pairs', '12'));
  const warmup = Number(arg('warmup', '2'));
  // The native levers, the batch-norm gradient of lib/backend/lean-gradients.ts and the single
  // forward pass of lib/model/tape.ts (both on every backend).
  const all = [...Object.keys(nativeLevers), 'leanGradients', 'forwardOnce'];
  const raw = arg('levers', all.join(','));
  const levers = raw === 'none' ? [] : raw.split(',');
  for (const l of levers) if (!all.includes(l)) throw new Error(`--levers: '${l}' is not one of ${all.join(', ')}`);
  const on = Object.fromEntries(all.map((l) => [l, true]));
  const off = Object.fromEntries(all.map((l) => [l, !levers.includes(l)]));
  const apply = (set: Record<string, boolean>) => {
    setNativeLevers(set);
    if (set.leanGradients) installLeanGradients();
    else uninstallLeanGradients();
    setForwardOnce(set.forwardOnce);
  };

  const cfg = benchConfig(net);
  const m = cfg.batchSize;
  const x = tf.randomUniform([m, cfg.resolution, cfg.resolution, 3], -1, 1, 'float32', 7) as tf.Tensor4D;
  const labels = tf.tensor1d(Array.from({ length: m }, (_, i) => (i * 37) % cfg.numClasses), 'int32');
  const arms = [
    { name: `off (${levers.join(',') || 'none'} off)`, levers: off, model: createModel(kind, cfg), ms: [] as number[], cpu: [] as number[], ops: [] as number[], kernels: [] as number[], tensors: [] as number[] },
    { name: 'on (all levers)', levers: on, model: createModel(kind, cfg), ms: [] as number[], cpu: [] as number[], ops: [] as number[], kernels: [] as number[], tensors: [] as number[] },
  ];
  const count = installCounters();
  for (let i = 0; i < warmup + pairs; i++) {
    // Alternate which arm goes first, so neither always follows the other's garbage.
    for (const a of i % 2 ? [...arms].reverse() : arms) {
      apply(a.levers);
      const [o0, k0] = [count.ops(), count.kernels()];
      const c = process.cpuUsage();
      const t = performance.now();
      a.model.trainStep(x, labels);
      const ms = performance.now() - t;
      const dc = process.cpuUsage(c);
      if (i < warmup) continue;
      a.ms.push(ms);
      a.cpu.push((dc.user + dc.system) / 1000);
      a.ops.push(count.ops() - o0);
      a.kernels.push(count.kernels() - k0);
      a.tensors.push(tf.memory().numTensors);
    }
  }
  console.log(`${net} ${kind}, ${pairs} pairs after ${warmup} warm-up; levers under test: ${levers.join(', ') || 'none'}; load average ${(await import('os')).loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  for (const a of arms) {
    console.log(`  ${a.name.padEnd(32)} ${median(a.ms).toFixed(0).padStart(6)} ms/step  ${median(a.cpu).toFixed(0).padStart(6)} CPU-ms/step  ${median(a.ops).toFixed(0).padStart(5)} TF ops/step  ${median(a.kernels).toFixed(0).padStart(5)} tfjs kernels/step`);
  }
  const [A, B] = arms;
  console.log(`  on/off: wall ${(median(B.ms) / median(A.ms)).toFixed(3)}, CPU ${(median(B.cpu) / median(A.cpu)).toFixed(3)}, ops ${(median(B.ops) / median(A.ops)).toFixed(3)}; paired wall ratios median ${median(A.ms.map((v, i) => B.ms[i] / v)).toFixed(3)}`);
  // Both models are alive throughout, so each arm sees the same total after its steps when nothing leaks.
  console.log(`  tf.memory().numTensors after each step: ${arms.map((a) => (new Set(a.tensors).size === 1 ? `flat (${a.tensors[0]})` : `NOT flat ${a.tensors.join(',')}`)).join(', ')}`);
  for (const a of arms) a.model.dispose();
  tf.dispose([x, labels]);
}

main().then(() => process.exit(0), (e) => {
  console.error(e);
  process.exit(1);
});
