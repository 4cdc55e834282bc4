// The Content-Type of a built renderer file by its extension: what the web host (web-host.ts) and the
// Electron app:// scheme (src/main/protocol.ts) both serve.
import { extname } from 'node:path';

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.wasm': 'application/wasm',
};

export function mimeOf(file: string): string {
  return MIME[extname(file)] ?? 'application/octet-stream';
}
