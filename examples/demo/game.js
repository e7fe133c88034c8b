'use strict';
/**
 * The game: one session per WebSocket client. A client logs in (password checked with
 * scrypt, player loaded from or created in Postgres), walks between rooms (room files) and
 * talks (NATS chat). A dependency failure becomes a message to that player; it never ends
 * the session or the server.
 *
 * Client messages (JSON): {type:"login",name,password} {type:"move",direction}
 * {type:"say",text} {type:"look"}. Server messages: hello, welcome, room, chat, notice, error.
 */
const { WebSocket } = require('ws');
const { withOperation } = require('breakerbox');
const { hashPassword, verifyPassword } = require('./passwords');
const { describe } = require('./log');

const NAME = /^[A-Za-z][A-Za-z0-9_]{2,23}$/;
const MAX_PASSWORD = 128;
const MAX_CHAT = 280;

class PlayerError extends Error {}

function createGame({ players, rooms, chat, log }) {
  const sessions = new Set();

  function attach(socket) {
    const session = { socket, player: null, queue: Promise.resolve() };
    sessions.add(session);
    socket.on('error', (err) => log.every('ws-client', 10_000, `websocket: client error (${describe(err)})`));
    socket.on('close', () => sessions.delete(session));
    socket.on('message', (data) => {
      // One message at a time per player: a move finishes before the next one starts.
      session.queue = session.queue
        .then(() => handle(session, data))
        .catch((err) => tell(session, { type: 'error', message: err instanceof PlayerError ? err.message : describe(err) }));
    });
    tell(session, { type: 'hello', message: 'log in with {"type":"login","name":"...","password":"..."}' });
  }

  async function handle(session, data) {
    let message;
    try {
      message = JSON.parse(String(data));
    } catch {
      throw new PlayerError('messages are JSON objects');
    }
    if (message === null || typeof message !== 'object') throw new PlayerError('messages are JSON objects');
    if (message.type === 'login') return login(session, message);
    if (session.player === null) throw new PlayerError('log in first');
    switch (message.type) {
      case 'move':
        return move(session, message.direction);
      case 'say':
        return say(session, message.text);
      case 'look':
        return showRoom(session, (await rooms.load(session.player.room)));
      default:
        throw new PlayerError(`unknown message type ${JSON.stringify(message.type)}`);
    }
  }

  async function login(session, { name, password }) {
    if (session.player !== null) throw new PlayerError('already logged in');
    if (typeof name !== 'string' || !NAME.test(name)) throw new PlayerError('a name is 3-24 letters, digits or _');
    if (typeof password !== 'string' || password.length < 4 || password.length > MAX_PASSWORD) {
      throw new PlayerError(`a password is 4-${MAX_PASSWORD} characters`);
    }
    const loaded = await players.load(name);
    let player = loaded.player;
    if (player) {
      if (!(await verifyPassword(password, player.salt, player.hash))) throw new PlayerError('wrong password');
    } else {
      player = { name, room: rooms.startRoom, ...(await hashPassword(password)) };
      await savePlayer(session, player);
    }
    session.player = player;
    tell(session, { type: 'welcome', name });
    if (loaded.fromCache) tell(session, { type: 'notice', message: 'The archives are unreachable: your progress is kept in memory for now.' });
    await showRoom(session, await rooms.load(player.room));
  }

  async function move(session, direction) {
    const player = session.player;
    const here = await rooms.load(player.room);
    const target = typeof direction === 'string' ? here.room.exits?.[direction] : undefined;
    if (target === undefined) throw new PlayerError(`you cannot go ${String(direction)} from here`);
    const there = await rooms.load(target);
    player.room = target;
    await savePlayer(session, player);
    await showRoom(session, there);
  }

  function say(session, text) {
    if (typeof text !== 'string' || text.trim() === '') throw new PlayerError('say something');
    chat.send({ room: session.player.room, from: session.player.name, text: text.trim().slice(0, MAX_CHAT), at: Date.now() });
  }

  /** A failed save does not undo the move: the player is told, and the next save catches up. */
  async function savePlayer(session, player) {
    try {
      await players.save(player);
    } catch (err) {
      log.every('save-failed', 10_000, `players: save failed (${describe(err)})`);
      tell(session, { type: 'notice', message: 'Your progress could not be saved just now.' });
    }
  }

  function showRoom(session, { room, stale }) {
    const others = [...sessions]
      .filter((s) => s !== session && s.player !== null && s.player.room === room.id)
      .map((s) => s.player.name);
    tell(session, {
      type: 'room',
      room: { id: room.id, name: room.name, description: room.description, exits: Object.keys(room.exits ?? {}) },
      others,
      stale,
    });
  }

  /** Hands a chat line to the players in its room. */
  function deliverChat(line) {
    for (const session of sessions) {
      if (session.player !== null && session.player.room === line.room) {
        tell(session, { type: 'chat', room: line.room, from: line.from, text: line.text });
      }
    }
  }

  function tell(session, payload) {
    const socket = session.socket;
    if (socket.readyState !== WebSocket.OPEN) return;
    const onSent = (err) => {
      if (err) log.every('ws-send', 10_000, `websocket: send to ${session.player?.name ?? 'a client'} failed (${describe(err)})`);
    };
    try {
      withOperation('push_update', () => socket.send(JSON.stringify(payload), onSent));
    } catch (err) {
      onSent(err);
    }
  }

  /** Ends every session at once, as a crashed proxy in front of the server would. */
  function dropAll() {
    for (const session of sessions) session.socket.terminate();
  }

  function closeAll() {
    for (const session of sessions) session.socket.close(1001, 'server shutting down');
  }

  return { attach, deliverChat, dropAll, closeAll, get sessionCount() { return sessions.size; } };
}

module.exports = { createGame };
