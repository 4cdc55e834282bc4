// The Electron security policy, as small functions the main process applies (docs/security.md):
// - windowOptions: contextIsolation, the sandbox, no Node integration anywhere, webSecurity, no
//   <webview>, no insecure content; the preload is the only bridge;
// - the page's own origin is app://lab (or the electron-vite dev server in development): navigation and
//   redirects elsewhere are prevented, new windows denied (links are not opened outside either),
//   <webview> attachment prevented, and IPC from any other frame refused (isTrustedSender);
// - every permission request (camera, notifications, …) is denied, and requests for anything but the
//   app's own resources (data:/blob: included) are cancelled: no remote content is ever loaded;
// - cspHeader: the content security policy of the app:// pages (no eval, scripts from the app only,
//   no connections but to the app itself).
// Only type imports from Electron here, so the policy is tested under Node (src/main/hardening.test.ts).
import type { BrowserWindowConstructorOptions, Session, WebContents } from 'electron';

export const APP_ORIGIN = 'app://lab';

/** The origins the window may show and take calls from: the app, and the dev server when given. */
export function allowedOrigins(devUrl?: string): string[] {
  const dev = devUrl ? originOf(devUrl) : null;
  return dev && dev !== APP_ORIGIN ? [APP_ORIGIN, dev] : [APP_ORIGIN];
}

/**
 * A URL's origin as "scheme://host[:port]" for http(s) and the app scheme, else null. (Node's URL gives
 * "null" as the origin of non-special schemes such as app:, so it is built from the parts.)
 */
export function originOf(url: string): string | null {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return null;
  }
  if (u.protocol === 'http:' || u.protocol === 'https:') return u.origin;
  if (u.protocol === 'app:' && u.host !== '' && u.username === '' && u.password === '')
    return `app://${u.host}`;
  return null;
}

/** Navigation (and redirects) only within the app's own origin. */
export function isAllowedNavigation(url: string, allowed: readonly string[]): boolean {
  const o = originOf(url);
  return o !== null && allowed.includes(o);
}

/** IPC calls only from a frame showing the app's own origin. */
export function isTrustedSender(frameUrl: string | null | undefined, allowed: readonly string[]): boolean {
  return typeof frameUrl === 'string' && isAllowedNavigation(frameUrl, allowed);
}

/**
 * Which requests the window's session lets through: the app's own origin (and, in development, the dev
 * server's, its WebSocket for hot reload included), data: and blob: URLs the page makes itself, and
 * devtools. Everything else (remote http(s), file:, other schemes) is cancelled.
 */
export function isAllowedRequest(url: string, allowed: readonly string[]): boolean {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  if (u.protocol === 'data:' || u.protocol === 'devtools:') return true;
  if (u.protocol === 'blob:') return isAllowedRequest(url.slice('blob:'.length), allowed);
  if (u.protocol === 'ws:' || u.protocol === 'wss:') {
    const http = `${u.protocol === 'ws:' ? 'http:' : 'https:'}//${u.host}`;
    return allowed.includes(http);
  }
  return isAllowedNavigation(url, allowed);
}

/** The content security policy of the app:// pages. */
export function cspHeader(): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    // Svelte sets style attributes; no style is loaded from elsewhere
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self'",
    "connect-src 'self'",
    "worker-src 'self'",
    "object-src 'none'",
    "frame-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** The BrowserWindow options of the lab's window. */
export function windowOptions(preload: string): BrowserWindowConstructorOptions {
  return {
    width: 1400,
    height: 900,
    title: 'IOMMU Lab',
    show: false,
    webPreferences: {
      preload,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      experimentalFeatures: false,
      navigateOnDragDrop: false,
      safeDialogs: true,
      spellcheck: false,
    },
  };
}

/** Window contents: no navigation or redirect away from the app, no new windows, no <webview>. */
export function hardenContents(contents: WebContents, allowed: readonly string[]): void {
  contents.on('will-navigate', (e, url) => {
    if (!isAllowedNavigation(url, allowed)) e.preventDefault();
  });
  contents.on('will-redirect', (e, url) => {
    if (!isAllowedNavigation(url, allowed)) e.preventDefault();
  });
  contents.on('will-attach-webview', (e) => e.preventDefault());
  contents.setWindowOpenHandler(() => ({ action: 'deny' }));
}

/** The session: every permission denied, every request outside the app cancelled. */
export function hardenSession(session: Session, allowed: readonly string[]): void {
  session.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  session.setPermissionCheckHandler(() => false);
  session.webRequest.onBeforeRequest((details, callback) =>
    callback({ cancel: !isAllowedRequest(details.url, allowed) }),
  );
}
