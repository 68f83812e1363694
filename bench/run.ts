/**
 * The training-speed benchmark: tfjs (every backend that loads) against PyTorch on the same nets,
 * side by side in one run.
 *
 *   npm run bench                                  # everything (tens of minutes on 2 cores)
 *   npm run bench -- --quick                       # reference64 only, CVAE-GAN only, fewer steps
 *   npm run bench -- --backends node,wasm --nets reference64 --kinds cvaegan --steps 5 --threads 2
 *   npm run bench -- --profile                     # also the kernels that take the time (one step each)
 *   npm run bench -- --lever lean-backprop         # with a lever under test (bench/lean-backprop.ts)
 *   npm run bench -- --backends webgpu --nets reference64,cpu --kinds cvaegan --reference-device cuda
 *                                                  # a GPU machine: tfjs on WebGPU beside PyTorch on CUDA
 *
 * For each backend x net x model kind, one child process (bench/child.ts; the backend is chosen
 * once per process) builds the model and times `--steps` full training steps after `--warmup`
 * steps: median ms/step, images/s, CPU seconds per step, tfjs kernels and (native backend)
 * TensorFlow ops per step, numTensors after each step (must be flat), peak RSS, the wasm heap;
 * and issue #18's targets, met or not. For each net it can express, the PyTorch reference (bench/reference/cvaegan_ref.py, CPU,
 * the same thread count) runs as another child of this process, so the ratio tfjs/PyTorch compares
 * numbers taken minutes apart on the same machine, never across runs. Writes bench/results.json
 * (or --out) and prints a table.
 *
 * Backends: node = tfjs-node on libtensorflow from TensorFlow's wheel (scripts/build-native-tfjs.mjs
 * builds it into .native/); wasm = XNNPACK + SIMD, one thread; wasm-mt = the threaded wasm build
 * (lib/backend/wasm-threads.ts, CVAEGAN_WASM_THREADS); cpu = pure JS, timed on the tiny net only;
 * webgpu = tfjs-backend-webgpu on Dawn (Vulkan; lib/backend/webgpu-node.ts), never in the default list.
 * --reference-device cuda runs the PyTorch reference on the GPU instead (bench/gpu/ carries all this
 * to a GPU machine without Node: the scripts there bundle run.ts and child.ts, which then find the
 * repository through CVAEGAN_ROOT).
 * This is not a test: CI times nothing (test/bench.test.ts only checks that it runs on a tiny net).
 */
import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
// Types only: a bundle of this file (bench/gpu/) must not contain child.ts's main block.
import type { BenchJob, BenchResult } from './child';
import { BENCH_NETS, BenchNet, benchConfig, LEVERS } from './configs';

type Variant = 'node' | 'wasm' | 'wasm-mt' | 'cpu' | 'node-gpu' | 'webgpu';
const VARIANTS: readonly Variant[] = ['node', 'wasm-mt', 'wasm', 'cpu', 'node-gpu', 'webgpu'];
const KINDS = ['cvaegan', 'cvae', 'cgan', 'fmcgan'] as const;

/** The repository root; a bundled copy of this file (bench/gpu/) is told where it is with CVAEGAN_ROOT. */
const ROOT = process.env.CVAEGAN_ROOT ? path.resolve(process.env.CVAEGAN_ROOT) : path.join(__dirname, '..');

interface Options {
  variants: Variant[];
  nets: BenchNet[];
  kinds: string[];
  threads: number;
  steps: number;
  warmup: number;
  out: string;
  reference: boolean;
  python: string;
  /** Where the PyTorch reference runs: cpu (with --threads) or cuda. */
  referenceDevice: 'cpu' | 'cuda';
  torchBlas: string | undefined;
  profile: boolean;
  timeoutS: number;
  quiet: boolean;
  levers: string[];
  /** --nets was given: run exactly those, including paper on wasm. */
  netsExplicit: boolean;
}

