/**
 * Guards `fs` and `fs/promises` with the `file_system` breaker: every form of each configured
 * operation (callback, promise, and `*Sync` when `sync: true`), only for calls whose path
 * matches the breaker's `paths` globs. Everything else reaches Node's own function after
 * the path check and nothing more.
 *
 * FileHandle methods (`handle.readFile()`, `handle.write()`...) are not guarded: like calls
 * made with a numeric file descriptor they carry no path to match. Opening the handle is
 * (`open`), which is where descriptor exhaustion (EMFILE) shows up.
 *
 * Node helpers built on the public functions are guarded as the operation they use, once:
 * `createReadStream`/`createWriteStream` open through `fs.open`, `exists` through
 * `fs.access`, `cp` through `fs.promises.stat`/`mkdir`/`copyFile`. While the breaker is open
 * they fail the way those helpers report errors (a stream emits 'error', `exists` says false).
 */
import { close } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { moduleDefinition, type ModuleDefinition } from './module-definition';
import { compilePathMatcher } from '../config';
import { callOptions, PLAIN_CALL, type OperationIndex } from '../core/internal';
import type { ResultHooks } from '../core/result-hooks';
import type { ManagedBreaker } from '../registry';
import { FS_OPERATIONS, type FsOperationShape } from './fs-operations';
import { compilePathRoots, fsPathOf } from './fs-paths';
import type { ModuleGuard } from './module-guard';
import type { Patcher } from './patcher';
import { isWrapped, unwrap, wrap } from './wrap';
import type { AnyFunction } from '../core/callable';

type Exports = Record<string, unknown>;

/**
 * Guarded calls on the current synchronous stack. Node's fs functions call each other
 * synchronously (`appendFile` → `fs.writeFile` → `fs.open`, `readFileSync` → `fs.openSync`,
 * `rmSync` → `fs.lstatSync`...), and a fallback or a breaker listener may touch a guarded
 * path too: while a guarded call is running, every wrapper goes straight to the original,
 * so one user call counts once and an open breaker's fallback cannot recurse into itself.
 * Shared by all instances: a nested call is nested whichever wrapper it enters.
 */
let nesting = 0;

/**
 * Paths under a guarded `rm`/`rmdir` still in flight, with how many are removing each.
 * Node's rimraf resolves `fs.lstat`, `fs.readdir`, `fs.unlink`... from the public module when
 * it is first loaded, so if that happens while we are patched it calls our wrappers on
 * later ticks, out of reach of `nesting`. Consulted only while the map is non-empty.
 */
const removing = new Map<string, number>();

function beginRemoval(root: string): void {
  removing.set(root, (removing.get(root) ?? 0) + 1);
}

function endRemoval(root: string): void {
  const n = (removing.get(root) ?? 1) - 1;
  if (n <= 0) removing.delete(root);
  else removing.set(root, n);
}

function insideRemoval(absPath: string): boolean {
  for (const root of removing.keys()) {
    if (absPath === root || absPath.startsWith(root.endsWith('/') ? root : `${root}/`)) return true;
  }
  return false;
}

/**
 * What one `file_system` breaker patches, and the per-call decisions. `active` is false
 * once unpatched: a wrapper someone kept a reference to (`const { readFile } = fs`, or
 * Node's rimraf) then behaves exactly like the original.
 */
class FsPatch {
  active = false;
  private readonly operations: readonly FsOperationShape[];
  private readonly matches: (absPath: string) => boolean;
  private readonly rootOf: ((absPath: string) => string | null) | null;
  /** What this patch wrapped, to undo exactly that (another instance may own the rest). */
  private readonly wrapped: Array<{ target: object; name: string; namespace: Exports | null }> = [];

  constructor(private readonly guard: ModuleGuard) {
    this.operations = FS_OPERATIONS.filter((op) => guard.guards(op.name));
    this.matches = compilePathMatcher(guard.config.paths);
    this.rootOf = guard.perTarget ? compilePathRoots(guard.config.paths) : null;
  }

  patchFs(exports: unknown): unknown {
    const { target, namespace } = moduleObject(exports);
    if (target === null) return exports;
    for (const op of this.operations) {
      this.wrapOne(target, namespace, op.name, getCallbackPatch(this, op));
      if (this.guard.config.syncCalls) this.wrapOne(target, namespace, `${op.name}Sync`, getSyncPatch(this, op));
    }
    // `fs.promises` is the very object `require('fs/promises')` returns; an app that never
    // loads `fs/promises` by name still reaches it this way.
    const promises = readProperty(target, 'promises');
    if (isObject(promises)) this.patchPromiseApi(promises, null);
    this.active = true;
    syncEsmBindings();
    return exports;
  }

