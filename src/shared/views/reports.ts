// Report comparison and what-if from the UI (src/report/diff.ts, what-if.ts).
import { z } from 'zod';

export const whatIfParams = z
  .object({
    /** edits as the CLI's --set takes them: rmrr.add=…, device.00:14.0.domain=identity, tee.boundary=… */
    set: z.array(z.string().min(1).max(512)).max(64),
  })
  .strict();
