// The local web host behind `iommu-lab serve`: serves the built renderer over HTTP on 127.0.0.1 and
// carries the API (src/shared/api.ts) over a WebSocket in msgpackr frames.
//
// Security: binds to loopback only; every URL carries a random token as its first path segment
// (http://127.0.0.1:PORT/TOKEN/), and requests without it get 403. The Host header must name the
// loopback address (no DNS rebinding) and a WebSocket's Origin must be this server. Every response
// sends COOP same-origin + COEP require-corp, so the page is cross-origin isolated and may use
// SharedArrayBuffer.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { join, normalize, sep } from 'node:path';
import type { Duplex } from 'node:stream';
import { Packr } from 'msgpackr';
import { WebSocketServer, type WebSocket } from 'ws';
import { CONTENT_SECURITY_POLICY, ISOLATION_HEADERS } from './headers';
import { ApiError, parseCall, type ApiHandlers, type EventName, type WireFrame } from '../shared/api';
import { mimeOf } from './mime';

export const MAX_FRAME_BYTES = 1 << 30;

export interface WebHostOptions {
  /** folder with the built renderer (index.html and assets/) */
  rendererDir: string;
  port: number;
  handlers: ApiHandlers;
  /** fixed token for tests; random otherwise */
  token?: string;
  log?: (line: string) => void;
}

export interface WebHost {
  url: string;
  port: number;
  token: string;
  /** sends an event to every connected renderer */
  broadcast(event: EventName, payload: unknown): void;
  close(): Promise<void>;
}

const packr = new Packr({ useRecords: false, moreTypes: true });

export async function startWebHost(opts: WebHostOptions): Promise<WebHost> {
  const token = opts.token ?? randomBytes(16).toString('hex');
  const tokenBuf = Buffer.from(token);
  let port = opts.port;
  const sockets = new Set<WebSocket>();
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES });

  const hasToken = (url: string): string | null => {
    // "/TOKEN/rest" → "/rest"; anything else → null
    const m = /^\/([^/?#]+)(\/[^?#]*)?(?:[?#].*)?$/.exec(url);
    if (!m) return null;
    const given = Buffer.from(m[1]!);
    if (given.length !== tokenBuf.length || !timingSafeEqual(given, tokenBuf)) return null;
    return m[2] ?? '';
  };
  const hostOk = (req: IncomingMessage): boolean =>
    req.headers.host === `127.0.0.1:${port}` || req.headers.host === `localhost:${port}`;

  const server: Server = createServer((req, res) => {
    void serveStatic(req, res).catch((e) => {
      opts.log?.(`web host: ${(e as Error).message}`);
      if (!res.headersSent) send(res, 500, 'internal error');
    });
  });

  async function serveStatic(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!hostOk(req)) return send(res, 403, 'forbidden: wrong Host header');
    const rest = hasToken(req.url ?? '');
    if (rest === null)
      return send(
        res,
        403,
        'forbidden: this lab needs the URL with its token, as printed by `iommu-lab serve`',
      );
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'method not allowed');
    if (rest === '') {
      res.writeHead(308, { ...ISOLATION_HEADERS, Location: `/${token}/` });
      res.end();
      return;
    }
    let rel: string;
    try {
      rel = decodeURIComponent(rest === '/' ? '/index.html' : rest);
    } catch {
      return send(res, 400, 'bad URL encoding');
    }
    const file = normalize(join(opts.rendererDir, rel));
    if (!file.startsWith(normalize(opts.rendererDir + sep))) return send(res, 403, 'forbidden');
    const info = await stat(file).catch(() => null);
    if (!info?.isFile()) return send(res, 404, 'not found');
    const body = await readFile(file);
    res.writeHead(200, {
      ...ISOLATION_HEADERS,
      'Content-Type': mimeOf(file),
      'Content-Length': body.byteLength,
      'Content-Security-Policy': CONTENT_SECURITY_POLICY,
      'Cache-Control': 'no-store',
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  }

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const rest = hasToken(req.url ?? '');
    const origin = req.headers.origin;
    const originOk = origin === `http://127.0.0.1:${port}` || origin === `http://localhost:${port}`;
    if (!hostOk(req) || rest !== '/ws' || !originOk) {
      socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      sockets.add(ws);
      ws.on('close', () => sockets.delete(ws));
      ws.on('message', (data: Buffer, isBinary: boolean) => void onMessage(ws, data, isBinary));
    });
  });

  async function onMessage(ws: WebSocket, data: Buffer, isBinary: boolean): Promise<void> {
    let frame: WireFrame;
    try {
      if (!isBinary) throw new Error('text frame');
      frame = packr.unpack(data) as WireFrame;
    } catch {
      ws.close(1003, 'expected msgpackr binary frames');
      return;
    }
    if (!frame || frame.t !== 'call' || typeof frame.id !== 'number') {
      ws.close(1002, 'expected a call frame');
      return;
    }
    let reply: WireFrame;
    try {
      const { method, params } = parseCall(frame.method, frame.params);
      const handler = opts.handlers[method] as (p: unknown) => unknown;
      reply = { t: 'result', id: frame.id, result: await handler(params) };
    } catch (e) {
      reply =
        e instanceof ApiError
          ? { t: 'error', id: frame.id, code: e.code, message: e.message }
          : { t: 'error', id: frame.id, code: 'EIO', message: (e as Error).message };
    }
    if (ws.readyState === ws.OPEN) ws.send(packr.pack(reply));
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address();
  port = typeof addr === 'object' && addr ? addr.port : opts.port;

  return {
    url: `http://127.0.0.1:${port}/${token}/`,
    port,
    token,
    broadcast(event, payload) {
      const bytes = packr.pack({ t: 'event', event, payload } satisfies WireFrame);
      for (const ws of sockets) if (ws.readyState === ws.OPEN) ws.send(bytes);
    },
    async close() {
      for (const ws of sockets) ws.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

function send(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { ...ISOLATION_HEADERS, 'Content-Type': 'text/plain; charset=utf-8' });
  res.end(text + '\n');
}
