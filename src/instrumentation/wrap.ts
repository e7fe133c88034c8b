/**
 * Reversible, idempotent in-place wrapping that works on plain methods, prototype methods
 * and getter-only exports (nats exports its API through getters, which shimmer cannot
 * wrap). The original descriptor is remembered and restored by `unwrap`, but only while
 * the property still holds our wrapper (shimmer's rule): another instrumentation that
 * wrapped on top of us (instrumentation-pg, instrumentation-http) must survive our
 * disable(). Ours then stays in its chain, turned into a plain pass-through.
 */

import type { AnyFunction } from '../core/callable';

interface Wrapping {
  /** The property as it was before us. */
  readonly saved: PropertyDescriptor;
  /** The function the property hands out: forwards to `route.fn`. */
  readonly installed: AnyFunction;
  /** The wrapper while wrapped; the original once unwrapped from under someone else's wrapper. */
  readonly route: { fn: AnyFunction };
}

const wrappings = new WeakMap<object, Map<PropertyKey, Wrapping>>();

/** Whether `target[name]` is currently wrapped by us. */
export function isWrapped(target: object, name: PropertyKey): boolean {
  return wrappings.get(target)?.has(name) ?? false;
}

/**
 * Replaces the own property `target[name]` (a function, or a getter returning one) with
 * `factory(original)`. Keeps enumerability, configurability and writability. Returns false
 * (and changes nothing) when the property is missing, not a function or not configurable.
 */
export function wrap<F extends AnyFunction>(target: object, name: PropertyKey, factory: (original: F) => F): boolean {
  if (isWrapped(target, name)) return true;
  const desc = Object.getOwnPropertyDescriptor(target, name);
  if (!desc || !desc.configurable) return false;
  const original =
    typeof desc.value === 'function' ? (desc.value as F) : typeof desc.get === 'function' ? (desc.get.call(target) as F) : null;
  if (typeof original !== 'function') return false;
  const route = { fn: factory(original) as AnyFunction };
  // The one indirection that lets a wrapper someone else captured become a pass-through.
  const installed = function (this: unknown, ...args: unknown[]): unknown {
    return route.fn.apply(this, args);
  };
  copyFunctionShape(original, installed);
  const next: PropertyDescriptor = desc.get === undefined ? { ...desc, value: installed } : { ...desc, get: () => installed };
  let map = wrappings.get(target);
  if (!map) {
    map = new Map();
    wrappings.set(target, map);
  }
  map.set(name, { saved: desc, installed, route });
  Object.defineProperty(target, name, next);
  return true;
}

/**
 * Puts back the original property when it still holds our wrapper. When another wrapper
 * sits on top (it captured ours as its "original"), the property is left alone and ours
 * only forwards to the original from now on. A no-op when not wrapped.
 */
export function unwrap(target: object, name: PropertyKey): void {
  const map = wrappings.get(target);
  const w = map?.get(name);
  if (!map || !w) return;
  map.delete(name);
  const current = Object.getOwnPropertyDescriptor(target, name);
  const ours =
    current !== undefined && (current.get === undefined ? current.value === w.installed : safeGet(current, target) === w.installed);
  if (ours) Object.defineProperty(target, name, w.saved);
  w.route.fn = (w.saved.value ?? w.saved.get?.call(target)) as AnyFunction;
}

/** The unwrapped function behind `target[name]`, for tests and for patchers that must bypass us. */
export function originalOf<F>(target: object, name: PropertyKey): F | undefined {
  const saved = wrappings.get(target)?.get(name)?.saved;
  if (!saved) return undefined;
  return (saved.value ?? saved.get?.call(target)) as F;
}

function safeGet(desc: PropertyDescriptor, target: object): unknown {
  try {
    return desc.get?.call(target);
  } catch {
    return undefined;
  }
}

/** Apps look at `fn.name` and `fn.length`; keep them as the library had them. */
function copyFunctionShape(from: AnyFunction, to: AnyFunction): void {
  for (const key of ['name', 'length'] as const) {
    const d = Object.getOwnPropertyDescriptor(from, key);
    if (d) Object.defineProperty(to, key, d);
  }
}
