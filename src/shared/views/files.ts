// Files: the recent-files list, imports with progress and cancel, and the native open dialog.
import { z } from 'zod';

export const recentFilesParams = z.object({}).strict();
export const cancelTaskParams = z.object({ task: z.string().min(1).max(64) }).strict();

export interface RecentFile {
  path: string;
  kind: string;
  /** ms since the epoch */
  openedAt: number;
}
