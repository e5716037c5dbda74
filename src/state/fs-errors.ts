import { UserError } from "../diagnostics/diagnostic.js";

export const errno = (e: unknown): string | undefined => (e as NodeJS.ErrnoException | undefined)?.code;

export function ignoreMissing(e: unknown): void {
  if (errno(e) !== "ENOENT") throw e;
}

/** A file system failure on a state file or folder, named with the reason and what to change. */
export function ioError(e: unknown, where: string, action: "read" | "write" | "create"): Error {
  const code = errno(e);
  if (!code) return e as Error;
  const reason: Record<string, string> = {
    EACCES: "permission denied",
    EPERM: "operation not permitted",
    EROFS: "the file system is read-only",
    ENOSPC: "the disk is full",
    ENOTDIR: "a part of the path is a file, not a folder",
    EISDIR: "it is a folder",
  };
  return new UserError({
    severity: "error",
    path: where,
    message: `cannot ${action} it: ${reason[code] ?? code}`,
    fix: "fix the folder's permissions or free space, or point state.path in the config at a writable folder",
  });
}
