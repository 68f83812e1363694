/**
 * A trained generator for the static page in web/ (`npm run export -- --run runs/<dir> --out web/model`):
 * only G, as a tfjs Layers model (model.json + weights.bin, what tf.loadLayersModel reads in a
 * browser), and meta.json with the class names and the config the page needs (zDim, classes,
 * resolution). E, D, C and the optimiser state stay behind: the page only samples, and G alone is
 * a fraction of the checkpoint.
 *
 * The page itself (index.html, app.js) and the tfjs browser bundle (node_modules/@tensorflow/tfjs/
 * dist/tf.min.js, copied to vendor/ beside the page: no CDN, so it works offline) go to the folder
 * above `out`; the repository's own web/ already holds the page, so there only the bundle is copied.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'fs';
import { basename, dirname, join, resolve } from 'path';
import * as tf from '@tensorflow/tfjs';
import { hasCheckpoint } from '../model/checkpoint';
import { loadModel } from '../model/factory';
import type { ModelKind } from '../model/interface';
import { NetworkModel } from '../model/modelbase';

const REPO = resolve(__dirname, '..', '..');
/** The page's files, copied beside an exported model that is not already next to them. */
export const PAGE_FILES = ['index.html', 'app.js'];

export interface WebMeta {
  format: 'cvaegan-ts/web-generator@1';
  kind: ModelKind;
  step: number;
  preset: string;
  zDim: number;
  numClasses: number;
  resolution: number;
  classNames: string[];
  /** G's input names in model.json's order, so the page feeds [z, one-hot c] correctly. */
  inputs: string[];
  source: string;
  exportedAt: string;
}

/**
 * The checkpoint folder of a run: the folder itself (checkpoint.json), <run>/checkpoint
 * (npm run train), or <run>/models/<kind>/checkpoint (npm run reproduce; kind default cvaegan).
 */
export function findCheckpoint(run: string, kind: ModelKind = 'cvaegan'): string {
  for (const dir of [run, join(run, 'checkpoint'), join(run, 'models', kind, 'checkpoint')]) if (hasCheckpoint(dir)) return dir;
  throw new Error(`no checkpoint in ${run}, ${join(run, 'checkpoint')} or ${join(run, 'models', kind, 'checkpoint')}`);
}

/** Class names recorded by the run (run.json of npm run train, manifest.json of npm run reproduce), else "class k". */
export function runClassNames(run: string, ckpt: string, K: number): string[] {
  for (const f of [join(run, 'run.json'), join(run, 'manifest.json'), join(dirname(ckpt), 'run.json'), join(dirname(ckpt), '..', '..', 'manifest.json')]) {
    if (!existsSync(f)) continue;
    const j = JSON.parse(readFileSync(f, 'utf8')) as { classes?: string[] | { names?: string[] } };
    const names = Array.isArray(j.classes) ? j.classes : j.classes?.names;
    if (names && names.length === K) return names.map(String);
  }
  return Array.from({ length: K }, (_, k) => `class ${k}`);
}

/** Writes G, meta.json and the page (see the file comment). Returns the files written. */
export async function exportGenerator(opts: { run: string; out: string; model?: ModelKind; log?(l: string): void }): Promise<{ checkpoint: string; meta: WebMeta; files: string[] }> {
  const log = opts.log ?? (() => {});
  const ckpt = findCheckpoint(opts.run, opts.model);
  const model = await loadModel(ckpt);
  try {
    if (!(model instanceof NetworkModel)) throw new Error(`${ckpt}: a ${model.kind} model without networks`);
    const G = model.nets.G;
    const out = resolve(opts.out);
    mkdirSync(out, { recursive: true });
    const files: string[] = [];
    await G.save(tf.io.withSaveHandler(async (a) => {
      // Written to temporary names and renamed, so a page never reads a half-written model.
      const weights = join(out, 'weights.bin');
      writeFileSync(`${weights}.tmp`, Buffer.from(a.weightData as ArrayBuffer));
      const json = { modelTopology: a.modelTopology, format: 'layers-model', generatedBy: `cvaegan-ts export (tfjs ${tf.version.tfjs})`, convertedBy: null, weightsManifest: [{ paths: ['weights.bin'], weights: a.weightSpecs }] };
      writeFileSync(join(out, 'model.json.tmp'), JSON.stringify(json));
      renameSync(`${weights}.tmp`, weights);
      renameSync(join(out, 'model.json.tmp'), join(out, 'model.json'));
      files.push(weights, join(out, 'model.json'));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }));
    const c = model.config;
    const meta: WebMeta = {
      format: 'cvaegan-ts/web-generator@1', kind: model.kind, step: model.step, preset: c.preset, zDim: c.zDim, numClasses: c.numClasses, resolution: c.resolution,
      classNames: runClassNames(opts.run, ckpt, c.numClasses), inputs: G.inputs.map((i) => i.name), source: ckpt, exportedAt: new Date().toISOString(),
    };
    writeFileSync(join(out, 'meta.json'), JSON.stringify(meta, null, 2));
    files.push(join(out, 'meta.json'));
    // The page: beside `out` unless it is there already (the repository's web/).
    const site = dirname(out);
    if (basename(out) !== 'model') log(`note: the page loads model/ beside index.html; ${out} is not named model`);
    for (const f of PAGE_FILES) {
      if (!existsSync(join(site, f))) {
        copyFileSync(join(REPO, 'web', f), join(site, f));
        files.push(join(site, f));
      }
    }
    mkdirSync(join(site, 'vendor'), { recursive: true });
    copyFileSync(require.resolve('@tensorflow/tfjs/dist/tf.min.js'), join(site, 'vendor', 'tf.min.js'));
    files.push(join(site, 'vendor', 'tf.min.js'));
    log(`exported G of ${ckpt} (${model.kind}, step ${model.step}, ${c.numClasses} classes, ${c.resolution} px) to ${out}; page at ${join(site, 'index.html')}`);
    return { checkpoint: ckpt, meta, files };
  } finally {
    model.dispose();
  }
}
