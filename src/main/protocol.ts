// The privileged app:// scheme that serves the built renderer in Electron (file:// cannot be
// cross-origin isolated): only files under the renderer folder, read from disk here (never fetched),
// with the isolation headers of the web host and the app's strict CSP (hardening.ts cspHeader).
import { protocol } from 'electron';
import { readFile, stat } from 'node:fs/promises';
import { join, normalize, sep } from 'node:path';
import { ISOLATION_HEADERS } from '../host/headers';
import { mimeOf } from '../host/mime';
import { APP_ORIGIN, cspHeader } from './hardening';

/** Must run before app 'ready'. */
export function registerAppScheme(): void {
  protocol.registerSchemesAsPrivileged([
    { scheme: 'app', privileges: { standard: true, secure: true, supportFetchAPI: true, stream: true } },
  ]);
}

/** The file under `root` (ending with the separator) that an app:// URL names, or null. */
export function appFile(root: string, url: string): string | null {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return null;
  }
  if (`${u.protocol}//${u.host}` !== APP_ORIGIN) return null;
  let rel: string;
  try {
    rel = decodeURIComponent(u.pathname === '/' ? '/index.html' : u.pathname);
  } catch {
    return null;
  }
  const file = normalize(join(root, rel));
  return file.startsWith(root) ? file : null;
}

export function handleAppScheme(rendererDir: string): void {
  const root = normalize(rendererDir + sep);
  protocol.handle('app', async (request) => {
    const file = appFile(root, request.url);
    if (!file) return new Response('forbidden', { status: 403 });
    const info = await stat(file).catch(() => null);
    if (!info?.isFile()) return new Response('not found', { status: 404 });
    const headers = new Headers({
      ...ISOLATION_HEADERS,
      'Content-Type': mimeOf(file),
      'Content-Security-Policy': cspHeader(),
      'Cache-Control': 'no-store',
    });
    return new Response(new Uint8Array(await readFile(file)), { status: 200, headers });
  });
}
