/**
 * Which `fs` / `fs/promises` errors mean "the file system itself is failing" (disk full,
 * I/O errors, descriptor exhaustion, a dead network mount) and therefore count against
 * the `file_system` breaker (DESIGN.md §3). An answer about one path (it does not exist,
 * it is a directory, we may not touch it) says the file system works, so it is ignored.
 */
import type { ErrorVerdict } from '../core/types';
import { readString, walkErrorChain } from './common';

/** Kinds that count as failures: the errno code itself. */
export type FsFailureKind = 'EIO' | 'EMFILE' | 'ENFILE' | 'ENOSPC' | 'EROFS' | 'EDQUOT' | 'ETIMEDOUT' | 'ESTALE' | 'EBUSY';

/** Common codes that are answers about a path or a call, not about the file system. */
export type FsIgnoredKind =
  | 'ENOENT'
  | 'EEXIST'
  | 'EISDIR'
  | 'ENOTDIR'
  | 'ENOTEMPTY'
  | 'EACCES'
  | 'EPERM'
  | 'EINVAL'
  | 'EBADF'
  | 'ENAMETOOLONG'
  | 'ELOOP'
  | 'EXDEV'
  | 'ERR_ARGUMENT'
  | 'other';

/** A short reason from a bounded set, safe as a log field or span attribute. */
export type FsErrorKind = FsFailureKind | FsIgnoredKind;

const FAILURE_CODES: ReadonlySet<string> = new Set<FsFailureKind>([
  'EIO',
  'EMFILE',
  'ENFILE',
  'ENOSPC',
  'EROFS',
  'EDQUOT',
  // ETIMEDOUT and ESTALE only come from network file systems (NFS, SMB, FUSE) whose
  // server went away; EBUSY is a device or mount that cannot serve us right now.
  'ETIMEDOUT',
  'ESTALE',
  'EBUSY',
]);

const IGNORED_CODES: ReadonlySet<string> = new Set<FsIgnoredKind>([
  'ENOENT',
  'EEXIST',
  'EISDIR',
  'ENOTDIR',
  'ENOTEMPTY',
  'EACCES',
  'EPERM',
  'EINVAL',
  'EBADF',
  'ENAMETOOLONG',
  'ELOOP',
  'EXDEV',
]);

/**
 * True for EIO, EMFILE, ENFILE, ENOSPC, EROFS, EDQUOT, ETIMEDOUT, ESTALE and EBUSY
 * (also when carried as the `cause` of a wrapping error). False for ENOENT, EEXIST,
 * EISDIR, ENOTDIR, EACCES, EPERM, EINVAL, Node's ERR_* argument errors and anything
 * unrecognised. Never throws.
 */
export function isFsFailure(err: unknown): boolean {
  return FAILURE_CODES.has(fsFailureKind(err));
}

/**
 * A bounded reason for `err` (one of {@link FsErrorKind}); `isFsFailure(err)` is true
 * exactly for the {@link FsFailureKind} values. Never throws.
 */
export function fsFailureKind(err: unknown): FsErrorKind {
  try {
    return walkErrorChain(err, ownKind) ?? 'other';
  } catch {
    return 'other';
  }
}

function ownKind(err: unknown): FsErrorKind | undefined {
  const code = readString(err, 'code');
  if (code === undefined) return undefined;
  if (FAILURE_CODES.has(code) || IGNORED_CODES.has(code)) return code as FsErrorKind;
  // Node validates arguments before any system call (ERR_INVALID_ARG_TYPE,
  // ERR_OUT_OF_RANGE, ERR_FS_FILE_TOO_LARGE...): nothing reached the disk.
  if (code.startsWith('ERR_')) return 'ERR_ARGUMENT';
  return undefined;
}

/**
 * What `err` says about the file system, for the breaker: `'failure'` for the
 * {@link FsFailureKind} codes; `'no_evidence'` for Node's own argument errors (ERR_*), raised
 * for the call itself before or instead of any system call, so a half-open breaker keeps its
 * trial for a call that reaches the disk; `'ignored'` for every other answer (the file system
 * answered about a path). Never throws.
 */
export function fsVerdict(err: unknown): ErrorVerdict {
  const kind = fsFailureKind(err);
  if (FAILURE_CODES.has(kind)) return 'failure';
  return kind === 'ERR_ARGUMENT' ? 'no_evidence' : 'ignored';
}