  patchPromises(exports: unknown): unknown {
    const { target, namespace } = moduleObject(exports);
    if (target === null) return exports;
    this.patchPromiseApi(target, namespace);
    this.active = true;
    syncEsmBindings();
    return exports;
  }

  /** Undoes everything this patch wrapped, whichever module definition it came through. */
  unpatch(): void {
    this.active = false;
    for (const { target, name, namespace } of this.wrapped.splice(0)) {
      unwrap(target, name);
      if (namespace !== null) setExport(namespace, name, (target as Exports)[name]);
    }
    syncEsmBindings();
  }

  /** The absolute path the call acts on, when it is one to guard; null sends it straight through. */
  guardedPath(args: readonly unknown[], paths: 1 | 2): string | null {
    let abs = fsPathOf(args[0]);
    if (abs === null || !this.matches(abs)) {
      if (paths === 1) return null;
      abs = fsPathOf(args[1]);
      if (abs === null || !this.matches(abs)) return null;
    }
    if (removing.size > 0 && insideRemoval(abs)) return null;
    return abs;
  }

  entryFor(absPath: string): ManagedBreaker {
    if (this.rootOf === null) return this.guard.entry();
    const root = this.rootOf(absPath);
    return root === null ? this.guard.entry() : this.guard.entry(root);
  }

  op(entry: ManagedBreaker, op: FsOperationShape): OperationIndex {
    return this.guard.op(entry, op.name);
  }

  private patchPromiseApi(target: object, namespace: Exports | null): void {
    for (const op of this.operations) this.wrapOne(target, namespace, op.name, getPromisePatch(this, op));
  }

  private wrapOne(target: object, namespace: Exports | null, name: string, factory: (original: AnyFunction) => AnyFunction): void {
    if (isWrapped(target, name)) {
      // Through the other module id (`fs.promises` is `fs/promises`): only this namespace's
      // bindings are new. Wrapped by another instance that was never disabled: leave it be.
      const ours = this.wrapped.some((w) => w.target === target && w.name === name);
      if (!ours || namespace === null) return;
    } else if (!wrap(target, name, factory)) {
      return;
    }
    this.wrapped.push({ target, name, namespace });
    if (namespace !== null) setExport(namespace, name, (target as Exports)[name]);
  }
}

// ------------------------------------------------------------------ late results

function ignore(): void {}

/** An `open` whose caller already got ECIRCUITTIMEOUT: nobody will close its descriptor. */
const OPEN_CALLBACK_HOOKS: ResultHooks = {
  disposeLate(fd: unknown): void {
    if (typeof fd === 'number') close(fd, ignore);
  },
};

/** The same for `fs.promises.open`, which resolves with a FileHandle. */
const OPEN_PROMISE_HOOKS: ResultHooks = {
  disposeLate(handle: unknown): void {
    const closing = (handle as { close?: () => Promise<void> } | null)?.close?.();
    if (closing !== undefined && typeof closing.then === 'function') closing.then(undefined, ignore);
  },
};

// ------------------------------------------------------------------ patch factories

function getCallbackPatch(patch: FsPatch, op: FsOperationShape): (original: AnyFunction) => AnyFunction {
  const options = op.name === 'open' ? callOptions({ hooks: OPEN_CALLBACK_HOOKS }) : PLAIN_CALL;
  return function patchCallbackForm(original) {
    return function guardedFsCallback(this: unknown, ...args: unknown[]): unknown {
      if (!patch.active || nesting > 0) return original.apply(this, args);
      const abs = patch.guardedPath(args, op.paths);
      if (abs === null) return original.apply(this, args);
      const index = op.callbackIndex(args);
      const callback = args[index];
      // No callback where Node looks for one: Node throws its own argument error.
      if (typeof callback !== 'function') return original.apply(this, args);
      const entry = patch.entryFor(abs);
      let removal = op.removesTree;
      if (removal) beginRemoval(abs);
      args[index] = function (this: unknown, ...results: unknown[]): unknown {
        if (removal) {
          removal = false;
          endRemoval(abs);
        }
        // Node calls some callbacks synchronously (a pre-aborted signal, `readdir` with
        // `recursive` on Node 20): the app's code in them is not nested in our call.
        const outer = nesting;
        nesting = 0;
        try {
          return callback.apply(this, results);
        } finally {
          nesting = outer;
        }
      };
      nesting++;
      try {
        return entry.breaker.invokeCallback(original, this, args, index, patch.op(entry, op), options);
      } catch (err) {
        // Thrown before the callback could be scheduled (bad arguments): it will never run.
        if (removal) {
          removal = false;
          endRemoval(abs);
        }
        throw err;
      } finally {
        nesting--;
      }
    };
  };
}

