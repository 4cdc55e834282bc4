// The shape of window.iommuLab in Electron: provided by the preload, used by the renderer's Electron
// transport. Replies come back as {ok:true,result} or {ok:false,code,message}.
export type BridgeReply = { ok: true; result: unknown } | { ok: false; code: string; message: string };

export interface IommuLabBridge {
  call(method: string, params: unknown): Promise<BridgeReply>;
  onEvent(handler: (event: string, payload: unknown) => void): () => void;
}
