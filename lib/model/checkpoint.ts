/**
 * Checkpoint directories on the local file system, written atomically.
 *
 * Layout (one directory per checkpoint):
 *   checkpoint.json        what the checkpoint is: format, model kind, step, config, RNG state,
 *                          caller's extras, and the byte size of every other file (a completeness check)
 *   <net>/model.json       each network in the tfjs Layers format (topology + weights manifest),
 *   <net>/weights.bin      loadable on its own with tf.loadLayersModel(fileLoadHandler(path))
 *   <name>.bin             other tensors (optimiser state, moving averages), tfjs weight encoding;
 *                          their manifests live in checkpoint.json
 *
 * Atomicity: everything is written into `<dir>.tmp-<pid>-<random>` and fsynced; then the old
 * checkpoint (if any) is renamed to `<dir>.old-<pid>-<random>`, the new one is renamed into place,
 * and the old one is deleted. A kill at any moment leaves either the old or the new checkpoint
 * complete: before the first rename `dir` is untouched; between the two renames only the `.old-`
 * copy exists, and `recoverCheckpoint` (called by every reader) renames it back. An old copy that
 * cannot be deleted (read-only) is left with a warning; `checkCheckpointWritable` refuses such a
 * folder before training starts.
 *
 * Plain @tensorflow/tfjs has no file:// IO handler, so model.json/weights.bin are written through
 * tf.io.withSaveHandler and read back with a LoadHandler over the same files.
 */
import * as tf from '@tensorflow/tfjs';
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';

export const CHECKPOINT_FORMAT = 'cvaegan-ts/checkpoint@1';
export const META_FILE = 'checkpoint.json';

export interface CheckpointMeta {
  format: string;
  /** Which model wrote it (the registry key in factory.ts). */
  kind: string;
  step: number;
  /** ISO time of writing. */
  savedAt: string;
  /** Byte size of every other file in the directory, by relative path. */
  files: Record<string, number>;
  /** Model-specific content (config, RNG state, manifests) and the caller's extras. */
  [key: string]: unknown;
}

/** The files of one checkpoint, by relative path. Strings are written as UTF-8. */
export type CheckpointFiles = Map<string, Uint8Array | string>;

/** A tensor with a name (the shape tfjs's weight encoding and optimiser state use). */
export interface NamedTensor {
  name: string;
  tensor: tf.Tensor;
}

