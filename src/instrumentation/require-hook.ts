/* eslint-disable @typescript-eslint/no-require-imports */
import Module = require('node:module');
import { isAbsolute, relative, sep } from 'node:path';

/** Called once per loaded copy of a hooked module; returns what require hands out from then on. */
export type OnRequire = (exports: unknown, name: string, basedir: string | undefined) => unknown;

interface ModuleInternals {
  prototype: { require(this: NodeJS.Module, id: string): unknown };
  _resolveFilename(request: string, parent: NodeJS.Module): string;
}

const Internal = Module as unknown as ModuleInternals;
const NODE_MODULES = `${sep}node_modules${sep}`;

/**
 * The CommonJS half of the preload's module hooks: reports the packages and built-ins it is
 * given as they are required, with the names require-in-the-middle reports (`pg`, `fs`,
 * `nats/lib/nats-base-client/nats.js` for a file inside a package, and the package's
 * directory), so the module definitions read the same under the preload as under
 * InstrumentationBase. Unlike require-in-the-middle it resolves only requests that can reach
 * a hooked package: every other require of the app costs one string check, not a second
 * module resolution.
 */
export class RequireHook {
  private readonly originalRequire = Internal.prototype.require;
  private readonly originalGetBuiltin = process.getBuiltinModule;
  private readonly installedRequire: ModuleInternals['prototype']['require'];
  private readonly installedGetBuiltin: typeof process.getBuiltinModule | undefined;
  /** What each hooked file's loaded exports became, keyed by file (or built-in name). */
  private readonly patched = new Map<string, { original: unknown; patched: unknown }>();
  private readonly loading = new Set<string>();
  private readonly mains = new Map<string, string | null>();

  constructor(
    private readonly packages: ReadonlySet<string>,
    private readonly builtins: ReadonlySet<string>,
    private readonly onRequire: OnRequire,
  ) {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the installed functions keep the caller's `this` (the requiring module)
    const hook = this;
    const originalRequire = this.originalRequire;
    this.installedRequire = function (this: NodeJS.Module, id: string): unknown {
      // eslint-disable-next-line prefer-rest-params -- forwards exactly what the caller passed
      const args = arguments as unknown as [string];
      const builtin = hook.builtinName(id);
      if (builtin !== undefined) return hook.report(builtin, originalRequire.apply(this, args), undefined);
      if (typeof id !== 'string' || !hook.mayReachPackage(id, this)) return originalRequire.apply(this, args);
      let filename: string;
      try {
        filename = Internal._resolveFilename(id, this);
      } catch {
        return originalRequire.apply(this, args);
      }
      // A file required again while it is still loading (a require cycle) gets its exports
      // as they are; it is reported once its own load returns.
      if (hook.loading.has(filename)) return originalRequire.apply(this, args);
      hook.loading.add(filename);
      let exports: unknown;
      try {
        exports = originalRequire.apply(this, args);
      } finally {
        hook.loading.delete(filename);
      }
      return hook.reportFile(filename, exports);
    };
    Internal.prototype.require = this.installedRequire;
    const originalGetBuiltin = this.originalGetBuiltin;
    if (typeof originalGetBuiltin === 'function') {
      this.installedGetBuiltin = function (this: unknown, id: string): unknown {
        const exports: unknown = originalGetBuiltin.call(this, id);
        const builtin = hook.builtinName(id);
        return builtin === undefined || exports === undefined ? exports : hook.report(builtin, exports, undefined);
      } as typeof process.getBuiltinModule;
      process.getBuiltinModule = this.installedGetBuiltin;
    }
  }

  /** Puts require back when nothing has wrapped it since; otherwise leaves it (as require-in-the-middle does). */
  unhook(): void {
    if (Internal.prototype.require === this.installedRequire) Internal.prototype.require = this.originalRequire;
    if (this.installedGetBuiltin !== undefined && process.getBuiltinModule === this.installedGetBuiltin) {
      process.getBuiltinModule = this.originalGetBuiltin;
    }
  }

  private builtinName(id: unknown): string | undefined {
    if (typeof id !== 'string') return undefined;
    const name = id.startsWith('node:') ? id.slice(5) : id;
    return this.builtins.has(name) ? name : undefined;
  }

  /** Whether resolving `id` could land in a hooked package (bare names by their package, paths by where they are required from). */
  private mayReachPackage(id: string, parent: NodeJS.Module | undefined): boolean {
    if (id.startsWith('.') || isAbsolute(id)) {
      if (id.includes('node_modules')) return true;
      const from = parent?.filename;
      return typeof from === 'string' && this.insideHookedPackage(from);
    }
    const slash = id.indexOf('/');
    const scopedEnd = id.startsWith('@') && slash !== -1 ? id.indexOf('/', slash + 1) : slash;
    return this.packages.has(scopedEnd === -1 ? id : id.slice(0, scopedEnd));
  }

  private insideHookedPackage(file: string): boolean {
    const at = file.lastIndexOf(NODE_MODULES);
    if (at === -1) return false;
    const rest = file.slice(at + NODE_MODULES.length).split(sep);
    return this.packages.has(rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]);
  }

  private reportFile(filename: string, exports: unknown): unknown {
    const at = filename.lastIndexOf(NODE_MODULES);
    if (at === -1) return exports;
    const parts = filename.slice(at + NODE_MODULES.length).split(sep);
    const scoped = parts[0].startsWith('@');
    const pkg = scoped ? `${parts[0]}/${parts[1]}` : parts[0];
    if (!this.packages.has(pkg)) return exports;
    const basedir = filename.slice(0, at + NODE_MODULES.length) + (scoped ? `${parts[0]}${sep}${parts[1]}` : parts[0]);
    const main = this.mainOf(pkg, basedir);
    if (main === null) return exports;
    const name = main === filename ? pkg : pkg + sep + relative(basedir, filename);
    return this.report(filename, exports, basedir, name);
  }

  private report(key: string, exports: unknown, basedir: string | undefined, name = key): unknown {
    const seen = this.patched.get(key);
    // The same loaded copy: hand out what its patch returned. A copy loaded anew (its
    // require.cache entry deleted) is reported again, as require-in-the-middle does.
    if (seen !== undefined && seen.original === exports) return seen.patched;
    // Set first: a patch that requires its own module gets it unpatched, not a second patch.
    this.patched.set(key, { original: exports, patched: exports });
    const result = this.onRequire(exports, name, basedir);
    this.patched.set(key, { original: exports, patched: result });
    return result;
  }

  /** The file `require(pkg)` loads from that copy of the package; null when it has none. */
  private mainOf(pkg: string, basedir: string): string | null {
    let main = this.mains.get(basedir);
    if (main === undefined) {
      try {
        main = require.resolve(pkg, { paths: [basedir] });
      } catch {
        main = null;
      }
      this.mains.set(basedir, main);
    }
    return main;
  }
}
