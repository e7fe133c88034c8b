/**
 * Wrapping a method a prototype inherits rather than owns (`WebSocket.prototype.emit` is
 * EventEmitter's). `wrap()` only replaces own properties, and wrapping
 * `EventEmitter.prototype.emit` itself would put us in front of every emitter in the
 * process, so the wrapper is defined on the prototype that inherits it and deleted again
 * by `unwrapInherited`, which leaves the prototype exactly as the library built it.
 */

import type { AnyFunction } from '../core/callable';

const installed = new WeakMap<object, Map<PropertyKey, AnyFunction>>();

/** Whether `proto[name]` is currently an inherited-method wrapper of ours. */
export function isWrappedInherited(proto: object, name: PropertyKey): boolean {
  return installed.get(proto)?.has(name) ?? false;
}

/**
 * Defines `proto[name] = factory(parent)` as an own property, where `parent` is the
 * prototype `name` is inherited from: the wrapper should look the method up there at call
 * time, so a later patch of the parent's method (another tool's) still takes effect.
 * Returns false (and changes nothing) when `proto` already owns `name` or the inherited
 * value is not a function. Idempotent.
 */
export function wrapInherited<F extends AnyFunction>(proto: object, name: PropertyKey, factory: (parent: object) => F): boolean {
  if (isWrappedInherited(proto, name)) return true;
  if (Object.prototype.hasOwnProperty.call(proto, name)) return false;
  const parent = Object.getPrototypeOf(proto) as object | null;
  if (parent === null) return false;
  const inherited = (parent as Record<PropertyKey, unknown>)[name];
  if (typeof inherited !== 'function') return false;
  const wrapped = factory(parent);
  for (const key of ['name', 'length'] as const) {
    const d = Object.getOwnPropertyDescriptor(inherited, key);
    if (d) Object.defineProperty(wrapped, key, d);
  }
  // Same attributes as the property it shadows: an enumerable inherited method shadowed by
  // a non-enumerable own one would vanish from for...in over every instance.
  const shadowed = findDescriptor(parent, name);
  Object.defineProperty(proto, name, {
    value: wrapped,
    writable: shadowed?.writable ?? true,
    enumerable: shadowed?.enumerable ?? false,
    configurable: true,
  });
  let map = installed.get(proto);
  if (!map) {
    map = new Map();
    installed.set(proto, map);
  }
  map.set(name, wrapped);
  return true;
}

/** Removes our own property again, if it is still the one we defined. */
export function unwrapInherited(proto: object, name: PropertyKey): void {
  const map = installed.get(proto);
  const wrapped = map?.get(name);
  if (!map || !wrapped) return;
  map.delete(name);
  const current = Object.getOwnPropertyDescriptor(proto, name);
  if (current?.value === wrapped) delete (proto as Record<PropertyKey, unknown>)[name];
}

function findDescriptor(from: object, name: PropertyKey): PropertyDescriptor | undefined {
  for (let o: object | null = from; o !== null; o = Object.getPrototypeOf(o) as object | null) {
    const d = Object.getOwnPropertyDescriptor(o, name);
    if (d) return d;
  }
  return undefined;
}
