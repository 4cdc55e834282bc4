// Exit codes of the CLI, for CI pipelines: a bitmask of what the run found (README "Exit codes").
export const EXIT = {
  OK: 0,
  FAULTS: 1,
  HAZARDS: 2,
  FIRMWARE_WARNINGS: 4,
  /** bad input lines or firmware errors: the run went on, but something was skipped */
  ERRORS: 8,
  /** the command could not run at all (bad usage, unreadable file) */
  FATAL: 64,
} as const;
