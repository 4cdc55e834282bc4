// The application menu: File ▸ Open… shows the native open dialog (filters per kind of input) and opens
// each chosen path through the session (which lists it in the recent files), and the standard roles.
import { dialog, Menu, type BrowserWindow, type OpenDialogOptions } from 'electron';

/** The open dialog's filters: every input the lab reads, then one kind at a time. */
export const OPEN_FILTERS: { name: string; extensions: string[] }[] = [
  {
    name: 'Lab inputs',
    extensions: ['json', 'jsonl', 'trace', 'iotrace', 'dat', 'bin', 'dsl', 'log', 'txt', 'csv', 'gz'],
  },
  { name: 'Platforms (JSON)', extensions: ['json'] },
  { name: 'Traces (JSON lines or native)', extensions: ['jsonl', 'trace', 'iotrace'] },
  {
    name: 'Firmware tables (ACPI binary, acpidump, iasl .dsl) and lspci',
    extensions: ['dat', 'bin', 'dsl', 'txt'],
  },
  { name: 'Kernel logs, ftrace and QEMU traces', extensions: ['log', 'txt', 'gz'] },
  { name: 'Analyzer CSV exports', extensions: ['csv', 'gz'] },
  { name: 'All files', extensions: ['*'] },
];

export function openDialogOptions(): OpenDialogOptions {
  return { title: 'Open lab inputs', properties: ['openFile', 'multiSelections'], filters: OPEN_FILTERS };
}

/** Shows the dialog and opens the chosen paths one by one; a failure is shown, a cancelled import is not. */
export async function openFromDialog(
  win: BrowserWindow | null,
  open: (path: string) => Promise<void>,
): Promise<void> {
  const opts = openDialogOptions();
  const r = win ? await dialog.showOpenDialog(win, opts) : await dialog.showOpenDialog(opts);
  if (r.canceled) return;
  for (const p of r.filePaths) {
    await open(p).catch((e: Error & { code?: string }) => {
      if (e.code !== 'ECANCELED') dialog.showErrorBox('Cannot open file', e.message);
    });
  }
}

export function installMenu(win: () => BrowserWindow | null, open: (path: string) => Promise<void>): void {
  const menu = Menu.buildFromTemplate([
    {
      label: 'File',
      submenu: [
        { label: 'Open…', accelerator: 'CmdOrCtrl+O', click: () => openFromDialog(win(), open) },
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
