// The sandboxed preload: exposes the narrow API of src/shared/api.ts as window.iommuLab, two functions
// and nothing else (no ipcRenderer, no Node). It forwards calls and events only; the main process checks
// every call (the sender's origin, the method and its params: src/main/ipc.ts).
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import type { IommuLabBridge } from '../shared/bridge';

const CALL_CHANNEL = 'iommu-lab:call';
const EVENT_CHANNEL = 'iommu-lab:event';

const bridge: IommuLabBridge = Object.freeze({
  call: (method: string, params: unknown) => ipcRenderer.invoke(CALL_CHANNEL, String(method), params),
  onEvent: (handler: (event: string, payload: unknown) => void) => {
    if (typeof handler !== 'function') throw new TypeError('onEvent needs a function');
    // the renderer gets the event's name and payload, never the IpcRendererEvent (it holds the sender)
    const listener = (_e: IpcRendererEvent, event: string, payload: unknown): void => handler(event, payload);
    ipcRenderer.on(EVENT_CHANNEL, listener);
    return () => void ipcRenderer.removeListener(EVENT_CHANNEL, listener);
  },
});

contextBridge.exposeInMainWorld('iommuLab', bridge);
