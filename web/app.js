/* The page's logic: load G (model/model.json, written by `npm run export`), draw a grid of G(z, c)
 * on a canvas, and redraw it when the class, z or the slider changes. Plain browser JavaScript on
 * the global `tf` from vendor/tf.min.js; no build step. window.cvaegan exposes the state and the
 * exact inputs of the last draw, so a test (test/web.test.ts) can run G on the same z in Node. */
(function () {
  'use strict';
  const ROWS = 4;
  const COLS = 4;
  const N = ROWS * COLS;
  const $ = (id) => document.getElementById(id);
  const state = { classA: 0, classB: 1, mode: 'class', t: 0, seed: 1, seedB: 2 };
  let meta;
  let model;
  let zA;
  let zB;
  let last;

  // A seeded generator (mulberry32) and Box-Muller normals: the same seed gives the same z on
  // every machine, so a grid can be shared by its seed.
  function normals(seed, n) {
    let a = seed >>> 0;
    const uniform = () => {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    const out = new Float32Array(n);
    for (let i = 0; i < n; i += 2) {
      const u = 1 - uniform();
      const v = uniform();
      const r = Math.sqrt(-2 * Math.log(u));
      out[i] = r * Math.cos(2 * Math.PI * v);
      if (i + 1 < n) out[i + 1] = r * Math.sin(2 * Math.PI * v);
    }
    return out;
  }

  /** The inputs of the grid for the current state: z [N, zDim] and c [N, K] as flat arrays. */
  function inputs() {
    const d = meta.zDim;
    const K = meta.numClasses;
    const t = state.t;
    const z = new Float32Array(N * d);
    const c = new Float32Array(N * K);
    for (let i = 0; i < N; i++) {
      for (let j = 0; j < d; j++) z[i * d + j] = state.mode === 'z' ? (1 - t) * zA[i * d + j] + t * zB[i * d + j] : zA[i * d + j];
      if (state.mode === 'class') {
        c[i * K + state.classA] += 1 - t;
        c[i * K + state.classB] += t;
      } else {
        c[i * K + state.classA] = 1;
      }
    }
    return { z, c };
  }

  function draw() {
    const R = meta.resolution;
    const { z, c } = inputs();
    // G in inference mode (batch norm uses its moving statistics), then [-1, 1] -> bytes exactly as
    // lib/eval/evaluator.ts's toBytes: round((x + 1) * 127.5), clipped to [0, 255].
    const pixels = tf.tidy(() => {
      const x = model.predict([tf.tensor2d(z, [N, meta.zDim]), tf.tensor2d(c, [N, meta.numClasses])]);
      return tf.clipByValue(tf.round(tf.mul(tf.add(x, 1), 127.5)), 0, 255).dataSync();
    });
    const canvas = $('grid');
    canvas.width = COLS * R;
    canvas.height = ROWS * R;
    const ctx = canvas.getContext('2d');
    const img = ctx.createImageData(COLS * R, ROWS * R);
    for (let i = 0; i < N; i++) {
      const ox = (i % COLS) * R;
      const oy = Math.floor(i / COLS) * R;
      for (let y = 0; y < R; y++) {
        for (let x = 0; x < R; x++) {
          const s = ((i * R + y) * R + x) * 3;
          const o = ((oy + y) * COLS * R + ox + x) * 4;
          img.data[o] = pixels[s];
          img.data[o + 1] = pixels[s + 1];
          img.data[o + 2] = pixels[s + 2];
          img.data[o + 3] = 255;
        }
      }
    }
    ctx.putImageData(img, 0, 0);
    last = { z: Array.from(z), c: Array.from(c), n: N, rows: ROWS, cols: COLS };
    $('tval').textContent = state.t.toFixed(2);
  }

  /** Changes the state (any of classA, classB, mode, t, seed, seedB) and redraws. */
  function set(changes) {
    Object.assign(state, changes);
    if ('seed' in changes) zA = normals(state.seed, N * meta.zDim);
    if ('seedB' in changes) zB = normals(state.seedB, N * meta.zDim);
    $('classA').value = String(state.classA);
    $('classB').value = String(state.classB);
    $('t').value = String(state.t);
    $('seed').value = String(state.seed);
    for (const r of document.querySelectorAll('input[name=mode]')) r.checked = r.value === state.mode;
    draw();
  }

  async function main() {
    meta = await (await fetch('model/meta.json')).json();
    if (!/z$/.test(meta.inputs[0])) throw new Error(`G's first input is ${meta.inputs[0]}, expected z`);
    model = await tf.loadLayersModel('model/model.json');
    for (const id of ['classA', 'classB']) {
      const sel = $(id);
      meta.classNames.forEach((name, k) => sel.add(new Option(`${k}: ${name}`, String(k))));
    }
    zA = normals(state.seed, N * meta.zDim);
    zB = normals(state.seedB, N * meta.zDim);
    state.classB = Math.min(1, meta.numClasses - 1);
    $('classA').onchange = (e) => set({ classA: Number(e.target.value) });
    $('classB').onchange = (e) => set({ classB: Number(e.target.value) });
    $('t').oninput = (e) => set({ t: Number(e.target.value) });
    $('seed').onchange = (e) => set({ seed: Number(e.target.value) });
    $('redraw').onclick = () => set({ seed: Math.floor(Math.random() * 1e9) });
    $('redrawB').onclick = () => set({ seedB: Math.floor(Math.random() * 1e9) });
    for (const r of document.querySelectorAll('input[name=mode]')) r.onchange = () => set({ mode: r.value });
    set({});
    $('status').textContent = `${meta.kind} generator after ${meta.step} steps: ${meta.numClasses} classes, ${meta.resolution}x${meta.resolution} px, z of ${meta.zDim} (tfjs ${tf.version.tfjs}, backend ${tf.getBackend()})`;
  }

  const ready = main().catch((e) => {
    $('status').textContent = `could not load the model: ${e.message} (serve this folder over http, after npm run export)`;
    throw e;
  });
  window.cvaegan = { ready, set, state, last: () => last, backend: () => tf.getBackend() };
})();
