'use strict';
/**
 * Players the server has seen, in memory: the copy the database fallback answers from
 * while Postgres is unreachable, and the saves made meanwhile ("dirty"), written back when
 * the database breaker closes again. Bounded: past `limit` the oldest clean entries go.
 */
class PlayerCache {
  constructor(limit = 10_000) {
    this.limit = limit;
    this.players = new Map();
    this.dirtyNames = new Set();
  }

  get(name) {
    return this.players.get(name);
  }

  /** A copy the database confirmed. */
  remember(player) {
    this.store(player);
    this.dirtyNames.delete(player.name);
  }

  /** A save the database has not seen yet. */
  rememberUnsaved(player) {
    this.store(player);
    this.dirtyNames.add(player.name);
  }

  forget(name) {
    this.players.delete(name);
    this.dirtyNames.delete(name);
  }

  /** Saves still to write back, oldest first. */
  dirty() {
    return [...this.dirtyNames].map((name) => this.players.get(name)).filter(Boolean);
  }

  store(player) {
    // Re-inserting moves the entry to the end: Map order is then least recently stored first.
    this.players.delete(player.name);
    this.players.set(player.name, { ...player });
    if (this.players.size <= this.limit) return;
    for (const name of this.players.keys()) {
      if (this.dirtyNames.has(name)) continue;
      this.players.delete(name);
      if (this.players.size <= this.limit) return;
    }
  }
}

module.exports = { PlayerCache };
