// IPC wiring: the Electron transport of src/shared/api.ts. Every call is checked before the session
// sees it: the sending frame shows the app's own origin (hardening.ts isTrustedSender), the method is
// known and its params pass the API's schema (parseCall). Replies are BridgeReply objects.
import { ipcMain, type IpcMainInvokeEvent, type WebContents } from 'electron';
import { ApiError, parseCall, type ApiHandlers, type EventName } from '../shared/api';
import type { BridgeReply } from '../shared/bridge';
import { isTrustedSender } from './hardening';

export const CALL_CHANNEL = 'iommu-lab:call';
export const EVENT_CHANNEL = 'iommu-lab:event';

/** Answers one call from `frameUrl` (the sender frame's URL, null when the frame is gone). */
export async function answerCall(
  handlers: ApiHandlers,
  allowed: readonly string[],
  frameUrl: string | null,
  method: unknown,
  params: unknown,
): Promise<BridgeReply> {
  if (!isTrustedSender(frameUrl, allowed)) {
    return {
      ok: false,
      code: 'EINVAL',
      message: `call from an unexpected origin (${frameUrl ?? 'no frame'})`,
    };
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
}

export function wireIpc(handlers: ApiHandlers, allowed: readonly string[]): void {
  ipcMain.handle(CALL_CHANNEL, (event: IpcMainInvokeEvent, method: unknown, params: unknown) =>
    answerCall(handlers, allowed, event.senderFrame?.url ?? null, method, params),
  );
}

export function sendEvent(target: WebContents | null, event: EventName, payload: unknown): void {
  if (target && !target.isDestroyed()) target.send(EVENT_CHANNEL, event, payload);
}
