import type { Patcher } from './patcher';
import { pgPatcher } from './pg';
import { fsPatcher } from './fs';
import { wsPatcher } from './ws';
import { natsPatcher } from './nats';

/** Every module patcher, in the order their modules are hooked. */
export const PATCHERS: readonly Patcher[] = [pgPatcher, fsPatcher, wsPatcher, natsPatcher];
