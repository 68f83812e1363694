/**
 * The nets the benchmark times, as ModelConfigs (lib/model/config.ts), so the PyTorch reference
 * (bench/reference/cvaegan_ref.py) builds the same layers from the same JSON.
 *
 * reference64: the "DCGAN-style CVAE-GAN at 64x64": E, D and C are four 4x4 stride-2
 * convolutions with 64-128-256-512 channels (64 -> 4, features 4*4*512 = 8192, no hidden FC); G is
 * [z, c] -> FC to 4*4*512 -> four 4x4 stride-2 transposed convolutions 256-128-64-3; z = 128,
 * 100 classes, batch norm, batch 32. 15.8 M trainable parameters in both frameworks.
 */
import { ConfigOverrides, makeConfig, ModelConfig, TrunkLayer } from '../lib/model/config';

const conv = (filters: number, kernel: number, stride: number): TrunkLayer => ({ kind: 'conv', filters, kernel, stride });
const dcgan = (): TrunkLayer[] => [conv(64, 4, 2), conv(128, 4, 2), conv(256, 4, 2), conv(512, 4, 2)];

export const REFERENCE64: ConfigOverrides = {
  numClasses: 100,
  resolution: 64,
  zDim: 128,
  norm: 'batch',
  encoder: { trunk: dcgan(), pool: 'flatten', hidden: [] },
  generator: {
    hidden: [],
    baseChannels: 512,
    layers: [
      { filters: 256, kernel: 4, upsample: true },
      { filters: 128, kernel: 4, upsample: true },
      { filters: 64, kernel: 4, upsample: true },
      { filters: 3, kernel: 4, upsample: true },
    ],
  },
  discriminator: { trunk: dcgan(), pool: 'flatten', hidden: [] },
  classifier: { trunk: dcgan(), pool: 'flatten', hidden: [] },
  batchSize: 32,
};

export type BenchNet = 'reference64' | 'cpu' | 'paper' | 'tiny';
export const BENCH_NETS: readonly BenchNet[] = ['reference64', 'cpu', 'paper', 'tiny'];

/** The config of a bench net; the presets get the reference's 100 classes and their own batch size. */
export function benchConfig(net: BenchNet, batchSize?: number): ModelConfig {
  const base = net === 'reference64' ? makeConfig('cpu', REFERENCE64) : makeConfig(net, { numClasses: net === 'tiny' ? 10 : 100 });
  return batchSize ? { ...base, batchSize } : base;
}

/** Levers bench/run.ts can switch on in the child: 'lean-backprop' (lib/backend/lean-backprop.ts). */
export const LEVERS = ['lean-backprop'] as const;
