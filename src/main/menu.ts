// The application menu: File ▸ Open… (native dialog) and the standard roles.
import { dialog, Menu, type BrowserWindow } from 'electron';

export function installMenu(win: () => BrowserWindow | null, open: (path: string) => Promise<void>): void {
  const menu = Menu.buildFromTemplate([
    {
      label: 'File',
      submenu: [
        {
          label: 'Open…',
          accelerator: 'CmdOrCtrl+O',
          click: async () => {
            const w = win();
            const opts = {
              properties: ['openFile', 'multiSelections'] as Array<'openFile' | 'multiSelections'>,
              filters: [
                { name: 'Lab inputs', extensions: ['json', 'jsonl', 'trace', 'log', 'txt', 'dat', 'dsl'] },
                { name: 'All files', extensions: ['*'] },
              ],
            };
            const r = w ? await dialog.showOpenDialog(w, opts) : await dialog.showOpenDialog(opts);
            for (const p of r.filePaths) {
              await open(p).catch((e: Error) => dialog.showErrorBox('Cannot open file', e.message));
            }
          },
        },
        { type: 'separator' },
        { role: 'quit' },
      ],
    },
    { role: 'editMenu' },
    { role: 'viewMenu' },
    { role: 'windowMenu' },
  ]);
  Menu.setApplicationMenu(menu);
}
