// The app's PDF export with Electron mocked: the report is loaded into a hidden, sandboxed window with
// JavaScript off, in a session that refuses every request but the page, printed on A4, and the window is
// destroyed afterwards, even when printing fails; a page past Chromium's 2 MiB URL limit goes through a
// temporary file that is removed afterwards.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeEach, describe, expect, it, vi } from 'vitest';

const m = vi.hoisted(() => ({
  windows: [] as {
    options: Record<string, unknown>;
    loaded: string[];
    destroyed: boolean;
    printOptions: unknown;
    failPrint: boolean;
  }[],
  failNext: false,
  beforeRequest: null as null | ((d: { url: string }, cb: (r: { cancel: boolean }) => void) => void),
  permission: null as null | ((wc: unknown, p: string, cb: (ok: boolean) => void) => void),
  partitions: [] as string[],
}));

vi.mock('electron', () => {
  const ses = {
    webRequest: { onBeforeRequest: (fn: typeof m.beforeRequest) => (m.beforeRequest = fn) },
    setPermissionRequestHandler: (fn: typeof m.permission) => (m.permission = fn),
    setPermissionCheckHandler: () => undefined,
  };
  class BrowserWindow {
    private readonly rec;
    webContents;
    constructor(options: Record<string, unknown>) {
      this.rec = {
        options,
        loaded: [] as string[],
        destroyed: false,
        printOptions: null as unknown,
        failPrint: m.failNext,
      };
      m.windows.push(this.rec);
      const rec = this.rec;
      this.webContents = {
        on: () => undefined,
        setWindowOpenHandler: () => undefined,
        printToPDF: async (o: unknown) => {
          rec.printOptions = o;
          if (rec.failPrint) throw new Error('printing failed');
          return Buffer.from('%PDF-1.7 mock');
        },
      };
    }
    async loadURL(url: string): Promise<void> {
      this.rec.loaded.push(url);
      // the page must be readable while it loads
      if (url.startsWith('file:')) expect(existsSync(fileURLToPath(url))).toBe(true);
    }
    isDestroyed(): boolean {
      return this.rec.destroyed;
    }
    destroy(): void {
      this.rec.destroyed = true;
    }
  }
  return {
    BrowserWindow,
    session: {
      fromPartition: (p: string) => {
        m.partitions.push(p);
        return ses;
      },
    },
  };
});

const { electronPdfMaker, PDF_PARTITION } = await import('./pdf');

beforeEach(() => {
  m.windows.length = 0;
  m.failNext = false;
});

describe('electronPdfMaker', () => {
  it('prints the page from a data: URL in a hidden sandboxed window without JavaScript', async () => {
    const html = '<!doctype html><title>r</title><p>é — 0x3e300000</p>';
    const pdf = await electronPdfMaker()(html);
    expect(new TextDecoder().decode(pdf)).toBe('%PDF-1.7 mock');
    expect(m.windows).toHaveLength(1);
    const w = m.windows[0]!;
    expect(w.options).toMatchObject({
      show: false,
      webPreferences: { javascript: false, sandbox: true, contextIsolation: true, nodeIntegration: false },
    });
    expect(m.partitions.every((p) => p === PDF_PARTITION && !p.startsWith('persist:'))).toBe(true);
    expect(w.loaded).toHaveLength(1);
    const url = w.loaded[0]!;
    expect(url.startsWith('data:text/html;charset=utf-8;base64,')).toBe(true);
    expect(Buffer.from(url.slice(url.indexOf(',') + 1), 'base64').toString('utf8')).toBe(html);
    expect(w.printOptions).toMatchObject({ pageSize: 'A4', printBackground: true });
    expect(w.destroyed).toBe(true);
  });

  it('refuses every request but the page, and every permission', async () => {
    await electronPdfMaker()('<p>x</p>');
    const answer = (url: string): boolean => {
      let cancel = false;
      m.beforeRequest!({ url }, (r) => (cancel = r.cancel));
      return cancel;
    };
    expect(answer('https://example.com/x.png')).toBe(true);
    expect(answer('http://127.0.0.1:8080/')).toBe(true);
    expect(answer('file:///etc/passwd')).toBe(true);
    expect(answer('data:text/html,<p>x</p>')).toBe(false);
    let granted = true;
    m.permission!(null, 'media', (ok) => (granted = ok));
    expect(granted).toBe(false);
  });

  it('goes through a temporary file past the URL limit, and removes it', async () => {
    const html = `<p>${'x'.repeat(2 * 1024 * 1024)}</p>`;
    await electronPdfMaker()(html);
    const url = m.windows[0]!.loaded[0]!;
    expect(url.startsWith('file:')).toBe(true);
    expect(existsSync(fileURLToPath(url))).toBe(false);
    // while it printed, the file was allowed; now it is refused again
    let cancel = false;
    m.beforeRequest!({ url }, (r) => (cancel = r.cancel));
    expect(cancel).toBe(true);
  });

  it('destroys the window when printing fails', async () => {
    m.failNext = true;
    await expect(electronPdfMaker()('<p>x</p>')).rejects.toThrow('printing failed');
    expect(m.windows[0]!.destroyed).toBe(true);
  });
});
