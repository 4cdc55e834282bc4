// `iommu-lab crosscheck GUEST_LOG QEMU_TRACE [--json] [--profile P] [--shift-maps N]`: replays a QEMU VT-d
// capture (the guest's serial console with iommu tracepoints and dmesg, and QEMU's vtd_* log-backend trace,
// either gzip-compressed or not) through the lab's model and prints how far the lab agrees with QEMU
// (src/crosscheck, docs/crosscheck.md). File reading happens here; everything else is in src/crosscheck.
// Exit code (bitmask, README "Exit codes"): 0 full agreement; 1 a translation or fault disagrees, or the
// fault-record counts differ; 8 the result is partial (truncated or interleaved input, unattributed ops);
// 64 the command could not run (unreadable file, unknown profile).
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';
import {
  CaptureReader,
  PROFILES,
  crosscheck,
  renderText,
  type CaptureRole,
  type CrosscheckResult,
  type GuestCapture,
  type QemuCapture,
} from '../crosscheck/index';
import type { FaultProfile } from '../engine/vtd/translate';
import { EXIT } from './exit-codes';

export interface CrosscheckCommandOptions {
  json?: boolean;
  /** fault semantics: qemu-7.2 (default) or vtd-spec */
  profile?: string;
  /** negative control: shift every guest map's paddr by this many pages */
  shiftMaps?: number;
  /** disagreements listed in full (default 10) */
  maxDisagreements?: number;
}

export class CrosscheckInputError extends Error {}

async function isGzip(path: string): Promise<boolean> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    throw new CrosscheckInputError(`${path}: cannot open: ${(e as Error).message}`);
  }
  try {
    if ((await fh.stat()).isDirectory()) throw new CrosscheckInputError(`${path}: is a directory`);
    const b = new Uint8Array(2);
    const { bytesRead } = await fh.read(b, 0, 2, 0);
    return bytesRead === 2 && b[0] === 0x1f && b[1] === 0x8b;
  } finally {
    await fh.close();
  }
}

/** Streams one file (gzip or plain text) into a CaptureReader; a stream that breaks off is an issue. */
async function readRole(path: string, role: CaptureRole): Promise<CaptureReader> {
  const gz = await isGzip(path);
  const reader = new CaptureReader(role, path);
  const file = createReadStream(path);
  const stream = gz ? file.pipe(createGunzip()) : file;
  if (gz) file.on('error', (e) => stream.destroy(e));
  const decoder = new TextDecoder('utf-8', { fatal: false });
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>)
      reader.pushText(decoder.decode(chunk, { stream: true }));
    reader.pushText(decoder.decode());
  } catch (e) {
    reader.pushText(decoder.decode());
    reader.fail(
      `${gz ? 'gzip stream' : 'read'} error, the file is read up to here only: ${(e as Error).message}`,
    );
  } finally {
    file.destroy();
  }
  return reader;
}

/** Reads both files and runs the crosscheck (for the CLI and the host). */
export async function loadCrosscheck(
  guestLog: string,
  qemuTrace: string,
  opts: { profile?: FaultProfile; shiftMapsPages?: number; maxDisagreements?: number } = {},
): Promise<CrosscheckResult> {
  const [g, q] = await Promise.all([readRole(guestLog, 'guest'), readRole(qemuTrace, 'qemu')]);
  const guest: GuestCapture = g.end().guest;
  const qemu: QemuCapture = q.end().qemu;
  return crosscheck(guest, qemu, opts);
}

/** The exit code of a result (see the header). */
export function crosscheckExitCode(r: CrosscheckResult): number {
  let code: number = EXIT.OK;
  if (r.disagree > 0 || r.faults.reproduced + r.faults.unchecked < r.faults.observed) code |= EXIT.FAULTS;
  if (r.recorded.model !== r.recorded.observed) code |= EXIT.FAULTS;
  if (!r.complete) code |= EXIT.ERRORS;
  return code;
}

export async function crosscheckCommand(
  guestLog: string,
  qemuTrace: string,
  opts: CrosscheckCommandOptions,
  out: (s: string) => void,
): Promise<number> {
  const profile = (opts.profile ?? 'qemu-7.2') as FaultProfile;
  if (!PROFILES.includes(profile)) {
    out(`iommu-lab crosscheck: unknown profile "${opts.profile}" (known: ${PROFILES.join(', ')})`);
    return EXIT.FATAL;
  }
  const shift = opts.shiftMaps ?? 0;
  if (!Number.isInteger(shift)) {
    out(`iommu-lab crosscheck: --shift-maps takes a whole number of pages, not ${String(opts.shiftMaps)}`);
    return EXIT.FATAL;
  }
  let result: CrosscheckResult;
  try {
    result = await loadCrosscheck(guestLog, qemuTrace, {
      profile,
      shiftMapsPages: shift,
      maxDisagreements: opts.maxDisagreements,
    });
  } catch (e) {
    if (e instanceof CrosscheckInputError) {
      out(`iommu-lab crosscheck: ${e.message}`);
      return EXIT.FATAL;
    }
    throw e;
  }
  out(opts.json ? JSON.stringify(result, null, 2) : renderText(result));
  return crosscheckExitCode(result);
}
