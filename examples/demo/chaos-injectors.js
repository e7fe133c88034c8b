'use strict';
/**
 * What each chaos kind breaks, and how it is put right (the switch itself is chaos.js).
 * Every one makes the real library fail for real: the relays stop listening, the room
 * reads hit a file the kernel cannot read, the WebSocket upgrades are refused.
 */
function chaosInjectors({ pgRelay, natsRelay, rooms, upgrades, game }) {
  return {
    postgres: relayInjector(pgRelay),
    nats: relayInjector(natsRelay),
    disk: {
      available: rooms.canBreakDisk,
      unavailableReason: 'it needs /proc/self/mem (Linux)',
      begin: () => rooms.breakDisk(),
      end: () => rooms.healDisk(),
    },
    websocket: {
      begin: async () => {
        upgrades.refused = true;
        // Connected players would not notice a refusing front door; drop them so every
        // client has to reconnect into the 503s, as after a server crash.
        game.dropAll();
      },
      end: async () => {
        upgrades.refused = false;
      },
    },
  };
}

function relayInjector(relay) {
  return {
    begin: async () => relay.cut(),
    end: () => relay.restore(),
  };
}

module.exports = { chaosInjectors };
