/**
 * Keeps the fleet connection from holding the process open: an app that would exit when its
 * work is done must still exit with fleet mode on. nats.js exposes no option for this, so the
 * socket and its ping timer (re-created after every ping) are unref'd on each heartbeat.
 * Reached through internals typed structurally; if a future nats.js moves them this does
 * nothing, which costs only that property.
 */
interface Unrefable {
  unref?: () => unknown;
}

interface NatsHandles {
  protocol?: {
    transport?: { socket?: Unrefable };
    heartbeats?: { timer?: Unrefable };
  };
}

export function unrefConnection(nc: unknown): void {
  const protocol = (nc as NatsHandles | null)?.protocol;
  try {
    protocol?.transport?.socket?.unref?.();
    protocol?.heartbeats?.timer?.unref?.();
  } catch {
    // Best effort only.
  }
}
