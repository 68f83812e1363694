/**
 * Live outputs under a fake kernel: tslab's display writer is replaced by a recorder, so the
 * throttling, the final flush, socket-busy retries and the monitor's outputs are checked exactly
 * and fast. test/notebooks-display.test.ts repeats the key checks in a real kernel.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { displayCounters, DisplayHandle, LiveDisplay, sendBundle, type MimeBundle } from '../lib/viz/display';
import { downsampleBuckets, emaSmooth, LiveLossPlot, lossChartRows, lossChartSpec } from '../lib/viz/lossplot';
import { TrainingMonitor } from '../lib/train/monitor';
import { imageGrid } from '../lib/viz/grid';
import { VEGA_LITE_MIME } from '../lib/viz/charts';
import * as tf from '@tensorflow/tfjs';
import { train, type BatchSource } from '../lib/train/loop';
import type { GenerativeModel, StepResult } from '../lib/model/factory';

interface Sent {
  data: MimeBundle;
  displayId?: string;
  update: boolean;
  at: number;
}
const sent: Sent[] = [];
let busyFailures = 0;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const jupyter = require('tslab/dist/jupyter') as { lastWriteDisplayData: unknown };

before(() => {
  (globalThis as { __tslab__?: unknown }).__tslab__ = {};
  jupyter.lastWriteDisplayData = (content: { data: MimeBundle; transient: { display_id?: string } }, update: boolean) => {
    if (busyFailures > 0) {
      busyFailures--;
      throw new Error('Socket is busy writing; only one send operation may be in progress at any time');
    }
    sent.push({ data: content.data, displayId: content.transient.display_id, update, at: Date.now() });
  };
});
after(() => {
  delete (globalThis as { __tslab__?: unknown }).__tslab__;
  jupyter.lastWriteDisplayData = null;
});

const yieldToLoop = () => new Promise((r) => setImmediate(r));
function busyWait(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    /* simulated work */
  }
}
const sentTo = (id: string) => sent.filter((s) => s.displayId === id);

test('a display handle sends display_data once, then update_display_data with the same id', async () => {
  const h = new DisplayHandle();
  await h.show({ 'text/plain': 'a' });
  await h.show({ 'text/plain': 'b' });
  const mine = sentTo(h.id);
  assert.deepEqual(mine.map((s) => [s.update, s.data['text/plain']]), [[false, 'a'], [true, 'b']]);
});

test('a busy socket is retried and counted, and the message still arrives', async () => {
  const before = displayCounters();
  busyFailures = 3;
  assert.equal(await sendBundle({ 'text/plain': 'after busy' }), true);
  assert.equal(displayCounters().busyRetries - before.busyRetries, 3);
  assert.equal(sent[sent.length - 1].data['text/plain'], 'after busy');
});

test('LiveDisplay: invalidating every step gives a bounded number of updates, and flush sends the final state', async () => {
  let state = 0;
  const live = new LiveDisplay(() => ({ 'text/plain': `step ${state}` }), { maxPerSecond: 4 });
  const started = Date.now();
  let steps = 0;
  while (Date.now() - started < 1500) {
    state = ++steps;
    live.invalidate();
    busyWait(0.5);
    await yieldToLoop();
  }
  const duringLoop = sentTo(live.displayId).length;
  await live.flush();
  const seconds = (Date.now() - started) / 1000;
  const mine = sentTo(live.displayId);
  assert.ok(steps > 200, `the fake loop ran ${steps} steps`);
  assert.ok(duringLoop >= 2, `updates arrived while the loop ran (${duringLoop})`);
  assert.ok(mine.length <= Math.ceil(seconds * 4) + 2, `${mine.length} updates in ${seconds}s at most 4/s`);
  assert.equal(mine[mine.length - 1].data['text/plain'], `step ${steps}`);
  for (let i = 2; i < mine.length - 1; i++) {
    assert.ok(mine[i].at - mine[i - 1].at >= 240, `updates ${i - 1} and ${i} ${mine[i].at - mine[i - 1].at} ms apart`);
  }
});

test('LiveDisplay: slow renders stretch the interval to keep their share of time small', async () => {
  const live = new LiveDisplay(
    () => {
      busyWait(60);
      return { 'text/plain': 'slow' };
    },
    { maxPerSecond: 20, maxBusyShare: 0.2 },
  );
  const started = Date.now();
  while (Date.now() - started < 1500) {
    live.invalidate();
    await yieldToLoop();
  }
  await live.flush();
  const seconds = (Date.now() - started) / 1000;
  const n = sentTo(live.displayId).length;
  assert.ok(live.intervalMs >= 300, `interval ${live.intervalMs} ms after 60 ms renders`);
  assert.ok(n <= Math.ceil(seconds / 0.3) + 2, `${n} slow updates in ${seconds}s`);
});

