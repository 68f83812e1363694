/**
 * Every op and layer the CVAE-GAN networks use, forward values and gradients (w.r.t. inputs AND
 * weights) on wasm + lib/wasm-kernels.ts against the pure-JS cpu backend, on the same inputs.
 *
 * Both backends live in this one process; each case builds its tensors from the same arrays on each
 * backend in turn (tf.setBackend switches), so no tensor crosses backends.
 *
 * Tolerance: |wasm - cpu| <= RTOL*|cpu| + ATOL*max|cpu| per element. Both backends compute in
 * float32 but sum in different orders (XNNPACK blocks and fuses multiply-adds), so results agree
 * to about sqrt(K)*2^-24 of the tensor's scale for K-term sums (K <= ~2000 here: ~1e-6). The
 * absolute part is relative to the tensor's largest value because cancellation leaves some sums
 * near zero with that absolute error. Any indexing mistake (wrong tap, flipped filter, phase
 * mix-up, off-by-one padding) moves values by O(scale), far above 1e-4 of it.
 */
import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import * as wasm from '@tensorflow/tfjs-backend-wasm';
import { registerWasmKernels } from '../lib/backend/wasm-kernels';
import { threadProbe } from './helpers/wasm-thread-probe';

const RTOL = 1e-3;
const ATOL = 1e-4;

