/**
 * Single convolution ops of the cpu preset's step on the active backend (docs/design.md "Issue 18",
 * oneDNN on every CPU): forward, input gradient and filter gradient (the latter timed with its
 * forward pass), mean ms of 30 calls after 3 warm-up. bench/reference/conv_ops.py times the same
 * shapes in PyTorch. TensorFlow's Eigen kernels against its oneDNN ones:
 *
 *   TF_ENABLE_ONEDNN_OPTS=0 npx tsx bench/conv-ops.ts
 *   npx tsx bench/conv-ops.ts                 # initBackend's default: oneDNN on
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../lib/backend/index';

type Shape4 = [number, number, number, number];

function time(name: string, f: () => tf.Tensor, reps = 30): void {
  for (let i = 0; i < 3; i++) tf.tidy(() => void f().dataSync());
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < reps; i++) tf.tidy(() => void f().dataSync());
  console.log(`${name.padEnd(70)} ${(Number(process.hrtime.bigint() - t0) / 1e6 / reps).toFixed(2)} ms`);
}

/** [name, input NHWC, filter HWIO, stride]: D's three convolutions and G's last one. */
const CASES: [string, Shape4, Shape4, number][] = [
  ['D conv 3', [16, 8, 8, 64], [5, 5, 64, 128], 2],
  ['D conv 2', [16, 16, 16, 32], [5, 5, 32, 64], 2],
  ['D conv 1', [16, 32, 32, 3], [5, 5, 3, 32], 2],
  ['G last conv', [16, 32, 32, 24], [3, 3, 24, 3], 1],
];

async function main(): Promise<void> {
  const report = await initBackend();
  console.log(`backend ${report.tfBackend}, TF_ENABLE_ONEDNN_OPTS=${process.env.TF_ENABLE_ONEDNN_OPTS ?? '(unset)'}`);
  for (const [name, xs, ws, s] of CASES) {
    const x = tf.randomNormal(xs) as tf.Tensor4D;
    const w = tf.randomNormal(ws) as tf.Tensor4D;
    const dy = tf.tidy(() => tf.randomNormal(tf.conv2d(x, w, s, 'same').shape)) as tf.Tensor4D;
    time(`${name} forward ${xs} * ${ws}`, () => tf.conv2d(x, w, s, 'same'));
    time(`${name} input gradient -> ${xs}`, () => tf.conv2dTranspose(dy, w, xs, s, 'same'));
    time(`${name} filter gradient -> ${ws} (with forward)`, () => tf.grad((ww: tf.Tensor) => tf.conv2d(x, ww as tf.Tensor4D, s, 'same').mul(dy).sum())(w));
    tf.dispose([x, w, dy]);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
