/**
 * Reversible, idempotent in-place wrapping that works on plain methods, prototype methods
 * and getter-only exports (nats exports its API through getters, which shimmer cannot
 * wrap). The original descriptor is remembered and restored exactly by `unwrap`.
 */

type AnyFunction = (this: unknown, ...args: unknown[]) => unknown;

const wrappedDescriptors = new WeakMap<object, Map<PropertyKey, PropertyDescriptor>>();

function findDescriptor(target: object, name: PropertyKey): PropertyDescriptor | undefined {
  return Object.getOwnPropertyDescriptor(target, name);
}

/** Whether `target[name]` is currently wrapped by us. */
export function isWrapped(target: object, name: PropertyKey): boolean {
  return wrappedDescriptors.get(target)?.has(name) ?? false;
}

/**
 * Replaces the own property `target[name]` (a function, or a getter returning one) with
 * `factory(original)`. Keeps enumerability, configurability and writability. Returns false
 * (and changes nothing) when the property is missing, not a function or not configurable.
 */
export function wrap<F extends AnyFunction>(target: object, name: PropertyKey, factory: (original: F) => F): boolean {
  if (isWrapped(target, name)) return true;
  const desc = findDescriptor(target, name);
  if (!desc || !desc.configurable) return false;
  let next: PropertyDescriptor;
  if (typeof desc.value === 'function') {
    const wrapped = factory(desc.value as F);
    copyFunctionShape(desc.value as AnyFunction, wrapped);
    next = { ...desc, value: wrapped };
  } else if (typeof desc.get === 'function') {
    const original = desc.get.call(target);
    if (typeof original !== 'function') return false;
    const wrapped = factory(original as F);
    copyFunctionShape(original as AnyFunction, wrapped);
    next = { ...desc, get: () => wrapped };
  } else {
    return false;
  }
  let map = wrappedDescriptors.get(target);
  if (!map) {
    map = new Map();
    wrappedDescriptors.set(target, map);
  }
  map.set(name, desc);
  Object.defineProperty(target, name, next);
  return true;
}

/** Puts back the original property; a no-op when it is not wrapped. */
export function unwrap(target: object, name: PropertyKey): void {
  const map = wrappedDescriptors.get(target);
  const desc = map?.get(name);
  if (!map || !desc) return;
  Object.defineProperty(target, name, desc);
  map.delete(name);
}

/** The unwrapped function behind `fn`, for tests and for patchers that must bypass us. */
export function originalOf<F>(target: object, name: PropertyKey): F | undefined {
  const desc = wrappedDescriptors.get(target)?.get(name);
  if (!desc) return undefined;
  return (desc.value ?? desc.get?.call(target)) as F;
}

/** Apps look at `fn.name` and `fn.length`; keep them as the library had them. */
function copyFunctionShape(from: AnyFunction, to: AnyFunction): void {
  for (const key of ['name', 'length'] as const) {
    const d = Object.getOwnPropertyDescriptor(from, key);
    if (d) Object.defineProperty(to, key, d);
  }
}

