// The Electron security policy under Node, Electron mocked: window options, the origins allowed for
// navigation, IPC and requests, the CSP, and the handlers hardenContents / hardenSession install on
// (fake) web contents and sessions. The IPC transport answers calls only from the app's origin and
// only after parseCall; File ▸ Open… opens every chosen path.
import { describe, expect, it, vi } from 'vitest';

const electron = vi.hoisted(() => ({
  handle: vi.fn(),
  showOpenDialog: vi.fn(),
  showErrorBox: vi.fn(),
}));
vi.mock('electron', () => ({
  ipcMain: { handle: electron.handle },
  dialog: { showOpenDialog: electron.showOpenDialog, showErrorBox: electron.showErrorBox },
  Menu: { buildFromTemplate: vi.fn(), setApplicationMenu: vi.fn() },
  protocol: { registerSchemesAsPrivileged: vi.fn(), handle: vi.fn() },
}));

import type { ApiHandlers } from '../shared/api';
import {
  allowedOrigins,
  APP_ORIGIN,
  cspHeader,
  hardenContents,
  hardenSession,
  isAllowedNavigation,
  isAllowedRequest,
  isTrustedSender,
  originOf,
  windowOptions,
} from './hardening';
import { answerCall, CALL_CHANNEL, wireIpc } from './ipc';
import { openFromDialog, OPEN_FILTERS } from './menu';
import { appFile } from './protocol';

const APP = [APP_ORIGIN];
const DEV = allowedOrigins('http://localhost:5173/');

describe('window options', () => {
  it('isolate the context, sandbox the renderer and keep Node out of it', () => {
    const w = windowOptions('/app/out/preload/index.cjs').webPreferences!;
    expect(w).toMatchObject({
      preload: '/app/out/preload/index.cjs',
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      navigateOnDragDrop: false,
    });
  });
});

describe('origins', () => {
  it('builds app:// origins by hand (Node says "null" for them)', () => {
    expect(new URL('app://lab/index.html').origin).toBe('null');
    expect(originOf('app://lab/index.html')).toBe('app://lab');
    expect(originOf('http://localhost:5173/x?y')).toBe('http://localhost:5173');
    expect(originOf('file:///etc/passwd')).toBeNull();
    expect(originOf('app://user:pw@lab/')).toBeNull();
    expect(originOf('not a url')).toBeNull();
    expect(DEV).toEqual(['app://lab', 'http://localhost:5173']);
    expect(allowedOrigins()).toEqual(['app://lab']);
  });

  it('allows navigation within the app only', () => {
    expect(isAllowedNavigation('app://lab/index.html#x', APP)).toBe(true);
    expect(isAllowedNavigation('app://evil/index.html', APP)).toBe(false);
    expect(isAllowedNavigation('https://example.com/', APP)).toBe(false);
    expect(isAllowedNavigation('file:///home/u/trace.jsonl', APP)).toBe(false);
    expect(isAllowedNavigation('javascript:alert(1)', APP)).toBe(false);
    expect(isAllowedNavigation('http://localhost:5173/', APP)).toBe(false);
    expect(isAllowedNavigation('http://localhost:5173/', DEV)).toBe(true);
  });

  it('takes IPC only from a frame of the app', () => {
    expect(isTrustedSender('app://lab/index.html', APP)).toBe(true);
    expect(isTrustedSender('https://example.com/', APP)).toBe(false);
    expect(isTrustedSender(null, APP)).toBe(false);
    expect(isTrustedSender(undefined, APP)).toBe(false);
  });

  it('lets no remote request through', () => {
    expect(isAllowedRequest('app://lab/assets/index.js', APP)).toBe(true);
    expect(isAllowedRequest('data:image/png;base64,AAAA', APP)).toBe(true);
    expect(isAllowedRequest('blob:app://lab/1234-5678', APP)).toBe(true);
    expect(isAllowedRequest('blob:https://example.com/1234', APP)).toBe(false);
    expect(isAllowedRequest('https://example.com/font.woff2', APP)).toBe(false);
    expect(isAllowedRequest('file:///etc/passwd', APP)).toBe(false);
    expect(isAllowedRequest('ws://localhost:5173/', APP)).toBe(false);
    expect(isAllowedRequest('ws://localhost:5173/', DEV)).toBe(true);
  });
});

