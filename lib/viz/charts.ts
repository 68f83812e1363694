/**
 * vega-lite 5 charts as Jupyter MIME bundles.
 *
 * JupyterLab 4 renders `application/vnd.vegalite.v5+json` natively (and has no v6 type, which is
 * why vega-lite stays on 5.x). GitHub and the classic Notebook do not, so every bundle also carries
 * an SVG and a PNG rendered here with vega's headless View (PNG through node-canvas). No text/html:
 * it would outrank the vega renderer in JupyterLab.
 */
import * as vega from 'vega';
import * as vl from 'vega-lite';
import type { TopLevelSpec } from 'vega-lite';
import type { MimeBundle } from './display';

export const VEGA_LITE_MIME = 'application/vnd.vegalite.v5+json';
export const VEGA_LITE_SCHEMA = 'https://vega.github.io/schema/vega-lite/v5.json';

export interface RenderOptions {
  /** Include the server-side SVG (default true). */
  svg?: boolean;
  /** Include the server-side PNG (default true). */
  png?: boolean;
  /** PNG pixel scale (default 1.5, sharp on most screens, small in saved notebooks). */
  pngScale?: number;
  /** text/plain fallback. */
  alt?: string;
}

async function withView<T>(spec: TopLevelSpec, fn: (view: vega.View) => Promise<T>): Promise<T> {
  const compiled = vl.compile(spec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    return await fn(view);
  } finally {
    view.finalize();
  }
}

export function renderSvg(spec: TopLevelSpec): Promise<string> {
  return withView(spec, (view) => view.toSVG());
}

async function canvasPng(view: vega.View, scale: number): Promise<Buffer> {
  const canvas = (await view.toCanvas(scale)) as unknown as { toBuffer(mime: 'image/png'): Buffer };
  return canvas.toBuffer('image/png');
}

export function renderPng(spec: TopLevelSpec, scale = 1.5): Promise<Buffer> {
  return withView(spec, (view) => canvasPng(view, scale));
}

/** The full bundle for one chart: vega-lite JSON, SVG, PNG, text. One vega View renders both images. */
export async function vegaLiteBundle(spec: TopLevelSpec, opts: RenderOptions = {}): Promise<MimeBundle> {
  const full = { $schema: VEGA_LITE_SCHEMA, ...spec } as TopLevelSpec;
  const bundle: MimeBundle = { [VEGA_LITE_MIME]: full as object };
  const svg = opts.svg ?? true;
  const png = opts.png ?? true;
  if (svg || png) {
    await withView(full, async (view) => {
      if (svg) bundle['image/svg+xml'] = await view.toSVG();
      if (png) bundle['image/png'] = (await canvasPng(view, opts.pngScale ?? 1.5)).toString('base64');
    });
  }
  bundle['text/plain'] = opts.alt ?? `<vega-lite chart${'title' in full && typeof full.title === 'string' ? `: ${full.title}` : ''}>`;
  return bundle;
}