test('LiveDisplay: nothing is scheduled or sent outside a notebook', async () => {
  const saved = (globalThis as { __tslab__?: unknown }).__tslab__;
  delete (globalThis as { __tslab__?: unknown }).__tslab__;
  try {
    let renders = 0;
    const live = new LiveDisplay(() => ({ 'text/plain': String(++renders) }));
    live.invalidate();
    await new Promise((r) => setTimeout(r, 30));
    await live.flush();
    assert.equal(renders, 0);
  } finally {
    (globalThis as { __tslab__?: unknown }).__tslab__ = saved;
  }
});

test('emaSmooth is debiased (a constant stays constant) and skips non-finite values', () => {
  assert.deepEqual(emaSmooth([2, 2, 2], 0.9).map((v) => Number(v.toFixed(12))), [2, 2, 2]);
  const s = emaSmooth([1, NaN, 3], 0.5);
  assert.equal(s[0], 1);
  assert.equal(s[1], 1);
  assert.ok(s[2] > 1 && s[2] < 3);
});

test('downsampling covers every index once and always ends at the newest step', () => {
  for (const [len, max] of [[10, 500], [1000, 7], [1001, 500], [1, 3]]) {
    const b = downsampleBuckets(len, max);
    assert.equal(b.length, Math.min(len, max));
    assert.equal(b[0][0], 0);
    assert.equal(b[b.length - 1][1], len);
    for (let i = 1; i < b.length; i++) assert.equal(b[i][0], b[i - 1][1]);
  }
  const history = { steps: Array.from({ length: 2000 }, (_, i) => i * 10), values: { a: Array.from({ length: 2000 }, (_, i) => i) } };
  const rows = lossChartRows(history, { maxPoints: 100 });
  assert.equal(rows.length, 100);
  assert.equal(rows[rows.length - 1].step, 19990);
  assert.equal(rows[0].value, 9.5); // mean of 0..19
});

test('loss chart spec: one row per step and term, gaps for NaN, log scale filters non-positive, facet or single panel', () => {
  const history = { steps: [0, 1, 2], values: { L_D: [1, NaN, 0.5], L_G: [2, 3, 0] } };
  const facet = lossChartSpec(history, { smoothing: 0.5 }) as unknown as Record<string, unknown> & { data: { values: { term: string; value: number | null }[] } };
  assert.equal(facet.data.values.length, 6);
  assert.equal(facet.data.values.find((r) => r.term === 'L_D' && r.value === null) !== undefined, true);
  assert.ok('facet' in facet);
  assert.deepEqual((facet.resolve as { scale: { y: string } }).scale.y, 'independent');
  const single = lossChartSpec(history, { layout: 'single', logScale: true, smoothing: 0 }) as unknown as { layer: { transform: { filter: string }[]; encoding: { y: { scale: { type: string } } } }[] };
  assert.ok(!('facet' in single));
  assert.equal(single.layer.length, 1);
  assert.equal(single.layer[0].encoding.y.scale.type, 'log');
  assert.deepEqual(single.layer[0].transform, [{ filter: 'datum.value > 0' }]);
  const norms = lossChartSpec(history, { layout: 'single', valueTitle: 'gradient norm' }) as unknown as { layer: { encoding: { y: { title: string }; color: { title: string } } }[] };
  assert.equal(norms.layer[0].encoding.y.title, 'gradient norm');
  assert.equal(norms.layer[0].encoding.color.title, 'gradient norm');
});

test('LiveLossPlot: every step reported, bounded updates, final bundle is vega-lite + SVG + PNG + text with all points', async () => {
  const terms = ['L_D', 'L_C', 'L_KL', 'L_G', 'L_GD', 'L_GC'];
  const plot = new LiveLossPlot({ maxPerSecond: 3 });
  const started = Date.now();
  let step = 0;
  for (; step < 400; step++) {
    plot.push(step, Object.fromEntries(terms.map((t, k) => [t, Math.exp(-step / 100) + k])));
    await yieldToLoop();
    busyWait(2);
  }
  await plot.flush();
  const seconds = (Date.now() - started) / 1000;
  const mine = sentTo(plot.live.displayId);
  assert.ok(mine.length <= Math.ceil(seconds * 3) + 2, `${mine.length} chart updates in ${seconds}s`);
  const last = mine[mine.length - 1].data;
  assert.deepEqual(Object.keys(last).sort(), [VEGA_LITE_MIME, 'image/png', 'image/svg+xml', 'text/plain'].sort());
  const values = (last[VEGA_LITE_MIME] as { data: { values: { step: number; term: string }[] } }).data.values;
  assert.equal(values.length, 400 * terms.length);
  assert.deepEqual([...new Set(values.map((v) => v.term))], terms);
  assert.equal(Math.max(...values.map((v) => v.step)), 399);
  for (const t of terms) assert.ok((last['image/svg+xml'] as string).includes(t), `SVG names ${t}`);
  assert.ok(Buffer.from(last['image/png'] as string, 'base64').subarray(1, 4).toString() === 'PNG');
});

