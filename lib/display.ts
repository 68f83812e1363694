/**
 * Rich output in tslab notebooks, and a plain fallback outside them.
 *
 * tslab's public `display` API sends one MIME type per message; a chart needs a bundle (vega-lite
 * JSON for JupyterLab, SVG and PNG for viewers without vega, text for terminals), so we call the
 * writer that tslab's own `display.raw()` calls (`tslab/dist/jupyter`.lastWriteDisplayData), which
 * takes a whole Jupyter `display_data` content. Outside a kernel (node, tsx, tests) nothing is sent
 * and callers get `false`, so library code can show things unconditionally.
 */
import { randomUUID } from 'crypto';

/** A Jupyter MIME bundle: MIME type -> data (strings; binary images as base64). */
export type MimeBundle = Record<string, string | object>;

type WriteDisplayData = (content: { data: MimeBundle; metadata: object; transient: { display_id?: string } }, update: boolean) => void;

/** True inside a running tslab kernel (cells run with `globalThis.__tslab__` set). */
export function inNotebook(): boolean {
  return (globalThis as { __tslab__?: unknown }).__tslab__ !== undefined && writer() !== null;
}

function writer(): WriteDisplayData | null {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return (require('tslab/dist/jupyter') as { lastWriteDisplayData: WriteDisplayData | null }).lastWriteDisplayData;
  } catch {
    return null;
  }
}

/** zeromq.js throws this when ~500 messages are queued on iopub; the message was not sent. */
export function isSocketBusy(e: unknown): boolean {
  return e instanceof Error && /busy writing/i.test(e.message);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Sends `bundle` as display_data (first time) or update_display_data (when `update` and the same
 * display id). Retries a few times when the socket is busy. Returns false outside a notebook.
 */
export async function sendBundle(bundle: MimeBundle, displayId?: string, update = false): Promise<boolean> {
  const write = inNotebook() ? writer() : null;
  if (!write) return false;
  const content = { data: bundle, metadata: {}, transient: displayId ? { display_id: displayId } : {} };
  for (let attempt = 0; ; attempt++) {
    try {
      write(content, update);
      return true;
    } catch (e) {
      if (!isSocketBusy(e) || attempt >= 20) throw e;
      await sleep(25 * (attempt + 1));
    }
  }
}

/** One output area that can be replaced in place (Jupyter display ids). */
export class DisplayHandle {
  readonly id = randomUUID();
  private shown = false;

  /** Shows the bundle, replacing what this handle showed before. False outside a notebook. */
  async show(bundle: MimeBundle): Promise<boolean> {
    const sent = await sendBundle(bundle, this.id, this.shown);
    if (sent) this.shown = true;
    return sent;
  }
}

/**
 * Shows a bundle once. Outside a notebook prints its text/plain part instead. Returns nothing, so
 * a cell ending in `await display(...)` prints no stray value (tslab logs a cell's last value).
 */
export async function display(bundle: MimeBundle): Promise<void> {
  if (await sendBundle(bundle)) return;
  const text = bundle['text/plain'];
  if (typeof text === 'string') console.log(text);
}

/** A PNG as a bundle (with a text fallback naming its size). */
export function pngBundle(png: Uint8Array, alt = 'image'): MimeBundle {
  return { 'image/png': Buffer.from(png).toString('base64'), 'text/plain': `<${alt}: PNG, ${png.length} bytes>` };
}