// ---- deterministic inputs -------------------------------------------------------------------

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal values (Box-Muller), the same for a given seed on every run. */
function normals(seed: number, n: number): Float32Array {
  const r = mulberry32(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
  return out;
}

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

// ---- harness ----------------------------------------------------------------------------------

interface InputSpec {
  shape: number[];
  /** Strictly positive values (for log, and the like). */
  positive?: boolean;
  /** Not differentiated (labels, one-hot matrices, indices). */
  constant?: number[] | Float32Array;
  dtype?: 'float32' | 'int32';
}

interface Built {
  /** The computation; must be repeatable (it runs once for values, once under the tape). */
  forward: (xs: tf.Tensor[]) => tf.Tensor | tf.Tensor[];
  /** Weights to differentiate (layer variables), in a fixed order. */
  params: tf.Variable[];
  dispose: () => void;
}

interface Run {
  outs: Float32Array[];
  grads: Float32Array[];
  names: string[];
}

function inputValues(spec: InputSpec, i: number): Float32Array | Int32Array {
  if (spec.constant) return spec.dtype === 'int32' ? Int32Array.from(spec.constant) : Float32Array.from(spec.constant);
  const v = normals(100 + i, size(spec.shape));
  if (spec.positive) for (let k = 0; k < v.length; k++) v[k] = 0.2 + Math.abs(v[k]);
  return v;
}

/** Gives layer weights varied, reproducible values (initialisers leave biases at 0, gammas at 1). */
function fillParams(weights: tf.LayerVariable[]): void {
  weights.forEach((w, i) => {
    const shape = w.read().shape;
    const v = normals(500 + i, size(shape));
    const positive = /variance|gamma/.test(w.name);
    for (let k = 0; k < v.length; k++) v[k] = positive ? 0.5 + 0.5 * Math.abs(v[k]) : 0.5 * v[k];
    const t = tf.tensor(v, shape);
    w.write(t); // assign takes its own reference
    t.dispose();
  });
}

async function runOn(backend: 'cpu' | 'wasm', inputs: InputSpec[], build: (xs: tf.Tensor[]) => Built): Promise<Run> {
  assert.ok(await tf.setBackend(backend), `tf.setBackend('${backend}')`);
  const tensorsBefore = tf.memory().numTensors;
  const xs = inputs.map((spec, i) => {
    const t = tf.tensor(inputValues(spec, i), spec.shape, spec.dtype ?? 'float32');
    if (spec.constant) return t;
    const v = tf.variable(t, true);
    t.dispose();
    return v;
  });
  const built = build(xs);
  const vars = [...xs.filter((x): x is tf.Variable => x instanceof tf.Variable), ...built.params];
  const outList = (r: tf.Tensor | tf.Tensor[]) => (Array.isArray(r) ? r : [r]);
  const outs = outList(tf.tidy(() => built.forward(xs)));
  // A fixed random weighting of every output, so each output element gets a distinct gradient.
  const loss = () => tf.addN(outList(built.forward(xs)).map((o, k) =>
    tf.sum(tf.mul(o.toFloat(), tf.tensor(normals(900 + k, o.size), o.shape))))) as tf.Scalar;
  const { value, grads } = tf.variableGrads(loss, vars);
  const run: Run = {
    outs: await Promise.all(outs.map(async (o) => Float32Array.from(await o.data()))),
    grads: await Promise.all(vars.map(async (v) => Float32Array.from(await grads[v.name].data()))),
    names: vars.map((v, i) => (i < xs.length ? `d/dinput${i}` : `d/d${v.name}`)),
  };
  tf.dispose([...outs, value, ...Object.values(grads), ...xs]);
  built.dispose();
  assert.equal(tf.memory().numTensors, tensorsBefore, `${backend}: the case leaked tensors`);
  return run;
}

function assertClose(what: string, got: Float32Array, want: Float32Array): void {
  assert.equal(got.length, want.length, `${what}: length`);
  let scale = 0;
  for (const v of want) scale = Math.max(scale, Math.abs(v));
  let worst = -1, worstExcess = 0;
  for (let i = 0; i < want.length; i++) {
    if (!Number.isFinite(got[i]) && got[i] !== want[i]) { worst = i; break; }
    const excess = Math.abs(got[i] - want[i]) - (RTOL * Math.abs(want[i]) + ATOL * scale);
    if (excess > worstExcess) { worstExcess = excess; worst = i; }
  }
  assert.ok(worst < 0, `${what}: element ${worst} is ${got[worst]} on wasm, ${want[worst]} on cpu (scale ${scale})`);
}

/** Runs the case on cpu and wasm and compares every output and every gradient. */
async function compare(inputs: InputSpec[], build: (xs: tf.Tensor[]) => Built): Promise<void> {
  const ref = await runOn('cpu', inputs, build);
  const got = await runOn('wasm', inputs, build);
  assert.equal(got.outs.length, ref.outs.length);
  ref.outs.forEach((r, k) => assertClose(`output ${k}`, got.outs[k], r));
  assert.ok(ref.grads.length > 0, 'nothing was differentiated');
  ref.grads.forEach((r, k) => assertClose(ref.names[k], got.grads[k], r));
}

/** An op with no weights. */
const op = (f: (xs: tf.Tensor[]) => tf.Tensor | tf.Tensor[]) => (): Built => ({ forward: f, params: [], dispose: () => {} });

/** One layer applied to the inputs, with its weights filled by fillParams. */
function layer(make: () => tf.layers.Layer, training = true) {
  return (xs: tf.Tensor[]): Built => {
    const l = make();
    const arg = xs.length === 1 ? xs[0] : xs;
    tf.dispose(l.apply(arg) as tf.Tensor | tf.Tensor[]); // builds the weights
    fillParams(l.weights);
    return {
      forward: (ys) => l.apply(ys.length === 1 ? ys[0] : ys, { training }) as tf.Tensor | tf.Tensor[],
      params: l.trainableWeights.map((w) => w.read() as tf.Variable),
      dispose: () => l.dispose(),
    };
  };
}

// ---- the tests --------------------------------------------------------------------------------

before(async () => {
  const dist = path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + path.sep;
  wasm.setWasmPaths(dist);
  registerWasmKernels();
  assert.ok(await tf.setBackend('wasm'));
  tf.enableProdMode();
});

test('registerWasmKernels registers the missing gradient kernels and the fast Conv2DBackpropInput, idempotently', () => {
  const names = registerWasmKernels();
  assert.deepEqual([...names].sort(), ['BatchMatMul', 'Conv2DBackpropFilter', 'Conv2DBackpropInput', 'MaxPoolGrad', 'Tile', 'UnsortedSegmentSum']);
  assert.deepEqual(registerWasmKernels().sort(), [...names].sort());
  for (const n of names) assert.ok(tf.getKernel(n, 'wasm'), `${n} registered for wasm`);
});

describe('conv2d (x and filter gradients: Conv2DBackpropInput, Conv2DBackpropFilter)', () => {
  // Odd sizes make 'same' pad asymmetrically and 'valid' leave unused rows/columns.
  const cases: { x: number[]; k: number; s: number | [number, number]; pad: 'same' | 'valid' | number }[] = [];
  for (const k of [3, 4, 5]) for (const s of [1, 2]) for (const pad of ['same', 'valid'] as const) cases.push({ x: [2, 9, 7, 3], k, s, pad });
  cases.push({ x: [2, 8, 8, 4], k: 4, s: 2, pad: 'same' }, { x: [1, 11, 10, 2], k: 5, s: 3, pad: 'same' });
  cases.push({ x: [2, 9, 8, 3], k: 3, s: 2, pad: 1 }, { x: [2, 7, 9, 2], k: 3, s: [1, 2], pad: 'same' });
  cases.push({ x: [2, 6, 5, 3], k: 1, s: 2, pad: 'valid' }, { x: [1, 5, 5, 2], k: 5, s: 2, pad: 'valid' });
  for (const c of cases) {
    test(`x ${c.x.join('x')}, ${c.k}x${c.k}, stride ${c.s}, pad ${c.pad}`, () =>
      compare([{ shape: c.x }, { shape: [c.k, c.k, c.x[3], 5] }],
        op(([x, f]) => tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, c.s, c.pad))));
  }
});

