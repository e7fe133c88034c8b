/* eslint-disable @typescript-eslint/no-require-imports */
import { readFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { isAbsolute, join, normalize, parse, sep } from 'node:path';
import type { ModuleDefinition } from './module-definition';
import { RequireHook } from './require-hook';
import { parseRange, satisfiesAny } from './version-range';

/** What the preload hands back for its patches: turn them off and on again (tests, operators). */
export interface GuardSwitch {
  enable(): void;
  disable(): void;
  isEnabled(): boolean;
}

/**
 * The preload's own module hooks: the module definitions BreakerboxInstrumentation gives
 * InstrumentationBase, applied the same way (same names, versions, files, patch and unpatch
 * on disable/enable) without loading @opentelemetry/instrumentation and the API with it. The
 * CommonJS side is RequireHook; ES modules come through import-in-the-middle, whose loader
 * hook `breakerbox/register` registers under `--import`.
 */
export class ModuleHooks implements GuardSwitch {
  private enabled = false;
  private hooks: { unhook(): void }[] = [];

  constructor(private readonly definitions: readonly ModuleDefinition[]) {
    // Read every declared range now, so a form the check does not read fails at start-up.
    for (const d of definitions) {
      for (const ranges of [d.supportedVersions, ...d.files.map((f) => f.supportedVersions)]) ranges.forEach(parseRange);
    }
    this.enable();
  }

  isEnabled(): boolean {
    return this.enabled;
  }

  enable(): void {
    if (this.enabled) return;
    this.enabled = true;
    if (this.hooks.length > 0) {
      // Hooked before: patch again what was loaded meanwhile.
      for (const d of this.definitions) {
        if (d.moduleExports) d.patch(d.moduleExports, d.moduleVersion);
        for (const f of d.files) if (f.moduleExports) f.patch(f.moduleExports, d.moduleVersion);
      }
      return;
    }
    if (this.definitions.length === 0) return;
    const packages = new Set<string>();
    const builtins = new Set<string>();
    for (const d of this.definitions) (isBuiltin(d.name) ? builtins : packages).add(d.name);
    this.hooks.push(new RequireHook(packages, builtins, (exports, name, basedir) => this.onCommonJs(exports, name, basedir)));
    const { Hook } = require('import-in-the-middle') as typeof import('import-in-the-middle');
    for (const d of this.definitions) {
      this.hooks.push(
        new Hook([d.name], { internals: true }, (exports, name, basedir) => {
          // import-in-the-middle names a file by its absolute path where require-in-the-middle gives name and directory.
          if (!basedir && isAbsolute(name)) {
            const parsed = parse(name);
            return this.onRequire(d, exports, parsed.name, parsed.dir);
          }
          return this.onRequire(d, exports, name, basedir ?? undefined);
        }),
      );
    }
  }

  disable(): void {
    if (!this.enabled) return;
    this.enabled = false;
    for (const d of this.definitions) {
      if (d.moduleExports) d.unpatch(d.moduleExports, d.moduleVersion);
      for (const f of d.files) if (f.moduleExports) f.unpatch(f.moduleExports, d.moduleVersion);
    }
  }

  /** Undoes the patches and removes the hooks (tests; the preload keeps them for the process's life). */
  unhook(): void {
    this.disable();
    for (const hook of this.hooks) hook.unhook();
    this.hooks = [];
  }

  /** A package is reported for its main file and for files inside it (`nats/lib/...`); a built-in by its name. */
  private onCommonJs(exports: unknown, name: string, basedir: string | undefined): unknown {
    let result = exports;
    for (const d of this.definitions) {
      if (basedir === undefined ? d.name === name : name === d.name || name.startsWith(d.name + sep)) {
        result = this.onRequire(d, result, name, basedir);
      }
    }
    return result;
  }

  /** As InstrumentationBase._onRequire: remember the exports, check the version, patch when enabled. */
  private onRequire(d: ModuleDefinition, exports: unknown, name: string, basedir: string | undefined): unknown {
    if (basedir === undefined) {
      d.moduleExports = exports;
      return this.enabled ? d.patch(exports) : exports;
    }
    const version = packageVersion(basedir);
    d.moduleVersion = version;
    if (d.name === name) {
      if (!satisfiesAny(version, d.supportedVersions)) return exports;
      d.moduleExports = exports;
      return this.enabled ? d.patch(exports, version) : exports;
    }
    const file = normalize(name);
    let result = exports;
    for (const f of d.files) {
      if (f.name !== file || !satisfiesAny(version, f.supportedVersions)) continue;
      f.moduleExports = result;
      if (this.enabled) result = f.patch(result, version);
    }
    return result;
  }
}

function packageVersion(basedir: string): string | undefined {
  try {
    const version = (JSON.parse(readFileSync(join(basedir, 'package.json'), 'utf8')) as { version?: unknown }).version;
    return typeof version === 'string' ? version : undefined;
  } catch {
    return undefined;
  }
}
