// `iommu-lab serve [--port N] [file…]`: the lab in a browser. Opens the files, starts the web host on
// 127.0.0.1 and prints the URL with its token. Runs until interrupted.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Session } from '../host/session';
import { startWebHost, type WebHost } from '../host/web-host';
import { chromiumPdfMaker } from './chromium-pdf';

export interface ServeOptions {
  port: number;
  rendererDir?: string;
}

export function defaultRendererDir(): string {
  // out/cli/index.js → out/renderer/
  return fileURLToPath(new URL('../renderer/', import.meta.url));
}

export async function serveCommand(
  files: string[],
  opts: ServeOptions,
  out: (s: string) => void,
): Promise<{ host: WebHost; session: Session }> {
  const rendererDir = opts.rendererDir ?? defaultRendererDir();
  if (!existsSync(`${rendererDir}/index.html`)) {
    throw new Error(`no built renderer in ${rendererDir}: run \`npm run build\` first`);
  }
  let host: WebHost | null = null;
  const session = new Session('web', (event, payload) => host?.broadcast(event, payload), {
    pdf: chromiumPdfMaker(),
  });
  for (const f of files) {
    const opened = await session.openPath(f);
    out(`opened ${opened.kind} ${opened.name}`);
  }
  host = await startWebHost({ rendererDir, port: opts.port, handlers: session.handlers, log: out });
  out(`IOMMU Lab is serving on ${host.url}`);
  out('Open that URL (it carries the access token). Press Ctrl+C to stop.');
  return { host, session };
}
