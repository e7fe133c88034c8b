import type { OutcomeCode } from './internal';
import { FAILURE, IGNORED, NO_EVIDENCE, TIMEOUT } from './recorder';
import type { ErrorVerdict } from './types';

export type IsFailure = (err: unknown) => boolean | ErrorVerdict;

/** What `err` says about the dependency, by `isFailure` (none: every error; a throwing one counts as a failure). */
export function judge(isFailure: IsFailure | null, err: unknown): ErrorVerdict {
  if (isFailure === null) return 'failure';
  let v: boolean | ErrorVerdict;
  try {
    v = isFailure(err);
  } catch {
    return 'failure';
  }
  if (v === true || v === 'failure') return 'failure';
  return v === 'timeout' || v === 'no_evidence' ? v : 'ignored';
}

/** The outcome a call that ended with an error of this verdict is settled as. */
export function outcomeOfVerdict(verdict: ErrorVerdict): OutcomeCode {
  switch (verdict) {
    case 'failure':
      return FAILURE;
    case 'timeout':
      return TIMEOUT;
    case 'no_evidence':
      return NO_EVIDENCE;
    default:
      return IGNORED;
  }
}
