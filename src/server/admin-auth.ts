import type { IncomingMessage } from 'node:http';

export type AuthResult = { ok: true } | { ok: false; message: string };

/**
 * Admin routes exist only when a token is configured. The comparison hashes both sides
 * first so it is constant-time whatever the lengths.
 */
export function checkAdminToken(req: IncomingMessage, token: string | undefined): AuthResult {
  if (!token) return { ok: false, message: 'admin routes are off: set BREAKERBOX_ADMIN_TOKEN to enable them' };
  const header = req.headers.authorization ?? '';
  const match = /^Bearer\s+(.+)$/i.exec(header);
  if (!match) return { ok: false, message: 'missing "Authorization: Bearer <token>" header' };
  // node:crypto on the first admin request, not at start-up (most processes never get one).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { createHash, timingSafeEqual } = require('node:crypto') as typeof import('node:crypto');
  const given = createHash('sha256').update(match[1].trim()).digest();
  const expected = createHash('sha256').update(token).digest();
  return timingSafeEqual(given, expected) ? { ok: true } : { ok: false, message: 'invalid admin token' };
}