describe('conv2dTranspose (its forward pass is Conv2DBackpropInput)', () => {
  const cases: { y: number[]; k: number; s: number; pad: 'same' | 'valid'; out: number[] }[] = [];
  for (const k of [3, 4, 5]) {
    cases.push({ y: [2, 4, 5, 6], k, s: 2, pad: 'same', out: [2, 8, 10, 3] });
    cases.push({ y: [2, 4, 4, 6], k, s: 2, pad: 'valid', out: [2, 2 * 4 + k - 2, 2 * 4 + k - 2, 3] });
    cases.push({ y: [2, 5, 4, 6], k, s: 1, pad: 'same', out: [2, 5, 4, 3] });
  }
  // An odd output size for stride 2 'same' (9 -> ceil(9/2) = 5 rows of input).
  cases.push({ y: [2, 5, 4, 3], k: 5, s: 2, pad: 'same', out: [2, 9, 7, 2] });
  for (const c of cases) {
    test(`${c.y.join('x')} -> ${c.out.join('x')}, ${c.k}x${c.k}, stride ${c.s}, pad ${c.pad}`, () =>
      compare([{ shape: c.y }, { shape: [c.k, c.k, c.out[3], c.y[3]] }],
        op(([y, f]) => tf.conv2dTranspose(y as tf.Tensor4D, f as tf.Tensor4D, c.out as [number, number, number, number], c.s, c.pad))));
  }
});

