/**
 * Child process of test/webgpu.test.ts (the backend is chosen once per process): with
 * CVAEGAN_BACKEND=webgpu, trains tiny CVAE-GAN and CGAN models for 2 steps on WebGPU through
 * trainStepAsync, then the same models (same seeds) on the cpu backend, and prints one JSON line:
 * `{ report, runs: [{ kind, webgpu: losses[], cpu: losses[], tensors[] }], syncReadError }`, or `{ skip: reason }`
 * when WebGPU does not load here.
 */
import * as tf from '@tensorflow/tfjs';
import { describeBackend, initBackend } from '../../lib/backend/index';
import { makeConfig } from '../../lib/model/config';
import { createModel, ModelKind, StepResult } from '../../lib/model/factory';

const KINDS: ModelKind[] = ['cvaegan', 'cgan'];
const STEPS = 2;

/** The message of a synchronous read of a GPU tensor (x is on the GPU once a step has used it). */
let syncReadError: string | undefined;

async function steps(kind: ModelKind, tensors: number[] | undefined): Promise<StepResult[]> {
  const config = makeConfig('tiny', { numClasses: 3 });
  const m = 6;
  const R = config.resolution;
  const model = createModel(kind, config);
  const x = tf.randomUniform([m, R, R, 3], -1, 1, 'float32', 11) as tf.Tensor4D;
  const out: StepResult[] = [];
  for (let i = 0; i < STEPS; i++) {
    // A fresh label tensor per step, as the training loop makes them.
    const labels = tf.tensor1d([0, 1, 2, 0, 1, 2], 'int32');
    out.push(await model.trainStepAsync!(x, labels));
    labels.dispose();
    tensors?.push(tf.memory().numTensors);
  }
  if (tf.getBackend() === 'webgpu' && syncReadError === undefined) {
    const y = tf.add(x, 1);
    try {
      y.dataSync();
      syncReadError = 'no error';
    } catch (e) {
      syncReadError = (e as Error).message;
    }
    y.dispose();
  }
  model.dispose();
  x.dispose();
  return out;
}

async function main(): Promise<void> {
  let report;
  try {
    report = await initBackend();
  } catch (e) {
    console.log(JSON.stringify({ skip: (e as Error).message }));
    return;
  }
  const t0 = performance.now();
  const runs = [];
  for (const kind of KINDS) {
    await tf.setBackend('webgpu');
    const tensors: number[] = [];
    const webgpu = await steps(kind, tensors);
    await tf.setBackend('cpu');
    const cpu = await steps(kind, undefined);
    runs.push({ kind, webgpu, cpu, tensors });
  }
  console.log(JSON.stringify({ report, text: describeBackend(report), runs, syncReadError, ms: performance.now() - t0 }));
}

main().then(
  // Dawn keeps the process alive while navigator.gpu is referenced.
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
