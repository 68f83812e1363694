/**
 * Child process for test/wasm-gradients.test.ts: the thread count is fixed when a process starts
 * its wasm backend, so the threaded run needs a process of its own. Starts the backend through
 * initBackend() (honouring CVAEGAN_WASM_THREADS), computes the gradients of `threadProbe`, and
 * prints one JSON line: { details, threads, values }.
 */
import * as tf from '@tensorflow/tfjs';
import * as wasm from '@tensorflow/tfjs-backend-wasm';
import { initBackend } from '../../lib/backend/index';
import { threadProbe } from './wasm-thread-probe';

async function main(): Promise<void> {
  const report = await initBackend();
  const values = await threadProbe();
  process.stdout.write(JSON.stringify({ details: report.details, backend: report.tfBackend, threads: wasm.getThreadsCount(), values }) + '\n');
  tf.disposeVariables();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