function parseArgs(argv: string[]): Options {
  const get = (name: string): string | undefined => {
    const i = argv.indexOf(`--${name}`);
    if (i < 0) return undefined;
    const v = argv[i + 1];
    if (v === undefined || v.startsWith('--')) throw new Error(`--${name} needs a value`);
    return v;
  };
  const has = (name: string) => argv.includes(`--${name}`);
  const known = new Set(['quick', 'tiny', 'backends', 'nets', 'kinds', 'threads', 'steps', 'warmup', 'out', 'no-reference', 'python', 'reference-device', 'torch-blas', 'profile', 'timeout', 'quiet', 'lever', 'help']);
  for (const a of argv) if (a.startsWith('--') && !known.has(a.slice(2))) throw new Error(`unknown option ${a}; see the comment at the top of bench/run.ts`);
  const list = (v: string | undefined) => v?.split(',').map((s) => s.trim()).filter(Boolean);
  const quick = has('quick');
  const tiny = has('tiny');
  const variants = (list(get('backends')) ?? (tiny ? ['cpu', 'wasm'] : ['node', 'wasm-mt', 'wasm'])) as Variant[];
  for (const v of variants) if (!VARIANTS.includes(v)) throw new Error(`--backends: '${v}' is not one of ${VARIANTS.join(', ')}`);
  const nets = (list(get('nets')) ?? (tiny ? ['tiny'] : quick ? ['reference64'] : ['reference64', 'cpu', 'paper'])) as BenchNet[];
  for (const n of nets) if (!BENCH_NETS.includes(n)) throw new Error(`--nets: '${n}' is not one of ${BENCH_NETS.join(', ')}`);
  const kinds = list(get('kinds')) ?? (quick ? ['cvaegan'] : [...KINDS]);
  for (const k of kinds) if (!(KINDS as readonly string[]).includes(k)) throw new Error(`--kinds: '${k}' is not one of ${KINDS.join(', ')}`);
  const num = (name: string, d: number) => {
    const v = get(name);
    const n = v === undefined ? d : Number(v);
    if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a non-negative integer (got ${v})`);
    return n;
  };
  const threads = num('threads', 2);
  if (threads < 1) throw new Error('--threads must be at least 1');
  const referenceDevice = get('reference-device') ?? 'cpu';
  if (referenceDevice !== 'cpu' && referenceDevice !== 'cuda') throw new Error(`--reference-device: '${referenceDevice}' is not cpu or cuda`);
  return {
    variants,
    nets,
    kinds,
    threads,
    steps: Math.max(1, num('steps', tiny ? 2 : quick ? 3 : 5)),
    warmup: num('warmup', tiny || quick ? 1 : 2),
    out: path.resolve(get('out') ?? path.join(ROOT, 'bench', 'results.json')),
    reference: !has('no-reference'),
    python: get('python') ?? process.env.CVAEGAN_TORCH_PYTHON ?? '/usr/bin/python3',
    referenceDevice,
    torchBlas: get('torch-blas'),
    profile: has('profile'),
    timeoutS: num('timeout', 1800),
    quiet: has('quiet'),
    netsExplicit: get('nets') !== undefined,
    levers: (list(get('lever')) ?? []).map((l) => {
      if (!(LEVERS as readonly string[]).includes(l)) throw new Error(`--lever: '${l}' is not one of ${LEVERS.join(', ')}`);
      return l;
    }),
  };
}

/** Runs a child with a wall-clock limit; returns its exit code, stdout and the tail of stderr. */
function runChild(cmd: string, args: string[], env: NodeJS.ProcessEnv, timeoutS: number): Promise<{ code: number | null; stdout: string; stderr: string; timedOut: boolean }> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => {
      stderr += d;
      if (stderr.length > 20000) stderr = stderr.slice(-10000);
    });
    const timer = setTimeout(() => {
      timedOut = true;
      p.kill('SIGKILL');
    }, timeoutS * 1000);
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, timedOut });
    });
    p.on('error', (e) => {
      clearTimeout(timer);
      resolve({ code: -1, stdout, stderr: stderr + String(e), timedOut });
    });
  });
}

const tail = (s: string, n = 3) => s.trim().split('\n').filter((l) => l.trim()).slice(-n).join(' | ').slice(0, 400);

/** Why a (variant, net, kind) is not timed, or undefined when it is. */
function skipReason(v: Variant, net: BenchNet, kind: string, o: Options): string | undefined {
  if (v === 'cpu' && net !== 'tiny') return 'pure-JS cpu backend: minutes per step at this size; timed on the tiny net only';
  if ((v === 'wasm' || v === 'wasm-mt') && net === 'paper' && !o.netsExplicit) {
    return 'does not fit: the paper preset at batch 64 aborts the 4 GB wasm heap (measured; its step needs ~10-20 GB on the native backend); --nets paper --backends wasm tries anyway';
  }
  if (v === 'node' && !fs.existsSync(path.join(ROOT, '.native', 'node_modules', '@tensorflow', 'tfjs-node'))) {
    return 'native backend not built (node scripts/build-native-tfjs.mjs builds it into .native/)';
  }
  void kind;
  return undefined;
}

function childEnv(v: Variant, threads: number): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2' };
  delete env.CVAEGAN_WASM_THREADS;
  env.CVAEGAN_BACKEND = v === 'wasm-mt' ? 'wasm' : v;
  if (v === 'wasm-mt') env.CVAEGAN_WASM_THREADS = String(threads);
  // TensorFlow's own thread pools (read when tfjs-node creates its eager context).
  env.TF_NUM_INTRAOP_THREADS = String(threads);
  env.TF_NUM_INTEROP_THREADS = '1';
  env.OMP_NUM_THREADS = String(threads);
  return env;
}

async function runTfjs(job: BenchJob, v: Variant, o: Options): Promise<BenchResult> {
  // From source: child.ts through tsx. Bundled (bench/gpu/): child.js beside this file, plain node.
  const args = __filename.endsWith('.ts')
    ? [path.join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'), path.join(ROOT, 'bench', 'child.ts')]
    : [path.join(__dirname, 'child.js')];
  const r = await runChild(process.execPath, args, { ...childEnv(v, o.threads), BENCH_JOB: JSON.stringify(job) }, o.timeoutS);
  const line = r.stdout.split('\n').find((l) => l.startsWith('BENCH_RESULT '));
  if (line) return JSON.parse(line.slice('BENCH_RESULT '.length)) as BenchResult;
  const why = r.timedOut ? `timed out after ${o.timeoutS} s` : `exit ${r.code}: ${tail(r.stderr) || 'no output'}`;
  return { job, ok: false, error: `child process failed (${why})` };
}

interface RefResult {
  net: BenchNet;
  ok: boolean;
  error?: string;
  runtime?: string;
  blas?: string;
  threads?: number;
  batch?: number;
  msPerStep?: number;
  msAll?: number[];
  cpuMsPerStep?: number;
  imagesPerSec?: number;
  peakRssMB?: number;
  paramsTotal?: number;
  device?: string;
  peakGpuMB?: number;
}

/**
 * OpenBLAS for the reference: --torch-blas DIR, or .native/openblas, fetched there by
 * bench/reference/fetch-openblas.sh when missing. Without it Debian's python3-torch runs on the
 * netlib reference BLAS (10-40x slower), and every ratio of the run would flatter tfjs.
 */
function torchBlasDir(o: Options): string | undefined {
  if (o.torchBlas === 'system') return undefined;
  if (o.torchBlas) return path.resolve(o.torchBlas);
  const d = path.join(ROOT, '.native', 'openblas', 'usr', 'lib', 'x86_64-linux-gnu', 'openblas-pthread');
  if (!fs.existsSync(path.join(d, 'libblas.so.3'))) {
    console.log('bench: no OpenBLAS for the PyTorch reference in .native/openblas; fetching it (bench/reference/fetch-openblas.sh)');
    const r = spawnSync('sh', [path.join(ROOT, 'bench', 'reference', 'fetch-openblas.sh')], { cwd: ROOT, encoding: 'utf8' });
    if (r.status !== 0) console.log(`bench: could not fetch OpenBLAS (${(r.stderr || '').trim().split('\n').pop()}); the reference uses the system BLAS, see its "blas" field before comparing ratios`);
  }
  return fs.existsSync(path.join(d, 'libblas.so.3')) ? d : undefined;
}

async function runReference(net: BenchNet, o: Options, tmp: string, blas: string | undefined): Promise<RefResult> {
  const cfg = benchConfig(net);
  const file = path.join(tmp, `config-${net}.json`);
  fs.writeFileSync(file, JSON.stringify(cfg));
  const env: NodeJS.ProcessEnv = { ...process.env, OMP_NUM_THREADS: String(o.threads), OPENBLAS_NUM_THREADS: String(o.threads), PYTHONUNBUFFERED: '1' };
  if (blas) env.LD_LIBRARY_PATH = [blas, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':');
  const script = path.join(ROOT, 'bench', 'reference', 'cvaegan_ref.py');
  const r = await runChild(o.python, [script, '--config', file, '--device', o.referenceDevice, '--threads', String(o.threads), '--steps', String(o.steps), '--warmup', String(Math.max(1, o.warmup))], env, o.timeoutS);
  const line = r.stdout.trim().split('\n').filter((l) => l.startsWith('{')).pop();
  if (r.code === 0 && line) return { net, ok: true, ...(JSON.parse(line) as Omit<RefResult, 'net' | 'ok'>) };
  const why = r.timedOut ? `timed out after ${o.timeoutS} s` : tail(r.stderr) || `exit ${r.code}`;
  return { net, ok: false, error: `PyTorch reference (${o.python}) failed: ${why}` };
}

/** Which nets the PyTorch reference can build (it implements conv trunks only). */
function referenceSupports(net: BenchNet): string | undefined {
  const c = benchConfig(net);
  const other = [c.encoder, c.discriminator, c.classifier].flatMap((t) => t.trunk).find((l) => l.kind !== 'conv');
  return other ? `the PyTorch reference implements conv trunks only (this net has ${other.kind} layers)` : undefined;
}

const fmt = (x: number | undefined, d = 1) => (x === undefined || !Number.isFinite(x) ? '-' : x.toFixed(d));

function table(rows: string[][]): string {
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r, j) => {
    const line = r.map((c, i) => (i === 0 || i === 1 || i === 2 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  ');
    return j === 0 ? `${line}\n${w.map((n) => '-'.repeat(n)).join('  ')}` : line;
  }).join('\n');
}

/** Issue #18's targets: tfjs / PyTorch images/s in one run, same machine and threads; peak RSS at most 2x. */
const SPEED_TARGETS: { net: BenchNet; backend: Variant; minRatio: number; maxMemoryRatio: number }[] = [
  { net: 'cpu', backend: 'node', minRatio: 1.0, maxMemoryRatio: 2 },
  { net: 'cpu', backend: 'wasm-mt', minRatio: 0.6, maxMemoryRatio: 2 },
  { net: 'reference64', backend: 'node', minRatio: 1.3, maxMemoryRatio: 2 },
];

export async function main(argv: string[]): Promise<number> {
  const o = parseArgs(argv);
  const log = (s: string) => {
    if (!o.quiet) console.log(s);
  };
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cvaegan-bench-'));
  const started = new Date().toISOString();
  const load0 = os.loadavg();
  const runs: (BenchResult & { variant: Variant; skipped?: string })[] = [];
  const references: RefResult[] = [];
  log(`bench: ${o.levers.length ? `levers ${o.levers.join(',')}; ` : ''}backends ${o.variants.join(',')}; nets ${o.nets.join(',')}; kinds ${o.kinds.join(',')}; ${o.threads} threads; ${o.warmup} warm-up + ${o.steps} timed steps; load average ${load0.map((l) => l.toFixed(2)).join(' ')}`);

  // Resolved once, and only when some net's reference will run.
  const blas = o.reference && o.nets.some((net) => !referenceSupports(net)) ? torchBlasDir(o) : undefined;
  for (const net of o.nets) {
    if (o.reference) {
      const why = referenceSupports(net);
      if (why) {
        references.push({ net, ok: false, error: why });
        log(`  pytorch   ${net}: skipped (${why})`);
      } else {
        const r = await runReference(net, o, tmp, blas);
        references.push(r);
        log(`  pytorch   ${net}: ${r.ok ? `${fmt(r.imagesPerSec, 2)} img/s, ${fmt(r.msPerStep, 0)} ms/step (CPU ${fmt((r.cpuMsPerStep ?? NaN) / 1000, 2)} s), ${fmt(r.peakRssMB, 0)} MB${r.peakGpuMB !== undefined ? `, GPU ${fmt(r.peakGpuMB, 0)} MB` : ''} (${r.device === 'cpu' || !r.device ? r.blas : r.device})` : r.error}`);
      }
    }
    for (const v of o.variants) {
      for (const kind of o.kinds) {
        const job: BenchJob = { backend: v === 'wasm-mt' ? 'wasm' : v, net, kind: kind as BenchJob['kind'], steps: o.steps, warmup: o.warmup, profile: o.profile, levers: o.levers };
        // The paper preset is 70 M parameters at 128x128: fewer steps.
        if (net === 'paper') {
          job.steps = Math.min(job.steps, 2);
          job.warmup = Math.min(job.warmup, 1);
        }
        const skip = skipReason(v, net, kind, o);
        if (skip) {
          runs.push({ job, ok: false, variant: v, skipped: skip });
          log(`  ${v.padEnd(9)} ${net} ${kind}: skipped (${skip})`);
          continue;
        }
        const r = await runTfjs(job, v, o);
        runs.push({ ...r, variant: v });
        log(`  ${v.padEnd(9)} ${net} ${kind}: ${r.ok ? `${fmt(r.imagesPerSec, 2)} img/s, ${fmt(r.msPerStep, 0)} ms/step (CPU ${fmt((r.cpuMsPerStep ?? NaN) / 1000, 2)} s), ${fmt(r.kernelsPerStep, 0)} kernels${r.tfOpsPerStep !== undefined ? ` / ${fmt(r.tfOpsPerStep, 0)} TensorFlow ops` : ''} per step, ${fmt(r.peakRssMB, 0)} MB${r.gpuAllocatedMB !== undefined ? `, GPU ${fmt(r.gpuAllocatedMB, 0)} MB` : ''}, tensors ${r.tensorsFlat ? 'flat' : `NOT flat ${JSON.stringify(r.numTensors)}`}` : r.error}`);
      }
    }
  }

  const ratios = runs
    .filter((r) => r.ok && r.job.kind === 'cvaegan')
    .flatMap((r) => {
      const ref = references.find((x) => x.ok && x.net === r.job.net);
      if (!ref || !ref.imagesPerSec || !r.imagesPerSec) return [];
      return [{
        net: r.job.net,
        backend: r.variant,
        tfjsImagesPerSec: r.imagesPerSec,
        torchImagesPerSec: ref.imagesPerSec,
        ratio: r.imagesPerSec / ref.imagesPerSec,
        memoryRatio: r.peakRssMB && ref.peakRssMB ? r.peakRssMB / ref.peakRssMB : undefined,
      }];
    });
  const ref64 = ratios.filter((r) => r.net === 'reference64').sort((a, b) => b.ratio - a.ratio)[0];
  const load1 = os.loadavg();
  const results = {
    started,
    finished: new Date().toISOString(),
    machine: {
      cpu: os.cpus()[0]?.model ?? 'unknown',
      cores: os.cpus().length,
      memoryGB: Math.round(os.totalmem() / 2 ** 30),
      loadAverageStart: load0,
      loadAverageEnd: load1,
      note: 'load average > cores means other processes shared the CPU during this run: compare only ratios taken in the same run, and check CPU seconds per step (a loaded machine makes threads that wait spin, PyTorch\'s OpenBLAS most)',
    },
    node: process.version,
    tfjs: tf.version.tfjs,
    options: { ...o, out: path.relative(ROOT, o.out) },
    target: {
      goal: o.referenceDevice === 'cuda'
        ? 'none set for GPUs: tfjs images/s against PyTorch on CUDA, reference64, batch 32 (memory: RSS only, see gpuAllocatedMB / peakGpuMB)'
        : 'tfjs >= 0.8x PyTorch CPU images/s on reference64, batch 32; peak RSS <= 2x PyTorch',
      best: ref64,
      met: o.referenceDevice === 'cuda' ? null : ref64 ? ref64.ratio >= 0.8 && (ref64.memoryRatio ?? Infinity) <= 2 : false,
    },
    /** Issue #18's targets (CPU reference only): each met, not met, or not measured in this run. */
    targets: o.referenceDevice === 'cuda' ? [] : SPEED_TARGETS.map((t) => {
      const r = ratios.find((x) => x.net === t.net && x.backend === t.backend);
      return { ...t, ratio: r?.ratio, memoryRatio: r?.memoryRatio, met: r ? r.ratio >= t.minRatio && (r.memoryRatio ?? Infinity) <= t.maxMemoryRatio : null };
    }),
    ratios,
    reference: references,
    runs,
  };
  fs.mkdirSync(path.dirname(o.out), { recursive: true });
  fs.writeFileSync(o.out, JSON.stringify(results, null, 2) + '\n');
  fs.rmSync(tmp, { recursive: true, force: true });

  const rows: string[][] = [['runtime', 'net', 'model', 'img/s', 'ms/step', 'CPU s/step', 'ops/step', 'peak RSS MB', 'x PyTorch', 'mem x PyTorch', 'tensors']];
  for (const net of o.nets) {
    const ref = references.find((x) => x.net === net);
    if (ref) rows.push([`pytorch ${ref.ok ? (o.referenceDevice === 'cuda' ? `(${ref.device})` : `(${ref.threads} thr, ${ref.blas})`) : ''}`.trim(), net, 'cvaegan', ref.ok ? fmt(ref.imagesPerSec, 2) : 'n/a', fmt(ref.msPerStep, 0), fmt((ref.cpuMsPerStep ?? NaN) / 1000, 2), '-', fmt(ref.peakRssMB, 0), ref.ok ? '1.00' : '-', '-', '-']);
    for (const r of runs.filter((x) => x.job.net === net)) {
      const ratio = ratios.find((x) => x.net === net && x.backend === r.variant && r.job.kind === 'cvaegan');
      rows.push([
        `tfjs ${r.variant}`, net, r.job.kind,
        r.ok ? fmt(r.imagesPerSec, 2) : r.skipped ? 'skipped' : 'failed',
        fmt(r.msPerStep, 0), fmt((r.cpuMsPerStep ?? NaN) / 1000, 2), r.ok ? `${fmt(r.kernelsPerStep, 0)}${r.tfOpsPerStep !== undefined ? ` (TF ${fmt(r.tfOpsPerStep, 0)})` : ''}` : '-', fmt(r.peakRssMB, 0), ratio ? fmt(ratio.ratio, 2) : '-', ratio?.memoryRatio ? fmt(ratio.memoryRatio, 2) : '-',
        r.ok ? (r.tensorsFlat ? 'flat' : 'LEAK') : '-',
      ]);
    }
  }
  console.log(`\n${table(rows)}\n`);
  if (ref64 && o.referenceDevice === 'cuda') console.log(`reference64: best tfjs backend ${ref64.backend} = ${ref64.ratio.toFixed(2)}x PyTorch-on-CUDA images/s`);
  else if (ref64) console.log(`reference64: best tfjs backend ${ref64.backend} = ${ref64.ratio.toFixed(2)}x PyTorch images/s, ${fmt(ref64.memoryRatio, 2)}x its peak RSS (target 0.8x, <= 2x): ${results.target.met ? 'MET' : 'not met'}`);
  // A loaded machine hurts threaded runtimes unevenly (PyTorch's OpenBLAS threads spin while they wait).
  const loaded = Math.max(load0[0], load1[0]) > os.cpus().length;
  for (const t of results.targets) {
    if (t.met !== null) console.log(`target (#18): ${t.backend} on ${t.net} >= ${t.minRatio}x PyTorch images/s, <= ${t.maxMemoryRatio}x its RSS: ${fmt(t.ratio, 2)}x, ${fmt(t.memoryRatio, 2)}x RSS: ${t.met ? 'MET' : 'not met'}${loaded ? ' (on a loaded machine: rerun on a quiet one before calling it met)' : ''}`);
  }
  console.log(`load average ${load0.map((l) => l.toFixed(2)).join(' ')} -> ${load1.map((l) => l.toFixed(2)).join(' ')} on ${os.cpus().length} cores; results in ${path.relative(ROOT, o.out) || o.out}`);
  for (const r of runs.filter((x) => !x.ok && !x.skipped)) console.log(`failed: ${r.variant} ${r.job.net} ${r.job.kind}: ${r.error}`);
  return 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e) => {
      console.error(`bench: ${e instanceof Error ? e.message : e}`);
      process.exit(2);
    },
  );
}
