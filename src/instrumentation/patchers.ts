import type { Patcher } from './patcher';

/** Every module patcher, in the order their modules are hooked. */
export const PATCHERS: readonly Patcher[] = [];
