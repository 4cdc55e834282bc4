// PDF export in the app (docs/report.md, "PDF"): the session's PdfMaker (src/host/session-reports.ts)
// through Electron's printToPDF. The report's print HTML is self-contained (inline CSS and SVG, no
// script, CSP default-src 'none'); it is loaded into a hidden, sandboxed window with JavaScript off, in
// an in-memory session of its own that refuses every request but the page itself and every permission,
// and printed on A4. The page comes from a data: URL, or, past Chromium's 2 MiB URL limit, from a file
// in a private temporary directory removed afterwards. Nothing goes to the network.
import { BrowserWindow, session as electronSession, type Session } from 'electron';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { PdfMaker } from '../host/session-reports';

/** The in-memory session (no `persist:` prefix) the PDF windows use. */
export const PDF_PARTITION = 'iommu-lab-pdf';
/** Chromium refuses URLs longer than 2 MiB. */
const MAX_URL_CHARS = 2 * 1024 * 1024;

let locked: Session | null = null;
/** the file: URLs of the pages being printed */
const allowed = new Set<string>();

/** The PDF windows' session: every request refused except the page itself (data: or its one file). */
function pdfSession(): Session {
  const ses = electronSession.fromPartition(PDF_PARTITION, { cache: false });
  if (locked !== ses) {
    ses.webRequest.onBeforeRequest((details, callback) => {
      callback({ cancel: !(details.url.startsWith('data:') || allowed.has(details.url)) });
    });
    ses.setPermissionRequestHandler((_wc, _permission, callback) => callback(false));
    ses.setPermissionCheckHandler(() => false);
    locked = ses;
  }
  return ses;
}

/** The URL to load `html` from: a data: URL when short enough, else a temporary file (and its cleanup). */
export async function pageUrl(html: string): Promise<{ url: string; cleanup: () => Promise<void> }> {
  const data = `data:text/html;charset=utf-8;base64,${Buffer.from(html, 'utf8').toString('base64')}`;
  if (data.length <= MAX_URL_CHARS) return { url: data, cleanup: async () => {} };
  const dir = await mkdtemp(join(tmpdir(), 'iommu-lab-pdf-'));
  const file = join(dir, 'report.html');
  await writeFile(file, html, { mode: 0o600 });
  return { url: pathToFileURL(file).href, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Prints report HTML to PDF bytes in a hidden, sandboxed window with JavaScript disabled. */
export function electronPdfMaker(): PdfMaker {
  return async (html) => {
    const page = await pageUrl(html);
    allowed.add(page.url);
    const win = new BrowserWindow({
      show: false,
      width: 794, // A4 at 96 dpi
      height: 1123,
      webPreferences: {
        session: pdfSession(),
        javascript: false,
        sandbox: true,
        contextIsolation: true,
        nodeIntegration: false,
        webSecurity: true,
        webviewTag: false,
        spellcheck: false,
        images: true,
      },
    });
    try {
      win.webContents.on('will-navigate', (e) => e.preventDefault());
      win.webContents.setWindowOpenHandler(() => ({ action: 'deny' }));
      await win.loadURL(page.url);
      const pdf = await win.webContents.printToPDF({
        pageSize: 'A4',
        printBackground: true,
        displayHeaderFooter: false,
      });
      return new Uint8Array(pdf.buffer, pdf.byteOffset, pdf.byteLength);
    } finally {
      allowed.delete(page.url);
      if (!win.isDestroyed()) win.destroy();
      await page.cleanup();
    }
  };
}
