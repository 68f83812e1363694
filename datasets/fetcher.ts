/**
 * HTTP(S) downloads that survive bad networks: resumable (HTTP Range into `<file>.part`), with an
 * idle timeout and a minimum transfer rate, bounded retries with back-off, redirects, and MD5 /
 * SHA-256 / size verification. Nothing is thrown away: a partial download stays in `.part` for the
 * next call, and a complete file whose checksum is wrong is renamed aside, never deleted.
 * `offline: true` never opens a connection: a file already on disk is verified, a missing one is an
 * OfflineError.
 */
import { createHash } from 'crypto';
import { closeSync, createReadStream, existsSync, openSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, writeSync } from 'fs';
import * as http from 'http';
import * as https from 'https';
import { dirname } from 'path';
import { ProgressReporter } from './reporter';

export interface FetchOptions {
  /** Milliseconds without any data before a request is abandoned (default 30 s). */
  timeoutMs?: number;
  /**
   * A transfer slower than `bytesPerSecond` over any `windowMs` is abandoned like a timeout (the
   * idle timeout never fires for a server that trickles a byte every few seconds). Default 1 KiB/s
   * over 60 s.
   */
  minRate?: { bytesPerSecond: number; windowMs: number };
  /** Extra attempts after the first one for network errors, timeouts and HTTP 5xx/408/429 (default 3). */
  retries?: number;
  /** Wait before the first retry, doubled for each later one (default 1 s). */
  retryDelayMs?: number;
  headers?: Record<string, string>;
  progress?: boolean;
}

export interface DownloadOptions extends FetchOptions {
  /** Expected MD5 (hex); a mismatch is an error and the file is kept aside. */
  md5?: string;
  /** Expected SHA-256 (hex); checked like `md5` (both may be given). */
  sha256?: string;
  /** Never touch the network: verify `dest` if it is there, else throw OfflineError. */
  offline?: boolean;
  /** Expected size in bytes. */
  size?: number;
  label?: string;
}

/** An HTTP status that retrying will not fix (404, 403, ...) or an unexpected HTML page. */
export class HttpError extends Error {
  constructor(message: string, readonly url: string, readonly status: number) {
    super(message);
  }
}

export class ChecksumError extends Error {
  constructor(message: string, readonly file: string, readonly expected: string, readonly actual: string, readonly keptAs: string) {
    super(message);
  }
}

/** A file is not on disk and downloads are off (`offline: true`). */
export class OfflineError extends Error {
  constructor(message: string, readonly file: string, readonly url: string) {
    super(message);
  }
}

const MAX_REDIRECTS = 5;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const retryable = (status: number) => status >= 500 || status === 408 || status === 429;

export async function md5File(path: string): Promise<string> {
  return (await hashFile(path, ['md5'])).md5;
}

export async function sha256File(path: string): Promise<string> {
  return (await hashFile(path, ['sha256'])).sha256;
}

/** Several digests of one file in one read. */
async function hashFile(path: string, algorithms: ('md5' | 'sha256')[]): Promise<Record<string, string>> {
  const hashes = algorithms.map((a) => createHash(a));
  for await (const chunk of createReadStream(path)) for (const h of hashes) h.update(chunk as Buffer);
  return Object.fromEntries(algorithms.map((a, i) => [a, hashes[i].digest('hex')]));
}

/** GET with redirects; resolves with the final response (status < 300) or throws HttpError / network errors. */
interface Response {
  res: http.IncomingMessage;
  url: string;
  /** The timeout message once the idle timeout has fired (the body stream then only says "aborted"). */
  timedOut(): string | undefined;
}

