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

/** What this process has sent to the notebook, so tests can check that live output stays bounded. */
export interface DisplayCounters {
  /** display_data messages (new outputs). */
  displays: number;
  /** update_display_data messages (in-place replacements). */
  updates: number;
  /** Sends that hit a busy socket and were retried. */
  busyRetries: number;
}
const counters: DisplayCounters = { displays: 0, updates: 0, busyRetries: 0 };

export function displayCounters(): DisplayCounters {
  return { ...counters };
}

/**
 * Sends `bundle` as display_data (first time) or update_display_data (when `update` and the same
 * display id). Retries a few times when the socket is busy. Returns false outside a notebook.
 * The first attempt is made synchronously, so outputs appear in the order their sends were called.
 */
export async function sendBundle(bundle: MimeBundle, displayId?: string, update = false): Promise<boolean> {
  const write = inNotebook() ? writer() : null;
  if (!write) return false;
  const content = { data: bundle, metadata: {}, transient: displayId ? { display_id: displayId } : {} };
  for (let attempt = 0; ; attempt++) {
    try {
      write(content, update);
      if (update) counters.updates++;
      else counters.displays++;
      return true;
    } catch (e) {
      if (!isSocketBusy(e) || attempt >= 20) throw e;
      counters.busyRetries++;
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
    const first = !this.shown;
    this.shown = true; // before the await: a second show() racing this one must update, not add
    const sent = await sendBundle(bundle, this.id, !first);
    if (!sent && first) this.shown = false;
    return sent;
  }

  get isShown(): boolean {
    return this.shown;
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

/** HTML with a plain-text twin (tables, progress bars). Not for charts: HTML outranks vega in Lab. */
export function htmlBundle(html: string, text: string): MimeBundle {
  return { 'text/html': html, 'text/plain': text };
}

export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

export interface LiveDisplayOptions {
  /** At most this many updates per second (default 2), whatever the rate of `invalidate()`. */
  maxPerSecond?: number;
  /**
   * Most of the wall time that rendering may take (default 0.1). A render that takes 300 ms
   * stretches the interval to 3 s, so a slow chart never slows training by more than this share.
   */
  maxBusyShare?: number;
  /** Longest interval between updates whatever renders cost (default 10 s). */
  maxIntervalMs?: number;
}

/**
 * An output area that re-renders itself from a timer while the caller keeps working.
 *
 * `invalidate()` is cheap (a flag and at most one pending timer), so a training loop may call it
 * every step; the render runs later, off the step, at most `maxPerSecond` times a second, and the
 * state shown is never older than one interval. Timers fire only when the event loop turns, so a
 * loop must yield between steps (`await new Promise(setImmediate)`). `await flush()` sends the
 * final state: without it the saved notebook may miss the last points. Outside a notebook nothing
 * is scheduled or rendered.
 */
export class LiveDisplay {
  private readonly handle = new DisplayHandle();
  private readonly minIntervalMs: number;
  private readonly maxBusyShare: number;
  private readonly maxIntervalMs: number;
  private dirty = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private inFlight: Promise<void> | undefined;
  private lastSentAt = -Infinity;
  private renders = 0;
  /** Typical render time: a moving average that skips the first render (it loads modules). */
  private renderMs = 0;
  private reportedError = false;
  /** Bundles sent by this display (the first one included). */
  sent = 0;

  constructor(private readonly render: () => MimeBundle | Promise<MimeBundle>, opts: LiveDisplayOptions = {}) {
    this.minIntervalMs = 1000 / (opts.maxPerSecond ?? 2);
    this.maxBusyShare = opts.maxBusyShare ?? 0.1;
    this.maxIntervalMs = Math.max(this.minIntervalMs, opts.maxIntervalMs ?? 10_000);
  }

  get displayId(): string {
    return this.handle.id;
  }

  /** Current spacing between updates: the rate cap, or longer when renders are slow. */
  get intervalMs(): number {
    return Math.min(this.maxIntervalMs, Math.max(this.minIntervalMs, this.renderMs / this.maxBusyShare));
  }

  /** Typical time one render takes, in ms (0 before the second render). */
  get typicalRenderMs(): number {
    return this.renderMs;
  }

  /** Marks the content stale; an update follows from a timer. */
  invalidate(): void {
    this.dirty = true;
    if (this.timer === undefined && this.inFlight === undefined && inNotebook()) this.schedule();
  }

  /** Shows `bundle` now (no render), e.g. a placeholder that fixes this output's position. */
  async showNow(bundle: MimeBundle): Promise<void> {
    if (await this.handle.show(bundle)) this.sent++;
  }

  /** Renders and sends the current state now if anything changed, and waits for it. */
  async flush(): Promise<void> {
    for (;;) {
      this.cancelTimer();
      if (this.inFlight === undefined) break;
      await this.inFlight;
    }
    if (this.dirty && inNotebook()) await this.startRender(true);
  }

  private cancelTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    const wait = Math.max(0, this.lastSentAt + this.intervalMs - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.dirty) void this.startRender(false);
    }, wait);
    this.timer.unref?.();
  }

  private startRender(rethrow: boolean): Promise<void> {
    const run: Promise<void> = this.renderAndSend(rethrow).finally(() => {
      if (this.inFlight === run) this.inFlight = undefined;
      if (this.dirty && this.timer === undefined && this.inFlight === undefined && inNotebook()) this.schedule();
    });
    this.inFlight = run;
    return run;
  }

  private async renderAndSend(rethrow: boolean): Promise<void> {
    this.dirty = false;
    try {
      const started = Date.now();
      const bundle = await this.render();
      const took = Date.now() - started;
      if (this.renders++ > 0) this.renderMs = this.renders === 2 ? took : 0.7 * this.renderMs + 0.3 * took;
      if (await this.handle.show(bundle)) this.sent++;
      this.lastSentAt = Date.now();
    } catch (e) {
      // A failed live update must not kill the training loop that triggered it; say so once.
      if (rethrow) throw e;
      if (!this.reportedError) console.error('live display update failed:', e);
      this.reportedError = true;
    }
  }
}