test('TrainingMonitor: outputs in order progress, chart, grid; hooks drive them; finish sends final states', async () => {
  const first = sent.length;
  const tile = (v: number) => imageGrid({ data: new Uint8Array(4 * 4 * 3).fill(v), shape: [1, 4, 4, 3] }, { columns: 1 });
  const drawnAt: number[] = [];
  const monitor = new TrainingMonitor({
    steps: 50,
    grid: { every: 20, draw: (step) => (drawnAt.push(step), tile(step)) },
    plot: { maxPerSecond: 4 },
  });
  const initial = sent.slice(first).filter((s) => !s.update);
  assert.equal(initial.length, 3, 'three outputs are created up front');
  assert.match(initial[0].data['text/html'] as string, /<progress/);
  assert.match(initial[1].data['text/plain'] as string, /loss chart/);
  assert.match(initial[2].data['text/plain'] as string, /sample grid/);
  const { onStep, shouldStop } = monitor.hooks;
  for (let step = 1; step <= 50 && !shouldStop(); step++) {
    onStep({ step, losses: { L_D: 1 / step, L_G: 2 } });
    await yieldToLoop();
  }
  await monitor.finish();
  await monitor.done;
  assert.deepEqual(drawnAt, [1, 20, 40, 50]);
  const finalOf = (id: string | undefined) => sent.filter((s) => s.displayId === id).pop()!.data;
  const progress = finalOf(initial[0].displayId);
  assert.match(progress['text/plain'] as string, /50\/50 \(100%\)/);
  assert.match(progress['text/plain'] as string, /L_D 0\.02 L_G 2/);
  const chart = finalOf(initial[1].displayId);
  assert.equal((chart[VEGA_LITE_MIME] as { data: { values: unknown[] } }).data.values.length, 100);
  const grid = finalOf(initial[2].displayId);
  assert.match(grid['text/plain'] as string, /step 50/);
  assert.equal(monitor.interrupted, false);
});

test('TrainingMonitor: stop() makes shouldStop true and track() still finishes', async () => {
  const monitor = new TrainingMonitor({ steps: 1000, plot: false, progress: false });
  let steps = 0;
  const fakeTrain = async () => {
    for (let step = 1; step <= 1000; step++) {
      if (monitor.shouldStop()) break;
      monitor.onStep({ step, losses: { L: 1 } });
      if (step === 10) monitor.stop();
      steps++;
      await yieldToLoop();
    }
    return steps;
  };
  assert.equal(await monitor.track(fakeTrain()), 10);
  assert.equal(monitor.interrupted, true);
});

test('TrainingMonitor plugs into lib/train.ts: hooks fit TrainOptions, progress and chart follow the real loop, stop() ends it', async () => {
  // Only what train() touches; the rest of GenerativeModel is not needed for this loop.
  const fakeModel = {
    step: 0,
    trainStep(): StepResult {
      this.step++;
      return { step: this.step, losses: { L_D: 1 / this.step, L_G: 2 }, metrics: {} };
    },
  };
  const batcher: BatchSource = { next: () => ({ x: tf.zeros([1, 2, 2, 3]) as tf.Tensor4D, labels: tf.zeros([1], 'int32') as tf.Tensor1D }) };
  const first = sent.length;
  const monitor = new TrainingMonitor({ steps: 30, grid: { every: 10, draw: (step) => imageGrid({ data: new Uint8Array(12).fill(step), shape: [1, 2, 2, 3] }, { columns: 1 }) } });
  const result = await monitor.track(train(fakeModel as unknown as GenerativeModel, batcher, { steps: 30, ...monitor.hooks }));
  assert.equal(result.status, 'done');
  const ids = sent.slice(first).filter((s) => !s.update).map((s) => s.displayId);
  const finalOf = (id: string | undefined) => sent.filter((s) => s.displayId === id).pop()!.data;
  assert.match(finalOf(ids[0])['text/plain'] as string, /30\/30 \(100%\)/);
  const values = (finalOf(ids[1])[VEGA_LITE_MIME] as { data: { values: { step: number }[] } }).data.values;
  assert.deepEqual([Math.min(...values.map((v) => v.step)), Math.max(...values.map((v) => v.step)), values.length], [1, 30, 60]);
  assert.match(finalOf(ids[2])['text/plain'] as string, /step 30/);

  fakeModel.step = 0;
  const stopping = new TrainingMonitor({ steps: 30, plot: false, progress: false });
  const onStep = stopping.onStep;
  const stopped = await stopping.track(
    train(fakeModel as unknown as GenerativeModel, batcher, {
      steps: 30,
      shouldStop: stopping.shouldStop,
      onStep: (r) => {
        onStep(r);
        if (r.step === 7) stopping.stop();
      },
    }),
  );
  assert.equal(stopped.status, 'stopped');
  assert.equal(fakeModel.step, 7);
});
