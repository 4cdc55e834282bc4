// The privileged app:// scheme that serves the built renderer in Electron, with the same isolation
// headers and CSP as the web host (file:// cannot be cross-origin isolated).
import { net, protocol } from 'electron';
import { normalize, join, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CONTENT_SECURITY_POLICY, ISOLATION_HEADERS } from '../host/headers';

export const APP_ORIGIN = 'app://lab';

/** Must run before app 'ready'. */
export function registerAppScheme(): void {
  protocol.registerSchemesAsPrivileged([
    { scheme: 'app', privileges: { standard: true, secure: true, supportFetchAPI: true, stream: true } },
  ]);
}

export function handleAppScheme(rendererDir: string): void {
  const root = normalize(rendererDir + sep);
  protocol.handle('app', async (request) => {
    const url = new URL(request.url);
    if (url.host !== 'lab') return new Response('not found', { status: 404 });
    const rel = decodeURIComponent(url.pathname === '/' ? '/index.html' : url.pathname);
    const file = normalize(join(root, rel));
    if (!file.startsWith(root)) return new Response('forbidden', { status: 403 });
    const upstream = await net.fetch(pathToFileURL(file).toString());
    const headers = new Headers(upstream.headers);
    for (const [k, v] of Object.entries(ISOLATION_HEADERS)) headers.set(k, v);
    headers.set('Content-Security-Policy', CONTENT_SECURITY_POLICY);
    return new Response(upstream.body, { status: upstream.status, headers });
  });
}