describe('layers', () => {
  const img = [{ shape: [2, 9, 7, 4] }];
  const cases: [string, InputSpec[], () => tf.layers.Layer, boolean?][] = [
    ['conv2d 5x5 stride 2 same, bias', img, () => tf.layers.conv2d({ filters: 6, kernelSize: 5, strides: 2, padding: 'same' })],
    ['conv2d 3x3 stride 1 valid, relu', img, () => tf.layers.conv2d({ filters: 6, kernelSize: 3, padding: 'valid', activation: 'relu' })],
    ['conv2d 4x4 stride 2 valid', img, () => tf.layers.conv2d({ filters: 3, kernelSize: 4, strides: 2, padding: 'valid' })],
    ['conv2dTranspose 5x5 stride 2 same', img, () => tf.layers.conv2dTranspose({ filters: 3, kernelSize: 5, strides: 2, padding: 'same' })],
    ['conv2dTranspose 4x4 stride 2 same', img, () => tf.layers.conv2dTranspose({ filters: 3, kernelSize: 4, strides: 2, padding: 'same' })],
    ['conv2dTranspose 3x3 stride 1 same, tanh', img, () => tf.layers.conv2dTranspose({ filters: 3, kernelSize: 3, padding: 'same', activation: 'tanh' })],
    ['conv2dTranspose 3x3 stride 2 valid', img, () => tf.layers.conv2dTranspose({ filters: 2, kernelSize: 3, strides: 2, padding: 'valid' })],
    ['dense', [{ shape: [4, 7] }], () => tf.layers.dense({ units: 5 })],
    ['dense, sigmoid', [{ shape: [4, 7] }], () => tf.layers.dense({ units: 5, activation: 'sigmoid' })],
    ['dense, softmax', [{ shape: [4, 7] }], () => tf.layers.dense({ units: 5, activation: 'softmax' })],
    ['batchNormalization on images, training', [{ shape: [3, 5, 4, 6] }], () => tf.layers.batchNormalization({})],
    ['batchNormalization on vectors, training', [{ shape: [6, 5] }], () => tf.layers.batchNormalization({})],
    ['batchNormalization, inference', [{ shape: [3, 5, 4, 6] }], () => tf.layers.batchNormalization({}), false],
    ['leakyReLU 0.2', img, () => tf.layers.leakyReLU({ alpha: 0.2 })],
    ['relu', img, () => tf.layers.reLU()],
    ['activation tanh', img, () => tf.layers.activation({ activation: 'tanh' })],
    ['activation sigmoid', img, () => tf.layers.activation({ activation: 'sigmoid' })],
    ['softmax', [{ shape: [4, 7] }], () => tf.layers.softmax()],
    ['averagePooling2d 2x2', img, () => tf.layers.averagePooling2d({ poolSize: 2, strides: 2, padding: 'same' })],
    ['maxPooling2d 2x2 valid', img, () => tf.layers.maxPooling2d({ poolSize: 2, strides: 2, padding: 'valid' })],
    ['maxPooling2d 3x3 stride 2 same (overlapping windows)', img, () => tf.layers.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same' })],
    ['averagePooling2d 3x3 stride 2 same', img, () => tf.layers.averagePooling2d({ poolSize: 3, strides: 2, padding: 'same' })],
    ['globalAveragePooling2d', img, () => tf.layers.globalAveragePooling2d({})],
    ['concatenate', [{ shape: [2, 4, 3, 2] }, { shape: [2, 4, 3, 5] }], () => tf.layers.concatenate({ axis: -1 })],
    ['reshape', [{ shape: [2, 12] }], () => tf.layers.reshape({ targetShape: [2, 3, 2] })],
    ['flatten', img, () => tf.layers.flatten()],
    ['dropout 0.3 (seeded), training', img, () => tf.layers.dropout({ rate: 0.3, seed: 7 })],
  ];
  for (const [name, inputs, make, training] of cases) test(name, () => compare(inputs, layer(make, training ?? true)));
});

describe('matMul (BatchMatMul: transposed operands are made explicit for the XNNPACK path)', () => {
  for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]]) {
    test(`2-D, transposeA ${ta}, transposeB ${tb}`, () =>
      compare([{ shape: ta ? [7, 5] : [5, 7] }, { shape: tb ? [6, 7] : [7, 6] }],
        op(([a, b]) => tf.matMul(a, b, ta, tb))));
  }
  test('3-D batch 1, transposeA', () =>
    compare([{ shape: [1, 9, 4] }, { shape: [1, 9, 3] }], op(([a, b]) => tf.matMul(a, b, true, false))));
  test('3-D batch 3, transposeB (the shipped kernel)', () =>
    compare([{ shape: [3, 4, 5] }, { shape: [3, 6, 5] }], op(([a, b]) => tf.matMul(a, b, false, true))));
});