describe('content security policy', () => {
  const csp = new Map(
    cspHeader()
      .split('; ')
      .map((d) => {
        const [k, ...v] = d.split(' ');
        return [k!, v] as const;
      }),
  );
  it('loads scripts and connects only to the app, without eval', () => {
    expect(csp.get('default-src')).toEqual(["'self'"]);
    expect(csp.get('script-src')).toEqual(["'self'"]);
    expect(csp.get('connect-src')).toEqual(["'self'"]);
    expect(csp.get('object-src')).toEqual(["'none'"]);
    expect(csp.get('frame-ancestors')).toEqual(["'none'"]);
    expect(cspHeader()).not.toMatch(/unsafe-eval|https?:|\*/);
  });
});

/** A fake WebContents recording its listeners. */
function fakeContents() {
  const on = new Map<string, (e: { preventDefault: () => void }, url?: string) => void>();
  let openHandler: ((d: { url: string }) => unknown) | null = null;
  const contents = {
    on: (ev: string, fn: (e: { preventDefault: () => void }, url?: string) => void) => on.set(ev, fn),
    setWindowOpenHandler: (fn: (d: { url: string }) => unknown) => (openHandler = fn),
  };
  const fire = (ev: string, url?: string): boolean => {
    let prevented = false;
    on.get(ev)!({ preventDefault: () => (prevented = true) }, url);
    return prevented;
  };
  return { contents, fire, open: (url: string) => openHandler!({ url }) };
}

describe('hardenContents', () => {
  it('prevents navigation and redirects away, denies new windows and webviews', () => {
    const f = fakeContents();
    hardenContents(f.contents as never, APP);
    expect(f.fire('will-navigate', 'https://example.com/')).toBe(true);
    expect(f.fire('will-navigate', 'app://lab/index.html')).toBe(false);
    expect(f.fire('will-redirect', 'http://127.0.0.1:8080/')).toBe(true);
    expect(f.fire('will-attach-webview')).toBe(true);
    expect(f.open('https://example.com/')).toEqual({ action: 'deny' });
    expect(f.open('app://lab/index.html')).toEqual({ action: 'deny' });
  });
});

describe('hardenSession', () => {
  it('denies every permission and cancels requests outside the app', () => {
    let request: ((c: unknown, p: string, cb: (ok: boolean) => void) => void) | null = null;
    let check: (() => boolean) | null = null;
    let before: ((d: { url: string }, cb: (r: { cancel: boolean }) => void) => void) | null = null;
    hardenSession(
      {
        setPermissionRequestHandler: (fn: typeof request) => (request = fn),
        setPermissionCheckHandler: (fn: typeof check) => (check = fn),
        webRequest: { onBeforeRequest: (fn: typeof before) => (before = fn) },
      } as never,
      APP,
    );
    const granted: boolean[] = [];
    request!(null, 'media', (ok) => granted.push(ok));
    request!(null, 'notifications', (ok) => granted.push(ok));
    expect(granted).toEqual([false, false]);
    expect(check!()).toBe(false);
    const verdicts: boolean[] = [];
    before!({ url: 'https://example.com/x.js' }, (r) => verdicts.push(r.cancel));
    before!({ url: 'app://lab/assets/x.js' }, (r) => verdicts.push(r.cancel));
    expect(verdicts).toEqual([true, false]);
  });
});

