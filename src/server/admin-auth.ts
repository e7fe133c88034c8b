import { createHash, timingSafeEqual } from 'node:crypto';
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
  const given = createHash('sha256').update(match[1].trim()).digest();
  const expected = createHash('sha256').update(token).digest();
  return timingSafeEqual(given, expected) ? { ok: true } : { ok: false, message: 'invalid admin token' };
}
