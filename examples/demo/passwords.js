'use strict';
/**
 * Password hashing with scrypt, guarded by the manual `auth` breaker: hashing runs on
 * libuv's small thread pool, and when it backs up (or fails) logins should fail fast
 * instead of queueing behind it. The breaker is looked up per call so the one in the
 * registry (configured from breakerbox.yaml) is the one used.
 */
const crypto = require('node:crypto');
const { promisify } = require('node:util');
const { registry, withOperation } = require('breakerbox');

const scrypt = promisify(crypto.scrypt);
const KEY_LENGTH = 32;

function derive(operation, password, salt) {
  return withOperation(operation, () => registry.get('auth').execute(() => scrypt(password, salt, KEY_LENGTH)));
}

async function hashPassword(password) {
  const salt = crypto.randomBytes(16).toString('hex');
  const key = await derive('hash_password', password, salt);
  return { salt, hash: key.toString('hex') };
}

async function verifyPassword(password, salt, hash) {
  const key = await derive('verify_password', password, salt);
  const expected = Buffer.from(hash, 'hex');
  return expected.length === key.length && crypto.timingSafeEqual(key, expected);
}

module.exports = { hashPassword, verifyPassword };
