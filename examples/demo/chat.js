'use strict';
/**
 * Room chat through NATS: a line is published on `mythos.chat.<room>`, and the server's
 * subscription hands what arrives to the players in that room (with several servers, every
 * server's players would hear it). breakerbox guards the connection and the publishes (the
 * `nats` breaker); its fallback delivers a refused or failed line straight to this
 * server's own players, so chat keeps working locally while NATS is away.
 */
const { connect } = require('nats');
const { setTimeout: sleep } = require('node:timers/promises');
const { registry, withOperation } = require('breakerbox');
const { describe } = require('./log');

const SUBJECT_PREFIX = 'mythos.chat.';
const RETRY_MS = 1_000;
const MAX_RETRY_MS = 10_000;

function createChat({ natsUrl, relay, deliver, log }) {
  const nats = registry.get('nats');
  let nc = null;
  let stopped = false;
  let running = null;
  // Ends the wait between connection attempts at stop(), so it does not hold the process.
  const stopping = new globalThis.AbortController();

  /**
   * The `nats` breaker's fallback while connected: `(subject, payload, options?, err)` for
   * a publish. Chat lines are delivered here; anything else fails as it would have. It is
   * not set between connections: a refused connect has nothing to fall back on, and the
   * retry loop below handles it.
   */
  function deliverLocally(...args) {
    const [subject, payload] = args;
    if (typeof subject === 'string' && subject.startsWith(SUBJECT_PREFIX) && payload instanceof Uint8Array) {
      deliver(decode(payload));
      return undefined;
    }
    throw args[args.length - 1];
  }

  /** Connects, and reconnects whenever the connection ends, until stop(). */
  function start() {
    running ??= keepConnected();
  }

  async function keepConnected() {
    let delay = RETRY_MS;
    while (!stopped) {
      try {
        nc = await connect({
          servers: relayUrl(natsUrl, relay),
          name: 'breakerbox-demo',
          timeout: 3_000,
          // Once connected, ride out outages of any length: the breaker, not a retry
          // budget, decides when publishes are refused.
          maxReconnectAttempts: -1,
          reconnectTimeWait: 1_000,
          // Servers the cluster advertises would bypass the relay (and the chaos switch).
          ignoreClusterUpdates: true,
        });
        delay = RETRY_MS;
        log(`nats: connected (${natsUrl})`);
        nats.fallback(deliverLocally);
        void relayMessages(nc.subscribe(`${SUBJECT_PREFIX}*`));
        const err = await nc.closed();
        nats.fallback(null);
        nc = null;
        if (!stopped) log(`nats: connection closed${err ? ` (${describe(err)})` : ''}`);
      } catch (err) {
        nc = null;
        log.every('nats-connect', 15_000, `nats: cannot connect to ${natsUrl} (${describe(err)}); chat stays local meanwhile`);
        // An open breaker says when a trial is allowed; before that, trying is pointless.
        const wait = err && err.code === 'ECIRCUITOPEN' && err.retryAfterMs ? err.retryAfterMs : delay;
        delay = Math.min(delay * 2, MAX_RETRY_MS);
        await sleep(Math.max(wait, 100), undefined, { signal: stopping.signal }).catch(() => undefined);
      }
    }
  }

  async function relayMessages(subscription) {
    try {
      for await (const message of subscription) {
        try {
          deliver(decode(message.data));
        } catch (err) {
          log.every('chat-bad', 10_000, `chat: dropped a malformed message on ${message.subject} (${describe(err)})`);
        }
      }
    } catch (err) {
      log.every('chat-sub', 10_000, `chat: subscription ended (${describe(err)})`);
    }
  }

  /** Publishes a chat line; without a connection it is delivered to local players only. */
  function send(line) {
    const payload = encode(line);
    const connection = nc;
    if (connection === null || connection.isClosed()) {
      deliver(line);
      return;
    }
    try {
      withOperation('send_chat', () => connection.publish(`${SUBJECT_PREFIX}${line.room}`, payload));
    } catch (err) {
      // breakerbox disabled or not loaded: no fallback ran, so do its job here.
      log.every('chat-publish', 10_000, `chat: publish failed (${describe(err)}); delivered locally`);
      deliver(line);
    }
  }

  async function stop() {
    stopped = true;
    stopping.abort();
    nats.fallback(null);
    const connection = nc;
    if (connection !== null && !connection.isClosed()) {
      await connection.drain().catch(() => connection.close());
    }
  }

  return { start, send, stop };
}

/** NATS_URL's first server with its host and port replaced by the relay's (credentials kept). */
function relayUrl(natsUrl, relay) {
  const url = new URL(firstServer(natsUrl));
  url.hostname = relay.host;
  url.port = String(relay.port);
  return url.toString().replace(/\/$/, '');
}

/** The relay's upstream for NATS_URL (its first server when it lists several). */
function natsUpstream(natsUrl) {
  const url = new URL(firstServer(natsUrl));
  return { host: url.hostname, port: Number(url.port) || 4222 };
}

function firstServer(natsUrl) {
  return natsUrl.split(',')[0].trim();
}

function encode(line) {
  return Buffer.from(JSON.stringify(line));
}

function decode(payload) {
  const line = JSON.parse(Buffer.from(payload).toString('utf8'));
  if (typeof line !== 'object' || line === null || typeof line.room !== 'string' || typeof line.text !== 'string') {
    throw new Error('not a chat line');
  }
  return line;
}

module.exports = { createChat, natsUpstream };
