'use strict';
/**
 * Room files: `<data dir>/rooms/<id>.json`, read on every visit so an edited room shows at
 * once. The data dir is `./data` relative to the working directory, the path the built-in
 * `file_system` breaker guards (`./data/**`), and is seeded from the rooms shipped beside
 * this file when they are missing. A room that cannot be read is served from the last copy
 * read, marked stale.
 *
 * Disk chaos points the reads at a file whose reads fail with EIO in the kernel (a link
 * to /proc/self/mem, read from offset 0, an address no process has mapped): a real I/O
 * error from the real fs call, on a path the breaker guards.
 */
const fs = require('node:fs');
const path = require('node:path');
const { withOperation } = require('breakerbox');

const ROOM_ID = /^[a-z][a-z0-9_]{0,63}$/;
const START_ROOM = 'arkham_square';
const UNREADABLE = '/proc/self/mem';

class RoomUnavailableError extends Error {}

function createRoomStore({ dataDir, shippedRoomsDir, log }) {
  const roomsDir = path.join(dataDir, 'rooms');
  const brokenFile = path.join(dataDir, 'chaos', 'unreadable.json');
  const lastGood = new Map();
  let diskBroken = false;

  /** Copies the shipped rooms that are missing; existing files (maybe edited) are kept. */
  async function seed() {
    if (path.resolve(roomsDir) === path.resolve(shippedRoomsDir)) return;
    await fs.promises.mkdir(roomsDir, { recursive: true });
    const present = new Set(await fs.promises.readdir(roomsDir));
    let copied = 0;
    for (const name of await fs.promises.readdir(shippedRoomsDir)) {
      if (!name.endsWith('.json') || present.has(name)) continue;
      const text = await fs.promises.readFile(path.join(shippedRoomsDir, name), 'utf8');
      // 'wx': create only, so a room written since the listing above is not overwritten.
      await withOperation('seed_room', () => fs.promises.writeFile(path.join(roomsDir, name), text, { flag: 'wx' }));
      copied++;
    }
    if (copied > 0) log(`rooms: copied ${copied} shipped room file(s) to ${roomsDir}`);
  }

  /** `{ room, stale }`; throws RoomUnavailableError when the room was never read. */
  async function load(id) {
    if (typeof id !== 'string' || !ROOM_ID.test(id)) throw new RoomUnavailableError(`no such room: ${String(id)}`);
    const file = diskBroken ? brokenFile : path.join(roomsDir, `${id}.json`);
    try {
      const text = await withOperation('load_room', () => fs.promises.readFile(file, 'utf8'));
      const room = JSON.parse(text);
      lastGood.set(id, room);
      return { room, stale: false };
    } catch (err) {
      const cached = lastGood.get(id);
      if (cached) return { room: cached, stale: true, error: err };
      throw new RoomUnavailableError(`room ${id} cannot be read (${err.code ?? err.message})`, { cause: err });
    }
  }

  function canBreakDisk() {
    return fs.existsSync(UNREADABLE);
  }

  async function breakDisk() {
    await fs.promises.mkdir(path.dirname(brokenFile), { recursive: true });
    await fs.promises.rm(brokenFile, { force: true });
    await fs.promises.symlink(UNREADABLE, brokenFile);
    diskBroken = true;
  }

  async function healDisk() {
    diskBroken = false;
    await fs.promises.rm(brokenFile, { force: true });
  }

  return { seed, load, canBreakDisk, breakDisk, healDisk, startRoom: START_ROOM };
}

module.exports = { createRoomStore, RoomUnavailableError };