function getPromisePatch(patch: FsPatch, op: FsOperationShape): (original: AnyFunction) => AnyFunction {
  const options = op.name === 'open' ? callOptions({ hooks: OPEN_PROMISE_HOOKS }) : PLAIN_CALL;
  return function patchPromiseForm(original) {
    return function guardedFsPromise(this: unknown, ...args: unknown[]): unknown {
      if (!patch.active || nesting > 0) return original.apply(this, args);
      const abs = patch.guardedPath(args, op.paths);
      if (abs === null) return original.apply(this, args);
      const entry = patch.entryFor(abs);
      if (op.removesTree) beginRemoval(abs);
      let result: Promise<unknown>;
      nesting++;
      try {
        result = entry.breaker.invoke(original, this, args, patch.op(entry, op), options);
      } catch (err) {
        if (op.removesTree) endRemoval(abs);
        throw err;
      } finally {
        nesting--;
      }
      if (!op.removesTree) return result;
      return result.then(
        (value) => {
          endRemoval(abs);
          return value;
        },
        (err: unknown) => {
          endRemoval(abs);
          throw err;
        },
      );
    };
  };
}

function getSyncPatch(patch: FsPatch, op: FsOperationShape): (original: AnyFunction) => AnyFunction {
  return function patchSyncForm(original) {
    return function guardedFsSync(this: unknown, ...args: unknown[]): unknown {
      if (!patch.active || nesting > 0) return original.apply(this, args);
      const abs = patch.guardedPath(args, op.paths);
      if (abs === null) return original.apply(this, args);
      const entry = patch.entryFor(abs);
      nesting++;
      try {
        return entry.breaker.invokeSync(original, this, args, patch.op(entry, op));
      } finally {
        nesting--;
      }
    };
  };
}

// ------------------------------------------------------------------ module objects

function isObject(value: unknown): value is object {
  return (typeof value === 'object' && value !== null) || typeof value === 'function';
}

function readProperty(target: object, name: string): unknown {
  try {
    return (target as Exports)[name];
  } catch {
    return undefined;
  }
}

/**
 * What to patch for a module: the CommonJS exports object itself, or, for an ES module
 * namespace handed over by import-in-the-middle, its `default` (the same CommonJS object,
 * so `require` and `import fs from` users share one patch) plus the namespace's named
 * bindings, which `import { readFile } from 'fs'` reads.
 */
function moduleObject(exports: unknown): { target: object | null; namespace: Exports | null } {
  if (!isObject(exports)) return { target: null, namespace: null };
  if ((exports as { [Symbol.toStringTag]?: unknown })[Symbol.toStringTag] === 'Module') {
    const real = readProperty(exports, 'default');
    return isObject(real) ? { target: real, namespace: exports as Exports } : { target: null, namespace: null };
  }
  return { target: exports, namespace: null };
}

function setExport(namespace: Exports, name: string, value: unknown): void {
  try {
    if (name in namespace) namespace[name] = value;
  } catch {
    // A namespace that refuses the binding keeps the original; `fs.readFile` users are guarded.
  }
}

/**
 * Node's own ES module facade for builtins (`import { readFile } from 'node:fs'` without
 * import-in-the-middle) copies the exports once; this makes it see the patch, and its removal.
 */
function syncEsmBindings(): void {
  try {
    syncBuiltinESMExports();
  } catch {
    // Not worth failing a patch over: CommonJS users and `fs.x` callers are guarded anyway.
  }
}

// ------------------------------------------------------------------ the patcher

export const fsPatcher: Patcher = {
  module: 'fs',
  definitions(guard: ModuleGuard): ModuleDefinition[] {
    const patch = new FsPatch(guard);
    // Both ids come through require-in-the-middle and import-in-the-middle without their
    // `node:` prefix, so these two names cover `fs`, `node:fs`, `fs/promises` and
    // `node:fs/promises`. Either unpatch undoes both: they share `fs.promises`.
    return [
      moduleDefinition(
        'fs',
        ['*'],
        (exports) => patch.patchFs(exports),
        () => patch.unpatch(),
      ),
      moduleDefinition(
        'fs/promises',
        ['*'],
        (exports) => patch.patchPromises(exports),
        () => patch.unpatch(),
      ),
    ];
  },
};
