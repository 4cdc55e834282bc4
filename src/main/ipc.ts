// IPC wiring: the Electron transport of src/shared/api.ts. Every call is checked (sender frame is our
// app:// page, method known, params valid) before the session sees it.
import { ipcMain, type WebContents } from 'electron';
import { ApiError, parseCall, type ApiHandlers, type EventName } from '../shared/api';
import { APP_ORIGIN } from './protocol';

export const CALL_CHANNEL = 'iommu-lab:call';
export const EVENT_CHANNEL = 'iommu-lab:event';

export function wireIpc(handlers: ApiHandlers, devUrl: string | undefined): void {
  ipcMain.handle(CALL_CHANNEL, async (event, method: unknown, params: unknown) => {
    const origin = event.senderFrame ? new URL(event.senderFrame.url).origin : '';
    if (origin !== APP_ORIGIN && (!devUrl || origin !== new URL(devUrl).origin)) {
      return { ok: false, code: 'EINVAL', message: `call from unexpected origin ${origin}` };
    }
    try {
      const call = parseCall(method, params);
      const handler = handlers[call.method] as (p: unknown) => unknown;
      return { ok: true, result: await handler(call.params) };
    } catch (e) {
      return e instanceof ApiError
        ? { ok: false, code: e.code, message: e.message }
        : { ok: false, code: 'EIO', message: (e as Error).message };
    }
  });
}

export function sendEvent(target: WebContents | null, event: EventName, payload: unknown): void {
  if (target && !target.isDestroyed()) target.send(EVENT_CHANNEL, event, payload);
}
