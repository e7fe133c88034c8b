/**
 * breakerbox's own NATS connections (fleet mode), which the nats patcher must neither guard
 * nor count: the fleet channel is not the app's dependency, and its outages must not open
 * the app's nats breaker (nor should a nats breaker the app tripped silence the fleet).
 *
 * Why marks rather than "connect through the unpatched original": the patcher wraps the
 * library's classes in place (the static `connect` and the connection prototype), so every
 * connection, ours included, runs through the wrappers; there is no unpatched copy of
 * `publish` to call. A mark is one WeakSet lookup the wrappers already make for connections
 * the app closed, and it holds whether `nats` was loaded before or after the patcher.
 */

/** Depth of our own synchronous `connect()` calls: the connection object is made inside them. */
let ownConnectDepth = 0;
const own = new WeakSet<object>();

/** Runs `connect` (nats's `connect(opts)`) so that the patcher lets it straight through. */
export function connectUnguarded<T>(connect: () => T): T {
  ownConnectDepth++;
  try {
    return connect();
  } finally {
    ownConnectDepth--;
  }
}

/** For the patched static `connect`: true while breakerbox itself is connecting. */
export function isOwnConnect(): boolean {
  return ownConnectDepth > 0;
}

/** Called with the connection `connectUnguarded` produced, before anything is done on it. */
export function markOwnConnection(nc: object): void {
  own.add(nc);
}

/** True for a connection of breakerbox's own (or its ProtocolHandler's `publisher`). */
export function isOwnConnection(nc: unknown): boolean {
  return typeof nc === 'object' && nc !== null && own.has(nc);
}
