import { normalize } from 'node:path';

/** Patches a module's exports; returns what `require`/`import` hands out from then on (usually the same object). */
export type PatchFn = (exports: unknown, version?: string) => unknown;
export type UnpatchFn = (exports: unknown, version?: string) => void;

/** A file inside a package, hooked by its path (`nats/lib/nats-base-client/nats.js`). */
export interface ModuleFile {
  readonly name: string;
  readonly supportedVersions: string[];
  patch: PatchFn;
  unpatch: UnpatchFn;
  /** The exports last seen, so disable/enable can undo and redo the patch. */
  moduleExports?: unknown;
}

/**
 * One hooked module: the shape @opentelemetry/instrumentation's InstrumentationBase reads
 * (so BreakerboxInstrumentation hands these to it unchanged) and the preload's own module
 * hooks read too, without loading @opentelemetry/instrumentation.
 */
export interface ModuleDefinition {
  readonly name: string;
  readonly supportedVersions: string[];
  patch: PatchFn;
  unpatch: UnpatchFn;
  /** Always an array: InstrumentationBase iterates it unguarded on disable(). */
  files: ModuleFile[];
  moduleExports?: unknown;
  moduleVersion?: string;
  includePrerelease?: boolean;
}

export function moduleDefinition(
  name: string,
  supportedVersions: string[],
  patch: PatchFn,
  unpatch: UnpatchFn,
  files: ModuleFile[] = [],
): ModuleDefinition {
  return { name, supportedVersions, patch, unpatch, files };
}

/** Paths use the platform's separator, as the require hooks report them. */
export function moduleFile(name: string, supportedVersions: string[], patch: PatchFn, unpatch: UnpatchFn): ModuleFile {
  return { name: normalize(name), supportedVersions, patch, unpatch };
}
