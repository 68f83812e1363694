/**
 * A small seeded random number generator that drives every random choice of a training run.
 *
 * tfjs's random ops take an explicit integer seed; without one they use Math.random and a run can
 * never be repeated. So we keep one generator per model, draw a fresh 31-bit seed from it for every
 * random tensor (weight init, reparameterisation noise, prior z), and save its state (two numbers)
 * in checkpoints: N steps straight and N/2 + save + load + N/2 then draw identical noise.
 *
 * The generator is splitmix32-style mixing on a 32-bit counter ("mulberry32", public domain, Tommy
 * Ettinger): tiny state, passes the usual statistical batteries well enough for seeds and noise, and
 * trivially serialisable. We add a stream id so two generators with the same seed (training noise,
 * sampling noise) do not share a sequence.
 */

export interface RngState {
  /** The 32-bit counter, advanced by a fixed odd constant per draw. */
  counter: number;
  /** Mixed into every output; fixed for the generator's life. */
  stream: number;
}

export class Rng {
  private counter: number;
  private stream: number;

  constructor(seed: number, stream = 0) {
    if (!Number.isFinite(seed)) throw new Error(`Rng seed must be a finite number, got ${seed}`);
    // Hash the seed once so that nearby seeds (1, 2, 3) start far apart in the sequence.
    this.counter = mix32(Math.floor(seed) >>> 0) >>> 0;
    this.stream = mix32((stream ^ 0x9e3779b9) >>> 0) >>> 0;
  }

  static fromState(s: RngState): Rng {
    if (typeof s?.counter !== 'number' || typeof s?.stream !== 'number') {
      throw new Error(`not an Rng state: ${JSON.stringify(s)} (expected {counter, stream})`);
    }
    const r = new Rng(0);
    r.counter = s.counter >>> 0;
    r.stream = s.stream >>> 0;
    return r;
  }

  state(): RngState {
    return { counter: this.counter, stream: this.stream };
  }

  /** Uniform 32-bit unsigned integer. */
  nextUint32(): number {
    this.counter = (this.counter + 0x6d2b79f5) >>> 0;
    return mix32((this.counter ^ this.stream) >>> 0);
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** A seed for a tfjs random op: a positive integer below 2^31 (tfjs feeds it to seedrandom). */
  seed(): number {
    return (this.nextUint32() >>> 1) + 1;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    if (!(n >= 1)) throw new Error(`Rng.int needs n >= 1, got ${n}`);
    return Math.floor(this.next() * n);
  }
}

/** mulberry32's output function: a bijective avalanche mix of a 32-bit integer. */
function mix32(x: number): number {
  let t = x >>> 0;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return (t ^ (t >>> 14)) >>> 0;
}
