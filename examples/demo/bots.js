'use strict';
/**
 * Synthetic players, so the dashboards have something to show without anyone playing: each
 * bot connects with a `ws` client (guarded by the `websocket` breaker), logs in, wanders
 * between rooms and chats, and after a while logs out and comes back, so logins (password
 * hashing, player loads) keep happening too. A bot that cannot connect retries, waiting as
 * long as an open breaker says to.
 */
const { WebSocket } = require('ws');

const ACT_MIN_MS = 600;
const ACT_SPREAD_MS = 900;
const SESSION_MIN_MS = 20_000;
const SESSION_SPREAD_MS = 20_000;
const RETRY_MS = 1_000;
const MAX_RETRY_MS = 5_000;
const LINES = [
  'Did anyone else hear that?',
  'The stars are wrong tonight.',
  'Has anyone seen the librarian?',
  'I found a page torn from the Necronomicon.',
  'Do not read the marginalia.',
  'The fog is coming in off the river.',
  'Who keeps scratching at the walls?',
];

function startBots({ count, url }) {
  const bots = [];
  for (let i = 1; i <= count; i++) bots.push(new Bot(`bot_${i}`, `bot-${i}-password`, url));
  for (const bot of bots) bot.connect();
  return {
    stop() {
      for (const bot of bots) bot.stop();
    },
  };
}

class Bot {
  constructor(name, password, url) {
    this.name = name;
    this.password = password;
    this.url = url;
    this.socket = null;
    this.timer = null;
    this.exits = [];
    this.sessionEnds = 0;
    this.retryMs = RETRY_MS;
    this.stopped = false;
  }

  connect() {
    if (this.stopped) return;
    const socket = new WebSocket(this.url);
    let opened = false;
    let refusedForMs = 0;
    this.socket = socket;
    socket.on('open', () => {
      opened = true;
      this.retryMs = RETRY_MS;
      this.sessionEnds = Date.now() + SESSION_MIN_MS + Math.random() * SESSION_SPREAD_MS;
      this.send({ type: 'login', name: this.name, password: this.password });
    });
    socket.on('message', (data) => this.onMessage(data));
    // 'error' is always followed by 'close', where the reconnect is scheduled.
    socket.on('error', (err) => {
      if (err && err.code === 'ECIRCUITOPEN') refusedForMs = err.retryAfterMs ?? 0;
    });
    socket.on('close', () => {
      clearTimeout(this.timer);
      if (this.stopped) return;
      let delay = RETRY_MS;
      if (!opened) {
        // An open breaker says when a trial is allowed; otherwise back off a little more each time.
        delay = refusedForMs > 0 ? Math.min(refusedForMs, MAX_RETRY_MS) : this.retryMs;
        this.retryMs = Math.min(this.retryMs * 2, MAX_RETRY_MS);
      }
      this.timer = setTimeout(() => this.connect(), delay + Math.random() * 250);
    });
  }

  onMessage(data) {
    let message;
    try {
      message = JSON.parse(String(data));
    } catch {
      return;
    }
    if (message.type === 'room' && Array.isArray(message.room?.exits)) this.exits = message.room.exits;
    if (message.type === 'welcome' || message.type === 'room' || message.type === 'error') this.scheduleAct();
  }

  scheduleAct() {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.act(), ACT_MIN_MS + Math.random() * ACT_SPREAD_MS);
  }

  act() {
    if (this.stopped || this.socket?.readyState !== WebSocket.OPEN) return;
    if (Date.now() > this.sessionEnds) {
      this.socket.close(1000, 'logging out');
      return;
    }
    const roll = Math.random();
    if (roll < 0.3) {
      this.send({ type: 'say', text: LINES[Math.floor(Math.random() * LINES.length)] });
      // A chat line gets no direct answer, so the next act is scheduled here.
      this.scheduleAct();
    } else if (this.exits.length > 0 && roll < 0.95) {
      this.send({ type: 'move', direction: this.exits[Math.floor(Math.random() * this.exits.length)] });
    } else {
      this.send({ type: 'look' });
    }
  }

  send(message) {
    if (this.socket?.readyState !== WebSocket.OPEN) return;
    this.socket.send(JSON.stringify(message), () => undefined);
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.socket && this.socket.readyState !== WebSocket.CLOSED) this.socket.close(1001, 'bot stopped');
  }
}

module.exports = { startBots };
