// Electron main process: one window, the app:// scheme, menus, dialogs and IPC wiring. The lab
// itself (session, engine) is src/host and below; nothing here computes.
import { app, BrowserWindow, shell } from 'electron';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Session } from '../host/session';
import { sendEvent, wireIpc } from './ipc';
import { installMenu } from './menu';
import { APP_ORIGIN, handleAppScheme, registerAppScheme } from './protocol';

const outDir = fileURLToPath(new URL('..', import.meta.url)); // out/
const devUrl = process.env['ELECTRON_RENDERER_URL'];
let win: BrowserWindow | null = null;

registerAppScheme();
app.enableSandbox();

const session = new Session('electron', (event, payload) =>
  sendEvent(win?.webContents ?? null, event, payload),
);

function createWindow(): void {
  win = new BrowserWindow({
    width: 1400,
    height: 900,
    title: 'IOMMU Lab',
    show: false,
    webPreferences: {
      preload: join(outDir, 'preload', 'index.cjs'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
      spellcheck: false,
    },
  });
  win.once('ready-to-show', () => win?.show());
  win.on('closed', () => (win = null));
  const allowed = devUrl ? new URL(devUrl).origin : APP_ORIGIN;
  win.webContents.on('will-navigate', (e, url) => {
    if (new URL(url).origin !== allowed) e.preventDefault();
  });
  win.webContents.setWindowOpenHandler(({ url }) => {
    if (url.startsWith('https://')) void shell.openExternal(url);
    return { action: 'deny' };
  });
  void win.loadURL(devUrl ?? `${APP_ORIGIN}/index.html`);
}

app.on('web-contents-created', (_e, contents) => {
  contents.on('will-attach-webview', (e) => e.preventDefault());
});

void app.whenReady().then(async () => {
  handleAppScheme(join(outDir, 'renderer'));
  wireIpc(session.handlers, devUrl);
  installMenu(
    () => win,
    async (p) => {
      await session.openPath(p);
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
