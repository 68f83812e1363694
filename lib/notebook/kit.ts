/**
 * Notebook glue for the dataset notebooks: where the data comes from (a local copy, else a download),
 * picking a few images per class for the demo grids, and a loss log that lets a re-run training
 * cell continue its chart where the checkpoint left off. Each function only combines calls to
 * datasets/ and lib/.
 */
import * as tf from '@tensorflow/tfjs';
import { join } from 'path';
import { downloadCub200, downloadFaceScrub, downloadFlowers102, downloadLfw, downloadRoot, findOrFetch, toTensor } from '../../datasets/index';
import type { DatasetName, ImageDataset } from '../../datasets/index';
import { hasCheckpoint, readCheckpointMeta } from '../model/checkpoint';
import { LossLog, readLossLog } from '../train/losslog';
import type { TrainingMonitor } from '../train/monitor';
import type { TrainRecord } from '../train/loop';

export interface DataSource {
  /** The dataset found: the one asked for, except that 'faces' becomes 'lfw' when only LFW is there or can be had. */
  dataset: DatasetName;
  root: string;
  /** How the folder was found, in words. */
  source: string;
}

const firstLine = (e: unknown) => (e instanceof Error ? e.message : String(e)).split('\n')[0];

/**
 * The folder of `name` (datasets/find.ts): a local copy if there is one (the download folder
 * datasets/<name>/, else the staged copy in ../shared/datasets), else the official files downloaded
 * into datasets/<name>/ with progress and checksums, else an error saying in one message what to
 * do offline. Faces: FaceScrub or the staged CelebA crops when present, else LFW.
 * - `offline: true` (or CVAEGAN_OFFLINE=1): never touch the network.
 * - `download: true`: fetch the official files into datasets/<name>/ even when another copy exists
 *   (resumable; skipped when already complete), falling back to a local copy, saying why, when the
 *   source cannot be reached. FaceScrub downloads only with the authors' list files (`faceScrubLists`).
 */
export async function findDataset(name: DatasetName, opts: { offline?: boolean; download?: boolean; faceScrubLists?: string[]; progress?: boolean } = {}): Promise<DataSource> {
  if (!opts.download || opts.offline) return findOrFetch(name, { offline: opts.offline, progress: opts.progress });
  try {
    if (name === 'flowers102') return { dataset: name, root: await downloadFlowers102(), source: 'the official files (downloaded or already complete)' };
    if (name === 'cub200') return { dataset: name, root: await downloadCub200(), source: 'the official archive (downloaded or already complete)' };
    if (name === 'lfw') return { dataset: name, root: await downloadLfw(), source: 'the official archive (downloaded or already complete)' };
    if (!opts.faceScrubLists?.length) throw new Error('FaceScrub is distributed as URL lists: pass faceScrubLists (the authors\' facescrub_actors.txt / facescrub_actresses.txt)');
    const r = await downloadFaceScrub({ lists: opts.faceScrubLists });
    return { dataset: name, root: downloadRoot('faces'), source: `FaceScrub: ${r.saved} faces saved now, ${r.skipped} already there, ${r.dead} dead links` };
  } catch (e) {
    console.log(`download of ${name} failed (${firstLine(e)}); using a local copy instead`);
    return findOrFetch(name, { offline: true, progress: opts.progress });
  }
}

/**
 * `perClass` images of each class in `classIds` (the first ones of each class, after skipping
 * `offset`), as a tensor in [-1, 1] with their labels, class-major. The caller disposes `x`.
 */
export function pickExamples(ds: ImageDataset, classIds: number[], perClass: number, offset = 0): { x: tf.Tensor4D; labels: number[]; indices: number[] } {
  const indices: number[] = [];
  for (const c of classIds) {
    const ofClass: number[] = [];
    ds.labels.forEach((l, i) => {
      if (l === c) ofClass.push(i);
    });
    if (ofClass.length < offset + perClass) throw new Error(`pickExamples: class ${c} (${ds.classNames[c]}) has ${ofClass.length} images in the ${ds.split} split, fewer than ${offset + perClass}`);
    indices.push(...ofClass.slice(offset, offset + perClass));
  }
  return { x: toTensor(ds, indices), labels: indices.map((i) => ds.labels[i]), indices };
}

/** The class ids 0..n-1, capped at the dataset's class count. */
export function firstClasses(ds: { numClasses: number }, n: number): number[] {
  return Array.from({ length: Math.min(n, ds.numClasses) }, (_, i) => i);
}

/**
 * Hooks for lib/train/loop.ts that feed `monitor` and append every step to `<runDir>/losses.jsonl`.
 * Before training, the log is cut back to the checkpoint's step (steps after it run again) and its
 * records are replayed into the monitor's chart and progress bar, so a re-run training cell shows
 * the whole run and continues it. When `model` already holds the checkpoint's weights (its step is
 * the last logged one), the last record goes through the monitor's step hook, which also draws the
 * sample grid of that step.
 */
export function loggedHooks(
  monitor: TrainingMonitor,
  model: { readonly step: number },
  runDir: string,
  checkpointDir = join(runDir, 'checkpoint'),
): { onStep: (r: TrainRecord) => void; shouldStop: () => boolean } {
  const log = new LossLog(join(runDir, 'losses.jsonl'));
  const resumedAt = hasCheckpoint(checkpointDir) ? readCheckpointMeta(checkpointDir).step : 0;
  log.truncateAfter(resumedAt);
  const earlier = readLossLog(log.path);
  if (resumedAt > 0) console.log(`continuing from the checkpoint at step ${resumedAt} (${earlier.length} logged steps back in the chart)`);
  earlier.forEach((r, i) => {
    if (i === earlier.length - 1 && model.step === r.step) monitor.onStep({ step: r.step, losses: r.losses, diagnostics: r.diagnostics });
    else {
      monitor.plot?.push(r.step, r.diagnostics ? { ...r.losses, ...r.diagnostics } : r.losses);
      if (i === earlier.length - 1) monitor.progress?.tick(r.step, r.losses);
    }
  });
  return {
    onStep: (r) => {
      log.append({ step: r.step, ms: Math.round(r.ms * 10) / 10, epoch: r.epoch, losses: r.losses, metrics: r.metrics, ...(r.diagnostics ? { diagnostics: r.diagnostics } : {}) });
      monitor.onStep(r);
    },
    shouldStop: monitor.shouldStop,
  };
}

/** Class names cut to `max` characters (with '…'), for column labels under small tiles. */
export function shortNames(names: readonly string[], max = 11): string[] {
  return names.map((n) => (n.length > max ? `${n.slice(0, max - 1).trimEnd()}…` : n));
}