function request(url: string, headers: Record<string, string>, timeoutMs: number, redirects = 0): Promise<Response> {
  return new Promise((resolve, reject) => {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      reject(new HttpError(`not a valid URL: ${url}`, url, 0));
      return;
    }
    const lib = parsed.protocol === 'https:' ? https : parsed.protocol === 'http:' ? http : undefined;
    if (!lib) {
      reject(new HttpError(`unsupported protocol in ${url} (use http or https)`, url, 0));
      return;
    }
    const req = lib.get(parsed, { headers }, (res) => {
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400 && res.headers.location) {
        res.resume();
        if (redirects >= MAX_REDIRECTS) {
          reject(new HttpError(`${url}: more than ${MAX_REDIRECTS} redirects`, url, status));
          return;
        }
        request(new URL(res.headers.location, url).toString(), headers, timeoutMs, redirects + 1).then(resolve, reject);
        return;
      }
      // A 416 reaches the caller: it means the partial file already holds everything.
      if (status >= 400 && status !== 416) {
        res.resume();
        const err = new HttpError(`${url}: HTTP ${status} ${res.statusMessage ?? ''}`.trim(), url, status);
        reject(retryable(status) ? Object.assign(new Error(err.message), { retryable: true }) : err);
        return;
      }
      resolve({ res, url, timedOut: () => timeout });
    });
    let timeout: string | undefined;
    req.setTimeout(timeoutMs, () => {
      timeout = `${url}: no data for ${timeoutMs} ms (timed out)`;
      req.destroy(new Error(timeout));
    });
    req.on('error', reject);
  });
}

const DEFAULT_MIN_RATE = { bytesPerSecond: 1024, windowMs: 60_000 };

/**
 * Watches one response body: calls `fail` when fewer than minRate.bytesPerSecond arrived over
 * the last minRate.windowMs. `add(n)` counts bytes; `stop()` ends the watch.
 */
function rateGuard(url: string, minRate: { bytesPerSecond: number; windowMs: number }, fail: (e: Error) => void) {
  const { bytesPerSecond, windowMs } = minRate;
  const start = Date.now();
  let received = 0;
  const samples: { t: number; received: number }[] = [{ t: start, received: 0 }];
  const timer = setInterval(() => {
    const now = Date.now();
    samples.push({ t: now, received });
    // Keep the newest sample at least a window old as the reference point.
    while (samples.length > 2 && samples[1].t <= now - windowMs) samples.shift();
    const ref = samples[0];
    if (now - ref.t >= windowMs && received - ref.received < (bytesPerSecond * (now - ref.t)) / 1000) {
      const got = received - ref.received;
      fail(new Error(`${url}: only ${got} bytes in the last ${((now - ref.t) / 1000).toFixed(0)} s, below the minimum of ${bytesPerSecond} bytes/s (the server trickles; timed out)`));
    }
  }, Math.max(10, Math.min(1000, windowMs / 4)));
  timer.unref();
  return { add: (n: number) => void (received += n), stop: () => clearInterval(timer) };
}

/**
 * Writes one response body into `part` (appending when `append`); rejects if the body ends early.
 * Chunks are written synchronously as they arrive: with a piped (buffered) stream, bytes still
 * queued when the connection drops are discarded by Node, and a resume would then refetch them.
 */
function receive(response: Response, part: string, append: boolean, expectedBytes: number | undefined, bar: ProgressReporter, offset: number, minRate: FetchOptions['minRate']): Promise<void> {
  const { res } = response;
  return new Promise((resolve, reject) => {
    const fd = openSync(part, append ? 'a' : 'w');
    let received = 0;
    let settled = false;
    const guard = rateGuard(response.url, minRate ?? DEFAULT_MIN_RATE, (e) => settle(e));
    const settle = (e?: Error) => {
      if (settled) return;
      settled = true;
      guard.stop();
      closeSync(fd);
      if (!e) {
        resolve();
        return;
      }
      res.destroy();
      reject(response.timedOut() ? new Error(response.timedOut()) : e);
    };
    res.on('data', (chunk: Buffer) => {
      if (settled) return;
      try {
        writeSync(fd, chunk);
      } catch (e) {
        settle(e as Error);
        return;
      }
      received += chunk.length;
      guard.add(chunk.length);
      bar.update(offset + received);
    });
    res.on('aborted', () => settle(new Error(`connection closed after ${received} of ${expectedBytes ?? '?'} bytes`)));
    res.on('error', (e) => settle(e));
    res.on('end', () => settle(expectedBytes !== undefined && received < expectedBytes ? new Error(`connection closed after ${received} of ${expectedBytes} bytes`) : undefined));
  });
}

