/**
 * A tiny file server on 127.0.0.1 for the downloader tests (never the internet): Range support,
 * scripted failures (HTTP status, a cut connection, a stall), and a log of every request.
 */
import * as http from 'http';
import type { AddressInfo } from 'net';

export interface Route {
  body: Buffer;
  type?: string;
  status?: number;
  /** For this many requests, send the headers for the whole body but only `cutAfter` bytes, then drop the connection. */
  cutTimes?: number;
  cutAfter?: number;
  /** For this many requests, send part of the body and then nothing (the client must time out). */
  stallTimes?: number;
  /** Send the body one byte every this many ms (never idle long enough for the idle timeout). */
  trickleMs?: number;
}

/** A tiny file server with Range support and scripted failures; `log` records every request. */
export class LocalServer {
  readonly routes = new Map<string, Route>();
  readonly log: { path: string; range?: string }[] = [];
  private server = http.createServer((req, res) => this.handle(req, res));
  private base = '';

  async start(): Promise<this> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.base = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }
  url(path: string): string {
    return this.base + path;
  }
  requests(path: string): number {
    return this.log.filter((l) => l.path === path).length;
  }
  close(): void {
    this.server.closeAllConnections();
    this.server.close();
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const path = req.url ?? '/';
    this.log.push({ path, range: req.headers.range });
    const route = this.routes.get(path);
    if (!route) {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found');
      return;
    }
    if (route.status) {
      res.writeHead(route.status, { 'Content-Type': 'text/plain' }).end(`status ${route.status}`);
      return;
    }
    const total = route.body.length;
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const start = m ? Number(m[1]) : 0;
    if (m && start >= total) {
      res.writeHead(416, { 'Content-Range': `bytes */${total}` }).end();
      return;
    }
    const body = route.body.subarray(start);
    const headers: http.OutgoingHttpHeaders = { 'Content-Type': route.type ?? 'application/octet-stream', 'Content-Length': body.length, 'Accept-Ranges': 'bytes' };
    if (m) headers['Content-Range'] = `bytes ${start}-${total - 1}/${total}`;
    res.writeHead(m ? 206 : 200, headers);
    if (route.stallTimes) {
      route.stallTimes--;
      res.write(body.subarray(0, Math.min(1000, body.length)));
      return; // never ends; closeAllConnections() cleans up
    }
    if (route.trickleMs) {
      let i = 0;
      const t = setInterval(() => {
        if (res.destroyed || i >= body.length) {
          clearInterval(t);
          if (!res.destroyed) res.end();
          return;
        }
        res.write(body.subarray(i, ++i));
      }, route.trickleMs);
      res.on('close', () => clearInterval(t));
      return;
    }
    if (route.cutTimes) {
      route.cutTimes--;
      // end(), not destroy(): a TCP reset could drop bytes already sent, making the cut point random.
      res.write(body.subarray(0, route.cutAfter ?? Math.floor(body.length / 2)), () => res.socket?.end());
      return;
    }
    res.end(body);
  }
}