function fsyncPath(p: string): void {
  const fd = fs.openSync(p, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

function writeFileSynced(p: string, data: Uint8Array | string): void {
  fs.mkdirSync(path.dirname(p), { recursive: true });
  const fd = fs.openSync(p, 'w');
  try {
    const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    let off = 0;
    while (off < buf.length) off += fs.writeSync(fd, buf, off, buf.length - off);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

function byteLength(data: Uint8Array | string): number {
  return typeof data === 'string' ? Buffer.byteLength(data, 'utf8') : data.length;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as { code?: string }).code === 'EPERM';
  }
}

/** Leftovers of interrupted saves next to `dir`: `.old-` copies and `.tmp-` directories. */
function siblings(dir: string): { old: string[]; tmp: { path: string; pid: number }[] } {
  const parent = path.dirname(dir);
  const base = path.basename(dir);
  if (!fs.existsSync(parent)) return { old: [], tmp: [] };
  const old: string[] = [];
  const tmp: { path: string; pid: number }[] = [];
  for (const f of fs.readdirSync(parent)) {
    const m = /^(.*)\.(old|tmp)-(\d+)-[0-9a-f]+$/.exec(f);
    if (!m || m[1] !== base) continue;
    if (m[2] === 'old') old.push(path.join(parent, f));
    else tmp.push({ path: path.join(parent, f), pid: Number(m[3]) });
  }
  return { old, tmp };
}

/** Leftovers already reported (once per path and process). */
const warned = new Set<string>();

/**
 * Removes a leftover of an earlier save (an `.old-` copy, a dead process's `.tmp-` directory); when
 * that fails (a read-only copy, a read-only file system) the checkpoint itself is fine, so this
 * warns once, naming the path, instead of failing the save or the resume.
 */
function removeLeftover(p: string): void {
  try {
    fs.rmSync(p, { recursive: true, force: true });
  } catch (e) {
    if (warned.has(p)) return;
    warned.add(p);
    console.warn(`checkpoint: could not remove the leftover ${p} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); the checkpoint beside it is complete and in use. Make it writable and delete it (chmod -R u+w '${p}' && rm -r '${p}').`);
  }
}

/**
 * Throws, naming the folder and the fix, when a checkpoint could not be saved to `dir`: a save
 * writes a new copy beside `dir` (so its parent must be writable) and then deletes the old one (so
 * `dir` and every folder in it must be writable). train() calls this before the first step, so a
 * read-only folder fails at once instead of after the training it would have kept.
 */
export function checkCheckpointWritable(dir: string): void {
  dir = path.resolve(dir);
  const parent = path.dirname(dir);
  const fail = (where: string, e: unknown): never => {
    const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    throw new Error(
      `checkpoint folder ${dir} cannot be written: ${where} is not writable (${code}). A checkpoint is saved as a new copy beside the folder, then the old copy is deleted, so ` +
        `the folder, everything in it and its parent must be writable. Make them writable (chmod -R u+w '${fs.existsSync(dir) ? dir : parent}'), or train into another folder.`,
    );
  };
  try {
    fs.mkdirSync(parent, { recursive: true });
  } catch (e) {
    fail(parent, e);
  }
  const probe = `${dir}.probe-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    fs.writeFileSync(probe, '');
    fs.rmSync(probe, { force: true });
  } catch (e) {
    fail(parent, e);
  }
  if (!fs.existsSync(dir)) return;
  const walk = (d: string): void => {
    try {
      fs.accessSync(d, fs.constants.W_OK);
    } catch (e) {
      fail(d, e);
    }
    for (const f of fs.readdirSync(d, { withFileTypes: true })) if (f.isDirectory()) walk(path.join(d, f.name));
  };
  walk(dir);
}

/**
 * Repairs what an interrupted save left behind: if the checkpoint itself is missing but an `.old-`
 * copy exists (killed between the two renames), puts that copy back; deletes `.old-` copies of a
 * checkpoint that is in place, and `.tmp-` directories of processes that no longer run.
 */
export function recoverCheckpoint(dir: string): void {
  const { old, tmp } = siblings(dir);
  if (!fs.existsSync(dir) && old.length > 0) {
    // The newest aside copy is the last complete checkpoint.
    old.sort((a, b) => fs.statSync(b).mtimeMs - fs.statSync(a).mtimeMs);
    fs.renameSync(old.shift() as string, dir);
  }
  if (fs.existsSync(dir)) for (const o of old) removeLeftover(o);
  for (const t of tmp) if (t.pid !== process.pid && !pidAlive(t.pid)) removeLeftover(t.path);
}

/** True when `dir` holds a checkpoint (after recovering an interrupted save). */
export function hasCheckpoint(dir: string): boolean {
  recoverCheckpoint(dir);
  return fs.existsSync(path.join(dir, META_FILE));
}

/**
 * Writes `files` plus `checkpoint.json` (from `meta`, with the file sizes added) atomically to
 * `dir`, replacing any checkpoint there.
 */
export function writeCheckpoint(dir: string, meta: Omit<CheckpointMeta, 'files' | 'format' | 'savedAt'>, files: CheckpointFiles): void {
  dir = path.resolve(dir);
  const parent = path.dirname(dir);
  fs.mkdirSync(parent, { recursive: true });
  recoverCheckpoint(dir);
  if (fs.existsSync(dir) && !fs.existsSync(path.join(dir, META_FILE)) && fs.readdirSync(dir).length > 0) {
    throw new Error(`${dir} exists and is not a checkpoint (no ${META_FILE}); refusing to replace it. Choose another checkpoint directory or remove it.`);
  }
  const tag = `${process.pid}-${randomBytes(4).toString('hex')}`;
  const tmp = `${dir}.tmp-${tag}`;
  try {
    const sizes: Record<string, number> = {};
    for (const [rel, data] of files) {
      if (rel === META_FILE || path.isAbsolute(rel) || rel.split(/[\\/]/).includes('..')) throw new Error(`bad checkpoint file name '${rel}'`);
      writeFileSynced(path.join(tmp, rel), data);
      sizes[rel] = byteLength(data);
    }
    const full = { format: CHECKPOINT_FORMAT, savedAt: new Date().toISOString(), ...meta, files: sizes } as CheckpointMeta;
    writeFileSynced(path.join(tmp, META_FILE), JSON.stringify(full, null, 1));
    for (const d of new Set([...files.keys()].map((f) => path.dirname(path.join(tmp, f))))) fsyncPath(d);
    fsyncPath(tmp);
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  let aside: string | undefined;
  if (fs.existsSync(dir)) {
    aside = `${dir}.old-${tag}`;
    fs.renameSync(dir, aside);
  }
  fs.renameSync(tmp, dir);
  fsyncPath(parent);
  // The new checkpoint is complete and in place; an old copy that cannot be deleted only warns.
  if (aside) removeLeftover(aside);
}

/** Reads and checks a checkpoint's metadata; a clear error when it is missing or incomplete. */
export function readCheckpointMeta(dir: string): CheckpointMeta {
  dir = path.resolve(dir);
  recoverCheckpoint(dir);
  const metaPath = path.join(dir, META_FILE);
  if (!fs.existsSync(dir)) throw new Error(`no checkpoint at ${dir}: the directory does not exist`);
  if (!fs.existsSync(metaPath)) throw new Error(`no checkpoint at ${dir}: ${META_FILE} is missing (not a checkpoint directory, or written by something else)`);
  let meta: CheckpointMeta;
  try {
    meta = JSON.parse(fs.readFileSync(metaPath, 'utf8')) as CheckpointMeta;
  } catch (e) {
    throw new Error(`checkpoint at ${dir} is damaged: ${META_FILE} is not valid JSON (${(e as Error).message})`);
  }
  if (meta.format !== CHECKPOINT_FORMAT) {
    throw new Error(`checkpoint at ${dir} has format '${meta.format}', this code reads '${CHECKPOINT_FORMAT}'`);
  }
  for (const [rel, size] of Object.entries(meta.files ?? {})) {
    const p = path.join(dir, rel);
    if (!fs.existsSync(p)) throw new Error(`checkpoint at ${dir} is incomplete: ${rel} is missing`);
    const actual = fs.statSync(p).size;
    if (actual !== size) throw new Error(`checkpoint at ${dir} is damaged: ${rel} has ${actual} bytes, ${META_FILE} says ${size}`);
  }
  return meta;
}

export function readCheckpointFile(dir: string, rel: string): Buffer {
  return fs.readFileSync(path.join(path.resolve(dir), rel));
}

/** An ArrayBuffer holding exactly the bytes of `b` (Node Buffers may share a larger pool). */
function toArrayBuffer(b: Uint8Array): ArrayBuffer {
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
}

/**
 * A network in the tfjs Layers format: `<prefix>/model.json` + `<prefix>/weights.bin`, added to `files`.
 * Includes non-trainable weights (batch-norm moving statistics).
 */
export async function addModelFiles(files: CheckpointFiles, prefix: string, model: tf.LayersModel): Promise<void> {
  await model.save(
    tf.io.withSaveHandler(async (a: tf.io.ModelArtifacts) => {
      const data = a.weightData === undefined ? new ArrayBuffer(0) : tf.io.CompositeArrayBuffer.join(a.weightData);
      const json: tf.io.ModelJSON = {
        modelTopology: a.modelTopology as object,
        format: a.format,
        generatedBy: a.generatedBy,
        convertedBy: a.convertedBy ?? null,
        weightsManifest: [{ paths: ['weights.bin'], weights: a.weightSpecs ?? [] }],
      };
      files.set(`${prefix}/model.json`, JSON.stringify(json));
      files.set(`${prefix}/weights.bin`, new Uint8Array(data));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON', weightDataBytes: data.byteLength } };
    }),
  );
}

/** A tf.io LoadHandler for a model.json on disk whose weight files sit beside it. */
export function fileLoadHandler(modelJsonPath: string): tf.io.IOHandler {
  return {
    load: async () => {
      const json = JSON.parse(fs.readFileSync(modelJsonPath, 'utf8')) as tf.io.ModelJSON;
      const specs: tf.io.WeightsManifestEntry[] = [];
      const buffers: Buffer[] = [];
      for (const group of json.weightsManifest) {
        specs.push(...group.weights);
        for (const p of group.paths) buffers.push(fs.readFileSync(path.join(path.dirname(modelJsonPath), p)));
      }
      return { modelTopology: json.modelTopology, weightSpecs: specs, weightData: toArrayBuffer(Buffer.concat(buffers)), format: json.format, generatedBy: json.generatedBy, convertedBy: json.convertedBy };
    },
  };
}

/**
 * Throws when a float32 tensor in tfjs-encoded `data` holds NaN or Infinity: such a checkpoint was
 * saved from a diverged model, and every step from it would fail (or train on garbage).
 */
function checkFiniteData(dir: string, what: string, data: ArrayBuffer, specs: tf.io.WeightsManifestEntry[]): void {
  let offset = 0;
  for (const s of specs) {
    if (!['float32', 'int32', 'bool'].includes(s.dtype)) return; // sizes of other dtypes vary; none is written here
    const size = s.shape.reduce((a, b) => a * b, 1);
    const bytes = size * (s.dtype === 'bool' ? 1 : 4);
    if (s.dtype === 'float32' && !s.quantization) {
      const values = new Float32Array(data.slice(offset, offset + bytes));
      const i = values.findIndex((v) => !Number.isFinite(v));
      if (i >= 0) {
        throw new Error(
          `checkpoint at ${dir} holds ${values[i]} in ${what} '${s.name}' (value ${i} of ${size}): it was saved from a diverged model, and training or sampling from it cannot work. Resume from an earlier copy of this checkpoint, or start afresh in a new folder.`,
        );
      }
    }
    offset += s.quantization ? size * (s.quantization.dtype === 'uint8' ? 1 : 2) : bytes;
  }
}

/** Reads and checks (complete, finite) the weights of one network saved by addModelFiles. The caller disposes them. */
export function readModelWeights(dir: string, prefix: string): tf.NamedTensorMap {
  const json = JSON.parse(readCheckpointFile(dir, `${prefix}/model.json`).toString('utf8')) as tf.io.ModelJSON;
  const specs = json.weightsManifest.flatMap((g) => g.weights);
  const data = toArrayBuffer(readCheckpointFile(dir, `${prefix}/weights.bin`));
  checkFiniteData(dir, `network ${prefix}'s weight`, data, specs);
  return tf.io.decodeWeights(data, specs);
}

/**
 * Loads the weights saved by addModelFiles into an existing model of the same architecture;
 * `weights` (from readModelWeights, disposed by the caller) when they were read already.
 */
export function loadModelWeights(dir: string, prefix: string, model: tf.LayersModel, weights?: tf.NamedTensorMap): void {
  const w = weights ?? readModelWeights(dir, prefix);
  try {
    // strict: every weight of the model must be present and shaped as saved.
    model.loadWeights(w, true);
  } catch (e) {
    throw new Error(`checkpoint at ${dir}: network ${prefix} does not fit this model (${(e as Error).message}); was it saved with a different config?`);
  } finally {
    if (!weights) tf.dispose(Object.values(w));
  }
}

/** Tensors encoded with the tfjs weight encoding; returns the manifest to store in the metadata. */
export async function addTensorFile(files: CheckpointFiles, rel: string, tensors: NamedTensor[]): Promise<tf.io.WeightsManifestEntry[]> {
  const { data, specs } = await tf.io.encodeWeights(tensors);
  files.set(rel, new Uint8Array(data));
  return specs;
}

/** Decodes a tensor file written by addTensorFile, in manifest order. The caller owns the tensors. */
export function readTensorFile(dir: string, rel: string, specs: tf.io.WeightsManifestEntry[]): NamedTensor[] {
  const data = toArrayBuffer(readCheckpointFile(dir, rel));
  checkFiniteData(dir, `${rel}'s tensor`, data, specs);
  const map = tf.io.decodeWeights(data, specs);
  return specs.map((s) => ({ name: s.name, tensor: map[s.name] }));
}