describe('tile (broadcasting add; batch-norm gradients tile per-channel values)', () => {
  const cases: [number[], number[]][] = [
    [[1, 1, 1, 4], [2, 3, 3, 1]], [[2, 3], [3, 1]], [[2, 1, 3], [1, 4, 2]], [[3], [5]],
    [[2, 2, 2, 1], [1, 2, 2, 2]], // 6 dimensions after merging
    [[2, 2, 2, 2], [2, 2, 2, 2]], // 8 dimensions: the shipped kernel
  ];
  for (const [shape, reps] of cases) {
    test(`${shape.join('x')} by ${reps.join('x')}`, () => compare([{ shape }], op(([x]) => tf.tile(x, reps))));
  }
  test('int32 (the shipped kernel)', () =>
    compare([{ shape: [2, 6] }, { shape: [2, 3], constant: [1, 2, 3, 4, 5, 6], dtype: 'int32' }],
      op(([x, k]) => tf.mul(x, tf.tile(k, [1, 2]).toFloat()))));
});

describe('losses and loss ops', () => {
  const labels = (n: number, k: number) => {
    const v = new Float32Array(n * k);
    for (let i = 0; i < n; i++) v[i * k + ((i * 3) % k)] = 1;
    return v;
  };
  test('softmax cross-entropy', () =>
    compare([{ shape: [6, 5] }, { shape: [6, 5], constant: labels(6, 5) }],
      op(([logits, y]) => tf.losses.softmaxCrossEntropy(y, logits))));
  test('log-softmax cross-entropy', () =>
    compare([{ shape: [6, 5] }, { shape: [6, 5], constant: labels(6, 5) }],
      op(([logits, y]) => tf.neg(tf.mean(tf.sum(tf.mul(y, tf.logSoftmax(logits)), -1))))));
  test('sigmoid cross-entropy with logits', () =>
    compare([{ shape: [8, 1] }, { shape: [8, 1], constant: [1, 0, 1, 1, 0, 0, 1, 0] }],
      op(([logits, y]) => tf.losses.sigmoidCrossEntropy(y, logits))));
  test('square, sum, mean (L2 feature matching)', () =>
    compare([{ shape: [3, 4, 5] }, { shape: [3, 4, 5] }],
      op(([a, b]) => [tf.mean(tf.square(tf.sub(a, b))), tf.sum(tf.square(a), [1, 2])])));
  test('exp and log (KL divergence terms)', () =>
    compare([{ shape: [4, 6] }, { shape: [4, 6], positive: true }],
      op(([logVar, p]) => [tf.exp(logVar), tf.log(p), tf.mul(-0.5, tf.sum(tf.sub(tf.add(1, logVar), tf.exp(logVar)), -1))])));
  test('matMul of one-hot with features (per-class feature means)', () =>
    compare([{ shape: [6, 3], constant: labels(6, 3) }, { shape: [6, 7] }],
      op(([y, f]) => tf.matMul(y, f, true, false))));
  test('gather (gradient is UnsortedSegmentSum)', () =>
    compare([{ shape: [5, 3] }, { shape: [7], constant: [4, 0, 4, 2, 1, 4, 0], dtype: 'int32' }],
      op(([table, idx]) => tf.gather(table, idx))));
});

