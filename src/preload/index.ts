// The sandboxed preload: exposes the narrow API of src/shared/api.ts as window.iommuLab. It forwards
// calls and events only; the main process validates every call.
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import type { IommuLabBridge } from '../shared/bridge';

const CALL_CHANNEL = 'iommu-lab:call';
const EVENT_CHANNEL = 'iommu-lab:event';

const bridge: IommuLabBridge = {
  call: (method, params) => ipcRenderer.invoke(CALL_CHANNEL, method, params),
  onEvent: (handler) => {
    const listener = (_e: IpcRendererEvent, event: string, payload: unknown): void => handler(event, payload);
    ipcRenderer.on(EVENT_CHANNEL, listener);
    return () => void ipcRenderer.removeListener(EVENT_CHANNEL, listener);
  },
};

contextBridge.exposeInMainWorld('iommuLab', bridge);
