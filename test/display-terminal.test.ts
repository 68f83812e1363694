/** The display layer outside a notebook: terminal progress bar, SIGINT flag, chart files. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { formatDuration, formatLoss, ProgressBar } from '../lib/train/progress';
import { activeInterruptFlags, stopOnInterrupt } from '../lib/train/interrupt';
import { LiveLossPlot } from '../lib/viz/lossplot';

function fakeClock() {
  let t = 1_000_000;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}
function fakeStream(isTTY: boolean) {
  const writes: string[] = [];
  return { writes, stream: { isTTY, write: (s: string) => writes.push(s) } };
}

test('progress: rate over recent steps, ETA, losses in the given order', () => {
  const clock = fakeClock();
  const out = fakeStream(true);
  const bar = new ProgressBar({ total: 1000, label: 'cvae-gan', terms: ['L_G', 'L_D'], now: clock.now, stream: out.stream, barWidth: 10 });
  assert.equal(bar.mode, 'tty');
  for (let s = 1; s <= 100; s++) {
    clock.advance(100); // 10 steps/s
    bar.tick(s, { L_D: 0.6931, L_G: 1.23456, L_KL: 7 });
  }
  assert.ok(Math.abs(bar.stepsPerSecond()! - 10) < 1e-9, `rate ${bar.stepsPerSecond()}`);
  assert.ok(Math.abs(bar.etaSeconds()! - 90) < 1e-6, `eta ${bar.etaSeconds()}`);
  const line = bar.line();
  assert.match(line, /^cvae-gan █░{9} 100\/1000 \(10%\) · 10\.0 steps\/s · ETA 1m30s · L_G 1\.235 L_D 0\.6931$/);
  assert.ok(out.writes.length <= 100 / 2.5 + 1, `terminal redraws are rate-limited (${out.writes.length})`);
  assert.ok(out.writes.every((w) => w.startsWith('\r\x1b[2K')));
});

test('progress: the rate follows a slowdown within the window instead of averaging from the start', () => {
  const clock = fakeClock();
  const bar = new ProgressBar({ total: 10_000, now: clock.now, mode: 'silent' });
  let s = 0;
  for (; s < 1000; s++) (clock.advance(10), bar.tick(s + 1)); // 100 steps/s for 10 s
  for (; s < 1300; s++) (clock.advance(100), bar.tick(s + 1)); // then 10 steps/s for 30 s
  assert.ok(bar.stepsPerSecond()! < 11, `rate ${bar.stepsPerSecond()}`);
});

test('progress without a TTY logs one line per interval and a final line', async () => {
  const clock = fakeClock();
  const out = fakeStream(false);
  const bar = new ProgressBar({ total: 300, logEverySec: 10, now: clock.now, stream: out.stream });
  assert.equal(bar.mode, 'log');
  for (let s = 1; s <= 300; s++) (clock.advance(100), bar.tick(s));
  await bar.finish();
  // 30 s of ticks: lines at 0 s, 10 s, 20 s (+ the 30 s boundary) and the final one
  assert.ok(out.writes.length >= 4 && out.writes.length <= 5, `${out.writes.length} lines`);
  assert.match(out.writes[out.writes.length - 1], /300\/300 \(100%\) .*took 30s\n$/);
});

test('formatting helpers', () => {
  assert.deepEqual([formatDuration(42), formatDuration(245), formatDuration(3725)], ['42s', '4m05s', '1h02m']);
  assert.deepEqual([formatLoss(0.69314718), formatLoss(123456), formatLoss(0.00001234), formatLoss(NaN), formatLoss(0)], ['0.6931', '1.23e+5', '1.23e-5', 'NaN', '0']);
});

test('stopOnInterrupt: a SIGINT sets the flag instead of ending the process; dispose detaches', async () => {
  const baseline = process.listenerCount('SIGINT');
  let callbacks = 0;
  const flag = stopOnInterrupt({ onInterrupt: () => callbacks++ });
  assert.equal(flag.stopped, false);
  await new Promise((r) => setImmediate(r)); // the listener is attached one macrotask later
  assert.equal(process.listenerCount('SIGINT'), baseline + 1);
  process.kill(process.pid, 'SIGINT');
  for (let i = 0; i < 100 && !flag.stopped; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(flag.stopped, true);
  assert.equal(callbacks, 1);
  flag.dispose();
  flag.dispose();
  assert.equal(activeInterruptFlags(), 0);
  await new Promise((r) => setImmediate(r));
  assert.equal(process.listenerCount('SIGINT'), baseline);
});

test('LiveLossPlot outside a notebook sends nothing but writes the chart PNG on flush', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lossplot-'));
  try {
    const file = join(dir, 'sub', 'losses.png');
    const plot = new LiveLossPlot({ savePath: file, layout: 'single' });
    for (let s = 0; s < 30; s++) plot.push(s, { L_D: 1 / (s + 1), L_G: s / 30 });
    await plot.flush();
    const png = readFileSync(file);
    assert.equal(png.subarray(1, 4).toString(), 'PNG');
    assert.ok(png.readUInt32BE(16) > 300, `PNG width ${png.readUInt32BE(16)}`);
    assert.equal(plot.length, 30);
    assert.deepEqual(plot.history().values.L_G.slice(0, 2), [0, 1 / 30]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
