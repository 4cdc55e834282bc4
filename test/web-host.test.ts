// The web host's contract: loopback only, token required, isolation headers, and the API over a
// msgpackr WebSocket with validated calls.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Packr } from 'msgpackr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { Session } from '../src/host/session';
import { startWebHost, type WebHost } from '../src/host/web-host';
import type { WireFrame } from '../src/shared/api';

const packr = new Packr({ useRecords: false, moreTypes: true });
let host: WebHost;
let session: Session;

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'iommu-lab-renderer-'));
  writeFileSync(join(dir, 'index.html'), '<!doctype html><title>t</title>');
  session = new Session('web', (event, payload) => host?.broadcast(event, payload));
  host = await startWebHost({ rendererDir: dir, port: 0, handlers: session.handlers });
});
afterAll(async () => {
  session.dispose();
  await host.close();
});

function get(
  path: string,
  hostHeader?: string,
): Promise<{ status: number; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port: host.port, path, headers: hostHeader ? { host: hostHeader } : {} },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

function socket(path: string, origin = `http://127.0.0.1:${host.port}`): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${host.port}${path}`, { origin });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
  });
}

function rpc(ws: WebSocket) {
  let id = 0;
  const events: WireFrame[] = [];
  const waiting = new Map<number, (f: WireFrame) => void>();
  ws.on('message', (data: Buffer) => {
    const f = packr.unpack(data) as WireFrame;
    if (f.t === 'event') events.push(f);
    else waiting.get(f.id)?.(f);
  });
  return {
    events,
    call(method: string, params: unknown): Promise<WireFrame> {
      const myId = ++id;
      return new Promise((resolve) => {
        waiting.set(myId, resolve);
        ws.send(packr.pack({ t: 'call', id: myId, method, params }));
      });
    },
  };
}

describe('web host', () => {
  it('prints a loopback URL with its token', () => {
    expect(host.url).toBe(`http://127.0.0.1:${host.port}/${host.token}/`);
    expect(host.token).toMatch(/^[0-9a-f]{32}$/);
  });

  it('refuses requests without the token, with a wrong token, or with a foreign Host', async () => {
    expect((await get('/')).status).toBe(403);
    expect((await get('/index.html')).status).toBe(403);
    expect((await get(`/${'0'.repeat(32)}/`)).status).toBe(403);
    expect((await get(`/${host.token}/`, 'evil.example:80')).status).toBe(403);
  });

  it('serves the renderer cross-origin isolated', async () => {
    const r = await get(`/${host.token}/`);
    expect(r.status).toBe(200);
    expect(r.headers['cross-origin-opener-policy']).toBe('same-origin');
    expect(r.headers['cross-origin-embedder-policy']).toBe('require-corp');
    expect(String(r.headers['content-security-policy'])).toContain("default-src 'self'");
    expect((await get(`/${host.token}/..%2f..%2fetc%2fpasswd`)).status).toBeGreaterThanOrEqual(400);
  });

  it('refuses a WebSocket without the token or from another origin', async () => {
    await expect(socket('/ws')).rejects.toThrow('403');
    await expect(socket(`/${host.token}/ws`, 'http://evil.example')).rejects.toThrow('403');
  });

  it('answers calls, validates them, and pushes events', async () => {
    const ws = await socket(`/${host.token}/ws`);
    const api = rpc(ws);
    expect(await api.call('hello', {})).toMatchObject({
      t: 'result',
      result: { apiVersion: 1, transport: 'web' },
    });
    expect(await api.call('launchMissiles', {})).toMatchObject({ t: 'error', code: 'ENOSYS' });
    expect(await api.call('queryFaults', { offset: -1, limit: 10 })).toMatchObject({
      t: 'error',
      code: 'EINVAL',
    });
    expect(await api.call('replayControl', { action: 'play' })).toMatchObject({ t: 'error', code: 'ENOENT' });
    const opened = await api.call('openFile', { path: 'traces/laptop-demo.trace.jsonl' });
    expect(opened).toMatchObject({ t: 'result', result: { kind: 'trace' } });
    const summary = (await api.call('platformSummary', {})) as { result: { devices: unknown[] } };
    expect(summary.result.devices).toHaveLength(12);
    await api.call('replayControl', { action: 'play' });
    // wait for the end of this replay (an earlier player, made before the trace arrived, may have
    // reported 'done' on no events)
    await expect
      .poll(() =>
        api.events.some(
          (e) =>
            e.t === 'event' &&
            e.event === 'stats' &&
            (e.payload as { status: string; tlps: number }).status === 'done' &&
            (e.payload as { tlps: number }).tlps > 0,
        ),
      )
      .toBe(true);
    // the fault table lists the sample's 5 faults and its hazard
    expect(await api.call('queryFaults', { offset: 0, limit: 10 })).toMatchObject({ result: { total: 6 } });
    expect(await api.call('queryFaults', { offset: 0, limit: 10, filter: 'fault' })).toMatchObject({
      result: { total: 5 },
    });
    // the columns shape crosses the socket as typed arrays (msgpackr moreTypes), not as lists
    const page = (await api.call('queryFaults', { offset: 0, limit: 10, shape: 'columns' })) as {
      result: { rows: unknown[]; columns: Record<string, unknown> & { length: number } };
    };
    expect(page.result.rows).toEqual([]);
    expect(page.result.columns.length).toBe(6);
    expect(page.result.columns['time']).toBeInstanceOf(Float64Array);
    expect(page.result.columns['colorRule']).toBeInstanceOf(Int8Array);
    const kind = page.result.columns['kind'] as Uint8Array;
    expect(kind).toBeInstanceOf(Uint8Array);
    expect([...kind].sort()).toEqual([0, 0, 0, 0, 0, 1]);
    const bad = await api.call('openFile', {
      name: 'x.json',
      bytes: new TextEncoder().encode('{"format":"iommu-lab/platform","version":1}'),
    });
    expect(bad).toMatchObject({ t: 'error', code: 'EINVAL' });
    expect((bad as { message: string }).message).toContain('x.json: name');
    ws.close();
  });
});
