// Linux errno values as the model returns them. Every control-plane operation answers with a Result:
// the value, or the errno the kernel would return and a message that says which check failed.

export const ERRNO = {
  EPERM: 1,
  ENOENT: 2,
  EIO: 5,
  E2BIG: 7,
  EBADF: 9,
  ENOMEM: 12,
  EFAULT: 14,
  EBUSY: 16,
  EEXIST: 17,
  ENODEV: 19,
  EINVAL: 22,
  ENOTTY: 25,
  ENOSPC: 28,
  ERANGE: 34,
  EOVERFLOW: 75,
  EMSGSIZE: 90,
  EOPNOTSUPP: 95,
  EADDRINUSE: 98,
} as const;

export type Errno = keyof typeof ERRNO;

export interface Failure {
  ok: false;
  errno: Errno;
  message: string;
}

export type Result<T> = { ok: true; value: T } | Failure;

export function ok<T>(value: T): { ok: true; value: T } {
  return { ok: true, value };
}

export function fail(errno: Errno, message: string): Failure {
  return { ok: false, errno, message };
}

/** Thrown inside multi-step operations to unwind; caught at the verb boundary and returned as a Failure. */
export class ErrnoError extends Error {
  constructor(
    readonly errno: Errno,
    message: string,
  ) {
    super(message);
    this.name = 'ErrnoError';
  }
}
