/**
 * Child process of test/native.test.ts and test/native-gpu.test.ts: on the native backend (the
 * parent sets CVAEGAN_BACKEND or CVAEGAN_NATIVE_GPU_DIR), trains each model kind on the tiny net
 * for a few steps twice, with every speed lever off (tfjs's own kernels, Adam, batch norm, two
 * forward passes) and on, and prints one JSON line: the backend report, per kind the losses of
 * each step both ways, TensorFlow ops per step both ways (calls into tfjs-node's binding),
 * tf.memory().numTensors after each step and after dispose, and a checkpoint round trip under the
 * native Adam (its getWeights/setWeights; the loaded model takes the same next steps), and Adam
 * under a learning rate changed between updates, both ways.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { describeBackend, initBackend, installLeanGradients, setNativeLevers, uninstallLeanGradients } from '../../lib/backend/index';
import { makeConfig } from '../../lib/model/config';
import { createModel, loadModel, type ModelKind } from '../../lib/model/factory';
import { setForwardOnce } from '../../lib/model/tape';

function levers(on: boolean): void {
  setNativeLevers({ batchNorm: on, reluGrad: on, adam: on, dense: on });
  setForwardOnce(on);
  if (on) installLeanGradients();
  else uninstallLeanGradients();
}

async function main(): Promise<void> {
  const report = await initBackend();
  const backend = tf.backend() as unknown as { binding: Record<string, unknown>; isUsingGpuDevice?: boolean };
  // Count calls into TensorFlow through a wrapper (the addon's own properties are read-only).
  let ops = 0;
  const binding = backend.binding;
  const wrapped = Object.create(binding) as Record<string, unknown>;
  const execute = binding.executeOp as (...a: unknown[]) => unknown;
  Object.defineProperty(wrapped, 'executeOp', { value: (...a: unknown[]) => (ops++, execute.apply(binding, a)) });
  backend.binding = wrapped;

  const cfg = makeConfig('tiny', { numClasses: 4 });
  const x = tf.tidy(() => tf.tanh(tf.randomNormal([8, 32, 32, 3], 0, 1, 'float32', 11))) as tf.Tensor4D;
  const labels = tf.tensor1d([0, 1, 2, 3, 0, 1, 2, 3], 'int32');
  const kinds: Record<string, unknown> = {};
  for (const kind of ['cvaegan', 'cvae', 'cgan', 'fmcgan'] as ModelKind[]) {
    const run = (on: boolean) => {
      levers(on);
      const before = tf.memory().numTensors;
      const model = createModel(kind, cfg);
      const losses: Record<string, number>[] = [];
      const opsPerStep: number[] = [];
      const tensors: number[] = [];
      for (let i = 0; i < 4; i++) {
        const o = ops;
        losses.push(model.trainStep(x, labels).losses);
        opsPerStep.push(ops - o);
        tensors.push(tf.memory().numTensors);
      }
      model.dispose();
      return { losses, opsPerStep, tensors, leftAfterDispose: tf.memory().numTensors - before };
    };
    kinds[kind] = { off: run(false), on: run(true) };
  }

  // Adam's state under the native update lives in TensorFlow resource variables: a checkpoint
  // (getWeights) after two steps, loaded into a fresh model (setWeights), must take the same next
  // steps as the model it came from.
  levers(true);
  const a = createModel('cvaegan', cfg);
  a.trainStep(x, labels);
  a.trainStep(x, labels);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cvaegan-native-'));
  await a.save(dir);
  const b = await loadModel(dir);
  fs.rmSync(dir, { recursive: true, force: true });
  const cont = (m: typeof a) => [m.trainStep(x, labels).losses, m.trainStep(x, labels).losses];
  const resumed = { a: cont(a), b: cont(b) };
  a.dispose();
  b.dispose();

  // A learning-rate schedule sets opt.learningRate between updates (the evaluator's cosine
  // schedule): the native update must use the new value, as tfjs's does.
  const scheduled = (on: boolean) => {
    levers(on);
    const v = tf.tidy(() => tf.variable(tf.tensor1d([1, -2, 3])));
    const opt = tf.train.adam(0.1);
    const values: number[][] = [];
    for (const lr of [0.1, 0.01, 0.5]) {
      (opt as unknown as { learningRate: number }).learningRate = lr;
      opt.minimize(() => tf.sum(tf.square(v)) as tf.Scalar, false, [v]);
      values.push(Array.from(v.dataSync()));
    }
    opt.dispose();
    v.dispose();
    return values;
  };
  const schedule = { off: scheduled(false), on: scheduled(true) };
  tf.dispose([x, labels]);
  console.log(JSON.stringify({
    report,
    text: describeBackend(report),
    tfBackend: tf.getBackend(),
    gpu: backend.isUsingGpuDevice ?? null,
    kinds,
    resumed,
    schedule,
    tensorsLeft: tf.memory().numTensors,
  }));
}

main().then(() => process.exit(0), (e) => {
  console.error(e);
  process.exit(1);
});
