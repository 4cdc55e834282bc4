// Electron main process: one window, the app:// scheme, menus, dialogs and IPC wiring. The lab
// itself (session, engine) is src/host and below; nothing here computes. The security policy
// (hardening.ts, docs/security.md) applies to every web contents and to the default session.
import { app, BrowserWindow, session as electronSession } from 'electron';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Session } from '../host/session';
import { steadyJit } from '../host/steady-jit';
import { allowedOrigins, APP_ORIGIN, hardenContents, hardenSession, windowOptions } from './hardening';
import { sendEvent, wireIpc } from './ipc';
import { installMenu } from './menu';
import { electronPdfMaker } from './pdf';
import { handleAppScheme, registerAppScheme } from './protocol';

const outDir = fileURLToPath(new URL('..', import.meta.url)); // out/
const devUrl = process.env['ELECTRON_RENDERER_URL'];
const allowed = allowedOrigins(devUrl);
let win: BrowserWindow | null = null;

registerAppScheme();
steadyJit();
app.enableSandbox();

const session = new Session(
  'electron',
  (event, payload) => sendEvent(win?.webContents ?? null, event, payload),
  { pdf: electronPdfMaker() },
);

function createWindow(): void {
  win = new BrowserWindow(windowOptions(join(outDir, 'preload', 'index.cjs')));
  win.once('ready-to-show', () => win?.show());
  win.on('closed', () => (win = null));
  void win.loadURL(devUrl ?? `${APP_ORIGIN}/index.html`);
}

// every web contents, the lab's window and any other: no navigation away, no new window, no <webview>
app.on('web-contents-created', (_e, contents) => hardenContents(contents, allowed));

void app.whenReady().then(async () => {
  hardenSession(electronSession.defaultSession, allowed);
  handleAppScheme(join(outDir, 'renderer'));
  wireIpc(session.handlers, allowed);
  installMenu(
    () => win,
    async (p) => {
      await session.openUserPath(p);
    },
  );
  for (const arg of process.argv.slice(app.isPackaged ? 1 : 2)) {
    if (!arg.startsWith('-')) await session.openPath(arg).catch(() => undefined);
  }
  createWindow();
  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) createWindow();
  });
});

app.on('window-all-closed', () => {
  session.dispose();
  if (process.platform !== 'darwin') app.quit();
});
