// Shared e2e plumbing: start `iommu-lab serve` on a free port and Debian's Chromium through
// playwright-core (never a downloaded browser).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export const ARTIFACTS = 'test-results/e2e';
export const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';

export async function launchBrowser(): Promise<Browser> {
  mkdirSync(ARTIFACTS, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

export interface Served {
  url: string;
  proc: ChildProcess;
  stop(): Promise<void>;
}

/** Runs the built CLI's `serve` with the given files and resolves with the URL it prints. */
export function serve(files: string[]): Promise<Served> {
  const proc = spawn(process.execPath, ['bin/iommu-lab.js', 'serve', '--port', '0', ...files], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve printed no URL:\n${output}`)), 20_000);
    const onData = (d: Buffer): void => {
      output += d.toString();
      const m = /serving on (http:\/\/127\.0\.0\.1:\d+\/[0-9a-f]+\/)/.exec(output);
      if (m) {
        clearTimeout(timer);
        resolve({
          url: m[1]!,
          proc,
          stop: () =>
            new Promise<void>((r) => {
              if (proc.exitCode !== null) return r();
              proc.once('exit', () => r());
              proc.kill('SIGTERM');
            }),
        });
      }
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', onData);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited with ${code}:\n${output}`));
    });
  });
}