describe('IPC', () => {
  const handlers = { hello: vi.fn(() => ({ ok: 1 })) } as unknown as ApiHandlers;

  it('answers a valid call from the app', async () => {
    expect(await answerCall(handlers, APP, 'app://lab/index.html', 'hello', {})).toEqual({
      ok: true,
      result: { ok: 1 },
    });
  });

  it('refuses other origins before parsing, then unknown methods and bad params', async () => {
    const hello = handlers.hello as unknown as ReturnType<typeof vi.fn>;
    hello.mockClear();
    expect(await answerCall(handlers, APP, 'https://example.com/', 'hello', {})).toMatchObject({
      ok: false,
      code: 'EINVAL',
      message: 'call from an unexpected origin (https://example.com/)',
    });
    expect(await answerCall(handlers, APP, null, 'hello', {})).toMatchObject({ ok: false, code: 'EINVAL' });
    expect(await answerCall(handlers, APP, 'app://lab/', 'rm -rf', {})).toMatchObject({
      ok: false,
      code: 'ENOSYS',
    });
    expect(await answerCall(handlers, APP, 'app://lab/', 'hello', { extra: 1 })).toMatchObject({
      ok: false,
      code: 'EINVAL',
    });
    expect(await answerCall(handlers, APP, 'app://lab/', 'cancelTask', { task: '' })).toMatchObject({
      ok: false,
      code: 'EINVAL',
      message: expect.stringMatching(/^cancelTask: invalid params at task/),
    });
    expect(hello).not.toHaveBeenCalled();
  });

  it('wires one channel whose handler checks the sender frame', async () => {
    wireIpc(handlers, APP);
    const [channel, fn] = electron.handle.mock.calls.at(-1)!;
    expect(channel).toBe(CALL_CHANNEL);
    expect(await fn({ senderFrame: { url: 'https://example.com/' } }, 'hello', {})).toMatchObject({
      ok: false,
    });
    expect(await fn({ senderFrame: null }, 'hello', {})).toMatchObject({ ok: false });
    expect(await fn({ senderFrame: { url: 'app://lab/index.html' } }, 'hello', {})).toMatchObject({
      ok: true,
    });
  });
});

describe('app:// files', () => {
  it('serves files under the renderer folder only', () => {
    expect(appFile('/r/', 'app://lab/')).toBe('/r/index.html');
    expect(appFile('/r/', 'app://lab/assets/a.js')).toBe('/r/assets/a.js');
    // the URL parser folds dot segments; escaped slashes survive it and are caught after decoding
    expect(appFile('/r/', 'app://lab/%2e%2e/%2e%2e/etc/passwd')).toBe('/r/etc/passwd');
    expect(appFile('/r/', 'app://lab/..%2f..%2fetc%2fpasswd')).toBeNull();
    expect(appFile('/r/', 'app://other/index.html')).toBeNull();
    expect(appFile('/r/', 'app://lab/%E0%A4%A')).toBeNull();
  });
});

describe('File ▸ Open…', () => {
  it('offers a filter per kind and opens each chosen path, showing failures but not cancels', async () => {
    expect(OPEN_FILTERS.map((f) => f.name)).toContain('Analyzer CSV exports');
    electron.showOpenDialog.mockResolvedValueOnce({
      canceled: false,
      filePaths: ['/a.json', '/b.log', '/c.log'],
    });
    const opened: string[] = [];
    await openFromDialog(null, async (p) => {
      opened.push(p);
      if (p === '/b.log') throw Object.assign(new Error('/b.log: bad'), { code: 'EINVAL' });
      if (p === '/c.log') throw Object.assign(new Error('cancelled'), { code: 'ECANCELED' });
    });
    expect(opened).toEqual(['/a.json', '/b.log', '/c.log']);
    expect(electron.showErrorBox.mock.calls).toEqual([['Cannot open file', '/b.log: bad']]);
    expect(electron.showOpenDialog.mock.calls[0]![0]).toMatchObject({
      properties: ['openFile', 'multiSelections'],
    });
  });
});
