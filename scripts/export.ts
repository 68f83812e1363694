/**
 * A trained generator for the static page in web/: G only (tfjs Layers model.json + weights.bin),
 * meta.json (class names, config), and the tfjs browser bundle beside the page (lib/apps/web-export.ts).
 *
 *   npm run export -- --run runs/<dir> [--model cvaegan] [--out web/model]
 *
 * --run: a checkpoint folder, an `npm run train` folder (<run>/checkpoint) or an `npm run reproduce`
 * folder (<run>/models/<model>/checkpoint). Then serve web/ with any static server
 * (README "A trained generator in a web page").
 */
import { parseArgs } from 'node:util';
import { runMain } from './cli';
import { initBackend } from '../lib/backend/index';
import { exportGenerator } from '../lib/apps/web-export';
import type { ModelKind } from '../lib/model/interface';

const USAGE = 'usage: npm run export -- --run runs/<dir> [--model cvaegan|cvae|cgan|fmcgan] [--out web/model]';

async function main(): Promise<number> {
  const { values: v } = parseArgs({ options: { run: { type: 'string' }, model: { type: 'string' }, out: { type: 'string', default: 'web/model' }, help: { type: 'boolean', short: 'h' } } });
  if (v.help || !v.run) {
    console.log(USAGE);
    return v.help ? 0 : 2;
  }
  await initBackend();
  await exportGenerator({ run: v.run, out: v.out!, model: v.model as ModelKind | undefined, log: (l) => console.log(l) });
  return 0;
}

runMain(main);
