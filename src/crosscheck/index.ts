// The crosscheck's public API: replay a QEMU VT-d capture (guest console + QEMU vtd_* trace) through the
// lab's model and report the agreement (docs/crosscheck.md). Pure: callers read the files (gzip included)
// and feed text; src/cli/crosscheck-command.ts does that for the CLI and the host.
export { CaptureReader, readCapture, type CaptureRole } from './capture';
export { crosscheck, PROFILES, type CrosscheckOptions } from './run';
export { renderText } from './text';
export { CROSSCHECK_VERSION } from './result';
export type * from './result';
export type * from './types';

import { readCapture } from './capture';
import { crosscheck, type CrosscheckOptions } from './run';
import type { CrosscheckResult } from './result';

/** The whole crosscheck from two texts (tests, the UI once it has the files' text). */
export function crosscheckTexts(
  guestText: string,
  qemuText: string,
  opts: CrosscheckOptions & { guestFile?: string; qemuFile?: string } = {},
): CrosscheckResult {
  const guest = readCapture('guest', opts.guestFile ?? 'guest-console.log', guestText);
  const qemu = readCapture('qemu', opts.qemuFile ?? 'qemu-trace.log', qemuText);
  return crosscheck(guest, qemu, opts);
}
