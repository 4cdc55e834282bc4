// PDF export for `iommu-lab serve`: the session's PdfMaker (src/host/session-reports.ts) through the
// same headless Chromium the CLI prints `--report out.pdf` with (htmlToPdf in report-command.ts).
// Without Chromium, the call fails with ENOSYS and one line saying what to do instead.
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PdfMaker } from '../host/session-reports';
import { ApiError } from '../shared/api';
import { CHROMIUM, htmlToPdf } from './report-command';

export function chromiumPdfMaker(chromium = CHROMIUM): PdfMaker {
  return async (html) => {
    if (!existsSync(chromium))
      throw new ApiError(
        'ENOSYS',
        `PDF export needs Chromium (${chromium}, Debian package chromium): export HTML and print it instead`,
      );
    const dir = await mkdtemp(join(tmpdir(), 'iommu-lab-serve-pdf-'));
    try {
      const out = join(dir, 'report.pdf');
      const why = await htmlToPdf(html, out, chromium);
      if (why) throw new ApiError('EIO', `PDF export: ${why}`);
      return new Uint8Array(await readFile(out));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  };
}