/**
 * Downloads `url` to `dest`. Skips the download when `dest` exists (and matches `md5`); resumes
 * from `dest.part`; retries transient failures; verifies size and MD5, renaming a bad file to
 * `dest.md5-mismatch-<md5>` before throwing ChecksumError. Returns `dest`.
 */
export async function downloadFile(url: string, dest: string, opts: DownloadOptions = {}): Promise<string> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const retries = opts.retries ?? 3;
  const retryDelayMs = opts.retryDelayMs ?? 1000;
  const name = opts.label ?? dest.split(/[\\/]/).pop()!;
  const headers = { 'User-Agent': 'cvaegan-ts dataset downloader', ...opts.headers };

  if (existsSync(dest)) {
    if (!opts.md5 && !opts.sha256) return dest;
    await verify(dest, url, opts);
    return dest;
  }
  if (opts.offline) {
    throw new OfflineError(`${name} is not in ${dirname(dest)} and downloads are off (offline); it comes from ${url}`, dest, url);
  }
  const part = `${dest}.part`;
  const partUrl = `${part}.url`;
  // A partial file from another URL (another mirror) may hold other bytes: start over.
  if (existsSync(part) && (!existsSync(partUrl) || readFileSync(partUrl, 'utf8') !== url)) rmSync(part);

  const bar = new ProgressReporter(`download ${name}`, opts.size, { enabled: opts.progress ?? true, unit: 'bytes' });
  let lastError: Error | undefined;
  for (let attempt = 0; attempt <= retries; attempt++) {
    if (attempt > 0) await sleep(retryDelayMs * 2 ** (attempt - 1));
    const have = existsSync(part) ? statSync(part).size : 0;
    try {
      const response = await request(url, have > 0 ? { ...headers, Range: `bytes=${have}-` } : headers, timeoutMs);
      const { res } = response;
      const status = res.statusCode ?? 0;
      const type = String(res.headers['content-type'] ?? '');
      if (status === 416) {
        res.resume();
        // The server has nothing past `have`: the partial file is complete (verified below), or junk.
        if (opts.size !== undefined && have !== opts.size) {
          rmSync(part);
          throw new Error(`server refused to resume at byte ${have}; starting over`);
        }
      } else {
        if (/^text\/html/i.test(type) && !/\.html?$/i.test(dest)) {
          res.resume();
          throw new HttpError(`${url} returned an HTML page instead of ${name} (a login, quota or error page?); download it in a browser and place it at ${dest}`, url, status);
        }
        const length = res.headers['content-length'] !== undefined ? Number(res.headers['content-length']) : undefined;
        const resumed = status === 206 && new RegExp(`^bytes ${have}-`).test(String(res.headers['content-range'] ?? ''));
        if (status === 206 && !resumed) {
          res.resume();
          rmSync(part, { force: true });
          throw new Error(`server answered the resume request with an unexpected range (${res.headers['content-range']}); starting over`);
        }
        bar.setTotal(opts.size ?? (length !== undefined ? (resumed ? have : 0) + length : undefined));
        // Which URL the bytes of `part` come from, written with the first of them.
        writeFileSync(partUrl, url);
        await receive(response, part, resumed, length, bar, resumed ? have : 0, opts.minRate);
      }
      renameSync(part, dest);
      rmSync(partUrl, { force: true });
      bar.finish();
      await verify(dest, url, opts);
      return dest;
    } catch (e) {
      if (e instanceof HttpError || e instanceof ChecksumError) {
        if (!existsSync(part)) rmSync(partUrl, { force: true }); // nothing was received: no trace
        throw e;
      }
      lastError = e as Error;
    }
  }
  if (!existsSync(part)) rmSync(partUrl, { force: true });
  const kept = existsSync(part) ? statSync(part).size : 0;
  throw new Error(
    `downloading ${url} failed after ${retries + 1} attempt(s): ${lastError?.message}. ` +
      (kept ? `The ${kept} bytes received are kept in ${part}; call again to resume.` : 'Call again to retry.'),
  );
}

