// Picks the transport for the API contract: Electron IPC through the preload when window.iommuLab
// exists, otherwise a WebSocket to the web host that served this page. The rest of the renderer
// sees an ApiClient and never knows which one it has.
import { Packr } from 'msgpackr';
import {
  ApiError,
  type ApiClient,
  type ApiErrorCode,
  type CallParams,
  type CallResult,
  type EventName,
  type EventPayloads,
  type Method,
  type WireFrame,
} from '../../../shared/api';
import type { IommuLabBridge } from '../../../shared/bridge';

type Handler = (payload: never) => void;

class Listeners {
  private readonly map = new Map<string, Set<Handler>>();
  on(event: string, h: Handler): () => void {
    let set = this.map.get(event);
    if (!set) this.map.set(event, (set = new Set()));
    set.add(h);
    return () => set.delete(h);
  }
  emit(event: string, payload: unknown): void {
    for (const h of this.map.get(event) ?? []) (h as (p: unknown) => void)(payload);
  }
}

function electronClient(bridge: IommuLabBridge): ApiClient {
  const listeners = new Listeners();
  bridge.onEvent((event, payload) => listeners.emit(event, payload));
  return {
    async call<M extends Method>(method: M, params: CallParams<M>): Promise<CallResult<M>> {
      const reply = await bridge.call(method, params);
      if (!reply.ok) throw new ApiError(reply.code as ApiErrorCode, reply.message);
      return reply.result as CallResult<M>;
    },
    on<E extends EventName>(event: E, handler: (p: EventPayloads[E]) => void) {
      return listeners.on(event, handler as Handler);
    },
  };
}

function webSocketClient(url: string): ApiClient {
  const packr = new Packr({ useRecords: false, moreTypes: true });
  const listeners = new Listeners();
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let nextId = 1;
  const ws = new WebSocket(url);
  ws.binaryType = 'arraybuffer';
  const opened = new Promise<void>((resolve, reject) => {
    ws.addEventListener('open', () => resolve(), { once: true });
    ws.addEventListener('error', () => reject(new Error(`cannot connect to the lab host at ${url}`)), {
      once: true,
    });
  });
  ws.addEventListener('message', (ev: MessageEvent<ArrayBuffer>) => {
    const frame = packr.unpack(new Uint8Array(ev.data)) as WireFrame;
    if (frame.t === 'event') listeners.emit(frame.event, frame.payload);
    else if (frame.t === 'result' || frame.t === 'error') {
      const p = pending.get(frame.id);
      pending.delete(frame.id);
      if (frame.t === 'result') p?.resolve(frame.result);
      else p?.reject(new ApiError(frame.code, frame.message));
    }
  });
  ws.addEventListener('close', (ev) => {
    for (const p of pending.values())
      p.reject(new Error(`the lab host closed the connection (${ev.code} ${ev.reason})`));
    pending.clear();
    listeners.emit('disconnected', null);
  });
  return {
    async call<M extends Method>(method: M, params: CallParams<M>): Promise<CallResult<M>> {
      await opened;
      const id = nextId++;
      return new Promise<CallResult<M>>((resolve, reject) => {
        pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
        ws.send(packr.pack({ t: 'call', id, method, params } satisfies WireFrame));
      });
    },
    on<E extends EventName>(event: E, handler: (p: EventPayloads[E]) => void) {
      return listeners.on(event, handler as Handler);
    },
  };
}

export function connect(): ApiClient {
  if (window.iommuLab) return electronClient(window.iommuLab);
  // Served as http://127.0.0.1:PORT/TOKEN/ → the socket is ws://127.0.0.1:PORT/TOKEN/ws
  const base = location.pathname.replace(/[^/]*$/, '');
  return webSocketClient(`ws://${location.host}${base}ws`);
}