/** Weights of a small encoder/decoder after two Adam steps, on the active backend. */
async function adamSteps(backend: 'cpu' | 'wasm'): Promise<Float32Array[]> {
  assert.ok(await tf.setBackend(backend));
  const model = tf.sequential({ layers: [
    // No bias before batch norm: its true gradient is 0, and Adam would scale the float noise in it
    // up to a full step of random sign on each backend.
    tf.layers.conv2d({ inputShape: [8, 8, 3], filters: 6, kernelSize: 5, strides: 2, padding: 'same', useBias: false }),
    tf.layers.batchNormalization({}),
    tf.layers.leakyReLU({ alpha: 0.2 }),
    tf.layers.conv2dTranspose({ filters: 3, kernelSize: 5, strides: 2, padding: 'same', activation: 'tanh' }),
  ] });
  fillParams(model.weights);
  const x = tf.tensor(normals(7, 4 * 8 * 8 * 3), [4, 8, 8, 3]);
  const opt = tf.train.adam(0.01);
  for (let i = 0; i < 2; i++) {
    const loss = opt.minimize(() => tf.mean(tf.square(tf.sub(model.apply(x, { training: true }) as tf.Tensor, x))) as tf.Scalar, true);
    if (loss) loss.dispose();
  }
  const out = await Promise.all(model.weights.map(async (w) => Float32Array.from(await w.read().data())));
  model.dispose();
  opt.dispose();
  x.dispose();
  return out;
}

test('two Adam steps of conv -> batchNorm -> leakyReLU -> conv2dTranspose give the same weights', async () => {
  const ref = await adamSteps('cpu');
  const got = await adamSteps('wasm');
  assert.equal(got.length, ref.length);
  ref.forEach((r, k) => assertClose(`weight ${k} after two steps`, got[k], r));
});

test('no tensors leak across repeated conv / conv2dTranspose gradient steps on wasm', async () => {
  await tf.setBackend('wasm');
  const enc = tf.layers.conv2d({ filters: 8, kernelSize: 5, strides: 2, padding: 'same' });
  const dec = tf.layers.conv2dTranspose({ filters: 3, kernelSize: 4, strides: 2, padding: 'same' });
  const x = tf.tensor(normals(1, 4 * 12 * 12 * 3), [4, 12, 12, 3]);
  const opt = tf.train.adam(1e-3);
  const loss = () => tf.mean(tf.square(tf.sub(dec.apply(enc.apply(x)) as tf.Tensor, x))) as tf.Scalar;
  tf.dispose(loss()); // builds the layers' weights
  const step = () => {
    const l = opt.minimize(loss, true);
    assert.ok(l, 'minimize returns the loss');
    return l;
  };
  tf.dispose(step()); // creates the optimizer's slots
  const tensors = tf.memory().numTensors;
  const bytes = tf.memory().numBytes;
  const losses: number[] = [];
  for (let i = 0; i < 5; i++) {
    const l = step();
    losses.push((await l.data())[0]);
    l.dispose();
    assert.equal(tf.memory().numTensors, tensors, `step ${i}: tensor count`);
    assert.equal(tf.memory().numBytes, bytes, `step ${i}: bytes`);
  }
  assert.ok(losses[4] < losses[0], `training lowers the loss (${losses.join(', ')})`);
  enc.dispose();
  dec.dispose();
  x.dispose();
  opt.dispose();
});

test('CVAEGAN_WASM_THREADS=2 starts the threaded build and gives the same values and gradients', async () => {
  await tf.setBackend('wasm');
  assert.equal(wasm.getThreadsCount(), 1, 'this process runs the single-threaded build');
  const single = await threadProbe();
  const root = path.join(__dirname, '..');
  const { stdout } = await promisify(execFile)(process.execPath,
    ['--import', 'tsx', path.join('test', 'helpers', 'wasm-gradients-child.ts')],
    { cwd: root, env: { ...process.env, CVAEGAN_BACKEND: 'wasm', CVAEGAN_WASM_THREADS: '2' }, timeout: 120_000 });
  const child = JSON.parse(stdout.trim().split('\n').pop() ?? '') as { details: string[]; backend: string; threads: number; values: number[][] };
  assert.equal(child.backend, 'wasm');
  assert.equal(child.threads, 2, `threads in the child (${child.details.join(', ')})`);
  assert.equal(child.values.length, single.length);
  single.forEach((want, k) =>
    assertClose(k === 0 ? 'loss' : `gradient ${k}`, Float32Array.from(child.values[k]), Float32Array.from(want)));
});