async function verify(dest: string, url: string, opts: DownloadOptions): Promise<void> {
  const size = statSync(dest).size;
  const algorithms = [...(opts.md5 ? ['md5' as const] : []), ...(opts.sha256 ? ['sha256' as const] : [])];
  const actual = algorithms.length ? await hashFile(dest, algorithms) : {};
  const wrongHash = algorithms.find((a) => actual[a] !== opts[a]!.toLowerCase());
  const sizeWrong = opts.size !== undefined && size !== opts.size;
  if (wrongHash || sizeWrong) {
    const algo = wrongHash ?? algorithms[0];
    const label = algo === 'sha256' ? 'SHA-256' : 'MD5';
    const got = algo ? actual[algo] : undefined;
    const aside = `${dest}.${algo === 'sha256' ? 'sha256' : 'md5'}-mismatch-${got ?? 'size'}`;
    renameSync(dest, aside);
    const want = algo ? opts[algo]! : '-';
    throw new ChecksumError(
      `${label} mismatch for ${dest} (from ${url}): expected ${want}${opts.size !== undefined ? ` / ${opts.size} bytes` : ''}, ` +
        `got ${got ?? '-'} / ${size} bytes. The file was kept as ${aside} and the next call downloads it again; ` +
        `if this repeats, the server or mirror serves a different file.`,
      dest, want === '-' ? '' : want, got ?? '', aside,
    );
  }
}

/** GETs a small resource into memory (FaceScrub images), with the same timeout and retry rules. */
export async function fetchBuffer(url: string, opts: FetchOptions & { maxBytes?: number } = {}): Promise<{ body: Buffer; contentType: string }> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const retries = opts.retries ?? 3;
  const maxBytes = opts.maxBytes ?? 50 * 1048576;
  let lastError: Error | undefined;
  for (let attempt = 0; attempt <= retries; attempt++) {
    if (attempt > 0) await sleep((opts.retryDelayMs ?? 1000) * 2 ** (attempt - 1));
    try {
      const response = await request(url, opts.headers ?? {}, timeoutMs);
      const { res } = response;
      const length = res.headers['content-length'] !== undefined ? Number(res.headers['content-length']) : undefined;
      const chunks: Buffer[] = [];
      let total = 0;
      await new Promise<void>((resolve, reject) => {
        let slow: Error | undefined;
        const guard = rateGuard(response.url, opts.minRate ?? DEFAULT_MIN_RATE, (e) => {
          slow = e;
          res.destroy(e);
        });
        res.on('close', () => guard.stop());
        res.on('data', (c: Buffer) => {
          total += c.length;
          guard.add(c.length);
          if (total > maxBytes) res.destroy(new Error(`larger than ${maxBytes} bytes`));
          else chunks.push(c);
        });
        const fail = (e: Error) => reject(slow ?? (response.timedOut() ? new Error(response.timedOut()) : e));
        res.on('aborted', () => fail(new Error('connection closed before the end of the response')));
        res.on('error', fail);
        res.on('end', () => (length !== undefined && total < length ? reject(new Error(`connection closed after ${total} of ${length} bytes`)) : resolve()));
      });
      return { body: Buffer.concat(chunks), contentType: String(res.headers['content-type'] ?? '') };
    } catch (e) {
      if (e instanceof HttpError) throw e;
      lastError = e as Error;
    }
  }
  throw new Error(`${url}: ${lastError?.message} (after ${retries + 1} attempt(s))`);
}
